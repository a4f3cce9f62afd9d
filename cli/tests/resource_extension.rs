//! The cron job and standing bookings, from the command line (issue 20): two series without end
//! checked up to a 30-day horizon meet on day 57; `make-freebusy` after the horizon is raised
//! settles it (the later booking's occurrence declined), writes the REPLY to `--replies DIR`
//! and exits 0; without `--replies` the REPLY is not sent, so the run exits 65 naming it. On
//! the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::rooms::*;
use support::*;

const ROOM: &str = "mailto:room@example.com";

fn extension_on(place: &Place, with_replies: bool) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    set_preference(place, ROOM, "window_size", "30");
    set_preference(place, ROOM, "auto_schedule_mode", "automatic");
    // Every 7 days from day 1 and every 11 days from day 2: they first meet on day 57.
    for (uid, first, rule) in [
        ("seven", day_from_today(1), "FREQ=DAILY;INTERVAL=7"),
        ("eleven", day_from_today(2), "FREQ=DAILY;INTERVAL=11"),
    ] {
        let request = room_request(ROOM, uid, &first, Some(rule), uid);
        let file = write_file(dir.path(), &format!("{uid}.ics"), &request);
        let out = deliver_json(place, ROOM, &file, None);
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
    let meeting = day_from_today(57);
    set_preference(place, ROOM, "window_size", "100");
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
    assert_eq!(busy_uids(place, ROOM, Some(&meeting)), ["seven"]);
    for extra in [None, Some("--reset")] {
        let mut args = vec!["make-freebusy", ROOM];
        args.extend(extra);
        ok(&place.calstore(&args));
        assert_eq!(
            busy_uids(place, ROOM, Some(&meeting)),
            ["seven"],
            "{extra:?}"
        );
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
