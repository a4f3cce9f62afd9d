//! End to end: `import` then `freebusy`, `list`, `check`, bad input, read-only, hostile keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;

const ALICE: &str = "mailto:alice@example.com";

/// Every calendar in tests/data with an expected result imports to exactly those periods.
#[test]
fn every_test_calendar_gives_the_expected_periods() {
    let data = repo().join("tests/data");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&data)
        .expect("tests/data")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for ics in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ics"))
    {
        let expected_path = ics.with_extension("expected.json");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let store = store.to_str().unwrap();
        ok(&run(
            dir.path(),
            &[
                "--store",
                store,
                "import",
                "--user",
                ALICE,
                "--tz",
                "Europe/Oslo",
                ics.to_str().unwrap(),
            ],
        ));
        let json = ok(&run(
            dir.path(),
            &[
                "--store", store, "freebusy", "--user", ALICE, "--format", "json",
            ],
        ));
        let got: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{}: bad JSON {e}: {json}", ics.display()));
        let want: serde_json::Value = serde_json::from_str(&expected).expect("expected JSON");
        assert_eq!(got, want, "{}", ics.display());
        let objects = ok(&run(
            dir.path(),
            &["--store", store, "list", "--user", ALICE, "objects"],
        ));
        let recurrences = ok(&run(
            dir.path(),
            &["--store", store, "list", "--user", ALICE, "recurrences"],
        ));
        assert!(
            objects.lines().count() + recurrences.lines().count() >= 1,
            "{}: list shows the stored rows",
            ics.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} calendars had expected results"
    );
}

#[test]
fn json_tsv_and_ical_formats() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &[
            "import",
            "--user",
            ALICE,
            "--tz",
            "Europe/Oslo",
            ics.to_str().unwrap(),
        ],
    ));
    assert!(
        dir.path().join("calstore-data/store").is_dir(),
        "the default store is ./calstore-data/store"
    );
    let tsv = ok(&run(
        dir.path(),
        &[
            "freebusy",
            "--user",
            ALICE,
            "--start",
            "2027-01-05T00:00:00Z",
            "--end",
            "20270106T000000Z",
        ],
    ));
    // Stand-up 09:15-09:30 Oslo (08:15Z) and planning 13:00-15:00 Oslo (12:00Z) on Tuesday 5 January.
    assert_eq!(
        tsv,
        "20270105T081500Z\t20270105T083000Z\tstandup-2027@example.com\tOPAQUE\t\tStand-up\tmailto:alice@example.com\t\n\
         20270105T120000Z\t20270105T140000Z\tplanning-2027@example.com\tOPAQUE\t\tSprint planning\tmailto:bob@example.com\t\n"
    );
    let ical = ok(&run(
        dir.path(),
        &[
            "freebusy",
            "--user",
            ALICE,
            "--format",
            "ical",
            "--start",
            "20270105T000000Z",
            "--end",
            "20270106T000000Z",
        ],
    ));
    assert!(ical.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(ical.contains("METHOD:PUBLISH\r\n"));
    assert!(ical.contains("ORGANIZER:mailto:alice@example.com\r\n"));
    assert!(ical.contains("DTSTART:20270105T000000Z\r\n"));
    assert!(ical.contains("FREEBUSY;FBTYPE=BUSY:20270105T081500Z/20270105T083000Z\r\n"));
    assert_eq!(ical.matches("FREEBUSY;").count(), 2);
    let all = ok(&run(
        dir.path(),
        &["freebusy", "--user", ALICE, "--format", "json"],
    ));
    let v: serde_json::Value = serde_json::from_str(&all).unwrap();
    let periods = v.as_array().unwrap();
    // 10 stand-ups, the planning meeting and the all-day offsite; the declined review is not there.
    assert_eq!(periods.len(), 12, "{all}");
    assert!(periods
        .iter()
        .all(|p| p["uid"] != "declined-2027@example.com"));
    let keys: Vec<&str> = periods[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "start",
        "end",
        "uid",
        "rid",
        "transp",
        "fbtype",
        "summary",
        "organiser",
        "expires",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
}

/// A file with one event that cannot be read among good ones.
pub const ONE_BAD: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:good\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:bad\r\nDTSTART:2026-01-05 nonsense\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:quirky\r\nDTSTART:20260106T100000Z\r\nDTEND:20260106T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[test]
fn a_bad_event_is_left_out_with_file_line_and_uid_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ics");
    std::fs::write(&bad, ONE_BAD).unwrap();
    let import = |strict: bool| {
        let mut args = vec!["--store", "s", "import", "--user", ALICE];
        if strict {
            args.push("--strict");
        }
        args.push(bad.to_str().unwrap());
        run(dir.path(), &args)
    };
    // --strict: the whole file or nothing.
    let out = import(true);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad.ics") && err.contains("line 10"),
        "names the file and line: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one sentence, no backtrace: {err}");
    assert!(
        !dir.path().join("s").join(ALICE).exists(),
        "nothing of the file was stored"
    );
    // Without: the bad family is reported and left out, the others stored, exit 65.
    let out = import(false);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad.ics: line 10: uid \"bad\": left out: DTSTART value"),
        "{err}"
    );
    assert!(
        err.contains("bad.ics: line 15: uid \"quirky\": warning: DTEND"),
        "{err}"
    );
    let json = ok(&run(
        dir.path(),
        &[
            "--store", "s", "freebusy", "--user", ALICE, "--format", "json",
        ],
    ));
    assert!(
        json.contains("\"good\"") && json.contains("\"quirky\""),
        "{json}"
    );
    assert!(!json.contains("\"bad\""), "{json}");
    // The swapped event: 09:00–10:00 on 6 January.
    assert!(
        json.contains("\"start\": \"2026-01-06T09:00:00Z\", \"end\": \"2026-01-06T10:00:00Z\""),
        "{json}"
    );
}

#[test]
fn a_file_that_is_not_utf8_exits_65() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("latin1.ics");
    std::fs::write(
        &bad,
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Caf\xe9\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--store",
            "s",
            "import",
            "--user",
            ALICE,
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
}

#[test]
fn read_only_refuses_writes_and_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &["import", "--user", ALICE, ics.to_str().unwrap()],
    ));
    let before = tree_listing(dir.path());
    for args in [
        vec![
            "--read-only",
            "import",
            "--user",
            ALICE,
            ics.to_str().unwrap(),
        ],
        vec![
            "--read-only",
            "import",
            "--user",
            "mailto:new@example.com",
            ics.to_str().unwrap(),
        ],
        vec![
            "--read-only",
            "preferences",
            "--user",
            ALICE,
            "TZID",
            "Europe/Oslo",
        ],
        vec!["--read-only", "init"],
    ] {
        let out = run(dir.path(), &args);
        assert_ne!(out.status.code(), Some(0), "{args:?} must fail");
        assert!(
            stderr(&out).contains("read-only"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    ok(&run(
        dir.path(),
        &["--read-only", "freebusy", "--user", ALICE],
    ));
    ok(&run(dir.path(), &["--read-only", "check"]));
    assert_eq!(tree_listing(dir.path()), before, "no file changed");
}

#[test]
fn hostile_users_and_uids_stay_inside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let store = root.join("store");
    let store = store.to_str().unwrap();
    let long = "l".repeat(200);
    for (user, uid) in [
        ("../../escape", "../../escape"),
        ("a/b", "a/b"),
        (".hidden", ".hidden"),
        (long.as_str(), long.as_str()),
        ("mailto:tab\tuser@example.com", "uid\twith tab"),
    ] {
        let ics = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            uid
        );
        let out = run_with_input(
            dir.path(),
            &["--store", store, "import", "--user", user, "-"],
            Some(&ics),
        );
        ok(&out);
        let tsv = ok(&run(
            dir.path(),
            &["--store", store, "freebusy", "--user", user],
        ));
        assert_eq!(tsv.lines().count(), 1, "{user:?}");
        let listed = ok(&run(
            dir.path(),
            &["--store", store, "list", "--user", user, "objects"],
        ));
        let first = listed.split('\t').next().unwrap();
        assert_eq!(calstore::period::unescape(first).unwrap(), uid, "{user:?}");
    }
    // Nothing escaped: the temporary directory holds only the root.
    let top: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("root")]);
    let escaped = tree_listing(&root)
        .lines()
        .filter(|l| (l.starts_with("escape") || l.contains("/escape")) && !l.contains("%2F"))
        .count();
    assert_eq!(escaped, 0);
    for too_long in ["x".repeat(300), String::new()] {
        let out = run(
            dir.path(),
            &["--store", store, "freebusy", "--user", &too_long],
        );
        assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
        assert!(stderr(&out).contains("user"), "{}", stderr(&out));
    }
}

#[test]
fn preferences_are_validated_and_used() {
    let dir = tempfile::tempdir().unwrap();
    // A store that is not there is an error (issue 22): the store is made first.
    ok(&run(dir.path(), &["init"]));
    ok(&run(
        dir.path(),
        &["preferences", "--user", ALICE, "TZID", "America/New_York"],
    ));
    let bad = run(
        dir.path(),
        &["preferences", "--user", ALICE, "TZID", "Mars/Olympus"],
    );
    assert_eq!(bad.status.code(), Some(65));
    let bad = run(
        dir.path(),
        &["preferences", "--user", ALICE, "window_size", "0"],
    );
    assert_eq!(bad.status.code(), Some(65));
    ok(&run(
        dir.path(),
        &["preferences", "--user", ALICE, "colour", "blue"],
    ));
    assert_eq!(
        ok(&run(dir.path(), &["preferences", "--user", ALICE, "TZID"])),
        "America/New_York\n"
    );
    assert_eq!(
        ok(&run(dir.path(), &["preferences", "--user", ALICE])),
        "TZID\tAmerica/New_York\ncolour\tblue\n"
    );
    // A floating event is read in the user's zone: 09:00 New York in January is 14:00Z.
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:floating\r\nDTSTART:20260105T090000\r\nDTEND:20260105T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    ok(&run_with_input(
        dir.path(),
        &["import", "--user", ALICE, "-"],
        Some(ics),
    ));
    let tsv = ok(&run(dir.path(), &["freebusy", "--user", ALICE]));
    assert!(
        tsv.starts_with("20260105T140000Z\t20260105T150000Z\tfloating\t"),
        "{tsv}"
    );
    let missing = run(dir.path(), &["preferences", "--user", ALICE, "nothing"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), &["import"]).status.code(), Some(2));
    assert_eq!(run(dir.path(), &["no-such-command"]).status.code(), Some(2));
    assert_eq!(
        run(
            dir.path(),
            &["freebusy", "--user", ALICE, "--format", "xml"]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn check_reports_a_corrupt_line_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &["import", "--user", ALICE, ics.to_str().unwrap()],
    ));
    ok(&run(dir.path(), &["check"]));
    let fb = dir
        .path()
        .join("calstore-data/store")
        .join(ALICE)
        .join("freebusy");
    let mut text = std::fs::read_to_string(&fb).unwrap();
    text.push_str("20270101T000000Z\tnot-a-time\tx\tOPAQUE\t\t\t\t\n");
    std::fs::write(&fb, text).unwrap();
    let out = run(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(65));
    let err = stderr(&out);
    assert!(
        err.contains("freebusy:13:"),
        "names the file and line: {err}"
    );
    // A write path refuses to drop the line it cannot read.
    let out = run(
        dir.path(),
        &["import", "--user", ALICE, ics.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&fb).unwrap().contains("not-a-time"));
}

/// A store failure inside a batch (issue 21: objects and periods land together, a batch is one
/// unit): the import fails naming the uid; nothing of the batch is answered half-way: on the
/// file store the batch's redo record stays, so `freebusy` refuses to answer from a table that
/// the stored objects may contradict, and once the obstacle is gone the next call finishes the
/// whole batch. (Before issue 21, `a` was stored with its periods and `b` not; the old test
/// asserted that.)
#[test]
fn a_store_failure_mid_batch_lands_the_whole_batch_or_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let event = |uid: &str, day: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:202601{day}T090000Z\r\nDTEND:202601{day}T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    std::fs::write(dir.path().join("a.ics"), event("a", "05")).unwrap();
    std::fs::write(dir.path().join("b.ics"), event("b", "06")).unwrap();
    // A directory where b's object file goes: storing b fails, storing a does not.
    let obstacle = dir.path().join("s").join(ALICE).join("objects/b");
    std::fs::create_dir_all(obstacle.join("in-the-way")).unwrap();
    let out = run(
        dir.path(),
        &["--store", "s", "import", "--user", ALICE, "a.ics", "b.ics"],
    );
    assert_ne!(out.status.code(), Some(0), "the import fails");
    let err = stderr(&out);
    assert!(err.contains("\"b\""), "names the uid: {err}");
    let freebusy = || {
        run(
            dir.path(),
            &[
                "--store", "s", "freebusy", "--user", ALICE, "--format", "tsv",
            ],
        )
    };
    let refused = freebusy();
    assert_ne!(
        refused.status.code(),
        Some(0),
        "half a batch is never answered: {}",
        ok_or_text(&refused)
    );
    std::fs::remove_dir_all(&obstacle).unwrap();
    let table = ok(&freebusy());
    assert!(
        table.contains("20260105T090000Z\t20260105T100000Z\ta"),
        "the whole batch lands once it can: {table}"
    );
    // b's old object could not be read when the batch was computed, so the batch stored its new
    // object without periods: `check` names it and the nightly run (no --reset) repairs it.
    let check = run(dir.path(), &["--store", "s", "check"]);
    if !table.contains("\tb\t") {
        assert_ne!(check.status.code(), Some(0), "check names b");
        assert!(
            ok_or_text(&check).contains("\"b\""),
            "{}",
            ok_or_text(&check)
        );
        ok(&run(dir.path(), &["--store", "s", "make-freebusy", ALICE]));
    }
    let table = ok(&freebusy());
    assert!(
        table.contains("20260106T090000Z\t20260106T100000Z\tb"),
        "{table}"
    );
    let check = run(dir.path(), &["--store", "s", "check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}

fn ok_or_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `import` of a VAVAILABILITY file stores it as the user's `availability` through the library:
/// the preference holds it, the table its BUSY-UNAVAILABLE rows, `check` agrees, the VFREEBUSY
/// writes them; events imported with it are stored as before.
#[test]
fn a_vavailability_file_is_imported_as_the_availability() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let day = chrono::DateTime::from_timestamp((secs / 86_400 + 1) as i64 * 86_400, 0)
        .unwrap()
        .format("%Y%m%d")
        .to_string();
    let hours = dir.path().join("hours.ics");
    std::fs::write(
        &hours,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VAVAILABILITY\r\n\
UID:office-hours\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T000000Z\r\nBEGIN:AVAILABLE\r\n\
UID:day\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T080000Z\r\nDTEND:20200101T170000Z\r\n\
RRULE:FREQ=DAILY\r\nEND:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let meeting = dir.path().join("meeting.ics");
    std::fs::write(
        &meeting,
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:m\r\n\
DTSTAMP:20200101T000000Z\r\nDTSTART:{day}T100000Z\r\nDTEND:{day}T110000Z\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n"
        ),
    )
    .unwrap();
    let out = ok(&run(
        dir.path(),
        &[
            "--store",
            store,
            "import",
            "--user",
            ALICE,
            "--window-days",
            "10",
            meeting.to_str().unwrap(),
            hours.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("stored as the availability of"), "{out}");
    let pref = ok(&run(
        dir.path(),
        &[
            "--store",
            store,
            "preferences",
            "--user",
            ALICE,
            "availability",
        ],
    ));
    assert!(pref.contains("UID:office-hours"), "{pref}");
    let range = [
        "--start".to_owned(),
        format!("{day}T000000Z"),
        "--end".to_owned(),
        format!("{day}T235959Z"),
    ];
    let json = |format: &str| {
        let mut args = vec![
            "--store", store, "freebusy", "--user", ALICE, "--format", format,
        ];
        args.extend(range.iter().map(String::as_str));
        ok(&run(dir.path(), &args))
    };
    let v: serde_json::Value = serde_json::from_str(&json("json")).unwrap();
    let got: Vec<(String, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["uid"].as_str().unwrap().to_owned(),
                p["fbtype"].as_str().unwrap().to_owned(),
                p["start"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let iso = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..]);
    assert_eq!(
        got.iter()
            .map(|(u, t, _)| (u.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
        [
            ("office-hours", "BUSY-UNAVAILABLE"),
            ("m", "BUSY"),
            ("office-hours", "BUSY-UNAVAILABLE")
        ],
        "{got:?}"
    );
    assert_eq!(got[2].2, format!("{iso}T17:00:00Z"));
    let ical = json("ical");
    assert!(
        ical.contains(&format!(
            "FREEBUSY;FBTYPE=BUSY:{day}T100000Z/{day}T110000Z\r\n"
        )),
        "{ical}"
    );
    assert!(
        ical.contains(&format!(
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:{day}T170000Z/{day}T235959Z\r\n"
        )),
        "{ical}"
    );
    assert!(
        ical.contains(&format!(
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:{day}T000000Z/{day}T080000Z\r\n"
        )),
        "{ical}"
    );
    ok(&run(dir.path(), &["--store", store, "check"]));
    // A file that is not a readable VAVAILABILITY stores nothing.
    let bad = dir.path().join("bad.ics");
    std::fs::write(
        &bad,
        "BEGIN:VCALENDAR\r\nBEGIN:VAVAILABILITY\r\nUID:x\r\nBEGIN:AVAILABLE\r\nUID:y\r\n\
END:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let refused = run(
        dir.path(),
        &[
            "--store",
            store,
            "import",
            "--user",
            ALICE,
            bad.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    let still = ok(&run(
        dir.path(),
        &[
            "--store",
            store,
            "preferences",
            "--user",
            ALICE,
            "availability",
        ],
    ));
    assert_eq!(still, pref);
}
