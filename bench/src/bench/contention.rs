//! `contention`: 4 processes × N reservations of the same resource, half of them colliding.
//! Each process is this program started again with the hidden `--worker` argument; it opens the
//! store, waits for the parent's go, calls `Store::reserve` for each reservation and prints one
//! line per outcome. The parent then checks the table: no acknowledged reservation lost, no two
//! busy periods of different events overlapping, every refusal a conflict.
//!
//! Reservation `i` of worker `w`: even `i` take slot `i`, shared by all four workers (exactly one
//! may win it); odd `i` take a slot of their own.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use calstore::{ErrorKind, Period, Store, Table, Uid, User};
use serde_json::json;

use crate::corpus;
use crate::env::{self, Env, Kind};
use crate::report::{Figure, Report, Target};

const SCENARIO: &str = "contention";
const WORKERS: usize = 4;

/// The resource every worker books.
fn resource(name: &str) -> Result<User> {
    Ok(User::new(format!("mailto:{name}@rooms.example.org"))?)
}

/// The period of reservation `i` of worker `w` (of `each` per worker).
fn reservation(w: usize, i: usize, each: usize) -> Result<Period> {
    let slot = if i.is_multiple_of(2) {
        i
    } else {
        100_000 + w * each + i
    };
    let start = corpus::anchor_utc() + chrono::Duration::hours(slot as i64);
    let mut p = Period::new(
        start,
        start + chrono::Duration::hours(1),
        Uid::new(format!("w{w}-r{i}@bench.example.org"))?,
        None,
    )?;
    p.summary = Some(format!("Booking {i} of worker {w}"));
    Ok(p)
}

/// The outcomes one worker reports.
#[derive(Debug, Default)]
struct Outcomes {
    acked: Vec<String>,
    conflicts: usize,
    errors: Vec<String>,
}

/// The hidden worker: `--worker contention --worker-backend B --worker-target T --worker-id W
/// --worker-count N`. Prints `READY`, waits for a line on standard input, then one line per
/// reservation (`ACK uid`, `CONFLICT uid`, `ERROR uid message`) and `DONE`.
///
/// # Errors
///
/// When the store cannot be opened or standard output fails.
pub async fn worker(backend: Kind, target: &str, w: usize, each: usize) -> Result<()> {
    match backend {
        Kind::File => book(&env::open_file(std::path::Path::new(target))?, w, each).await,
        Kind::Postgres => book(&env::open_pg(target).await?, w, each).await,
    }
}

async fn book<S: Store>(store: &S, w: usize, each: usize) -> Result<()> {
    let room = resource("room")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY")?;
    out.flush()?;
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .context("waiting for the go")?;
    for i in 0..each {
        let p = reservation(w, i, each)?;
        let uid = p.uid.to_string();
        match store
            .reserve(&room, &Table::FreeBusy, vec![p], 1, None)
            .await
        {
            Ok(_) => writeln!(out, "ACK {uid}")?,
            Err(e) if e.kind() == ErrorKind::Busy => writeln!(out, "CONFLICT {uid}")?,
            Err(e) => writeln!(out, "ERROR {uid} {}", e.to_string().replace('\n', " "))?,
        }
    }
    writeln!(out, "DONE")?;
    out.flush()?;
    Ok(())
}

/// Runs the scenario for one backend.
///
/// # Errors
///
/// When the workers cannot be started or the table cannot be read.
pub async fn run(env: &Env, kind: Kind, report: &mut Report) -> Result<()> {
    let each = env.sizes.contention_each;
    match kind {
        Kind::File => {
            let (store, dir) = env.file_store("contention")?;
            let target = dir.display().to_string();
            judge(env, kind, &store, &target, each, report).await
        }
        Kind::Postgres => {
            let (store, db) = env.pg_store().await?;
            judge(env, kind, &store, db.url(), each, report).await
        }
    }
}

async fn judge<S: Store>(
    _env: &Env,
    kind: Kind,
    store: &S,
    target: &str,
    each: usize,
    report: &mut Report,
) -> Result<()> {
    let target = target.to_owned();
    let (outcomes, seconds) =
        tokio::task::spawn_blocking(move || spawn_workers(kind, &target, each))
            .await
            .context("worker supervisor")??;
    let room = resource("room")?;
    let table = store.freebusy(&room, &Table::FreeBusy).await?.value;
    let stored: HashSet<String> = table.iter().map(|p| p.uid.to_string()).collect();
    let acked: Vec<&String> = outcomes.iter().flat_map(|o| &o.acked).collect();
    let lost = acked
        .iter()
        .filter(|u| !stored.contains(u.as_str()))
        .count();
    let acked_set: HashSet<&str> = acked.iter().map(|s| s.as_str()).collect();
    let phantom = stored
        .iter()
        .filter(|u| !acked_set.contains(u.as_str()))
        .count();
    let double = double_bookings(&table);
    let errors: Vec<&String> = outcomes.iter().flat_map(|o| &o.errors).collect();
    let conflicts: usize = outcomes.iter().map(|o| o.conflicts).sum();
    // Every shared slot must have exactly one winner; a slot nobody won was refused wrongly.
    let won: BTreeSet<usize> = acked
        .iter()
        .filter_map(|u| {
            u.split_once("-r")
                .and_then(|(_, r)| r.split('@').next())
                .and_then(|i| i.parse().ok())
        })
        .filter(|i: &usize| i.is_multiple_of(2))
        .collect();
    let unwon = each.div_ceil(2) - won.len();
    let expected = WORKERS * (each / 2) + each.div_ceil(2);
    let total = WORKERS * each;
    let throughput = total as f64 / seconds;

    // Baseline: the same reservations from one process, one after another, on another resource.
    let solo = resource("room-solo")?;
    let started = Instant::now();
    for w in 0..WORKERS {
        for i in 0..each {
            let p = reservation(w, i, each)?;
            match store
                .reserve(&solo, &Table::FreeBusy, vec![p], 1, None)
                .await
            {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Busy => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let solo_rate = total as f64 / started.elapsed().as_secs_f64();

    let b = kind.name();
    report.add(
        Figure::new(SCENARIO, b, "throughput", throughput, "reservations/s").baseline(
            solo_rate,
            "the same reservations from one process, one after another (no contention)",
        ),
    );
    report.add(
        Figure::new(SCENARIO, b, "lost", lost as f64, "reservations")
            .target(Target::ValueAtMost(0.0)),
    );
    report.add(
        Figure::new(SCENARIO, b, "double_bookings", double as f64, "pairs")
            .target(Target::ValueAtMost(0.0)),
    );
    report.add(
        Figure::new(
            SCENARIO,
            b,
            "non_conflict_refusals",
            errors.len() as f64,
            "refusals",
        )
        .target(Target::ValueAtMost(0.0)),
    );
    report.add(
        Figure::new(
            SCENARIO,
            b,
            "acknowledged",
            acked.len() as f64,
            "reservations",
        )
        .baseline(
            expected as f64,
            "the number that can succeed: every own slot plus one winner per shared slot",
        )
        .target(Target::RatioAtLeast(1.0))
        .target(Target::RatioAtMost(1.0)),
    );
    report.note(
        SCENARIO,
        b,
        &format!(
            "{WORKERS} processes x {each}: {} acknowledged, {conflicts} conflicts, {} other errors, {phantom} stored but not acknowledged, {unwon} shared slots without a winner, {:.2} s",
            acked.len(),
            errors.len(),
            seconds
        ),
        json!({
            "acked": acked.len(), "conflicts": conflicts, "errors": errors.iter().take(5).collect::<Vec<_>>(),
            "phantom": phantom, "unwon_slots": unwon, "seconds": seconds, "expected_acks": expected,
        }),
    );
    Ok(())
}

/// Pairs of busy periods of different events that overlap (sweep over the sorted table).
fn double_bookings(table: &[Period]) -> usize {
    let mut busy: Vec<&Period> = table.iter().filter(|p| p.is_busy()).collect();
    busy.sort_by_key(|p| (p.start, p.end));
    let mut count = 0;
    for (k, p) in busy.iter().enumerate() {
        for q in &busy[k + 1..] {
            if q.start >= p.end {
                break;
            }
            if q.uid != p.uid && p.overlaps(q.start, q.end) {
                count += 1;
            }
        }
    }
    count
}

/// Starts the workers, lets them go together, collects their lines; returns the outcomes and the
/// seconds from the go to the last worker's end.
fn spawn_workers(kind: Kind, target: &str, each: usize) -> Result<(Vec<Outcomes>, f64)> {
    let exe = std::env::current_exe().context("cannot find the benchmark program")?;
    let mut children = Vec::new();
    for w in 0..WORKERS {
        let child = Command::new(&exe)
            .args([
                "--worker",
                "contention",
                "--worker-backend",
                kind.name(),
                "--worker-target",
                target,
            ])
            .args([
                "--worker-id",
                &w.to_string(),
                "--worker-count",
                &each.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start worker {w}"))?;
        children.push(child);
    }
    let mut readers = Vec::new();
    for child in &mut children {
        let out = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no pipe from a worker"))?;
        let mut reader = BufReader::new(out);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        if first.trim() != "READY" {
            bail!("a worker did not start: {first:?}");
        }
        readers.push(reader);
    }
    let started = Instant::now();
    for child in &mut children {
        let stdin = child
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("no pipe to a worker"))?;
        stdin.write_all(b"GO\n")?;
        stdin.flush()?;
    }
    let collected: Vec<Result<Outcomes>> = std::thread::scope(|s| {
        let handles: Vec<_> = readers
            .into_iter()
            .map(|r| s.spawn(move || collect(r)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a reader panicked")))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    for (w, mut child) in children.into_iter().enumerate() {
        let status = child.wait()?;
        if !status.success() {
            bail!("worker {w} failed: {status}");
        }
    }
    Ok((collected.into_iter().collect::<Result<Vec<_>>>()?, seconds))
}

fn collect(reader: BufReader<std::process::ChildStdout>) -> Result<Outcomes> {
    let mut o = Outcomes::default();
    let mut done = false;
    for line in reader.lines() {
        let line = line?;
        match line.split_once(' ') {
            Some(("ACK", uid)) => o.acked.push(uid.to_owned()),
            Some(("CONFLICT", _)) => o.conflicts += 1,
            Some(("ERROR", rest)) => o.errors.push(rest.to_owned()),
            _ if line == "DONE" => done = true,
            _ => o.errors.push(format!("unexpected output: {line}")),
        }
    }
    if !done {
        o.errors.push("the worker ended without DONE".into());
    }
    Ok(o)
}
