//! Issue 21 end to end, on both backends: rows of an older version of an object are seen by
//! `check` and repaired by a plain `make-freebusy` (item 2), and the table's horizon is recorded
//! by an import and lowered by a writer with a shorter window (item 3).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::Output;

use calstore::{Store, Uid, User};
use support::*;

const ALICE: &str = "mailto:alice@example.com";

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn succeeded(what: &str, out: &Output) -> String {
    assert!(out.status.success(), "{what} failed: {}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn event(uid: &str, day: &str, hour: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:{day}T{hour}0000Z\r\nDTEND:{day}T{hour}3000Z\r\n\
         SUMMARY:{uid}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn write(place_dir: &std::path::Path, name: &str, body: &str) -> String {
    let path = place_dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

/// Import at 10:00, cron run, the object moved to 15:00 without its rows (what a killed
/// re-import left before imports were one unit): `check` fails naming the event, a plain
/// `make-freebusy` repairs it, and `freebusy` then says 15:00.
fn stale_rows_are_found_and_repaired(place: &Place) {
    let tmp = tempfile::tempdir().unwrap();
    let first = write(tmp.path(), "a.ics", &event("moving", "20300105", "10", ""));
    succeeded(
        "import",
        &place.calstore(&["import", "--user", ALICE, &first]),
    );
    succeeded("make-freebusy", &place.calstore(&["make-freebusy", ALICE]));
    succeeded("check", &place.calstore(&["check"]));
    runtime().block_on(async {
        let opened = place.open(std::time::Duration::from_secs(5)).await;
        with_opened!(opened, s, _j => {
            s.put_event(
                &User::new(ALICE).unwrap(),
                &Uid::new("moving").unwrap(),
                None,
                &event("moving", "20300105", "15", ""),
            )
            .await
            .unwrap();
        })
    });
    let check = place.calstore(&["check"]);
    assert!(
        !check.status.success(),
        "{}: check passed a table with the old version's rows: {}",
        place.name(),
        text(&check)
    );
    assert!(text(&check).contains("moving"), "{}", text(&check));
    succeeded("make-freebusy", &place.calstore(&["make-freebusy", ALICE]));
    succeeded("check after repair", &place.calstore(&["check"]));
    let fb = succeeded("freebusy", &place.calstore(&["freebusy", "--user", ALICE]));
    assert!(fb.contains("20300105T150000Z"), "{fb}");
    assert!(!fb.contains("20300105T100000Z"), "{fb}");
}

#[test]
fn file_store_stale_rows_are_found_and_repaired() {
    stale_rows_are_found_and_repaired(&Place::file());
}

#[test]
fn postgres_store_stale_rows_are_found_and_repaired() {
    let Some(place) = Place::postgres("stale rows (postgres)") else {
        return;
    };
    stale_rows_are_found_and_repaired(&place);
}

/// Right after an import of an event without end, `freebusy` without range reads the table and
/// warns of no horizon. After a cron run (100 days), an import with a 10-day window lowers the
/// horizon: a query for days 20–60 answers the new weekly event's occurrences (expanded on
/// demand), never "free".
fn horizon_is_recorded_and_lowered(place: &Place) {
    let tmp = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let day = today.format("%Y%m%d").to_string();
    let weekly = write(
        tmp.path(),
        "weekly.ics",
        &event("weekly", &day, "09", "RRULE:FREQ=WEEKLY\r\n"),
    );
    let out = place.calstore(&["import", "--user", ALICE, &weekly]);
    succeeded("import", &out);
    let fb = place.calstore(&["freebusy", "--user", ALICE]);
    succeeded("freebusy", &fb);
    assert!(
        !String::from_utf8_lossy(&fb.stderr).contains("known only"),
        "{}: a horizon warning right after an import: {}",
        place.name(),
        text(&fb)
    );
    succeeded("make-freebusy", &place.calstore(&["make-freebusy", ALICE]));
    let other = write(
        tmp.path(),
        "other.ics",
        &event("other-weekly", &day, "13", "RRULE:FREQ=WEEKLY\r\n"),
    );
    succeeded(
        "short import",
        &place.calstore(&["import", "--user", ALICE, "--window-days", "10", &other]),
    );
    let start = (today + chrono::Duration::days(20))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let end = (today + chrono::Duration::days(60))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let out = place.calstore(&[
        "freebusy", "--user", ALICE, "--start", &start, "--end", &end,
    ]);
    let fb = succeeded("freebusy past the short window", &out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expanded on demand"),
        "{}: a query past the horizon says it expanded: {}",
        place.name(),
        text(&out)
    );
    let n = fb.lines().filter(|l| l.contains("other-weekly")).count();
    assert!(
        (5..=6).contains(&n),
        "{}: 40 days past a 10-day import hold five or six weekly occurrences, got {n}:\n{fb}",
        place.name()
    );
}

#[test]
fn file_store_horizon_is_recorded_and_lowered() {
    horizon_is_recorded_and_lowered(&Place::file());
}

#[test]
fn postgres_store_horizon_is_recorded_and_lowered() {
    let Some(place) = Place::postgres("horizon (postgres)") else {
        return;
    };
    horizon_is_recorded_and_lowered(&place);
}
