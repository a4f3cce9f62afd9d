//! Delegation from the command line (issue 20): room 1, busy, with `delegate_to_free rooms`
//! set by `preferences`, hands a request to room 2 (a delegate of the quota); `deliver --reply`
//! writes the DELEGATED reply; room 2 is busy afterwards, also after the cron job; a second
//! request for the slot, with every room busy, is delegated nowhere and declined with the
//! reason. On the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use calstore::{Journal, Quota, User};
use support::rooms::*;
use support::*;

const ROOM1: &str = "mailto:room1@example.com";
const ROOM2: &str = "mailto:room2@example.com";

fn request(uid: &str, day: &str) -> String {
    room_request(ROOM1, uid, day, None, "meeting")
}

fn deliver(place: &Place, dir: &std::path::Path, name: &str, text: &str) -> serde_json::Value {
    let file = write_file(dir, &format!("{name}.ics"), text);
    let reply = dir.join(format!("{name}-reply.ics"));
    let out = deliver_json(place, ROOM1, &file, Some(&reply));
    let mut json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json["reply_text"] = std::fs::read_to_string(&reply)
        .map(serde_json::Value::String)
        .unwrap_or(serde_json::Value::Null);
    json
}

fn delegation_on(place: &Place) {
    ok(&place.calstore(&["init"]));
    let dir = tempfile::tempdir().unwrap();
    let day = day_from_today(1);
    delegate_to_free(place, ROOM1, "rooms");
    runtime().block_on(async {
        with_opened!(place.open(Duration::from_secs(10)).await, _s, j => {
            let rooms = [User::new(ROOM1).unwrap(), User::new(ROOM2).unwrap()];
            j.set_delegates(&Quota::new("rooms").unwrap(), &rooms).await.unwrap();
        })
    });
    let listed = ok(&place.calstore(&["list", "--quota", "rooms", "delegates"]));
    assert!(listed.contains(ROOM2), "{listed}");
    let b = write_file(dir.path(), "blocker.ics", &blocker(&day, "", "maintenance"));
    import(place, ROOM1, &b);

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
    assert_eq!(busy_uids(place, ROOM2, None), ["meeting"]);
    for reset in [false, true] {
        let mut args = vec!["make-freebusy", ROOM1, ROOM2];
        if reset {
            args.push("--reset");
        }
        ok(&place.calstore(&args));
        assert_eq!(busy_uids(place, ROOM2, None), ["meeting"], "reset {reset}");
        assert_eq!(busy_uids(place, ROOM1, None), ["blocker"], "reset {reset}");
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
    assert_eq!(busy_uids(place, ROOM2, None), ["meeting"]);
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
