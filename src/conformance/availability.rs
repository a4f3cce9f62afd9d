//! Availability as rows: a user's VAVAILABILITY is BUSY-UNAVAILABLE rows of its UID in the
//! user's own `freebusy` table, written by `set_availability` and by every cron run, extended
//! past the horizon by queries, checked by the audit, and still declined as
//! `OutsideAvailability` by a resource.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::resource::{self, Policy};
use crate::agent::{Action, Reason};
use crate::refresh;
use crate::refresh::{self as audit, Overrides};
use crate::{FbType, Journal, PrefName, Store, Table, User};

use super::fixture::Fixture;
use super::support::*;

const ROOM: &str = "mailto:hours@example.com";

/// Today 00:00 UTC.
fn today() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap()
}

/// Available every day 08:00–17:00 UTC from yesterday on, as VAVAILABILITY `uid`.
fn hours(uid: &str) -> String {
    let from = crate::period::format_instant(today() - Duration::days(1));
    let open = crate::period::format_instant(today() - Duration::days(1) + Duration::hours(8));
    let close = crate::period::format_instant(today() - Duration::days(1) + Duration::hours(17));
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VAVAILABILITY\r\n\
UID:{uid}\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:{from}\r\nBEGIN:AVAILABLE\r\nUID:day\r\n\
DTSTAMP:20200101T000000Z\r\nDTSTART:{open}\r\nDTEND:{close}\r\n\
RRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR\r\n"
    )
}

/// The rows of `uid` in the table, as (start, end), after checking they are BUSY-UNAVAILABLE
/// parent rows.
async fn rows_of<S: Store>(s: &S, u: &User, of: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let table = s.freebusy(u, &Table::FreeBusy).await.unwrap().value;
    let mine: Vec<_> = table.iter().filter(|p| p.uid.as_str() == of).collect();
    assert!(mine
        .iter()
        .all(|p| p.fbtype == FbType::BusyUnavailable && p.rid.is_none()));
    mine.iter().map(|p| (p.start, p.end)).collect()
}

async fn cron<S: Store>(s: &S, u: &User, reset: bool) {
    let settings = refresh::settings(s, u, &Overrides::default())
        .await
        .unwrap();
    refresh::regenerate(s, u, &settings, Utc::now(), reset, false)
        .await
        .unwrap();
}

async fn clean<S: Store>(s: &S, u: &User) {
    let a = audit::audit(s, u, Utc::now()).await.unwrap();
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    assert_eq!(a.without_object, 0, "availability rows are no reservation");
}

/// The whole history: set, cron (incremental and reset, a longer window), query past the
/// horizon, a booking outside, damage found and repaired, a new UID, removal.
pub async fn availability_is_rows_of_the_table<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, j, room) = (&f.store, &f.journal, user(ROOM));
    let window = PrefName::new("window_size").unwrap();
    s.set_preference(&room, &window, Some("10")).await.unwrap();
    resource::set_availability(s, &room, Some(&hours("hours")))
        .await
        .unwrap();
    let first = rows_of(s, &room, "hours").await;
    // One night (17:00 to 08:00) per day from yesterday to the window's end, the last cut there.
    assert!((10..=13).contains(&first.len()), "{first:?}");
    let y = today() - Duration::days(1);
    assert_eq!(first[0], (y, y + Duration::hours(8)));
    assert_eq!(first[1], (y + Duration::hours(17), y + Duration::hours(32)));
    clean(s, &room).await;

    // The cron job keeps them, rebuilding or extending (the last row ends at each run's window
    // end); a longer window extends them.
    let same_but_the_cut = |a: &[(DateTime<Utc>, DateTime<Utc>)],
                            b: &[(DateTime<Utc>, DateTime<Utc>)]| {
        a.len() == b.len()
            && a[..a.len() - 1] == b[..b.len() - 1]
            && a.last().map(|p| p.0) == b.last().map(|p| p.0)
    };
    cron(s, &room, false).await;
    let now = rows_of(s, &room, "hours").await;
    assert!(same_but_the_cut(&now, &first), "{now:?}");
    cron(s, &room, true).await;
    let now = rows_of(s, &room, "hours").await;
    assert!(same_but_the_cut(&now, &first), "{now:?}");
    clean(s, &room).await;
    s.set_preference(&room, &window, Some("20")).await.unwrap();
    cron(s, &room, false).await;
    let longer = rows_of(s, &room, "hours").await;
    assert!(longer.len() >= first.len() + 9, "{longer:?}");
    assert_eq!(longer[..first.len() - 1], first[..first.len() - 1]);
    clean(s, &room).await;

    // A query past the horizon computes them as far as it asks.
    let far = today() + Duration::days(40);
    let answer = crate::query::freebusy(
        s,
        &room,
        &Table::FreeBusy,
        Some(far),
        Some(far + Duration::days(1)),
        Utc::now(),
    )
    .await
    .unwrap();
    let spans: Vec<_> = answer.periods.iter().map(|p| (p.start, p.end)).collect();
    assert_eq!(
        spans,
        [
            (far - Duration::hours(7), far + Duration::hours(8)),
            (far + Duration::hours(17), far + Duration::days(1))
        ]
    );

    // A booking outside availability is declined as such, not as busy with "hours".
    let text = super::support::event_text(
        "late",
        None,
        &crate::period::format_instant(today() + Duration::days(2) + Duration::hours(19)),
        &crate::period::format_instant(today() + Duration::days(2) + Duration::hours(20)),
        "late",
    )
    .replace(
        "ORGANIZER:mailto:alice@example.com\r\n",
        &format!("ORGANIZER:mailto:alice@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{ROOM}\r\n"),
    )
    .replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n");
    let d = resource::book(s, j, &room, &text, &Policy::default())
        .await
        .unwrap();
    assert_eq!(d.items[0].action, Action::Declined, "{d:?}");
    assert_eq!(d.items[0].reason, Reason::OutsideAvailability, "{d:?}");

    // Rows lost (a hand edit, a crash between the preference and the table): the audit says
    // so and the cron job repairs them without reset.
    let table = s.freebusy(&room, &Table::FreeBusy).await.unwrap();
    let kept: Vec<_> = table
        .value
        .into_iter()
        .filter(|p| p.uid.as_str() != "hours")
        .collect();
    s.set_freebusy(&room, &Table::FreeBusy, kept, Some(table.version))
        .await
        .unwrap();
    let a = audit::audit(s, &room, Utc::now()).await.unwrap();
    assert!(
        matches!(&a.findings[..], [audit::Finding::StaleAvailability { uid, rows: 0, .. }] if uid.as_str() == "hours"),
        "{:?}",
        a.findings
    );
    cron(s, &room, false).await;
    let repaired = rows_of(s, &room, "hours").await;
    assert!(same_but_the_cut(&repaired, &longer), "{repaired:?}");
    clean(s, &room).await;

    // A new VAVAILABILITY replaces the old rows; removing it removes them.
    resource::set_availability(s, &room, Some(&hours("hours-2")))
        .await
        .unwrap();
    assert!(rows_of(s, &room, "hours").await.is_empty());
    assert_eq!(
        rows_of(s, &room, "hours-2").await,
        repaired,
        "up to the recorded horizon"
    );
    clean(s, &room).await;
    resource::set_availability(s, &room, None).await.unwrap();
    assert!(rows_of(s, &room, "hours-2").await.is_empty());
    clean(s, &room).await;

    // Booked while the room had no availability, then outside the new one: the booking stays
    // (a person decides), and the availability's rows make nothing "overbooked".
    let d = resource::book(s, j, &room, &text, &Policy::default())
        .await
        .unwrap();
    assert_eq!(d.items[0].action, Action::Accepted, "{d:?}");
    resource::set_availability(s, &room, Some(&hours("hours-3")))
        .await
        .unwrap();
    assert!(!rows_of(s, &room, "hours-3").await.is_empty());
    let over = resource::overbooked(s, &room, &Policy::default())
        .await
        .unwrap();
    assert!(over.is_empty(), "{over:?}");
}
