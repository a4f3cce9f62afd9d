//! Resources that schedule themselves (issue 20): bookings that last through the cron job and a
//! full rebuild, series decided occurrence by occurrence, standing bookings checked far ahead,
//! quotas given back, and concurrent bookers of one slot.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::agent::resource::{self, Mode, Policy};
use crate::agent::{self, Action, Reason};
use crate::id::Group;
use crate::journal::UsageTable;
use crate::period::format_instant;
use crate::refresh::{self, Overrides, QuotaOptions};
use crate::{Journal, Store, Table};

use super::fixture::Fixture;
use super::support::*;

const ROOM: &str = "mailto:room@example.com";
const ALICE: &str = "mailto:alice@example.com";

/// A REQUEST from Alice naming the room as every client does (NEEDS-ACTION, RSVP).
fn request(u: &str, start: DateTime<Utc>, hours: i64, rrule: Option<&str>) -> String {
    let rule = rrule.map(|r| format!("RRULE:{r}\r\n")).unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\nDTSTART:{}\r\nDTEND:{}\r\n{rule}\
SUMMARY:{u}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        format_instant(start),
        format_instant(start + Duration::hours(hours)),
    )
}

fn cancel(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260102T000000Z\r\nSEQUENCE:1\r\nSTATUS:CANCELLED\r\nORGANIZER:{ALICE}\r\n\
ATTENDEE:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

async fn rows<S: Store>(s: &S, u: &str) -> Vec<crate::Period> {
    s.freebusy(&user(ROOM), &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|p| p.uid.as_str() == u)
        .collect()
}

async fn cron<S: Store>(s: &S, reset: bool) {
    let room = user(ROOM);
    let settings = refresh::settings(s, &room, &Overrides::default())
        .await
        .unwrap();
    let done = refresh::regenerate(s, &room, &settings, Utc::now(), reset, false)
        .await
        .unwrap();
    assert!(done.skipped.is_empty(), "{:?}", done.skipped);
}

/// Books `text` for the room under `policy`: the decision.
async fn book<S: Store, J: Journal>(s: &S, j: &J, text: &str, policy: &Policy) -> agent::Decision {
    resource::book(s, j, &user(ROOM), text, policy)
        .await
        .unwrap()
}

/// Delivers `message` to the room through the agent (`receive_with_journal`): the decision.
async fn receive<S: Store, J: Journal>(s: &S, j: &J, message: String) -> agent::Decision {
    agent::receive_with_journal(s, j, &user(ROOM), message)
        .await
        .unwrap()
}

fn actions(d: &agent::Decision) -> Vec<Action> {
    d.items.iter().map(|i| i.action).collect()
}

/// The nightly job kept nothing of a booking whose request named the room NEEDS-ACTION: the
/// room's copy now carries its own PARTSTAT=ACCEPTED, so the cron job (incremental and
/// `--reset`) keeps it, and the slot stays taken.
pub async fn bookings_survive_the_cron_job<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let b = tomorrow_at_nine();
    let policy = Policy::default();
    let d = book(s, j, &request("b1", b, 1, None), &policy).await;
    assert_eq!(actions(&d), [Action::Accepted]);
    let reply = d.reply.as_deref().unwrap();
    assert!(
        reply.contains("METHOD:REPLY") && reply.contains("PARTSTAT=ACCEPTED"),
        "{reply}"
    );
    let stored = s.get_event(&room, &uid("b1"), None).await.unwrap().unwrap();
    assert!(
        stored
            .text
            .contains("PARTSTAT=ACCEPTED:mailto:room@example.com"),
        "{}",
        stored.text
    );
    for reset in [false, true] {
        cron(s, reset).await;
        assert_eq!(
            rows(s, "b1").await.len(),
            1,
            "after the cron job (reset {reset})"
        );
        let again = book(s, j, &request(&format!("b2{reset}"), b, 1, None), &policy).await;
        assert_eq!(actions(&again), [Action::Declined]);
        assert_eq!(again.items[0].reason, Reason::Busy { uid: uid("b1") });
        assert!(rows(s, &format!("b2{reset}")).await.is_empty());
    }
    let audit = refresh::audit(s, &room, Utc::now()).await.unwrap();
    assert!(audit.findings.is_empty(), "{:?}", audit.findings);
}

/// `make-freebusy --reset` and a first run rebuilt the table from objects only: a reservation
/// made with `Store::reserve` (no object) vanished and its slot was booked again.
pub async fn reset_keeps_reservations_without_objects<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let b = tomorrow_at_nine();
    let held = crate::Period::new(b, b + Duration::hours(1), uid("held"), None).unwrap();
    s.reserve(&room, &Table::FreeBusy, vec![held], 1, None)
        .await
        .unwrap();
    // The first run (no window recorded) and `--reset` are both full rebuilds.
    cron(s, false).await;
    cron(s, true).await;
    assert_eq!(rows(s, "held").await.len(), 1);
    let d = book(s, j, &request("late", b, 1, None), &Policy::default()).await;
    assert_eq!(d.items[0].reason, Reason::Busy { uid: uid("held") });
}

/// A daily series of three with the middle day taken: in `automatic` the free days are accepted
/// and the busy one declined (an override in the REPLY and in the room's copy); in
/// `accept-if-free` the busy one is left for a person (NEEDS-ACTION, queued). The cron job keeps
/// exactly the accepted days.
pub async fn series_are_decided_per_occurrence<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let b = tomorrow_at_nine();
    let blocker = event_text(
        "blocker",
        None,
        &format_instant(b + Duration::days(1)),
        &format_instant(b + Duration::days(1) + Duration::hours(1)),
        "maintenance",
    );
    agent::record_event(s, &room, &blocker).await.unwrap();
    let auto = book(
        s,
        j,
        &request("daily", b, 1, Some("FREQ=DAILY;COUNT=3")),
        &Policy::default(),
    )
    .await;
    assert_eq!(
        actions(&auto),
        [Action::Accepted, Action::Declined, Action::Accepted]
    );
    assert_eq!(
        auto.items[1].reason,
        Reason::Busy {
            uid: uid("blocker")
        }
    );
    let reply = auto.reply.as_deref().unwrap();
    assert_eq!(reply.matches("BEGIN:VEVENT").count(), 2, "{reply}");
    assert!(reply.contains(&format!(
        "RECURRENCE-ID:{}",
        format_instant(b + Duration::days(1))
    )));
    for reset in [false, true] {
        cron(s, reset).await;
        let kept = rows(s, "daily").await;
        let starts: Vec<_> = kept.iter().map(|p| p.start).collect();
        assert_eq!(starts, [b, b + Duration::days(2)], "reset {reset}");
    }

    let policy = Policy {
        mode: Mode::AcceptIfFree,
        ..Policy::default()
    };
    let second = request(
        "daily2",
        b + Duration::hours(3),
        1,
        Some("FREQ=DAILY;COUNT=3"),
    );
    let blocker2 = event_text(
        "blocker2",
        None,
        &format_instant(b + Duration::days(2) + Duration::hours(3)),
        &format_instant(b + Duration::days(2) + Duration::hours(4)),
        "cleaning",
    );
    agent::record_event(s, &room, &blocker2).await.unwrap();
    let d = book(s, j, &second, &policy).await;
    assert_eq!(
        actions(&d),
        [Action::Accepted, Action::Accepted, Action::LeftForPerson]
    );
    let queued = s.requests(&room).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].uid, uid("daily2"));
    assert_eq!(queued[0].rid, d.items[2].rid);
    cron(s, true).await;
    assert_eq!(rows(s, "daily2").await.len(), 2);
}

/// A weekly booking without end is held only up to the window; a one-off 330 days ahead at the
/// same hour was accepted, and so was the converse order. Both are now declined where they meet.
pub async fn standing_bookings_are_checked_far_ahead<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let b = tomorrow_at_nine();
    let policy = Policy::default();
    let weekly = book(s, j, &request("weekly", b, 1, Some("FREQ=WEEKLY")), &policy).await;
    assert!(actions(&weekly).iter().all(|a| *a == Action::Accepted));
    let far = b + Duration::weeks(47);
    let d = book(s, j, &request("far", far, 1, None), &policy).await;
    assert_eq!(d.items[0].reason, Reason::Busy { uid: uid("weekly") });

    // The converse order, on another room's hour: the one-off first, then the series.
    let other_hour = b + Duration::hours(4);
    let one_off = book(
        s,
        j,
        &request("far2", other_hour + Duration::weeks(47), 1, None),
        &policy,
    )
    .await;
    assert_eq!(actions(&one_off), [Action::Accepted]);
    let series = book(
        s,
        j,
        &request("weekly2", other_hour, 1, Some("FREQ=WEEKLY")),
        &policy,
    )
    .await;
    let declined: Vec<_> = series
        .items
        .iter()
        .filter(|i| i.action == Action::Declined)
        .collect();
    assert_eq!(declined.len(), 1, "{series}");
    assert_eq!(declined[0].reason, Reason::Busy { uid: uid("far2") });
    // A series without end that starts beyond the horizon is decided too, and holds its time
    // against a later one-off there.
    let later = b + Duration::hours(7) + Duration::days(200);
    let late = book(
        s,
        j,
        &request("late", later, 1, Some("FREQ=WEEKLY")),
        &policy,
    )
    .await;
    assert!(!late.items.is_empty());
    assert!(
        actions(&late).iter().all(|a| *a == Action::Accepted),
        "{late}"
    );
    let clash = book(
        s,
        j,
        &request("clash", later + Duration::weeks(3), 1, None),
        &policy,
    )
    .await;
    assert_eq!(clash.items[0].reason, Reason::Busy { uid: uid("late") });
    // The room's copy holds a DECLINED override there, so no later extension takes the slot.
    let rid = declined[0].rid.clone().unwrap();
    let inst = s
        .get_event(&room, &uid("weekly2"), Some(&rid))
        .await
        .unwrap()
        .unwrap();
    assert!(inst.text.contains("PARTSTAT=DECLINED"), "{}", inst.text);
}

/// Cancelling a booking never gave its quota back, not even after `--quotas --reset`; a
/// standing booking was charged only its first window.
pub async fn quotas_are_given_back_and_extended<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let q = rooms_quota(j, "PT2H").await;
    let policy = Policy {
        quota: Some(q.clone()),
        ..Policy::default()
    };
    let b = tomorrow_at_nine();
    let first = book(s, j, &request("q1", b, 2, None), &policy).await;
    assert_eq!(actions(&first), [Action::Accepted]);
    let over = book(
        s,
        j,
        &request("q2", b + Duration::days(1), 1, None),
        &policy,
    )
    .await;
    assert_eq!(over.items[0].reason, Reason::OverQuota);
    assert!(rows(s, "q2").await.is_empty());
    resource::cancel_booking(s, j, &room, &cancel("q1"), &policy)
        .await
        .unwrap();
    assert!(rows(s, "q1").await.is_empty());
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    assert!(j.usage(&q, &group).await.unwrap().value.is_empty());
    let opts = QuotaOptions {
        window_days: None,
        reset: true,
        dry_run: false,
    };
    refresh::regenerate_quota(j, &q, &opts, Utc::now())
        .await
        .unwrap();
    assert!(j.usage(&q, &group).await.unwrap().value.is_empty());
    let again = book(
        s,
        j,
        &request("q3", b + Duration::days(1), 1, None),
        &policy,
    )
    .await;
    assert_eq!(actions(&again), [Action::Accepted]);
    resource::cancel_booking(s, j, &room, &cancel("q3"), &policy)
        .await
        .unwrap();

    // A weekly booking without end, with a limit that lets it run: charged to the window, and
    // further as the quota's cron job extends it.
    rooms_quota(j, "P1000D").await;
    let weekly = book(s, j, &request("qw", b, 1, Some("FREQ=WEEKLY")), &policy).await;
    assert!(actions(&weekly).iter().all(|a| *a == Action::Accepted));
    let charged = j.usage(&q, &group).await.unwrap().value.len();
    assert!(charged >= 14, "{charged}");
    let longer = QuotaOptions {
        window_days: Some(400),
        reset: false,
        dry_run: false,
    };
    refresh::regenerate_quota(j, &q, &longer, Utc::now())
        .await
        .unwrap();
    let extended = j.usage(&q, &group).await.unwrap().value.len();
    assert!(extended > charged + 40, "{charged} -> {extended}");
}

/// Eight bookers of one slot at once: exactly one wins with capacity one, exactly three with
/// capacity three; the table never holds more than the capacity.
pub async fn concurrent_bookers_never_exceed_capacity<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let b = tomorrow_at_nine();
    for (capacity, offset) in [(1usize, 0i64), (3, 5)] {
        let policy = Arc::new(Policy {
            capacity,
            ..Policy::default()
        });
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, j, policy) = (f.store.clone(), f.journal.clone(), policy.clone());
            let text = request(
                &format!("c{capacity}-{i}"),
                b + Duration::hours(offset),
                1,
                None,
            );
            tasks.push(tokio::spawn(async move {
                resource::book(&s, &j, &user(ROOM), &text, &policy).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            let d = t.await.unwrap().unwrap();
            if d.items[0].action == Action::Accepted {
                won += 1;
            }
        }
        assert_eq!(won, capacity);
        let held = f
            .store
            .freebusy(&user(ROOM), &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .into_iter()
            .filter(|p| p.start == b + Duration::hours(offset))
            .count();
        assert_eq!(held, capacity);
    }
}

/// Through `agent::receive_with_journal`: a REQUEST naming the room with `CUTYPE=ROOM` books it
/// by the default policy (no settings), and the organiser's CANCEL frees the slot and gives the
/// quota back.
pub async fn delivery_books_and_cancels<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let b = tomorrow_at_nine();
    let d = receive(s, j, request("r1", b, 1, None)).await;
    assert_eq!(actions(&d), [Action::Accepted]);
    assert!(d.reply.is_some());
    let busy = receive(s, j, request("r2", b, 1, None)).await;
    assert_eq!(busy.items[0].reason, Reason::Busy { uid: uid("r1") });
    // With a quota: the CANCEL gives it back.
    rooms_quota(j, "PT1H").await;
    s.set_preference(
        &room,
        &crate::PrefName::new("scheduling_function").unwrap(),
        Some("schedule_in_freebusy\ncheck_quota rooms"),
    )
    .await
    .unwrap();
    let later = b + Duration::days(2);
    let q1 = receive(s, j, request("q1", later, 1, None)).await;
    assert_eq!(actions(&q1), [Action::Accepted]);
    let q2 = receive(s, j, request("q2", later + Duration::hours(2), 1, None)).await;
    assert_eq!(q2.items[0].reason, Reason::OverQuota);
    let c = receive(s, j, cancel("q1")).await;
    assert!(c.items.iter().any(|i| i.action == Action::Cancelled), "{c}");
    assert!(rows(s, "q1").await.is_empty());
    let q3 = receive(s, j, request("q3", later + Duration::hours(2), 1, None)).await;
    assert_eq!(actions(&q3), [Action::Accepted]);
}

/// A booking killed between its journal and store writes: the redo record (the reservation
/// marked pending in the journal) lets `recover` settle it from the resource's store, the commit
/// point — given back when the booking did not land, redone when it did.
pub async fn interrupted_bookings_are_recovered<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let q = rooms_quota(j, "PT1H").await;
    let policy = Policy {
        quota: Some(q.clone()),
        ..Policy::default()
    };
    let b = tomorrow_at_nine();
    let group = Group::new(ALICE).unwrap();
    // Killed after the redo record and the quota's reservation, before the store: the quota is
    // held for a booking the room does not have.
    let lost = request("lost", b, 1, None);
    let lost_obj = crate::object::split_calendar(&lost).unwrap().remove(0);
    j.put_event(
        &q,
        &uid("lost"),
        None,
        &resource::text::pending(lost_obj.text(), &room),
    )
    .await
    .unwrap();
    let mut p = crate::Period::new(b, b + Duration::hours(1), uid("lost"), None).unwrap();
    p.attendee = Some(ROOM.to_owned());
    j.reserve_within_limit(&q, &group, vec![p]).await.unwrap();
    let done = resource::recover(s, j, &q).await.unwrap();
    assert_eq!(done.released, [uid("lost")]);
    assert!(j
        .usage(&q, &UsageTable::Journal(group.clone()))
        .await
        .unwrap()
        .value
        .is_empty());
    assert!(j.get_event(&q, &uid("lost"), None).await.unwrap().is_none());

    // Killed after the store, before the journal's last writes: redone from the room's copy.
    let kept = book(s, j, &request("kept", b, 1, None), &policy).await;
    assert_eq!(actions(&kept), [Action::Accepted]);
    let stored = j.get_event(&q, &uid("kept"), None).await.unwrap().unwrap();
    assert!(resource::text::pending_resource(&stored.text).is_none());
    j.put_event(
        &q,
        &uid("kept"),
        None,
        &resource::text::pending(&stored.text, &room),
    )
    .await
    .unwrap();
    for table in [
        UsageTable::Journal(group.clone()),
        UsageTable::User(user(ALICE)),
    ] {
        j.replace_usage_periods(&q, &table, &uid("kept"), None, vec![], None)
            .await
            .unwrap();
    }
    let done = resource::recover(s, j, &q).await.unwrap();
    assert_eq!(done.redone, [uid("kept")]);
    let used = j
        .usage(&q, &UsageTable::Journal(group))
        .await
        .unwrap()
        .value;
    assert_eq!(keys(&used), keys(&rows(s, "kept").await));
    // Settled: a second run finds nothing pending.
    assert_eq!(
        resource::recover(s, j, &q).await.unwrap(),
        resource::Recovered::default()
    );
}

/// VAVAILABILITY (RFC 7953): stored as the room's `availability`, read back alike on every
/// backend, and used by the decision: outside the available times a request is declined with
/// that reason.
pub async fn availability_is_used_by_the_decision<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VAVAILABILITY\r\n\
UID:hours\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T000000Z\r\nBEGIN:AVAILABLE\r\nUID:day\r\n\
DTSTAMP:20200101T000000Z\r\nDTSTART:20200101T080000Z\r\nDTEND:20200101T170000Z\r\n\
RRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR\r\n";
    assert_eq!(
        kind(
            resource::set_availability(s, &room, Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
                .await
        ),
        crate::ErrorKind::InvalidInput
    );
    resource::set_availability(s, &room, Some(text))
        .await
        .unwrap();
    let b = tomorrow_at_nine();
    let inside = book(s, j, &request("in", b, 1, None), &Policy::default()).await;
    assert_eq!(actions(&inside), [Action::Accepted]);
    let outside = book(
        s,
        j,
        &request("out", b + Duration::hours(11), 1, None),
        &Policy::default(),
    )
    .await;
    assert_eq!(
        outside.items[0],
        agent::Item {
            uid: uid("out"),
            rid: None,
            action: Action::Declined,
            reason: Reason::OutsideAvailability,
        }
    );
    let spans = resource::unavailable(s, &room, b, b + Duration::days(1), chrono_tz::Tz::UTC)
        .await
        .unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(
        (spans[0].start, spans[0].end),
        (b + Duration::hours(8), b + Duration::hours(23))
    );
}

/// A series and a one-off that overlap in one occurrence, booked at once (ten rounds): exactly
/// one of them holds that occurrence, and the series' other days are held.
pub async fn a_series_and_a_one_off_at_once<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let b = tomorrow_at_nine();
    for round in 0..10i64 {
        let at = b + Duration::hours(round);
        let policy = Arc::new(Policy::default());
        let (s1, j1, p1) = (f.store.clone(), f.journal.clone(), policy.clone());
        let series = request(&format!("series{round}"), at, 1, Some("FREQ=DAILY;COUNT=3"));
        let one = request(&format!("one{round}"), at + Duration::days(1), 1, None);
        let a =
            tokio::spawn(async move { resource::book(&s1, &j1, &user(ROOM), &series, &p1).await });
        let (s2, j2, p2) = (f.store.clone(), f.journal.clone(), policy.clone());
        let c = tokio::spawn(async move { resource::book(&s2, &j2, &user(ROOM), &one, &p2).await });
        let (a, c) = (a.await.unwrap().unwrap(), c.await.unwrap().unwrap());
        let series_holds = a.items[1].action == Action::Accepted;
        let one_holds = c.items[0].action == Action::Accepted;
        assert!(series_holds != one_holds, "round {round}: {a} / {c}");
        assert_eq!(a.items[0].action, Action::Accepted);
        assert_eq!(a.items[2].action, Action::Accepted);
        let day2: Vec<_> = f
            .store
            .freebusy(&user(ROOM), &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .into_iter()
            .filter(|p| p.start == at + Duration::days(1))
            .collect();
        assert_eq!(day2.len(), 1, "round {round}: {day2:?}");
    }
}

/// Two standing bookings without end, each checked up to its horizon, that meet only a year
/// on: when the cron job extends them there, the overlap is reported (`resource::overbooked`),
/// never held silently.
pub async fn extension_conflicts_are_reported<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let window = crate::PrefName::new("window_size").unwrap();
    s.set_preference(&room, &window, Some("30")).await.unwrap();
    let b = tomorrow_at_nine();
    let policy = Policy::default();
    let yearly = book(s, j, &request("yearly", b, 1, Some("FREQ=YEARLY")), &policy).await;
    assert!(actions(&yearly).iter().all(|a| *a == Action::Accepted));
    let next_year = b.checked_add_months(chrono::Months::new(12)).unwrap();
    let weekly_start = next_year - Duration::weeks(52);
    let weekly = book(
        s,
        j,
        &request("weekly", weekly_start, 1, Some("FREQ=WEEKLY")),
        &policy,
    )
    .await;
    assert!(
        actions(&weekly).iter().all(|a| *a == Action::Accepted),
        "{weekly}"
    );
    assert!(resource::overbooked(s, &room, &policy)
        .await
        .unwrap()
        .is_empty());
    s.set_preference(&room, &window, Some("400")).await.unwrap();
    cron(s, false).await;
    let over = resource::overbooked(s, &room, &policy).await.unwrap();
    let uids: std::collections::BTreeSet<&str> = over.iter().map(|p| p.uid.as_str()).collect();
    assert_eq!(uids, ["weekly", "yearly"].into_iter().collect(), "{over:?}");
    assert!(over.iter().all(|p| p.start == next_year));
}
