//! Delegation from the command line (issue 20): room 1, busy, with `delegate_to_free rooms`
//! set by `preferences`, hands a request to room 2 (a delegate of the quota); `deliver --reply`
//! writes the DELEGATED reply; room 2 is busy afterwards, also after the cron job; a second
//! request for the slot, with every room busy, is delegated nowhere and declined with the
//! reason. On the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use calstore::{Journal, Quota, User};
use support::*;

const ALICE: &str = "mailto:alice@example.com";
const ROOM1: &str = "mailto:room1@example.com";
const ROOM2: &str = "mailto:room2@example.com";

/// Tomorrow, as YYYYMMDD (UTC), so that the slot is within the rooms' window.
fn tomorrow() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = secs / 86_400 + 1;
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

fn request(uid: &str, day: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n\
SUMMARY:meeting\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{ROOM1}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn blocker(day: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:blocker\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n\
SUMMARY:maintenance\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn deliver(place: &Place, dir: &std::path::Path, name: &str, text: &str) -> serde_json::Value {
    let file = dir.join(format!("{name}.ics"));
    std::fs::write(&file, text).unwrap();
    let reply = dir.join(format!("{name}-reply.ics"));
    let out = ok(&place.calstore(&[
        "deliver",
        "--user",
        ROOM1,
        "--format",
        "json",
        "--reply",
        reply.to_str().unwrap(),
        file.to_str().unwrap(),
    ]));
    let mut json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json["reply_text"] = std::fs::read_to_string(&reply)
        .map(serde_json::Value::String)
        .unwrap_or(serde_json::Value::Null);
    json
}

/// The uids `freebusy` lists for `user` (TAB-separated lines, the uid third).
fn busy_uids(place: &Place, user: &str) -> Vec<String> {
    let out = ok(&place.calstore(&["freebusy", "--user", user]));
    out.lines()
        .filter_map(|l| l.split('\t').nth(2).map(str::to_owned))
        .collect()
}

fn delegation_on(place: &Place) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    let day = tomorrow();
    ok(&place.calstore(&[
        "preferences",
        "--user",
        ROOM1,
        "scheduling_function",
        "delegate_to_free rooms",
    ]));
    runtime().block_on(async {
        with_opened!(place.open(Duration::from_secs(10)).await, _s, j => {
            let rooms = [User::new(ROOM1).unwrap(), User::new(ROOM2).unwrap()];
            j.set_delegates(&Quota::new("rooms").unwrap(), &rooms).await.unwrap();
        })
    });
    let listed = ok(&place.calstore(&["list", "--quota", "rooms", "delegates"]));
    assert!(listed.contains(ROOM2), "{listed}");
    let b = dir.path().join("blocker.ics");
    std::fs::write(&b, blocker(&day)).unwrap();
    ok(&place.calstore(&["import", "--user", ROOM1, b.to_str().unwrap()]));

    let first = deliver(place, dir.path(), "meeting", &request("meeting", &day));
    assert_eq!(first["items"][0]["action"], "delegated", "{first}");
    assert_eq!(first["items"][0]["reason"], "delegated-to", "{first}");
    assert_eq!(
        first["items"][0]["detail"],
        format!("delegated to {ROOM2}"),
        "{first}"
    );
    let reply = first["reply_text"].as_str().unwrap().replace("\r\n ", "");
    assert!(reply.contains("METHOD:REPLY"), "{reply}");
    assert!(
        reply.contains(&format!(
            "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"{ROOM2}\":{ROOM1}"
        )),
        "{reply}"
    );
    assert!(
        reply.contains(&format!(
            "ATTENDEE;PARTSTAT=ACCEPTED;DELEGATED-FROM=\"{ROOM1}\":{ROOM2}"
        )),
        "{reply}"
    );
    // Room 2 holds the booking, also after the cron job (incremental and full); room 1 only
    // its blocker.
    assert_eq!(busy_uids(place, ROOM2), ["meeting"]);
    for reset in [false, true] {
        let mut args = vec!["make-freebusy", ROOM1, ROOM2];
        if reset {
            args.push("--reset");
        }
        ok(&place.calstore(&args));
        assert_eq!(busy_uids(place, ROOM2), ["meeting"], "reset {reset}");
        assert_eq!(busy_uids(place, ROOM1), ["blocker"], "reset {reset}");
    }

    // Every room busy: delegated nowhere, declined with the reason; room 2 has no copy of it.
    let second = deliver(place, dir.path(), "late", &request("late", &day));
    assert_eq!(second["items"][0]["action"], "declined", "{second}");
    assert_eq!(second["items"][0]["reason"], "busy", "{second}");
    assert_eq!(
        second["items"][0]["detail"], "busy with blocker",
        "{second}"
    );
    let reply = second["reply_text"].as_str().unwrap();
    assert!(
        reply.contains(&format!("PARTSTAT=DECLINED:{ROOM1}")),
        "{reply}"
    );
    assert_eq!(busy_uids(place, ROOM2), ["meeting"]);
    let listed = ok(&place.calstore(&["list", "--user", ROOM2, "objects"]));
    assert!(!listed.contains("late"), "{listed}");
}

#[test]
fn delegation_on_the_file_store() {
    delegation_on(&Place::file());
}

#[test]
fn delegation_on_postgres() {
    let Some(place) = Place::postgres("delegation_on_postgres") else {
        return;
    };
    delegation_on(&place);
}
