//! Contention between processes: several `calstore-torture` workers at once (separate OS
//! processes, each with its own handles and locks) replace event periods, queue and dequeue
//! requests, book the same room and desks, reserve within a quota limit, run versioned
//! read-modify-write cycles and write with stale versions, all on the same users. Afterwards the
//! test reads everything back and checks what a user would: every acknowledged write is there,
//! no period or request is there twice, no slot is booked beyond its capacity, the quota is not
//! exceeded, every refusal was a busy refusal that the final state explains, and stale versions were
//! refused. `calstore check` must pass too.
//!
//! Size: `CALSTORE_TORTURE_WORKERS` (default 4) processes × `CALSTORE_TORTURE_OPS` (default 300)
//! operations, per backend.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use calstore::{Journal, Period, QueueKind, Store, Table, UsageTable};
use support::names::*;
use support::*;

/// What the workers printed, per worker.
struct Run {
    workers: Vec<Vec<Line>>,
    elapsed: Duration,
}

fn run_workers(place: &Place, workers: usize, ops: usize, seed: u64) -> Run {
    place.setup("setup-contention");
    // About one operation in five books the room; with this many half-hour slots (each booking
    // blocks its neighbours) about half the attempts collide.
    let room_slots = (ops * workers * 32 / 100).max(8);
    let started = Instant::now();
    let children: Vec<_> = (0..workers)
        .map(|w| {
            place
                .torture("contention")
                .args(["--worker", &w.to_string(), "--seed", &seed.to_string()])
                .args(["--ops", &ops.to_string()])
                .args([
                    "--room-slots",
                    &room_slots.to_string(),
                    "--desk-slots",
                    "30",
                ])
                .spawn()
                .expect("spawn calstore-torture")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("worker output"))
        .collect();
    let elapsed = started.elapsed();
    let mut all = Vec::new();
    for (w, out) in outputs.iter().enumerate() {
        assert!(
            out.status.success(),
            "worker {w} failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = parse_lines(&out.stdout);
        assert_eq!(
            lines.last().map(|l| l.status.as_str()),
            Some("done"),
            "worker {w} did not finish"
        );
        all.push(lines);
    }
    Run {
        workers: all,
        elapsed,
    }
}

/// The counts a run reports.
#[derive(Default, Debug)]
struct Figures {
    acked: usize,
    refused: usize,
    room_attempts: usize,
    room_refused: usize,
    desk_attempts: usize,
    desk_refused: usize,
    quota_acked: usize,
    quota_refused: usize,
    quota_minutes: i64,
    cas_retries: usize,
    stale_checks: usize,
}

/// The most periods of `booked` overlapping at any instant of [start, end).
fn max_overlap(
    booked: &[Period],
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> usize {
    let mut edges: Vec<(chrono::DateTime<chrono::Utc>, i32)> = Vec::new();
    for p in booked.iter().filter(|p| p.start < end && start < p.end) {
        edges.push((p.start.max(start), 1));
        edges.push((p.end.min(end), -1));
    }
    // Ends before starts at the same instant: half-open periods that only touch do not overlap.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

fn identities_once(table: &[Period], what: &str, problems: &mut Vec<String>) {
    let mut seen = BTreeSet::new();
    for p in table {
        if !seen.insert(p.key()) {
            problems.push(format!("{what}: period {p} is there twice"));
        }
    }
    if !table.is_sorted() {
        problems.push(format!("{what}: the table is not in order"));
    }
}

async fn verify<S: Store, J: Journal>(store: &S, journal: &J, run: &Run) -> (Figures, Vec<String>) {
    let mut f = Figures::default();
    let mut problems = Vec::new();
    let all: Vec<&Line> = run.workers.iter().flatten().collect();
    for l in &all {
        match l.status.as_str() {
            "ack" => f.acked += 1,
            "refused" => {
                f.refused += 1;
                // Only bookings are refused: the slot or the quota is taken (busy), never a
                // stale version, which the workers retry.
                if l.field(0) != "busy" {
                    problems.push(format!(
                        "{} was refused with {:?}, not as busy: {l:?}",
                        l.op,
                        l.field(0)
                    ));
                }
            }
            "bad" | "error" => problems.push(format!("worker reported {l:?}")),
            _ => {}
        }
    }
    let alice = user(ALICE);

    // Replaced event periods: the last acknowledged replacement of every event, nothing else.
    let table = store
        .freebusy(&alice, &Table::FreeBusy)
        .await
        .unwrap()
        .value;
    identities_once(&table, "alice's freebusy", &mut problems);
    let mut last: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for l in all.iter().filter(|l| l.status == "ack" && l.op == "period") {
        last.insert(l.field(0), (l.field(1), l.field(2).parse().unwrap()));
    }
    let mut found: BTreeMap<&str, Vec<&Period>> = BTreeMap::new();
    for p in &table {
        found.entry(p.uid.as_str()).or_default().push(p);
    }
    for (event, (tag, n)) in &last {
        let got = found.remove(event).unwrap_or_default();
        if got.len() != *n || got.iter().any(|p| p.summary.as_deref() != Some(tag)) {
            problems.push(format!(
                "event {event}: acknowledged {n} periods tagged {tag}, found {:?}",
                got.iter()
                    .map(|p| (p.to_string(), p.summary.clone()))
                    .collect::<Vec<_>>()
            ));
        }
    }
    if !found.is_empty() {
        problems.push(format!(
            "periods of events never acknowledged: {:?}",
            found.keys()
        ));
    }

    // The queue: each worker's own requests as its acknowledgements say, in their order; shared
    // requests once, "added" told to exactly one worker.
    let queue = store.requests(&alice).await.unwrap();
    let mut entries = BTreeSet::new();
    for r in &queue {
        if !entries.insert((r.uid.clone(), r.rid.clone(), r.method)) {
            problems.push(format!("request {} {:?} is queued twice", r.uid, r.method));
        }
    }
    for (w, lines) in run.workers.iter().enumerate() {
        let mut model: Vec<(String, &str)> = Vec::new();
        for l in lines.iter().filter(|l| l.status == "ack") {
            match l.op.as_str() {
                "queue" => {
                    let (event, method, added) = (l.field(0), l.field(1), l.field(2) == "true");
                    let expected = !model.iter().any(|(u, m)| u == event && *m == method);
                    if added != expected {
                        problems.push(format!("worker {w}: queue {event} {method} said added={added}, expected {expected}"));
                    }
                    if expected {
                        model.push((event.to_owned(), method));
                    }
                }
                "dequeue" => {
                    let (event, removed) = (l.field(0), l.field(1) == "true");
                    let expected = model.iter().any(|(u, _)| u == event);
                    if removed != expected {
                        problems.push(format!("worker {w}: dequeue {event} said removed={removed}, expected {expected}"));
                    }
                    model.retain(|(u, _)| u != event);
                }
                _ => {}
            }
        }
        let prefix = format!("w{w}-q");
        let actual: Vec<(String, &str)> = queue
            .iter()
            .filter(|r| r.uid.as_str().starts_with(&prefix))
            .map(|r| (r.uid.as_str().to_owned(), r.method.as_str()))
            .collect();
        if actual != model {
            problems.push(format!(
                "worker {w}: queue holds {actual:?}, acknowledged {model:?}"
            ));
        }
    }
    let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
    for l in all
        .iter()
        .filter(|l| l.status == "ack" && l.op == "shared-queue")
    {
        *shared.entry(l.field(0)).or_default() += usize::from(l.field(1) == "true");
    }
    for (event, added) in &shared {
        let n = queue
            .iter()
            .filter(|r| r.uid.as_str() == *event && r.method == QueueKind::Request)
            .count();
        if n != 1 || *added != 1 {
            problems.push(format!(
                "shared request {event}: {n} entries, {added} workers told \"added\""
            ));
        }
    }

    // Reservations: exactly the acknowledged bookings, never beyond capacity, and every refusal
    // collides with bookings that fill the capacity.
    for (op, owner, capacity) in [("reserve", ROOM, 1usize), ("desk", DESKS, 2)] {
        let booked = store
            .freebusy(&user(owner), &Table::FreeBusy)
            .await
            .unwrap()
            .value;
        identities_once(&booked, owner, &mut problems);
        let make = |event: &str, slot: &str| {
            let s: u64 = slot.parse().unwrap();
            if op == "desk" {
                desk_slot(event, s)
            } else {
                room_slot(event, s)
            }
        };
        let acked: BTreeSet<&str> = all
            .iter()
            .filter(|l| l.status == "ack" && l.op == op)
            .map(|l| l.field(0))
            .collect();
        let present: BTreeSet<&str> = booked.iter().map(|p| p.uid.as_str()).collect();
        if acked != present {
            problems.push(format!(
                "{owner}: acknowledged but missing {:?}; present but never acknowledged {:?}",
                acked.difference(&present).collect::<Vec<_>>(),
                present.difference(&acked).collect::<Vec<_>>()
            ));
        }
        for l in all.iter().filter(|l| l.status == "ack" && l.op == op) {
            let want = make(l.field(0), l.field(1));
            if !booked.iter().any(|p| p.same_details(&want)) {
                problems.push(format!("{owner}: booking {} is not {want}", l.field(0)));
            }
        }
        if let (Some(first), Some(last)) = (booked.first(), booked.iter().map(|p| p.end).max()) {
            let most = max_overlap(&booked, first.start, last);
            if most > capacity {
                problems.push(format!(
                    "{owner}: {most} bookings at once, capacity {capacity}"
                ));
            }
        }
        let mut refused = 0;
        for l in all.iter().filter(|l| l.status == "refused" && l.op == op) {
            refused += 1;
            let want = make(l.field(1), l.field(2));
            if max_overlap(&booked, want.start, want.end) < capacity {
                problems.push(format!(
                    "{owner}: {} was refused though {want} still fits",
                    l.field(1)
                ));
            }
        }
        let attempts = all
            .iter()
            .filter(|l| (l.status == "ack" || l.status == "refused") && l.op == op)
            .count();
        if op == "reserve" {
            (f.room_attempts, f.room_refused) = (attempts, refused);
        } else {
            (f.desk_attempts, f.desk_refused) = (attempts, refused);
        }
    }

    // The quota: within the limit, exactly the acknowledged reservations, and every refusal
    // would have gone over (usage only grows, so the final total is a lower bound of what it
    // was measured against).
    let usage = journal
        .usage(&quota(QUOTA), &UsageTable::Journal(group(TEAM)))
        .await
        .unwrap()
        .value;
    identities_once(&usage, "the team's usage", &mut problems);
    let limit = TEAM_LIMIT_HOURS * 60;
    let total: i64 = usage.iter().map(|p| (p.end - p.start).num_minutes()).sum();
    f.quota_minutes = total;
    if total > limit {
        problems.push(format!(
            "quota exceeded: {total} minutes used, limit {limit}"
        ));
    }
    let acked: BTreeSet<&str> = all
        .iter()
        .filter(|l| l.status == "ack" && l.op == "quota")
        .map(|l| l.field(0))
        .collect();
    let present: BTreeSet<&str> = usage.iter().map(|p| p.uid.as_str()).collect();
    if acked != present {
        problems.push(format!(
            "quota: acknowledged {acked:?}, present {present:?}"
        ));
    }
    f.quota_acked = acked.len();
    for l in all
        .iter()
        .filter(|l| l.status == "refused" && l.op == "quota")
    {
        f.quota_refused += 1;
        let minutes: i64 = l.field(2).parse().unwrap();
        if total + minutes <= limit {
            problems.push(format!(
                "quota: {} ({minutes} min) was refused but fits ({total} of {limit} used)",
                l.field(1)
            ));
        }
    }

    // Versioned read-modify-write: nothing acknowledged is lost.
    let cas = store
        .freebusy(&alice, &Table::Other(other(SHARED_OTHER)))
        .await
        .unwrap()
        .value;
    identities_once(&cas, "the shared table", &mut problems);
    let acked: BTreeSet<&str> = all
        .iter()
        .filter(|l| l.status == "ack" && l.op == "cas")
        .map(|l| l.field(0))
        .collect();
    let present: BTreeSet<&str> = cas.iter().map(|p| p.uid.as_str()).collect();
    if acked != present {
        problems.push(format!(
            "versioned writes lost {:?}, invented {:?}",
            acked.difference(&present).collect::<Vec<_>>(),
            present.difference(&acked).collect::<Vec<_>>()
        ));
    }
    f.cas_retries = all
        .iter()
        .filter(|l| l.status == "ack" && l.op == "cas")
        .map(|l| l.field(1).parse::<usize>().unwrap())
        .sum();
    f.stale_checks = all
        .iter()
        .filter(|l| l.status == "ack" && l.op == "stale")
        .count();
    (f, problems)
}

fn contention(place: &Place) {
    let workers = env_number("CALSTORE_TORTURE_WORKERS", 4).max(2);
    let ops = env_number("CALSTORE_TORTURE_OPS", 300);
    let run = run_workers(place, workers, ops, 20_260_105);
    let rt = runtime();
    let opened = rt.block_on(place.open(Duration::from_secs(10)));
    let (f, problems) = with_opened!(&opened, s, j => rt.block_on(verify(s, j, &run)));
    let check = place.calstore(&["check"]);
    figures(&format!(
        "contention {}: {workers} processes x {ops} ops in {:.1} s: {} acknowledged, {} refused \
         (all busy); room {} attempts, {} collided; desks {} attempts, {} refused; quota {} \
         granted ({} min of {}), {} refused; {} versioned retries; {} stale-version checks; \
         losses found: {}",
        place.name(),
        run.elapsed.as_secs_f64(),
        f.acked,
        f.refused,
        f.room_attempts,
        f.room_refused,
        f.desk_attempts,
        f.desk_refused,
        f.quota_acked,
        f.quota_minutes,
        TEAM_LIMIT_HOURS * 60,
        f.quota_refused,
        f.cas_retries,
        f.stale_checks,
        problems.len()
    ));
    assert!(
        problems.is_empty(),
        "{} problems after contention on the {} store:\n{}",
        problems.len(),
        place.name(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        check.status.success(),
        "calstore check failed after contention: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The runs really collided, or they proved nothing.
    assert!(
        f.room_refused * 5 >= f.room_attempts && f.room_refused * 5 <= f.room_attempts * 4,
        "room: {} of {} attempts collided; expected about half",
        f.room_refused,
        f.room_attempts
    );
    assert!(
        f.quota_refused > 0 && f.quota_acked > 0,
        "the quota was never reached"
    );
    assert!(f.stale_checks > 0, "no stale-version check ran");
}

#[test]
fn file_store_loses_nothing_under_contention() {
    contention(&Place::file());
}

#[test]
fn postgres_store_loses_nothing_under_contention() {
    let Some(place) = Place::postgres("contention (postgres)") else {
        return;
    };
    contention(&place);
}
