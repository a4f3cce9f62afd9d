//! A step record (`STORE/<user>/.step`) left by a process killed inside
//! `Store::apply_step`: the next writable call finishes the step before it answers; a read-only
//! handle refuses to answer rather than show half a step; a damaged record is reported.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::{ErrorKind, QueueKind, Store, Uid, User};
use calstore_file::FileStore;

const EVENT: &str = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn field(s: &str) -> String {
    format!("{}\n{s}\n", s.len())
}

/// The record of a step that stores `e1` and queues it (the format of `step_log.rs`).
fn record() -> String {
    format!(
        "calstore-step 1\n4\n{}{}{}{}4\n{}{}{}{}",
        field("put"),
        field("e1"),
        field(""),
        field(EVENT),
        field("queue"),
        field("e1"),
        field(""),
        field("REQUEST")
    )
}

#[tokio::test]
async fn an_interrupted_step_is_finished_by_the_next_call() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let alice = User::new("mailto:alice@example.com").unwrap();
    let store = FileStore::open_dir(&root).unwrap();
    // Something of alice's exists, as when a step was killed after its record was written.
    store
        .set_preference(
            &alice,
            &calstore::PrefName::new("TZID").unwrap(),
            Some("UTC"),
        )
        .await
        .unwrap();
    store
        .queue_request(
            &alice,
            &Uid::new("other").unwrap(),
            None,
            QueueKind::Request,
        )
        .await
        .unwrap();
    let dir = root.join(alice.file_name());
    std::fs::write(dir.join(".step"), record()).unwrap();

    let ro = FileStore::open_read_only(&root).unwrap();
    let e = ro.requests(&alice).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    assert!(e.to_string().contains("interrupted"), "{e}");

    let queue = store.requests(&alice).await.unwrap();
    let uids: Vec<&str> = queue.iter().map(|r| r.uid.as_str()).collect();
    assert_eq!(
        uids,
        ["other", "e1"],
        "the step was finished before the read"
    );
    let stored = store
        .get_event(&alice, &Uid::new("e1").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(stored.unwrap().text, EVENT);
    assert!(
        !dir.join(".step").exists(),
        "the record is gone once finished"
    );
    assert_eq!(ro.requests(&alice).await.unwrap().len(), 2);

    // A damaged record is reported, never skipped, and stays for a person to look at.
    std::fs::write(dir.join(".step"), &record()[..40]).unwrap();
    let e = store.requests(&alice).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(dir.join(".step").exists());
}
