//! End to end: `calstore deliver` and `calstore answer` on the messages of
//! `examples/itip/out-of-order/` (the session docs/agent.md shows), on the file store and
//! PostgreSQL: exit codes, the decision printed, and `freebusy` equal to what
//! `make-freebusy --reset` rebuilds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const RANGE: [&str; 4] = ["--start", "20270101T000000Z", "--end", "20270301T000000Z"];

fn message(name: &str) -> String {
    repo()
        .join("examples/itip/out-of-order")
        .join(name)
        .display()
        .to_string()
}

fn deliver(place: &Place, user: &str, name: &str) -> (i32, String) {
    let out = place.calstore(&["deliver", "--user", user, &message(name)]);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn freebusy(place: &Place, user: &str) -> String {
    let mut args = vec!["freebusy", "--user", user];
    args.extend(RANGE);
    ok(&place.calstore(&args))
}

fn session(place: &Place) {
    let (code, out) = deliver(place, ALICE, "2-moved.ics");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("standup@example.com: stored (applied)"),
        "{out}"
    );
    let (code, out) = deliver(place, ALICE, "1-request.ics");
    assert_eq!(code, 0, "an older message is not an error: {out}");
    assert!(out.contains("ignored-as-older (older-sequence"), "{out}");
    // The reply, as a mail on standard input, in JSON.
    let mail = std::fs::read_to_string(message("3-reply.eml")).unwrap();
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "--store",
        &place.store_arg(),
        "deliver",
        "--user",
        ALICE,
        "--format",
        "json",
        "-",
    ]);
    for var in ["CALSTORE_STORE", "CALSTORE_JOURNAL", "CALSTORE_PREFERENCES"] {
        cmd.env_remove(var);
    }
    let out = {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(mail.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["items"][0]["action"], "reply-recorded");
    let theirs = {
        let mut args = vec!["freebusy", "--user", ALICE, "--other", BOB];
        args.extend(RANGE);
        ok(&place.calstore(&args))
    };
    assert_eq!(theirs.lines().count(), 8, "{theirs}");
    let (code, out) = deliver(place, ALICE, "4-cancel-one.ics");
    assert_eq!(code, 0);
    assert!(
        out.contains("20270118T100000Z: cancelled (applied)"),
        "{out}"
    );
    let (code, out) = deliver(place, ALICE, "5-this-and-future.ics");
    assert_eq!(code, 0);
    assert!(out.contains("20270201T100000Z: stored (applied)"), "{out}");

    let before = freebusy(place, ALICE);
    assert_eq!(before.lines().count(), 7, "{before}");
    assert!(
        !before.contains("20270118T100000Z\t"),
        "the cancelled week is free"
    );
    assert!(
        before.contains("20270215T140000Z\t"),
        "afternoons from February"
    );
    ok(&place.calstore(&["make-freebusy", "--reset", ALICE]));
    assert_eq!(freebusy(place, ALICE), before, "the table equals a rebuild");

    // Bob: queued, answered, the reply written; a REPLY to an attendee is refused (65).
    let (code, out) = deliver(place, BOB, "2-moved.ics");
    assert_eq!(code, 0);
    assert!(out.contains("queued (applied)"), "{out}");
    let reply = place
        .dir()
        .map(|d| d.join("reply.ics"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("reply-{}.ics", std::process::id())));
    let out = place.calstore(&[
        "answer",
        "--user",
        BOB,
        "--uid",
        "standup@example.com",
        "--reply",
        &reply.display().to_string(),
        "accepted",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&reply).unwrap();
    assert!(
        text.contains("METHOD:REPLY") && text.contains("PARTSTAT=ACCEPTED"),
        "{text}"
    );
    assert!(!freebusy(place, BOB).is_empty());
    let (code, out) = deliver(place, BOB, "3-reply.eml");
    assert_eq!(code, 65, "{out}");
    assert!(out.contains("refused (wrong-role)"), "{out}");
    let out = place.calstore(&["deliver", "--user", BOB, "/dev/null"]);
    assert_eq!(out.status.code(), Some(65));
}

#[test]
fn deliver_and_answer_on_files() {
    let place = Place::file();
    ok(&place.calstore(&["init"]));
    session(&place);
}

#[test]
fn deliver_and_answer_on_postgres() {
    let Some(place) = Place::postgres("deliver (postgres)") else {
        return;
    };
    ok(&place.calstore(&["init"]));
    session(&place);
}
