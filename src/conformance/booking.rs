//! Booking: table versions and conflicts, reservations without double booking, capacity, and
//! offers that expire.

use crate::{ErrorKind, FbType, Journal, Store, Table};
use chrono::{Duration, Utc};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";

pub async fn versions_detect_conflicts<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    let v0 = f.store.freebusy(&a, &fb).await.unwrap().version;
    let v1 = f
        .store
        .replace_event_periods(
            &a,
            &fb,
            &uid("a"),
            None,
            vec![period("20260105T090000Z", "20260105T100000Z", "a", None)],
            Some(v0),
        )
        .await
        .unwrap();
    assert_ne!(v1, v0);
    // Another writer changes the table; a write based on v0 must now fail and change nothing.
    let v2 = f
        .store
        .replace_event_periods(
            &a,
            &fb,
            &uid("b"),
            None,
            vec![period("20260106T090000Z", "20260106T100000Z", "b", None)],
            None,
        )
        .await
        .unwrap();
    assert_ne!(v2, v1);
    let stale = f
        .store
        .replace_event_periods(
            &a,
            &fb,
            &uid("c"),
            None,
            vec![period("20260107T090000Z", "20260107T100000Z", "c", None)],
            Some(v1),
        )
        .await;
    assert_eq!(kind(stale), ErrorKind::Stale);
    assert_eq!(
        kind(f.store.set_freebusy(&a, &fb, vec![], Some(v1)).await),
        ErrorKind::Stale
    );
    assert_eq!(
        kind(
            f.store
                .remove_event_periods(&a, &fb, &uid("a"), None, Some(v0))
                .await
        ),
        ErrorKind::Stale
    );
    let now = f.store.freebusy(&a, &fb).await.unwrap();
    assert_eq!(now.version, v2);
    assert_eq!(
        keys(&now.value),
        [
            "20260105T090000Z/20260105T100000Z a",
            "20260106T090000Z/20260106T100000Z b"
        ]
    );
    let v3 = f
        .store
        .remove_event_periods(&a, &fb, &uid("a"), None, Some(v2))
        .await
        .unwrap();
    assert_eq!(f.store.freebusy(&a, &fb).await.unwrap().version, v3);
    // Versions are per table: writing another table does not disturb this one.
    f.store
        .set_freebusy(
            &a,
            &Table::Other(other("mailto:bob@example.com")),
            vec![period("20260105T090000Z", "20260105T100000Z", "o", None)],
            None,
        )
        .await
        .unwrap();
    f.store
        .set_freebusy(&a, &fb, vec![], Some(v3))
        .await
        .unwrap();
}

pub async fn reserve_refuses_double_booking<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (room, fb) = (user("mailto:room@example.com"), Table::FreeBusy);
    f.store
        .reserve(
            &room,
            &fb,
            vec![period(
                "20260105T090000Z",
                "20260105T100000Z",
                "first",
                None,
            )],
            1,
            None,
        )
        .await
        .unwrap();
    let clash = f
        .store
        .reserve(
            &room,
            &fb,
            vec![period(
                "20260105T093000Z",
                "20260105T103000Z",
                "second",
                None,
            )],
            1,
            None,
        )
        .await;
    assert_eq!(kind(clash), ErrorKind::Busy);
    // Touching is fine; moving the same event over itself is fine; transparent periods never block.
    f.store
        .reserve(
            &room,
            &fb,
            vec![period(
                "20260105T100000Z",
                "20260105T110000Z",
                "third",
                None,
            )],
            1,
            None,
        )
        .await
        .unwrap();
    f.store
        .reserve(
            &room,
            &fb,
            vec![period(
                "20260105T091500Z",
                "20260105T094500Z",
                "first",
                None,
            )],
            1,
            None,
        )
        .await
        .unwrap();
    let mut see_through = period("20260105T090000Z", "20260105T110000Z", "fourth", None);
    see_through.fbtype = FbType::Free;
    f.store
        .reserve(&room, &fb, vec![see_through], 1, None)
        .await
        .unwrap();
    f.store
        .reserve(
            &room,
            &fb,
            vec![period(
                "20260105T090000Z",
                "20260105T091500Z",
                "fifth",
                None,
            )],
            1,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        keys(&f.store.freebusy(&room, &fb).await.unwrap().value),
        [
            "20260105T090000Z/20260105T091500Z fifth",
            "20260105T090000Z/20260105T110000Z fourth",
            "20260105T091500Z/20260105T094500Z first",
            "20260105T100000Z/20260105T110000Z third",
        ]
    );
    let mixed = vec![
        period("20260106T090000Z", "20260106T100000Z", "x", None),
        period("20260106T090000Z", "20260106T100000Z", "y", None),
    ];
    assert_eq!(
        kind(f.store.reserve(&room, &fb, mixed, 1, None).await),
        ErrorKind::InvalidInput,
        "one event at a time"
    );
}

pub async fn reserve_with_capacity<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (desks, fb) = (user("mailto:desks@example.com"), Table::FreeBusy);
    for name in ["one", "two", "three"] {
        f.store
            .reserve(
                &desks,
                &fb,
                vec![period("20260105T090000Z", "20260105T170000Z", name, None)],
                3,
                None,
            )
            .await
            .unwrap();
    }
    let full = f
        .store
        .reserve(
            &desks,
            &fb,
            vec![period("20260105T120000Z", "20260105T130000Z", "four", None)],
            3,
            None,
        )
        .await;
    assert_eq!(kind(full), ErrorKind::Busy);
    f.store
        .reserve(
            &desks,
            &fb,
            vec![period("20260105T170000Z", "20260105T180000Z", "four", None)],
            3,
            None,
        )
        .await
        .unwrap();
    assert_eq!(f.store.freebusy(&desks, &fb).await.unwrap().value.len(), 4);
}

pub async fn offers_expire<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let mut expired = period("20260105T090000Z", "20260105T100000Z", "old-offer", None);
    expired.expiry = Some(whole_seconds(Utc::now() - Duration::seconds(5)));
    let mut live = period("20260106T090000Z", "20260106T100000Z", "new-offer", None);
    live.expiry = Some(whole_seconds(Utc::now() + Duration::hours(1)));
    f.store
        .set_freebusy(
            &a,
            &Table::Offers,
            vec![expired.clone(), live.clone()],
            None,
        )
        .await
        .unwrap();
    let read = f.store.freebusy(&a, &Table::Offers).await.unwrap().value;
    assert_eq!(keys(&read), ["20260106T090000Z/20260106T100000Z new-offer"]);
    assert!(read[0].same_details(&live));
    let ranged = f
        .store
        .freebusy_in(
            &a,
            &Table::Offers,
            t("20260101T000000Z"),
            t("20260201T000000Z"),
        )
        .await
        .unwrap();
    assert_eq!(
        keys(&ranged.value),
        ["20260106T090000Z/20260106T100000Z new-offer"]
    );
    // A later write keeps the live offer and never brings the expired one back.
    f.store
        .replace_event_periods(
            &a,
            &Table::Offers,
            &uid("x"),
            None,
            vec![period("20260107T090000Z", "20260107T100000Z", "x", None)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .freebusy(&a, &Table::Offers)
            .await
            .unwrap()
            .value
            .len(),
        2
    );
}

/// Instants are stored to the second (the file format has no fractions).
fn whole_seconds(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(t.timestamp(), 0).expect("valid instant")
}

pub async fn conflicts_and_can_schedule<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, fb) = (user(ALICE), Table::FreeBusy);
    let mut free = period("20260105T120000Z", "20260105T130000Z", "lunch", None);
    free.fbtype = FbType::Free;
    f.store
        .set_freebusy(
            &a,
            &fb,
            vec![
                period("20260105T090000Z", "20260105T100000Z", "busy", None),
                free,
            ],
            None,
        )
        .await
        .unwrap();
    let wanted = period("20260105T093000Z", "20260105T123000Z", "new", None);
    assert_eq!(
        keys(
            &f.store
                .conflicts(&a, &fb, std::slice::from_ref(&wanted))
                .await
                .unwrap()
        ),
        ["20260105T090000Z/20260105T100000Z busy"]
    );
    assert!(!f
        .store
        .can_schedule(&a, &fb, std::slice::from_ref(&wanted))
        .await
        .unwrap());
    assert!(
        f.store
            .can_schedule(
                &a,
                &fb,
                &[period("20260105T093000Z", "20260105T123000Z", "busy", None)]
            )
            .await
            .unwrap(),
        "own periods never conflict"
    );
    assert!(f
        .store
        .can_schedule(
            &a,
            &fb,
            &[period("20260105T100000Z", "20260105T120000Z", "new", None)]
        )
        .await
        .unwrap());
}

pub async fn concurrent_reservations_never_double_book<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (room, fb) = (user("mailto:room@example.com"), Table::FreeBusy);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (store, room, fb) = (f.store.clone(), room.clone(), fb.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut refused) = (0, 0);
            for slot in 0..10 {
                // All four workers want the same ten hours.
                let start = t("20260105T080000Z") + Duration::hours(slot);
                let u = format!("w{worker}-s{slot}");
                let p =
                    crate::Period::new(start, start + Duration::hours(1), uid(&u), None).unwrap();
                match store.reserve(&room, &fb, vec![p], 1, None).await {
                    Ok(_) => ok += 1,
                    Err(e) if e.kind() == ErrorKind::Busy => refused += 1,
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (ok, refused)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (o, r) = t.await.unwrap();
        ok += o;
        refused += r;
    }
    assert_eq!(
        (ok, refused),
        (10, 30),
        "each slot booked once, every other attempt refused as a conflict"
    );
    let table = f.store.freebusy(&room, &fb).await.unwrap().value;
    assert_eq!(table.len(), 10);
    assert!(
        table.windows(2).all(|w| w[0].end <= w[1].start),
        "no overlap in the room's table"
    );
}
