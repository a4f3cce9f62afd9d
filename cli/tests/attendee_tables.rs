//! End to end: what the organiser knows of an attendee (`freebusy-other`) after the cron job,
//! on the file store and PostgreSQL: `make-freebusy` extends the attendee's table of a weekly
//! event without end to the new window and says so, `check` finds it sound, and
//! `make-freebusy --reset` rebuilds the same table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";

fn message(name: &str) -> String {
    repo()
        .join("examples/itip/out-of-order")
        .join(name)
        .display()
        .to_string()
}

/// Bob's table as it is stored (a query without range reads the table).
fn bobs_table(place: &Place) -> String {
    ok(&place.calstore(&["freebusy", "--user", ALICE, "--other", BOB]))
}

fn session(place: &Place) {
    ok(&place.calstore(&["init"]));
    for m in ["2-moved.ics", "3-reply.eml"] {
        ok(&place.calstore(&["deliver", "--user", ALICE, &message(m)]));
    }
    let before = bobs_table(place).lines().count();
    assert!(before > 0, "Bob accepted");
    let out = ok(&place.calstore(&["make-freebusy", "--window-days", "400", ALICE]));
    assert!(out.contains(", 1 attendee tables updated"), "{out}");
    let after = bobs_table(place);
    assert!(
        after.lines().count() >= before + 40,
        "{before} rows became {}",
        after.lines().count()
    );
    let out = ok(&place.calstore(&["check"]));
    assert!(out.contains("all sound"), "{out}");
    // Nothing more to extend: nothing said, nothing written.
    let out = ok(&place.calstore(&["make-freebusy", "--window-days", "400", ALICE]));
    assert!(!out.contains("attendee tables"), "{out}");
    // A rebuild writes the same rows (its window starts a moment later: compare up to the
    // first extension's last row).
    ok(&place.calstore(&["make-freebusy", "--reset", "--window-days", "400", ALICE]));
    let rebuilt = bobs_table(place);
    assert!(rebuilt.starts_with(&after), "{after}\n---\n{rebuilt}");
}

#[test]
fn cron_extends_attendee_tables_on_files() {
    session(&Place::file());
}

#[test]
fn cron_extends_attendee_tables_on_postgres() {
    let Some(place) = Place::postgres("attendee tables (postgres)") else {
        return;
    };
    session(&place);
}
