//! `agent`, booking part: a resource answering requests by its policy
//! (`calstore::agent::resource::book`: expand, read what holds the room's time, decide per
//! occurrence, write the room's copy and rows in one step with the capacity check), for one-off
//! and recurring bookings (a weekly series of ten), against a baseline measured in the same run
//! on the same store: the plain agent step for the same events (`Store::store_incoming`, the
//! object, its periods and a queue entry, with the periods computed before the clock starts).
//! The ratio is what deciding a booking costs on top of storing it.
//!
//! The same bookings are measured again with the room under a quota whose limit never refuses
//! (`check_quota`: the journal's reservation within the limit, its usage, copy and providers
//! written with the booking — in one transaction with the room's step on PostgreSQL, where the
//! store and the journal share the database; behind the redo record in the file journal), as
//! a ratio against the same baseline: what the quota costs on top.

use std::time::{Duration, Instant};

use anyhow::Result;
use calstore::agent::resource::{self, Policy};
use calstore::journal::Limits;
use calstore::memory::MemoryJournal;
use calstore::object::EventObject;
use calstore::recurrence::{self, ExpandOptions};
use calstore::{Group, Incoming, Journal, QueueKind, Quota, Store, User};
use chrono::{DurationRound, Utc};
use serde_json::json;

use crate::env::Kind;
use crate::report::{Figure, Report};

const SCENARIO: &str = "agent";
const ROOM: &str = "mailto:room@bench.example";
const ORGANISER: &str = "mailto:organiser@bench.example";

/// Requests for distinct slots: one-offs an hour apart (08:00–18:00 each day), or weekly series
/// of ten, one per hour of the first week, so that every booking is accepted.
fn requests(n: usize, series: bool) -> Vec<String> {
    let day = Utc::now()
        .duration_trunc(chrono::Duration::days(1))
        .unwrap_or_else(|_| Utc::now())
        + chrono::Duration::days(1);
    (0..n)
        .map(|i| {
            let (d, h) = if series {
                // A series of ten weeks: its slots are hour h of day d of the week.
                ((i / 10) % 7, 8 + i % 10 + 10 * (i / 70))
            } else {
                (i / 10, 8 + i % 10)
            };
            let start = day + chrono::Duration::days(d as i64) + chrono::Duration::hours(h as i64);
            let rule = if series { "RRULE:FREQ=WEEKLY;COUNT=10\r\n" } else { "" };
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{}-{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n{rule}SUMMARY:booking\r\n\
ORGANIZER:{ORGANISER}\r\nATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                if series { "series" } else { "one" },
                calstore::period::format_instant(start),
                calstore::period::format_instant(start + chrono::Duration::minutes(50)),
            )
        })
        .collect()
}

async fn timed_bookings<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    policy: &Policy,
    room: &User,
    texts: &[String],
) -> Result<Duration> {
    let started = Instant::now();
    for t in texts {
        let d = resource::book(store, journal, room, t, policy).await?;
        anyhow::ensure!(
            d.items
                .iter()
                .all(|i| i.action == calstore::agent::Action::Accepted),
            "a benchmark booking was not accepted: {d}"
        );
    }
    Ok(started.elapsed())
}

async fn timed_steps<S: Store>(store: &S, user: &User, texts: &[String]) -> Result<Duration> {
    let opts = ExpandOptions {
        tz: chrono_tz::Tz::UTC,
        window_end: Utc::now() + chrono::Duration::days(100),
        needs_action: true,
    };
    let mut ready = Vec::with_capacity(texts.len());
    for t in texts {
        let object = EventObject::parse(t)?;
        let periods = recurrence::expand(user, Some(&object), &[], &opts)?.periods;
        ready.push(Incoming {
            uid: object.uid().clone(),
            rid: None,
            text: object.text().to_owned(),
            periods,
            method: QueueKind::Request,
        });
    }
    let started = Instant::now();
    for i in &ready {
        store.store_incoming(user, i).await?;
    }
    Ok(started.elapsed())
}

/// Measures one-off and recurring bookings, without a quota and under one kept in `journal`,
/// against the plain agent step, alternating the three in two halves so that all see the same
/// machine.
///
/// # Errors
///
/// The store's and journal's errors; a booking that is not accepted.
pub async fn run<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    kind: Kind,
    n: usize,
    report: &mut Report,
) -> Result<()> {
    let b = kind.name();
    // A limit no run reaches (at most 100 one-offs and 100 series of ten, 50 minutes each).
    let quota = Quota::new("bench-rooms")?;
    let limits: Limits = [(Group::new("*")?, "P1000D".to_owned())].into();
    journal.set_limits(&quota, &limits, None).await?;
    let free = (MemoryJournal::new(), Policy::default());
    let charged = Policy {
        quota: Some(quota),
        ..Policy::default()
    };
    for series in [false, true] {
        let texts = requests(n, series);
        let what = if series { "series" } else { "one_off" };
        let room = User::new(format!("mailto:room-{what}@bench.example"))?;
        let quota_room = User::new(format!("mailto:quota-room-{what}@bench.example"))?;
        let plain = User::new(format!("mailto:plain-{what}@bench.example"))?;
        let (first, second) = texts.split_at(texts.len() / 2);
        let mut booked = timed_bookings(store, &free.0, &free.1, &room, first).await?;
        let mut quoted = timed_bookings(store, journal, &charged, &quota_room, first).await?;
        let mut stepped = timed_steps(store, &plain, first).await?;
        stepped += timed_steps(store, &plain, second).await?;
        quoted += timed_bookings(store, journal, &charged, &quota_room, second).await?;
        booked += timed_bookings(store, &free.0, &free.1, &room, second).await?;
        let baseline = texts.len() as f64 / stepped.as_secs_f64();
        let why = "the plain agent step (store_incoming) for the same events, same store, same run";
        for (name, took) in [
            (format!("bookings_{what}"), booked),
            (format!("bookings_{what}_quota"), quoted),
        ] {
            report.add(
                Figure::new(
                    SCENARIO,
                    b,
                    &name,
                    texts.len() as f64 / took.as_secs_f64(),
                    "bookings/s",
                )
                .baseline(baseline, why),
            );
        }
    }
    report.note(
        SCENARIO,
        b,
        &format!(
            "{n} bookings per kind (one-off; weekly series of ten), capacity one, without a quota \
             and under one that never refuses (`_quota`)"
        ),
        json!({"bookings": n}),
    );
    Ok(())
}
