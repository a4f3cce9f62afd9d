//! Locks: a held user or quota lock makes writers wait and then fail with `Locked` naming the
//! owner and the lock file; readers of several files wait for writers; the lock dies with its
//! holder.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::time::{Duration, Instant};

use calstore::{ErrorKind, Journal, QueueKind, Quota, Store, Table};
use calstore_file::{FileJournal, FileStore};
use common::*;

fn short(env: &Env) -> FileStore {
    FileStore::open(calstore_file::FileStoreOptions {
        lock_timeout: Duration::from_millis(300),
        ..env.options(false)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_ends_in_locked_after_the_timeout() {
    let env = Env::new();
    let store = short(&env);
    let a = user(ALICE);
    store
        .queue_request(&a, &uid("x"), None, QueueKind::Request)
        .await
        .unwrap();
    let lock_path = env.user_path(ALICE, ".lock");
    // Another holder (as another process would): its own open file description.
    let holder = File::open(&lock_path).unwrap();
    holder.lock().unwrap();
    let started = Instant::now();
    let err = store
        .queue_request(&a, &uid("y"), None, QueueKind::Request)
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    assert!(
        waited >= Duration::from_millis(290),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    let message = err.to_string();
    assert!(
        message.contains(ALICE) && message.contains(".lock"),
        "{message}"
    );
    // Nothing was written while refused.
    assert_eq!(store.requests(&a).await.unwrap().len(), 1);
    let err = store
        .replace_event_periods(
            &a,
            &Table::FreeBusy,
            &uid("x"),
            None,
            vec![period("20260105T090000Z", "20260105T100000Z", "x", None)],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    // Readers that need consistency over several files wait for a shared lock too.
    assert_eq!(
        store.list_events(&a).await.unwrap_err().kind(),
        ErrorKind::Locked
    );
    // Single-file reads need no lock: a table file is never changed in place.
    assert!(store
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
    // Once the holder lets go, the write goes through.
    drop(holder);
    assert!(store
        .queue_request(&a, &uid("y"), None, QueueKind::Request)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_waits_for_a_lock_released_before_the_timeout() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    store
        .queue_request(&a, &uid("x"), None, QueueKind::Request)
        .await
        .unwrap();
    let holder = File::open(env.user_path(ALICE, ".lock")).unwrap();
    holder.lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(holder);
    });
    let started = Instant::now();
    assert!(store
        .queue_request(&a, &uid("y"), None, QueueKind::Request)
        .await
        .unwrap());
    assert!(started.elapsed() >= Duration::from_millis(150));
    release.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_holders_block_writers_but_not_readers_and_quotas_lock_too() {
    let env = Env::new();
    let store = short(&env);
    let a = user(ALICE);
    store
        .put_event(&a, &uid("e"), None, &event_text("e", None, "x"))
        .await
        .unwrap();
    let reader = File::open(env.user_path(ALICE, ".lock")).unwrap();
    reader.lock_shared().unwrap();
    assert!(store
        .get_event(&a, &uid("e"), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .cancel_event(&a, &uid("e"), None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Locked
    );
    drop(reader);
    store.cancel_event(&a, &uid("e"), None).await.unwrap();

    let journal = FileJournal::open(calstore_file::FileJournalOptions {
        lock_timeout: Duration::from_millis(200),
        ..env.journal_options(false)
    })
    .unwrap();
    let q = Quota::new("rooms").unwrap();
    journal
        .set_delegates(&q, std::slice::from_ref(&a))
        .await
        .unwrap();
    let holder = File::open(env.root().join("journal/rooms/.lock")).unwrap();
    holder.lock().unwrap();
    let err = journal.expire(&q, t("20300101T000000Z")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert!(err.to_string().contains("quota rooms"), "{err}");
}

#[test]
fn a_lock_held_by_a_dead_process_is_free() {
    // flock belongs to the open file: a child process that takes it and is killed leaves
    // nothing behind (imip-agent's lock directories would stay).
    let env = Env::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = short(&env);
    let a = user(ALICE);
    rt.block_on(store.queue_request(&a, &uid("x"), None, QueueKind::Request))
        .unwrap();
    let lock_path = env.user_path(ALICE, ".lock");
    // `-o`: the sleeping grandchild does not inherit the lock; only `flock` itself holds it.
    let mut child = std::process::Command::new("flock")
        .arg("-o")
        .arg(&lock_path)
        .args(["sleep", "10"])
        .spawn();
    if let Ok(child) = child.as_mut() {
        // Wait until the child holds it.
        let probe = File::open(&lock_path).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while probe.try_lock().is_ok() {
            probe.unlock().unwrap();
            assert!(Instant::now() < deadline, "the child never took the lock");
            std::thread::sleep(Duration::from_millis(10));
        }
        let err = rt.block_on(store.queue_request(&a, &uid("y"), None, QueueKind::Request));
        assert_eq!(err.unwrap_err().kind(), ErrorKind::Locked);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(rt
        .block_on(store.queue_request(&a, &uid("y"), None, QueueKind::Request))
        .unwrap());
}
