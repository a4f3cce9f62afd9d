//! Delegation to a free resource of the quota (issue 20, `delegate_to_free`): a busy room hands
//! the whole request to the first free delegate, which holds it with its own copy and table and
//! charges the quota once; a request no delegate can take for every occurrence is decided by the
//! room as usual.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::resource::{self, Policy};
use crate::agent::{Action, Decision, Reason};
use crate::id::{Group, PrefName, Quota};
use crate::journal::joint::shares_database;
use crate::journal::{Limits, UsageTable};
use crate::period::format_instant;
use crate::refresh::{self, Overrides};
use crate::{Journal, Store, Table, User};

use super::fixture::Fixture;
use super::joint::assert_only_joint_writes;
use super::support::*;
use super::wrap::Probe;

const ROOM1: &str = "mailto:room1@example.com";
const ROOM2: &str = "mailto:room2@example.com";
const ROOM3: &str = "mailto:room3@example.com";
const ALICE: &str = "mailto:alice@example.com";

/// Tomorrow at 09:00 UTC.
fn base() -> DateTime<Utc> {
    let day = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    day + Duration::days(1) + Duration::hours(9)
}

/// A REQUEST from Alice for room 1, as every client sends it (NEEDS-ACTION, RSVP).
fn request(u: &str, seq: u32, start: DateTime<Utc>, rrule: Option<&str>) -> String {
    let rule = rrule.map(|r| format!("RRULE:{r}\r\n")).unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260101T00000{seq}Z\r\nSEQUENCE:{seq}\r\nDTSTART:{}\r\nDTEND:{}\r\n{rule}\
SUMMARY:{u}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM1}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        format_instant(start),
        format_instant(start + Duration::hours(1)),
    )
}

fn cancel(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260102T000000Z\r\nSEQUENCE:5\r\nSTATUS:CANCELLED\r\nORGANIZER:{ALICE}\r\n\
ATTENDEE:{ROOM1}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A blocking event in `room`'s own calendar at `start` (accepted by the room itself).
async fn block<S: Store, J: Journal>(f: &Fixture<S, J>, room: &str, u: &str, start: DateTime<Utc>) {
    let text = request(u, 0, start, None).replace(ROOM1, room);
    let d = resource::book(&f.store, &f.journal, &user(room), &text, &Policy::default())
        .await
        .unwrap();
    assert_eq!(actions(&d), [Action::Accepted], "{d}");
}

async fn rows<S: Store>(s: &S, room: &str, u: &str) -> Vec<crate::Period> {
    s.freebusy(&user(room), &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|p| p.uid.as_str() == u)
        .collect()
}

async fn copy<S: Store>(s: &S, room: &str, u: &str) -> Option<String> {
    s.load_events(&user(room), &[uid(u)])
        .await
        .unwrap()
        .pop()
        .and_then(|f| f.parent)
        .map(|p| p.text)
}

fn actions(d: &Decision) -> Vec<Action> {
    d.items.iter().map(|i| i.action).collect()
}

/// Room 1 delegates across `rooms` (rooms 1, 2 and 3, in that order) and checks that quota;
/// returns the quota.
async fn setup<S: Store, J: Journal>(f: &Fixture<S, J>, limit: &str) -> Quota {
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), limit.to_owned())].into();
    f.journal.set_limits(&q, &limits, None).await.unwrap();
    f.journal
        .set_delegates(&q, &[user(ROOM1), user(ROOM2), user(ROOM3)])
        .await
        .unwrap();
    let name = PrefName::new("scheduling_function").unwrap();
    f.store
        .set_preference(
            &user(ROOM1),
            &name,
            Some("check_quota rooms\ndelegate_to_free"),
        )
        .await
        .unwrap();
    q
}

async fn deliver<S: Store, J: Journal>(f: &Fixture<S, J>, text: &str) -> Decision {
    resource::receive(&f.store, &f.journal, &user(ROOM1), text.as_bytes(), false)
        .await
        .unwrap()
}

/// Room 1 busy: the request goes to room 2 (the first free delegate), which holds it through
/// the cron job; room 1 holds nothing and says DELEGATED; the quota is charged once. With every
/// room busy, the next request is delegated nowhere and declined as busy, and no delegate gets
/// a copy of it.
pub async fn busy_requests_go_to_a_free_delegate<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let q = setup(f, "P10D").await;
    let b = base();
    block(f, ROOM1, "mine", b).await;
    let d = deliver(f, &request("meet", 0, b, None)).await;
    assert_eq!(actions(&d), [Action::Delegated], "{d}");
    assert_eq!(
        d.items[0].reason,
        Reason::DelegatedTo {
            delegate: user(ROOM2)
        }
    );
    let reply = d.reply.clone().unwrap().replace("\r\n ", "");
    assert!(
        reply.contains(&format!(
            "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"{ROOM2}\":{ROOM1}"
        )),
        "{reply}"
    );
    assert!(rows(&f.store, ROOM1, "meet").await.is_empty());
    assert_eq!(rows(&f.store, ROOM2, "meet").await.len(), 1);
    let theirs = copy(&f.store, ROOM2, "meet")
        .await
        .unwrap()
        .replace("\r\n ", "");
    assert!(
        theirs.contains("PARTSTAT=ACCEPTED:mailto:room2"),
        "{theirs}"
    );
    assert!(
        theirs.contains(&format!("DELEGATED-FROM=\"{ROOM1}\"")),
        "{theirs}"
    );
    let ours = copy(&f.store, ROOM1, "meet")
        .await
        .unwrap()
        .replace("\r\n ", "");
    assert!(ours.contains("PARTSTAT=DELEGATED"), "{ours}");
    // The quota: charged once, for room 2.
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let usage: Vec<_> = f
        .journal
        .usage(&q, &group)
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|p| p.uid.as_str() == "meet")
        .collect();
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(usage[0].attendee.as_deref(), Some(ROOM2));
    // The cron job (incremental and full) keeps the delegate's booking and adds none to room 1.
    for room in [ROOM1, ROOM2] {
        for reset in [false, true] {
            let u = user(room);
            let settings = refresh::settings(&f.store, &u, &Overrides::default())
                .await
                .unwrap();
            refresh::regenerate(&f.store, &u, &settings, Utc::now(), reset, false)
                .await
                .unwrap();
        }
    }
    assert!(rows(&f.store, ROOM1, "meet").await.is_empty());
    assert_eq!(rows(&f.store, ROOM2, "meet").await.len(), 1);
    // The same request again (an update): the same delegate, still once.
    let again = deliver(f, &request("meet", 1, b, None)).await;
    assert_eq!(actions(&again), [Action::Delegated], "{again}");
    assert_eq!(again.items[0].reason, d.items[0].reason);
    assert_eq!(rows(&f.store, ROOM2, "meet").await.len(), 1);
    // An update from an organiser who recorded the delegation (room 1 DELEGATED, room 2 named
    // with DELEGATED-FROM): room 1 sees no occurrence of its own, and still hands it on.
    let recorded =
        resource::text::delegated(&request("meet", 2, b, None), &user(ROOM1), &user(ROOM2));
    let third = deliver(f, &recorded).await;
    assert_eq!(actions(&third), [Action::Delegated], "{third}");
    assert_eq!(rows(&f.store, ROOM2, "meet").await.len(), 1);
    assert!(rows(&f.store, ROOM1, "meet").await.is_empty());
    // Room 3 busy too: a second request for the slot is declined as busy with room 1's
    // blocker, and no delegate holds or stores it.
    block(f, ROOM3, "theirs", b).await;
    let none = deliver(f, &request("late", 0, b, None)).await;
    assert_eq!(actions(&none), [Action::Declined], "{none}");
    assert_eq!(none.items[0].reason, Reason::Busy { uid: uid("mine") });
    for room in [ROOM2, ROOM3] {
        assert!(copy(&f.store, room, "late").await.is_none(), "{room}");
    }
    assert!(none.reply.unwrap().contains("PARTSTAT=DECLINED"));
    // The delegated request moves to an hour room 2 has taken since and room 1 has free: room 2
    // cannot take the update, so its booking is cancelled (quota given back) and room 1 books
    // it itself. One room holds it, charged once.
    let later = b + Duration::hours(4);
    block(f, ROOM2, "r2-later", later).await;
    let moved = deliver(f, &request("meet", 3, later, None)).await;
    assert_eq!(actions(&moved), [Action::Accepted], "{moved}");
    assert!(rows(&f.store, ROOM2, "meet").await.is_empty());
    assert_eq!(rows(&f.store, ROOM1, "meet").await.len(), 1);
    let usage: Vec<_> = f
        .journal
        .usage(&q, &group)
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|p| p.uid.as_str() == "meet")
        .collect();
    assert_eq!(usage.len(), 1, "{usage:?}");
    assert_eq!(usage[0].attendee.as_deref(), Some(ROOM1));
    assert_eq!(usage[0].start, later);
}

/// A daily series with one busy day at room 1 goes whole to the first delegate free on every
/// day (room 3, room 2 being busy another day); when no delegate is free on every day, room 1
/// decides as usual, occurrence by occurrence.
pub async fn series_go_whole_or_not_at_all<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    setup(f, "P10D").await;
    let b = base();
    block(f, ROOM1, "r1-day2", b + Duration::days(1)).await;
    block(f, ROOM2, "r2-day3", b + Duration::days(2)).await;
    let d = deliver(f, &request("daily", 0, b, Some("FREQ=DAILY;COUNT=3"))).await;
    assert_eq!(actions(&d), [Action::Delegated; 3], "{d}");
    assert_eq!(
        d.items[0].reason,
        Reason::DelegatedTo {
            delegate: user(ROOM3)
        }
    );
    assert_eq!(rows(&f.store, ROOM3, "daily").await.len(), 3);
    assert!(copy(&f.store, ROOM2, "daily").await.is_none());
    assert!(rows(&f.store, ROOM1, "daily").await.is_empty());
    // Room 3 now busy on all three days: another series is room 1's to decide.
    let other = deliver(f, &request("daily2", 0, b, Some("FREQ=DAILY;COUNT=3"))).await;
    assert_eq!(
        actions(&other),
        [Action::Accepted, Action::Declined, Action::Accepted],
        "{other}"
    );
    assert_eq!(rows(&f.store, ROOM1, "daily2").await.len(), 2);
    // Cancelled at room 1, the delegated booking is cancelled at the delegate too, and its
    // quota given back.
    let q = Quota::new("rooms").unwrap();
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let charged = |u: &'static str| {
        let j = f.journal.clone();
        let q = q.clone();
        let group = group.clone();
        async move {
            j.usage(&q, &group)
                .await
                .unwrap()
                .value
                .iter()
                .filter(|p| p.uid.as_str() == u)
                .count()
        }
    };
    assert_eq!(charged("daily").await, 3);
    let c = deliver(f, &cancel("daily")).await;
    assert!(c.items.iter().all(|i| i.action == Action::Cancelled), "{c}");
    assert!(rows(&f.store, ROOM3, "daily").await.is_empty());
    assert_eq!(charged("daily").await, 0);
}

/// Room 1 over its quota with the slot free: its quota refuses; a delegate under another quota
/// of its own takes it. Without `delegate_to_free` the same request is simply declined.
pub async fn over_quota_requests_are_delegated<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    setup(f, "PT1H").await;
    let cars = Quota::new("cars").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), "P1D".to_owned())].into();
    f.journal.set_limits(&cars, &limits, None).await.unwrap();
    let name = PrefName::new("scheduling_function").unwrap();
    f.store
        .set_preference(&user(ROOM2), &name, Some("check_quota cars"))
        .await
        .unwrap();
    let b = base();
    let first = deliver(f, &request("one", 0, b, None)).await;
    assert_eq!(actions(&first), [Action::Accepted], "{first}");
    let second = deliver(f, &request("two", 0, b + Duration::hours(3), None)).await;
    assert_eq!(actions(&second), [Action::Delegated], "{second}");
    assert_eq!(rows(&f.store, ROOM2, "two").await.len(), 1);
    let car_usage = f
        .journal
        .usage(&cars, &UsageTable::Journal(Group::new(ALICE).unwrap()))
        .await
        .unwrap()
        .value;
    assert_eq!(car_usage.len(), 1, "{car_usage:?}");
    // The room's own quota holds only its own booking.
    let rooms = f
        .journal
        .usage(
            &Quota::new("rooms").unwrap(),
            &UsageTable::Journal(Group::new(ALICE).unwrap()),
        )
        .await
        .unwrap()
        .value;
    assert!(rooms.iter().all(|p| p.uid.as_str() == "one"), "{rooms:?}");
    // Room 1's own booking moves to an hour it has taken since: delegated to room 2, and what
    // it held of it given back to its quota (the delegate charges its own).
    let later = b + Duration::hours(6);
    block(f, ROOM1, "r1-later", later).await;
    // Probed: where the rooms' store and the journal share a database the delegate's booking
    // and room 1's give-back are joint writes (no redo record, no settlement apart).
    let (ps, pj) = (Probe::new(f.store.clone()), Probe::new(f.journal.clone()));
    let rooms_quota = Quota::new("rooms").unwrap();
    let shared = shares_database(&ps, &pj, &user(ROOM1), &rooms_quota)
        .await
        .unwrap();
    pj.take();
    let text = request("one", 1, later, None);
    let moved = resource::receive(&ps, &pj, &user(ROOM1), text.as_bytes(), false)
        .await
        .unwrap();
    assert_eq!(actions(&moved), [Action::Delegated], "{moved}");
    if shared {
        assert_only_joint_writes(&pj.take(), "delegation");
    }
    let rooms = f
        .journal
        .usage(
            &Quota::new("rooms").unwrap(),
            &UsageTable::Journal(Group::new(ALICE).unwrap()),
        )
        .await
        .unwrap()
        .value;
    assert!(rooms.is_empty(), "{rooms:?}");
    let cars_usage = f
        .journal
        .usage(&cars, &UsageTable::Journal(Group::new(ALICE).unwrap()))
        .await
        .unwrap()
        .value;
    assert_eq!(cars_usage.len(), 2, "{cars_usage:?}");
    assert!(rows(&f.store, ROOM1, "one").await.is_empty());
    assert_eq!(rows(&f.store, ROOM2, "one").await.len(), 1);
    let _: User = user(ROOM3);
}

/// Eight requests for one slot at once, room 1 holding it already: exactly one is delegated to
/// room 2 and one to room 3, the others are declined; no room ever holds the slot twice and the
/// quota is charged once per held booking.
pub async fn concurrent_delegations_never_double_book<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let q = setup(f, "P10D").await;
    let b = base();
    block(f, ROOM1, "mine", b).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, j) = (f.store.clone(), f.journal.clone());
        let text = request(&format!("c{i}"), 0, b, None);
        tasks.push(tokio::spawn(async move {
            resource::receive(&s, &j, &user(ROOM1), text.as_bytes(), false).await
        }));
    }
    let mut to: Vec<String> = Vec::new();
    let mut declined = 0;
    for t in tasks {
        let d = t.await.unwrap().unwrap();
        match (&d.items[0].action, &d.items[0].reason) {
            (Action::Delegated, Reason::DelegatedTo { delegate }) => {
                to.push(delegate.as_str().to_owned());
            }
            (Action::Declined, Reason::Busy { .. }) => declined += 1,
            other => panic!("{other:?}: {d}"),
        }
    }
    to.sort();
    assert_eq!(to, [ROOM2, ROOM3]);
    assert_eq!(declined, 6);
    // A delegate that lost a race keeps no copy of the request it refused.
    for room in [ROOM2, ROOM3] {
        let mut copies = 0;
        for i in 0..8 {
            copies += usize::from(copy(&f.store, room, &format!("c{i}")).await.is_some());
        }
        assert_eq!(copies, 1, "{room}");
    }
    for room in [ROOM1, ROOM2, ROOM3] {
        let held = f
            .store
            .freebusy(&user(room), &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .into_iter()
            .filter(|p| p.start == b)
            .count();
        assert_eq!(held, 1, "{room}");
    }
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let charged = f
        .journal
        .usage(&q, &group)
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|p| p.uid.as_str().starts_with('c'))
        .count();
    assert_eq!(charged, 2);
}
