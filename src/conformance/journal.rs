//! The quota journal.

use std::collections::BTreeMap;

use crate::{ErrorKind, Group, Journal, Providers, Quota, Store, UsageTable};
use chrono::Duration;

use super::fixture::Fixture;
use super::support::*;

fn quota(s: &str) -> Quota {
    Quota::new(s).unwrap()
}

fn group(s: &str) -> Group {
    Group::new(s).unwrap()
}

fn booked(start: &str, end: &str, u: &str, attendee: &str) -> crate::Period {
    let mut p = period(start, end, u, None);
    p.attendee = Some(attendee.to_owned());
    p
}

pub async fn limits_groups_delegates<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    assert!(f.journal.quotas().await.unwrap().is_empty());
    let empty = f.journal.limits(&q).await.unwrap();
    assert!(empty.value.is_empty());
    let limits: BTreeMap<Group, String> = [
        (group("*"), "PT10H".to_owned()),
        (group("staff"), "P1D".to_owned()),
    ]
    .into();
    let v = f
        .journal
        .set_limits(&q, &limits, Some(empty.version))
        .await
        .unwrap();
    let read = f.journal.limits(&q).await.unwrap();
    assert_eq!((read.value, read.version), (limits.clone(), v));
    assert_eq!(
        kind(f.journal.set_limits(&q, &limits, Some(empty.version)).await),
        ErrorKind::Stale
    );
    let bad: BTreeMap<Group, String> = [(group("*"), "ten hours".to_owned())].into();
    assert_eq!(
        kind(f.journal.set_limits(&q, &bad, None).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        f.journal.limits(&q).await.unwrap().value,
        limits,
        "a refused write changes nothing"
    );
    let groups: BTreeMap<crate::User, Group> = [
        (user("mailto:alice@example.com"), group("staff")),
        (user("mailto:bob@example.com"), group("guests")),
    ]
    .into();
    f.journal.set_groups(&q, &groups).await.unwrap();
    assert_eq!(f.journal.groups(&q).await.unwrap(), groups);
    let delegates = vec![
        user("mailto:alice@example.com"),
        user("mailto:bob@example.com"),
    ];
    f.journal
        .set_delegates(&q, &[delegates[1].clone(), delegates[0].clone()])
        .await
        .unwrap();
    assert_eq!(f.journal.delegates(&q).await.unwrap(), delegates);
    assert_eq!(f.journal.quotas().await.unwrap(), vec![q]);
}

pub async fn usage_tables<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:cars@example.com");
    let alice = UsageTable::User(user("mailto:alice@example.com"));
    let staff = UsageTable::Journal(group("staff"));
    let p1 = booked(
        "20260105T090000Z",
        "20260105T100000Z",
        "trip",
        "mailto:car1@example.com",
    );
    let v = f
        .journal
        .set_usage(&q, &alice, vec![p1.clone()], None)
        .await
        .unwrap();
    let read = f.journal.usage(&q, &alice).await.unwrap();
    assert_eq!(read.version, v);
    assert!(
        read.value[0].same_details(&p1),
        "the attendee column round-trips"
    );
    let p2 = booked(
        "20260106T090000Z",
        "20260106T110000Z",
        "trip",
        "mailto:car2@example.com",
    );
    f.journal
        .replace_usage_periods(
            &q,
            &staff,
            &uid("trip"),
            None,
            vec![p1.clone(), p2.clone()],
            None,
        )
        .await
        .unwrap();
    f.journal
        .replace_usage_periods(&q, &staff, &uid("trip"), None, vec![p2.clone()], None)
        .await
        .unwrap();
    assert_eq!(
        keys(&f.journal.usage(&q, &staff).await.unwrap().value),
        ["20260106T090000Z/20260106T110000Z trip"]
    );
    let ranged = f
        .journal
        .usage_in(&q, &staff, t("20260106T100000Z"), t("20260106T120000Z"))
        .await
        .unwrap();
    assert_eq!(ranged.value.len(), 1);
    assert_eq!(
        f.journal.usage_tables(&q).await.unwrap(),
        vec![alice.clone(), staff.clone()]
    );
    f.journal
        .set_usage(&q, &alice, vec![], Some(v))
        .await
        .expect("alice's table is unchanged since v");
    assert_eq!(f.journal.usage_tables(&q).await.unwrap(), vec![staff]);
}

pub async fn reserve_within_limit<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    let limits: BTreeMap<Group, String> = [
        (group("*"), "PT3H".to_owned()),
        (group("vip"), "PT5H".to_owned()),
    ]
    .into();
    f.journal.set_limits(&q, &limits, None).await.unwrap();
    let staff = group("staff");
    f.journal
        .reserve_within_limit(
            &q,
            &staff,
            vec![booked("20260105T090000Z", "20260105T110000Z", "a", "r")],
        )
        .await
        .unwrap();
    let over = f
        .journal
        .reserve_within_limit(
            &q,
            &staff,
            vec![booked("20260106T090000Z", "20260106T110000Z", "b", "r")],
        )
        .await;
    assert_eq!(
        kind(over),
        ErrorKind::Busy,
        "2h + 2h exceeds the default 3h"
    );
    f.journal
        .reserve_within_limit(
            &q,
            &staff,
            vec![booked("20260106T090000Z", "20260106T100000Z", "b", "r")],
        )
        .await
        .unwrap();
    // Replacing an event's own periods counts only the new ones.
    f.journal
        .reserve_within_limit(
            &q,
            &staff,
            vec![booked("20260107T090000Z", "20260107T100000Z", "b", "r")],
        )
        .await
        .unwrap();
    assert_eq!(
        keys(
            &f.journal
                .usage(&q, &UsageTable::Journal(staff.clone()))
                .await
                .unwrap()
                .value
        ),
        [
            "20260105T090000Z/20260105T110000Z a",
            "20260107T090000Z/20260107T100000Z b"
        ]
    );
    let vip = group("vip");
    f.journal
        .reserve_within_limit(
            &q,
            &vip,
            vec![booked("20260105T090000Z", "20260105T140000Z", "v", "r")],
        )
        .await
        .unwrap();
    let unlimited = quota("mailto:no-limits@example.com");
    f.journal
        .reserve_within_limit(
            &unlimited,
            &staff,
            vec![booked("20260105T000000Z", "20260115T000000Z", "long", "r")],
        )
        .await
        .unwrap();
}

pub async fn concurrent_quota_reservations<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    f.journal
        .set_limits(&q, &[(group("*"), "PT10H".to_owned())].into(), None)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (journal, q) = (f.journal.clone(), q.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..6 {
                let start = t("20260105T000000Z") + Duration::hours(i64::from(worker * 6 + i));
                let mut p = crate::Period::new(
                    start,
                    start + Duration::hours(1),
                    uid(&format!("w{worker}-{i}")),
                    None,
                )
                .unwrap();
                p.attendee = Some("mailto:room@example.com".into());
                match journal
                    .reserve_within_limit(&q, &group("team"), vec![p])
                    .await
                {
                    Ok(_) => ok += 1,
                    Err(e) => assert_eq!(e.kind(), ErrorKind::Busy, "{e}"),
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    assert_eq!(ok, 10, "exactly the limit's worth of hours was granted");
    assert_eq!(
        f.journal
            .usage(&q, &UsageTable::Journal(group("team")))
            .await
            .unwrap()
            .value
            .len(),
        10
    );
}

pub async fn expire_usage<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    let alice = UsageTable::User(user("mailto:alice@example.com"));
    let staff = UsageTable::Journal(group("staff"));
    let old = booked("20260105T090000Z", "20260105T100000Z", "old", "r");
    let edge = booked("20260105T100000Z", "20260105T120000Z", "edge", "r");
    let new = booked("20260107T090000Z", "20260107T100000Z", "new", "r");
    f.journal
        .set_usage(
            &q,
            &alice,
            vec![old.clone(), edge.clone(), new.clone()],
            None,
        )
        .await
        .unwrap();
    f.journal
        .set_usage(&q, &staff, vec![old, new], None)
        .await
        .unwrap();
    assert_eq!(
        f.journal.expire(&q, t("20260105T120000Z")).await.unwrap(),
        3
    );
    assert_eq!(
        keys(&f.journal.usage(&q, &alice).await.unwrap().value),
        ["20260107T090000Z/20260107T100000Z new"]
    );
    assert_eq!(
        keys(&f.journal.usage(&q, &staff).await.unwrap().value),
        ["20260107T090000Z/20260107T100000Z new"]
    );
    assert_eq!(
        f.journal.expire(&q, t("20260105T120000Z")).await.unwrap(),
        0
    );
}

pub async fn journal_providers_and_events<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    let p = Providers {
        window_end: Some(t("20260415T000000Z")),
        events: vec![(uid("standup"), None)],
    };
    f.journal.set_providers(&q, &p, None).await.unwrap();
    assert_eq!(f.journal.providers(&q).await.unwrap().value, p);
    let text = event_text(
        "standup",
        None,
        "20260105T090000Z",
        "20260105T091500Z",
        "standup",
    );
    f.journal
        .put_event(&q, &uid("standup"), None, &text)
        .await
        .unwrap();
    assert_eq!(
        f.journal
            .get_event(&q, &uid("standup"), None)
            .await
            .unwrap()
            .unwrap()
            .text,
        text
    );
    assert_eq!(
        f.journal.list_events(&q).await.unwrap().active,
        vec![uid("standup")]
    );
    assert_eq!(
        kind(f.journal.put_event(&q, &uid("other"), None, &text).await),
        ErrorKind::InvalidInput
    );
    assert!(f
        .journal
        .remove_event(&q, &uid("standup"), None)
        .await
        .unwrap());
    assert!(f.journal.list_events(&q).await.unwrap().active.is_empty());
}

/// `Journal::load_events` (the quotas' regeneration reads reservations with it, a chunk at a
/// time) gives exactly what one read per object gives: one family per uid asked, in that order,
/// with its instances in recurrence-id order, and an empty family for a uid with nothing stored.
pub async fn journal_load_events_matches_single_reads<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let q = quota("mailto:rooms@example.com");
    let j = &f.journal;
    let (one, two) = (uid("one"), uid("two"));
    let at = |d: &str| format!("202601{d}T090000Z");
    let end = |d: &str| format!("202601{d}T100000Z");
    j.put_event(
        &q,
        &one,
        None,
        &event_text("one", None, &at("05"), &end("05"), "p"),
    )
    .await
    .unwrap();
    for d in ["26", "12", "19"] {
        let text = event_text("one", Some(&at(d)), &at(d), &end(d), "moved");
        j.put_event(&q, &one, Some(&rid(&at(d))), &text)
            .await
            .unwrap();
    }
    let r2 = rid(&at("06"));
    j.put_event(
        &q,
        &two,
        Some(&r2),
        &event_text("two", Some(&at("06")), &at("06"), &end("06"), "i"),
    )
    .await
    .unwrap();

    let asked = [two.clone(), uid("unknown"), one.clone()];
    let got = j.load_events(&q, &asked).await.unwrap();
    let list = j.list_events(&q).await.unwrap();
    let mut want = Vec::new();
    for u in &asked {
        let mut instances = Vec::new();
        for (_, r) in list.active_instances.iter().filter(|(x, _)| x == u) {
            instances.push((
                r.clone(),
                j.get_event(&q, u, Some(r)).await.unwrap().unwrap(),
            ));
        }
        instances.sort_by(|a, b| a.0.cmp(&b.0));
        want.push(crate::EventFamily {
            uid: u.clone(),
            parent: j.get_event(&q, u, None).await.unwrap(),
            instances,
        });
    }
    assert_eq!(got, want, "one family per uid, in the order asked");
    assert_eq!((got[0].parent.is_none(), got[0].instances.len()), (true, 1));
    assert_eq!((got[1].parent.is_none(), got[1].instances.len()), (true, 0));
    let rids: Vec<String> = got[2]
        .instances
        .iter()
        .map(|(r, _)| r.to_string())
        .collect();
    assert_eq!(rids.len(), 3);
    assert!(rids.windows(2).all(|w| w[0] < w[1]), "{rids:?}");
}
