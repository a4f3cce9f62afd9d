//! End to end: the cron job (`make-freebusy`, `expire-quotas`) on the file store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::*;

const ALICE: &str = "mailto:alice@example.com";

fn calendars() -> Vec<std::path::PathBuf> {
    let mut all: Vec<_> = std::fs::read_dir(repo().join("tests/data"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "ics")
                && !p.to_string_lossy().ends_with(".invalid.ics")
        })
        .collect();
    all.sort();
    assert!(all.len() >= 10);
    all
}

fn freebusy_json(dir: &Path, store: &str) -> String {
    ok(&run(
        dir,
        &[
            "--store", store, "freebusy", "--user", ALICE, "--format", "json",
        ],
    ))
}

/// Importing with a short window and extending it gives what a fresh import with the long window
/// gives, for every test calendar (and the unbounded one really grows).
#[test]
fn extending_the_window_equals_a_fresh_import() {
    for ics in calendars() {
        let dir = tempfile::tempdir().unwrap();
        let ics = ics.to_str().unwrap();
        ok(&run(
            dir.path(),
            &[
                "--store",
                "short/store",
                "import",
                "--user",
                ALICE,
                "--tz",
                "Europe/Oslo",
                "--window-days",
                "30",
                ics,
            ],
        ));
        let before = freebusy_json(dir.path(), "short/store");
        ok(&run(
            dir.path(),
            &[
                "--store",
                "short/store",
                "preferences",
                "--user",
                ALICE,
                "TZID",
                "Europe/Oslo",
            ],
        ));
        let out = ok(&run(
            dir.path(),
            &[
                "--store",
                "short/store",
                "make-freebusy",
                "--window-days",
                "400",
                ALICE,
            ],
        ));
        assert!(out.starts_with("make-freebusy: 1 users"), "{out}");
        ok(&run(
            dir.path(),
            &[
                "--store",
                "long/store",
                "import",
                "--user",
                ALICE,
                "--tz",
                "Europe/Oslo",
                "--window-days",
                "400",
                ics,
            ],
        ));
        let extended = freebusy_json(dir.path(), "short/store");
        assert_eq!(extended, freebusy_json(dir.path(), "long/store"), "{ics}");
        if ics.ends_with(".unbounded.ics") {
            // Weekly since January 2026: 370 more days add about 53 occurrences.
            let (b, e) = (
                before.matches("\"start\"").count(),
                extended.matches("\"start\"").count(),
            );
            assert!(
                e >= b + 50,
                "{ics}: the window grew from 30 to 400 days ({b} -> {e} periods)"
            );
            let providers = ok(&run(
                dir.path(),
                &[
                    "--store",
                    "short/store",
                    "list",
                    "--user",
                    ALICE,
                    "freebusy-providers",
                ],
            ));
            assert!(providers.contains("forever@example.com"), "{providers}");
        }
        // --reset rebuilds the same table from scratch.
        ok(&run(
            dir.path(),
            &[
                "--store",
                "short/store",
                "make-freebusy",
                "--reset",
                "--window-days",
                "400",
                "--all",
            ],
        ));
        assert_eq!(
            freebusy_json(dir.path(), "short/store"),
            extended,
            "{ics} after --reset"
        );
    }
}

#[test]
fn a_shorter_window_rebuilds_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("tests/data/weekly-forever.unbounded.ics");
    ok(&run(
        dir.path(),
        &[
            "import",
            "--user",
            ALICE,
            "--window-days",
            "400",
            ics.to_str().unwrap(),
        ],
    ));
    let long = ok(&run(dir.path(), &["freebusy", "--user", ALICE]));
    let before = tree_listing(dir.path());
    let dry = ok(&run(
        dir.path(),
        &["make-freebusy", "--dry-run", "--window-days", "30", "--all"],
    ));
    assert_eq!(
        tree_listing(dir.path()),
        before,
        "--dry-run changed nothing"
    );
    let rows: Vec<&str> = dry.lines().filter(|l| l.starts_with(ALICE)).collect();
    assert!(
        !rows.is_empty() && rows.len() < long.lines().count(),
        "the dry run shows the shorter table"
    );
    ok(&run(
        dir.path(),
        &["make-freebusy", "--window-days", "30", "--all"],
    ));
    let short = ok(&run(dir.path(), &["freebusy", "--user", ALICE]));
    assert_eq!(
        short.lines().count(),
        rows.len(),
        "a window end earlier than the recorded one rebuilds everything"
    );
}

#[test]
fn a_corrupt_object_is_reported_and_skipped_without_stopping_others() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    for user in [ALICE, "mailto:bob@example.com"] {
        ok(&run(
            dir.path(),
            &["import", "--user", user, ics.to_str().unwrap()],
        ));
    }
    let broken = dir
        .path()
        .join("calstore-data/store")
        .join(ALICE)
        .join("objects/planning-2027@example.com");
    std::fs::write(
        &broken,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:planning-2027@example.com\r\n",
    )
    .unwrap();
    let out = run(dir.path(), &["make-freebusy", "--all", "--reset"]);
    assert_eq!(
        out.status.code(),
        Some(65),
        "the exit code says something was skipped"
    );
    let err = stderr(&out);
    assert!(
        err.contains(ALICE) && err.contains("planning-2027@example.com"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 users"));
    let bob = ok(&run(
        dir.path(),
        &["freebusy", "--user", "mailto:bob@example.com"],
    ));
    // Bob is in none of alice's events but organises the planning: as a personal calendar, all
    // 13 count for him (the review alice declined included).
    assert_eq!(bob.lines().count(), 13, "bob's table is complete");
    let alice = ok(&run(dir.path(), &["freebusy", "--user", ALICE]));
    assert!(
        !alice.contains("planning-2027") && alice.contains("standup-2027"),
        "{alice}"
    );
}

#[test]
fn concurrent_cron_runs_and_imports_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("tests/data/weekly-forever.unbounded.ics");
    ok(&run(
        dir.path(),
        &[
            "import",
            "--user",
            ALICE,
            "--window-days",
            "30",
            ics.to_str().unwrap(),
        ],
    ));
    let spawn = |args: Vec<String>| {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || run(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let mut handles = Vec::new();
    for i in 0..2 {
        handles.push(spawn(vec![
            "make-freebusy".into(),
            "--all".into(),
            "--window-days".into(),
            format!("{}", 200 + i),
        ]));
    }
    for i in 0..12 {
        let text = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:agent-{i}\r\nDTSTART:2027010{}T{:02}0000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            1 + i % 5,
            8 + i
        );
        let path = dir.path().join(format!("agent-{i}.ics"));
        std::fs::write(&path, text).unwrap();
        handles.push(spawn(vec![
            "import".into(),
            "--user".into(),
            ALICE.into(),
            path.to_string_lossy().into_owned(),
        ]));
    }
    for h in handles {
        ok(&h.join().unwrap());
    }
    let table = ok(&run(dir.path(), &["freebusy", "--user", ALICE]));
    for i in 0..12 {
        assert_eq!(
            table.matches(&format!("\tagent-{i}\t")).count(),
            1,
            "agent-{i} is there once:\n{table}"
        );
    }
    assert!(
        table.lines().count() > 12 + 25,
        "the standup was extended to ~200 days"
    );
    ok(&run(dir.path(), &["check"]));
}

#[test]
fn published_freebusy_parses_with_an_independent_parser() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &["import", "--user", ALICE, ics.to_str().unwrap()],
    ));
    ok(&run(
        dir.path(),
        &["make-freebusy", "--all", "--publish", "pub"],
    ));
    let published = dir.path().join("pub").join(ALICE).join("freebusy");
    let text = std::fs::read_to_string(&published).unwrap();
    assert!(text.contains("METHOD:PUBLISH\r\n") && text.contains("BEGIN:VFREEBUSY\r\n"));
    let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
fbs = [c for c in cal.walk('VFREEBUSY')]
assert len(fbs) == 1, fbs
periods = fbs[0].get('FREEBUSY')
periods = periods if isinstance(periods, list) else [periods]
print(cal['METHOD'], str(fbs[0]['ORGANIZER']), len(periods))
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&published)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                format!("PUBLISH {ALICE} 12")
            );
        }
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true") && why.contains("No module named"),
                "the Python icalendar package could not read the published file: {why}"
            );
            eprintln!("SKIPPED the independent parse: scripts/test installs icalendar in target/python-venv and sets CALSTORE_PYTHON");
        }
    }
}

#[test]
fn expire_quotas_drops_usage_that_ended() {
    let dir = tempfile::tempdir().unwrap();
    // A store that is not there is an error (issue 22): the store is made first.
    ok(&run(dir.path(), &["init"]));
    let journal = dir
        .path()
        .join("calstore-data/journal/mailto:rooms@example.com/journal");
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::write(
        journal.join("staff"),
        "20260105T090000Z\t20260105T100000Z\told\tOPAQUE\t\t\t\t\tmailto:room@example.com\n\
         20300105T090000Z\t20300105T100000Z\tnew\tOPAQUE\t\t\t\t\tmailto:room@example.com\n",
    )
    .unwrap();
    let usage = || {
        ok(&run(
            dir.path(),
            &["list", "--quota", "mailto:rooms@example.com", "journal"],
        ))
    };
    assert_eq!(usage().lines().count(), 2);
    assert_eq!(
        run(dir.path(), &["expire-quotas"]).status.code(),
        Some(2),
        "names or --all required"
    );
    let out = ok(&run(dir.path(), &["expire-quotas", "--all"]));
    assert!(out.contains("1 quotas, 1 periods"), "{out}");
    let left = usage();
    assert!(
        left.starts_with("staff\t20300105T090000Z") && left.lines().count() == 1,
        "{left}"
    );
    let out = ok(&run(
        dir.path(),
        &[
            "expire-quotas",
            "mailto:rooms@example.com",
            "--before",
            "2031-01-01T00:00:00Z",
        ],
    ));
    assert!(out.contains("1 periods"), "{out}");
    assert_eq!(usage(), "");
}

#[test]
fn quotas_are_regenerated_from_reservations_without_end() {
    let dir = tempfile::tempdir().unwrap();
    ok(&run(dir.path(), &["init"]));
    let quota = dir
        .path()
        .join("calstore-data/journal/mailto:rooms@example.com");
    std::fs::create_dir_all(quota.join("objects")).unwrap();
    std::fs::write(quota.join("groups"), "mailto:alice@example.com\tstaff\n").unwrap();
    std::fs::write(
        quota.join("objects/weekly-room"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:weekly-room\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY\r\nORGANIZER:mailto:alice@example.com\r\nSUMMARY:Room booking\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let list = |table: &str| {
        ok(&run(
            dir.path(),
            &["list", "--quota", "mailto:rooms@example.com", table],
        ))
    };
    let out = ok(&run(
        dir.path(),
        &["make-freebusy", "--quotas", "--all", "--window-days", "30"],
    ));
    assert!(
        out.starts_with("make-freebusy: 1 quotas, 1 events"),
        "{out}"
    );
    let user_rows = list("freebusy");
    let first = user_rows.lines().next().unwrap();
    assert_eq!(
        first,
        "mailto:alice@example.com\t20260105T090000Z\t20260105T100000Z\tweekly-room\tOPAQUE\t\tRoom booking\tmailto:alice@example.com\t\tmailto:rooms@example.com"
    );
    let journal_rows = list("journal");
    assert!(
        journal_rows.lines().all(|l| l.starts_with("staff\t")),
        "{journal_rows}"
    );
    assert_eq!(journal_rows.lines().count(), user_rows.lines().count());
    assert!(list("freebusy-providers").contains("weekly-room"));
    let short = user_rows.lines().count();
    ok(&run(
        dir.path(),
        &[
            "make-freebusy",
            "--quotas",
            "mailto:rooms@example.com",
            "--window-days",
            "400",
        ],
    ));
    let long = list("freebusy").lines().count();
    assert!(
        long >= short + 50,
        "the reservation's window grew: {short} -> {long}"
    );
}

#[test]
fn make_freebusy_purges_expired_offers() {
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &["import", "--user", ALICE, ics.to_str().unwrap()],
    ));
    let offers = dir
        .path()
        .join("calstore-data/store")
        .join(ALICE)
        .join("freebusy-offers");
    std::fs::write(
        &offers,
        "20200105T090000Z\t20200105T100000Z\told\tOPAQUE\t\t\t\t20200101T000000Z\n\
         20400105T090000Z\t20400105T100000Z\tlive\tOPAQUE\t\t\t\t20400101T000000Z\n",
    )
    .unwrap();
    let listed = ok(&run(dir.path(), &["freebusy", "--user", ALICE, "--offers"]));
    assert_eq!(
        listed.lines().count(),
        1,
        "an expired offer is never returned: {listed}"
    );
    ok(&run(dir.path(), &["make-freebusy", "--all"]));
    assert_eq!(
        std::fs::read_to_string(&offers).unwrap(),
        "20400105T090000Z\t20400105T100000Z\tlive\tOPAQUE\t\t\t\t20400101T000000Z\n",
        "make-freebusy removed the expired hold from the file"
    );
}

/// Many users regenerated at once (`--jobs`) give the same tables and the same output, in user
/// order, as one at a time.
#[test]
fn jobs_change_nothing_but_speed() {
    let dir = tempfile::tempdir().unwrap();
    let files = calendars();
    let users: Vec<String> = (0..24)
        .map(|i| format!("mailto:user{i:02}@example.com"))
        .collect();
    for (i, user) in users.iter().enumerate() {
        // Each user gets a different slice of the calendars, so the tables differ.
        let mine: Vec<&str> = files
            .iter()
            .skip(i % files.len())
            .step_by(3)
            .map(|p| p.to_str().unwrap())
            .collect();
        let mut args = vec!["import", "--user", user.as_str(), "--tz", "Europe/Oslo"];
        args.extend(mine);
        ok(&run(dir.path(), &args));
    }
    // The period lines only: the summary line ends with the time taken.
    let dry = |jobs: &str| -> String {
        let args = [
            "make-freebusy",
            "--all",
            "--reset",
            "--dry-run",
            "--jobs",
            jobs,
        ];
        ok(&run(dir.path(), &args))
            .lines()
            .filter(|l| l.starts_with("mailto:"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let serial = dry("1");
    let order: Vec<&str> = serial
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "output in user order");
    assert!(order.len() > 100, "{} lines", order.len());
    for jobs in ["8", "64"] {
        let parallel = dry(jobs);
        let first_difference = parallel.lines().zip(serial.lines()).find(|(a, b)| a != b);
        assert!(
            parallel == serial,
            "--jobs {jobs} printed other lines than --jobs 1: {} against {} lines, first \
             difference {first_difference:?}",
            parallel.lines().count(),
            serial.lines().count()
        );
    }
    let tables = |dir: &Path| -> Vec<String> {
        users
            .iter()
            .map(|u| ok(&run(dir, &["freebusy", "--user", u])))
            .collect()
    };
    ok(&run(
        dir.path(),
        &["make-freebusy", "--all", "--reset", "--jobs", "1"],
    ));
    let one = tables(dir.path());
    ok(&run(
        dir.path(),
        &["make-freebusy", "--all", "--reset", "--jobs", "16"],
    ));
    assert_eq!(tables(dir.path()), one);
    let bad = run(dir.path(), &["make-freebusy", "--all", "--jobs", "0"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// The Python with the pinned iCalendar tools: `CALSTORE_PYTHON` (scripts/test sets it to the
/// virtual environment it makes under target/), else `python3` from the PATH.
fn python() -> std::ffi::OsString {
    std::env::var_os("CALSTORE_PYTHON").unwrap_or_else(|| "python3".into())
}
