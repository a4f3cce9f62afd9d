//! The joint write (issue 20, "one transaction"): where a store and a journal share a database
//! ([`crate::journal::apply_together`]), a store step and quota changes are one transaction —
//! a refusal of either part, before or after the other part ran, keeps nothing of both — and a
//! resource booking writes no redo record. Where they do not share one, the joint write answers
//! `None` and writes nothing, and bookings keep the two together with the redo record; the
//! booking cases check the same outcomes on both.

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::resource::{self, Policy};
use crate::agent::{self, Action, Reason};
use crate::id::{Group, Quota};
use crate::journal::joint::{is_journal_refusal, shares_database};
use crate::journal::{apply_together, Limits, UsageTable};
use crate::period::format_instant;
use crate::store::{Change, Step};
use crate::{ErrorKind, Journal, JournalChange, Period, Store, Table};

use super::fixture::Fixture;
use super::support::*;
use super::wrap::Probe;

const ROOM: &str = "mailto:joint-room@example.com";
const ALICE: &str = "mailto:alice@example.com";

/// Tomorrow at 09:00 UTC plus `hours`.
fn at(hours: i64) -> DateTime<Utc> {
    let day = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    day + Duration::days(1) + Duration::hours(9 + hours)
}

fn busy(u: &str, start: DateTime<Utc>, hours: i64) -> Period {
    let mut p = Period::new(start, start + Duration::hours(hours), uid(u), None).unwrap();
    p.attendee = Some(ROOM.to_owned());
    p
}

fn request(u: &str, start: DateTime<Utc>) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{u}\r\n\
ORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        format_instant(start),
        format_instant(start + Duration::hours(1)),
    )
}

/// A quota `rooms` whose every group may hold `limit`.
async fn quota<J: Journal>(j: &J, limit: &str) -> Quota {
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), limit.to_owned())].into();
    j.set_limits(&q, &limits, None).await.unwrap();
    q
}

/// A store step and quota changes: all or nothing. A quota over its limit, a change that fails
/// after the step ran (a period of another event; a stale version) and a capacity refusal of
/// the step each keep nothing of either part; a joint write that holds keeps both.
pub async fn joint_writes_are_all_or_nothing<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let q = quota(j, "PT1H").await;
    let group = Group::new(ALICE).unwrap();
    let step = |u: &str, hours: i64| -> Step {
        let p = busy(u, at(0), hours);
        let mut step = Step::from(Change::Reserve {
            table: Table::FreeBusy,
            periods: vec![p],
            capacity: 1,
        });
        step.push(Change::PutEvent {
            uid: uid(u),
            rid: None,
            text: event_text(u, None, "20990101T090000Z", "20990101T100000Z", u),
        });
        step
    };
    let reserve = |u: &str, hours: i64| JournalChange::ReserveWithinLimit {
        group: group.clone(),
        periods: vec![busy(u, at(0), hours)],
    };
    let put = |u: &str| JournalChange::PutEvent {
        uid: uid(u),
        rid: None,
        text: event_text(u, None, "20990101T090000Z", "20990101T100000Z", u),
    };
    if !shares_database(s, j, &room, &q).await.unwrap() {
        // Not one database: the joint write answers None and writes nothing.
        let before = f.snapshot().await;
        let none = apply_together(s, j, &room, &step("a", 1), &q, &[reserve("a", 1)])
            .await
            .unwrap();
        assert!(none.is_none());
        assert_eq!(f.snapshot().await, before);
        return;
    }
    let before = f.snapshot().await;
    let failing: Vec<(Vec<JournalChange>, ErrorKind)> = vec![
        // Over the quota's limit: two hours of one.
        (vec![put("a"), reserve("a", 2)], ErrorKind::Busy),
        // A period of another event, refused after the step and the object were written.
        (
            vec![
                put("a"),
                JournalChange::ReplaceUsagePeriods {
                    table: UsageTable::User(user(ALICE)),
                    uid: uid("a"),
                    rid: None,
                    periods: vec![busy("other", at(0), 1)],
                    expect: None,
                },
            ],
            ErrorKind::InvalidInput,
        ),
        // A stale version, found after the step ran.
        (
            vec![
                reserve("a", 1),
                JournalChange::SetUsage {
                    table: UsageTable::User(user(ALICE)),
                    periods: vec![busy("a", at(0), 1)],
                    expect: Some(crate::Version(41)),
                },
            ],
            ErrorKind::Stale,
        ),
        // A change a joint write does not apply.
        (
            vec![JournalChange::SetLimits {
                limits: Limits::new(),
                expect: None,
            }],
            ErrorKind::InvalidInput,
        ),
    ];
    for (changes, want) in failing {
        let e = apply_together(s, j, &room, &step("a", 1), &q, &changes)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), want, "{e}");
        assert!(is_journal_refusal(&e), "{e}");
        assert_eq!(f.snapshot().await, before, "{e}: something was kept");
    }
    // The step refuses (the slot is taken): the journal's changes are not kept either.
    s.reserve(
        &room,
        &Table::FreeBusy,
        vec![busy("held", at(0), 1)],
        1,
        None,
    )
    .await
    .unwrap();
    let before = f.snapshot().await;
    let e = apply_together(s, j, &room, &step("a", 1), &q, &[put("a"), reserve("a", 1)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
    assert!(!is_journal_refusal(&e), "{e}");
    assert_eq!(f.snapshot().await, before);
    // Both hold: both kept.
    s.remove_event_periods(&room, &Table::FreeBusy, &uid("held"), None, None)
        .await
        .unwrap();
    let done = apply_together(s, j, &room, &step("a", 1), &q, &[put("a"), reserve("a", 1)])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.step.outcomes.len(), 2);
    assert_eq!(done.journal.len(), 2);
    assert!(s.get_event(&room, &uid("a"), None).await.unwrap().is_some());
    assert!(j.get_event(&q, &uid("a"), None).await.unwrap().is_some());
    let used = j
        .usage(&q, &UsageTable::Journal(group))
        .await
        .unwrap()
        .value;
    assert_eq!(keys(&used), keys(&[busy("a", at(0), 1)]));
}

/// Eight bookers at once under a quota of two hours, each for its own hour, then eight for one
/// slot: exactly two win the quota, exactly one the slot (three with capacity three); the journal's usage equals the
/// room's rows; where the two share a database no redo record is written (the journal is only
/// written through the joint write) and nothing is left for `recover`. A delivered CANCEL gives
/// the slot and the quota back together.
pub async fn concurrent_bookings_keep_store_and_quota_together<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j) = (Probe::new(f.store.clone()), Probe::new(f.journal.clone()));
    let room = user(ROOM);
    let q = quota(&j, "PT2H").await;
    let shared = shares_database(&s, &j, &room, &q).await.unwrap();
    j.take();
    let policy = Arc::new(Policy {
        quota: Some(q.clone()),
        ..Policy::default()
    });
    let mut accepted = 0;
    for (round, hour) in [(0, None), (1, Some(20))] {
        let mut tasks = Vec::new();
        for i in 0..8i64 {
            let (s, j, policy, room) = (s.clone(), j.clone(), policy.clone(), room.clone());
            let text = request(&format!("b{round}-{i}"), at(hour.unwrap_or(2 * i)));
            tasks.push(tokio::spawn(async move {
                resource::book(&s, &j, &room, &text, &policy).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            let d = t.await.unwrap().unwrap();
            match &d.items[0] {
                i if i.action == Action::Accepted => won += 1,
                i => assert!(
                    matches!(i.reason, Reason::OverQuota | Reason::Busy { .. }),
                    "{d}"
                ),
            }
        }
        // Round 0: the quota admits two hours; round 1: the quota is spent, nobody wins.
        assert_eq!(won, if round == 0 { 2 } else { 0 }, "round {round}");
        accepted += won;
    }
    let rows = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    assert_eq!(rows.len(), accepted);
    let used = j
        .usage(&q, &UsageTable::Journal(Group::new(ALICE).unwrap()))
        .await
        .unwrap()
        .value;
    let strip = |p: &Period| (p.uid.clone(), p.start, p.end);
    let mut a: Vec<_> = rows.iter().map(strip).collect();
    let mut b: Vec<_> = used.iter().map(strip).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    if shared {
        let tally = j.take();
        for write in ["put_event", "reserve_within_limit", "replace_usage_periods"] {
            assert!(
                !tally.contains_key(write),
                "{write} outside the joint write: {tally:?}"
            );
        }
        assert!(tally.contains_key("apply_with_step"), "{tally:?}");
    }
    assert_eq!(
        resource::recover(&s, &j, &q).await.unwrap(),
        resource::Recovered::default()
    );
    // One slot, quota raised: exactly one of eight wins with capacity one, three with three.
    let q = quota(&j, "PT10H").await;
    for (capacity, hour) in [(1usize, 40), (3, 44)] {
        let policy = Arc::new(Policy {
            capacity,
            ..(*policy).clone()
        });
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, j, policy, room) = (s.clone(), j.clone(), policy.clone(), room.clone());
            let text = request(&format!("slot{capacity}-{i}"), at(hour));
            tasks.push(tokio::spawn(async move {
                resource::book(&s, &j, &room, &text, &policy).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            if t.await.unwrap().unwrap().items[0].action == Action::Accepted {
                won += 1;
            }
        }
        assert_eq!(won, capacity);
        accepted += won;
    }
    let used = j
        .usage(&q, &UsageTable::Journal(Group::new(ALICE).unwrap()))
        .await
        .unwrap()
        .value;
    assert_eq!(used.len(), accepted);
    if shared {
        let tally = j.take();
        assert!(!tally.contains_key("put_event"), "{tally:?}");
    }
    // The organiser's CANCEL, delivered: the slot and the quota given back together (on a
    // shared database without the redo record, which is a journal `put_event`).
    s.set_preference(
        &room,
        &crate::PrefName::new("scheduling_function").unwrap(),
        Some("schedule_in_freebusy\ncheck_quota rooms"),
    )
    .await
    .unwrap();
    let gone = used[0].uid.clone();
    j.take();
    let d = agent::receive_with_journal(&s, &j, &room, cancel(gone.as_str()))
        .await
        .unwrap();
    assert!(d.items.iter().any(|i| i.action == Action::Cancelled), "{d}");
    let tally = j.take();
    if shared {
        assert!(!tally.contains_key("put_event"), "{tally:?}");
        assert!(tally.contains_key("apply_with_step"), "{tally:?}");
    }
    let used = j
        .usage(&q, &UsageTable::Journal(Group::new(ALICE).unwrap()))
        .await
        .unwrap()
        .value;
    assert_eq!(used.len(), accepted - 1);
    assert!(!used.iter().any(|p| p.uid == gone));
    assert!(j.get_event(&q, &gone, None).await.unwrap().is_none());
    assert!(!s
        .freebusy(&room, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .iter()
        .any(|p| p.uid == gone));
}

/// The journal's writes a probe counted outside [`Journal::apply_with_step`].
const JOURNAL_WRITES: [&str; 8] = [
    "set_usage",
    "replace_usage_periods",
    "reserve_within_limit",
    "expire",
    "set_providers",
    "put_event",
    "remove_event",
    "apply",
];

/// Asserts that a probed journal's `tally` holds a joint write and no journal write apart from
/// it (no redo record, no settlement after the store's step): what a resource write path does
/// where its store and the journal share a database.
pub(super) fn assert_only_joint_writes(tally: &super::wrap::Tally, what: &str) {
    let apart: Vec<&str> = JOURNAL_WRITES
        .into_iter()
        .filter(|w| tally.contains_key(w))
        .collect();
    assert!(
        apart.is_empty(),
        "{what}: {apart:?} outside the joint write: {tally:?}"
    );
    assert!(tally.contains_key("apply_with_step"), "{what}: {tally:?}");
}

fn cancel(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260102T000000Z\r\nSEQUENCE:1\r\nSTATUS:CANCELLED\r\nORGANIZER:{ALICE}\r\n\
ATTENDEE:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}
