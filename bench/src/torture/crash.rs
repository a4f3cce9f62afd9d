//! The crash workload: one writer in a loop, killed with SIGKILL at a random moment by the parent.
//! Before each operation it prints `try OP KEY VALUE` and after it `ack OP KEY VALUE`, where VALUE
//! is the state KEY must have from then on; so after a kill each key holds its last acknowledged
//! value, or the value of the one operation that was under way.
//!
//! | op | key | value |
//! |---|---|---|
//! | `period` | `e<k>`: an event in alice's `freebusy` (beside 3,000 background periods) | `TAG/N`: N periods, all with summary TAG |
//! | `bulk` | `bulk`: the whole `freebusy-other/mailto:bulk@…` table | `TAG/1500` |
//! | `queue` | `q<k>`: a request in alice's queue (beside 300 background entries) | `present` or `absent` |
//! | `object` | `o<k>`: an object of alice (put, cancel, uncancel, remove) | `TAG/active`, `TAG/cancelled` or `none` |
//! | `pref` | `p<k>`: one of alice's preferences | TAG |
//! | `usage` | `j<k>`: an event in the crash group's usage (beside 1,000 background periods) | `TAG/N` |

use std::time::{Duration, Instant};

use calstore::object::EventObject;
use calstore::{EventStatus, Journal, PrefName, QueueKind, Store, Table, UsageTable};

use crate::names::*;
use crate::report::Reporter;
use crate::rng::Rng;

/// What one run does.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The run's number (part of every tag, so each write is distinguishable).
    pub run: u64,
    /// The random seed.
    pub seed: u64,
    /// How many operations (0: until killed or `max_time`).
    pub ops: u64,
    /// Stop after this long in any case.
    pub max_time: Duration,
}

/// Writes the background data the crash workload's writes must carry along.
///
/// # Errors
///
/// The store's and journal's errors.
pub async fn setup<S: Store, J: Journal>(store: &S, journal: &J) -> calstore::Result<()> {
    let alice = user(ALICE);
    let bg: Vec<_> = (0..BG_PERIODS).map(bg_period).collect();
    store
        .set_freebusy(&alice, &Table::FreeBusy, bg, None)
        .await?;
    let requests: Vec<_> = (0..BG_REQUESTS)
        .map(|i| calstore::Request {
            uid: uid(&format!("bg-{i}")),
            rid: None,
            method: QueueKind::Request,
        })
        .collect();
    store.set_requests(&alice, &requests).await?;
    // A preference, an object and a counter-proposal outside the keys the crash workload changes.
    store
        .set_preference(&alice, &PrefName::new("note")?, Some("background"))
        .await?;
    store
        .put_event(&alice, &uid("e0"), None, &event_text("e0", "background"))
        .await?;
    store
        .put_counter(
            &alice,
            &other("mailto:bob@example.com"),
            &uid("e0"),
            None,
            &event_text("e0", "proposal"),
        )
        .await?;
    journal
        .put_event(
            &quota(QUOTA),
            &uid("e0"),
            None,
            &event_text("e0", "reservation"),
        )
        .await?;
    let usage: Vec<_> = (0..BG_USAGE)
        .map(|i| {
            let mut p = bg_period(i);
            p.attendee = Some(ROOM.to_owned());
            p
        })
        .collect();
    journal
        .set_usage(
            &quota(QUOTA),
            &UsageTable::Journal(group(CRASH_GROUP)),
            usage,
            None,
        )
        .await?;
    Ok(())
}

const OPS: [(&str, u64); 6] = [
    ("period", 30),
    ("bulk", 10),
    ("queue", 20),
    ("object", 20),
    ("pref", 10),
    ("usage", 10),
];

/// Runs the workload.
pub async fn run<S: Store, J: Journal>(store: &S, journal: &J, p: &Params, out: &mut Reporter) {
    let mut rng = Rng::new(p.seed, p.run);
    let weights: Vec<u64> = OPS.iter().map(|(_, w)| *w).collect();
    let started = Instant::now();
    let mut seq = 0u64;
    while (p.ops == 0 || seq < p.ops) && started.elapsed() < p.max_time {
        let op = OPS[rng.weighted(&weights)].0;
        let tag = format!("r{}o{seq}", p.run);
        let result = match op {
            "period" => replace_periods(store, &tag, &mut rng, out).await,
            "bulk" => bulk(store, &tag, out).await,
            "queue" => queue(store, &mut rng, out).await,
            "object" => object(store, &tag, &mut rng, out).await,
            "pref" => pref(store, &tag, &mut rng, out).await,
            _ => usage(journal, &tag, &mut rng, out).await,
        };
        if let Err(e) = result {
            out.error(op, &e);
        }
        seq += 1;
    }
}

async fn replace_periods<S: Store>(
    store: &S,
    tag: &str,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let key = format!("e{}", rng.index(CRASH_KEYS));
    let n = 1 + rng.index(3);
    let value = format!("{tag}/{n}");
    let periods = (0..n)
        .map(|i| tagged_period(&key, tag, i * 50 + rng.index(50)))
        .collect();
    out.attempt("period", &[&key, &value]);
    store
        .replace_event_periods(
            &user(ALICE),
            &Table::FreeBusy,
            &uid(&key),
            None,
            periods,
            None,
        )
        .await?;
    out.ack("period", &[&key, &value]);
    Ok(())
}

async fn bulk<S: Store>(store: &S, tag: &str, out: &mut Reporter) -> calstore::Result<()> {
    let value = format!("{tag}/{BULK_PERIODS}");
    let periods = (0..BULK_PERIODS)
        .map(|i| tagged_period("bulk", tag, i))
        .collect();
    out.attempt("bulk", &["bulk", &value]);
    store
        .set_freebusy(
            &user(ALICE),
            &Table::Other(other(BULK_OTHER)),
            periods,
            None,
        )
        .await?;
    out.ack("bulk", &["bulk", &value]);
    Ok(())
}

async fn queue<S: Store>(store: &S, rng: &mut Rng, out: &mut Reporter) -> calstore::Result<()> {
    let key = format!("q{}", rng.index(CRASH_KEYS * 2));
    let (alice, id) = (user(ALICE), uid(&key));
    if rng.below(2) == 0 {
        out.attempt("queue", &[&key, "present"]);
        let added = store
            .queue_request(&alice, &id, None, QueueKind::Request)
            .await?;
        out.ack("queue", &[&key, "present", &added.to_string()]);
    } else {
        out.attempt("queue", &[&key, "absent"]);
        let removed = store.dequeue_request(&alice, &id, None).await?;
        out.ack("queue", &[&key, "absent", &removed.to_string()]);
    }
    Ok(())
}

/// The state value of a stored object: `TAG/active`, `TAG/cancelled` or `none`.
fn object_value(stored: Option<&calstore::StoredEvent>) -> calstore::Result<String> {
    let Some(e) = stored else {
        return Ok("none".to_owned());
    };
    let parsed = EventObject::parse(&e.text)?;
    let status = match e.status {
        EventStatus::Active => "active",
        EventStatus::Cancelled => "cancelled",
    };
    Ok(format!("{}/{status}", parsed.summary().unwrap_or_default()))
}

async fn object<S: Store>(
    store: &S,
    tag: &str,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let key = format!("o{}", rng.index(CRASH_KEYS));
    let (alice, id) = (user(ALICE), uid(&key));
    let current = store.get_event(&alice, &id, None).await?;
    let old_tag = object_value(current.as_ref())?
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let status = current.map(|e| e.status);
    // put, cancel or uncancel, remove
    let choice = match status {
        None => 0,
        Some(_) => rng.weighted(&[2, 2, 1]),
    };
    match (choice, status) {
        (0, _) => {
            let value = format!("{tag}/active");
            out.attempt("object", &[&key, &value]);
            store
                .put_event(&alice, &id, None, &event_text(&key, tag))
                .await?;
            out.ack("object", &[&key, &value]);
        }
        (1, Some(EventStatus::Active)) => {
            let value = format!("{old_tag}/cancelled");
            out.attempt("object", &[&key, &value]);
            store.cancel_event(&alice, &id, None).await?;
            out.ack("object", &[&key, &value]);
        }
        (1, _) => {
            let value = format!("{old_tag}/active");
            out.attempt("object", &[&key, &value]);
            store.uncancel_event(&alice, &id, None).await?;
            out.ack("object", &[&key, &value]);
        }
        _ => {
            out.attempt("object", &[&key, "none"]);
            store.remove_event(&alice, &id, None).await?;
            out.ack("object", &[&key, "none"]);
        }
    }
    Ok(())
}

async fn pref<S: Store>(
    store: &S,
    tag: &str,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let key = format!("p{}", rng.index(CRASH_KEYS));
    let name = PrefName::new(key.clone())?;
    out.attempt("pref", &[&key, tag]);
    store.set_preference(&user(ALICE), &name, Some(tag)).await?;
    out.ack("pref", &[&key, tag]);
    Ok(())
}

async fn usage<J: Journal>(
    journal: &J,
    tag: &str,
    rng: &mut Rng,
    out: &mut Reporter,
) -> calstore::Result<()> {
    let key = format!("j{}", rng.index(CRASH_KEYS));
    let n = 1 + rng.index(3);
    let value = format!("{tag}/{n}");
    let periods = (0..n)
        .map(|i| {
            let mut p = tagged_period(&key, tag, i * 50 + rng.index(50));
            p.attendee = Some(ROOM.to_owned());
            p
        })
        .collect();
    out.attempt("usage", &[&key, &value]);
    journal
        .replace_usage_periods(
            &quota(QUOTA),
            &UsageTable::Journal(group(CRASH_GROUP)),
            &uid(&key),
            None,
            periods,
            None,
        )
        .await?;
    out.ack("usage", &[&key, &value]);
    Ok(())
}
