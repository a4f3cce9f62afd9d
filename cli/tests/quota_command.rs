//! `calstore quota`: set a quota group's limits, groups and delegates from the command line and
//! read them back with `list --quota`; a busy room with `delegate_to_free rooms` then delegates
//! to a delegate the command set; bad values exit 65 (bad arguments 64, no store 69) and write
//! nothing. On the file store and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::rooms::*;
use support::*;

const ROOM1: &str = "mailto:room1@example.com";
const ROOM2: &str = "mailto:room2@example.com";
const ROOM3: &str = "mailto:room3@example.com";

/// `list --quota rooms TABLE`.
fn list(place: &Place, table: &str) -> String {
    ok(&place.calstore(&["list", "--quota", "rooms", table]))
}

/// Runs `calstore quota --quota rooms ARGS…`.
fn quota(place: &Place, args: &[&str]) -> std::process::Output {
    let mut all = vec!["quota", "--quota", "rooms"];
    all.extend_from_slice(args);
    place.calstore(&all)
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn quota_command_on(place: &Place) {
    // No store yet (a file store before `init`): unavailable, nothing created.
    if let Some(dir) = place.dir() {
        let none = quota(place, &["set-delegates", ROOM2]);
        assert_eq!(code(&none), Some(69), "{}", stderr(&none));
        assert!(!dir.join("journal").exists());
    }
    ok(&place.calstore(&["init"]));

    ok(&quota(place, &["set-limits", "*=PT10H", "staff=P1D"]));
    ok(&quota(
        place,
        &[
            "set-groups",
            "Alice@Example.com=staff",
            "mailto:bob@example.com=guests",
        ],
    ));
    ok(&quota(
        place,
        &["set-delegates", "ROOM2@example.com", ROOM1],
    ));
    assert_eq!(list(place, "limits"), "*\tPT10H\nstaff\tP1D\n");
    assert_eq!(
        list(place, "groups"),
        format!("{ALICE}\tstaff\nmailto:bob@example.com\tguests\n")
    );
    assert_eq!(list(place, "delegates"), format!("{ROOM1}\n{ROOM2}\n"));

    // Bad values: 65 (or 64 for an argument without `=`), and the tables stay as they were.
    let before = place.snapshot();
    for (args, want) in [
        (&["set-limits", "*=PT10H", "staff=10 hours"][..], 65),
        (&["set-limits", "staff=-PT1H"][..], 65),
        (&["set-limits", "staff"][..], 64),
        (&["set-groups", "=staff"][..], 65),
        (&["set-delegates", ""][..], 65),
        (
            &[
                "set-groups",
                "alice@example.com=a",
                "mailto:ALICE@example.com=b",
            ][..],
            65,
        ),
    ] {
        let out = quota(place, args);
        assert_eq!(code(&out), Some(want), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(place.snapshot(), before, "a refused value wrote something");
    assert_eq!(list(place, "limits"), "*\tPT10H\nstaff\tP1D\n");
    // A new quota with a bad value is not created.
    let out = place.calstore(&["quota", "--quota", "new", "set-limits", "a=soon"]);
    assert_eq!(code(&out), Some(65), "{}", stderr(&out));
    let out = place.calstore(&["list", "--quota", "new", "limits"]);
    assert_eq!(code(&out), Some(67), "{}", stderr(&out));

    // No values clears a table (the others stay).
    ok(&quota(place, &["set-groups"]));
    assert_eq!(list(place, "groups"), "");
    ok(&quota(place, &["set-limits"]));
    assert_eq!(list(place, "limits"), "");
    assert_eq!(list(place, "delegates"), format!("{ROOM1}\n{ROOM2}\n"));

    // Room 1, busy, delegates to room 2, a delegate the command set.
    let dir = tempfile::tempdir().unwrap();
    let day = day_from_today(1);
    delegate_to_free(place, ROOM1, "rooms");
    let blocker = write_file(dir.path(), "blocker.ics", &blocker(&day, "", "blocker"));
    import(place, ROOM1, &blocker);
    let deliver = |uid: &str| -> serde_json::Value {
        let request = room_request(ROOM1, uid, &day, None, uid);
        let file = write_file(dir.path(), &format!("{uid}.ics"), &request);
        serde_json::from_str(&deliver_json(place, ROOM1, &file, None)).unwrap()
    };
    let first = deliver("meeting");
    assert_eq!(first["items"][0]["action"], "delegated", "{first}");
    assert_eq!(
        first["items"][0]["detail"],
        format!("delegated to {ROOM2}"),
        "{first}"
    );
    let busy = ok(&place.calstore(&["freebusy", "--user", ROOM2]));
    assert!(busy.contains("meeting"), "{busy}");

    // The delegates replaced: room 2 (now busy) is gone, room 3 takes the next request.
    ok(&quota(place, &["set-delegates", ROOM1, ROOM3]));
    assert_eq!(list(place, "delegates"), format!("{ROOM1}\n{ROOM3}\n"));
    let second = deliver("late");
    assert_eq!(
        second["items"][0]["detail"],
        format!("delegated to {ROOM3}"),
        "{second}"
    );
    // Cleared: a third request is delegated nowhere and declined.
    // With every table empty the quota holds nothing, and `list` no longer knows it.
    ok(&quota(place, &["set-delegates"]));
    let out = place.calstore(&["list", "--quota", "rooms", "delegates"]);
    assert_eq!(code(&out), Some(67), "{}", stderr(&out));
    let third = deliver("later");
    assert_eq!(third["items"][0]["action"], "declined", "{third}");
}

#[test]
fn quota_command_on_the_file_store() {
    quota_command_on(&Place::file());
}

#[test]
fn a_server_that_does_not_answer_is_unavailable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_calstore"))
        .args(["--store", "postgresql://calstore@127.0.0.1:1/none", "quota"])
        .args(["--quota", "rooms", "set-delegates", ROOM2])
        .env_remove("CALSTORE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(69), "{}", stderr(&out));
}

#[test]
fn quota_command_on_postgres() {
    let Some(place) = Place::postgres("quota_command_on_postgres") else {
        return;
    };
    quota_command_on(&place);
}
