//! The agent's steps (`crate::agent`): each checked on every table it touches, and on the
//! tables it must leave alone.

use crate::refresh::{self, Overrides};
use crate::{
    agent, ErrorKind, EventStatus, Group, Incoming, Journal, Limits, PrefName, QueueKind, Quota,
    Store, Table, UsageTable,
};
use chrono::{DateTime, Duration, DurationRound, Utc};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const ROOM: &str = "mailto:room@example.com";

fn stamp(t: DateTime<Utc>) -> String {
    crate::period::format_instant(t)
}

/// Tomorrow 09:00 UTC: every occurrence the steps expand lies in the future.
fn base() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap() + Duration::days(1) + Duration::hours(9)
}

/// One message: `METHOD` and one VEVENT per (rid, start) in `parts` (rid `None` is the parent).
fn message(
    method: &str,
    uid: &str,
    parts: &[(Option<DateTime<Utc>>, DateTime<Utc>)],
    rrule: Option<&str>,
    attendees: &[(&str, &str)],
) -> String {
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//agent tests//EN\r\nMETHOD:{method}\r\n"
    );
    for (rid, start) in parts {
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n",
            stamp(*start),
            stamp(*start + Duration::hours(1))
        ));
        match rid {
            Some(r) => out.push_str(&format!("RECURRENCE-ID:{}\r\n", stamp(*r))),
            None => {
                if let Some(rule) = rrule {
                    out.push_str(&format!("RRULE:{rule}\r\n"));
                }
            }
        }
        out.push_str(&format!("SUMMARY:{uid}\r\nORGANIZER:{ALICE}\r\n"));
        for (who, partstat) in attendees {
            out.push_str(&format!("ATTENDEE;PARTSTAT={partstat}:{who}\r\n"));
        }
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

async fn set_window<S: Store>(s: &S, u: &crate::User, days: &str) {
    s.set_preference(u, &PrefName::new("window_size").unwrap(), Some(days))
        .await
        .unwrap();
}

async fn providers<S: Store>(s: &S, u: &crate::User) -> Vec<String> {
    let p = s.providers(u).await.unwrap().value;
    p.events
        .iter()
        .map(|(u, _)| u.as_str().to_owned())
        .collect()
}

async fn queue<S: Store>(s: &S, u: &crate::User) -> Vec<String> {
    s.requests(u)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.uid,
                crate::id::rid_text(r.rid.as_ref()),
                r.method.as_str()
            )
        })
        .collect()
}

/// Record an event without end: object, periods in the window, provider, queue entry gone; an
/// instance moves one occurrence; a version with COUNT is no provider any more.
pub async fn record_event_stores_periods_and_marks_providers<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    set_window(s, &a, "30").await;
    let b = base();
    s.queue_request(&a, &uid("weekly"), None, QueueKind::Request)
        .await
        .unwrap();
    let text = message("REQUEST", "weekly", &[(None, b)], Some("FREQ=WEEKLY"), &[]);
    let step = agent::record_event(s, &a, &text).await.unwrap();
    let stored = s
        .get_event(&a, &uid("weekly"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, EventStatus::Active);
    assert!(stored.text.contains("RRULE:FREQ=WEEKLY"));
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    // Weekly within a 30-day window: 4 or 5 occurrences, all of the event, each one hour.
    assert!((4..=5).contains(&table.len()), "{:?}", keys(&table));
    assert!(table
        .iter()
        .all(|p| p.uid == uid("weekly") && p.end - p.start == Duration::hours(1)));
    assert_eq!(table[0].start, b);
    assert_eq!(providers(s, &a).await, ["weekly"]);
    assert!(
        queue(s, &a).await.is_empty(),
        "the answered request left the queue"
    );
    assert!(step
        .changes
        .iter()
        .any(|c| c.to_string().starts_with("dequeued")));

    // The second occurrence moves by two hours: its parent period goes, the instance's comes.
    let second = b + Duration::weeks(1);
    let moved = message(
        "REQUEST",
        "weekly",
        &[(Some(second), second + Duration::hours(2))],
        None,
        &[],
    );
    agent::record_event(s, &a, &moved).await.unwrap();
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert!(
        !table.iter().any(|p| p.start == second),
        "the replaced occurrence is gone"
    );
    let inst: Vec<_> = table.iter().filter(|p| p.rid.is_some()).collect();
    assert_eq!(inst.len(), 1);
    assert_eq!(inst[0].start, second + Duration::hours(2));
    assert_eq!(
        s.instances(&a, &uid("weekly")).await.unwrap().len(),
        1,
        "the instance is stored"
    );

    // With COUNT=2 the event ends: unmarked, and only what remains of it is busy.
    let ended = message(
        "REQUEST",
        "weekly",
        &[(None, b)],
        Some("FREQ=WEEKLY;COUNT=2"),
        &[],
    );
    agent::record_event(s, &a, &ended).await.unwrap();
    assert!(providers(s, &a).await.is_empty());
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert_eq!(table.len(), 2, "{:?}", keys(&table));
}

/// Bad input writes nothing, whichever step gets it.
pub async fn bad_messages_change_nothing<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let b = base();
    agent::record_event(s, &a, &message("REQUEST", "kept", &[(None, b)], None, &[]))
        .await
        .unwrap();
    let before = f.snapshot().await;
    let two_uids = format!(
        "{}{}",
        message("REQUEST", "x", &[(None, b)], None, &[]),
        message("REQUEST", "y", &[(None, b)], None, &[])
    );
    for bad in [
        two_uids.as_str(),
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        "not iCalendar",
    ] {
        assert_eq!(
            kind(agent::record_event(s, &a, bad).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(agent::queue_request(s, &a, bad).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(agent::cancel(s, &a, bad).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(agent::record_counter(s, &a, bad).await),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(f.snapshot().await, before, "a refused step leaves no trace");
}

/// Queue a request: object and queue entry; the user's own table and providers untouched.
pub async fn queue_request_leaves_the_own_table<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, bob) = (&f.store, user(BOB));
    let b = base();
    agent::record_event(
        s,
        &bob,
        &message("REQUEST", "mine", &[(None, b)], Some("FREQ=DAILY"), &[]),
    )
    .await
    .unwrap();
    let table = s.freebusy(&bob, &Table::FreeBusy).await.unwrap();
    let prov = s.providers(&bob).await.unwrap();
    let text = message(
        "REQUEST",
        "invite",
        &[(None, b + Duration::hours(3))],
        Some("FREQ=DAILY"),
        &[(BOB, "NEEDS-ACTION")],
    );
    agent::queue_request(s, &bob, &text).await.unwrap();
    let stored = s
        .get_event(&bob, &uid("invite"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, EventStatus::Active);
    assert_eq!(queue(s, &bob).await, ["invite  REQUEST"]);
    assert_eq!(s.freebusy(&bob, &Table::FreeBusy).await.unwrap(), table);
    assert_eq!(s.providers(&bob).await.unwrap(), prov);
    // Queued twice, one entry.
    agent::queue_request(s, &bob, &text).await.unwrap();
    assert_eq!(queue(s, &bob).await, ["invite  REQUEST"]);
    // Accepting it records it: now busy and extended, and out of the queue.
    let accepted = text.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED");
    agent::record_event(s, &bob, &accepted).await.unwrap();
    assert!(queue(s, &bob).await.is_empty());
    assert_eq!(providers(s, &bob).await, ["invite", "mine"]);
    let busy = s.freebusy(&bob, &Table::FreeBusy).await.unwrap().value;
    assert!(busy.iter().any(|p| p.uid == uid("invite")));
}

/// Cancel: an instance removes its occurrence; the parent cancels everything, unmarks, dequeues.
pub async fn cancel_removes_periods_and_queue_entries<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    set_window(s, &a, "20").await;
    let b = base();
    let series = message("REQUEST", "daily", &[(None, b)], Some("FREQ=DAILY"), &[]);
    agent::record_event(s, &a, &series).await.unwrap();
    s.queue_request(&a, &uid("daily"), None, QueueKind::Request)
        .await
        .unwrap();
    let n = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value.len();
    let third = b + Duration::days(2);
    agent::cancel(
        s,
        &a,
        &message("CANCEL", "daily", &[(Some(third), third)], None, &[]),
    )
    .await
    .unwrap();
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert_eq!(table.len(), n - 1);
    assert!(!table.iter().any(|p| p.start == third));
    assert_eq!(
        s.instances(&a, &uid("daily")).await.unwrap(),
        [(
            crate::Rid::new(stamp(third)).unwrap(),
            EventStatus::Cancelled
        )]
    );
    assert_eq!(providers(s, &a).await, ["daily"]);

    agent::cancel(
        s,
        &a,
        &message("CANCEL", "daily", &[(None, b)], Some("FREQ=DAILY"), &[]),
    )
    .await
    .unwrap();
    let stored = s.get_event(&a, &uid("daily"), None).await.unwrap().unwrap();
    assert_eq!(stored.status, EventStatus::Cancelled);
    assert!(s
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
    assert!(providers(s, &a).await.is_empty());
    assert!(queue(s, &a).await.is_empty());
}

/// A reply fills the organiser's `freebusy-other` for that attendee; a decline empties it.
pub async fn reply_records_the_attendees_answer<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    set_window(s, &a, "10").await;
    let b = base();
    let series = message(
        "REQUEST",
        "sync",
        &[(None, b)],
        Some("FREQ=DAILY;COUNT=3"),
        &[(BOB, "NEEDS-ACTION")],
    );
    agent::record_event(s, &a, &series).await.unwrap();
    let own = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    let accept = message("REPLY", "sync", &[(None, b)], None, &[(BOB, "ACCEPTED")]);
    agent::record_reply(s, &a, &accept).await.unwrap();
    let bob_table = Table::Other(other(BOB));
    let theirs = s.freebusy(&a, &bob_table).await.unwrap().value;
    assert_eq!(
        keys(&theirs),
        keys(&own.value),
        "Bob is busy when the event is"
    );
    assert_eq!(s.others(&a).await.unwrap(), [other(BOB)]);
    assert_eq!(
        s.freebusy(&a, &Table::FreeBusy).await.unwrap(),
        own,
        "own table untouched"
    );
    let decline = accept.replace("ACCEPTED", "DECLINED");
    agent::record_reply(s, &a, &decline).await.unwrap();
    assert!(s.freebusy(&a, &bob_table).await.unwrap().value.is_empty());
    let nobody = message("REPLY", "sync", &[(None, b)], None, &[]);
    assert_eq!(
        kind(agent::record_reply(s, &a, &nobody).await),
        ErrorKind::InvalidInput
    );
}

/// A counter-proposal is stored, queued and held in offers; declining it undoes all three.
pub async fn counter_is_recorded_and_declined<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let b = base();
    agent::record_event(
        s,
        &a,
        &message(
            "REQUEST",
            "plan",
            &[(None, b)],
            None,
            &[(BOB, "NEEDS-ACTION")],
        ),
    )
    .await
    .unwrap();
    let own = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    let later = b + Duration::hours(4);
    let counter = message(
        "COUNTER",
        "plan",
        &[(None, later)],
        None,
        &[(BOB, "ACCEPTED")],
    );
    agent::record_counter(s, &a, &counter).await.unwrap();
    let kept = s
        .get_counter(&a, &other(BOB), &uid("plan"), None)
        .await
        .unwrap()
        .unwrap();
    assert!(kept.contains(&stamp(later)));
    assert_eq!(queue(s, &a).await, ["plan  COUNTER"]);
    let offers = s.freebusy(&a, &Table::Offers).await.unwrap().value;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].start, later);
    let expiry = offers[0].expiry.expect("an offer expires");
    assert!(expiry > Utc::now() + Duration::hours(23) && expiry <= Utc::now() + Duration::days(1));
    assert_eq!(s.freebusy(&a, &Table::FreeBusy).await.unwrap(), own);

    assert_eq!(
        kind(agent::decline_counter(s, &a, &uid("plan"), None, &other(ROOM)).await),
        ErrorKind::NotFound
    );
    agent::decline_counter(s, &a, &uid("plan"), None, &other(BOB))
        .await
        .unwrap();
    assert!(s.counters(&a).await.unwrap().is_empty());
    assert!(queue(s, &a).await.is_empty());
    assert!(s
        .freebusy(&a, &Table::Offers)
        .await
        .unwrap()
        .value
        .is_empty());
    assert_eq!(s.freebusy(&a, &Table::FreeBusy).await.unwrap(), own);
}

/// Booking a room: recorded in the room's table and the quota's; a double booking and a booking
/// over the quota are refused as busy and change nothing.
pub async fn booking_respects_the_slot_and_the_quota<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), "PT2H".to_owned())].into();
    j.set_limits(&q, &limits, None).await.unwrap();
    let b = base();
    let first = message(
        "REQUEST",
        "b1",
        &[(None, b)],
        None,
        &[(ROOM, "NEEDS-ACTION")],
    );
    s.queue_request(&room, &uid("b1"), None, QueueKind::Request)
        .await
        .unwrap();
    agent::book_resource(s, j, &q, &room, &first).await.unwrap();
    let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    assert_eq!(
        keys(&table),
        keys(&[period(
            &stamp(b),
            &stamp(b + Duration::hours(1)),
            "b1",
            None
        )])
    );
    assert!(s
        .get_event(&room, &uid("b1"), None)
        .await
        .unwrap()
        .is_some());
    assert!(queue(s, &room).await.is_empty());
    let alice_group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let used = j.usage(&q, &alice_group).await.unwrap().value;
    assert_eq!(keys(&used), keys(&table));
    assert_eq!(used[0].attendee.as_deref(), Some(ROOM));
    let by_user = j
        .usage(&q, &UsageTable::User(user(ALICE)))
        .await
        .unwrap()
        .value;
    assert_eq!(keys(&by_user), keys(&table));

    let before = f.snapshot().await;
    let clash = message(
        "REQUEST",
        "b2",
        &[(None, b + Duration::minutes(30))],
        None,
        &[],
    );
    assert_eq!(
        kind(agent::book_resource(s, j, &q, &room, &clash).await),
        ErrorKind::Busy
    );
    assert_eq!(
        f.snapshot().await,
        before,
        "a double booking changes nothing"
    );
    let long = message(
        "REQUEST",
        "b3",
        &[(None, b + Duration::hours(5))],
        Some("FREQ=DAILY;COUNT=2"),
        &[],
    );
    assert_eq!(
        kind(agent::book_resource(s, j, &q, &room, &long).await),
        ErrorKind::Busy
    );
    assert_eq!(
        f.snapshot().await,
        before,
        "a booking over the quota changes nothing"
    );
    // Within what is left it goes through.
    let fits = message(
        "REQUEST",
        "b4",
        &[(None, b + Duration::hours(5))],
        None,
        &[],
    );
    agent::book_resource(s, j, &q, &room, &fits).await.unwrap();
    assert_eq!(
        s.freebusy(&room, &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .len(),
        2
    );
}

/// An event without end recorded through a step is extended by the next cron run, and
/// `store_incoming` marks its providers too.
pub async fn recorded_events_without_end_are_extended<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    set_window(s, &a, "14").await;
    let b = base();
    agent::record_event(
        s,
        &a,
        &message("REQUEST", "open", &[(None, b)], Some("FREQ=WEEKLY"), &[]),
    )
    .await
    .unwrap();
    let before = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert!((2..=3).contains(&before.len()), "{:?}", keys(&before));
    // The cron job a month later (the window now ends 44 days out) adds the later weeks.
    let settings = refresh::settings(s, &a, &Overrides::default())
        .await
        .unwrap();
    let later = Utc::now() + Duration::days(30);
    refresh::regenerate(s, &a, &settings, later, false, false)
        .await
        .unwrap();
    let after = s.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert!(after.len() >= before.len() + 4, "{:?}", keys(&after));
    assert!(after
        .iter()
        .any(|p| p.start > Utc::now() + Duration::days(35)));

    // store_incoming with a rule without end marks the event too.
    let text = message("REQUEST", "inc", &[(None, b)], Some("FREQ=DAILY"), &[]);
    let incoming = Incoming {
        uid: uid("inc"),
        rid: None,
        text,
        periods: vec![period(
            &stamp(b),
            &stamp(b + Duration::hours(1)),
            "inc",
            None,
        )],
        method: QueueKind::Request,
    };
    s.store_incoming(&a, &incoming).await.unwrap();
    assert_eq!(providers(s, &a).await, ["inc", "open"]);
}
