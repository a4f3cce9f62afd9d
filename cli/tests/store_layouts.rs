//! Issue 22: where the parts of a file store live. Two sibling stores keep their settings
//! apart; the layout is recorded at creation and used when opened (an explicit option wins);
//! imip-agent's layout (a `store` beside `preferences` and `journal`) opens as before; a store of
//! the old default layout is not silently opened with the new one.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::cases::*;
use support::*;

const ALICE: &str = "mailto:alice@example.com";

#[test]
fn sibling_stores_keep_their_settings_apart() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for store in ["x/a", "x/b"] {
        case(dir, &["--store", store, "init"], 0, "initialised");
    }
    case(
        dir,
        &[
            "--store",
            "x/a",
            "preferences",
            "--user",
            ALICE,
            "TZID",
            "Europe/Oslo",
        ],
        0,
        "",
    );
    // b does not know alice: a's setting did not land in a shared preferences root.
    case(
        dir,
        &["--store", "x/b", "preferences", "--user", ALICE, "TZID"],
        67,
        "unknown user",
    );
    assert!(!dir.join("x/preferences").exists());
    assert!(dir.join("x/a-preferences").is_dir() && dir.join("x/b-journal").is_dir());
    // The layout is recorded at creation and used when opened, whatever the defaults.
    let recorded = std::fs::read_to_string(dir.join("x/a/.calstore-layout")).unwrap();
    assert!(
        recorded.contains("preferences\t../a-preferences\n")
            && recorded.contains("journal\t../a-journal\n"),
        "{recorded}"
    );
    case(
        dir,
        &["--store", "x/a", "--preferences", "x/elsewhere", "init"],
        0,
        "",
    );
    // An explicit --preferences wins; the recorded one is used without it.
    let out = run(
        dir,
        &["--store", "x/a", "preferences", "--user", ALICE, "TZID"],
    );
    expect(&out, 0, "Europe/Oslo", "recorded layout");
    let out = run(dir, &["--store", "x/a", "check"]);
    expect(&out, 0, "a-preferences", "check says where");
    assert!(text(&out).contains("x/a-journal"), "{}", text(&out));
}

#[test]
fn an_imip_agent_store_opens_as_before() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // imip-agent's tree: no layout record, preferences beside the store.
    std::fs::create_dir_all(dir.join("store").join(ALICE).join("objects")).unwrap();
    std::fs::write(
        dir.join("store").join(ALICE).join("objects").join("e1"),
        ics("e1"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("preferences").join(ALICE)).unwrap();
    std::fs::write(
        dir.join("preferences").join(ALICE).join("TZID"),
        "Europe/Oslo",
    )
    .unwrap();
    let out = run(
        dir,
        &["--store", "store", "preferences", "--user", ALICE, "TZID"],
    );
    expect(&out, 0, "Europe/Oslo", "imip-agent layout");
    let out = run(
        dir,
        &[
            "--store",
            "store",
            "list",
            "--user",
            "Alice@Example.com",
            "objects",
        ],
    );
    expect(&out, 0, "e1", "imip-agent layout, objects");
    assert!(!dir.join("store/.calstore-layout").exists(), "a read wrote");
}

#[test]
fn a_store_of_the_old_default_layout_is_not_opened_with_the_new_one() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // An older calstore's store `x/tenant` kept its settings in `x/preferences`.
    std::fs::create_dir_all(dir.join("x/tenant").join(ALICE).join("objects")).unwrap();
    std::fs::write(
        dir.join("x/tenant").join(ALICE).join("objects/e1"),
        ics("e1"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("x/preferences").join(ALICE)).unwrap();
    std::fs::write(
        dir.join("x/preferences").join(ALICE).join("TZID"),
        "Europe/Oslo",
    )
    .unwrap();
    let read = [
        "--store",
        "x/tenant",
        "preferences",
        "--user",
        ALICE,
        "TZID",
    ];
    case(dir, &read, 64, "records no layout");
    case(
        dir,
        &[
            "--store",
            "x/tenant",
            "--preferences",
            "x/preferences",
            "--journal",
            "x/journal",
            "init",
        ],
        0,
        "initialised",
    );
    case(dir, &read, 0, "Europe/Oslo");
}
