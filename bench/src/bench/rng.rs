//! The corpus's random numbers: a generator whose sequence never changes, and random period
//! tables for the scenarios that need many periods without importing events.

use anyhow::Result;
use chrono::Duration;

use crate::corpus::{anchor_utc, user_address, WORDS};

/// SplitMix64: tiny, fast, and fixed forever — unlike `rand::StdRng`, whose algorithm may change
/// between versions, which would silently change the corpus.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, decorrelated from generators of nearby seeds.
    pub fn new(seed: u64) -> Self {
        let mut r = Rng(seed);
        r.next_u64();
        r
    }

    /// The generator of stream `n` under `seed` (one per user, so users can be made one at a
    /// time and in any order).
    pub fn stream(seed: u64, n: u64) -> Self {
        Rng::new(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// `count` one-off busy periods of the events `PREFIX-n`, spread over the year after [`ANCHOR`](crate::corpus::ANCHOR)
/// (15 minutes to 2 hours each, on a 5-minute grid), in table order: the tables of the `query` and
/// `update-scale` scenarios, which need many periods without the cost of importing events.
///
/// # Errors
///
/// Never in practice (the uids are valid keys).
pub fn random_periods(rng: &mut Rng, prefix: &str, count: usize) -> Result<Vec<calstore::Period>> {
    let base = anchor_utc();
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let start = base + Duration::minutes(5 * rng.range(0, 365 * 288));
        let end = start + Duration::minutes(15 * rng.range(1, 9));
        let mut p = calstore::Period::new(
            start,
            end,
            calstore::Uid::new(format!("{prefix}-{n}@bench.example.org"))?,
            None,
        )?;
        p.summary = Some(format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS)));
        p.organiser = Some(user_address(rng.below(1000) as usize));
        out.push(p);
    }
    Ok(calstore::period::normalise(out))
}
