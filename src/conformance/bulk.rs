//! The calls that do several things at once (the cron job's bulk read, the agent's step) and the
//! cheap reads beside them: each must give exactly what the single calls give.

use crate::{
    ErrorKind, EventFamily, EventStatus, Incoming, Journal, Providers, QueueKind, Store, Table,
    Version,
};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";

pub async fn load_events_matches_single_reads<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    let (one, two, three) = (uid("one"), uid("two"), uid("three"));
    let at = |d: &str| format!("202601{d}T090000Z");
    let end = |d: &str| format!("202601{d}T100000Z");
    s.put_event(
        &a,
        &one,
        None,
        &event_text("one", None, &at("05"), &end("05"), "p"),
    )
    .await
    .unwrap();
    for d in ["12", "19", "26"] {
        let r = rid(&at(d));
        let text = event_text("one", Some(&at(d)), &at(d), &end(d), "moved");
        s.put_event(&a, &one, Some(&r), &text).await.unwrap();
    }
    s.cancel_event(&a, &one, Some(&rid(&at("19"))))
        .await
        .unwrap();
    // An instance without a stored parent, and a cancelled parent.
    let r2 = rid(&at("06"));
    s.put_event(
        &a,
        &two,
        Some(&r2),
        &event_text("two", Some(&at("06")), &at("06"), &end("06"), "i"),
    )
    .await
    .unwrap();
    s.put_event(
        &a,
        &three,
        None,
        &event_text("three", None, &at("07"), &end("07"), "c"),
    )
    .await
    .unwrap();
    s.cancel_event(&a, &three, None).await.unwrap();

    let asked = [three.clone(), uid("unknown"), one.clone(), two.clone()];
    let got = s.load_events(&a, &asked).await.unwrap();
    let mut want = Vec::new();
    for u in &asked {
        let mut instances = Vec::new();
        for (r, status) in s.instances(&a, u).await.unwrap() {
            let stored = s.get_event(&a, u, Some(&r)).await.unwrap().unwrap();
            assert_eq!(stored.status, status);
            instances.push((r, stored));
        }
        want.push(EventFamily {
            uid: u.clone(),
            parent: s.get_event(&a, u, None).await.unwrap(),
            instances,
        });
    }
    assert_eq!(got, want, "one family per uid, in the order asked");
    assert_eq!(
        got[0].parent.as_ref().unwrap().status,
        EventStatus::Cancelled
    );
    assert_eq!((got[1].parent.is_none(), got[1].instances.len()), (true, 0));
    let statuses: Vec<EventStatus> = got[2].instances.iter().map(|(_, e)| e.status).collect();
    assert_eq!(
        statuses,
        [
            EventStatus::Active,
            EventStatus::Cancelled,
            EventStatus::Active
        ],
        "instances in rid order with their status"
    );
    assert!(got[3].parent.is_none() && got[3].instances.len() == 1);
    assert!(s.load_events(&a, &[]).await.unwrap().is_empty());
    assert_eq!(
        s.load_events(&user("mailto:nobody@example.com"), &asked)
            .await
            .unwrap()
            .len(),
        4
    );
}

pub async fn table_version_follows_writes<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    for table in [
        Table::FreeBusy,
        Table::Offers,
        Table::Other(other("mailto:bob@example.com")),
    ] {
        assert_eq!(
            s.table_version(&a, &table).await.unwrap(),
            Version(0),
            "{table}"
        );
        let v1 = s
            .set_freebusy(
                &a,
                &table,
                vec![period("20260105T090000Z", "20260105T100000Z", "e", None)],
                None,
            )
            .await
            .unwrap();
        assert_eq!(s.table_version(&a, &table).await.unwrap(), v1, "{table}");
        assert_eq!(s.freebusy(&a, &table).await.unwrap().version, v1, "{table}");
        let v2 = s
            .replace_event_periods(
                &a,
                &table,
                &uid("f"),
                None,
                vec![period("20260106T090000Z", "20260106T100000Z", "f", None)],
                Some(v1),
            )
            .await
            .unwrap();
        assert_ne!(v1, v2);
        assert_eq!(s.table_version(&a, &table).await.unwrap(), v2, "{table}");
        // The version read this way guards a write like the one read with the periods.
        let stale = s.set_freebusy(&a, &table, Vec::new(), Some(v1)).await;
        assert_eq!(kind(stale), ErrorKind::Stale);
    }
}

pub async fn mark_provider_changes_one_entry<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    assert!(
        !s.mark_provider(&a, &uid("x"), false).await.unwrap(),
        "nothing to remove"
    );
    assert_eq!(s.providers(&a).await.unwrap().version, Version(0));
    let window = Providers {
        window_end: Some(t("20260415T000000Z")),
        events: vec![(uid("b"), None), (uid("b"), Some(rid("20260105T090000Z")))],
    };
    s.set_providers(&a, &window, None).await.unwrap();
    assert!(s.mark_provider(&a, &uid("a"), true).await.unwrap());
    let after_add = s.providers(&a).await.unwrap();
    assert_eq!(
        after_add.value,
        Providers {
            window_end: window.window_end,
            events: vec![
                (uid("a"), None),
                (uid("b"), None),
                (uid("b"), Some(rid("20260105T090000Z")))
            ],
        },
        "added in order; the window end is kept"
    );
    assert!(
        !s.mark_provider(&a, &uid("a"), true).await.unwrap(),
        "already there"
    );
    assert_eq!(
        s.providers(&a).await.unwrap().version,
        after_add.version,
        "no write, same version"
    );
    assert!(s.mark_provider(&a, &uid("b"), false).await.unwrap());
    assert_eq!(
        s.providers(&a).await.unwrap().value.events,
        vec![(uid("a"), None)],
        "every entry of the uid removed"
    );
    assert_ne!(s.providers(&a).await.unwrap().version, after_add.version);
}

pub async fn store_incoming_is_the_agents_step<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    let before_table = s
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "old", None)],
            None,
        )
        .await
        .unwrap();
    let text = event_text("req", None, "20260106T090000Z", "20260106T100000Z", "Plan");
    let good = Incoming {
        uid: uid("req"),
        rid: None,
        text: text.clone(),
        periods: vec![period("20260106T090000Z", "20260106T100000Z", "req", None)],
        method: QueueKind::Request,
    };
    // Bad input of either kind writes nothing at all.
    let snapshot = f.snapshot().await;
    let mut wrong_periods = good.clone();
    wrong_periods.periods.push(period(
        "20260107T090000Z",
        "20260107T100000Z",
        "other",
        None,
    ));
    let mut wrong_text = good.clone();
    wrong_text.text = event_text("not-req", None, "20260106T090000Z", "20260106T100000Z", "x");
    for bad in [wrong_periods, wrong_text] {
        assert_eq!(
            kind(s.store_incoming(&a, &bad).await),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            f.snapshot().await,
            snapshot,
            "a refused step leaves no trace"
        );
    }

    let version = s.store_incoming(&a, &good).await.unwrap();
    assert_ne!(version, before_table);
    assert_eq!(
        s.get_event(&a, &uid("req"), None)
            .await
            .unwrap()
            .unwrap()
            .text,
        text
    );
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(table.version, version, "returns the table's new version");
    assert_eq!(
        keys(&table.value),
        keys(&[
            period("20260105T090000Z", "20260105T100000Z", "old", None),
            period("20260106T090000Z", "20260106T100000Z", "req", None),
        ])
    );
    assert!(s
        .have_request(&a, &uid("req"), None, Some(QueueKind::Request))
        .await
        .unwrap());

    // The same request again (rescheduled): periods replaced, one queue entry.
    let mut moved = good.clone();
    moved.text = event_text("req", None, "20260108T090000Z", "20260108T100000Z", "Plan");
    moved.periods = vec![period("20260108T090000Z", "20260108T100000Z", "req", None)];
    s.store_incoming(&a, &moved).await.unwrap();
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(table.value.len(), 2);
    assert_eq!(table.value[1].start, t("20260108T090000Z"));
    assert_eq!(s.requests(&a).await.unwrap().len(), 1);
}

pub async fn replace_uids_periods_replaces_exactly_those_uids<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    let start = vec![
        period("20260105T090000Z", "20260105T100000Z", "a", None),
        period(
            "20260106T090000Z",
            "20260106T100000Z",
            "a",
            Some("20260106T090000Z"),
        ),
        period("20260105T110000Z", "20260105T120000Z", "b", None),
        period("20260105T130000Z", "20260105T140000Z", "c", None),
    ];
    let before = s
        .set_freebusy(&a, &Table::FreeBusy, start, None)
        .await
        .unwrap();
    // A period of an uid not being replaced is refused, and nothing changes.
    let snapshot = f.snapshot().await;
    let stray = vec![period("20260107T090000Z", "20260107T100000Z", "c", None)];
    assert_eq!(
        kind(
            s.replace_uids_periods(&a, &Table::FreeBusy, &[uid("a"), uid("b")], stray)
                .await
        ),
        ErrorKind::InvalidInput
    );
    assert_eq!(f.snapshot().await, snapshot);

    let version = s
        .replace_uids_periods(
            &a,
            &Table::FreeBusy,
            &[uid("b"), uid("a"), uid("gone")],
            vec![
                period("20260108T090000Z", "20260108T100000Z", "a", None),
                period(
                    "20260104T090000Z",
                    "20260104T093000Z",
                    "a",
                    Some("20260104T090000Z"),
                ),
            ],
        )
        .await
        .unwrap();
    assert_ne!(version, before);
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(table.version, version);
    assert_eq!(
        keys(&table.value),
        [
            "20260104T090000Z/20260104T093000Z a 20260104T090000Z",
            "20260105T130000Z/20260105T140000Z c",
            "20260108T090000Z/20260108T100000Z a",
        ],
        "every row of a and b replaced, c kept, in table order"
    );
}
