//! Issue 13 item 5 at the API: the file store never skips an entry silently and never reads or
//! writes through a symbolic link below its roots.
//!
//! The tests run as root, which chmod 000 does not stop, so "unreadable" is made of entries no
//! reader can take for a user, object or table: links (dangling or leading out of the root), a
//! file where a directory belongs, a name that is not the canonical encoding of its key, a FIFO.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::os::unix::fs::symlink;

use calstore::{ErrorKind, Journal, Quota, Store, Table};
use common::*;

const BOB: &str = "mailto:bob@example.com";

#[tokio::test]
async fn users_that_cannot_be_read_are_returned_by_unlisted_users() {
    let env = Env::new();
    let store = env.store();
    store
        .put_event(&user(ALICE), &uid("a1"), None, &event_text("a1", None, "A"))
        .await
        .unwrap();
    assert!(store.unlisted_users().await.unwrap().is_empty());
    let outside = tempfile::tempdir().unwrap();
    let root = env.store_root();
    symlink(outside.path(), root.join(BOB)).unwrap();
    symlink("/nonexistent", root.join("mailto:carol@example.com")).unwrap();
    std::fs::write(root.join("mailto:dave@example.com"), "a file").unwrap();
    std::fs::create_dir_all(root.join("mailto%3Aerin@example.com/objects")).unwrap();
    std::fs::write(root.join("mailto%3Aerin@example.com/objects/e1"), "x").unwrap();

    // The readable user is still listed: one bad entry hides no other.
    assert_eq!(store.users().await.unwrap(), vec![user(ALICE)]);
    let unlisted = store.unlisted_users().await.unwrap();
    let text: Vec<String> = unlisted.iter().map(|e| e.message().to_owned()).collect();
    assert_eq!(unlisted.len(), 4, "{text:#?}");
    assert!(unlisted.iter().all(|e| e.kind() == ErrorKind::Corrupt));
    for (who, why) in [
        (BOB, "symbolic link"),
        ("carol", "symbolic link"),
        ("dave", "not a directory"),
        ("erin", "canonical"),
    ] {
        assert!(
            text.iter().any(|t| t.contains(who) && t.contains(why)),
            "{who}: {text:#?}"
        );
    }
}

#[tokio::test]
async fn nothing_is_read_or_written_through_a_linked_user_directory() {
    let env = Env::new();
    let store = env.store();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(env.store_root()).unwrap();
    symlink(outside.path(), env.store_root().join(BOB)).unwrap();
    let bob = user(BOB);
    let e = store
        .put_event(&bob, &uid("b1"), None, &event_text("b1", None, "B"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    assert!(e.message().contains("symbolic link"), "{}", e.message());
    let e = store
        .set_freebusy(
            &bob,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "b1", None)],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "a write went out of the root"
    );
    let e = store.list_events(&bob).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    // Preferences, which take no lock, are guarded the same way.
    std::fs::create_dir_all(env.root().join("preferences")).unwrap();
    symlink(outside.path(), env.root().join("preferences").join(BOB)).unwrap();
    let tzid = calstore::PrefName::new("TZID").unwrap();
    let e = store
        .set_preference(&bob, &tzid, Some("Europe/Oslo"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    assert!(store.preferences(&bob).await.is_err());

    // A linked directory inside a user's directory is refused for writes too.
    let alice = user(ALICE);
    store
        .put_event(&alice, &uid("a1"), None, &event_text("a1", None, "A"))
        .await
        .unwrap();
    let others = env.user_path(ALICE, "freebusy-other");
    symlink(outside.path(), &others).unwrap();
    let e = store
        .set_freebusy(
            &alice,
            &Table::Other(other(BOB)),
            vec![period("20260105T090000Z", "20260105T100000Z", "a1", None)],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn entries_inside_a_user_that_cannot_be_read_fail_the_listing() {
    let env = Env::new();
    let store = env.store();
    let alice = user(ALICE);
    for u in ["a1", "a2"] {
        store
            .put_event(&alice, &uid(u), None, &event_text(u, None, u))
            .await
            .unwrap();
    }
    let objects = env.user_path(ALICE, "objects");
    // Not canonical: decodes to "a2", which is read at objects/a2 — where nothing is.
    std::fs::rename(objects.join("a2"), objects.join("%612")).unwrap();
    let e = store.list_events(&alice).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(
        e.message().contains("%612") && e.message().contains("canonical"),
        "{}",
        e.message()
    );
    std::fs::rename(objects.join("%612"), objects.join("a2")).unwrap();
    // A link in place of an object file.
    symlink("/etc/passwd", objects.join("a3")).unwrap();
    let e = store.list_events(&alice).await.unwrap_err();
    assert!(e.message().contains("symbolic link"), "{}", e.message());
    std::fs::remove_file(objects.join("a3")).unwrap();
    // A directory where an object file belongs.
    std::fs::create_dir(objects.join("a4")).unwrap();
    let e = store.list_events(&alice).await.unwrap_err();
    assert!(
        e.message().contains("not a regular file"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn a_fifo_or_a_link_in_place_of_a_table_is_corrupt_data_at_once() {
    let env = Env::new();
    let store = env.store();
    let alice = user(ALICE);
    store
        .put_event(&alice, &uid("a1"), None, &event_text("a1", None, "A"))
        .await
        .unwrap();
    let table = env.user_path(ALICE, "freebusy");
    let _ = std::fs::remove_file(&table);
    let made = std::process::Command::new("mkfifo")
        .arg(&table)
        .status()
        .unwrap();
    assert!(made.success());
    let started = std::time::Instant::now();
    let e = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.freebusy(&alice, &Table::FreeBusy),
    )
    .await
    .expect("reading a FIFO table hangs")
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
    assert!(
        e.message().contains("not a regular file"),
        "{}",
        e.message()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    std::fs::remove_file(&table).unwrap();
    symlink("/dev/zero", &table).unwrap();
    let e = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.freebusy_in(
            &alice,
            &Table::FreeBusy,
            t("20260101T000000Z"),
            t("20260201T000000Z"),
        ),
    )
    .await
    .expect("reading /dev/zero hangs")
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{}", e.message());
}

#[tokio::test]
async fn quotas_that_cannot_be_read_are_returned_by_unlisted_quotas() {
    let env = Env::new();
    let journal = env.journal();
    let q = Quota::new("rooms").unwrap();
    journal.set_delegates(&q, &[user(ALICE)]).await.unwrap();
    let root = env.root().join("journal");
    symlink("/nonexistent", root.join("desks")).unwrap();
    assert_eq!(journal.quotas().await.unwrap(), vec![q]);
    let unlisted = journal.unlisted_quotas().await.unwrap();
    assert_eq!(unlisted.len(), 1);
    assert!(
        unlisted[0].message().contains("desks"),
        "{}",
        unlisted[0].message()
    );
}
