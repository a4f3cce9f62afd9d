//! The contention workload: several worker processes at once on the same users, tables, queue,
//! resources and quota. Each worker writes only keys of its own (`w<worker>-…`) where the final
//! state must follow from its own acknowledgements, and shares everything else:
//!
//! | op | what | the parent checks |
//! |---|---|---|
//! | `period` | replace the periods of one of its events in alice's `freebusy` | the table holds the last acknowledged periods of every event, each once |
//! | `queue`/`dequeue` | queue (REQUEST or COUNTER) or dequeue one of its requests | the queue agrees with the acknowledgements, in their order, no entry twice |
//! | `shared-queue` | queue a request every worker queues | one entry, and exactly one worker was told "added" |
//! | `reserve` | book the room (capacity 1) for a half-hour-grid slot | no two bookings overlap; every refusal is a conflict with a booking |
//! | `desk` | book the desks (capacity 2) for an hour | never three at once; every refusal is a conflict |
//! | `quota` | reserve 1 or 2 hours within the team's limit | the total stays within the limit; every refusal would have exceeded it |
//! | `cas` | read-modify-write of a shared table with the version read, retried on conflict | every acknowledged period is there |
//! | `stale` | write with a version made stale by its own write | conflict, and nothing changed |

use calstore::{Error, ErrorKind, Journal, QueueKind, Store, Table, UsageTable, Version};
use chrono::Duration;

use crate::names::*;
use crate::report::Reporter;
use crate::rng::Rng;

/// What one worker does.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// This worker's number (its keys are `w<worker>-…`).
    pub worker: u64,
    /// The random seed.
    pub seed: u64,
    /// How many operations.
    pub ops: u64,
    /// How many room slots the reservations choose from.
    pub room_slots: u64,
    /// How many desk hours the reservations choose from.
    pub desk_slots: u64,
}

const OPS: [(&str, u64); 8] = [
    ("period", 20),
    ("queue", 15),
    ("shared-queue", 10),
    ("reserve", 20),
    ("desk", 10),
    ("quota", 10),
    ("cas", 10),
    ("stale", 5),
];

/// Sets the team's limit (run once before the workers).
///
/// # Errors
///
/// The journal's errors.
pub async fn setup<J: Journal>(journal: &J) -> calstore::Result<()> {
    let limits = [(group(TEAM), format!("PT{TEAM_LIMIT_HOURS}H"))].into();
    journal.set_limits(&quota(QUOTA), &limits, None).await?;
    Ok(())
}

/// Runs the workload.
pub async fn run<S: Store, J: Journal>(store: &S, journal: &J, p: &Params, out: &mut Reporter) {
    let mut rng = Rng::new(p.seed, p.worker);
    let weights: Vec<u64> = OPS.iter().map(|(_, w)| *w).collect();
    for seq in 0..p.ops {
        let op = OPS[rng.weighted(&weights)].0;
        let result = match op {
            "period" => replace_periods(store, p, seq, &mut rng, out).await,
            "queue" => queue(store, p, &mut rng, out).await,
            "shared-queue" => shared_queue(store, &mut rng, out).await,
            "reserve" => reserve(store, p, seq, &mut rng, false, out).await,
            "desk" => reserve(store, p, seq, &mut rng, true, out).await,
            "quota" => within_limit(journal, p, seq, &mut rng, out).await,
            "cas" => cas(store, p, seq, &mut rng, out).await,
            _ => stale(store, journal, p, seq, out).await,
        };
        if let Err(e) = result {
            out.error(op, &e);
        }
    }
}

async fn replace_periods<S: Store>(
    store: &S,
    p: &Params,
    seq: u64,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let k = rng.below(6);
    let event = format!("w{}-e{k}", p.worker);
    let tag = format!("w{}-{seq}", p.worker);
    let n = 1 + rng.index(3);
    let periods = (0..n)
        .map(|i| tagged_period(&event, &tag, i * 700 + rng.index(700)))
        .collect();
    store
        .replace_event_periods(
            &user(ALICE),
            &Table::FreeBusy,
            &uid(&event),
            None,
            periods,
            None,
        )
        .await?;
    out.ack("period", &[&event, &tag, &n.to_string()]);
    Ok(())
}

async fn queue<S: Store>(
    store: &S,
    p: &Params,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let event = format!("w{}-q{}", p.worker, rng.below(5));
    let (alice, id) = (user(ALICE), uid(&event));
    match rng.weighted(&[2, 1, 2]) {
        2 => {
            let removed = store.dequeue_request(&alice, &id, None).await?;
            out.ack("dequeue", &[&event, &removed.to_string()]);
        }
        m => {
            let method = if m == 0 {
                QueueKind::Request
            } else {
                QueueKind::Counter
            };
            let added = store.queue_request(&alice, &id, None, method).await?;
            out.ack("queue", &[&event, method.as_str(), &added.to_string()]);
        }
    }
    Ok(())
}

async fn shared_queue<S: Store>(
    store: &S,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let event = format!("shared-q{}", rng.below(20));
    let added = store
        .queue_request(&user(ALICE), &uid(&event), None, QueueKind::Request)
        .await?;
    out.ack("shared-queue", &[&event, &added.to_string()]);
    Ok(())
}

async fn reserve<S: Store>(
    store: &S,
    p: &Params,
    seq: u64,
    rng: &mut Rng,
    desks: bool,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let (op, owner, capacity) = if desks {
        ("desk", DESKS, 2)
    } else {
        ("reserve", ROOM, 1)
    };
    let event = format!("w{}-r{seq}", p.worker);
    let (slot, period) = if desks {
        let s = rng.below(p.desk_slots);
        (s, desk_slot(&event, s))
    } else {
        let s = rng.below(p.room_slots);
        (s, room_slot(&event, s))
    };
    let slot = slot.to_string();
    match store
        .reserve(&user(owner), &Table::FreeBusy, vec![period], capacity, None)
        .await
    {
        Ok(_) => out.ack(op, &[&event, &slot]),
        Err(e) => out.refused(op, &e, &[&event, &slot]),
    }
    Ok(())
}

async fn within_limit<J: Journal>(
    journal: &J,
    p: &Params,
    seq: u64,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let event = format!("w{}-x{seq}", p.worker);
    let minutes = 60 * (1 + rng.below(2));
    let start = base() + Duration::hours(i64::try_from(rng.below(500)).unwrap_or(0));
    let mut period = period(&event, start, i64::try_from(minutes).unwrap_or(60), &event);
    period.attendee = Some(ROOM.to_owned());
    let minutes = minutes.to_string();
    match journal
        .reserve_within_limit(&quota(QUOTA), &group(TEAM), vec![period])
        .await
    {
        Ok(_) => out.ack("quota", &[&event, &minutes]),
        Err(e) => out.refused("quota", &e, &[&event, &minutes]),
    }
    Ok(())
}

async fn cas<S: Store>(
    store: &S,
    p: &Params,
    seq: u64,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let (alice, table) = (user(ALICE), Table::Other(other(SHARED_OTHER)));
    let event = format!("w{}-c{seq}", p.worker);
    let start = base() + Duration::minutes(i64::try_from(rng.below(100_000)).unwrap_or(0));
    let mine = period(&event, start, 30, &event);
    let mut retries = 0u32;
    loop {
        let current = store.freebusy(&alice, &table).await?;
        let mut rows = current.value;
        calstore::period::merge(&mut rows, vec![mine.clone()]);
        match store
            .set_freebusy(&alice, &table, rows, Some(current.version))
            .await
        {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Stale && retries < 10_000 => retries += 1,
            Err(e) => return Err(e),
        }
    }
    out.ack("cas", &[&event, &retries.to_string()]);
    Ok(())
}

/// Writes with a version that the worker's own write just made stale: every such write must fail
/// with a conflict and change nothing; a write with the current version then succeeds.
async fn stale<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    p: &Params,
    seq: u64,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let alice = user(ALICE);
    let table = Table::Other(other(&format!("mailto:w{}@example.com", p.worker)));
    let event = uid("stale");
    let tag = format!("w{}-{seq}", p.worker);
    let old = store.freebusy(&alice, &table).await?.version;
    let fresh = vec![tagged_period("stale", &tag, 0)];
    let now = store
        .replace_event_periods(&alice, &table, &event, None, fresh.clone(), None)
        .await?;
    let late = vec![tagged_period("stale", "late", 1)];
    let attempts: [(&str, calstore::Result<Version>); 3] = [
        (
            "set_freebusy",
            store
                .set_freebusy(&alice, &table, late.clone(), Some(old))
                .await,
        ),
        (
            "replace_event_periods",
            store
                .replace_event_periods(&alice, &table, &event, None, late.clone(), Some(old))
                .await,
        ),
        (
            "reserve",
            store
                .reserve(&alice, &table, late.clone(), 1, Some(old))
                .await,
        ),
    ];
    let mut problems = Vec::new();
    for (name, r) in attempts {
        if !matches!(&r, Err(e) if e.kind() == ErrorKind::Stale) {
            problems.push(format!("{name} with a stale version gave {}", outcome(&r)));
        }
    }
    let after = store.freebusy(&alice, &table).await?;
    if after.version != now || !same(&after.value, &fresh) {
        problems.push("a refused stale write changed the table".to_owned());
    }
    // The journal's versioned files too: the limits of the worker's own quota.
    let q = quota(&format!("mailto:w{}-quota@example.com", p.worker));
    let limits_old = journal.limits(&q).await?.version;
    let limits = [(group("*"), format!("PT{}M", seq + 1))].into();
    journal.set_limits(&q, &limits, None).await?;
    let r = journal
        .set_limits(&q, &Default::default(), Some(limits_old))
        .await;
    if !matches!(&r, Err(e) if e.kind() == ErrorKind::Stale) {
        problems.push(format!(
            "set_limits with a stale version gave {}",
            outcome(&r)
        ));
    }
    let usage = UsageTable::User(alice.clone());
    let usage_old = journal.usage(&q, &usage).await?.version;
    journal
        .replace_usage_periods(&q, &usage, &event, None, fresh.clone(), None)
        .await?;
    let r = journal
        .replace_usage_periods(&q, &usage, &event, None, late, Some(usage_old))
        .await;
    if !matches!(&r, Err(e) if e.kind() == ErrorKind::Stale) {
        problems.push(format!(
            "replace_usage_periods with a stale version gave {}",
            outcome(&r)
        ));
    }
    // The current version is accepted.
    if let Err(e) = store.set_freebusy(&alice, &table, fresh, Some(now)).await {
        problems.push(format!("a write with the current version failed: {e}"));
    }
    if problems.is_empty() {
        out.ack("stale", &[&tag]);
    } else {
        out.bad("stale", &problems.join("; "));
    }
    Ok(())
}

fn outcome<T>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "success".to_owned(),
        Err(e) => format!("{} ({e})", e.kind()),
    }
}

fn same(a: &[calstore::Period], b: &[calstore::Period]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_details(y))
}
