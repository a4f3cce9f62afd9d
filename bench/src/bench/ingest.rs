//! `ingest`: objects stored one at a time through the import path ([`Importer`], as `calstore
//! import` uses it) into one user's store, each durable before the next; the periods follow in
//! the importer's batches, whose time counts against the object that triggered them (an object is
//! stored with its batch: issue 21). Figures:
//! objects per second overall, and the last window (1,000 objects) against the first, to show
//! whether a write scans the whole collection.
//!
//! The machine is shared, and the cost of an fsync changes by an order of magnitude with what
//! other processes write, so the baseline (raw durable writes) is sampled between the windows of
//! the measured run rather than once before or after it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use calstore::import::{Imported, Importer};
use calstore::object::split_calendar;
use calstore::refresh::{self, Overrides};
use calstore::{PrefName, Store, Table, User};
use chrono::Utc;
use serde_json::json;

use crate::bare_pg;
use crate::baseline;
use crate::corpus;
use crate::env::{Env, Kind};
use crate::probe::{self, Tally, Timed};
use crate::report::{Figure, Report, Target};

const SCENARIO: &str = "ingest";

/// The size of the raw write the baselines repeat: about one corpus object.
const OBJECT_BYTES: usize = 700;

/// Raw durable writes sampled between the windows.
enum Raw {
    File(PathBuf),
    Pg(Box<bare_pg::Commits>),
}

/// The bulk baselines sampled beside the store: the same number of objects written the way a
/// bulk load can be made durable (files: one syncfs per 1,000; PostgreSQL: one multi-row insert
/// per 1,000 rows, committed).
enum Bulk {
    File(PathBuf),
    Pg(tokio_postgres::Client),
}

impl Bulk {
    async fn run(&mut self, count: usize) -> Result<Duration> {
        match self {
            Bulk::File(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    let d = baseline::scratch(&dir, "batch")?;
                    baseline::batched_replacements(&d, count, OBJECT_BYTES, 1000)
                })
                .await
                .context("baseline thread")?
            }
            Bulk::Pg(client) => {
                let body = "x".repeat(OBJECT_BYTES);
                let started = Instant::now();
                let ids: Vec<i32> = (0..i32::try_from(count).unwrap_or(i32::MAX)).collect();
                for chunk in ids.chunks(1000) {
                    let bodies: Vec<&str> = chunk.iter().map(|_| body.as_str()).collect();
                    let tx = client.transaction().await?;
                    tx.execute(
                        "INSERT INTO bench_bulk (id, body) SELECT * FROM unnest($1::int[], $2::text[]) \
                         ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                        &[&chunk, &bodies],
                    )
                    .await?;
                    tx.commit().await?;
                }
                Ok(started.elapsed())
            }
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Bulk::File(_) => baseline::RAW_BATCHED,
            Bulk::Pg(_) => "bare tokio-postgres: one committed multi-row upsert (unnest) per 1,000 rows of 700 bytes",
        }
    }
}

impl Raw {
    /// The time of `count` raw writes.
    async fn run(&mut self, count: usize) -> Result<Duration> {
        match self {
            Raw::File(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    baseline::replacements(&dir, count, OBJECT_BYTES)
                })
                .await
                .context("baseline thread")?
            }
            Raw::Pg(commits) => commits.run(count).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            Raw::File(_) => format!("{} ({OBJECT_BYTES} bytes), per second", baseline::RAW_REPLACEMENT),
            Raw::Pg(_) => format!("bare tokio-postgres: one committed single-row upsert ({OBJECT_BYTES} bytes), per second"),
        }
    }
}

/// What one ingest run measured: per object (split, import including any batch write).
struct Measured {
    per_object: Vec<[Duration; 2]>,
    /// Store calls of the first and of the last window.
    calls: [Tally; 2],
    periods: usize,
    raw_count: usize,
    raw_time: Duration,
    bulk_count: usize,
    bulk_time: Duration,
}

impl Measured {
    fn total(o: &[Duration; 2]) -> Duration {
        o[0] + o[1]
    }

    /// Objects per second over a slice of objects.
    fn rate(part: &[[Duration; 2]]) -> f64 {
        part.len() as f64 / part.iter().map(Self::total).sum::<Duration>().as_secs_f64()
    }

    /// Mean milliseconds of phase `k` over a slice of objects.
    fn phase_ms(part: &[[Duration; 2]], k: usize) -> f64 {
        part.iter().map(|o| o[k]).sum::<Duration>().as_secs_f64() * 1e3 / part.len().max(1) as f64
    }
}

/// Runs the scenario for one backend.
///
/// # Errors
///
/// The store's errors; setup failures.
pub async fn run(env: &Env, kind: Kind, report: &mut Report) -> Result<()> {
    let n = env.sizes.ingest_objects;
    let window = env.sizes.ingest_window;
    let texts: Vec<String> = corpus::object_calendars(env.seed, 0, n)?
        .into_iter()
        .take(n)
        .collect();
    let warmup: Vec<String> = corpus::object_calendars(env.seed, 1, 20)?;
    let (measured, raw_what, bulk_what) = match kind {
        Kind::File => {
            let (store, dir) = env.file_store("ingest")?;
            let store = Timed::new(store);
            let mut raw = Raw::File(baseline::scratch(&dir, "raw-ingest")?);
            let mut bulk = Bulk::File(baseline::scratch(&dir, "bulk-ingest")?);
            (
                measure(&store, &texts, &warmup, window, &mut raw, &mut bulk).await?,
                raw.describe(),
                bulk.describe(),
            )
        }
        Kind::Postgres => {
            let (store, db) = env.pg_store().await?;
            let store = Timed::new(store);
            let mut raw = Raw::Pg(Box::new(
                bare_pg::Commits::new(db.url(), OBJECT_BYTES).await?,
            ));
            let client = bare_pg::connect(db.url()).await?;
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS bench_bulk (id int PRIMARY KEY, body text NOT NULL)",
                )
                .await
                .context("bare client: bulk table")?;
            let mut bulk = Bulk::Pg(client);
            (
                measure(&store, &texts, &warmup, window, &mut raw, &mut bulk).await?,
                raw.describe(),
                bulk.describe(),
            )
        }
    };
    let b = kind.name();
    let all = &measured.per_object;
    let base = measured.raw_count as f64 / measured.raw_time.as_secs_f64();
    let mut overall = Figure::new(
        SCENARIO,
        b,
        "objects_per_s",
        Measured::rate(all),
        "objects/s",
    )
    .baseline(base, &format!("{raw_what}; sampled between the windows"));
    overall = overall.target(Target::ValueAtLeast(20_000.0));
    report.add(overall);
    // Issue 21: a bulk import is durable per batch, so it is judged against the same objects
    // made durable per batch.
    report.add(
        Figure::new(
            SCENARIO,
            b,
            "objects_per_s_vs_bulk",
            Measured::rate(all),
            "objects/s",
        )
        .baseline(
            measured.bulk_count as f64 / measured.bulk_time.as_secs_f64(),
            &format!("{bulk_what}; sampled between the windows"),
        )
        .target(Target::RatioAtLeast(0.8)),
    );
    let w = window.min(all.len() / 2).max(1);
    let (first, last) = (&all[..w], &all[all.len() - w..]);
    report.add(
        Figure::new(
            SCENARIO,
            b,
            &format!("last_{w}"),
            Measured::rate(last),
            "objects/s",
        )
        .baseline(
            Measured::rate(first),
            &format!("the first {w} objects of the same run, per second"),
        )
        .target(Target::RatioAtLeast(0.9)),
    );
    let per_call = |tally: &Tally, name: &str| {
        tally.get(name).map_or(0.0, |(_, t)| t.as_secs_f64()) * 1e3 / w as f64
    };
    let batch = |tally: &Tally| {
        tally
            .iter()
            .filter(|(name, _)| **name != "put_event")
            .map(|(_, (_, t))| t.as_secs_f64())
            .sum::<f64>()
            * 1e3
            / w as f64
    };
    let phases = |part: &[[Duration; 2]], tally: &Tally| json!({"split_ms": Measured::phase_ms(part, 0), "import_ms": Measured::phase_ms(part, 1), "put_event_ms": per_call(tally, "put_event"), "batch_writes_ms": batch(tally)});
    report.note(
        SCENARIO,
        b,
        &format!(
            "ms per object, first {w} / last {w}: put_event {:.3} / {:.3}, batch writes of periods {:.3} / {:.3}; {} periods in the table at the end",
            per_call(&measured.calls[0], "put_event"),
            per_call(&measured.calls[1], "put_event"),
            batch(&measured.calls[0]),
            batch(&measured.calls[1]),
            measured.periods
        ),
        json!({"first": phases(first, &measured.calls[0]), "last": phases(last, &measured.calls[1]), "objects": all.len(),
               "first_calls": probe::to_json(&measured.calls[0]), "last_calls": probe::to_json(&measured.calls[1]),
               "final_table_periods": measured.periods, "raw_writes": measured.raw_count}),
    );
    let window_time = |part: &[[Duration; 2]]| part.iter().map(Measured::total).sum::<Duration>();
    report.note(
        SCENARIO,
        b,
        &format!(
            "store calls, first {w}: {}; last {w}: {}",
            probe::describe(&measured.calls[0], window_time(first)),
            probe::describe(&measured.calls[1], window_time(last))
        ),
        json!(null),
    );
    // Every window's rate: a cost that grows with the collection shows as a trend, a cheap first
    // window (empty indexes) as a step.
    let rates: Vec<f64> = all.chunks(w).map(Measured::rate).collect();
    report.note(
        SCENARIO,
        b,
        &format!(
            "objects/s per window of {w}: {}",
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        json!({ "window_rates": rates }),
    );
    Ok(())
}

/// Warms up on another user, then stores every object through the import path, timing each
/// phase, with raw writes sampled after every window.
async fn measure<S: Store>(
    store: &Timed<S>,
    texts: &[String],
    warmup: &[String],
    window: usize,
    raw: &mut Raw,
    bulk: &mut Bulk,
) -> Result<Measured> {
    let user = corpus::user(0)?;
    let opts = prepare(store, &user).await?;
    let other = corpus::user(1)?;
    let other_opts = prepare(store, &other).await?;
    let mut warm = Importer::new(store, other, other_opts);
    for text in warmup {
        import_one(&mut warm, text).await?;
    }
    check(warm.finish().await?)?;
    raw.run(20).await?;
    let (mut raw_count, mut raw_time) = (0, Duration::ZERO);
    let (mut bulk_count, mut bulk_time) = (0, Duration::ZERO);
    let mut per_object = Vec::with_capacity(texts.len());
    let mut calls: [Tally; 2] = Default::default();
    let mut importer = Importer::new(store, user.clone(), opts);
    store.take();
    for (k, text) in texts.iter().enumerate() {
        if k == texts.len().saturating_sub(window) {
            store.take();
        }
        per_object.push(import_one(&mut importer, text).await?);
        if k + 1 == window {
            calls[0] = store.take();
        }
        if k + 1 == texts.len() {
            // The last batch belongs to the last object: the import is not done without it.
            let t = Instant::now();
            check(importer.finish().await?)?;
            if let Some(last) = per_object.last_mut() {
                last[1] += t.elapsed();
            }
            break;
        }
        if (k + 1) % window == 0 {
            let count = (window / 5).max(10);
            raw_time += raw.run(count).await?;
            raw_count += count;
            bulk_time += bulk.run(window).await?;
            bulk_count += window;
        }
    }
    calls[1] = store.take();
    let count = (window / 5).max(10);
    raw_time += raw.run(count).await?;
    raw_count += count;
    bulk_time += bulk.run(window).await?;
    bulk_count += window;
    let periods = store.freebusy(&user, &Table::FreeBusy).await?.value.len();
    Ok(Measured {
        per_object,
        calls,
        periods,
        raw_count,
        raw_time,
        bulk_count,
        bulk_time,
    })
}

/// Fails on an event the import could not expand (a bug in the corpus generator).
fn check(done: Imported) -> Result<()> {
    match done.failed.into_iter().next() {
        Some((uid, e)) => Err(anyhow::Error::new(e).context(format!("expanding ingest uid {uid}"))),
        None => Ok(()),
    }
}

/// The user's zone preference and the expansion options the import uses.
async fn prepare<S: Store>(store: &S, user: &User) -> Result<calstore::recurrence::ExpandOptions> {
    store
        .set_preference(user, &PrefName::new("TZID")?, Some("Europe/Oslo"))
        .await?;
    let settings = refresh::settings(store, user, &Overrides::default()).await?;
    Ok(settings.expand_options(Utc::now()))
}

/// One calendar through the import path: split, then every object through the importer.
async fn import_one<S: Store>(importer: &mut Importer<'_, S>, text: &str) -> Result<[Duration; 2]> {
    let t0 = Instant::now();
    let objects = split_calendar(text).context("splitting an ingest object")?;
    let t1 = Instant::now();
    for obj in &objects {
        importer.put(obj).await?;
    }
    Ok([t1 - t0, t1.elapsed()])
}
