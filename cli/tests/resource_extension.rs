//! The cron job and standing bookings, from the command line (issue 20): two series without end
//! checked up to a 30-day horizon meet on day 57; `make-freebusy` after the horizon is raised
//! settles it (the later booking's occurrence declined), writes the REPLY to `--replies DIR`
//! and exits 0; without `--replies` the REPLY is not sent, so the run exits 65 naming it. On
//! the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::*;

const ALICE: &str = "mailto:alice@example.com";
const ROOM: &str = "mailto:room@example.com";

/// The day `offset` days after today, as YYYYMMDD (UTC).
fn day(offset: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86_400 + offset;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

fn request(uid: &str, first: &str, rule: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{first}T090000Z\r\nDTEND:{first}T100000Z\r\n\
RRULE:{rule}\r\nSUMMARY:{uid}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn uids_on(place: &Place, d: &str) -> Vec<String> {
    let out = ok(&place.calstore(&[
        "freebusy",
        "--user",
        ROOM,
        "--start",
        &format!("{d}T000000Z"),
        "--end",
        &format!("{d}T235959Z"),
    ]));
    out.lines()
        .filter_map(|l| l.split('\t').nth(2).map(str::to_owned))
        .collect()
}

fn extension_on(place: &Place, with_replies: bool) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    ok(&place.calstore(&["preferences", "--user", ROOM, "window_size", "30"]));
    ok(&place.calstore(&[
        "preferences",
        "--user",
        ROOM,
        "auto_schedule_mode",
        "automatic",
    ]));
    // Every 7 days from day 1 and every 11 days from day 2: they first meet on day 57.
    for (uid, first, rule) in [
        ("seven", day(1), "FREQ=DAILY;INTERVAL=7"),
        ("eleven", day(2), "FREQ=DAILY;INTERVAL=11"),
    ] {
        let file = dir.path().join(format!("{uid}.ics"));
        std::fs::write(&file, request(uid, &first, rule)).unwrap();
        let out = ok(&place.calstore(&[
            "deliver",
            "--user",
            ROOM,
            "--format",
            "json",
            file.to_str().unwrap(),
        ]));
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(
            json["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["action"] == "accepted"),
            "{out}"
        );
    }
    let meeting = day(57);
    ok(&place.calstore(&["preferences", "--user", ROOM, "window_size", "100"]));
    let replies = dir.path().join("replies");
    let mut args = vec!["make-freebusy", ROOM];
    if with_replies {
        args.extend(["--replies", replies.to_str().unwrap()]);
    }
    let out = place.calstore(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "eleven {meeting}T090000Z: declined (busy: busy with seven)"
        )),
        "{stderr}"
    );
    if with_replies {
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let file = replies.join("mailto_room@example.com-eleven.ics");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("METHOD:REPLY"), "{text}");
        assert!(
            text.contains(&format!("RECURRENCE-ID:{meeting}T090000Z")),
            "{text}"
        );
        assert!(
            text.contains(&format!("PARTSTAT=DECLINED:{ROOM}")),
            "{text}"
        );
    } else {
        assert_eq!(out.status.code(), Some(65), "{stderr}");
        assert!(stderr.contains("--replies"), "{stderr}");
        assert!(!Path::new(&replies).exists());
    }
    // Settled: the day holds the earlier booking only, through the cron job and --reset.
    assert_eq!(uids_on(place, &meeting), ["seven"]);
    for extra in [None, Some("--reset")] {
        let mut args = vec!["make-freebusy", ROOM];
        args.extend(extra);
        ok(&place.calstore(&args));
        assert_eq!(uids_on(place, &meeting), ["seven"], "{extra:?}");
    }
    ok(&place.calstore(&["check"]));
}

#[test]
fn extension_on_the_file_store() {
    extension_on(&Place::file(), true);
}

#[test]
fn extension_without_replies_exits_65() {
    extension_on(&Place::file(), false);
}

#[test]
fn extension_on_postgres() {
    let Some(place) = Place::postgres("extension_on_postgres") else {
        return;
    };
    extension_on(&place, true);
}
