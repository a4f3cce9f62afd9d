//! `agent`: the iMIP agent's step for one incoming request — store the object, replace its
//! periods in `freebusy`, queue the request — repeated by 1 and by 4 concurrent workers on
//! distinct users. Figure: steps (transactions) per second, against the same durable writes done
//! raw (file: three temp-file + fsync + rename replacements of the same sizes; PostgreSQL: the same
//! statements in one transaction through a bare client).
//!
//! The periods of each request are computed before the clock starts: expanding an event is the
//! agent's work, not the store's, and both sides get the same periods.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use calstore::object::EventObject;
use calstore::recurrence::{self, ExpandOptions};
use calstore::{Incoming, Period, QueueKind, Store, User};
use chrono::Utc;
use serde_json::json;

use crate::bare_pg;
use crate::baseline;
use crate::corpus;
use crate::env::{Env, Kind};
use crate::probe::Timed;
use crate::report::{Figure, Report, Target};

const SCENARIO: &str = "agent";

/// One incoming request, ready to store.
struct Step {
    object: EventObject,
    periods: Vec<Period>,
}

/// The requests of one worker (user `index`): the parents of a corpus slice, expanded.
fn steps(env: &Env, index: usize, user: &User) -> Result<Vec<Step>> {
    let opts = ExpandOptions {
        tz: chrono_tz::Tz::UTC,
        window_end: Utc::now() + chrono::Duration::days(100),
        needs_action: false,
    };
    let n = env.sizes.agent_steps;
    let mut out = Vec::with_capacity(n);
    for text in corpus::object_calendars(env.seed, 500 + index, n + n / 4)? {
        let object = EventObject::parse(&text).context("parsing a request")?;
        if object.rid().is_some() {
            continue;
        }
        let periods = recurrence::expand(user, Some(&object), &[], &opts)?.periods;
        out.push(Step { object, periods });
        if out.len() == n {
            break;
        }
    }
    Ok(out)
}

/// The rounds the steps are split into; store and baseline alternate between rounds, so both
/// see the same machine (other processes' writes change what an fsync costs). Ten short rounds,
/// with the order of the two swapped every round, rather than four: with four, repeated runs on
/// this shared machine gave PostgreSQL ratios from 0.51 to 0.91 for the same code.
const ROUNDS: usize = 10;

/// The raw file baseline of one worker: its directory, table and queue, kept between rounds.
struct RawAgent {
    base: PathBuf,
    table: Vec<Period>,
    queue: String,
}

impl RawAgent {
    fn new(dir: &std::path::Path, w: usize) -> Result<RawAgent> {
        let base = baseline::scratch(dir, &format!("raw-agent-{w}"))?;
        std::fs::create_dir_all(base.join("objects")).context("raw agent directory")?;
        Ok(RawAgent {
            base,
            table: Vec::new(),
            queue: String::new(),
        })
    }

    /// Per step: the object file (new), the freebusy table and the request queue (both growing
    /// as the store's do), each replaced durably.
    fn steps(&mut self, steps: &[Step]) -> Result<()> {
        let objects = self.base.join("objects");
        for s in steps {
            let uid = s.object.uid();
            baseline::raw_replace(&objects, &uid.file_name(), s.object.text().as_bytes())?;
            self.table.extend(s.periods.iter().cloned());
            self.table.sort();
            baseline::raw_replace(
                &self.base,
                "freebusy",
                baseline::table_text(&self.table).as_bytes(),
            )?;
            self.queue
                .push_str(&format!("{}\t\tREQUEST\n", uid.as_str()));
            baseline::raw_replace(&self.base, "requests", self.queue.as_bytes())?;
        }
        Ok(())
    }
}

/// The steps of round `r` of a worker's list.
fn round(steps: &[Step], r: usize) -> std::ops::Range<usize> {
    let n = steps.len();
    (r * n / ROUNDS)..((r + 1) * n / ROUNDS)
}

/// Runs the scenario for one backend.
///
/// # Errors
///
/// The store's errors; setup failures.
pub async fn run(env: &Env, kind: Kind, report: &mut Report) -> Result<()> {
    let b = kind.name();
    let mut work: Vec<(User, Vec<Step>)> = Vec::new();
    for i in 0..5 {
        let user = corpus::user(500 + i)?;
        let s = steps(env, i, &user)?;
        work.push((user, s));
    }
    let work = Arc::new(work);
    for workers in [1usize, 4] {
        // Worker sets: user 0 alone, then users 1..=4, so no table carries over between runs.
        let range: Vec<usize> = if workers == 1 {
            vec![0]
        } else {
            (1..5).collect()
        };
        let total: usize = range.iter().map(|w| work[*w].1.len()).sum();
        let (mut store_time, mut raw_time) = (Duration::ZERO, Duration::ZERO);
        let what = match kind {
            Kind::File => {
                let (store, dir) = env.file_store(&format!("agent-{workers}"))?;
                warm_up(&store, &work, &range).await?;
                let mut raws = range
                    .iter()
                    .map(|w| RawAgent::new(&dir, *w))
                    .collect::<Result<Vec<_>>>()?;
                for r in 0..ROUNDS {
                    if r % 2 == 0 {
                        store_time += run_store(&store, &work, &range, r).await?;
                    }
                    let (t, back) = raw_file(raws, Arc::clone(&work), range.clone(), r).await?;
                    raw_time += t;
                    raws = back;
                    if r % 2 == 1 {
                        store_time += run_store(&store, &work, &range, r).await?;
                    }
                }
                format!("the same durable writes raw: 3 x {} (object, freebusy, requests; same sizes), per step", baseline::RAW_REPLACEMENT)
            }
            Kind::Postgres => {
                let (store, db) = env.pg_store().await?;
                let mut clients = Vec::new();
                for _ in &range {
                    clients.push(bare_pg::Bare::connect(db.url()).await?);
                }
                warm_up(&store, &work, &range).await?;
                warm_up_bare(&mut clients, &work, &range).await?;
                let timed = Timed::new(store);
                for r in 0..ROUNDS {
                    if r % 2 == 0 {
                        store_time += run_store(&timed, &work, &range, r).await?;
                    }
                    let (t, back) = bare(clients, &work, &range, r).await?;
                    raw_time += t;
                    clients = back;
                    if r % 2 == 1 {
                        store_time += run_store(&timed, &work, &range, r).await?;
                    }
                }
                if workers == 1 {
                    three_commits(
                        &db,
                        &work,
                        total,
                        store_time,
                        raw_time,
                        timed.take(),
                        report,
                    )
                    .await?;
                }
                bare_pg::AGENT_BASELINE.to_owned()
            }
        };
        let min_ratio = if kind == Kind::File { 0.6 } else { 0.7 };
        report.add(
            Figure::new(
                SCENARIO,
                b,
                &format!("tps_{workers}"),
                total as f64 / store_time.as_secs_f64(),
                "steps/s",
            )
            .baseline(
                total as f64 / raw_time.as_secs_f64(),
                &format!("{what}; alternating with the store in {ROUNDS} rounds"),
            )
            .target(Target::RatioAtLeast(min_ratio)),
        );
    }
    // Booking throughput (issue 20): a resource deciding by its policy, one-off and recurring.
    let bookings = env.sizes.agent_steps.clamp(10, 100);
    match kind {
        Kind::File => {
            let (store, dir) = env.file_store("agent-booking")?;
            let journal = calstore_file::FileJournal::open_dir(dir.join("journal"))?;
            crate::booking::run(&store, &journal, kind, bookings, report).await?;
        }
        Kind::Postgres => {
            // The journal in the store's database: a booking under a quota is one joint write.
            let (store, db) = env.pg_store().await?;
            let journal =
                calstore_postgres::PgJournal::connect(&calstore_postgres::PgOptions::new(db.url()))
                    .await?;
            crate::booking::run(&store, &journal, kind, bookings, report).await?;
        }
    }
    report.note(
        SCENARIO,
        b,
        &format!("{} steps per worker", env.sizes.agent_steps),
        json!({"steps_per_worker": env.sizes.agent_steps, "rounds": ROUNDS}),
    );
    Ok(())
}

/// One step: the agent's call that stores the object, replaces its periods in `freebusy` and
/// queues the request (`Store::store_incoming`).
async fn step<S: Store>(store: &S, user: &User, s: &Step) -> Result<()> {
    let incoming = Incoming {
        uid: s.object.uid().clone(),
        rid: s.object.rid().cloned(),
        text: s.object.text().to_owned(),
        periods: s.periods.clone(),
        method: QueueKind::Request,
    };
    store.store_incoming(user, &incoming).await?;
    Ok(())
}

/// One untimed step per worker, at the same time, on users of their own: the baseline's clients
/// are connected and their statements prepared before it is timed, so the store's pool gets its
/// connections and prepared statements first too (with ten short rounds, opening four pooled
/// connections inside the first one halved the 4-worker figure). [`warm_up_bare`] then runs the
/// same step through the bare clients.
async fn warm_up<S: Store + Clone + 'static>(
    store: &S,
    work: &Arc<Vec<(User, Vec<Step>)>>,
    range: &[usize],
) -> Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for &w in range {
        let (store, work) = (store.clone(), Arc::clone(work));
        tasks.spawn(async move {
            let user = corpus::user(900 + w)?;
            if let Some(first) = work[w].1.first() {
                step(&store, &user, first).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// One untimed step per bare client on users of their own, as [`warm_up`] does for the store, so
/// that both sides have run every statement once before the clock starts.
async fn warm_up_bare(
    clients: &mut [bare_pg::Bare],
    work: &[(User, Vec<Step>)],
    range: &[usize],
) -> Result<()> {
    for (client, &w) in clients.iter_mut().zip(range) {
        let owner = format!("bare-{}", corpus::user(900 + w)?.as_str());
        if let Some(s) = work[w].1.first() {
            client
                .agent_step(&owner, s.object.uid().as_str(), s.object.text(), &s.periods)
                .await?;
        }
    }
    Ok(())
}

/// The time of round `r` of the workers `range`, each on its own task.
async fn run_store<S: Store + Clone + 'static>(
    store: &S,
    work: &Arc<Vec<(User, Vec<Step>)>>,
    range: &[usize],
    r: usize,
) -> Result<Duration> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for &w in range {
        let (store, work) = (store.clone(), Arc::clone(work));
        tasks.spawn(async move {
            let (user, steps) = &work[w];
            for s in &steps[round(steps, r)] {
                step(&store, user, s).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("an agent task panicked")??;
    }
    Ok(started.elapsed())
}

/// Round `r` of the raw file baseline, one thread per worker; hands the states back.
async fn raw_file(
    raws: Vec<RawAgent>,
    work: Arc<Vec<(User, Vec<Step>)>>,
    range: Vec<usize>,
    r: usize,
) -> Result<(Duration, Vec<RawAgent>)> {
    tokio::task::spawn_blocking(move || -> Result<(Duration, Vec<RawAgent>)> {
        let started = Instant::now();
        let raws = std::thread::scope(|scope| -> Result<Vec<RawAgent>> {
            let handles: Vec<_> = raws
                .into_iter()
                .zip(&range)
                .map(|(mut raw, &w)| {
                    let steps = &work[w].1;
                    scope.spawn(move || -> Result<RawAgent> {
                        raw.steps(&steps[round(steps, r)])?;
                        Ok(raw)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a baseline thread panicked"))?
                })
                .collect()
        })?;
        Ok((started.elapsed(), raws))
    })
    .await
    .context("baseline thread")?
}

/// Round `r` of the bare client baseline, on users of their own (`bare-…`) in the same
/// database; hands the clients back.
async fn bare(
    clients: Vec<bare_pg::Bare>,
    work: &Arc<Vec<(User, Vec<Step>)>>,
    range: &[usize],
    r: usize,
) -> Result<(Duration, Vec<bare_pg::Bare>)> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (k, (&w, mut client)) in range.iter().zip(clients).enumerate() {
        let work = Arc::clone(work);
        tasks.spawn(async move {
            let (user, steps) = &work[w];
            let owner = format!("bare-{}", user.as_str());
            for s in &steps[round(steps, r)] {
                client
                    .agent_step(&owner, s.object.uid().as_str(), s.object.text(), &s.periods)
                    .await?;
            }
            anyhow::Ok((k, client))
        });
    }
    let mut back = Vec::new();
    while let Some(done) = tasks.join_next().await {
        back.push(done.context("a baseline task panicked")??);
    }
    let elapsed = started.elapsed();
    back.sort_by_key(|(k, _)| *k);
    Ok((elapsed, back.into_iter().map(|(_, c)| c).collect()))
}

/// Explains the PostgreSQL ratio of one worker: the store's calls, and the bare statements
/// committed three times per step as the store's three calls commit them.
async fn three_commits(
    db: &calstore_postgres::harness::TestDatabase,
    work: &Arc<Vec<(User, Vec<Step>)>>,
    total: usize,
    store_time: Duration,
    one_commit: Duration,
    calls: crate::probe::Tally,
    report: &mut Report,
) -> Result<()> {
    let mut client = bare_pg::Bare::connect(db.url()).await?;
    let (user, steps) = &work[0];
    let owner = format!("bare3-{}", user.as_str());
    let started = Instant::now();
    for s in steps {
        client
            .agent_step_three_commits(&owner, s.object.uid().as_str(), s.object.text(), &s.periods)
            .await?;
    }
    let three = started.elapsed();
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    report.note(
        SCENARIO,
        "postgres",
        &format!(
            "1 worker: store {:.0} steps/s; bare client, same statements with 3 commits per step {:.0} steps/s; with 1 commit {:.0} steps/s; store calls: {}",
            rate(store_time),
            rate(three),
            rate(one_commit),
            crate::probe::describe(&calls, store_time)
        ),
        json!({"store": rate(store_time), "bare_three_commits": rate(three), "bare_one_commit": rate(one_commit),
               "calls": crate::probe::to_json(&calls)}),
    );
    Ok(())
}
