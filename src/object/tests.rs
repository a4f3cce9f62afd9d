use super::*;
use crate::ErrorKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

fn user(s: &str) -> User {
    User::new(s).unwrap()
}

fn wrap(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n")
}

fn err(text: &str) -> String {
    let e = EventObject::parse(text).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    e.message().to_owned()
}

#[test]
fn parses_the_properties_the_store_needs() {
    let text = wrap(
        "UID:abc@example.com\r\n\
DTSTART;TZID=Europe/Oslo:20260105T090000\r\n\
DTEND;TZID=Europe/Oslo:20260105T100000\r\n\
RRULE:FREQ=WEEKLY;COUNT=3\r\n\
RDATE;VALUE=PERIOD:20260301T120000Z/PT2H,20260302T120000Z/20260302T130000Z\r\n\
RDATE;VALUE=DATE:20260401\r\n\
EXDATE;TZID=Europe/Oslo:20260112T090000,20260119T090000\r\n\
EXDATE:20260126T080000Z\r\n\
TRANSP:TRANSPARENT\r\n\
STATUS:CONFIRMED\r\n\
SUMMARY:Plan\\, review\\; and\\nmore\r\n\
ORGANIZER;CN=Bob:mailto:bob@example.com\r\n\
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n\
ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:dan@example.com\":mailto:carol@example.com\r\n\
ATTENDEE:mailto:dan@example.com\r\n\
SEQUENCE:4\r\n",
    );
    let ev = EventObject::parse(&text).unwrap();
    assert_eq!(ev.text(), text);
    assert_eq!(ev.uid().as_str(), "abc@example.com");
    assert!(ev.rid().is_none());
    let oslo = Zone::iana(chrono_tz::Europe::Oslo);
    let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap();
    assert_eq!(
        ev.dtstart(),
        Some(&TimeValue::Zoned(at("20260105T090000"), oslo.clone()))
    );
    assert_eq!(
        ev.dtend(),
        Some(&TimeValue::Zoned(at("20260105T100000"), oslo.clone()))
    );
    assert_eq!(ev.duration(), None);
    assert_eq!(ev.rrule(), Some("FREQ=WEEKLY;COUNT=3"));
    assert_eq!(ev.rule().unwrap().count(), Some(3));
    assert_eq!(ev.rdates().len(), 3);
    assert_eq!(
        ev.rdates()[0],
        RDate::Period {
            start: TimeValue::Utc(at("20260301T120000").and_utc()),
            end: PeriodEnd::Duration(NominalDuration {
                days: 0,
                seconds: 7200
            })
        }
    );
    assert_eq!(
        ev.rdates()[2],
        RDate::Time(TimeValue::Date(
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        ))
    );
    assert_eq!(ev.exdates().len(), 3);
    assert_eq!(
        ev.exdates()[1],
        TimeValue::Zoned(at("20260119T090000"), oslo)
    );
    assert_eq!(ev.transp(), Transp::Transparent);
    assert_eq!(ev.status(), Some(&Status::Confirmed));
    assert_eq!(ev.summary(), Some("Plan, review; and\nmore"));
    assert_eq!(ev.organizer(), Some("mailto:bob@example.com"));
    assert_eq!(ev.attendees().len(), 3);
    assert_eq!(ev.attendees()[0].partstat, PartStat::Accepted);
    assert_eq!(
        ev.attendees()[1].delegated_to,
        vec!["mailto:dan@example.com"]
    );
    assert_eq!(ev.attendees()[2].partstat, PartStat::NeedsAction);
    assert_eq!(ev.sequence(), 4);
}

#[test]
fn recurrence_ids_are_normalised_through_their_zone() {
    let ev = EventObject::parse(&wrap(
        "UID:x\r\nRECURRENCE-ID;TZID=Europe/Oslo:20141114T000000\r\nDTSTART:20141114T090000Z\r\n",
    ))
    .unwrap();
    assert_eq!(ev.rid().unwrap().as_str(), "20141113T230000Z");
    let ev = EventObject::parse(&wrap(
        "UID:x\r\nRECURRENCE-ID;VALUE=DATE:20141114\r\nDTSTART;VALUE=DATE:20141115\r\n",
    ))
    .unwrap();
    assert_eq!(ev.rid().unwrap().as_str(), "20141114");
    // A bare VEVENT is accepted too, and parse_for_key checks the key.
    let bare =
        "BEGIN:VEVENT\nUID:y\nRECURRENCE-ID:20260105T090000\nDTSTART:20260105T090000\nEND:VEVENT\n";
    let uid = Uid::new("y").unwrap();
    let rid = Rid::new("20260105T090000").unwrap();
    assert!(EventObject::parse_for_key(bare, &uid, Some(&rid)).is_ok());
    assert!(EventObject::parse_for_key(bare, &uid, None).is_err());
}

#[test]
fn a_custom_vtimezone_is_honoured() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\n\
BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=W. Europe Standard Time:20260701T090000\r\n\
DTSTART;TZID=W. Europe Standard Time:20260701T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let ev = EventObject::parse(text).unwrap();
    // Summer: +02:00.
    assert_eq!(ev.rid().unwrap().as_str(), "20260701T070000Z");
    assert_eq!(
        ev.dtstart().unwrap().to_utc(&chrono_tz::UTC).unwrap(),
        DateTime::parse_from_rfc3339("2026-07-01T08:00:00Z").unwrap()
    );
    assert!(matches!(ev.dtstart(), Some(TimeValue::Zoned(_, z)) if z.iana_zone().is_none()));
}

#[test]
fn durations_keep_days_nominal() {
    assert_eq!(
        NominalDuration::parse("P1DT2H").unwrap(),
        NominalDuration {
            days: 1,
            seconds: 7200
        }
    );
    assert_eq!(NominalDuration::parse("P2W").unwrap().days, 14);
    assert!(NominalDuration::parse("-PT15M").unwrap().is_negative());
    assert!(NominalDuration::parse("P1H").is_err());
}

#[test]
fn malformed_events_name_the_line() {
    let cases: Vec<(String, &str)> = vec![
        (wrap("DTSTART:20260105T090000Z\r\n"), "line 4: the VEVENT has no UID"),
        (wrap("UID:x\r\nDTSTART:20260105T0900\r\n"), "line 6: DTSTART value"),
        (wrap("UID:x\r\nDTSTART:2026-01-05\r\n"), "line 6: DTSTART value"),
        (wrap("UID:x\r\nDTSTART:20260105T090000Z\r\nDURATION:-PT1H\r\n"), "line 7: DURATION -PT1H is negative"),
        (wrap("UID:x\r\nDTSTART:20260105T090000Z\r\nRRULE:FREQ=SOMETIMES\r\n"), "line 7: RRULE"),
        (wrap("UID:x\r\nRRULE:FREQ=DAILY\r\n"), "line 6: RRULE without DTSTART"),
        (wrap("UID:x\r\nDTSTART:20260105T090000Z\r\nTRANSP:MAYBE\r\n"), "line 7: transparency"),
        (wrap("UID:x\r\nDTSTART:20260105T090000Z\r\nSEQUENCE:-1\r\n"), "line 7: SEQUENCE"),
        (wrap("UID:x\r\nUID:y\r\n"), "line 6: UID appears more than once"),
        (wrap("UID:x\r\nDTSTART:20260105T090000Z\r\nEXDATE;VALUE=PERIOD:20260105T090000Z/PT1H\r\n"), "line 7: EXDATE values cannot be periods"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VCALENDAR\r\n".into(), "line 5: END:VCALENDAR but the open component is VEVENT"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n".into(), "line 1: the calendar holds no VEVENT"),
        (format!("{}{}", wrap("UID:x\r\n"), wrap("UID:y\r\n")), "line 8: a second top-level component"),
        ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:y\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".into(), "line 5: a second VEVENT"),
        ("BEGIN:VTODO\r\nUID:x\r\nEND:VTODO\r\n".into(), "line 1: expected BEGIN:VCALENDAR or BEGIN:VEVENT"),
    ];
    for (text, want) in cases {
        let msg = err(&text);
        assert!(
            msg.starts_with(want),
            "{text:?}\n  got:  {msg}\n  want: {want}"
        );
    }
}

#[test]
fn who_counts() {
    let base = |extra: &str| {
        EventObject::parse(&wrap(&format!(
            "UID:x\r\nDTSTART:20260105T090000Z\r\n{extra}"
        )))
        .unwrap()
    };
    let alice = user("mailto:alice@example.com");
    let shouty = user("MAILTO:Alice@Example.COM");
    // Not mentioned at all: a personal calendar.
    assert!(base("").counts_for(&alice, false));
    // Organiser, whatever the case of the address.
    let org = base("ORGANIZER:mailto:ALICE@example.com\r\nATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com\r\n");
    assert!(org.counts_for(&alice, false));
    assert!(org.counts_for(&shouty, false));
    let att = |ps: &str| {
        base(&format!(
            "ORGANIZER:mailto:bob@example.com\r\nATTENDEE;{ps}:mailto:alice@example.com\r\n"
        ))
    };
    assert!(att("PARTSTAT=ACCEPTED").counts_for(&alice, false));
    assert!(att("PARTSTAT=TENTATIVE").counts_for(&shouty, false));
    assert!(!att("PARTSTAT=NEEDS-ACTION").counts_for(&alice, false));
    assert!(att("PARTSTAT=NEEDS-ACTION").counts_for(&alice, true));
    assert!(!att("RSVP=TRUE").counts_for(&alice, false));
    assert!(att("RSVP=TRUE").counts_for(&alice, true));
    assert!(!att("PARTSTAT=DECLINED").counts_for(&alice, true));
    assert!(!att("PARTSTAT=DELEGATED").counts_for(&alice, true));
    // Only others are attendees: alice appears nowhere, so it counts.
    assert!(base("ORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=DECLINED:mailto:carol@example.com\r\n").counts_for(&alice, false));
    // Cancelled never counts.
    assert!(!base("STATUS:CANCELLED\r\n").counts_for(&alice, true));
    assert!(
        !base("STATUS:cancelled\r\nORGANIZER:mailto:alice@example.com\r\n")
            .counts_for(&alice, true)
    );
}

#[test]
fn addresses_compare_on_scheme_and_mail_address() {
    assert!(same_address("mailto:a@x.org", "MAILTO:A@X.ORG"));
    assert!(same_address(" mailto:a@x.org", "a@x.org"));
    assert!(!same_address("mailto:a@x.org", "mailto:b@x.org"));
    assert!(same_address("HTTP://x/A", "http://x/A"));
    assert!(!same_address("http://x/A", "http://x/a"));
}

#[test]
fn split_calendar_copies_events_byte_for_byte() {
    let text = "BEGIN:VCALENDAR\nPRODID:-//x//y\nVERSION:2.0\nMETHOD:PUBLISH\n\
BEGIN:VTIMEZONE\nTZID:/custom/Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nEND:STANDARD\nEND:VTIMEZONE\n\
BEGIN:VTIMEZONE\nTZID:Europe/Oslo\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n\
BEGIN:VEVENT\nUID:one\nSUMMARY:folded\n  line\nDTSTART;TZID=/custom/Zone:20260105T090000\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:two\nDTSTART;TZID=Europe/Oslo:20260105T090000\nBEGIN:VALARM\nTRIGGER:-PT5M\nACTION:DISPLAY\nEND:VALARM\nEND:VEVENT\n\
END:VCALENDAR";
    let events = split_calendar(text).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].text(),
        "BEGIN:VCALENDAR\nPRODID:-//x//y\nVERSION:2.0\n\
BEGIN:VTIMEZONE\nTZID:/custom/Zone\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nEND:STANDARD\nEND:VTIMEZONE\n\
BEGIN:VEVENT\nUID:one\nSUMMARY:folded\n  line\nDTSTART;TZID=/custom/Zone:20260105T090000\nEND:VEVENT\n\
END:VCALENDAR\n"
    );
    assert_eq!(events[0].summary(), Some("folded line"));
    assert_eq!(
        events[1].text(),
        "BEGIN:VCALENDAR\nPRODID:-//x//y\nVERSION:2.0\n\
BEGIN:VTIMEZONE\nTZID:Europe/Oslo\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n\
BEGIN:VEVENT\nUID:two\nDTSTART;TZID=Europe/Oslo:20260105T090000\nBEGIN:VALARM\nTRIGGER:-PT5M\nACTION:DISPLAY\nEND:VALARM\nEND:VEVENT\n\
END:VCALENDAR\n"
    );
    // Each piece parses on its own to the same event.
    for ev in &events {
        let again = EventObject::parse(ev.text()).unwrap();
        assert_eq!(again.uid(), ev.uid());
        assert_eq!(again.dtstart(), ev.dtstart());
    }
    // The custom zone (+03:00) was used.
    assert_eq!(
        events[0]
            .dtstart()
            .unwrap()
            .to_utc(&chrono_tz::UTC)
            .unwrap(),
        DateTime::parse_from_rfc3339("2026-01-05T06:00:00Z").unwrap()
    );
}

#[test]
fn split_calendar_fails_whole_with_the_original_line() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20260105T090000Z\r\nDTEND:2026-01-04\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";
    let e = split_calendar(text).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().starts_with("line 10: DTEND"), "{e}");
}

#[test]
fn uids_are_taken_verbatim() {
    for uid in [
        " spaces ",
        "back\\slash",
        "quote'\"; DROP TABLE objects; --",
        "tab\there",
        "é ü 中文 🙂",
    ] {
        let ev = EventObject::parse(&wrap(&format!("UID:{uid}\r\nDTSTART:20260105T090000Z\r\n")))
            .unwrap();
        assert_eq!(ev.uid().as_str(), uid);
    }
    // A raw line break inside a value is not iCalendar (it must be written \n): read as a fold
    // that lost its leading space, with a warning.
    let ev = EventObject::parse(&wrap("UID:x\r\nSUMMARY:new\nline\r\n")).unwrap();
    assert_eq!(ev.summary(), Some("newline"));
    assert_eq!(ev.warnings().len(), 1, "{:?}", ev.warnings());
    assert_eq!(ev.warnings()[0].line, 7);
    assert!(ev.warnings()[0].message.contains("lost its leading space"));
}

#[test]
fn objects_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<EventObject>();
    send_sync::<Zone>();
}

#[test]
fn a_dtstart_in_a_dst_gap_is_warned_with_the_reading_chosen() {
    // The meeting: 02:30 to 03:30 on Oslo's spring-forward night. 02:30 does not
    // exist; read with the offset before the gap (+01:00) it is 01:30Z, the same instant as
    // 03:30 CEST: a period of no length, which must not pass silently.
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:gap\r\n\
                DTSTART;TZID=Europe/Oslo:20260329T023000\r\n\
                DTEND;TZID=Europe/Oslo:20260329T033000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let obj = EventObject::parse(text).unwrap();
    let warnings: Vec<String> = obj.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("line 5: DTSTART 2026-03-29 02:30:00 does not exist in Europe/Oslo")
            && warnings[0].contains("03:30:00 local, 20260329T013000Z")
            && warnings[0].contains("RFC 5545 §3.3.5"),
        "{}",
        warnings[0]
    );
    // An end in the gap is warned too; a time outside any gap is not.
    let end_in_gap = text
        .replace("T023000", "T010000")
        .replace("T033000", "T021500");
    let obj = EventObject::parse(&end_in_gap).unwrap();
    let warnings: Vec<String> = obj.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("line 6: DTEND"), "{}", warnings[0]);
    let fine = text.replace("20260329", "20260330");
    assert!(EventObject::parse(&fine).unwrap().warnings().is_empty());
}
