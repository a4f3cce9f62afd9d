//! Free/busy tables: order and identity, event replacement, range queries, the separate tables,
//! providers and preferences.

use std::collections::BTreeMap;

use crate::{ErrorKind, FbType, Journal, PrefName, Providers, Store, Table};
use chrono::Duration;

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";

pub async fn tables_keep_order_and_identity<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let empty = f.store.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert!(empty.value.is_empty());
    let mut detailed = period("20260105T090000Z", "20260105T100000Z", "b", None);
    detailed.summary = Some("Summary with\ttab, \\ and\nnewline".into());
    detailed.organiser = Some("mailto:bob@example.com".into());
    detailed.fbtype = FbType::Free;
    let mut duplicate = detailed.clone();
    duplicate.summary = Some("a different summary".into());
    let given = vec![
        period("20260106T090000Z", "20260106T100000Z", "a", None),
        detailed.clone(),
        period(
            "20260105T090000Z",
            "20260105T100000Z",
            "a",
            Some("20260105T090000Z"),
        ),
        period("20260105T090000Z", "20260105T100000Z", "a", None),
        duplicate,
        period("20260105T090000Z", "20260105T093000Z", "z", None),
    ];
    let v = f
        .store
        .set_freebusy(&a, &Table::FreeBusy, given, None)
        .await
        .unwrap();
    let read = f.store.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(read.version, v);
    assert_eq!(
        keys(&read.value),
        [
            "20260105T090000Z/20260105T093000Z z",
            "20260105T090000Z/20260105T100000Z a",
            "20260105T090000Z/20260105T100000Z a 20260105T090000Z",
            "20260105T090000Z/20260105T100000Z b",
            "20260106T090000Z/20260106T100000Z a",
        ]
    );
    let b = read.value.iter().find(|p| p.uid.as_str() == "b").unwrap();
    assert!(
        b.same_details(&detailed),
        "details round-trip exactly and the first of two identities is kept: {b:?}"
    );
    f.store
        .set_freebusy(&a, &Table::FreeBusy, vec![], None)
        .await
        .unwrap();
    assert!(f
        .store
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
}

pub async fn replace_and_remove_event_periods<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    f.store
        .set_freebusy(
            &a,
            &fb,
            vec![
                period("20260105T090000Z", "20260105T100000Z", "e", None),
                period("20260106T090000Z", "20260106T100000Z", "e", None),
                period(
                    "20260106T090000Z",
                    "20260106T100000Z",
                    "e",
                    Some("20260106T090000Z"),
                ),
                period("20260105T120000Z", "20260105T130000Z", "other", None),
            ],
            None,
        )
        .await
        .unwrap();
    let new = vec![
        period("20260107T090000Z", "20260107T100000Z", "e", None),
        period("20260108T090000Z", "20260108T100000Z", "e", None),
    ];
    f.store
        .replace_event_periods(&a, &fb, &uid("e"), None, new, None)
        .await
        .unwrap();
    assert_eq!(
        keys(&f.store.freebusy(&a, &fb).await.unwrap().value),
        [
            "20260105T120000Z/20260105T130000Z other",
            "20260106T090000Z/20260106T100000Z e 20260106T090000Z",
            "20260107T090000Z/20260107T100000Z e",
            "20260108T090000Z/20260108T100000Z e",
        ],
        "only the parent's periods were replaced"
    );
    let wrong = vec![period(
        "20260109T090000Z",
        "20260109T100000Z",
        "someone-else",
        None,
    )];
    assert_eq!(
        kind(
            f.store
                .replace_event_periods(&a, &fb, &uid("e"), None, wrong, None)
                .await
        ),
        ErrorKind::InvalidInput
    );
    f.store
        .remove_event_periods(&a, &fb, &uid("e"), Some(&rid("20260106T090000Z")), None)
        .await
        .unwrap();
    f.store
        .remove_event_periods(&a, &fb, &uid("e"), None, None)
        .await
        .unwrap();
    assert_eq!(
        keys(&f.store.freebusy(&a, &fb).await.unwrap().value),
        ["20260105T120000Z/20260105T130000Z other"]
    );
    // Removing from a table that does not exist is not an error.
    f.store
        .remove_event_periods(
            &user("mailto:nobody@example.com"),
            &fb,
            &uid("e"),
            None,
            None,
        )
        .await
        .unwrap();
}

pub async fn remove_additional_and_affected<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    f.store
        .set_freebusy(
            &a,
            &fb,
            vec![
                period("20260105T090000Z", "20260105T100000Z", "w", None),
                period("20260112T090000Z", "20260112T100000Z", "w", None),
                period(
                    "20260113T090000Z",
                    "20260113T100000Z",
                    "w",
                    Some("20260112T090000Z"),
                ),
                period(
                    "20260119T090000Z",
                    "20260119T100000Z",
                    "w",
                    Some("20260119T090000Z"),
                ),
                period("20260112T090000Z", "20260112T100000Z", "x", None),
            ],
            None,
        )
        .await
        .unwrap();
    f.store
        .remove_affected_period(&a, &fb, &uid("w"), t("20260112T090000Z"), None)
        .await
        .unwrap();
    f.store
        .remove_additional_periods(&a, &fb, &uid("w"), &[rid("20260112T090000Z")], None)
        .await
        .unwrap();
    assert_eq!(
        keys(&f.store.freebusy(&a, &fb).await.unwrap().value),
        [
            "20260105T090000Z/20260105T100000Z w",
            "20260112T090000Z/20260112T100000Z x",
            "20260113T090000Z/20260113T100000Z w 20260112T090000Z",
        ]
    );
}

pub async fn range_queries_find_overlaps<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    let mut periods = vec![
        // A week-long period that starts long before the queried hour must still be found.
        period("20260101T000000Z", "20260108T000000Z", "long", None),
        period(
            "20260105T080000Z",
            "20260105T090000Z",
            "before-touching",
            None,
        ),
        period(
            "20260105T100000Z",
            "20260105T110000Z",
            "after-touching",
            None,
        ),
        period(
            "20260105T083000Z",
            "20260105T091500Z",
            "overlap-start",
            None,
        ),
        period("20260105T094500Z", "20260105T103000Z", "overlap-end", None),
        period("20260105T091500Z", "20260105T093000Z", "inside", None),
    ];
    for day in 10..28 {
        periods.push(period(
            &format!("202601{day}T090000Z"),
            &format!("202601{day}T100000Z"),
            &format!("filler-{day}"),
            None,
        ));
    }
    f.store.set_freebusy(&a, &fb, periods, None).await.unwrap();
    let found = f
        .store
        .freebusy_in(&a, &fb, t("20260105T090000Z"), t("20260105T100000Z"))
        .await
        .unwrap();
    let uids: Vec<&str> = found.value.iter().map(|p| p.uid.as_str()).collect();
    assert_eq!(uids, ["long", "overlap-start", "inside", "overlap-end"]);
    assert_eq!(
        found.version,
        f.store.freebusy(&a, &fb).await.unwrap().version
    );
    let none = f
        .store
        .freebusy_in(&a, &fb, t("20250101T000000Z"), t("20250102T000000Z"))
        .await
        .unwrap();
    assert!(none.value.is_empty());
    let tail = f
        .store
        .freebusy_in(&a, &fb, t("20260127T093000Z"), t("20300101T000000Z"))
        .await
        .unwrap();
    assert_eq!(
        keys(&tail.value),
        ["20260127T090000Z/20260127T100000Z filler-27"]
    );
}

pub async fn other_tables_are_separate<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let (bob, carol) = (
        other("mailto:bob@example.com"),
        other("mailto:carol@example.com"),
    );
    assert!(f.store.others(&a).await.unwrap().is_empty());
    f.store
        .set_freebusy(
            &a,
            &Table::Other(carol.clone()),
            vec![period("20260105T090000Z", "20260105T100000Z", "c", None)],
            None,
        )
        .await
        .unwrap();
    f.store
        .set_freebusy(
            &a,
            &Table::Other(bob.clone()),
            vec![period("20260105T110000Z", "20260105T120000Z", "b", None)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        f.store.others(&a).await.unwrap(),
        vec![bob.clone(), carol.clone()]
    );
    assert_eq!(
        keys(
            &f.store
                .freebusy(&a, &Table::Other(bob))
                .await
                .unwrap()
                .value
        ),
        ["20260105T110000Z/20260105T120000Z b"]
    );
    assert!(f
        .store
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
    assert!(f
        .store
        .freebusy(&user("mailto:bob@example.com"), &Table::Other(carol))
        .await
        .unwrap()
        .value
        .is_empty());
}

pub async fn providers_round_trip<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let empty = f.store.providers(&a).await.unwrap();
    assert_eq!(empty.value, Providers::default());
    let p = Providers {
        window_end: Some(t("20260415T000000Z")),
        events: vec![
            (uid("daily"), None),
            (uid("weekly"), Some(rid("20260105T090000Z"))),
        ],
    };
    let v = f
        .store
        .set_providers(&a, &p, Some(empty.version))
        .await
        .unwrap();
    let read = f.store.providers(&a).await.unwrap();
    assert_eq!((read.value, read.version), (p.clone(), v));
    assert_eq!(
        kind(
            f.store
                .set_providers(&a, &Providers::default(), Some(empty.version))
                .await
        ),
        ErrorKind::Stale
    );
    let none = Providers {
        window_end: None,
        events: vec![(uid("x"), None)],
    };
    f.store.set_providers(&a, &none, None).await.unwrap();
    assert_eq!(f.store.providers(&a).await.unwrap().value, none);
}

pub async fn preferences_round_trip<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let (tz, win, odd) = (
        PrefName::new("TZID").unwrap(),
        PrefName::new("window_size").unwrap(),
        PrefName::new("../odd name").unwrap(),
    );
    assert!(f.store.preferences(&a).await.unwrap().is_empty());
    assert_eq!(f.store.preference(&a, &tz).await.unwrap(), None);
    f.store
        .set_preference(&a, &tz, Some("Europe/Oslo"))
        .await
        .unwrap();
    f.store.set_preference(&a, &win, Some("30")).await.unwrap();
    f.store
        .set_preference(&a, &odd, Some("kept\nas it is "))
        .await
        .unwrap();
    assert_eq!(
        f.store.preference(&a, &tz).await.unwrap().as_deref(),
        Some("Europe/Oslo")
    );
    let all: BTreeMap<PrefName, String> = f.store.preferences(&a).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[&odd], "kept\nas it is ");
    f.store.set_preference(&a, &win, None).await.unwrap();
    assert_eq!(f.store.preference(&a, &win).await.unwrap(), None);
    assert_eq!(
        kind(f.store.set_preference(&a, &tz, Some("nul\0")).await),
        ErrorKind::InvalidInput
    );
}

pub async fn concurrent_replacements_lose_nothing<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (store, a, fb) = (f.store.clone(), a.clone(), fb.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                let u = format!("w{worker}-e{i}");
                let start = t("20260105T000000Z") + Duration::minutes(i64::from(worker * 100 + i));
                let p = crate::Period::new(start, start + Duration::minutes(30), uid(&u), None)
                    .unwrap();
                store
                    .replace_event_periods(&a, &fb, &uid(&u), None, vec![p], None)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let table = f.store.freebusy(&a, &fb).await.unwrap().value;
    assert_eq!(table.len(), 60, "every acknowledged write is there");
}
