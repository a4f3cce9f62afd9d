//! End to end, from the command line: a room's `auto_schedule_mode` (set with `preferences`)
//! under a free slot, a busy slot (a blocking event put in the room's own calendar with
//! `import`), and a daily series with one busy day; `deliver --reply` answers. The PARTSTAT per
//! occurrence is CalendarServer's documented behaviour, on the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::rooms::*;
use support::*;

fn request(room: &str, uid: &str, day: &str, rrule: Option<&str>) -> String {
    room_request(room, uid, day, rrule, "meeting")
}

/// A blocking event in the room's own calendar: on `day` at 09:00, or (series) on the second
/// day of the series, written as the series' second occurrence: RRULE COUNT=2 with the first
/// excluded, so no date arithmetic is needed here.
fn room_blocker(day: &str, second_day: bool) -> String {
    let rules = if second_day {
        format!("RRULE:FREQ=DAILY;COUNT=2\r\nEXDATE:{day}T090000Z\r\n")
    } else {
        String::new()
    };
    blocker(day, &rules, "maintenance")
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Free,
    Busy,
    SeriesOneBusyDay,
}

/// CalendarServer's behaviour: the action per occurrence for a mode and a slot.
fn expected(mode: &str, slot: Slot) -> Vec<&'static str> {
    let (free, busy) = match mode {
        "none" => ("left-for-person", "left-for-person"),
        "accept-always" => ("accepted", "accepted"),
        "decline-always" => ("declined", "declined"),
        "accept-if-free" => ("accepted", "left-for-person"),
        "decline-if-busy" => ("left-for-person", "declined"),
        "automatic" => ("accepted", "declined"),
        _ => unreachable!(),
    };
    match slot {
        Slot::Free => vec![free],
        Slot::Busy => vec![busy],
        Slot::SeriesOneBusyDay => vec![free, busy, free],
    }
}

fn partstat(action: &str) -> &'static str {
    match action {
        "accepted" => "ACCEPTED",
        "declined" => "DECLINED",
        _ => "NEEDS-ACTION",
    }
}

fn six_modes_on(place: &Place) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    let day = day_from_today(1);
    let modes = [
        "none",
        "accept-always",
        "decline-always",
        "accept-if-free",
        "decline-if-busy",
        "automatic",
    ];
    for (m, mode) in modes.iter().enumerate() {
        for (k, slot) in [Slot::Free, Slot::Busy, Slot::SeriesOneBusyDay]
            .into_iter()
            .enumerate()
        {
            let room = format!("mailto:room{m}{k}@example.com");
            let file =
                |name: &str, text: &str| write_file(dir.path(), &format!("{m}-{k}-{name}"), text);
            set_preference(place, &room, "auto_schedule_mode", mode);
            if !matches!(slot, Slot::Free) {
                let b = file(
                    "blocker.ics",
                    &room_blocker(&day, matches!(slot, Slot::SeriesOneBusyDay)),
                );
                import(place, &room, &b);
            }
            let rule = matches!(slot, Slot::SeriesOneBusyDay).then_some("FREQ=DAILY;COUNT=3");
            let req = file("request.ics", &request(&room, "meeting", &day, rule));
            let reply = dir.path().join(format!("{m}-{k}-reply.ics"));
            let out = deliver_json(place, &room, &req, Some(&reply));
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            let actions: Vec<String> = json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["action"].as_str().unwrap().to_owned())
                .collect();
            let want = expected(mode, slot);
            assert_eq!(actions, want, "{} {mode} {slot:?}: {out}", place.name());
            // The REPLY says the same per occurrence (none when nothing was decided).
            if want.iter().all(|a| *a == "left-for-person") {
                assert!(!Path::new(&reply).exists(), "{mode} {slot:?}");
                continue;
            }
            let text = std::fs::read_to_string(&reply).unwrap();
            let series = if want.contains(&"accepted") {
                "ACCEPTED"
            } else if want.contains(&"left-for-person") {
                "NEEDS-ACTION"
            } else {
                "DECLINED"
            };
            let first = text.split("END:VEVENT").next().unwrap();
            assert!(
                first.contains(&format!("PARTSTAT={series}:{room}")),
                "{mode} {slot:?}: {text}"
            );
            let exceptions = want.iter().filter(|a| partstat(a) != series).count();
            assert_eq!(
                text.matches("RECURRENCE-ID").count(),
                exceptions,
                "{mode} {slot:?}: {text}"
            );
            for a in want.iter().filter(|a| partstat(a) != series) {
                assert!(text.contains(&format!("PARTSTAT={}:{room}", partstat(a))));
            }
        }
    }
}

#[test]
fn six_modes_on_the_file_store() {
    six_modes_on(&Place::file());
}

#[test]
fn six_modes_on_postgres() {
    let Some(place) = Place::postgres("six_modes_on_postgres") else {
        return;
    };
    six_modes_on(&place);
}

/// VAVAILABILITY from the command line: set as the room's `availability` with `preferences`, a
/// request outside it is declined with that reason by `deliver`, and `freebusy --format ical`
/// writes BUSY-UNAVAILABLE outside the available times.
fn availability_on(place: &Place) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    let day = day_from_today(1);
    let room = "mailto:hours@example.com";
    let hours = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VAVAILABILITY\r\n\
UID:hours\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T000000Z\r\nBEGIN:AVAILABLE\r\nUID:day\r\n\
DTSTAMP:20200101T000000Z\r\nDTSTART:20200101T080000Z\r\nDTEND:20200101T170000Z\r\n\
RRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR";
    set_preference(place, room, "availability", hours);
    let late = request(room, "late", &day, None)
        .replace("T090000Z", "T190000Z")
        .replace("T100000Z", "T200000Z");
    let req = write_file(dir.path(), "late.ics", &late);
    let out = deliver_json(place, room, &req, None);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["items"][0]["action"], "declined", "{out}");
    assert_eq!(json["items"][0]["reason"], "outside-availability", "{out}");
    let fb = ok(&place.calstore(&[
        "freebusy",
        "--user",
        room,
        "--start",
        &format!("{day}T000000Z"),
        "--end",
        &format!("{day}T235959Z"),
        "--format",
        "ical",
    ]));
    assert!(
        fb.contains(&format!(
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:{day}T170000Z/{day}T235959Z"
        )),
        "{fb}"
    );
}

#[test]
fn availability_on_the_file_store() {
    availability_on(&Place::file());
}

#[test]
fn availability_on_postgres() {
    let Some(place) = Place::postgres("availability_on_postgres") else {
        return;
    };
    availability_on(&place);
}
