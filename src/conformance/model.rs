//! Model-based property test: random operation sequences applied to the backend and to a naive
//! in-memory reference model, compared after every step.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{ErrorKind, Journal, Period, QueueKind, Request, Rid, Store, Table, Uid};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::fixture::Fixture;
use super::support::*;

#[derive(Debug, Clone)]
enum Op {
    Replace(usize, Option<usize>, Vec<(i64, i64)>),
    Remove(usize, Option<usize>),
    RemoveAdditional(usize, Vec<usize>),
    RemoveAffected(usize, i64),
    Reserve(usize, Vec<(i64, i64)>),
    Set(Vec<(usize, Option<usize>, i64, i64)>),
    Query(i64, i64),
    Queue(usize, Option<usize>, bool),
    Dequeue(usize, Option<usize>),
}

const UIDS: [&str; 3] = ["alpha", "beta", "tab\tgamma"];
const RIDS: [&str; 2] = ["20260105T100000Z", "20260106"];

fn base() -> DateTime<Utc> {
    t("20260105T000000Z")
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let uid = 0..UIDS.len();
    let rid = proptest::option::of(0..RIDS.len());
    let spans = proptest::collection::vec((0i64..48, 0i64..6), 0..4);
    prop_oneof![
        3 => (uid.clone(), rid.clone(), spans.clone()).prop_map(|(u, r, s)| Op::Replace(u, r, s)),
        1 => (uid.clone(), rid.clone()).prop_map(|(u, r)| Op::Remove(u, r)),
        1 => (uid.clone(), proptest::collection::vec(0..RIDS.len(), 0..2)).prop_map(|(u, k)| Op::RemoveAdditional(u, k)),
        1 => (uid.clone(), 0i64..48).prop_map(|(u, s)| Op::RemoveAffected(u, s)),
        2 => (uid.clone(), spans).prop_map(|(u, s)| Op::Reserve(u, s)),
        1 => proptest::collection::vec((uid.clone(), rid.clone(), 0i64..48, 0i64..6), 0..5).prop_map(Op::Set),
        2 => (0i64..50, 0i64..12).prop_map(|(s, d)| Op::Query(s, d)),
        2 => (uid.clone(), rid.clone(), any::<bool>()).prop_map(|(u, r, c)| Op::Queue(u, r, c)),
        1 => (uid, rid).prop_map(|(u, r)| Op::Dequeue(u, r)),
    ]
}

type Key = (DateTime<Utc>, DateTime<Utc>, String, String);

/// The reference: a map keyed by identity, and a plain list for the queue.
#[derive(Default)]
struct Model {
    table: BTreeMap<Key, Period>,
    queue: Vec<Request>,
}

fn mk(u: usize, r: Option<usize>, start: i64, len: i64) -> Period {
    let s = base() + Duration::hours(start);
    Period::new(
        s,
        s + Duration::minutes(len * 30),
        uid(UIDS[u]),
        r.map(|r| rid(RIDS[r])),
    )
    .unwrap()
}

fn key(p: &Period) -> Key {
    (
        p.start,
        p.end,
        p.uid.as_str().to_owned(),
        crate::id::rid_text(p.rid.as_ref()).to_owned(),
    )
}

impl Model {
    fn remove(&mut self, u: &Uid, r: Option<&Rid>) {
        self.table
            .retain(|_, p| !(&p.uid == u && p.rid.as_ref() == r));
    }
    fn insert(&mut self, p: Period) {
        self.table.entry(key(&p)).or_insert(p);
    }
    fn busy_others_overlap(&self, c: &Period) -> bool {
        c.is_busy()
            && self.table.values().any(|p| {
                p.is_busy()
                    && !(p.uid == c.uid && p.rid == c.rid)
                    && p.start < c.end
                    && c.start < p.end
            })
    }
}

static CASE: AtomicUsize = AtomicUsize::new(0);

pub async fn model_based_operations<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let store = f.store.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(move || {
        let mut runner = TestRunner::new(Config {
            cases: 24,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&proptest::collection::vec(op_strategy(), 1..30), |ops| {
            // Each case works on a user of its own, so every case starts from an empty state.
            let a = user(&format!(
                "mailto:model-{}@example.com",
                CASE.fetch_add(1, Ordering::SeqCst)
            ));
            let fb = Table::FreeBusy;
            let mut model = Model::default();
            for op in ops {
                handle.block_on(async {
                    match &op {
                        Op::Replace(u, r, spans) => {
                            let ps: Vec<Period> =
                                spans.iter().map(|(s, l)| mk(*u, *r, *s, *l)).collect();
                            let (id, rd) = (uid(UIDS[*u]), r.map(|r| rid(RIDS[r])));
                            store
                                .replace_event_periods(&a, &fb, &id, rd.as_ref(), ps.clone(), None)
                                .await
                                .unwrap();
                            model.remove(&id, rd.as_ref());
                            ps.into_iter().for_each(|p| model.insert(p));
                        }
                        Op::Remove(u, r) => {
                            let (id, rd) = (uid(UIDS[*u]), r.map(|r| rid(RIDS[r])));
                            store
                                .remove_event_periods(&a, &fb, &id, rd.as_ref(), None)
                                .await
                                .unwrap();
                            model.remove(&id, rd.as_ref());
                        }
                        Op::RemoveAdditional(u, keep) => {
                            let keep: Vec<Rid> = keep.iter().map(|k| rid(RIDS[*k])).collect();
                            let id = uid(UIDS[*u]);
                            store
                                .remove_additional_periods(&a, &fb, &id, &keep, None)
                                .await
                                .unwrap();
                            model.table.retain(|_, p| {
                                !(p.uid == id && p.rid.as_ref().is_some_and(|r| !keep.contains(r)))
                            });
                        }
                        Op::RemoveAffected(u, s) => {
                            let (id, start) = (uid(UIDS[*u]), base() + Duration::hours(*s));
                            store
                                .remove_affected_period(&a, &fb, &id, start, None)
                                .await
                                .unwrap();
                            let victim = model
                                .table
                                .iter()
                                .find(|(_, p)| p.uid == id && p.rid.is_none() && p.start == start)
                                .map(|(k, _)| k.clone());
                            if let Some(k) = victim {
                                model.table.remove(&k);
                            }
                        }
                        Op::Reserve(u, spans) => {
                            let ps: Vec<Period> =
                                spans.iter().map(|(s, l)| mk(*u, None, *s, *l)).collect();
                            let id = uid(UIDS[*u]);
                            let clash = ps.iter().any(|p| model.busy_others_overlap(p));
                            match store.reserve(&a, &fb, ps.clone(), 1, None).await {
                                // Without periods there is no event to reserve: nothing changes.
                                Ok(_) if ps.is_empty() => {}
                                Ok(_) => {
                                    assert!(!clash, "reserve accepted a double booking: {op:?}");
                                    model.remove(&id, None);
                                    ps.into_iter().for_each(|p| model.insert(p));
                                }
                                Err(e) => {
                                    assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
                                    assert!(clash, "reserve refused a free slot: {op:?}");
                                }
                            }
                        }
                        Op::Set(items) => {
                            let ps: Vec<Period> = items
                                .iter()
                                .map(|(u, r, s, l)| mk(*u, *r, *s, *l))
                                .collect();
                            store.set_freebusy(&a, &fb, ps.clone(), None).await.unwrap();
                            model.table.clear();
                            ps.into_iter().for_each(|p| model.insert(p));
                        }
                        Op::Query(s, d) => {
                            let (start, end) = (
                                base() + Duration::hours(*s),
                                base() + Duration::hours(s + d),
                            );
                            let got = store.freebusy_in(&a, &fb, start, end).await.unwrap().value;
                            let want: Vec<Period> = model
                                .table
                                .values()
                                .filter(|p| p.overlaps(start, end))
                                .cloned()
                                .collect();
                            assert_eq!(keys(&got), keys(&want), "range query {op:?}");
                        }
                        Op::Queue(u, r, counter) => {
                            let method = if *counter {
                                QueueKind::Counter
                            } else {
                                QueueKind::Request
                            };
                            let req = Request {
                                uid: uid(UIDS[*u]),
                                rid: r.map(|r| rid(RIDS[r])),
                                method,
                            };
                            let added = store
                                .queue_request(&a, &req.uid, req.rid.as_ref(), method)
                                .await
                                .unwrap();
                            let expect = !model.queue.contains(&req);
                            assert_eq!(added, expect, "{op:?}");
                            if expect {
                                model.queue.push(req);
                            }
                        }
                        Op::Dequeue(u, r) => {
                            let (id, rd) = (uid(UIDS[*u]), r.map(|r| rid(RIDS[r])));
                            let removed =
                                store.dequeue_request(&a, &id, rd.as_ref()).await.unwrap();
                            let before = model.queue.len();
                            model.queue.retain(|q| !(q.uid == id && q.rid == rd));
                            assert_eq!(removed, before != model.queue.len(), "{op:?}");
                        }
                    }
                    let table = store.freebusy(&a, &fb).await.unwrap().value;
                    let want: Vec<Period> = model.table.values().cloned().collect();
                    assert_eq!(keys(&table), keys(&want), "after {op:?}");
                    assert_eq!(
                        store.requests(&a).await.unwrap(),
                        model.queue,
                        "after {op:?}"
                    );
                });
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("model-based test failed: {e}");
        }
    });
}
