//! Objects, recurrences, cancellations, users and counter-proposals.

use crate::{ErrorKind, EventStatus, Journal, Store};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";

pub async fn put_get_keeps_exact_text<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user(ALICE), uid("event-1"));
    assert_eq!(f.store.get_event(&a, &u, None).await.unwrap(), None);
    // Unusual but valid bytes: LF endings, trailing spaces, a non-ASCII summary.
    let text = event_text(
        "event-1",
        None,
        "20260105T090000Z",
        "20260105T100000Z",
        "Møte  ",
    )
    .replace("\r\n", "\n");
    f.store.put_event(&a, &u, None, &text).await.unwrap();
    let got = f
        .store
        .get_event(&a, &u, None)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(got.text, text, "text is kept byte for byte");
    assert_eq!(got.status, EventStatus::Active);
    let newer = event_text(
        "event-1",
        None,
        "20260105T110000Z",
        "20260105T120000Z",
        "moved",
    );
    f.store.put_event(&a, &u, None, &newer).await.unwrap();
    assert_eq!(
        f.store.get_event(&a, &u, None).await.unwrap().unwrap().text,
        newer
    );
    let list = f.store.list_events(&a).await.unwrap();
    assert_eq!(list.active, vec![u]);
    assert!(
        list.cancelled.is_empty()
            && list.active_instances.is_empty()
            && list.cancelled_instances.is_empty()
    );
}

pub async fn put_refuses_bad_text_and_mismatched_keys<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user(ALICE), uid("event-1"));
    let good = event_text("event-1", None, "20260105T090000Z", "20260105T100000Z", "x");
    for bad in [
        "not iCalendar at all".to_owned(),
        good.replace("END:VEVENT\r\n", ""),
        event_text(
            "other-uid",
            None,
            "20260105T090000Z",
            "20260105T100000Z",
            "x",
        ),
        event_text(
            "event-1",
            Some("20260105T090000Z"),
            "20260105T090000Z",
            "20260105T100000Z",
            "x",
        ),
    ] {
        assert_eq!(
            kind(f.store.put_event(&a, &u, None, &bad).await),
            ErrorKind::InvalidInput,
            "{bad}"
        );
    }
    // An instance stored under the parent's key is refused too.
    assert_eq!(
        kind(
            f.store
                .put_event(&a, &u, Some(&rid("20260105T090000Z")), &good)
                .await
        ),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        f.store.get_event(&a, &u, None).await.unwrap(),
        None,
        "nothing was written"
    );
    assert!(
        f.store.users().await.unwrap().iter().all(|x| x != &a)
            || f.store.list_events(&a).await.unwrap().active.is_empty()
    );
}

pub async fn instances_and_listing<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user(ALICE), uid("weekly"));
    let (r1, r2) = (rid("20260112T090000Z"), rid("20260119T090000Z"));
    f.store
        .put_event(
            &a,
            &u,
            None,
            &event_text("weekly", None, "20260105T090000Z", "20260105T100000Z", "p"),
        )
        .await
        .unwrap();
    for r in [&r2, &r1] {
        let text = event_text(
            "weekly",
            Some(r.as_str()),
            "20260113T090000Z",
            "20260113T100000Z",
            "moved",
        );
        f.store.put_event(&a, &u, Some(r), &text).await.unwrap();
    }
    f.store.cancel_event(&a, &u, Some(&r2)).await.unwrap();
    assert_eq!(
        f.store.instances(&a, &u).await.unwrap(),
        vec![
            (r1.clone(), EventStatus::Active),
            (r2.clone(), EventStatus::Cancelled)
        ]
    );
    let list = f.store.list_events(&a).await.unwrap();
    assert_eq!(list.active, vec![u.clone()]);
    assert_eq!(list.active_instances, vec![(u.clone(), r1.clone())]);
    assert_eq!(list.cancelled_instances, vec![(u.clone(), r2.clone())]);
    let got = f.store.get_event(&a, &u, Some(&r1)).await.unwrap().unwrap();
    assert!(got.text.contains("RECURRENCE-ID:20260112T090000Z"));
}

pub async fn cancel_and_uncancel_keep_text<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user(ALICE), uid("c1"));
    assert_eq!(
        kind(f.store.cancel_event(&a, &u, None).await),
        ErrorKind::NotFound
    );
    let text = event_text("c1", None, "20260105T090000Z", "20260105T100000Z", "x");
    f.store.put_event(&a, &u, None, &text).await.unwrap();
    assert_eq!(
        kind(f.store.uncancel_event(&a, &u, None).await),
        ErrorKind::NotFound
    );
    f.store.cancel_event(&a, &u, None).await.unwrap();
    let got = f.store.get_event(&a, &u, None).await.unwrap().unwrap();
    assert_eq!(
        (got.text.as_str(), got.status),
        (text.as_str(), EventStatus::Cancelled)
    );
    let list = f.store.list_events(&a).await.unwrap();
    assert!(list.active.is_empty());
    assert_eq!(list.cancelled, vec![u.clone()]);
    assert_eq!(
        kind(f.store.cancel_event(&a, &u, None).await),
        ErrorKind::NotFound,
        "already cancelled"
    );
    f.store.uncancel_event(&a, &u, None).await.unwrap();
    let got = f.store.get_event(&a, &u, None).await.unwrap().unwrap();
    assert_eq!(
        (got.text.as_str(), got.status),
        (text.as_str(), EventStatus::Active)
    );
}

pub async fn remove_parent_removes_instances<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, u, keep) = (user(ALICE), uid("r1"), uid("keep"));
    let r = rid("20260112T090000Z");
    f.store
        .put_event(
            &a,
            &u,
            None,
            &event_text("r1", None, "20260105T090000Z", "20260105T100000Z", "p"),
        )
        .await
        .unwrap();
    f.store
        .put_event(
            &a,
            &u,
            Some(&r),
            &event_text(
                "r1",
                Some(r.as_str()),
                "20260112T090000Z",
                "20260112T100000Z",
                "i",
            ),
        )
        .await
        .unwrap();
    f.store
        .put_event(
            &a,
            &keep,
            None,
            &event_text("keep", None, "20260105T090000Z", "20260105T100000Z", "k"),
        )
        .await
        .unwrap();
    f.store.cancel_event(&a, &u, Some(&r)).await.unwrap();
    assert!(f.store.remove_event(&a, &u, None).await.unwrap());
    assert_eq!(
        f.store.get_event(&a, &u, Some(&r)).await.unwrap(),
        None,
        "instances go with the parent"
    );
    assert!(f.store.instances(&a, &u).await.unwrap().is_empty());
    assert!(
        !f.store.remove_event(&a, &u, None).await.unwrap(),
        "nothing left to remove"
    );
    assert_eq!(f.store.list_events(&a).await.unwrap().active, vec![keep]);
}

pub async fn put_replaces_cancelled_copy<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, u) = (user(ALICE), uid("again"));
    f.store
        .put_event(
            &a,
            &u,
            None,
            &event_text("again", None, "20260105T090000Z", "20260105T100000Z", "1"),
        )
        .await
        .unwrap();
    f.store.cancel_event(&a, &u, None).await.unwrap();
    let second = event_text("again", None, "20260106T090000Z", "20260106T100000Z", "2");
    f.store.put_event(&a, &u, None, &second).await.unwrap();
    let list = f.store.list_events(&a).await.unwrap();
    assert_eq!((list.active, list.cancelled), (vec![u.clone()], vec![]));
    assert_eq!(
        f.store.get_event(&a, &u, None).await.unwrap().unwrap().text,
        second
    );
}

pub async fn users_are_listed<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    assert!(f.store.users().await.unwrap().is_empty());
    let (a, b) = (user(ALICE), user("mailto:bob@example.com"));
    f.store
        .put_event(
            &b,
            &uid("x"),
            None,
            &event_text("x", None, "20260105T090000Z", "20260105T100000Z", "x"),
        )
        .await
        .unwrap();
    f.store
        .queue_request(&a, &uid("y"), None, crate::QueueKind::Request)
        .await
        .unwrap();
    assert_eq!(f.store.users().await.unwrap(), vec![a, b]);
}

pub async fn counters<S: Store + Clone + 'static, J: Journal + Clone + 'static>(f: &Fixture<S, J>) {
    let (a, u) = (user(ALICE), uid("meeting"));
    let (bob, carol) = (
        other("mailto:bob@example.com"),
        other("mailto:carol@example.com"),
    );
    let (r1, r2) = (rid("20260112T090000Z"), rid("20260119T090000Z"));
    let text = |r: Option<&str>, s: &str| {
        event_text("meeting", r, "20260105T100000Z", "20260105T110000Z", s)
    };
    f.store
        .put_counter(&a, &bob, &u, None, &text(None, "bob"))
        .await
        .unwrap();
    f.store
        .put_counter(&a, &carol, &u, None, &text(None, "carol"))
        .await
        .unwrap();
    f.store
        .put_counter(&a, &bob, &u, Some(&r1), &text(Some(r1.as_str()), "bob r1"))
        .await
        .unwrap();
    f.store
        .put_counter(
            &a,
            &carol,
            &u,
            Some(&r2),
            &text(Some(r2.as_str()), "carol r2"),
        )
        .await
        .unwrap();
    f.store
        .put_counter(&a, &bob, &u, None, &text(None, "bob again"))
        .await
        .unwrap();
    assert_eq!(
        f.store.get_counter(&a, &bob, &u, None).await.unwrap(),
        Some(text(None, "bob again"))
    );
    assert_eq!(
        f.store
            .get_counter(&a, &carol, &u, Some(&r1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store.counter_proposers(&a, &u, None).await.unwrap(),
        vec![bob.clone(), carol.clone()]
    );
    assert_eq!(
        f.store.counter_proposers(&a, &u, Some(&r1)).await.unwrap(),
        vec![bob.clone()]
    );
    assert_eq!(
        f.store.counter_rids(&a, &u).await.unwrap(),
        vec![r1.clone(), r2.clone()]
    );
    assert_eq!(
        kind(
            f.store
                .put_counter(
                    &a,
                    &bob,
                    &u,
                    None,
                    &event_text("wrong", None, "20260105T100000Z", "20260105T110000Z", "")
                )
                .await
        ),
        ErrorKind::InvalidInput
    );
    assert!(f.store.remove_counter(&a, &carol, &u, None).await.unwrap());
    assert!(!f.store.remove_counter(&a, &carol, &u, None).await.unwrap());
    // Only carol's, for the parent: her instance proposal goes too, bob's stay.
    assert_eq!(
        f.store
            .remove_counters(&a, &u, None, Some(&carol))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        f.store.counter_rids(&a, &u).await.unwrap(),
        vec![r1.clone()]
    );
    // All of them for the parent: every instance's too.
    assert_eq!(
        f.store.remove_counters(&a, &u, None, None).await.unwrap(),
        2
    );
    assert!(f
        .store
        .counter_proposers(&a, &u, None)
        .await
        .unwrap()
        .is_empty());
    assert!(f.store.counter_rids(&a, &u).await.unwrap().is_empty());
}
