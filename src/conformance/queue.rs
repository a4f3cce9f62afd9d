//! The request queue.

use crate::{Journal, QueueKind, Request, Store};

use super::fixture::Fixture;
use super::support::*;

fn req(u: &str, r: Option<&str>, method: QueueKind) -> Request {
    Request {
        uid: uid(u),
        rid: r.map(rid),
        method,
    }
}

pub async fn queue_keeps_order_and_one_entry<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user("mailto:alice@example.com");
    assert!(f.store.requests(&a).await.unwrap().is_empty());
    let r = rid("20260112T090000Z");
    assert!(f
        .store
        .queue_request(&a, &uid("b"), None, QueueKind::Request)
        .await
        .unwrap());
    assert!(f
        .store
        .queue_request(&a, &uid("a"), None, QueueKind::Request)
        .await
        .unwrap());
    assert!(f
        .store
        .queue_request(&a, &uid("a"), Some(&r), QueueKind::Request)
        .await
        .unwrap());
    assert!(
        !f.store
            .queue_request(&a, &uid("b"), None, QueueKind::Request)
            .await
            .unwrap(),
        "already queued"
    );
    assert!(
        f.store
            .queue_request(&a, &uid("b"), None, QueueKind::Counter)
            .await
            .unwrap(),
        "another method is another entry"
    );
    assert_eq!(
        f.store.requests(&a).await.unwrap(),
        vec![
            req("b", None, QueueKind::Request),
            req("a", None, QueueKind::Request),
            req("a", Some("20260112T090000Z"), QueueKind::Request),
            req("b", None, QueueKind::Counter),
        ],
        "queue order is insertion order"
    );
    assert!(f
        .store
        .have_request(&a, &uid("a"), Some(&r), None)
        .await
        .unwrap());
    assert!(!f
        .store
        .have_request(&a, &uid("a"), Some(&r), Some(QueueKind::Counter))
        .await
        .unwrap());
    assert!(f
        .store
        .have_request(&a, &uid("b"), None, Some(QueueKind::Counter))
        .await
        .unwrap());
    assert!(!f
        .store
        .have_request(&a, &uid("c"), None, None)
        .await
        .unwrap());
}

pub async fn dequeue_and_replace<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user("mailto:alice@example.com");
    for (u, m) in [
        ("x", QueueKind::Request),
        ("y", QueueKind::Request),
        ("x", QueueKind::Counter),
    ] {
        f.store.queue_request(&a, &uid(u), None, m).await.unwrap();
    }
    assert!(
        f.store.dequeue_request(&a, &uid("x"), None).await.unwrap(),
        "every method of (uid, rid) goes"
    );
    assert!(!f.store.dequeue_request(&a, &uid("x"), None).await.unwrap());
    assert_eq!(
        f.store.requests(&a).await.unwrap(),
        vec![req("y", None, QueueKind::Request)]
    );
    let tab_uid = "tab\tand\nnewline";
    let new = vec![
        req(tab_uid, Some("20260105"), QueueKind::Counter),
        req("z", None, QueueKind::Request),
        req(tab_uid, Some("20260105"), QueueKind::Counter),
    ];
    f.store.set_requests(&a, &new).await.unwrap();
    assert_eq!(
        f.store.requests(&a).await.unwrap(),
        new[..2].to_vec(),
        "repeats are kept once"
    );
    f.store.set_requests(&a, &[]).await.unwrap();
    assert!(f.store.requests(&a).await.unwrap().is_empty());
}

pub async fn concurrent_queueing_leaves_one_entry<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user("mailto:alice@example.com");
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (store, a) = (f.store.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            let mut added = 0;
            for i in 0..20 {
                // Every worker queues the same 20 requests plus 5 of its own.
                if store
                    .queue_request(&a, &uid(&format!("shared-{i}")), None, QueueKind::Request)
                    .await
                    .unwrap()
                {
                    added += 1;
                }
                if i % 4 == 0 {
                    store
                        .queue_request(
                            &a,
                            &uid(&format!("own-{worker}-{i}")),
                            None,
                            QueueKind::Request,
                        )
                        .await
                        .unwrap();
                }
            }
            added
        }));
    }
    let mut added = 0;
    for t in tasks {
        added += t.await.unwrap();
    }
    assert_eq!(
        added, 20,
        "each shared request was reported added exactly once"
    );
    let queue = f.store.requests(&a).await.unwrap();
    assert_eq!(queue.len(), 20 + 4 * 5);
    let mut seen = std::collections::HashSet::new();
    assert!(
        queue.iter().all(|r| seen.insert(r.uid.clone())),
        "no entry appears twice"
    );
}
