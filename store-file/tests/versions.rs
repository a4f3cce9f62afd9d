//! Versions: the table file's modification time in nanoseconds, set by the writer so that it
//! strictly increases; conditional writes compare it under the lock.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::os::unix::fs::MetadataExt;

use calstore::{ErrorKind, Journal, Providers, Quota, Store, Table, UsageTable, Version};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_strictly_increase_and_are_the_mtime() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let fb = Table::FreeBusy;
    assert_eq!(store.freebusy(&a, &fb).await.unwrap().version, Version(0));
    let mut last = Version(0);
    for i in 0..50 {
        let u = format!("e{}", i % 7);
        let v = store
            .replace_event_periods(
                &a,
                &fb,
                &uid(&u),
                None,
                vec![period(
                    "20260105T090000Z",
                    &format!("20260105T1{}0000Z", i % 10),
                    &u,
                    None,
                )],
                Some(last),
            )
            .await
            .unwrap();
        assert!(v > last, "{v} after {last}");
        let md = std::fs::metadata(env.user_path(ALICE, "freebusy")).unwrap();
        let mtime = u64::try_from(md.mtime()).unwrap() * 1_000_000_000
            + u64::try_from(md.mtime_nsec()).unwrap();
        assert_eq!(v, Version(mtime));
        assert_eq!(store.freebusy(&a, &fb).await.unwrap().version, v);
        assert_eq!(
            store
                .freebusy_in(&a, &fb, t("20260101T000000Z"), t("20260201T000000Z"))
                .await
                .unwrap()
                .version,
            v
        );
        last = v;
    }
    // A version from another handle (another process) is the same version.
    assert_eq!(env.store().freebusy(&a, &fb).await.unwrap().version, last);
}

#[tokio::test]
async fn the_version_increases_even_when_the_clock_goes_back() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let v1 = store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "a", None)],
            None,
        )
        .await
        .unwrap();
    // Another program stamped the file far in the future (or our clock went back).
    let path = env.user_path(ALICE, "freebusy");
    let future = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400 * 365);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(future)
        .unwrap();
    let read = store.freebusy(&a, &Table::FreeBusy).await.unwrap().version;
    assert!(read > v1);
    let v2 = store
        .remove_event_periods(&a, &Table::FreeBusy, &uid("zzz"), None, Some(read))
        .await
        .unwrap();
    assert_eq!(v2, read, "nothing removed, nothing written");
    let v3 = store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "b", None)],
            Some(read),
        )
        .await
        .unwrap();
    assert_eq!(v3, Version(read.0 + 1));
}

#[tokio::test]
async fn stale_writes_conflict_and_change_nothing() {
    let env = Env::new();
    let store = env.store();
    let journal = env.journal();
    let a = user(ALICE);
    let fb = Table::FreeBusy;
    let v1 = store
        .set_freebusy(
            &a,
            &fb,
            vec![period("20260105T090000Z", "20260105T100000Z", "a", None)],
            None,
        )
        .await
        .unwrap();
    let v2 = store
        .set_freebusy(
            &a,
            &fb,
            vec![period("20260106T090000Z", "20260106T100000Z", "b", None)],
            Some(v1),
        )
        .await
        .unwrap();
    let path = env.user_path(ALICE, "freebusy");
    let before = listing(env.root());
    let stale = Some(v1);
    let p = || vec![period("20260107T090000Z", "20260107T100000Z", "c", None)];
    let results = vec![
        store.set_freebusy(&a, &fb, p(), stale).await,
        store
            .replace_event_periods(&a, &fb, &uid("c"), None, p(), stale)
            .await,
        store
            .remove_event_periods(&a, &fb, &uid("b"), None, stale)
            .await,
        store
            .remove_additional_periods(&a, &fb, &uid("b"), &[], stale)
            .await,
        store
            .remove_affected_period(&a, &fb, &uid("b"), t("20260106T090000Z"), stale)
            .await,
        store.reserve(&a, &fb, p(), 1, stale).await,
        store.set_freebusy(&a, &fb, p(), Some(Version(0))).await,
    ];
    for (i, r) in results.into_iter().enumerate() {
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Stale, "#{i}: {err}");
        assert!(
            err.to_string().contains("freebusy") && err.to_string().contains(ALICE),
            "{err}"
        );
    }
    assert_eq!(listing(env.root()), before, "refused writes change nothing");
    assert!(env.read(&path).contains("\tb\t"));
    // The providers and the journal's versioned files behave the same.
    let pv = store
        .set_providers(
            &a,
            &Providers {
                window_end: Some(t("20260415T000000Z")),
                events: vec![],
            },
            Some(Version(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .set_providers(&a, &Providers::default(), Some(Version(0)))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Stale
    );
    assert!(store
        .set_providers(&a, &Providers::default(), Some(pv))
        .await
        .is_ok());
    let q = Quota::new("rooms").unwrap();
    let table = UsageTable::User(a.clone());
    let u1 = journal
        .set_usage(
            &q,
            &table,
            vec![period("20260105T090000Z", "20260105T100000Z", "a", None)],
            None,
        )
        .await
        .unwrap();
    journal
        .set_usage(&q, &table, vec![], Some(u1))
        .await
        .unwrap();
    assert_eq!(
        journal
            .set_usage(&q, &table, vec![], Some(u1))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Stale
    );
    // An emptied table is gone and has version 0 again.
    assert_eq!(
        store.set_freebusy(&a, &fb, vec![], Some(v2)).await.unwrap(),
        Version(0)
    );
    assert!(!path.exists());
}
