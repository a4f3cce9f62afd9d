use super::*;
use crate::id::Uid;
use crate::period::format_instant;
use crate::ErrorKind;

fn alice() -> User {
    User::new("mailto:alice@example.com").unwrap()
}

fn opts(tz: chrono_tz::Tz, window_end: &str) -> ExpandOptions {
    ExpandOptions {
        tz,
        window_end: crate::period::parse_instant(window_end).unwrap(),
        needs_action: false,
    }
}

fn event(body: &str) -> EventObject {
    EventObject::parse(&format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    .unwrap()
}

fn spans(e: &Expansion) -> Vec<String> {
    e.periods
        .iter()
        .map(|p| format!("{}/{}", format_instant(p.start), format_instant(p.end)))
        .collect()
}

#[test]
fn a_single_event_keeps_its_details() {
    let ev = event(
        "UID:one\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:Plan\r\n\
ORGANIZER:mailto:alice@example.com\r\nTRANSP:TRANSPARENT\r\n",
    );
    let e = expand(
        &alice(),
        Some(&ev),
        &[],
        &opts(chrono_tz::UTC, "20260101T000000Z"),
    )
    .unwrap();
    assert_eq!(spans(&e), ["20260105T090000Z/20260105T100000Z"]);
    let p = &e.periods[0];
    assert_eq!(p.uid, Uid::new("one").unwrap());
    assert_eq!(p.rid, None);
    assert_eq!(p.fbtype, crate::FbType::Free);
    assert_eq!(p.summary.as_deref(), Some("Plan"));
    assert_eq!(p.organiser.as_deref(), Some("mailto:alice@example.com"));
    assert_eq!(p.expiry, None);
    assert_eq!(p.attendee, None);
    assert!(!e.unbounded);
}

#[test]
fn default_durations() {
    let o = opts(chrono_tz::Europe::Oslo, "20270101T000000Z");
    // A date-time without end has no length; a date lasts a day (in the user's zone).
    let e = expand(
        &alice(),
        Some(&event("UID:a\r\nDTSTART:20260105T090000Z\r\n")),
        &[],
        &o,
    )
    .unwrap();
    assert_eq!(spans(&e), ["20260105T090000Z/20260105T090000Z"]);
    let e = expand(
        &alice(),
        Some(&event("UID:a\r\nDTSTART;VALUE=DATE:20260105\r\n")),
        &[],
        &o,
    )
    .unwrap();
    assert_eq!(spans(&e), ["20260104T230000Z/20260105T230000Z"]);
    // P1D across the spring change is a nominal day: 23 hours here.
    let e = expand(
        &alice(),
        Some(&event(
            "UID:a\r\nDTSTART;TZID=Europe/Oslo:20260328T120000\r\nDURATION:P1D\r\n",
        )),
        &[],
        &o,
    )
    .unwrap();
    assert_eq!(spans(&e), ["20260328T110000Z/20260329T100000Z"]);
}

#[test]
fn a_rule_that_never_matches_gives_dtstart_only_and_ends() {
    let ev = event(
        "UID:feb31\r\nDTSTART:20260131T090000Z\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31\r\n",
    );
    let t = std::time::Instant::now();
    let e = expand(
        &alice(),
        Some(&ev),
        &[],
        &opts(chrono_tz::UTC, "20260501T000000Z"),
    )
    .unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(spans(&e), ["20260131T090000Z/20260131T090000Z"]);
    assert!(e.unbounded);
}

#[test]
fn a_huge_count_is_cut_at_the_window_and_reported_unbounded() {
    let ev = event(
        "UID:huge\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T093000Z\r\nRRULE:FREQ=DAILY;COUNT=4000000\r\n",
    );
    let e = expand(
        &alice(),
        Some(&ev),
        &[],
        &opts(chrono_tz::UTC, "20260108T000000Z"),
    )
    .unwrap();
    assert_eq!(
        spans(&e),
        [
            "20260105T090000Z/20260105T093000Z",
            "20260106T090000Z/20260106T093000Z",
            "20260107T090000Z/20260107T093000Z"
        ]
    );
    assert!(e.unbounded);
    // A modest COUNT is expanded completely, past the window.
    let ev = event("UID:c\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=YEARLY;COUNT=3\r\n");
    let e = expand(
        &alice(),
        Some(&ev),
        &[],
        &opts(chrono_tz::UTC, "20260108T000000Z"),
    )
    .unwrap();
    assert_eq!(e.periods.len(), 3);
    assert!(!e.unbounded);
}

#[test]
fn a_far_until_beyond_the_cap_is_windowed_too() {
    let ev = event(
        "UID:far\r\nDTSTART:20260105T000000Z\r\nRRULE:FREQ=HOURLY;UNTIL=20991231T000000Z\r\n",
    );
    let e = expand(
        &alice(),
        Some(&ev),
        &[],
        &opts(chrono_tz::UTC, "20260105T030000Z"),
    )
    .unwrap();
    assert_eq!(e.periods.len(), 3);
    assert!(e.unbounded);
}

#[test]
fn instances_must_belong_to_the_parent() {
    let parent = event("UID:p\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=DAILY;COUNT=2\r\n");
    let other = event("UID:q\r\nRECURRENCE-ID:20260105T090000Z\r\nDTSTART:20260105T100000Z\r\n");
    let o = opts(chrono_tz::UTC, "20270101T000000Z");
    let e = expand(&alice(), Some(&parent), &[(other, EventStatus::Active)], &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let not_instance = event("UID:p\r\nDTSTART:20260105T100000Z\r\n");
    assert!(expand(
        &alice(),
        Some(&parent),
        &[(not_instance, EventStatus::Active)],
        &o
    )
    .is_err());
}

#[test]
fn instances_replace_by_rid_or_by_instant() {
    // A floating parent in Oslo; the instance names the occurrence in UTC.
    let parent = event(
        "UID:p\r\nDTSTART:20260105T090000\r\nDTEND:20260105T100000\r\nRRULE:FREQ=DAILY;COUNT=2\r\n",
    );
    let inst = event(
        "UID:p\r\nRECURRENCE-ID:20260106T080000Z\r\nDTSTART:20260106T140000\r\nDTEND:20260106T150000\r\n",
    );
    let o = opts(chrono_tz::Europe::Oslo, "20270101T000000Z");
    let e = expand(&alice(), Some(&parent), &[(inst, EventStatus::Active)], &o).unwrap();
    assert_eq!(
        spans(&e),
        [
            "20260105T080000Z/20260105T090000Z",
            "20260106T130000Z/20260106T140000Z"
        ]
    );
    assert_eq!(
        e.periods[1].rid.as_ref().unwrap().as_str(),
        "20260106T080000Z"
    );
}

#[test]
fn a_declined_parent_gives_nothing_but_an_accepted_instance_counts() {
    let parent = event(
        "UID:p\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=DAILY\r\nORGANIZER:mailto:bob@example.com\r\n\
ATTENDEE;PARTSTAT=DECLINED:mailto:alice@example.com\r\n",
    );
    let inst = event(
        "UID:p\r\nRECURRENCE-ID:20260106T090000Z\r\nDTSTART:20260106T090000Z\r\nDURATION:PT1H\r\n\
ORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n",
    );
    let o = opts(chrono_tz::UTC, "20260110T000000Z");
    let e = expand(&alice(), Some(&parent), &[(inst, EventStatus::Active)], &o).unwrap();
    assert_eq!(spans(&e), ["20260106T090000Z/20260106T100000Z"]);
    assert!(!e.unbounded);
}

#[test]
fn a_cancelled_parent_cancels_everything() {
    let parent =
        event("UID:p\r\nDTSTART:20260105T090000Z\r\nSTATUS:CANCELLED\r\nRRULE:FREQ=DAILY\r\n");
    let inst = event("UID:p\r\nRECURRENCE-ID:20260106T090000Z\r\nDTSTART:20260106T100000Z\r\n");
    let o = opts(chrono_tz::UTC, "20260110T000000Z");
    let e = expand(&alice(), Some(&parent), &[(inst, EventStatus::Active)], &o).unwrap();
    assert!(e.periods.is_empty());
    assert!(!e.unbounded);
}

#[test]
fn a_date_exdate_removes_the_day_of_a_date_time_rule() {
    let parent = event(
        "UID:p\r\nDTSTART;TZID=America/New_York:20260105T220000\r\nDURATION:PT1H\r\n\
RRULE:FREQ=DAILY;COUNT=3\r\nEXDATE;VALUE=DATE:20260106\r\n",
    );
    let e = expand(
        &alice(),
        Some(&parent),
        &[],
        &opts(chrono_tz::UTC, "20270101T000000Z"),
    )
    .unwrap();
    // 22:00 EST = 03:00Z the next day; the 6th (New York date) is excluded.
    assert_eq!(
        spans(&e),
        [
            "20260106T030000Z/20260106T040000Z",
            "20260108T030000Z/20260108T040000Z"
        ]
    );
}

#[test]
fn huge_durations_are_clamped_not_overflowed() {
    let o = opts(chrono_tz::Europe::Oslo, "20270101T000000Z");
    for body in [
        "DTSTART:20260105T090000Z\r\nDURATION:P99999999W\r\nRRULE:FREQ=DAILY;COUNT=2\r\n",
        "DTSTART:20260105T090000Z\r\nDURATION:PT9999999999999S\r\n",
        "DTSTART;VALUE=DATE:20260105\r\nDURATION:P99999999W\r\n",
        "DTSTART:20260105T090000\r\nDURATION:P99999999DT99999999S\r\n",
    ] {
        let e = expand(&alice(), Some(&event(&format!("UID:a\r\n{body}"))), &[], &o).unwrap();
        assert!(!e.periods.is_empty(), "{body}");
        for p in &e.periods {
            assert_eq!(p.end, LAST_INSTANT, "{body}");
        }
    }
}

#[test]
fn a_cancelled_thisandfuture_instance_ends_the_series_there() {
    let o = opts(chrono_tz::UTC, "20270101T000000Z");
    let parent = event(
        "UID:s\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n",
    );
    let cut = event(
        "UID:s\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20260112T090000Z\r\nDTSTART:20260112T090000Z\r\n\
STATUS:CANCELLED\r\n",
    );
    assert!(cut.is_this_and_future());
    let e = expand(&alice(), Some(&parent), &[(cut, EventStatus::Active)], &o).unwrap();
    assert_eq!(spans(&e), ["20260105T090000Z/20260105T100000Z"]);
}

#[test]
fn a_rule_too_costly_is_refused_naming_the_uid() {
    let o = opts(chrono_tz::UTC, "20270101T000000Z");
    let ev = event("UID:busy-bee\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=SECONDLY\r\n");
    let e = expand(&alice(), Some(&ev), &[], &o).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.message().contains("busy-bee") && e.message().contains("too costly"),
        "{e}"
    );
}

/// The period's FBTYPE is the busy rule's: the user's own answer, STATUS, Outlook's busy status
/// and the needs-action setting; an instance has its own, the parent's occurrences theirs.
#[test]
fn periods_carry_the_busy_rules_fbtype() {
    use crate::FbType;
    let one = |extra: &str, needs_action: bool| {
        let ev = event(&format!(
            "UID:x\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n\
ORGANIZER:mailto:bob@example.com\r\n{extra}"
        ));
        let mut o = opts(chrono_tz::UTC, "20260110T000000Z");
        o.needs_action = needs_action;
        let e = expand(&alice(), Some(&ev), &[], &o).unwrap();
        e.periods.first().map(|p| p.fbtype)
    };
    let me = |partstat: &str| format!("ATTENDEE;PARTSTAT={partstat}:mailto:alice@example.com\r\n");
    assert_eq!(one(&me("ACCEPTED"), false), Some(FbType::Busy));
    assert_eq!(one(&me("TENTATIVE"), false), Some(FbType::BusyTentative));
    assert_eq!(one(&me("NEEDS-ACTION"), false), None, "not included");
    assert_eq!(one(&me("NEEDS-ACTION"), true), Some(FbType::BusyTentative));
    assert_eq!(
        one("X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n", false),
        Some(FbType::BusyUnavailable)
    );
    assert_eq!(
        one(
            &format!("{}X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n", me("TENTATIVE")),
            false
        ),
        Some(FbType::BusyTentative)
    );
    assert_eq!(
        one("STATUS:TENTATIVE\r\n", false),
        Some(FbType::BusyTentative)
    );
    assert_eq!(
        one("X-MICROSOFT-CDO-BUSYSTATUS:FREE\r\n", false),
        Some(FbType::Free),
        "recorded, as TRANSPARENT is"
    );

    let parent = event(
        "UID:p\r\nDTSTART:20260105T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=2\r\n\
ORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n",
    );
    let inst = event(
        "UID:p\r\nRECURRENCE-ID:20260106T090000Z\r\nDTSTART:20260106T090000Z\r\nDURATION:PT1H\r\n\
ORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=TENTATIVE:mailto:alice@example.com\r\n",
    );
    let o = opts(chrono_tz::UTC, "20260110T000000Z");
    let e = expand(&alice(), Some(&parent), &[(inst, EventStatus::Active)], &o).unwrap();
    let types: Vec<FbType> = e.periods.iter().map(|p| p.fbtype).collect();
    assert_eq!(types, [FbType::Busy, FbType::BusyTentative]);
}
