//! Read-only handles refuse every write before touching anything and never create a file or a
//! directory, not even a lock file or a cache.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use calstore::{
    ErrorKind, Group, Journal, PrefName, Providers, QueueKind, Quota, Store, Table, UsageTable,
};
use common::*;

async fn every_write_is_refused(env: &Env) {
    let (ro, rj) = (env.ro_store(), env.ro_journal());
    let (a, u, o) = (user(ALICE), uid("e"), other("mailto:bob@example.com"));
    let text = event_text("e", None, "x");
    let p = || vec![period("20260106T090000Z", "20260106T100000Z", "e", None)];
    let q = Quota::new("rooms").unwrap();
    let kinds = vec![
        ro.put_event(&a, &u, None, &text).await.map(|_| ()),
        ro.remove_event(&a, &u, None).await.map(|_| ()),
        ro.cancel_event(&a, &u, None).await,
        ro.uncancel_event(&a, &u, None).await,
        ro.queue_request(&a, &u, None, QueueKind::Request)
            .await
            .map(|_| ()),
        ro.dequeue_request(&a, &u, None).await.map(|_| ()),
        ro.set_requests(&a, &[]).await,
        ro.put_counter(&a, &o, &u, None, &text).await,
        ro.remove_counter(&a, &o, &u, None).await.map(|_| ()),
        ro.remove_counters(&a, &u, None, None).await.map(|_| ()),
        ro.set_freebusy(&a, &Table::FreeBusy, p(), None)
            .await
            .map(|_| ()),
        ro.replace_event_periods(&a, &Table::FreeBusy, &u, None, p(), None)
            .await
            .map(|_| ()),
        ro.replace_uid_periods(&a, &Table::FreeBusy, &u, p())
            .await
            .map(|_| ()),
        ro.remove_event_periods(&a, &Table::FreeBusy, &u, None, None)
            .await
            .map(|_| ()),
        ro.remove_additional_periods(&a, &Table::FreeBusy, &u, &[], None)
            .await
            .map(|_| ()),
        ro.remove_affected_period(&a, &Table::FreeBusy, &u, t("20260105T090000Z"), None)
            .await
            .map(|_| ()),
        ro.reserve(&a, &Table::FreeBusy, p(), 1, None)
            .await
            .map(|_| ()),
        ro.set_providers(&a, &Providers::default(), None)
            .await
            .map(|_| ()),
        ro.set_preference(&a, &PrefName::new("TZID").unwrap(), Some("UTC"))
            .await,
        rj.set_limits(&q, &Default::default(), None)
            .await
            .map(|_| ()),
        rj.set_groups(&q, &Default::default()).await,
        rj.set_delegates(&q, &[]).await,
        rj.set_usage(&q, &UsageTable::User(a.clone()), p(), None)
            .await
            .map(|_| ()),
        rj.replace_usage_periods(&q, &UsageTable::User(a.clone()), &u, None, p(), None)
            .await
            .map(|_| ()),
        rj.reserve_within_limit(&q, &Group::new("g").unwrap(), p())
            .await
            .map(|_| ()),
        rj.expire(&q, t("20300101T000000Z")).await.map(|_| ()),
        rj.set_providers(&q, &Providers::default(), None)
            .await
            .map(|_| ()),
        rj.put_event(&q, &u, None, &text).await,
        rj.remove_event(&q, &u, None).await.map(|_| ()),
    ];
    for (i, result) in kinds.into_iter().enumerate() {
        let err = result.expect_err("a read-only write succeeded");
        assert_eq!(err.kind(), ErrorKind::ReadOnly, "write #{i}: {err}");
    }
}

async fn every_read(env: &Env) {
    let (ro, rj) = (env.ro_store(), env.ro_journal());
    let a = user(ALICE);
    let q = Quota::new("rooms").unwrap();
    ro.users().await.unwrap();
    ro.list_events(&a).await.unwrap();
    ro.get_event(&a, &uid("e"), None).await.unwrap();
    ro.requests(&a).await.unwrap();
    ro.counters(&a).await.unwrap();
    for table in [
        Table::FreeBusy,
        Table::Offers,
        Table::Other(other("mailto:bob@example.com")),
    ] {
        ro.freebusy(&a, &table).await.unwrap();
        ro.freebusy_in(&a, &table, t("20260101T000000Z"), t("20270101T000000Z"))
            .await
            .unwrap();
    }
    ro.providers(&a).await.unwrap();
    ro.preferences(&a).await.unwrap();
    rj.quotas().await.unwrap();
    rj.limits(&q).await.unwrap();
    rj.usage_tables(&q).await.unwrap();
    rj.usage_in(
        &q,
        &UsageTable::User(a.clone()),
        t("20260101T000000Z"),
        t("20270101T000000Z"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_read_only_store_on_nothing_creates_nothing() {
    let env = Env::new();
    every_write_is_refused(&env).await;
    every_read(&env).await;
    assert!(
        paths(env.root()).is_empty(),
        "created: {:?}",
        paths(env.root())
    );
}

#[tokio::test]
async fn a_read_only_store_changes_no_byte_mode_or_time() {
    let env = Env::new();
    let (store, journal) = (env.store(), env.journal());
    let a = user(ALICE);
    store
        .put_event(&a, &uid("e"), None, &event_text("e", None, "x"))
        .await
        .unwrap();
    store
        .queue_request(&a, &uid("e"), None, QueueKind::Request)
        .await
        .unwrap();
    let mut expired = period("20260105T090000Z", "20260105T100000Z", "old-offer", None);
    expired.expiry = Some(t("20200101T000000Z"));
    let mut live = period("20260106T090000Z", "20260106T100000Z", "offer", None);
    live.expiry = Some(t("20990101T000000Z"));
    // An expired offer a writable reader would purge: the read-only one only filters.
    std::fs::write(
        env.user_path(ALICE, "freebusy-offers"),
        format!("{}\n{}\n", expired.to_line(false), live.to_line(false)),
    )
    .unwrap();
    store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "e", None)],
            None,
        )
        .await
        .unwrap();
    // Remove the range cache so a read-only range read would have a reason to write one.
    for entry in std::fs::read_dir(env.user_path(ALICE, "")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".meta") {
            std::fs::remove_file(env.user_path(ALICE, &name)).unwrap();
        }
    }
    journal
        .set_delegates(&Quota::new("rooms").unwrap(), std::slice::from_ref(&a))
        .await
        .unwrap();
    let before = listing(env.root());
    every_write_is_refused(&env).await;
    every_read(&env).await;
    let offers = env
        .ro_store()
        .freebusy(&a, &Table::Offers)
        .await
        .unwrap()
        .value;
    assert_eq!(offers.len(), 1, "expired offers are filtered");
    assert_eq!(listing(env.root()), before);
}
