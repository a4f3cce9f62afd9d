//! Torture for resource bookings (issue 20): eight `calstore-torture --workload bookings`
//! processes book one room at once — one-off and recurring requests over a few slots, capacity 1
//! and 3, a quota, cancellations, the room's cron job (incremental and `--reset`) in between —
//! and three are killed with SIGKILL at random moments. During the run the room's table is
//! sampled (never beyond the capacity). On PostgreSQL, where a booking's store and quota are one
//! transaction, the state is checked right after the kills, before anything settles, and
//! `resource::recover` must find nothing. Then, after the quotas' cron job (which settles the
//! redo records of the file store) and a `make-freebusy --reset`: no instant is held by more
//! than the capacity, no acknowledged booking is lost, no acknowledged cancellation is held,
//! and the journal's usage equals the room's rows. Short by default; `CALSTORE_BOOKING_OPS`
//! makes it longer, `CALSTORE_BOOKING_SEED` repeats a run's kills.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use calstore::agent::resource;
use calstore::id::Quota;
use calstore::journal::UsageTable;
use calstore::{Journal, Period, Store, Table, User};
use support::*;

const ROOM: &str = "mailto:torture-room@example.com";
const QUOTA: &str = "torture-rooms";

/// The most busy periods overlapping at any instant.
fn peak(rows: &[Period]) -> usize {
    let mut edges: Vec<(chrono::DateTime<chrono::Utc>, i32)> = Vec::new();
    for p in rows.iter().filter(|p| p.is_busy()) {
        edges.push((p.start, 1));
        edges.push((p.end, -1));
    }
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

/// A small xorshift generator: the kills' victims and moments, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The run's seed: `CALSTORE_BOOKING_SEED`, else drawn from the clock (so that every run kills
/// at other moments), mixed with the case's own.
fn run_seed(case: u64) -> (u64, u64) {
    let base: u64 = std::env::var("CALSTORE_BOOKING_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    (base, (base ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
}

fn starts_by_uid(rows: &[Period]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in rows {
        out.entry(p.uid.as_str().to_owned())
            .or_default()
            .insert(calstore::period::format_instant(p.start));
    }
    out
}

async fn check_state<S: Store, J: Journal>(
    s: &S,
    j: &J,
    capacity: usize,
    accepted: &BTreeMap<String, Vec<String>>,
    cancelled: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> usize {
    let room = User::new(ROOM).unwrap();
    let rows = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    let most = peak(&rows);
    if most > capacity {
        problems.push(format!(
            "an instant is held {most} times, capacity {capacity}"
        ));
    }
    let held = starts_by_uid(&rows);
    for (uid, starts) in accepted {
        if cancelled.contains(uid) {
            if held.contains_key(uid) {
                problems.push(format!("{uid} was cancelled but is still held"));
            }
            continue;
        }
        for st in starts {
            if !held.get(uid).is_some_and(|h| h.contains(st)) {
                problems.push(format!("accepted {uid} at {st} was lost"));
            }
        }
    }
    // The journal and the store agree: the quota's usage is the room's rows.
    let q = Quota::new(QUOTA).unwrap();
    let mut usage = Vec::new();
    for t in j.usage_tables(&q).await.unwrap() {
        if matches!(t, UsageTable::Journal(_)) {
            usage.extend(j.usage(&q, &t).await.unwrap().value);
        }
    }
    let charged = starts_by_uid(&usage);
    if charged != held {
        let a: BTreeSet<_> = charged.keys().collect();
        let b: BTreeSet<_> = held.keys().collect();
        problems.push(format!(
            "journal and store apart: charged only {:?}, held only {:?}, differing {:?}",
            a.difference(&b).collect::<Vec<_>>(),
            b.difference(&a).collect::<Vec<_>>(),
            a.intersection(&b)
                .filter(|u| charged[**u] != held[**u])
                .collect::<Vec<_>>()
        ));
    }
    rows.len()
}

fn torture(place: &Place, capacity: u64, case: u64) {
    let (base, seed) = run_seed(case);
    let ops = env_number("CALSTORE_BOOKING_OPS", 25);
    let setup = place
        .torture("setup-bookings")
        .args(["--capacity", &capacity.to_string()])
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let rt = runtime();
    let opened = rt.block_on(place.open(Duration::from_secs(10)));
    let room = User::new(ROOM).unwrap();
    let started = Instant::now();
    let mut children: Vec<_> = (0..8u64)
        .map(|w| {
            place
                .torture("bookings")
                .args([
                    "--worker",
                    &w.to_string(),
                    "--seed",
                    &(seed % 1_000_000).to_string(),
                ])
                .args(["--ops", &ops.to_string(), "--room-slots", "12"])
                .spawn()
                .expect("spawn calstore-torture")
        })
        .collect();
    // Three workers, drawn at random, are killed with SIGKILL at random moments of the run
    // (about 60 ms per operation of a worker; the run's seed is in the figures, and
    // CALSTORE_BOOKING_SEED repeats it). Meanwhile the room's table is sampled: no instant may
    // be held beyond the capacity at any moment, not only at the end.
    let mut rng = Rng(seed);
    let mut victims: Vec<usize> = (0..8).collect();
    let mut kills = Vec::new();
    for _ in 0..3 {
        let w = victims.remove(rng.below(victims.len() as u64) as usize);
        kills.push((Duration::from_millis(100 + rng.below(60 * ops as u64)), w));
    }
    kills.sort();
    let mut problems = Vec::new();
    let mut samples = 0;
    let sample = |problems: &mut Vec<String>| {
        let rows = with_opened!(&opened, s, _j => rt.block_on(s.freebusy(&room, &Table::FreeBusy)))
            .unwrap()
            .value;
        let most = peak(&rows);
        if most > capacity as usize {
            problems.push(format!(
                "during the run an instant was held {most} times, capacity {capacity}"
            ));
        }
    };
    for (at, w) in &kills {
        while started.elapsed() < *at {
            sample(&mut problems);
            samples += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = children[*w].kill();
    }
    while children
        .iter_mut()
        .any(|c| matches!(c.try_wait(), Ok(None)))
    {
        sample(&mut problems);
        samples += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("worker output"))
        .collect();
    let elapsed = started.elapsed();
    let (mut accepted, mut cancelled) = (BTreeMap::new(), BTreeSet::new());
    // Cancellations a kill interrupted: either outcome is correct.
    let mut attempted = BTreeSet::new();
    let (mut books, mut declined, mut crons, mut killed) = (0, 0, 0, 0);
    for out in &outputs {
        let lines = parse_lines(&out.stdout);
        if lines.last().map(|l| l.status.as_str()) != Some("done") {
            killed += 1;
        }
        for l in lines
            .iter()
            .filter(|l| l.status == "try" && l.op == "cancel")
        {
            attempted.insert(l.field(0).to_owned());
        }
        for l in lines.iter().filter(|l| l.status == "ack") {
            match l.op.as_str() {
                "book" => {
                    books += 1;
                    if l.fields.len() > 1 {
                        accepted.insert(l.field(0).to_owned(), l.fields[1..].to_vec());
                    } else {
                        declined += 1;
                    }
                }
                "cancel" => {
                    cancelled.insert(l.field(0).to_owned());
                }
                "cron" => crons += 1,
                _ => {}
            }
        }
        let failed: Vec<_> = lines.iter().filter(|l| l.status == "error").collect();
        assert!(failed.is_empty(), "a worker failed: {failed:?}");
    }
    let uncertain = attempted.difference(&cancelled).count();
    accepted.retain(|uid, _| cancelled.contains(uid) || !attempted.contains(uid));
    let q = Quota::new(QUOTA).unwrap();
    // PostgreSQL writes a booking's store and quota in one transaction: right after the kills,
    // before anything settles, the two agree and nothing is pending.
    let joint = place.database_url().is_some();
    if joint {
        let left = with_opened!(&opened, s, j => rt.block_on(async {
            check_state(s, j, capacity as usize, &accepted, &cancelled, &mut problems).await;
            resource::recover(s, j, &q).await.unwrap()
        }));
        if left != resource::Recovered::default() {
            problems.push(format!("bookings left pending on PostgreSQL: {left:?}"));
        }
    }
    // The quotas' cron job settles the interrupted bookings first (resource::recover), then
    // rebuilds every reservation's usage from the journal's copies.
    let quota_cron = place.calstore(&["make-freebusy", "--quotas", "--reset", QUOTA]);
    assert!(
        quota_cron.status.success(),
        "{}",
        String::from_utf8_lossy(&quota_cron.stderr)
    );
    let settled = String::from_utf8_lossy(&quota_cron.stderr)
        .lines()
        .find(|l| l.contains("settled"))
        .unwrap_or("nothing to settle")
        .to_owned();
    let recovered = with_opened!(&opened, s, j => rt.block_on(async {
        let r = resource::recover(s, j, &q).await.unwrap();
        check_state(s, j, capacity as usize, &accepted, &cancelled, &mut problems).await;
        r
    }));
    assert_eq!(
        recovered,
        resource::Recovered::default(),
        "the cron job left bookings pending"
    );
    let reset = place.calstore(&["make-freebusy", "--reset", ROOM]);
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let rows = with_opened!(&opened, s, j => rt.block_on(
        check_state(s, j, capacity as usize, &accepted, &cancelled, &mut problems)
    ));
    let check = place.calstore(&["check"]);
    figures(&format!(
        "bookings {} capacity {capacity} (seed {base}): 8 processes x {ops} ops in {:.1} s, \
         {killed} killed (at {:?} ms), table sampled {samples} times during the run: \
         {books} bookings acknowledged ({} with accepted occurrences, {declined} wholly \
         declined), {} cancelled ({uncertain} cut by a kill), {crons} cron runs; {rows} \
         rows held; quota cron: {settled}; problems: {}",
        place.name(),
        elapsed.as_secs_f64(),
        kills.iter().map(|(t, _)| t.as_millis()).collect::<Vec<_>>(),
        accepted.len(),
        cancelled.len(),
        problems.len()
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        check.status.success(),
        "check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(
        !accepted.is_empty() && declined > 0,
        "the workers never collided"
    );
}

#[test]
fn bookings_on_the_file_store() {
    torture(&Place::file(), 1, 11);
    torture(&Place::file(), 3, 12);
}

#[test]
fn bookings_on_postgres() {
    for (capacity, seed) in [(1, 21), (3, 22)] {
        let Some(place) = Place::postgres("bookings_on_postgres") else {
            return;
        };
        torture(&place, capacity, seed);
    }
}
