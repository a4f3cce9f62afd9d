//! A read-only store refuses every write and changes nothing.

use crate::{ErrorKind, Journal, Providers, QueueKind, Store, Table, UsageTable};

use super::fixture::Fixture;
use super::support::*;

pub async fn read_only_refuses_every_write<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user("mailto:alice@example.com"), uid("e"));
    let text = event_text("e", None, "20260105T090000Z", "20260105T100000Z", "x");
    f.store.put_event(&a, &u, None, &text).await.unwrap();
    f.store
        .queue_request(&a, &u, None, QueueKind::Request)
        .await
        .unwrap();
    f.store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "e", None)],
            None,
        )
        .await
        .unwrap();
    let q = crate::Quota::new("mailto:rooms@example.com").unwrap();
    f.journal
        .set_limits(
            &q,
            &[(crate::Group::new("*").unwrap(), "PT1H".to_owned())].into(),
            None,
        )
        .await
        .unwrap();
    let before = f.snapshot().await;
    let (ro, rj) = (&f.ro_store, &f.ro_journal);
    assert!(ro.is_read_only() && rj.is_read_only());
    // Reads work.
    assert_eq!(
        ro.get_event(&a, &u, None).await.unwrap().unwrap().text,
        text
    );
    assert_eq!(
        ro.freebusy(&a, &Table::FreeBusy).await.unwrap().value.len(),
        1
    );
    assert_eq!(rj.limits(&q).await.unwrap().value.len(), 1);
    let p = || vec![period("20260106T090000Z", "20260106T100000Z", "e", None)];
    let b = user("mailto:new-user@example.com");
    let o = other("mailto:bob@example.com");
    let results = vec![
        kind(ro.put_event(&a, &u, None, &text).await),
        kind(ro.put_event(&b, &u, None, &text).await),
        kind(ro.remove_event(&a, &u, None).await),
        kind(ro.cancel_event(&a, &u, None).await),
        kind(ro.uncancel_event(&a, &u, None).await),
        kind(ro.queue_request(&b, &u, None, QueueKind::Request).await),
        kind(ro.dequeue_request(&a, &u, None).await),
        kind(ro.set_requests(&a, &[]).await),
        kind(ro.put_counter(&a, &o, &u, None, &text).await),
        kind(ro.remove_counter(&a, &o, &u, None).await),
        kind(ro.remove_counters(&a, &u, None, None).await),
        kind(ro.set_freebusy(&a, &Table::FreeBusy, p(), None).await),
        kind(
            ro.replace_event_periods(&a, &Table::FreeBusy, &u, None, p(), None)
                .await,
        ),
        kind(
            ro.remove_event_periods(&a, &Table::FreeBusy, &u, None, None)
                .await,
        ),
        kind(
            ro.remove_additional_periods(&a, &Table::FreeBusy, &u, &[], None)
                .await,
        ),
        kind(
            ro.remove_affected_period(&a, &Table::FreeBusy, &u, t("20260105T090000Z"), None)
                .await,
        ),
        kind(ro.reserve(&a, &Table::FreeBusy, p(), 1, None).await),
        kind(ro.set_providers(&a, &Providers::default(), None).await),
        kind(ro.mark_provider(&a, &u, true).await),
        kind(
            ro.store_incoming(
                &a,
                &crate::Incoming {
                    uid: u.clone(),
                    rid: None,
                    text: text.clone(),
                    periods: p(),
                    method: QueueKind::Request,
                },
            )
            .await,
        ),
        kind(
            ro.set_preference(&a, &crate::PrefName::new("TZID").unwrap(), Some("UTC"))
                .await,
        ),
        kind(rj.set_limits(&q, &Default::default(), None).await),
        kind(rj.set_groups(&q, &Default::default()).await),
        kind(rj.set_delegates(&q, &[]).await),
        kind(
            rj.set_usage(&q, &UsageTable::User(a.clone()), p(), None)
                .await,
        ),
        kind(
            rj.replace_usage_periods(&q, &UsageTable::User(a.clone()), &u, None, p(), None)
                .await,
        ),
        kind(
            rj.reserve_within_limit(&q, &crate::Group::new("g").unwrap(), p())
                .await,
        ),
        kind(rj.expire(&q, t("20300101T000000Z")).await),
        kind(rj.set_providers(&q, &Providers::default(), None).await),
        kind(rj.put_event(&q, &u, None, &text).await),
        kind(rj.remove_event(&q, &u, None).await),
    ];
    for (i, k) in results.iter().enumerate() {
        assert_eq!(
            *k,
            ErrorKind::ReadOnly,
            "write #{i} was not refused as read-only"
        );
    }
    assert_eq!(
        f.snapshot().await,
        before,
        "a read-only store changed nothing"
    );
}
