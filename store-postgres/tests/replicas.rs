//! Replica routing against a real primary and a streaming standby (`pg_basebackup -R`) on
//! loopback: writes land on the primary, plain reads on the standby, forced-primary reads see
//! what was just written, a halted standby leaves reads answered, a standby whose replay is
//! paused is left out once it lags beyond the bound (the debug log is checked in replica_log.rs).
//!
//! Tests that halt the standby or pause its replay start a pair of their own; the others share
//! the process's pair.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calstore::{Journal, Limits, Period, Quota, Store, Table, Uid, User};
use calstore_postgres::harness::{
    own_replicated_or_skip, replicated_or_skip, ReplicatedDatabase, ReplicatedServer, STANDBY_NAME,
};
use calstore_postgres::{
    connect_client, on_primary, ClusterOptions, PgJournal, PgOptions, PgStore, ServerRole,
};

fn alice() -> User {
    User::new("mailto:alice@example.com").unwrap()
}

fn uid(u: &str) -> Uid {
    Uid::new(u).unwrap()
}

fn period(hour: u32, u: &str) -> Period {
    let start = calstore::period::parse_instant(&format!("20260105T{hour:02}0000Z")).unwrap();
    Period::new(start, start + chrono::Duration::hours(1), uid(u), None).unwrap()
}

fn event(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n\
         DTEND:20260105T100000Z\r\nSUMMARY:{u}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The primary and the standby of `db` as one cluster.
fn cluster(db: &ReplicatedDatabase) -> ClusterOptions {
    ClusterOptions::new(PgOptions::new(db.primary_url())).replica(&db.standby_url)
}

/// (reads, writes) served by the primary and by the standby.
fn served(store: &PgStore) -> ((u64, u64), (u64, u64)) {
    let s = store.pool().servers();
    assert_eq!(s[0].role, ServerRole::Primary);
    assert_eq!(s[1].role, ServerRole::Replica);
    ((s[0].reads, s[0].writes), (s[1].reads, s[1].writes))
}

fn halt(pair: &ReplicatedServer) {
    tokio::task::block_in_place(|| pair.halt_standby().unwrap());
}

fn restart(pair: &ReplicatedServer) {
    tokio::task::block_in_place(|| pair.restart_standby().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_on_the_primary_and_plain_reads_on_the_standby() {
    let Some(pair) = replicated_or_skip("writes_land_on_the_primary") else {
        return;
    };
    let db = pair.fresh_database().await.unwrap();
    let store = PgStore::connect_cluster(&cluster(&db)).await.unwrap();
    let journal = PgJournal::from_pool(store.pool(), false);
    let (a, q) = (alice(), Quota::new("mailto:room@example.com").unwrap());
    store
        .put_event(&a, &uid("e1"), None, &event("e1"))
        .await
        .unwrap();
    let version = store
        .set_freebusy(&a, &Table::FreeBusy, vec![period(9, "e1")], None)
        .await
        .unwrap();
    let tz = calstore::PrefName::new("TZID").unwrap();
    store
        .set_preference(&a, &tz, Some("Europe/Oslo"))
        .await
        .unwrap();
    let mut limits = Limits::new();
    limits.insert(calstore::Group::new("*").unwrap(), "PT10H".to_owned());
    journal.set_limits(&q, &limits, None).await.unwrap();
    assert_eq!(
        served(&store),
        ((0, 4), (0, 0)),
        "4 writes, all on the primary"
    );

    pair.wait_replayed().await.unwrap();
    let fb = store.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!((fb.value, fb.version), (vec![period(9, "e1")], version));
    assert!(store
        .get_event(&a, &uid("e1"), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store.preference(&a, &tz).await.unwrap().as_deref(),
        Some("Europe/Oslo")
    );
    assert_eq!(journal.limits(&q).await.unwrap().value, limits);
    assert_eq!(store.users().await.unwrap(), vec![a.clone()]);
    let conflicts = store
        .conflicts(&a, &Table::FreeBusy, &[period(9, "other")])
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        served(&store),
        ((0, 4), (6, 0)),
        "6 reads, all on the standby"
    );

    // The standby really is one: in recovery, streaming from the primary, and the synchronous
    // standby for sessions that ask for it (the conformance suite's replicated fixture does).
    let standby = connect_client(&db.standby_url).await.unwrap();
    let in_recovery: bool = standby
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(in_recovery);
    let primary = connect_client(db.primary_url()).await.unwrap();
    let row = primary
        .query_one(
            "SELECT application_name, state, sync_state FROM pg_stat_replication",
            &[],
        )
        .await
        .unwrap();
    let got: (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        got,
        (STANDBY_NAME.to_owned(), "streaming".into(), "sync".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_shares_reads_when_configured_to() {
    let Some(pair) = replicated_or_skip("the_primary_shares_reads_when_configured_to") else {
        return;
    };
    let db = pair.fresh_database().await.unwrap();
    let mut options = cluster(&db);
    options.primary_reads = true;
    let store = PgStore::connect_cluster(&options).await.unwrap();
    for _ in 0..200 {
        store.users().await.unwrap();
    }
    let ((primary, _), (standby, _)) = served(&store);
    assert_eq!(primary + standby, 200);
    // Picked at random: each serves about half (the chance of fewer than 50 is below 1e-12).
    assert!(
        primary > 50 && standby > 50,
        "primary {primary}, standby {standby}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forcing_the_primary_reads_what_was_just_written() {
    let Some(pair) = own_replicated_or_skip("forcing_the_primary_reads_what_was_just_written")
    else {
        return;
    };
    let db = pair.fresh_database().await.unwrap();
    let store = PgStore::connect_cluster(&cluster(&db)).await.unwrap();
    let a = alice();
    pair.pause_replay().await.unwrap();
    store
        .put_event(&a, &uid("new"), None, &event("new"))
        .await
        .unwrap();
    let v = store
        .set_freebusy(&a, &Table::FreeBusy, vec![period(10, "new")], None)
        .await
        .unwrap();

    // A plain read goes to the standby, which has not replayed the write.
    assert!(store
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_none());
    // Forced for one call: the handle of with_primary().
    let fresh = store.with_primary();
    assert!(fresh
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        fresh.freebusy(&a, &Table::FreeBusy).await.unwrap().version,
        v
    );
    // Forced for a scope: every call inside on_primary, on any handle, clones included.
    let (event, fb) = on_primary(async {
        let clone = store.clone();
        (
            store.get_event(&a, &uid("new"), None).await.unwrap(),
            clone.freebusy(&a, &Table::FreeBusy).await.unwrap(),
        )
    })
    .await;
    assert!(event.is_some());
    assert_eq!(fb.value, vec![period(10, "new")]);
    // Outside the scope, plain reads are back on the standby.
    assert!(store
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_none());
    let ((primary_reads, _), (standby_reads, _)) = served(&store);
    assert_eq!((primary_reads, standby_reads), (4, 2));

    pair.resume_replay().await.unwrap();
    pair.wait_replayed().await.unwrap();
    assert!(store
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_lagging_beyond_the_bound_is_left_out_until_it_catches_up() {
    let Some(pair) = own_replicated_or_skip("a_standby_lagging_beyond_the_bound") else {
        return;
    };
    let db = pair.fresh_database().await.unwrap();
    let mut options = cluster(&db);
    options.max_replica_lag = Some(Duration::from_millis(300));
    options.lag_check_interval = Duration::from_millis(50);
    let store = PgStore::connect_cluster(&options).await.unwrap();
    let unbounded = PgStore::connect_cluster(&cluster(&db)).await.unwrap();
    let a = alice();
    store
        .put_event(&a, &uid("old"), None, &event("old"))
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();

    // An idle primary is no lag: long after the last write, the standby still serves.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(store
        .get_event(&a, &uid("old"), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(served(&store).1 .0, 1, "served by the standby");
    assert!(store.pool().servers()[1].within_lag);

    // Replay paused and a write: the standby falls behind by more than the bound.
    pair.pause_replay().await.unwrap();
    store
        .put_event(&a, &uid("new"), None, &event("new"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Without a bound the standby serves the stale data...
    assert!(unbounded
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_none());
    // ...with one it is left out and the primary answers.
    assert!(store
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .get_event(&a, &uid("old"), None)
        .await
        .unwrap()
        .is_some());
    let status = &store.pool().servers()[1];
    assert!(!status.within_lag && status.available, "{status:?}");
    assert!(
        status.lag.unwrap() > Duration::from_millis(300),
        "{status:?}"
    );
    assert_eq!(served(&store), ((2, 2), (1, 0)));

    // Caught up again: measured anew, it serves again.
    pair.resume_replay().await.unwrap();
    pair.wait_replayed().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(store
        .get_event(&a, &uid("new"), None)
        .await
        .unwrap()
        .is_some());
    assert_eq!(served(&store).1 .0, 2, "served by the standby again");
    assert!(store.pool().servers()[1].within_lag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_are_answered_while_the_standby_is_halted_mid_run() {
    let Some(pair) = own_replicated_or_skip("reads_are_answered_while_the_standby_is_halted")
    else {
        return;
    };
    let pair = Arc::new(pair);
    let db = pair.fresh_database().await.unwrap();
    let mut options = cluster(&db);
    options.replica_retry = Duration::from_millis(200);
    let store = PgStore::connect_cluster(&options).await.unwrap();
    let a = alice();
    store
        .put_event(&a, &uid("e"), None, &event("e"))
        .await
        .unwrap();
    store
        .set_freebusy(&a, &Table::FreeBusy, vec![period(9, "e")], None)
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (store, a, stop, reads) = (store.clone(), a.clone(), stop.clone(), reads.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // Every read must be answered, whoever serves it.
                let e = store.get_event(&a, &uid("e"), None).await.unwrap();
                assert!(e.is_some());
                let fb = store.freebusy(&a, &Table::FreeBusy).await.unwrap();
                assert_eq!(fb.value.len(), 1);
                reads.fetch_add(2, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = served(&store);
    assert!(
        before.1 .0 > 0,
        "the standby served reads before: {before:?}"
    );
    halt(&pair);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Writes are not affected by the standby.
    store
        .put_event(&a, &uid("during"), None, &event("during"))
        .await
        .unwrap();
    let during = served(&store);
    assert!(
        during.0 .0 > before.0 .0,
        "the primary answered reads: {during:?}"
    );
    assert!(!store.pool().servers()[1].available);
    restart(&pair);
    let restarted = served(&store).1 .0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while served(&store).1 .0 <= restarted + 10 {
        assert!(Instant::now() < deadline, "the standby never served again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    assert!(store.pool().servers()[1].available);
    assert!(reads.load(Ordering::Relaxed) > 50);
}
