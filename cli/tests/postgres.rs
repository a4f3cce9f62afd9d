//! End to end on PostgreSQL: schema commands, import/freebusy, copy between backends both ways,
//! unreachable servers. Uses the test server of calstore-postgres (private, or
//! `CALSTORE_TEST_PG_URL`); skips loudly without one, except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use calstore_postgres::harness::{server_or_skip, TestDatabase};
use support::*;

const ALICE: &str = "mailto:alice@example.com";

fn fresh(test: &str) -> Option<TestDatabase> {
    Some(
        server_or_skip(test)?
            .fresh_database()
            .expect("fresh database"),
    )
}

fn calendars() -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(repo().join("tests/data"))
        .unwrap()
        .flatten()
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".ics") && !p.ends_with(".invalid.ics"))
        .collect();
    all.sort();
    all
}

#[test]
fn schema_install_is_idempotent_and_concurrent_installs_agree() {
    let Some(server) = server_or_skip("schema_install") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime
        .block_on(server.empty_database())
        .expect("empty database");
    let dir = tempfile::tempdir().unwrap();
    let status = run(dir.path(), &["--store", db.url(), "schema", "status"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "an empty database is not current"
    );
    // Two installers at the same moment: both finish, the schema is installed once.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(dir.path(), &["--store", db.url(), "schema", "install"]));
        let b = s.spawn(|| run(dir.path(), &["--store", db.url(), "schema", "install"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a, b) = (ok(&a), ok(&b));
    // Each migration was applied exactly once, by one or the other.
    let both = format!("{a}{b}");
    assert_eq!(both.matches("0001_initial").count(), 1, "{both}");
    assert_eq!(both.matches("0002_updated_at").count(), 1, "{both}");
    let again = ok(&run(
        dir.path(),
        &["--store", db.url(), "schema", "install"],
    ));
    assert!(again.starts_with("schema up to date"), "{again}");
    let status = ok(&run(dir.path(), &["--store", db.url(), "schema", "status"]));
    assert!(status.contains("version"), "{status}");
    let upgrade = ok(&run(
        dir.path(),
        &["--store", db.url(), "schema", "upgrade"],
    ));
    assert!(upgrade.starts_with("schema up to date"), "{upgrade}");
}

#[test]
fn every_calendar_gives_the_same_periods_as_the_file_store() {
    for ics in calendars() {
        let Some(db) = fresh("postgres import") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        for store in [db.url(), "files/store"] {
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
                    &ics,
                ],
            ));
        }
        let pg = ok(&run(
            dir.path(),
            &[
                "--store",
                db.url(),
                "freebusy",
                "--user",
                ALICE,
                "--format",
                "json",
            ],
        ));
        let file = ok(&run(
            dir.path(),
            &[
                "--store",
                "files/store",
                "freebusy",
                "--user",
                ALICE,
                "--format",
                "json",
            ],
        ));
        assert_eq!(pg, file, "{ics}");
        let expected = ics.replace(".ics", ".expected.json");
        if let Ok(want) = std::fs::read_to_string(&expected) {
            let got: serde_json::Value = serde_json::from_str(&pg).unwrap();
            assert_eq!(
                got,
                serde_json::from_str::<serde_json::Value>(&want).unwrap(),
                "{ics}"
            );
        }
        // make-freebusy extends the same way on both.
        for store in [db.url(), "files/store"] {
            ok(&run(
                dir.path(),
                &[
                    "--store",
                    store,
                    "make-freebusy",
                    "--all",
                    "--window-days",
                    "400",
                ],
            ));
        }
        let pg = ok(&run(
            dir.path(),
            &["--store", db.url(), "freebusy", "--user", ALICE],
        ));
        let file = ok(&run(
            dir.path(),
            &["--store", "files/store", "freebusy", "--user", ALICE],
        ));
        assert_eq!(pg, file, "{ics} after make-freebusy");
    }
}

fn list_everything(dir: &std::path::Path, store: &str, journal: &str) -> String {
    let mut out = String::new();
    let users = [
        "mailto:alice@example.com",
        "mailto:bob@example.com",
        "../../escape",
    ];
    for user in users {
        for table in [
            "objects",
            "recurrences",
            "requests",
            "counters",
            "freebusy",
            "freebusy-offers",
            "freebusy-other",
            "freebusy-providers",
            "preferences",
        ] {
            out.push_str(&format!("== {user} {table}\n"));
            out.push_str(&ok(&run(
                dir,
                &[
                    "--store",
                    store,
                    "--journal",
                    journal,
                    "list",
                    "--user",
                    user,
                    table,
                ],
            )));
        }
    }
    for table in [
        "limits",
        "groups",
        "delegates",
        "freebusy",
        "journal",
        "freebusy-providers",
        "objects",
    ] {
        out.push_str(&format!("== quota {table}\n"));
        out.push_str(&ok(&run(
            dir,
            &[
                "--store",
                store,
                "--journal",
                journal,
                "list",
                "--quota",
                "mailto:rooms@example.com",
                table,
            ],
        )));
    }
    out
}

#[test]
fn copy_file_to_postgres_to_file_keeps_every_line() {
    let Some(db) = fresh("copy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a");
    let store = root.join("store").to_string_lossy().into_owned();
    let journal = root.join("journal").to_string_lossy().into_owned();
    for user in [ALICE, "mailto:bob@example.com", "../../escape"] {
        for ics in calendars() {
            ok(&run(
                dir.path(),
                &[
                    "--store",
                    &store,
                    "import",
                    "--user",
                    user,
                    "--tz",
                    "Europe/Oslo",
                    &ics,
                ],
            ));
        }
    }
    ok(&run(
        dir.path(),
        &[
            "--store",
            &store,
            "preferences",
            "--user",
            ALICE,
            "TZID",
            "Europe/Oslo",
        ],
    ));
    // Journal content, written in the file layout.
    let quota = root.join("journal/mailto:rooms@example.com");
    std::fs::create_dir_all(quota.join("journal")).unwrap();
    std::fs::write(quota.join("limits"), "*\tPT10H\nstaff\tP1D\n").unwrap();
    std::fs::write(quota.join("groups"), "mailto:alice@example.com\tstaff\n").unwrap();
    std::fs::write(quota.join("delegates"), "mailto:bob@example.com\n").unwrap();
    std::fs::write(quota.join("journal/staff"), "20260105T090000Z\t20260105T100000Z\tbooking\tOPAQUE\t\tRoom\tmailto:alice@example.com\t\tmailto:room@example.com\n").unwrap();
    let original = list_everything(dir.path(), &store, &journal);
    assert!(
        original.lines().count() > 200,
        "a real amount of data: {}",
        original.lines().count()
    );

    let out = ok(&run(
        dir.path(),
        &[
            "copy",
            "--from",
            &store,
            "--from-journal",
            &journal,
            "--to",
            db.url(),
        ],
    ));
    assert!(
        out.contains("3 users") && out.contains("1 quotas") && out.contains("verified"),
        "{out}"
    );
    assert_eq!(
        list_everything(dir.path(), db.url(), db.url()),
        original,
        "PostgreSQL lists the same bytes"
    );
    let again = run(
        dir.path(),
        &[
            "copy",
            "--from",
            &store,
            "--from-journal",
            &journal,
            "--to",
            db.url(),
        ],
    );
    assert_eq!(
        again.status.code(),
        Some(73),
        "a non-empty target is refused: {}",
        stderr(&again)
    );

    let back = dir.path().join("b");
    let (store_b, journal_b) = (
        back.join("store").to_string_lossy().into_owned(),
        back.join("journal").to_string_lossy().into_owned(),
    );
    ok(&run(
        dir.path(),
        &[
            "copy",
            "--from",
            db.url(),
            "--to",
            &store_b,
            "--to-journal",
            &journal_b,
        ],
    ));
    assert_eq!(
        list_everything(dir.path(), &store_b, &journal_b),
        original,
        "the round trip keeps every line"
    );
    ok(&run(
        dir.path(),
        &["--store", &store_b, "--journal", &journal_b, "check"],
    ));
    ok(&run(dir.path(), &["--store", db.url(), "check"]));
}

#[test]
fn an_unreachable_server_exits_69_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1.
    for store in [
        "postgresql://calstore@127.0.0.1:1/nowhere?connect_timeout=3",
        "host=127.0.0.1 port=1 dbname=nowhere user=x connect_timeout=3",
    ] {
        let out = run(dir.path(), &["--store", store, "freebusy", "--user", ALICE]);
        assert_eq!(out.status.code(), Some(69), "{store}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("127.0.0.1") && err.contains('1'),
            "names host and port: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err}");
    }
}

#[test]
fn read_only_postgres_refuses_writes() {
    let Some(db) = fresh("read-only") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("examples/team-week.ics");
    ok(&run(
        dir.path(),
        &[
            "--store",
            db.url(),
            "import",
            "--user",
            ALICE,
            ics.to_str().unwrap(),
        ],
    ));
    let before = ok(&run(
        dir.path(),
        &["--store", db.url(), "list", "--user", ALICE, "freebusy"],
    ));
    let out = run(
        dir.path(),
        &[
            "--store",
            db.url(),
            "--read-only",
            "import",
            "--user",
            ALICE,
            ics.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(
        ok(&run(
            dir.path(),
            &["--store", db.url(), "list", "--user", ALICE, "freebusy"]
        )),
        before
    );
}

fn cli(dir: &std::path::Path, store: &str, args: &[&str]) -> String {
    let mut all = vec!["--store", store];
    all.extend_from_slice(args);
    ok(&run(dir, &all))
}

/// On PostgreSQL too, importing with a 30-day window and extending it to 400 days gives what a
/// fresh import with 400 days gives.
#[test]
fn extending_on_postgres_equals_a_fresh_import() {
    for ics in calendars() {
        let (Some(short), Some(long)) = (fresh("extend (postgres)"), fresh("extend (postgres)"))
        else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        cli(
            dir.path(),
            short.url(),
            &[
                "import",
                "--user",
                ALICE,
                "--tz",
                "Europe/Oslo",
                "--window-days",
                "30",
                &ics,
            ],
        );
        cli(
            dir.path(),
            short.url(),
            &["preferences", "--user", ALICE, "TZID", "Europe/Oslo"],
        );
        cli(
            dir.path(),
            short.url(),
            &["make-freebusy", "--all", "--window-days", "400"],
        );
        cli(
            dir.path(),
            long.url(),
            &[
                "import",
                "--user",
                ALICE,
                "--tz",
                "Europe/Oslo",
                "--window-days",
                "400",
                &ics,
            ],
        );
        let json = |url: &str| {
            cli(
                dir.path(),
                url,
                &["freebusy", "--user", ALICE, "--format", "json"],
            )
        };
        assert_eq!(json(short.url()), json(long.url()), "{ics}");
    }
}

/// Two cron runs and a dozen agents' imports at once on PostgreSQL: nothing lost, nothing twice.
#[test]
fn concurrent_cron_runs_and_imports_on_postgres_lose_nothing() {
    let Some(db) = fresh("concurrent cron (postgres)") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ics = repo().join("tests/data/weekly-forever.unbounded.ics");
    cli(
        dir.path(),
        db.url(),
        &[
            "import",
            "--user",
            ALICE,
            "--window-days",
            "30",
            ics.to_str().unwrap(),
        ],
    );
    let (dir_path, url) = (dir.path(), db.url());
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for days in ["200", "201"] {
            handles.push(s.spawn(move || {
                cli(
                    dir_path,
                    url,
                    &["make-freebusy", "--all", "--window-days", days],
                )
            }));
        }
        for i in 0..12 {
            let path = dir_path.join(format!("agent-{i}.ics"));
            std::fs::write(
                &path,
                format!(
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:agent-{i}\r\nDTSTART:20270105T{:02}0000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                    8 + i
                ),
            )
            .unwrap();
            handles.push(s.spawn(move || {
                cli(
                    dir_path,
                    url,
                    &["import", "--user", ALICE, path.to_str().unwrap()],
                )
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
    });
    let table = cli(dir.path(), db.url(), &["freebusy", "--user", ALICE]);
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
    cli(dir.path(), db.url(), &["check"]);
}

/// One event that cannot be read among good ones: on PostgreSQL as on the file store, the import
/// stores the others, names the bad one (file, line, uid) and exits 65; `--strict` stores
/// nothing. A VEVENT without UID imported twice is stored once.
#[test]
fn a_bad_event_is_left_out_and_the_rest_stored() {
    let Some(db) = fresh("postgres per-family import") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ics");
    std::fs::write(
        &bad,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:good\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:bad\r\nDTSTART:2026-01-05 nonsense\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20260106T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec!["--store", db.url(), "import", "--user", ALICE];
        args.extend_from_slice(extra);
        run(dir.path(), &args)
    };
    let freebusy = || {
        ok(&run(
            dir.path(),
            &[
                "--store",
                db.url(),
                "freebusy",
                "--user",
                ALICE,
                "--format",
                "json",
            ],
        ))
    };
    let out = import(&["--strict", bad]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    // --strict stored nothing: not even the user is known (exit 67 since issue 22).
    let out = run(
        dir.path(),
        &["--store", db.url(), "freebusy", "--user", ALICE],
    );
    assert_eq!(
        out.status.code(),
        Some(67),
        "--strict stored nothing: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    for _ in 0..2 {
        let out = import(&[bad]);
        assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("bad.ics: line 10: uid \"bad\": left out: DTSTART value"),
            "{err}"
        );
    }
    let json = freebusy();
    assert!(json.contains("\"uid\": \"good\""), "{json}");
    assert!(!json.contains("\"uid\": \"bad\""), "{json}");
    // The event without UID, imported twice, is one object and one period.
    assert_eq!(json.matches("\"uid\": \"calstore-").count(), 1, "{json}");
    let objects = ok(&run(
        dir.path(),
        &["--store", db.url(), "list", "--user", ALICE, "objects"],
    ));
    assert_eq!(objects.lines().count(), 2, "{objects}");
}

/// Issue 13 items 7 and 9 on PostgreSQL: an object with a NUL (stored by an older file store)
/// is reported and the rest copied; `copy --force` into a non-empty database leaves exactly the
/// source's content and exits 0.
#[test]
fn copy_into_postgres_reports_a_nul_object_and_force_leaves_exactly_the_source() {
    let Some(db) = fresh("copy_force") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src/store");
    let source = source.to_str().unwrap();
    let event = |uid: &str| {
        let file = dir.path().join(format!("{uid}.ics"));
        std::fs::write(
            &file,
            format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
        )
        .unwrap();
        file.to_string_lossy().into_owned()
    };
    let bob = "mailto:bob@example.com";
    for (store, user, uid) in [
        (source, ALICE, "a1"),
        (source, ALICE, "a2"),
        (db.url(), ALICE, "a1"),
        (db.url(), ALICE, "extra"),
        (db.url(), bob, "b1"),
    ] {
        ok(&run(
            dir.path(),
            &["--store", store, "import", "--user", user, &event(uid)],
        ));
    }
    let nul = dir.path().join("src/store").join(ALICE).join("objects/nul");
    std::fs::write(
        &nul,
        std::fs::read_to_string(event("nul"))
            .unwrap()
            .replace("END:VEVENT", "X-OLD:a\u{0}b\r\nEND:VEVENT"),
    )
    .unwrap();
    let copy = |force: bool| {
        let mut args = vec!["copy", "--from", source, "--to", db.url()];
        if force {
            args.push("--force");
        }
        run(dir.path(), &args)
    };
    assert_eq!(copy(false).status.code(), Some(73));
    let out = copy(true);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(65), "{all}");
    assert!(
        all.contains("\"nul\"") && !all.contains("every table verified"),
        "{all}"
    );
    // A user with nothing in a store is unknown there (exit 67 since issue 22) and lists
    // nothing, as it used to list nothing with exit 0.
    let listed = |out: std::process::Output| {
        assert!(
            matches!(out.status.code(), Some(0 | 67)),
            "{}",
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let objects = |store: &str, user: &str| {
        listed(run(
            dir.path(),
            &["--store", store, "list", "--user", user, "objects"],
        ))
    };
    let copied = objects(db.url(), ALICE);
    assert!(
        copied.contains("a1\t") && copied.contains("a2\t"),
        "{copied}"
    );
    assert!(
        !copied.contains("extra") && !copied.contains("nul\t"),
        "{copied}"
    );
    assert_eq!(objects(db.url(), bob), "");
    std::fs::remove_file(&nul).unwrap();
    let out = ok(&copy(true));
    assert!(out.contains("every table verified"), "{out}");
    for table in ["objects", "freebusy", "freebusy-providers", "requests"] {
        for user in [ALICE, bob] {
            let list = |store: &str| {
                listed(run(
                    dir.path(),
                    &["--store", store, "list", "--user", user, table],
                ))
            };
            assert_eq!(list(source), list(db.url()), "{user} {table}");
        }
    }
}
