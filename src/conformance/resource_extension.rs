//! The cron job meets a conflict (issue 20, item 2): two standing bookings without end, each
//! checked up to the horizon it had, meet beyond it when the cron job extends them; the
//! resource settles the later booking's newly reached occurrence by its policy
//! (`resource::settle_extension`): declined with a REPLY in `automatic`, its row dropped and its
//! quota given back; left for a person (queued) in `accept-if-free`.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::resource::{self, Policy};
use crate::agent::{Action, Reason};
use crate::id::{Group, PrefName, Quota};
use crate::journal::joint::shares_database;
use crate::journal::{Limits, UsageTable};
use crate::period::format_instant;
use crate::refresh::{self, Overrides, QuotaOptions};
use crate::{Journal, Store, Table};

use super::fixture::Fixture;
use super::joint::assert_only_joint_writes;
use super::support::*;
use super::wrap::Probe;

const ROOM: &str = "mailto:room@example.com";
const ALICE: &str = "mailto:alice@example.com";

/// Tomorrow at 09:00 UTC.
fn base() -> DateTime<Utc> {
    let day = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    day + Duration::days(1) + Duration::hours(9)
}

fn request(u: &str, start: DateTime<Utc>, rrule: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\nDTSTART:{}\r\nDTEND:{}\r\nRRULE:{rrule}\r\n\
SUMMARY:{u}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        format_instant(start),
        format_instant(start + Duration::hours(1)),
    )
}

async fn set<S: Store>(s: &S, name: &str, value: &str) {
    s.set_preference(&user(ROOM), &PrefName::new(name).unwrap(), Some(value))
        .await
        .unwrap();
}

async fn cron<S: Store>(s: &S, reset: bool) {
    let room = user(ROOM);
    let settings = refresh::settings(s, &room, &Overrides::default())
        .await
        .unwrap();
    refresh::regenerate(s, &room, &settings, Utc::now(), reset, false)
        .await
        .unwrap();
}

/// A yearly booking, then a weekly one whose occurrences reach the yearly's second occurrence
/// only beyond a 30-day horizon; the horizon is raised to 400 days and the cron job extends
/// both. Returns the instant where they meet.
async fn meet<S: Store, J: Journal>(f: &Fixture<S, J>) -> DateTime<Utc> {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    set(s, "window_size", "30").await;
    let policy = Policy::read(s, &room).await.unwrap().unwrap();
    let b = base();
    for (u, start, rule) in [
        ("yearly", b, "FREQ=YEARLY"),
        (
            "weekly",
            b.checked_add_months(chrono::Months::new(12)).unwrap() - Duration::weeks(52),
            "FREQ=WEEKLY",
        ),
    ] {
        let d = resource::book(s, j, &room, &request(u, start, rule), &policy)
            .await
            .unwrap();
        assert!(d.items.iter().all(|i| i.action == Action::Accepted), "{d}");
    }
    set(s, "window_size", "400").await;
    cron(s, false).await;
    b.checked_add_months(chrono::Months::new(12)).unwrap()
}

/// `automatic`: the weekly booking (the later one) loses the meeting occurrence: DECLINED in the
/// room's copy, its row gone, its quota given back, a REPLY for Alice; the yearly keeps it, the
/// cron job (incremental and `--reset`) finds nothing overbooked, and a second settlement
/// does nothing.
pub async fn extension_conflicts_are_declined<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), "P1000D".to_owned())].into();
    j.set_limits(&q, &limits, None).await.unwrap();
    set(s, "scheduling_function", "check_quota rooms").await;
    let at = meet(f).await;
    let policy = Policy::read(s, &room).await.unwrap().unwrap();
    assert!(!resource::overbooked(s, &room, &policy)
        .await
        .unwrap()
        .is_empty());
    // Probed: where the store and the journal share a database the settlement and its quota
    // are one joint write (no redo record, no settlement apart).
    let (ps, pj) = (Probe::new(s.clone()), Probe::new(j.clone()));
    let shared = shares_database(&ps, &pj, &room, &q).await.unwrap();
    pj.take();
    let done = resource::settle_extension(&ps, &pj, &room, Utc::now())
        .await
        .unwrap();
    if shared {
        assert_only_joint_writes(&pj.take(), "settle_extension");
    }
    let items = &done.decision.items;
    assert_eq!(items.len(), 1, "{}", done.decision);
    assert_eq!(items[0].uid.as_str(), "weekly");
    assert_eq!(items[0].action, Action::Declined);
    assert_eq!(items[0].reason, Reason::Busy { uid: uid("yearly") });
    assert_eq!(done.replies.len(), 1);
    let reply = &done.replies[0];
    assert_eq!(reply.organiser, ALICE);
    assert!(
        reply
            .text
            .contains(&format!("RECURRENCE-ID:{}", format_instant(at))),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(&format!("PARTSTAT=DECLINED:{ROOM}")),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(&format!("PARTSTAT=ACCEPTED:{ROOM}")),
        "{}",
        reply.text
    );
    let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    let at_meeting: Vec<&str> = table
        .iter()
        .filter(|p| p.start == at)
        .map(|p| p.uid.as_str())
        .collect();
    assert_eq!(at_meeting, ["yearly"]);
    assert!(table.iter().filter(|p| p.uid.as_str() == "weekly").count() > 50);
    // The quota: the weekly booking charged for every accepted week but that one.
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let usage = j.usage(&q, &group).await.unwrap().value;
    assert!(
        !usage
            .iter()
            .any(|p| p.uid.as_str() == "weekly" && p.start == at),
        "{usage:?}"
    );
    assert!(usage.iter().filter(|p| p.uid.as_str() == "weekly").count() > 50);
    let longer = QuotaOptions {
        window_days: Some(400),
        reset: true,
        dry_run: false,
    };
    refresh::regenerate_quota(j, &q, &longer, Utc::now())
        .await
        .unwrap();
    let usage = j.usage(&q, &group).await.unwrap().value;
    assert!(
        !usage
            .iter()
            .any(|p| p.uid.as_str() == "weekly" && p.start == at),
        "{usage:?}"
    );
    for reset in [false, true] {
        cron(s, reset).await;
        assert!(
            resource::overbooked(s, &room, &policy)
                .await
                .unwrap()
                .is_empty(),
            "reset {reset}"
        );
        let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
        assert_eq!(
            table.iter().filter(|p| p.start == at).count(),
            1,
            "reset {reset}"
        );
    }
    let again = resource::settle_extension(s, j, &room, Utc::now())
        .await
        .unwrap();
    assert!(again.decision.items.is_empty() && again.replies.is_empty());
}

/// `accept-if-free`: the occurrence is left for a person: NEEDS-ACTION in the room's copy,
/// queued, no longer held, and no REPLY yet.
pub async fn extension_conflicts_are_left_for_a_person<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    set(s, "auto_schedule_mode", "accept-if-free").await;
    let at = meet(f).await;
    let done = resource::settle_extension(s, j, &room, Utc::now())
        .await
        .unwrap();
    let items = &done.decision.items;
    assert_eq!(items.len(), 1, "{}", done.decision);
    assert_eq!(items[0].action, Action::LeftForPerson);
    assert!(done.replies.is_empty());
    let queued = s.requests(&room).await.unwrap();
    assert!(
        queued
            .iter()
            .any(|r| r.uid.as_str() == "weekly" && r.rid == items[0].rid),
        "{queued:?}"
    );
    cron(s, true).await;
    let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    let at_meeting: Vec<&str> = table
        .iter()
        .filter(|p| p.start == at)
        .map(|p| p.uid.as_str())
        .collect();
    assert_eq!(at_meeting, ["yearly"]);
}

/// The room's own event (a maintenance slot put in its calendar, no organiser) placed after a
/// weekly booking on one of its occurrences beyond the horizon: when the cron job extends the
/// booking there, the booking's occurrence is declined, never the room's own event, however
/// new.
pub async fn own_events_hold_their_time<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    set(s, "window_size", "30").await;
    set(s, "auto_schedule_mode", "automatic").await;
    let policy = Policy::read(s, &room).await.unwrap().unwrap();
    let b = base();
    let d = resource::book(s, j, &room, &request("weekly", b, "FREQ=WEEKLY"), &policy)
        .await
        .unwrap();
    assert!(d.items.iter().all(|i| i.action == Action::Accepted), "{d}");
    let at = b + Duration::weeks(10);
    let own = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:maintenance\r\n\
DTSTAMP:20300101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:maintenance\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n",
        format_instant(at),
        format_instant(at + Duration::hours(1)),
    );
    s.put_event(&room, &uid("maintenance"), None, &own)
        .await
        .unwrap();
    cron(s, false).await;
    set(s, "window_size", "100").await;
    cron(s, false).await;
    let done = resource::settle_extension(s, j, &room, Utc::now())
        .await
        .unwrap();
    let items = &done.decision.items;
    assert_eq!(items.len(), 1, "{}", done.decision);
    assert_eq!(items[0].uid.as_str(), "weekly");
    assert_eq!(
        items[0].reason,
        Reason::Busy {
            uid: uid("maintenance")
        }
    );
    let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    let held: Vec<&str> = table
        .iter()
        .filter(|p| p.start == at)
        .map(|p| p.uid.as_str())
        .collect();
    assert_eq!(held, ["maintenance"]);
}
