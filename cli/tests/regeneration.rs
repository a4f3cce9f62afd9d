//! End to end, on both backends: what a table holds does not depend on which command wrote it
//! last (issue 13, item 3), a query past the window does not answer "free" (item 4), and
//! objects without periods are reported by `check` and repaired by the cron job (item 8).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::Output;

use calstore::{Store, Table, Uid, User};
use support::*;

const ALICE: &str = "mailto:alice@example.com";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn succeeded(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}\n{}",
        out.status.code(),
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(out)
}

/// The user's whole table as the file store's lines (with every field), and for the file store
/// the file's bytes too.
fn table(place: &Place) -> String {
    let mut text = succeeded(
        "list freebusy",
        &place.calstore(&["list", "--user", ALICE, "freebusy"]),
    );
    if let Some(dir) = place.dir() {
        let path = dir.join("store").join(ALICE).join("freebusy");
        text.push_str("--- file ---\n");
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    text
}

fn calendars() -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(repo().join("tests/data"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "ics")
                && !p.to_string_lossy().ends_with(".invalid.ics")
        })
        .map(|p| p.display().to_string())
        .collect();
    all.push(repo().join("examples/team-week.ics").display().to_string());
    all.sort();
    all
}

/// Item 3: `import --tz Europe/Oslo` then a plain `make-freebusy --all` leaves the table
/// byte-identical; a later `--tz` that differs from the zone recorded is refused, changing
/// nothing.
fn cron_reproduces_the_import(place: &Place) {
    let mut args = vec!["import", "--user", ALICE, "--tz", "Europe/Oslo"];
    let files = calendars();
    args.extend(files.iter().map(String::as_str));
    succeeded("import", &place.calstore(&args));
    let imported = table(place);
    assert!(imported.lines().count() > 20, "{imported}");
    succeeded(
        "make-freebusy",
        &place.calstore(&["make-freebusy", "--all"]),
    );
    assert_eq!(
        table(place),
        imported,
        "{}: make-freebusy changed what import wrote",
        place.name()
    );
    let prefs = succeeded(
        "preferences",
        &place.calstore(&["preferences", "--user", ALICE]),
    );
    assert!(prefs.contains("Europe/Oslo"), "{prefs}");
    let before = place.snapshot();
    let out = place.calstore(&[
        "import",
        "--user",
        ALICE,
        "--tz",
        "America/New_York",
        &files[0],
    ]);
    assert_eq!(out.status.code(), Some(65), "{}", stdout(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TZID"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(place.snapshot(), before, "a refused import changed nothing");
}

#[test]
fn file_store_cron_reproduces_the_import() {
    cron_reproduces_the_import(&Place::file());
}

#[test]
fn postgres_store_cron_reproduces_the_import() {
    let Some(place) = Place::postgres("cron reproduces the import (postgres)") else {
        return;
    };
    cron_reproduces_the_import(&place);
}

/// Item 4: after an import with a 30-day window, a month 200 days ahead holds the weekly
/// meeting without end in every format.
fn query_past_the_window(place: &Place) {
    let today = chrono::Utc::now().date_naive();
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:weekly@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        today.format("%Y%m%d")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weekly.ics");
    std::fs::write(&path, ics).unwrap();
    succeeded(
        "import",
        &place.calstore(&[
            "import",
            "--user",
            ALICE,
            "--window-days",
            "30",
            path.to_str().unwrap(),
        ]),
    );
    let start = (today + chrono::Duration::days(200))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let end = (today + chrono::Duration::days(230))
        .format("%Y-%m-%dT00:00:00Z")
        .to_string();
    let query = |format: &str| {
        succeeded(
            "freebusy",
            &place.calstore(&[
                "freebusy", "--user", ALICE, "--start", &start, "--end", &end, "--format", format,
            ]),
        )
    };
    let tsv = query("tsv");
    assert!(
        (4..=5).contains(&tsv.matches("weekly@example.com").count()),
        "{}: 30 days hold four or five weekly occurrences:\n{tsv}",
        place.name()
    );
    let json = query("json");
    assert_eq!(
        json.matches("\"start\"").count(),
        tsv.lines().count(),
        "{json}"
    );
    let ical = query("ical");
    assert_eq!(
        ical.matches("FREEBUSY;FBTYPE=BUSY:").count(),
        tsv.lines().count(),
        "{ical}"
    );
    // The table itself is not written by a query.
    let stored = succeeded(
        "list",
        &place.calstore(&["list", "--user", ALICE, "freebusy"]),
    );
    assert!(stored.lines().count() <= 6, "{stored}");
    // Without an end nothing can be expanded: the answer says where knowledge stops.
    let open = place.calstore(&["freebusy", "--user", ALICE, "--start", &start]);
    succeeded("open-ended freebusy", &open);
    assert!(
        String::from_utf8_lossy(&open.stderr).contains("known only before"),
        "{}",
        String::from_utf8_lossy(&open.stderr)
    );
}

#[test]
fn file_store_query_past_the_window_is_not_free() {
    query_past_the_window(&Place::file());
}

#[test]
fn postgres_store_query_past_the_window_is_not_free() {
    let Some(place) = Place::postgres("query past the window (postgres)") else {
        return;
    };
    query_past_the_window(&place);
}

/// Item 8: the periods of some objects are gone (as after an import killed before its table
/// write); `check` reports them with exit 65, `make-freebusy --all` (without `--reset`) puts them
/// back, and `check` is clean.
fn objects_without_periods(place: &Place) {
    let files = calendars();
    let mut args = vec!["import", "--user", ALICE, "--tz", "Europe/Oslo"];
    args.extend(files.iter().map(String::as_str));
    succeeded("import", &place.calstore(&args));
    succeeded("first cron", &place.calstore(&["make-freebusy", "--all"]));
    let whole = table(place);
    let alice = User::new(ALICE).unwrap();
    let lost: Vec<Uid> = runtime().block_on(async {
        with_opened!(place.open(std::time::Duration::from_secs(10)).await, s, _j => {
            let rows = s.freebusy(&alice, &Table::FreeBusy).await.unwrap().value;
            let mut uids: Vec<Uid> = rows.iter().map(|p| p.uid.clone()).collect();
            uids.dedup();
            let lost: Vec<Uid> = uids.into_iter().step_by(3).collect();
            s.replace_uids_periods(&alice, &Table::FreeBusy, &lost, Vec::new())
                .await
                .unwrap();
            lost
        })
    });
    assert!(lost.len() >= 3, "{lost:?}");
    let out = place.calstore(&["check"]);
    assert_eq!(out.status.code(), Some(65), "{}", stdout(&out));
    let report = String::from_utf8_lossy(&out.stderr);
    for uid in &lost {
        assert!(
            report.contains(&format!("{:?} has no periods", uid.as_str())),
            "{}: check names {uid:?}:\n{report}",
            place.name()
        );
    }
    succeeded(
        "repairing cron",
        &place.calstore(&["make-freebusy", "--all"]),
    );
    assert_eq!(
        table(place),
        whole,
        "{}: the cron job repaired",
        place.name()
    );
    succeeded("check after the repair", &place.calstore(&["check"]));
}

#[test]
fn file_store_objects_without_periods_are_reported_and_repaired() {
    objects_without_periods(&Place::file());
}

#[test]
fn postgres_store_objects_without_periods_are_reported_and_repaired() {
    let Some(place) = Place::postgres("objects without periods (postgres)") else {
        return;
    };
    objects_without_periods(&place);
}
