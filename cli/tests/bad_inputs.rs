//! Issue 22: an operator cannot point calstore wrong. A table of commands × bad inputs (missing
//! file, directory as file, unknown user in every spelling, mistyped store, colliding paths, a
//! link in the publish directory), each checked for its exit code and message; and the cases
//! around them: one spelling per user and two spellings reported and merged (file store and
//! PostgreSQL), `copy --read-only`, a copy onto itself, a DST-gap warning. Where the parts of a
//! store live is `store_layouts.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;

use support::cases::*;
use support::*;

const ALICE: &str = "mailto:alice@example.com";
const SPELLINGS: [&str; 4] = [
    "mailto:alice@example.com",
    "alice@example.com",
    "MAILTO:Alice@Example.com",
    " Mailto:ALICE@example.com",
];
const NOBODY: [&str; 3] = [
    "mailto:nobody@example.com",
    "nobody@example.com",
    "MAILTO:Nobody@Example.COM",
];

/// Imports one event for ALICE written as a bare address, then asks in every spelling.
fn every_spelling_is_one_user(place: &Place) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.ics");
    std::fs::write(&file, ics("meeting")).unwrap();
    let out = place.calstore(&[
        "import",
        "--user",
        "Alice@Example.com",
        file.to_str().unwrap(),
    ]);
    expect(&out, 0, "", "import");
    for user in SPELLINGS {
        let out = place.calstore(&["freebusy", "--user", user]);
        expect(&out, 0, "20260105T090000Z\t20260105T100000Z\tmeeting", user);
    }
    // Unknown users, in every spelling, are said to be unknown (67), never "free".
    for user in NOBODY {
        for args in [
            vec!["freebusy", "--user", user],
            vec!["list", "--user", user, "objects"],
            vec!["preferences", "--user", user],
            vec!["preferences", "--user", user, "TZID"],
            vec!["make-freebusy", user],
        ] {
            let out = place.calstore(&args);
            expect(
                &out,
                67,
                "unknown user mailto:nobody@example.com",
                &format!("{} {args:?}", place.name()),
            );
        }
    }
    let out = place.calstore(&["expire-quotas", "nosuchquota"]);
    expect(&out, 67, "unknown quota nosuchquota", "expire-quotas");
    let out = place.calstore(&["make-freebusy", "--quotas", "nosuchquota"]);
    expect(
        &out,
        67,
        "unknown quota nosuchquota",
        "make-freebusy --quotas",
    );
    // Nothing was created for them: the cron job still sees one user.
    let out = place.calstore(&["make-freebusy", "--all"]);
    expect(&out, 0, "make-freebusy: 1 users", "make-freebusy --all");
    // A known user named in another spelling is regenerated.
    let out = place.calstore(&["make-freebusy", "ALICE@example.com"]);
    expect(&out, 0, "make-freebusy: 1 users", "make-freebusy ALICE");
}

/// A store written before normalisation, holding two spellings of one user, fails `check`.
fn two_spellings_are_reported(place: &Place) {
    let out = place.calstore(&["init"]);
    expect(&out, 0, "initialised", "init");
    let opened = runtime().block_on(place.open(std::time::Duration::from_secs(5)));
    let tz = calstore::PrefName::new("TZID").unwrap();
    with_opened!(opened, store, _journal => runtime().block_on(async {
        use calstore::Store;
        for spelling in [ALICE, "MAILTO:Alice@Example.com"] {
            let user = calstore::User::stored(spelling).unwrap();
            store.set_preference(&user, &tz, Some("UTC")).await.unwrap();
        }
    }));
    let out = place.calstore(&["check"]);
    expect(&out, 65, "the store holds 2 spellings of it", place.name());
    assert!(
        text(&out).contains("MAILTO:Alice@Example.com"),
        "{}",
        text(&out)
    );
    // merge-user takes the spelling exactly as stored; afterwards one user, all sound.
    let out = place.calstore(&["merge-user", "--from", "MAILTO:Alice@Example.com"]);
    expect(
        &out,
        0,
        "merged MAILTO:Alice@Example.com into mailto:alice@example.com",
        "merge",
    );
    let out = place.calstore(&["check"]);
    expect(&out, 0, "all sound", place.name());
    let out = place.calstore(&["merge-user", "--from", "MAILTO:Alice@Example.com"]);
    expect(
        &out,
        67,
        "unknown user MAILTO:Alice@Example.com",
        "merge again",
    );
}

#[test]
fn spellings_on_the_file_store() {
    every_spelling_is_one_user(&Place::file());
    two_spellings_are_reported(&Place::file());
}

#[test]
fn spellings_on_postgres() {
    let Some(place) = Place::postgres("bad_inputs_spellings") else {
        return;
    };
    every_spelling_is_one_user(&place);
    let Some(place) = Place::postgres("bad_inputs_two_spellings") else {
        return;
    };
    two_spellings_are_reported(&place);
}

#[test]
fn commands_times_bad_inputs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let event = dir.join("e.ics");
    std::fs::write(&event, ics("e1")).unwrap();
    let event = event.to_str().unwrap();
    case(dir, &["--store", "store", "init"], 0, "initialised");
    case(
        dir,
        &["--store", "store", "import", "--user", ALICE, event],
        0,
        "",
    );
    std::fs::write(dir.join("plain-file"), "not a store").unwrap();
    std::fs::create_dir(dir.join("a-directory")).unwrap();

    // A mistyped store: every command that reads says so (69), nothing is created.
    let typo = ["--store", "typo/store"];
    for cmd in [
        &["freebusy", "--user", ALICE][..],
        &["list", "--user", ALICE, "objects"],
        &["preferences", "--user", ALICE],
        &["preferences", "--user", ALICE, "TZID", "UTC"],
        &["check"],
        &["make-freebusy", "--all"],
        &["make-freebusy", "--quotas", "--all"],
        &["expire-quotas", "--all"],
        &["list", "--quota", "q", "journal"],
        &["copy", "--from", "typo/store", "--to", "elsewhere"],
    ] {
        case(
            dir,
            &[&typo[..], cmd].concat(),
            69,
            "no store at typo/store; run `calstore init`",
        );
    }
    assert!(
        !dir.join("typo").exists(),
        "a read created the mistyped store"
    );
    // The same for CALSTORE_STORE in a crontab.
    let out = command(dir, &["check"])
        .env("CALSTORE_STORE", "/srv/typo/store")
        .output()
        .unwrap();
    expect(&out, 69, "no store at /srv/typo/store", "CALSTORE_STORE");

    // A store that is a file is a usage error (64).
    for cmd in [&["check"][..], &["freebusy", "--user", ALICE], &["init"]] {
        case(
            dir,
            &[&["--store", "plain-file"][..], cmd].concat(),
            64,
            "plain-file is not a directory",
        );
    }

    // Colliding roots are refused when opened (64), before anything is written.
    for (args, message) in [
        (
            &["--store", "store", "--preferences", "store"][..],
            "is the same directory as the preferences root",
        ),
        (
            &[
                "--store",
                "x/preferences/store",
                "--preferences",
                "x/preferences",
            ],
            "is inside the preferences root",
        ),
        (
            &["--store", "store", "--journal", "store/journal"],
            "contains the journal root",
        ),
        (&["--store", "."], "contains the preferences root"),
    ] {
        for cmd in [
            &["check"][..],
            &["preferences", "--user", ALICE, "TZID", "UTC"],
            &["init"],
            &["import", "--user", ALICE, event],
        ] {
            case(dir, &[args, cmd].concat(), 64, message);
        }
    }

    // Input files: missing or a directory is 66, naming the file.
    for (file, message) in [
        ("missing.ics", "input file missing.ics does not exist"),
        ("a-directory", "input file a-directory is a directory"),
    ] {
        case(
            dir,
            &["--store", "store", "import", "--user", ALICE, file],
            66,
            message,
        );
    }

    // Ranges are the real ones.
    for days in ["0", "36501", "4294967296"] {
        for cmd in [
            &["make-freebusy", "--all", "--window-days", days][..],
            &["import", "--user", ALICE, "--window-days", days, event],
        ] {
            case(
                dir,
                &[&["--store", "store"][..], cmd].concat(),
                2,
                "1..=36500",
            );
        }
    }
    let help = run(dir, &["make-freebusy", "--help"]);
    expect(&help, 0, "1 to 36500", "--help");

    // A copy onto itself is refused (64); --read-only says what it would copy and writes nothing.
    case(
        dir,
        &["copy", "--from", "store", "--to", "./store"],
        64,
        "are the same store",
    );
    case(
        dir,
        &["--read-only", "copy", "--from", "store", "--to", "copy"],
        0,
        "read-only: nothing written to copy; a copy would copy 1 users, 1 objects",
    );
    assert!(!dir.join("copy").exists(), "copy --read-only wrote");

    // A link in the publish directory, named after alice, into bob's store directory.
    let bob = "mailto:bob@example.com";
    case(
        dir,
        &["--store", "store", "import", "--user", bob, event],
        0,
        "",
    );
    let bob_table = dir.join("store").join(bob).join("freebusy");
    let before = std::fs::read(&bob_table).unwrap();
    std::fs::create_dir(dir.join("pub")).unwrap();
    std::os::unix::fs::symlink(dir.join("store").join(bob), dir.join("pub").join(ALICE)).unwrap();
    let out = run(
        dir,
        &[
            "--store",
            "store",
            "make-freebusy",
            "--all",
            "--publish",
            "pub",
        ],
    );
    expect(&out, 1, "is a symbolic link", "publish through a link");
    assert_eq!(
        std::fs::read(&bob_table).unwrap(),
        before,
        "bob's table was replaced"
    );
    // Bob was still published, readable by a web server of another account.
    let published = dir.join("pub").join(bob).join("freebusy");
    let mode = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    };
    assert_eq!(mode(&published), 0o644);
    assert_eq!(mode(published.parent().unwrap()), 0o755);
    std::fs::remove_file(dir.join("pub").join(ALICE)).unwrap();
    case(
        dir,
        &[
            "--store",
            "store",
            "make-freebusy",
            "--all",
            "--publish",
            "pub",
            "--publish-mode",
            "640",
        ],
        0,
        "make-freebusy: 2 users",
    );
    assert_eq!(mode(&published), 0o640);
    case(
        dir,
        &[
            "make-freebusy",
            "--all",
            "--publish",
            "pub",
            "--publish-mode",
            "400",
        ],
        2,
        "give the owner rw",
    );
}

#[test]
fn a_time_in_a_dst_gap_is_warned_with_file_line_and_uid() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("gap.ics"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:gap\r\n\
         DTSTART;TZID=Europe/Oslo:20260329T023000\r\n\
         DTEND;TZID=Europe/Oslo:20260329T040000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let out = run(
        dir,
        &["--store", "store", "import", "--user", ALICE, "gap.ics"],
    );
    expect(
        &out,
        0,
        "gap.ics: line 5: uid \"gap\": warning: DTSTART 2026-03-29 02:30:00 does not exist in Europe/Oslo",
        "import",
    );
    // The reading chosen: 03:30 CEST (01:30Z) to 04:00 CEST.
    let out = run(dir, &["--store", "store", "freebusy", "--user", ALICE]);
    expect(
        &out,
        0,
        "20260329T013000Z\t20260329T020000Z\tgap",
        "freebusy",
    );
}
