//! FBTYPE kept in the tables: the busy rule's type (a TENTATIVE answer, Outlook's OOF, an
//! unanswered request with the needs-action setting) is what the agent's steps store, what a
//! full rebuild (`make-freebusy --reset`) stores, and what `query::freebusy` answers.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::{self, Answer};
use crate::refresh::{self, Overrides};
use crate::{FbType, Journal, PrefName, Store, Table, User};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";

/// Tomorrow 09:00 UTC plus `hours`: inside the window of every step.
fn at(hours: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap()
        + Duration::days(1)
        + Duration::hours(9 + hours)
}

/// One event of one hour at `at(hours)`, organised by `organiser`, with `extra` lines.
fn event(uid: &str, hours: i64, organiser: &str, extra: &str) -> String {
    let stamp = crate::period::format_instant;
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//fbtype tests//EN\r\nMETHOD:REQUEST\r\n\
BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n\
SUMMARY:{uid}\r\nORGANIZER:{organiser}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n",
        stamp(at(hours)),
        stamp(at(hours + 1)),
    )
}

/// (uid, FBTYPE) of every period, in table order.
fn types(periods: &[crate::Period]) -> Vec<(String, FbType)> {
    periods
        .iter()
        .map(|p| (p.uid.as_str().to_owned(), p.fbtype))
        .collect()
}

async fn stored<S: Store>(s: &S, a: &User) -> Vec<(String, FbType)> {
    types(&s.freebusy(a, &Table::FreeBusy).await.unwrap().value)
}

async fn rebuild<S: Store>(s: &S, a: &User, needs_action: bool) {
    let overrides = Overrides {
        needs_action,
        ..Overrides::default()
    };
    let settings = refresh::settings(s, a, &overrides).await.unwrap();
    refresh::regenerate(s, a, &settings, Utc::now(), true, false)
        .await
        .unwrap();
}

/// A TENTATIVE answer is BUSY-TENTATIVE, an OOF event BUSY-UNAVAILABLE, a plain one BUSY, a
/// transparent one FREE (recorded, never busy); an unanswered request is BUSY-TENTATIVE only
/// with the needs-action setting. The same after a full rebuild, and in `query::freebusy`, whose
/// VFREEBUSY writes each busy type.
pub async fn the_tables_keep_the_busy_rules_fbtype<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    s.set_preference(&a, &PrefName::new("window_size").unwrap(), Some("30"))
        .await
        .unwrap();
    let invited = format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{ALICE}\r\n");
    // An invitation answered TENTATIVE.
    agent::queue_request(s, &a, &event("tent", 0, BOB, &invited))
        .await
        .unwrap();
    agent::answer(s, &a, &uid("tent"), None, Answer::Tentative)
        .await
        .unwrap();
    // Outlook's out of office, the user's own event.
    agent::record_event(
        s,
        &a,
        &event("oof", 2, ALICE, "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n"),
    )
    .await
    .unwrap();
    agent::record_event(s, &a, &event("plain", 4, ALICE, ""))
        .await
        .unwrap();
    agent::record_event(s, &a, &event("clear", 6, ALICE, "TRANSP:TRANSPARENT\r\n"))
        .await
        .unwrap();
    // An unanswered invitation: nothing until the setting says it counts.
    agent::queue_request(s, &a, &event("unanswered", 8, BOB, &invited))
        .await
        .unwrap();
    let steps = vec![
        ("tent".to_owned(), FbType::BusyTentative),
        ("oof".to_owned(), FbType::BusyUnavailable),
        ("plain".to_owned(), FbType::Busy),
        ("clear".to_owned(), FbType::Free),
    ];
    assert_eq!(stored(s, &a).await, steps, "written by the steps");

    rebuild(s, &a, false).await;
    assert_eq!(stored(s, &a).await, steps, "after make-freebusy --reset");

    rebuild(s, &a, true).await;
    let mut with_setting = steps.clone();
    with_setting.push(("unanswered".to_owned(), FbType::BusyTentative));
    assert_eq!(
        stored(s, &a).await,
        with_setting,
        "after make-freebusy --reset --needs-action"
    );

    let answer = crate::query::freebusy(
        s,
        &a,
        &Table::FreeBusy,
        Some(at(-1)),
        Some(at(24)),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(types(&answer.periods), with_setting, "query::freebusy");
    let ical = crate::query::vfreebusy(&a, &answer.periods, None, None, Utc::now());
    let lines: Vec<&str> = ical
        .lines()
        .filter_map(|l| l.strip_prefix("FREEBUSY;FBTYPE="))
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        lines,
        [
            "BUSY",
            "BUSY-TENTATIVE",
            "BUSY-TENTATIVE",
            "BUSY-UNAVAILABLE"
        ],
        "{ical}"
    );
}
