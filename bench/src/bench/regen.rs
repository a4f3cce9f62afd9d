//! `regen`: the cron job on the generated corpus. The corpus (users × events, seeded) goes through
//! the import path; then the real `calstore` binary runs `make-freebusy --all --reset
//! --window-days 365` as a child process, whose peak memory is followed in /proc. Figures:
//! periods written per second against rewriting the same tables raw, and peak memory against the
//! peak after the first quarter of the run (growth means memory follows the number of users).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use calstore::object::split_calendar;
use calstore::recurrence::{self, ExpandOptions};
use calstore::refresh::{self, Overrides};
use calstore::{PrefName, Store, Table};
use chrono::Utc;
use serde_json::json;

use crate::bare_pg;
use crate::baseline;
use crate::child::{self, ChildRun};
use crate::corpus;
use crate::env::{Corpus, Env, Kind};
use crate::probe::{self, Timed};
use crate::report::{Figure, Report, Target};

const SCENARIO: &str = "regen";

/// The window of the cron run, in days.
const WINDOW_DAYS: u32 = 365;

/// Runs the scenario for `kinds`. The corpora of the backends are imported at the same time (the
/// file import mostly waits for fsync, the PostgreSQL one for the processors), then each cron run
/// is timed alone. Returns the outcome per backend.
pub async fn run(env: &Env, kinds: &[Kind], report: &mut Report) -> Vec<(Kind, Result<()>)> {
    let exe = match child::calstore_binary() {
        Ok(exe) => exe,
        Err(e) => return kinds.iter().map(|k| (*k, Err(anyhow!("{e:#}")))).collect(),
    };
    if let Err(e) = expansion_rate(env, report) {
        return kinds.iter().map(|k| (*k, Err(anyhow!("{e:#}")))).collect();
    }
    let python = python_baseline(env, report);
    let mut outcomes = Vec::new();
    let file = match kinds.contains(&Kind::File).then(|| env.file_store("regen")) {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            outcomes.push((Kind::File, Err(e)));
            None
        }
        None => None,
    };
    let pg = match kinds.contains(&Kind::Postgres) {
        true => match env.pg_store().await {
            Ok(p) => Some(p),
            Err(e) => {
                outcomes.push((Kind::Postgres, Err(e)));
                None
            }
        },
        false => None,
    };
    let both = file.is_some() && pg.is_some();
    let (file_loaded, pg_loaded) = tokio::join!(
        async {
            match &file {
                Some((store, _)) => Some(load(env, store, Kind::File).await),
                None => None,
            }
        },
        async {
            match &pg {
                Some((store, _)) => Some(load(env, store, Kind::Postgres).await),
                None => None,
            }
        }
    );
    if let (Some((store, dir)), Some(loaded)) = (file, file_loaded) {
        let outcome = async {
            loaded?.note(report, Kind::File, both);
            let s = |p: &str| dir.join(p).display().to_string();
            let args = [
                "--store",
                &s("store"),
                "--preferences",
                &s("preferences"),
                "--journal",
                &s("journal"),
            ];
            let child = match child::make_freebusy(&exe, &args, WINDOW_DAYS) {
                Ok(c) => c,
                Err(e) => return skip(report, Kind::File.name(), &e),
            };
            let base = raw_file_rewrite(env, &dir).await?;
            figures(report, Kind::File, &child, base);
            against_python(report, Kind::File, &child, python.as_ref());
            in_process(env, &store, Kind::File, report).await?;
            env.keep_corpus(Corpus::File(store, dir, child.periods));
            Ok(())
        }
        .await;
        outcomes.push((Kind::File, outcome));
    }
    if let (Some((store, db)), Some(loaded)) = (pg, pg_loaded) {
        let outcome = async {
            loaded?.note(report, Kind::Postgres, both);
            let child = match child::make_freebusy(&exe, &["--store", db.url()], WINDOW_DAYS) {
                Ok(c) => c,
                Err(e) => return skip(report, Kind::Postgres.name(), &e),
            };
            let base = bare_rewrite(env, &store, db.url()).await?;
            figures(report, Kind::Postgres, &child, base);
            against_python(report, Kind::Postgres, &child, python.as_ref());
            in_process(env, &store, Kind::Postgres, report).await?;
            env.keep_corpus(Corpus::Pg(store, db, child.periods));
            Ok(())
        }
        .await;
        outcomes.push((Kind::Postgres, outcome));
    }
    outcomes
}

/// The Python baseline's script (icalendar + recurring-ical-events), written next to the files.
const PYTHON_BASELINE: &str = include_str!("../../python/regen_baseline.py");

/// How many stored events the Python baseline expands (issue 21: 5,000).
const PYTHON_EVENTS: usize = 5_000;

/// icalendar + recurring-ical-events computing the periods of the first users' calendars (about
/// 5,000 events, the same generated files the import stores) up to the same window end: periods
/// per second, or `None` with a note where Python or the packages are absent.
fn python_baseline(env: &Env, report: &mut Report) -> Option<(f64, String)> {
    let outcome = (|| -> Result<(f64, usize, usize)> {
        let dir = tempfile::tempdir().context("a scratch directory")?;
        let script = dir.path().join("regen_baseline.py");
        std::fs::write(&script, PYTHON_BASELINE)?;
        let files = dir.path().join("calendars");
        std::fs::create_dir(&files)?;
        let (mut events, mut users) = (0, 0);
        while events < PYTHON_EVENTS && users < env.sizes.regen_users.max(1) {
            let (text, _) = corpus::user_calendar(env.seed, users, env.sizes.regen_events);
            std::fs::write(files.join(format!("u{users:05}.ics")), text)?;
            events += env.sizes.regen_events;
            users += 1;
        }
        let end = (Utc::now() + chrono::Duration::days(WINDOW_DAYS.into())).format("%Y%m%d");
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&files)
            .arg(end.to_string())
            .output()
            .context("python3 could not be started")?;
        if !out.status.success() {
            return Err(anyhow!(
                "python3 failed (are icalendar and recurring-ical-events installed? pip install icalendar recurring-ical-events): {}",
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut fields = text.split_whitespace();
        let periods: usize = fields
            .next()
            .unwrap_or("")
            .parse()
            .context("python's count")?;
        let seconds: f64 = fields
            .next()
            .unwrap_or("")
            .parse()
            .context("python's time")?;
        Ok((periods as f64 / seconds, periods, events))
    })();
    match outcome {
        Ok((rate, periods, events)) => {
            report.note(
                SCENARIO,
                "-",
                &format!("python baseline: icalendar + recurring-ical-events, {events} events of the corpus: {periods} periods at {rate:.0} periods/s"),
                json!({"periods": periods, "events": events, "periods_per_s": rate}),
            );
            Some((
                rate,
                format!("icalendar + recurring-ical-events expanding {events} events of the same corpus files in Python, periods per second"),
            ))
        }
        Err(e) => {
            report.note(
                SCENARIO,
                "-",
                &format!("python baseline skipped: {e:#}"),
                json!(null),
            );
            None
        }
    }
}

/// The cron run's rate against the Python baseline (issue 21: at least 50 times faster).
fn against_python(
    report: &mut Report,
    kind: Kind,
    child: &ChildRun,
    python: Option<&(f64, String)>,
) {
    if let Some((rate, what)) = python {
        report.add(
            Figure::new(
                SCENARIO,
                kind.name(),
                "periods_per_s_vs_python",
                child.periods as f64 / child.wall.as_secs_f64(),
                "periods/s",
            )
            .baseline(*rate, what)
            .target(Target::RatioAtLeast(50.0)),
        );
    }
}

/// The figures of one backend's cron run.
fn figures(report: &mut Report, kind: Kind, child: &ChildRun, base: (f64, String)) {
    let b = kind.name();
    let rate = child.periods as f64 / child.wall.as_secs_f64();
    // Issue 21: both cores on files beat the one-core parse + expand floor (244,000).
    let limit = if kind == Kind::File {
        250_000.0
    } else {
        100_000.0
    };
    report.add(
        Figure::new(SCENARIO, b, "periods_per_s", rate, "periods/s")
            .baseline(base.0, &base.1)
            .target(Target::ValueAtLeast(limit)),
    );
    let quarter = child.hwm_at(0.25);
    report.add(
        Figure::new(
            SCENARIO,
            b,
            "peak_memory",
            child.peak_kb() as f64 / 1024.0,
            "MB",
        )
        .baseline(
            quarter as f64 / 1024.0,
            "the peak (VmHWM) after the first quarter of the same run",
        )
        .target(Target::ValueAtMost(150.0))
        .target(Target::RatioAtMost(1.25)),
    );
    report.note(
        SCENARIO,
        b,
        &format!("calstore said: {}", child.summary),
        json!({"summary": child.summary, "wall_s": child.wall.as_secs_f64(), "periods": child.periods,
               "hwm_samples_kb": child.samples.iter().step_by((child.samples.len() / 20).max(1)).map(|(t, k)| (t.as_secs_f64(), k)).collect::<Vec<_>>()}),
    );
}

fn skip(report: &mut Report, backend: &str, e: &anyhow::Error) -> Result<()> {
    report.skip(SCENARIO, backend, &format!("{e:#}"));
    Ok(())
}

/// What an import of the corpus did.
struct Loaded {
    users: usize,
    objects: usize,
    periods: usize,
    seconds: f64,
}

impl Loaded {
    fn note(&self, report: &mut Report, kind: Kind, alongside: bool) {
        let Loaded {
            users,
            objects,
            periods,
            seconds,
        } = *self;
        let beside = if alongside {
            " (at the same time as the other backend's)"
        } else {
            ""
        };
        report.note(
            SCENARIO,
            kind.name(),
            &format!(
                "corpus imported{beside}: {users} users, {objects} objects, {periods} periods (100-day window) in {seconds:.1} s ({:.0} objects/s)",
                objects as f64 / seconds
            ),
            json!({"users": users, "objects": objects, "periods": periods, "seconds": seconds}),
        );
    }
}

/// Loads the corpus through the import path, several users at once.
async fn load<S: Store + Clone + 'static>(env: &Env, store: &S, kind: Kind) -> Result<Loaded> {
    let users = env.sizes.regen_users;
    let events = env.sizes.regen_events;
    // Concurrent users let the file system and the server batch their syncs, as many agents do.
    let tasks_n = 16;
    eprintln!(
        "# regen {}: importing {users} users x {events} events ({tasks_n} at a time)",
        kind.name()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let seed = env.seed;
    let name = kind.name();
    for _ in 0..tasks_n {
        let (store, next) = (store.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            let (mut objects, mut periods) = (0usize, 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return anyhow::Ok((objects, periods));
                }
                if users >= 10 && i % (users / 10) == 0 && i > 0 {
                    eprintln!("#   {name}: {i} users imported");
                }
                let user = corpus::user(i)?;
                let zone = corpus::ZONES[i % corpus::ZONES.len()].0;
                store
                    .set_preference(&user, &PrefName::new("TZID")?, Some(zone))
                    .await?;
                let settings = refresh::settings(&store, &user, &Overrides::default()).await?;
                let (text, _) = corpus::user_calendar(seed, i, events);
                let done =
                    corpus::import(&store, &user, &text, &settings.expand_options(Utc::now()))
                        .await?;
                objects += done.objects;
                periods += done.periods;
            }
        });
    }
    let (mut objects, mut periods) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (o, p) = done.context("an import task panicked")??;
        objects += o;
        periods += p;
    }
    Ok(Loaded {
        users,
        objects,
        periods,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The pure CPU part: parsing and expanding a sample of users' calendars in this process.
fn expansion_rate(env: &Env, report: &mut Report) -> Result<()> {
    let users = env.sizes.regen_users.min(50);
    let (mut periods, mut spent) = (0usize, Duration::ZERO);
    for i in 0..users {
        let user = corpus::user(i)?;
        let tz: chrono_tz::Tz = corpus::ZONES[i % corpus::ZONES.len()]
            .0
            .parse()
            .map_err(|e| anyhow!("{e}"))?;
        let opts = ExpandOptions {
            tz,
            window_end: Utc::now() + chrono::Duration::days(WINDOW_DAYS.into()),
            needs_action: false,
        };
        let (text, _) = corpus::user_calendar(env.seed, i, env.sizes.regen_events);
        let t = Instant::now();
        let mut by_uid: BTreeMap<String, (Option<_>, Vec<_>)> = BTreeMap::new();
        for obj in split_calendar(&text)? {
            let entry = by_uid.entry(obj.uid().to_string()).or_default();
            if obj.rid().is_some() {
                entry.1.push((obj, calstore::EventStatus::Active));
            } else {
                entry.0 = Some(obj);
            }
        }
        for (parent, instances) in by_uid.values() {
            periods += recurrence::expand(&user, parent.as_ref(), instances, &opts)?
                .periods
                .len();
        }
        spent += t.elapsed();
    }
    report.note(
        SCENARIO,
        "-",
        &format!(
            "parse + expand only, in memory, {users} users: {periods} periods in {:.2} s = {:.0} periods/s (the CPU floor of a regeneration)",
            spent.as_secs_f64(),
            periods as f64 / spent.as_secs_f64()
        ),
        json!({"users": users, "periods": periods, "seconds": spent.as_secs_f64()}),
    );
    Ok(())
}

/// The users the baselines rewrite: every one in a small run, else a tenth (the rate is what
/// counts, and rewriting a million rows again costs as much as the run itself).
fn baseline_users(env: &Env) -> impl Iterator<Item = usize> {
    let step = if env.sizes.regen_users >= 200 { 10 } else { 1 };
    (0..env.sizes.regen_users).step_by(step)
}

/// The file baseline: users' regenerated tables (as the child wrote them) replaced raw.
async fn raw_file_rewrite(env: &Env, dir: &Path) -> Result<(f64, String)> {
    let users: Vec<usize> = baseline_users(env).collect();
    let (store_root, scratch) = (dir.join("store"), baseline::scratch(dir, "raw-regen")?);
    tokio::task::spawn_blocking(move || -> Result<(f64, String)> {
        let (mut periods, mut spent) = (0usize, Duration::ZERO);
        for &i in &users {
            let user = corpus::user(i)?;
            let path = store_root.join(user.file_name()).join("freebusy");
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                // A user whose events all ended up without periods has no table.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            periods += bytes.iter().filter(|b| **b == b'\n').count();
            let t = Instant::now();
            baseline::raw_replace(&scratch, &user.file_name(), &bytes)?;
            spent += t.elapsed();
        }
        Ok((
            periods as f64 / spent.as_secs_f64(),
            format!("users' regenerated tables written raw ({}; every 10th user of a full run), periods per second", baseline::RAW_REPLACEMENT),
        ))
    })
    .await
    .context("baseline thread")?
}

/// The PostgreSQL baseline: every user's regenerated rows deleted and inserted again in one
/// transaction per user through a bare client (the rows are read untimed first).
async fn bare_rewrite<S: Store>(env: &Env, store: &S, url: &str) -> Result<(f64, String)> {
    let mut client = bare_pg::Bare::connect(url).await?;
    let (mut periods, mut spent) = (0usize, Duration::ZERO);
    for i in baseline_users(env) {
        let user = corpus::user(i)?;
        let rows = store.freebusy(&user, &Table::FreeBusy).await?.value;
        periods += rows.len();
        let t = Instant::now();
        client.rewrite_table(user.as_str(), &rows).await?;
        spent += t.elapsed();
    }
    Ok((
        periods as f64 / spent.as_secs_f64(),
        "users' regenerated rows deleted and inserted again through a bare tokio-postgres client, one transaction per user (every 10th user of a full run), periods per second".to_owned(),
    ))
}

/// Where a regeneration's time goes: `refresh::regenerate` (what the child runs per user) in this
/// process on a sample of users, with every store call timed; the rest is parsing, expansion
/// and sorting.
async fn in_process<S: Store + Clone>(
    env: &Env,
    store: &S,
    kind: Kind,
    report: &mut Report,
) -> Result<()> {
    let timed = Timed::new(store.clone());
    let users = env.sizes.regen_users.min(50);
    let now = Utc::now();
    let overrides = Overrides {
        tz: None,
        window_days: Some(WINDOW_DAYS),
        needs_action: false,
    };
    let (mut periods, started) = (0usize, Instant::now());
    for i in 0..users {
        let user = corpus::user(i)?;
        let settings = refresh::settings(&timed, &user, &overrides).await?;
        periods += refresh::regenerate(&timed, &user, &settings, now, true, false)
            .await?
            .periods;
    }
    let total = started.elapsed();
    let tally = timed.take();
    let in_store: Duration = tally.values().map(|(_, d)| *d).sum();
    report.note(
        SCENARIO,
        kind.name(),
        &format!(
            "in-process regenerate of {users} users: {periods} periods in {:.2} s ({:.0} periods/s); store calls {:.0}% of it: {}",
            total.as_secs_f64(),
            periods as f64 / total.as_secs_f64(),
            100.0 * in_store.as_secs_f64() / total.as_secs_f64(),
            probe::describe(&tally, total)
        ),
        json!({"users": users, "periods": periods, "seconds": total.as_secs_f64(), "calls": probe::to_json(&tally)}),
    );
    Ok(())
}
