//! `calstore check` lists what stored objects hold that was read leniently (issue 12: warnings
//! "printed by import, listed by check"), with the user, the key and the line, and still exits 0:
//! such an object reads sensibly. On both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::*;

const ALICE: &str = "mailto:alice@example.com";

fn check_lists_the_warnings_of_stored_objects(place: &Place) {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/quirk-dtend-and-duration.ics"
    );
    let out = place.calstore(&["import", "--user", ALICE, file]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}: {err}", place.name());
    assert!(
        err.contains("warning: DTEND and DURATION are both given"),
        "{err}"
    );

    let out = place.calstore(&["check"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {stdout}{stderr}",
        place.name()
    );
    assert!(stdout.contains("all sound"), "{stdout}");
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: ") && l.contains(ALICE))
        .collect();
    assert_eq!(listed.len(), 1, "{}: {stderr}", place.name());
    assert!(
        listed[0].contains("object \"both@example.com\"")
            && listed[0].contains("line 8: DTEND and DURATION are both given"),
        "{}",
        listed[0]
    );
}

#[test]
fn check_lists_warnings_on_the_file_store() {
    check_lists_the_warnings_of_stored_objects(&Place::file());
}

#[test]
fn check_lists_warnings_on_postgres() {
    let Some(place) = Place::postgres("check_warnings") else {
        return;
    };
    check_lists_the_warnings_of_stored_objects(&place);
}
