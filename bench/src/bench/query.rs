//! `query`: one user with 100,000 periods among 1,000,000 in the store; overlap queries for
//! random one-hour ranges. Figures: median and p99 latency of `freebusy_in`, against a linear scan
//! of the same table in memory.

use std::time::Instant;

use anyhow::{bail, Result};
use calstore::{Period, Store, Table, User};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::bare_pg;
use crate::baseline;
use crate::corpus::{self, Rng};
use crate::env::{Corpus, Env, Kind};
use crate::report::{num, Figure, Report, Samples, Target};

const SCENARIO: &str = "query";

/// What the main baseline is, for the output.
const SCAN: &str = "linear scan in memory of the same table as text lines (every line parsed with Period::from_line, overlapping ones kept)";

/// Runs the scenario for one backend.
///
/// # Errors
///
/// The store's errors, or wrong query results.
pub async fn run(env: &Env, kind: Kind, report: &mut Report) -> Result<()> {
    match (kind, env.take_corpus(kind)) {
        (Kind::File, Some(Corpus::File(store, _dir, existing))) => {
            measure(env, kind, &store, existing, None, report).await
        }
        (Kind::Postgres, Some(Corpus::Pg(store, db, existing))) => {
            measure(
                env,
                kind,
                &store,
                existing,
                Some(db.url().to_owned()),
                report,
            )
            .await
        }
        (Kind::File, _) => {
            let (store, _dir) = env.file_store("query")?;
            measure(env, kind, &store, 0, None, report).await
        }
        (Kind::Postgres, _) => {
            let (store, db) = env.pg_store().await?;
            measure(env, kind, &store, 0, Some(db.url().to_owned()), report).await
        }
    }
}

/// Loads the queried user (and others, up to the total, beyond the `existing` periods of a
/// corpus left by `regen`), then times the queries and the scans.
async fn measure<S: Store>(
    env: &Env,
    kind: Kind,
    store: &S,
    existing: usize,
    pg_url: Option<String>,
    report: &mut Report,
) -> Result<()> {
    let sizes = env.sizes;
    let per_user = sizes.query_user_periods;
    let others = sizes
        .query_total_periods
        .saturating_sub(per_user + existing)
        .div_ceil(per_user);
    let mut rng = Rng::stream(env.seed, 0x9e11);

    // Load: the queried user first, then the others, one whole-table write each.
    let load_started = Instant::now();
    let target = User::new("mailto:queried@bench.example.org")?;
    let mine = corpus::random_periods(&mut rng, "q0", per_user)?;
    store
        .set_freebusy(&target, &Table::FreeBusy, mine.clone(), None)
        .await?;
    for u in 1..=others {
        let periods = corpus::random_periods(&mut rng, &format!("q{u}"), per_user)?;
        let user = User::new(format!("mailto:other{u}@bench.example.org"))?;
        store
            .set_freebusy(&user, &Table::FreeBusy, periods, None)
            .await?;
    }
    let load = load_started.elapsed();
    let in_store = existing + per_user * (others + 1);
    if let Some(url) = &pg_url {
        // What autovacuum does to a table after a bulk load (here: a minute's worth of
        // regeneration and loading): statistics current, dead rows of the replacements gone,
        // hint bits set. Queries are measured on the settled table, as a server serves them.
        let client = bare_pg::connect(url).await?;
        client
            .batch_execute("VACUUM (ANALYZE) freebusy")
            .await
            .map_err(|e| anyhow::anyhow!("VACUUM (ANALYZE) freebusy: {e}"))?;
    }

    let base = corpus::anchor_utc();
    let ranges: Vec<(DateTime<Utc>, DateTime<Utc>)> = (0..sizes.queries)
        .map(|_| {
            let start = base + chrono::Duration::minutes(rng.range(-60, 366 * 24 * 60));
            (start, start + chrono::Duration::hours(1))
        })
        .collect();

    // Warm-up (first connections, page cache), checked against the in-memory answer.
    for (s, e) in ranges.iter().take(50) {
        check(store, &target, &mine, *s, *e).await?;
    }
    let mut samples = Samples::default();
    let mut found = 0usize;
    for (s, e) in &ranges {
        let t = Instant::now();
        let got = store.freebusy_in(&target, &Table::FreeBusy, *s, *e).await?;
        samples.push(t.elapsed());
        found += got.value.len();
    }

    // Baselines: the text scan is slow, so it is timed on a sample of the same ranges.
    let text = baseline::table_text(&mine);
    let sample = if env.quick { 30 } else { 40 };
    let mut scan = Samples::default();
    for (s, e) in ranges.iter().take(sample) {
        let t = Instant::now();
        let hits = baseline::scan_text(&text, *s, *e)?;
        scan.push(t.elapsed());
        std::hint::black_box(hits);
    }
    let mut parsed = Samples::default();
    for (s, e) in ranges.iter().take(1000) {
        let t = Instant::now();
        std::hint::black_box(baseline::scan_parsed(&mine, *s, *e));
        parsed.push(t.elapsed());
    }

    // Where PostgreSQL's time goes: the same statement through a bare client, and on the server.
    let split = match &pg_url {
        Some(url) => Some(
            bare_pg::range_query_split(url, target.as_str(), &ranges[..ranges.len().min(1000)])
                .await?,
        ),
        None => None,
    };

    let b = kind.name();
    if let Some((bare, exec, trip)) = split {
        report.note(
            SCENARIO,
            b,
            &format!(
                "the store's statement through a bare client: median {} ms; server execution (EXPLAIN ANALYZE): median {} ms; a prepared SELECT 1: median {} ms; so the store adds {} ms",
                num(bare),
                num(exec),
                num(trip),
                num(samples.median_ms() - bare)
            ),
            json!({"bare_median_ms": bare, "server_exec_median_ms": exec, "select_1_median_ms": trip}),
        );
    }
    let limit = match kind {
        Kind::File => 2.0,
        Kind::Postgres => 0.3,
    };
    let scan_what = format!("{SCAN}; {} of the ranges", scan.len());
    report.add(
        Figure::new(SCENARIO, b, "median", samples.median_ms(), "ms")
            .baseline(scan.median_ms(), &scan_what)
            .target(Target::ValueAtMost(limit))
            .target(Target::RatioAtMost(0.05)),
    );
    report.add(
        Figure::new(SCENARIO, b, "p99", samples.quantile_ms(0.99), "ms")
            .baseline(scan.quantile_ms(0.99), &scan_what),
    );
    let mean_hits = found as f64 / samples.len().max(1) as f64;
    report.note(
        SCENARIO,
        b,
        &format!(
            "{} queries, {mean_hits:.1} periods per answer on average; {in_store} periods in the store ({existing} of them left by regen), {} x {per_user} loaded in {:.1} s; scan of parsed periods (no text): median {} ms",
            samples.len(),
            others + 1,
            load.as_secs_f64(),
            num(parsed.median_ms())
        ),
        json!({
            "queries": samples.len(), "mean_hits": mean_hits,
            "load_s": load.as_secs_f64(), "loaded_users": others + 1, "periods_per_user": per_user,
            "periods_in_store": in_store, "from_regen": existing,
            "scan_parsed_median_ms": parsed.median_ms(), "scan_text_samples": scan.len(),
            "p90_ms": samples.quantile_ms(0.9), "max_ms": samples.quantile_ms(1.0),
        }),
    );
    Ok(())
}

/// One query, compared with the in-memory answer.
async fn check<S: Store>(
    store: &S,
    user: &User,
    all: &[Period],
    s: DateTime<Utc>,
    e: DateTime<Utc>,
) -> Result<()> {
    let got = store.freebusy_in(user, &Table::FreeBusy, s, e).await?.value;
    let want = baseline::scan_parsed(all, s, e);
    if got.len() != want {
        bail!(
            "freebusy_in returned {} periods for {s}..{e}, the scan finds {want}",
            got.len()
        );
    }
    Ok(())
}
