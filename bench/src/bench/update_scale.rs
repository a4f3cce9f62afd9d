//! `update-scale`: replacing one event's periods in a table of 1,000 and of 100,000 periods.
//! Figure: the cost at the large size over the cost at the small one (medians, the two sizes
//! interleaved so that machine noise hits both alike), against the same ratio for the raw work
//! (file: one durable replacement of a file of the table's size; PostgreSQL: the store's
//! statements through a bare client).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use calstore::{Period, Store, Table, Uid, User};
use serde_json::json;

use crate::bare_pg;
use crate::baseline;
use crate::corpus::{self, Rng};
use crate::env::{Env, Kind};
use crate::report::{Figure, Report, Samples, Target};

const SCENARIO: &str = "update-scale";

/// The event whose periods are replaced, three at a time.
fn event_periods(uid: &Uid, round: usize) -> Result<Vec<Period>> {
    let base = corpus::anchor_utc() + chrono::Duration::days(40 + (round % 2) as i64);
    (0..3)
        .map(|k| {
            let s = base + chrono::Duration::days(7 * k);
            let mut p = Period::new(s, s + chrono::Duration::hours(1), uid.clone(), None)?;
            p.summary = Some(format!("Weekly review, round {round}"));
            Ok(p)
        })
        .collect()
}

/// Runs the scenario for one backend.
///
/// # Errors
///
/// The store's errors; setup failures.
pub async fn run(env: &Env, kind: Kind, report: &mut Report) -> Result<()> {
    let sizes = env.sizes;
    let small_user = corpus::user(0)?;
    let large_user = corpus::user(1)?;
    let uid = Uid::new("update-scale@bench.example.org")?;
    let mut rng = Rng::stream(env.seed, 0x5ca1e);
    let mut small = corpus::random_periods(&mut rng, "s", sizes.update_small - 3)?;
    let mut large = corpus::random_periods(&mut rng, "l", sizes.update_large - 3)?;
    small.extend(event_periods(&uid, 0)?);
    large.extend(event_periods(&uid, 0)?);
    let small = calstore::period::normalise(small);
    let large = calstore::period::normalise(large);
    let reps = sizes.update_reps;

    let b = kind.name();
    let (store_costs, raw_costs, raw_what) = match kind {
        Kind::File => {
            let (store, dir) = env.file_store("update-scale")?;
            load(&store, &small_user, &large_user, &small, &large).await?;
            let costs = time_store(&store, &small_user, &large_user, &uid, reps).await?;
            let (ts, tl) = (baseline::table_text(&small), baseline::table_text(&large));
            let raw = tokio::task::spawn_blocking(move || -> Result<(Duration, Duration)> {
                let d = baseline::scratch(&dir, "raw-update")?;
                let mut s = Vec::new();
                let mut l = Vec::new();
                // Interleaved like the store's, median of each.
                for _ in 0..reps {
                    s.push(baseline::replace_median(&d, ts.as_bytes(), 1)?);
                    l.push(baseline::replace_median(&d, tl.as_bytes(), 1)?);
                }
                s.sort_unstable();
                l.sort_unstable();
                Ok((s[s.len() / 2], l[l.len() / 2]))
            })
            .await
            .context("baseline thread")??;
            (
                costs,
                raw,
                format!(
                    "{} of a file holding the whole table",
                    baseline::RAW_REPLACEMENT
                ),
            )
        }
        Kind::Postgres => {
            let (store, db) = env.pg_store().await?;
            load(&store, &small_user, &large_user, &small, &large).await?;
            let costs = time_store(&store, &small_user, &large_user, &uid, reps).await?;
            let mut client = bare_pg::Bare::connect(db.url()).await?;
            let (mut s, mut l) = (Samples::default(), Samples::default());
            for round in 0..reps {
                let periods = event_periods(&uid, round + 1)?;
                let t = Instant::now();
                client
                    .replace_event(small_user.as_str(), uid.as_str(), &periods)
                    .await?;
                s.push(t.elapsed());
                let t = Instant::now();
                client
                    .replace_event(large_user.as_str(), uid.as_str(), &periods)
                    .await?;
                l.push(t.elapsed());
            }
            let raw = (ms_to_duration(s.median_ms()), ms_to_duration(l.median_ms()));
            (costs, raw, "bare tokio-postgres: the store's statements (lock, version bump, delete, insert) in one transaction".to_owned())
        }
    };
    let (cs, cl) = (store_costs.0.median_ms(), store_costs.1.median_ms());
    let (rs, rl) = (
        raw_costs.0.as_secs_f64() * 1e3,
        raw_costs.1.as_secs_f64() * 1e3,
    );
    let limit = if kind == Kind::File { 60.0 } else { 1.5 };
    let (ns, nl) = (sizes.update_small, sizes.update_large);
    report.add(
        Figure::new(SCENARIO, b, &format!("cost_{nl}_over_{ns}"), cl / cs, "x")
            .baseline(
                rl / rs,
                &format!("the same ratio for the raw work: {raw_what}"),
            )
            .target(Target::ValueAtMost(limit)),
    );
    report.add(Figure::new(SCENARIO, b, &format!("cost_{ns}"), cs, "ms").baseline(rs, &raw_what));
    report.add(Figure::new(SCENARIO, b, &format!("cost_{nl}"), cl, "ms").baseline(rl, &raw_what));
    report.note(
        SCENARIO,
        b,
        &format!("{reps} replacements of 3 periods per size; p90 {:.3} ms / {:.3} ms", store_costs.0.quantile_ms(0.9), store_costs.1.quantile_ms(0.9)),
        json!({"reps": reps, "small": ns, "large": nl, "small_p90_ms": store_costs.0.quantile_ms(0.9), "large_p90_ms": store_costs.1.quantile_ms(0.9)}),
    );
    Ok(())
}

fn ms_to_duration(ms: f64) -> Duration {
    Duration::from_secs_f64(ms / 1e3)
}

async fn load<S: Store>(
    store: &S,
    su: &User,
    lu: &User,
    small: &[Period],
    large: &[Period],
) -> Result<()> {
    store
        .set_freebusy(su, &Table::FreeBusy, small.to_vec(), None)
        .await?;
    store
        .set_freebusy(lu, &Table::FreeBusy, large.to_vec(), None)
        .await?;
    Ok(())
}

/// Times `reps` replacements at each size, interleaved, after one untimed warm-up each.
async fn time_store<S: Store>(
    store: &S,
    su: &User,
    lu: &User,
    uid: &Uid,
    reps: usize,
) -> Result<(Samples, Samples)> {
    let (mut s, mut l) = (Samples::default(), Samples::default());
    for round in 0..=reps {
        let periods = event_periods(uid, round + 1)?;
        let t = Instant::now();
        store
            .replace_event_periods(su, &Table::FreeBusy, uid, None, periods.clone(), None)
            .await?;
        let ds = t.elapsed();
        let t = Instant::now();
        store
            .replace_event_periods(lu, &Table::FreeBusy, uid, None, periods, None)
            .await?;
        let dl = t.elapsed();
        if round > 0 {
            s.push(ds);
            l.push(dl);
        }
    }
    Ok((s, l))
}
