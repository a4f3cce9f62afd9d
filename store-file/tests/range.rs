//! Range reads (binary search over the sorted file) agree with a full scan, and streaming changes
//! agree with the core crate's in-memory table operations, on random tables.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use calstore::period;
use calstore::{FbType, Period, Store, Table};
use chrono::Duration;
use common::*;
use proptest::prelude::*;

static CASE: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// (start minute, duration minutes, uid index, summary length, transparent, instance)
type Spec = (i64, i64, usize, usize, bool, bool);

fn make(spec: &Spec) -> Period {
    let (start, len, u, summary, transparent, instance) = *spec;
    let s = t("20260101T000000Z") + Duration::minutes(start);
    let mut p = Period::new(
        s,
        s + Duration::minutes(len),
        uid(&format!("uid-{u}\t{}", "x".repeat(u % 3))),
        instance.then(|| calstore::Rid::from_utc(s)),
    )
    .unwrap();
    p.summary = (summary > 0).then(|| "s".repeat(summary));
    if transparent {
        p.fbtype = FbType::Free;
    }
    p
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0i64..20_000,
        prop_oneof![8 => 0i64..120, 1 => Just(0i64), 1 => 1_000i64..10_000],
        0usize..40,
        prop_oneof![6 => Just(0usize), 3 => 1usize..60, 1 => 400usize..1_500],
        any::<bool>(),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn range_reads_agree_with_a_full_scan(
        specs in proptest::collection::vec(spec(), 0..400),
        queries in proptest::collection::vec((-2_000i64..22_000, 0i64..3_000), 1..25),
    ) {
        let env = Env::new();
        let rt = runtime();
        let store = env.store();
        let a = user(&format!("mailto:range-{}@example.com", CASE.fetch_add(1, Ordering::SeqCst)));
        let periods: Vec<Period> = specs.iter().map(make).collect();
        rt.block_on(store.set_freebusy(&a, &Table::FreeBusy, periods, None)).unwrap();
        let all = rt.block_on(store.freebusy(&a, &Table::FreeBusy)).unwrap().value;
        let fresh = env.ro_store(); // no cache in memory: finds the dot file, or scans
        for (start, len) in queries {
            let s = t("20260101T000000Z") + Duration::minutes(start);
            let e = s + Duration::minutes(len);
            let want: Vec<Period> = all.iter().filter(|p| p.overlaps(s, e)).cloned().collect();
            for handle in [&store, &fresh] {
                let got = rt.block_on(handle.freebusy_in(&a, &Table::FreeBusy, s, e)).unwrap().value;
                prop_assert_eq!(&got, &want);
                prop_assert!(got.iter().zip(&want).all(|(g, w)| g.same_details(w)));
            }
        }
    }

    #[test]
    fn streaming_changes_agree_with_the_core_operations(
        initial in proptest::collection::vec(spec(), 0..200),
        steps in proptest::collection::vec((0usize..40, any::<bool>(), proptest::collection::vec(spec(), 0..5), 0u8..3), 1..12),
    ) {
        let env = Env::new();
        let rt = runtime();
        let store = env.store();
        let a = user(ALICE);
        let fb = Table::FreeBusy;
        let mut model = period::normalise(initial.iter().map(make).collect());
        rt.block_on(store.set_freebusy(&a, &fb, model.clone(), None)).unwrap();
        for (u, instance, specs, kind) in steps {
            // Periods of one event: force the uid (and rid) of the first spec onto the others.
            let event: Vec<Period> = specs.iter().map(|s| make(&(s.0, s.1, u, s.3, s.4, false))).collect();
            let the_uid = make(&(0, 0, u, 0, false, false)).uid;
            let the_rid = instance.then(|| calstore::Rid::from_utc(t("20260101T000000Z")));
            let event: Vec<Period> = event.into_iter().map(|mut p| { p.rid = the_rid.clone(); p }).collect();
            match kind {
                0 => {
                    rt.block_on(store.replace_event_periods(&a, &fb, &the_uid, the_rid.as_ref(), event.clone(), None)).unwrap();
                    period::replace_event(&mut model, &the_uid, the_rid.as_ref(), event).unwrap();
                }
                1 => {
                    rt.block_on(store.remove_event_periods(&a, &fb, &the_uid, the_rid.as_ref(), None)).unwrap();
                    period::remove_event(&mut model, &the_uid, the_rid.as_ref());
                }
                _ => {
                    let start = model.iter().find(|p| p.uid == the_uid && p.rid.is_none()).map_or(t("20260101T000000Z"), |p| p.start);
                    rt.block_on(store.remove_affected_period(&a, &fb, &the_uid, start, None)).unwrap();
                    period::remove_affected(&mut model, &the_uid, start);
                }
            }
            let got = rt.block_on(store.freebusy(&a, &fb)).unwrap().value;
            prop_assert_eq!(&got, &model);
            prop_assert!(got.iter().zip(&model).all(|(g, w)| g.same_details(w)));
            // The file stays sorted line by line; an emptied table is removed.
            let path = env.user_path(ALICE, "freebusy");
            prop_assert_eq!(path.exists(), !model.is_empty());
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<Period> = text.lines().map(|l| Period::from_line(l).unwrap()).collect();
            prop_assert!(lines.is_sorted());
        }
    }
}

#[test]
fn range_reads_notice_an_outside_change() {
    let env = Env::new();
    let rt = runtime();
    let store = env.store();
    let a = user(ALICE);
    let periods: Vec<Period> = (0..500)
        .map(|i| make(&(i * 60, 30, 1, 10, false, false)))
        .collect();
    rt.block_on(store.set_freebusy(&a, &Table::FreeBusy, periods, None))
        .unwrap();
    let at = |m: i64| t("20260101T000000Z") + Duration::minutes(m);
    assert_eq!(
        rt.block_on(store.freebusy_in(&a, &Table::FreeBusy, at(250 * 60), at(250 * 60 + 1)))
            .unwrap()
            .value
            .len(),
        1
    );
    // Another program adds a week-long period far before: the cached longest duration is stale.
    let path = env.user_path(ALICE, "freebusy");
    let long = make(&(0, 60 * 24 * 365, 2, 0, false, false));
    let mut text = format!("{}\n", long.to_line(false));
    text.push_str(&env.read(&path));
    std::thread::sleep(std::time::Duration::from_millis(5));
    std::fs::write(&path, text).unwrap();
    let found = rt
        .block_on(store.freebusy_in(&a, &Table::FreeBusy, at(250 * 60), at(250 * 60 + 1)))
        .unwrap()
        .value;
    assert_eq!(found.len(), 2, "{found:?}");
}
