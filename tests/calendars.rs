//! Real calendars, expanded as `calstore import --user mailto:alice@example.com --tz Europe/Oslo`
//! would: each file in `tests/data` is split into its events, grouped by UID (parent and
//! instances), and expanded for alice with Europe/Oslo as her zone.
//!
//! The expected periods were worked out by hand (the reasoning is in the comments; Oslo is
//! UTC+01:00 in winter, UTC+02:00 from the last Sunday of March 02:00 to the last Sunday of
//! October 03:00; New York is UTC−05:00 in winter, UTC−04:00 from the second Sunday of March to
//! the first Sunday of November). Each bounded calendar's periods are also kept in
//! `NAME.expected.json` for the CLI's tests; `CALSTORE_BLESS=1` rewrites those files from the
//! checked results. Files named `*.unbounded.ics` (rules without end) and `*.invalid.ics`
//! (malformed) have no JSON.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeMap;
use std::path::PathBuf;

use calstore::object::{split_calendar, split_families, EventObject};
use calstore::period::{format_instant, parse_instant};
use calstore::recurrence::{expand, ExpandOptions, Expansion};
use calstore::{ErrorKind, EventStatus, Period, User};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(data_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn alice() -> User {
    User::new("mailto:alice@example.com").unwrap()
}

fn options(tz: chrono_tz::Tz, window_end: &str) -> ExpandOptions {
    ExpandOptions {
        tz,
        window_end: parse_instant(window_end).unwrap(),
        needs_action: false,
    }
}

/// The window end used for bounded calendars: it must not matter for them.
const ANY_WINDOW: &str = "20250101T000000Z";

/// A parent (if stored) and its instances.
type Event = (Option<EventObject>, Vec<(EventObject, EventStatus)>);

/// Groups split events by UID.
fn group(events: Vec<EventObject>) -> BTreeMap<String, Event> {
    let mut by_uid: BTreeMap<String, Event> = BTreeMap::new();
    for ev in events {
        let entry = by_uid.entry(ev.uid().as_str().to_owned()).or_default();
        if ev.rid().is_some() {
            entry.1.push((ev, EventStatus::Active));
        } else {
            assert!(entry.0.is_none(), "two parents for {}", ev.uid());
            entry.0 = Some(ev);
        }
    }
    by_uid
}

/// The user's free/busy table after importing the text, and the UIDs found unbounded.
fn import_text(text: &str, opts: &ExpandOptions) -> (Vec<Period>, Vec<String>) {
    let mut table = Vec::new();
    let mut unbounded = Vec::new();
    for (uid, (parent, instances)) in group(split_calendar(text).unwrap()) {
        let Expansion {
            periods,
            unbounded: u,
        } = expand(&alice(), parent.as_ref(), &instances, opts).unwrap();
        if u {
            unbounded.push(uid);
        }
        table.extend(periods);
    }
    (calstore::period::normalise(table), unbounded)
}

fn import(name: &str, opts: &ExpandOptions) -> (Vec<Period>, Vec<String>) {
    import_text(&read(name), opts)
}

/// `START/END` per period.
fn spans(periods: &[Period]) -> Vec<String> {
    periods
        .iter()
        .map(|p| format!("{}/{}", format_instant(p.start), format_instant(p.end)))
        .collect()
}

/// `START/END uid rid transp summary organiser` per period.
fn rows(periods: &[Period]) -> Vec<String> {
    periods
        .iter()
        .map(|p| {
            format!(
                "{}/{} {} {} {} {} {}",
                format_instant(p.start),
                format_instant(p.end),
                p.uid,
                p.rid.as_ref().map_or("-", |r| r.as_str()),
                p.fbtype.transp().as_str(),
                p.summary.as_deref().unwrap_or("-"),
                p.organiser.as_deref().unwrap_or("-"),
            )
        })
        .collect()
}

fn json_string(out: &mut String, s: Option<&str>) {
    let Some(s) = s else {
        out.push_str("null");
        return;
    };
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The table as `calstore freebusy --format json` prints it (keys and order of CLI.md).
fn to_json(periods: &[Period]) -> String {
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut out = String::from("[");
    for (i, p) in periods.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str("{\"start\": ");
        json_string(&mut out, Some(&rfc(p.start)));
        out.push_str(", \"end\": ");
        json_string(&mut out, Some(&rfc(p.end)));
        out.push_str(", \"uid\": ");
        json_string(&mut out, Some(p.uid.as_str()));
        out.push_str(", \"rid\": ");
        json_string(&mut out, p.rid.as_ref().map(|r| r.as_str()));
        out.push_str(", \"transp\": ");
        json_string(&mut out, Some(p.fbtype.transp().as_str()));
        out.push_str(", \"fbtype\": ");
        json_string(&mut out, Some(p.fbtype.as_str()));
        out.push_str(", \"summary\": ");
        json_string(&mut out, p.summary.as_deref());
        out.push_str(", \"organiser\": ");
        json_string(&mut out, p.organiser.as_deref());
        out.push_str(", \"expires\": ");
        json_string(&mut out, p.expiry.map(rfc).as_deref());
        out.push('}');
    }
    out.push_str(if periods.is_empty() { "]\n" } else { "\n]\n" });
    out
}

/// Checks (or with `CALSTORE_BLESS=1` writes) `NAME.expected.json` for `NAME.ics`.
fn check_json(name: &str, periods: &[Period]) {
    let path = data_dir().join(name.replace(".ics", ".expected.json"));
    let json = to_json(periods);
    if std::env::var_os("CALSTORE_BLESS").is_some() {
        std::fs::write(&path, &json).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with CALSTORE_BLESS=1 to write it)",
            path.display()
        )
    });
    assert_eq!(stored, json, "{} is out of date", path.display());
}

/// Imports a bounded calendar, checks its spans and its JSON twin, and returns the periods.
fn bounded(name: &str, want: &[&str]) -> Vec<Period> {
    let opts = options(chrono_tz::Europe::Oslo, ANY_WINDOW);
    let (periods, unbounded) = import(name, &opts);
    assert_eq!(spans(&periods), want, "{name}");
    assert!(unbounded.is_empty(), "{name}: {unbounded:?}");
    // Bounded: a much later window changes nothing.
    let later = options(chrono_tz::Europe::Oslo, "20991231T000000Z");
    assert_eq!(
        spans(&import(name, &later).0),
        want,
        "{name} (later window)"
    );
    check_json(name, &periods);
    periods
}

#[test]
fn oslo_weekly_meetings_keep_their_wall_clock_time_across_dst() {
    let periods = bounded(
        "oslo-dst.ics",
        &[
            // Spring standup, Mondays 09:00–10:00: 16 and 23 March are CET (+1) → 08:00Z; the
            // clocks go forward on Sunday 29 March, so 30 March is CEST (+2) → 07:00Z.
            "20260316T080000Z/20260316T090000Z",
            "20260323T080000Z/20260323T090000Z",
            // Nightly job 02:30 for 30 minutes: 28 March CET → 01:30Z. 29 March 02:30 does not
            // exist (02:00 jumps to 03:00): RFC 5545 reads it with the offset before the gap
            // (+1), i.e. 03:30 CEST = 01:30Z.
            "20260328T013000Z/20260328T020000Z",
            "20260329T013000Z/20260329T020000Z",
            // 30 March 02:30 CEST (+2) → 00:30Z.
            "20260330T003000Z/20260330T010000Z",
            "20260330T070000Z/20260330T080000Z",
            // Weekly planning, Mondays 09:00–10:00 from 12 October: 12 and 19 October are CEST
            // → 07:00Z; clocks go back on Sunday 25 October, so 26 October and 2 November are
            // CET → 08:00Z.
            "20261012T070000Z/20261012T080000Z",
            "20261019T070000Z/20261019T080000Z",
            // Nightly job in October: 24th 02:30 CEST → 00:30Z; on the 25th 02:30 happens twice
            // (CEST then CET): the first is taken → 00:30Z; 26th 02:30 CET → 01:30Z.
            "20261024T003000Z/20261024T010000Z",
            "20261025T003000Z/20261025T010000Z",
            "20261026T013000Z/20261026T020000Z",
            "20261026T080000Z/20261026T090000Z",
            "20261102T080000Z/20261102T090000Z",
        ],
    );
    assert_eq!(
        rows(&periods[..1]),
        ["20260316T080000Z/20260316T090000Z oslo-spring@example.com - OPAQUE Spring standup -"]
    );
    assert_eq!(
        periods[6].organiser.as_deref(),
        Some("mailto:alice@example.com")
    );
    // The user's own zone plays no part for zoned events.
    let ny = options(chrono_tz::America::New_York, ANY_WINDOW);
    assert_eq!(spans(&import("oslo-dst.ics", &ny).0), spans(&periods));
}

#[test]
fn new_york_weekly_meetings_across_both_changes() {
    bounded(
        "newyork-dst.ics",
        &[
            // Tuesdays 09:00–09:30 New York. 3 March is EST (−5) → 14:00Z; DST starts Sunday
            // 8 March, so 10 March is EDT (−4) → 13:00Z.
            "20260303T140000Z/20260303T143000Z",
            "20260310T130000Z/20260310T133000Z",
            // 27 October is EDT → 13:00Z; DST ends Sunday 1 November, so 3 November is EST →
            // 14:00Z. (Alice is TENTATIVE here, written MAILTO:Alice@Example.com.)
            "20261027T130000Z/20261027T133000Z",
            "20261103T140000Z/20261103T143000Z",
        ],
    );
}

#[test]
fn all_day_events_are_whole_days_in_the_users_zone() {
    let periods = bounded(
        "allday.ics",
        &[
            // 5–6 January (DTEND 7 January is exclusive): midnight CET → 23:00Z the day before.
            "20260104T230000Z/20260106T230000Z",
            // 29 March without DTEND lasts one day: 00:00 CET (28th 23:00Z) to 00:00 CEST on
            // the 30th (29th 22:00Z): a 23-hour day.
            "20260328T230000Z/20260329T220000Z",
            // Fridays 10, 17 and 24 April (UNTIL=20260424 is inclusive), CEST: 22:00Z the day
            // before to 22:00Z.
            "20260409T220000Z/20260410T220000Z",
            "20260416T220000Z/20260417T220000Z",
            "20260423T220000Z/20260424T220000Z",
        ],
    );
    assert_eq!(periods[2].fbtype, calstore::FbType::Free);
    assert_eq!(periods[0].fbtype, calstore::FbType::Busy);
    // In New York the same dates are other instants: midnight EST = 05:00Z.
    let ny = options(chrono_tz::America::New_York, ANY_WINDOW);
    assert_eq!(
        spans(&import("allday.ics", &ny).0)[0],
        "20260105T050000Z/20260107T050000Z"
    );
}

#[test]
fn floating_times_are_read_in_the_users_zone() {
    bounded(
        "floating.ics",
        &[
            // 5 January 09:00–10:00 floating, read in Oslo (CET) → 08:00Z.
            "20260105T080000Z/20260105T090000Z",
            // Tuesdays 18:00 for 1h30: 24 March CET → 17:00Z; 31 March CEST → 16:00Z.
            "20260324T170000Z/20260324T183000Z",
            "20260331T160000Z/20260331T173000Z",
        ],
    );
    let ny = options(chrono_tz::America::New_York, ANY_WINDOW);
    assert_eq!(
        spans(&import("floating.ics", &ny).0),
        [
            // 09:00 EST → 14:00Z; 18:00 EDT (after 8 March) → 22:00Z.
            "20260105T140000Z/20260105T150000Z",
            "20260324T220000Z/20260324T233000Z",
            "20260331T220000Z/20260331T233000Z",
        ]
    );
}

#[test]
fn monthly_on_the_last_friday() {
    bounded(
        "monthly-last-friday.ics",
        &[
            // Last Fridays of 2026 at 14:00 Oslo: 30 Jan, 27 Feb, 27 Mar (before the 29 March
            // change) are CET → 13:00Z; 24 Apr, 29 May, 26 Jun are CEST → 12:00Z.
            "20260130T130000Z/20260130T140000Z",
            "20260227T130000Z/20260227T140000Z",
            "20260327T130000Z/20260327T140000Z",
            "20260424T120000Z/20260424T130000Z",
            "20260529T120000Z/20260529T130000Z",
            "20260626T120000Z/20260626T130000Z",
        ],
    );
}

#[test]
fn exdates_with_tzid_several_values_and_lines() {
    bounded(
        "exdate-tzid.ics",
        &[
            // Mondays 10:00 CET (09:00Z), six of them: 5, 12, 19, 26 Jan, 2, 9 Feb. EXDATE with
            // TZID removes 12 and 26 Jan; EXDATE 20260202T090000Z (the same instant as
            // 2 Feb 10:00 CET) removes 2 Feb.
            "20260105T090000Z/20260105T100000Z",
            "20260119T090000Z/20260119T100000Z",
            "20260209T090000Z/20260209T100000Z",
        ],
    );
}

#[test]
fn an_instance_moved_to_another_day_replaces_its_occurrence() {
    let periods = bounded(
        "override-moved.ics",
        &[
            // Wednesdays 13:00 CET (12:00Z) on 7, 14, 21 January; the instance with
            // RECURRENCE-ID 14 January 13:00 (12:00Z) moves it to Thursday 15th 15:00 CET.
            "20260107T120000Z/20260107T130000Z",
            "20260115T140000Z/20260115T150000Z",
            "20260121T120000Z/20260121T130000Z",
        ],
    );
    assert_eq!(
        rows(&periods),
        [
            "20260107T120000Z/20260107T130000Z override@example.com - OPAQUE Design review mailto:alice@example.com",
            "20260115T140000Z/20260115T150000Z override@example.com 20260114T120000Z OPAQUE Design review (moved to Thursday) mailto:alice@example.com",
            "20260121T120000Z/20260121T130000Z override@example.com - OPAQUE Design review mailto:alice@example.com",
        ]
    );

    // The same instance stored as cancelled (EventStatus::Cancelled) removes the occurrence and
    // adds nothing.
    let opts = options(chrono_tz::Europe::Oslo, ANY_WINDOW);
    let mut events = split_calendar(&read("override-moved.ics")).unwrap();
    assert_eq!(events.len(), 2);
    let instance = events.pop().unwrap();
    let parent = events.pop().unwrap();
    assert_eq!(instance.rid().unwrap().as_str(), "20260114T120000Z");
    let e = expand(
        &alice(),
        Some(&parent),
        &[(instance.clone(), EventStatus::Cancelled)],
        &opts,
    )
    .unwrap();
    assert_eq!(
        spans(&e.periods),
        [
            "20260107T120000Z/20260107T130000Z",
            "20260121T120000Z/20260121T130000Z"
        ]
    );
    // Without the instance the parent has its three Wednesdays.
    let e = expand(&alice(), Some(&parent), &[], &opts).unwrap();
    assert_eq!(spans(&e.periods)[1], "20260114T120000Z/20260114T130000Z");
    // The instance alone (its parent not stored) still gives its own period.
    let e = expand(&alice(), None, &[(instance, EventStatus::Active)], &opts).unwrap();
    assert_eq!(spans(&e.periods), ["20260115T140000Z/20260115T150000Z"]);
}

#[test]
fn rdate_periods_dates_and_durations() {
    bounded(
        "rdate-periods.ics",
        &[
            // DTSTART 2 Feb 10:00–11:00 CET → 09:00Z.
            "20260202T090000Z/20260202T100000Z",
            // RDATE PERIOD start/end in UTC keeps its own end (3 hours).
            "20260210T120000Z/20260210T150000Z",
            // RDATE PERIOD start/duration PT30M.
            "20260212T080000Z/20260212T083000Z",
            // RDATE with TZID: 15 Feb 10:00 CET → 09:00Z, with the event's hour.
            "20260215T090000Z/20260215T100000Z",
        ],
    );
}

#[test]
fn count_and_until() {
    bounded(
        "count-until.ics",
        &[
            // COUNT=3 daily from 1 March 08:00Z.
            "20260301T080000Z/20260301T083000Z",
            "20260302T080000Z/20260302T083000Z",
            // Mondays 17:00 CET (16:00Z) UNTIL=20260316T160000Z: 2, 9 and 16 March (UNTIL is
            // inclusive and equals the third occurrence); 23 March is past it.
            "20260302T160000Z/20260302T170000Z",
            "20260303T080000Z/20260303T083000Z",
            "20260309T160000Z/20260309T170000Z",
            "20260316T160000Z/20260316T170000Z",
        ],
    );
}

#[test]
fn a_cancelled_instance_removes_its_occurrence() {
    bounded(
        "cancelled-instance.ics",
        &[
            // Daily 08:00 CET (07:00Z) on 3, 4, 5 February; the instance of the 4th has
            // STATUS:CANCELLED.
            "20260203T070000Z/20260203T080000Z",
            "20260205T070000Z/20260205T080000Z",
        ],
    );
    // An instance alice declined (not cancelled) also removes the occurrence and adds nothing.
    let text = read("cancelled-instance.ics").replace("STATUS:CANCELLED\r\n", "");
    let last = text.rfind("PARTSTAT=ACCEPTED").unwrap();
    let declined = format!(
        "{}PARTSTAT=DECLINED{}",
        &text[..last],
        &text[last + "PARTSTAT=ACCEPTED".len()..]
    );
    let opts = options(chrono_tz::Europe::Oslo, ANY_WINDOW);
    assert_eq!(
        spans(&import_text(&declined, &opts).0),
        [
            "20260203T070000Z/20260203T080000Z",
            "20260205T070000Z/20260205T080000Z"
        ]
    );
    // Accepted and active, it is an ordinary moved-nowhere instance with its own rid.
    let accepted = read("cancelled-instance.ics").replace("STATUS:CANCELLED\r\n", "");
    let (periods, _) = import_text(&accepted, &opts);
    assert_eq!(
        rows(&periods)[1],
        "20260204T070000Z/20260204T080000Z cancel@example.com 20260204T070000Z OPAQUE Morning sync mailto:bob@example.com"
    );
}

#[test]
fn a_declined_event_is_not_busy() {
    bounded("declined.ics", &[]);
    let mut opts = options(chrono_tz::Europe::Oslo, ANY_WINDOW);
    opts.needs_action = true;
    assert!(import("declined.ics", &opts).0.is_empty());
    // Bob, the organiser, has it.
    let bob = User::new("mailto:bob@example.com").unwrap();
    let events = split_calendar(&read("declined.ics")).unwrap();
    let e = expand(&bob, Some(&events[0]), &[], &opts).unwrap();
    assert_eq!(e.periods.len(), 3);
}

#[test]
fn a_non_iana_tzid_uses_the_calendars_vtimezone() {
    bounded(
        "custom-tzid.ics",
        &[
            // "/custom/India" is a fixed +05:30: 10:00 → 04:30Z.
            "20260105T043000Z/20260105T053000Z",
            // "Customized Time Zone" (Outlook's name) is −02:30 in summer and −03:30 from the
            // first Sunday of November (1 November 2026): Fridays 09:00 on 23 and 30 October
            // → 11:30Z, on 6 November → 12:30Z. No IANA zone or the user's zone gives this.
            "20261023T113000Z/20261023T123000Z",
            "20261030T113000Z/20261030T123000Z",
            "20261106T123000Z/20261106T133000Z",
        ],
    );
}

#[test]
fn a_rule_without_end_is_cut_at_the_window() {
    let name = "weekly-forever.unbounded.ics";
    // Mondays 09:00–09:30 Oslo from 5 January (08:00Z in winter); the 12 January occurrence
    // moved to Tuesday the 13th. A window ending at 2 February 08:00Z exactly leaves out the
    // occurrence starting then (only occurrences starting before the end are generated).
    let (periods, unbounded) = import(name, &options(chrono_tz::Europe::Oslo, "20260202T080000Z"));
    assert_eq!(
        spans(&periods),
        [
            "20260105T080000Z/20260105T083000Z",
            "20260113T080000Z/20260113T083000Z",
            "20260119T080000Z/20260119T083000Z",
            "20260126T080000Z/20260126T083000Z",
        ]
    );
    assert_eq!(
        periods[1].rid.as_ref().unwrap().as_str(),
        "20260112T080000Z"
    );
    assert_eq!(unbounded, ["forever@example.com"]);
    let (periods, _) = import(name, &options(chrono_tz::Europe::Oslo, "20260202T080001Z"));
    assert_eq!(
        spans(&periods).last().unwrap(),
        "20260202T080000Z/20260202T083000Z"
    );
    // A window into April crosses the spring change: 23 March 08:00Z, 30 March 07:00Z.
    let (periods, _) = import(name, &options(chrono_tz::Europe::Oslo, "20260401T000000Z"));
    assert_eq!(periods.len(), 13);
    assert_eq!(
        spans(&periods[11..]),
        [
            "20260323T080000Z/20260323T083000Z",
            "20260330T070000Z/20260330T073000Z"
        ]
    );
}

#[test]
fn malformed_files_fail_whole_with_the_line_number() {
    let cases = [
        (
            "missing-end.invalid.ics",
            "line 4: BEGIN:VEVENT is never closed",
        ),
        (
            "wrong-nesting.invalid.ics",
            "line 9: END:VEVENT but the open component is VALARM (BEGIN at line 7)",
        ),
        (
            "bad-dtstart.invalid.ics",
            "line 7: DTSTART value \"2026-01-05T09:00:00\" is not a DATE",
        ),
    ];
    for (name, want) in cases {
        let e = split_calendar(&read(name)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}");
        assert!(
            e.message().starts_with(want),
            "{name}:\n  got:  {}\n  want: {want}",
            e.message()
        );
    }
}

#[test]
fn every_calendar_is_accounted_for() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ics"))
        .collect();
    names.sort();
    assert!(names.len() >= 17, "{names:?}");
    for name in names {
        let json = data_dir().join(name.replace(".ics", ".expected.json"));
        let special = name.ends_with(".unbounded.ics") || name.ends_with(".invalid.ics");
        if std::env::var_os("CALSTORE_BLESS").is_none() {
            assert_eq!(
                json.exists(),
                !special,
                "{name}: expected.json present only for bounded, valid calendars"
            );
        }
        let text = read(&name);
        if name.ends_with(".invalid.ics") {
            assert!(split_calendar(&text).is_err(), "{name}");
            continue;
        }
        // Each split piece is a calendar of its own that parses to the same event, and the
        // VEVENT's bytes are copied unchanged.
        for ev in split_calendar(&text).unwrap() {
            let again = EventObject::parse(ev.text()).unwrap();
            assert_eq!(again.uid(), ev.uid());
            assert_eq!(again.rid(), ev.rid());
            assert_eq!(again.dtstart(), ev.dtstart());
            let begin = ev.text().find("BEGIN:VEVENT").unwrap();
            let end = ev.text().rfind("END:VEVENT").unwrap();
            // (Apart from a UID line added to a VEVENT that had none.)
            let added = format!("UID:{}\r\n", ev.uid().as_str());
            let own = ev.text()[begin..end].to_owned();
            let own = if text.contains(&added) {
                own
            } else {
                own.replacen(&added, "", 1)
            };
            assert!(text.contains(&own), "{name}");
        }
    }
}

/// One hand-written calendar per producer quirk (docs/compatibility.md): the periods it gives
/// for alice in Oslo, and the warnings (line, words) that say how it was read. Warnings outside
/// any event (a byte-order mark, the calendar's own lines) are the file's.
#[test]
fn quirks_are_read_as_the_reference_implementations_read_them() {
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(usize, &'a str)]);
    let cases: &[Case] = &[
        (
            "quirk-dtend-and-duration.ics",
            // DTEND wins over DURATION (PT3H).
            &["20260105T090000Z/20260105T100000Z"],
            &[(8, "DTEND and DURATION are both given")],
        ),
        (
            "quirk-dtend-before-dtstart.ics",
            &["20260105T090000Z/20260105T100000Z"],
            &[(7, "the two are swapped")],
        ),
        (
            "quirk-date-and-date-time.ics",
            // Midnight of the date in the other value's frame (UTC here), as
            // recurring-ical-events reads it.
            &[
                "20260106T000000Z/20260106T120000Z",
                "20260107T090000Z/20260108T000000Z",
            ],
            &[
                (7, "the start is read as midnight"),
                (13, "the end is read as midnight"),
            ],
        ),
        (
            "quirk-repeated-dtstart.ics",
            &["20260105T090000Z/20260105T100000Z"],
            &[(7, "DTSTART appears more than once")],
        ),
        (
            "quirk-lost-fold.ics",
            &["20260105T090000Z/20260105T100000Z"],
            &[(9, "lost its leading space"), (10, "ignored")],
        ),
        (
            "quirk-bom.ics",
            &["20260105T090000Z/20260105T100000Z"],
            &[(1, "byte-order mark")],
        ),
        (
            "quirk-whitespace-names.ics",
            // 10:00 in Berlin (CET) → 09:00Z.
            &["20260105T090000Z/20260105T100000Z"],
            &[(4, "white space"), (7, "white space"), (8, "white space")],
        ),
        (
            "quirk-no-uid.ics",
            &["20260105T090000Z/20260105T100000Z"],
            &[(4, "has no UID")],
        ),
        (
            "quirk-global-tzid.ics",
            // The IANA zone after the path: CET in January, CEST in July (the VTIMEZONE has
            // only a STANDARD observance, which would give 09:00Z in July).
            &[
                "20260105T090000Z/20260105T100000Z",
                "20260706T080000Z/20260706T090000Z",
            ],
            &[],
        ),
        (
            "quirk-x-lic-location.ics",
            // The VTIMEZONE has no observance; its X-LIC-LOCATION names New York: 09:00 EST →
            // 14:00Z.
            &["20260105T140000Z/20260105T150000Z"],
            &[(10, "its X-LIC-LOCATION names")],
        ),
        (
            "quirk-cdo-tzid.ics",
            // The VTIMEZONE has no TZOFFSETTO; X-MICROSOFT-CDO-TZID 4 is Berlin: CEST → 08:00Z.
            &["20260706T080000Z/20260706T090000Z"],
            &[(
                14,
                "IANA zone Europe/Berlin that its X-MICROSOFT-CDO-TZID names",
            )],
        ),
        (
            "quirk-x-wr-timezone.ics",
            // Floating 09:00 read in the calendar's New York (EST) → 14:00Z, not in Oslo.
            &["20260105T140000Z/20260105T150000Z"],
            &[(7, "X-WR-TIMEZONE America/New_York")],
        ),
        (
            "quirk-unknown-tzid.ics",
            // Nothing resolves the TZID: read as floating, in Oslo (CET) → 08:00Z.
            &["20260105T080000Z/20260105T090000Z"],
            &[(6, "\"Customized Time Zone\"")],
        ),
    ];
    for (name, want, warned) in cases {
        bounded(name, want);
        let text = read(name);
        let split = split_families(&text).unwrap();
        assert!(split.rejected.is_empty(), "{name}: {:?}", split.rejected);
        let mut got: Vec<(usize, String)> = split
            .warnings
            .iter()
            .chain(split.objects.iter().flat_map(|o| o.warnings()))
            .map(|w| (w.line, w.message.clone()))
            .collect();
        got.sort();
        assert_eq!(got.len(), warned.len(), "{name}: {got:#?}");
        for ((line, message), (want_line, words)) in got.iter().zip(warned.iter()) {
            assert_eq!(line, want_line, "{name}: {message}");
            assert!(
                message.contains(words),
                "{name}: {message:?} lacks {words:?}"
            );
        }
        // The strict split reads the same.
        assert_eq!(split_calendar(&text).unwrap().len(), split.objects.len());
    }
    // The lost fold is joined to the SUMMARY; the broken property after it is ignored.
    let fold = split_calendar(&read("quirk-lost-fold.ics")).unwrap();
    assert_eq!(
        fold[0].summary(),
        Some("Quarterly review of thebudget and plans")
    );
    // A VEVENT without UID gets one derived from its bytes, added after its BEGIN line; the
    // rest of the text is the file's, byte for byte, and the same file gives the same UID.
    let text = read("quirk-no-uid.ics");
    let a = split_calendar(&text).unwrap();
    let b = split_calendar(&text).unwrap();
    let uid = a[0].uid().as_str().to_owned();
    assert_eq!(uid, b[0].uid().as_str());
    assert!(uid.starts_with("calstore-") && uid.len() == 41, "{uid}");
    let added = format!("UID:{uid}\r\n");
    assert!(a[0]
        .text()
        .contains(&format!("BEGIN:VEVENT\r\n{added}DTSTART")));
    assert!(text.contains(
        &a[0]
            .text()
            .replace(&added, "")
            .replace(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//test calendars//EN\r\n",
                ""
            )
            .replace("END:VCALENDAR\r\n", "")
    ));
    assert_eq!(
        calstore::object::derived_uid(
            &text[text.find("BEGIN:VEVENT").unwrap()..text.find("END:VCALENDAR").unwrap()]
        ),
        uid
    );
    // The stored text parses again to the same event (UID and all).
    let again = EventObject::parse(a[0].text()).unwrap();
    assert_eq!(again.uid().as_str(), uid);
}

#[test]
fn wkst_shapes_google_weekly_rules_and_week_numbers() {
    bounded(
        "wkst-google-weekly.ics",
        &[
            // Google's Tuesday 07:15–08:15 Los Angeles (PST, −8 → 15:15Z) with WKST=SU: 7, 14,
            // 21, 28 January 2020; 4 February 15:15Z is after UNTIL=20200204T151459Z.
            "20200107T151500Z/20200107T161500Z",
            "20200114T151500Z/20200114T161500Z",
            "20200121T151500Z/20200121T161500Z",
            "20200128T151500Z/20200128T161500Z",
            // YEARLY;BYWEEKNO=1;BYDAY=SU;WKST=SU from Thursday 1 January 2026 15:00Z: DTSTART
            // itself, then week 1 of 2026 (Sunday 4 – Saturday 10 January, the week holding
            // 4 January) → Sunday 4 January; week 1 of 2027 (Sunday 3 – Saturday 9 January) →
            // 3 January 2027. (With WKST=MO it would be 10 January 2027.)
            "20260101T150000Z/20260101T160000Z",
            "20260104T150000Z/20260104T160000Z",
            // RFC 5545's WKST example moved to 2026 (Tuesday 4 August), WEEKLY;INTERVAL=2;
            // BYDAY=TU,SU;COUNT=4. WKST=MO (09:00Z): weeks Mon 3–Sun 9 and Mon 17–Sun 23
            // August → 4, 9, 18, 23. WKST=SU (12:00Z): weeks Sun 2–Sat 8 (Sunday 2 is before
            // DTSTART), Sun 16–Sat 22, Sun 30 August–Sat 5 September → 4, 16, 18, 30.
            "20260804T090000Z/20260804T100000Z",
            "20260804T120000Z/20260804T130000Z",
            "20260809T090000Z/20260809T100000Z",
            "20260816T120000Z/20260816T130000Z",
            "20260818T090000Z/20260818T100000Z",
            "20260818T120000Z/20260818T130000Z",
            "20260823T090000Z/20260823T100000Z",
            "20260830T120000Z/20260830T130000Z",
            "20270103T150000Z/20270103T160000Z",
        ],
    );
}

#[test]
fn fifth_last_monday_and_fifty_third_last_wednesday() {
    // Months with five Mondays in 2026: March (2–30), June (1–29), August (3–31), November
    // (2–30); the fifth-last Monday is then the first.
    bounded(
        "monthly-minus-5mo.ics",
        &[
            "20260302T100000Z/20260302T110000Z",
            "20260601T100000Z/20260601T110000Z",
            "20260803T100000Z/20260803T110000Z",
            "20261102T100000Z/20261102T110000Z",
        ],
    );
    // Years with 53 Wednesdays: 2031 (begins on a Wednesday) → 1 January; 2036 (a leap year
    // beginning on a Tuesday) → 2 January; 2042 (begins on a Wednesday) → 1 January.
    bounded(
        "yearly-minus-53we.ics",
        &[
            "20310101T120000Z/20310101T130000Z",
            "20360102T120000Z/20360102T130000Z",
            "20420101T120000Z/20420101T130000Z",
        ],
    );
}

#[test]
fn rrule_quirks_are_read_like_dateutil_with_warnings() {
    // Two RRULEs: WEEKLY;COUNT=3 (5, 12, 19 January) united with DAILY;COUNT=3 (5, 6, 7).
    bounded(
        "several-rrules.ics",
        &[
            "20260105T090000Z/20260105T093000Z",
            "20260106T090000Z/20260106T093000Z",
            "20260107T090000Z/20260107T093000Z",
            "20260112T090000Z/20260112T093000Z",
            "20260119T090000Z/20260119T093000Z",
        ],
    );
    // An empty RRULE is ignored: the single event.
    bounded("empty-rrule.ics", &["20260105T090000Z/20260105T100000Z"]);
    // BYDAY=1MO,2WE under WEEKLY: read as MO,WE: Monday 5, Wednesday 7, Monday 12,
    // Wednesday 14 January.
    bounded(
        "weekly-ordinal-byday.ics",
        &[
            "20260105T090000Z/20260105T100000Z",
            "20260107T090000Z/20260107T100000Z",
            "20260112T090000Z/20260112T100000Z",
            "20260114T090000Z/20260114T100000Z",
        ],
    );
    // Each is reported with its line.
    let warnings = |name: &str| -> Vec<String> {
        split_calendar(&read(name))
            .unwrap()
            .iter()
            .flat_map(|e| e.warnings().iter().map(|w| w.to_string()))
            .collect()
    };
    let w = warnings("several-rrules.ics");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("line 10: a second RRULE"), "{w:?}");
    let w = warnings("empty-rrule.ics");
    assert_eq!(w, ["line 9: an empty RRULE is ignored"]);
    let w = warnings("weekly-ordinal-byday.ics");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("line 9: RRULE") && w[0].contains("the number is ignored"),
        "{w:?}"
    );
}

#[test]
fn thisandfuture_instances_move_and_reshape_the_later_occurrences() {
    let periods = bounded(
        "thisandfuture-chain.ics",
        &[
            // Mondays 09:00–10:00Z, six of them. 5 and 12 January unchanged.
            "20260105T090000Z/20260105T100000Z",
            "20260112T090000Z/20260112T100000Z",
            // From 19 January (RANGE=THISANDFUTURE): an hour later and 1h30 long.
            "20260119T100000Z/20260119T113000Z",
            "20260126T100000Z/20260126T113000Z",
            // From 2 February (a second THISANDFUTURE, its RECURRENCE-ID the original 09:00):
            // 30 minutes earlier than the original and 30 minutes long.
            "20260202T083000Z/20260202T090000Z",
            "20260209T083000Z/20260209T090000Z",
            // Oslo Mondays 09:00 for an hour: 16 March CET → 08:00Z. From 23 March five hours
            // later for 30 minutes: 14:00 CET → 13:00Z; 30 March and 6 April 14:00 CEST →
            // 12:00Z (the shift is kept in local time across the change, as
            // recurring-ical-events does).
            "20260316T080000Z/20260316T090000Z",
            "20260323T130000Z/20260323T133000Z",
            "20260330T120000Z/20260330T123000Z",
            "20260406T120000Z/20260406T123000Z",
        ],
    );
    // The later occurrences carry the changed instance's details, without a RECURRENCE-ID.
    assert_eq!(
        periods[3].summary.as_deref(),
        Some("Weekly, later and longer")
    );
    assert_eq!(periods[3].rid, None);
    assert_eq!(
        periods[5].summary.as_deref(),
        Some("Weekly, early and short")
    );
}
