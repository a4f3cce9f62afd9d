//! PostgreSQL-specific behaviour of PgStore and PgJournal (the shared contract is tested by the
//! root conformance suite): byte order, overlap edge cases against calstore's own definition,
//! queue order, whole-seconds instants, purging, the overlap index, expiry versions, and
//! whole-table replacements that rewrite only the rows that changed.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use calstore::{
    FbType, Group, Journal, Period, QueueKind, Quota, Request, Rid, Store, Table, Uid, UsageTable,
    User,
};
use calstore_postgres::harness::server_or_skip;
use calstore_postgres::{connect_client, PgJournal, PgOptions, PgStore};
use chrono::{DateTime, Duration, Utc};

fn t(s: &str) -> DateTime<Utc> {
    calstore::period::parse_instant(s).unwrap()
}

fn p(start: DateTime<Utc>, end: DateTime<Utc>, uid: &str, rid: Option<&str>) -> Period {
    Period::new(
        start,
        end,
        Uid::new(uid).unwrap(),
        rid.map(|r| Rid::new(r).unwrap()),
    )
    .unwrap()
}

async fn store(test: &str) -> Option<(PgStore, String)> {
    let server = server_or_skip(test)?;
    let db = server.fresh_database_async().await.unwrap();
    let url = db.url.clone();
    // Private-server databases live as long as the server; nothing to drop.
    std::mem::forget(db);
    Some((PgStore::connect(&PgOptions::new(&url)).await.unwrap(), url))
}

fn alice() -> User {
    User::new("mailto:alice@example.com").unwrap()
}

/// An offer of alice's that expired a minute ago, written directly (no store call writes one).
const EXPIRED_OFFER: &str =
    "INSERT INTO freebusy_offers (store_user, \"start\", \"end\", object_uid, expires) \
     VALUES ('mailto:alice@example.com', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 'old', \
             now() - interval '1 minute')";

#[tokio::test]
async fn tables_come_back_in_rust_byte_order() {
    let Some((s, _)) = store("tables_come_back_in_rust_byte_order").await else {
        return;
    };
    let start = t("20260105T090000Z");
    let end = start + Duration::hours(1);
    let mut given = Vec::new();
    for uid in [
        "b",
        "B",
        "a",
        "é",
        "Z",
        "_x",
        "a b",
        "ä",
        "\u{1F642}",
        "a\tb",
    ] {
        given.push(p(start, end, uid, None));
        given.push(p(start, end, uid, Some("20260105T090000Z")));
        given.push(p(start, end, uid, Some("20260105")));
    }
    s.set_freebusy(&alice(), &Table::FreeBusy, given.clone(), None)
        .await
        .unwrap();
    let read = s.freebusy(&alice(), &Table::FreeBusy).await.unwrap().value;
    given.sort();
    let keys = |v: &[Period]| v.iter().map(|p| p.to_line(false)).collect::<Vec<_>>();
    assert_eq!(keys(&read), keys(&given));
}

#[tokio::test]
async fn range_queries_agree_with_period_overlaps_on_every_edge() {
    let Some((s, _)) = store("range_queries_agree_with_period_overlaps_on_every_edge").await else {
        return;
    };
    let base = t("20260105T000000Z");
    let h = |n: i64| base + Duration::hours(n);
    let mut table = Vec::new();
    for start in 0..6 {
        for len in 0..3 {
            table.push(p(
                h(start),
                h(start + len),
                &format!("e{start}-{len}"),
                None,
            ));
        }
    }
    s.set_freebusy(&alice(), &Table::FreeBusy, table.clone(), None)
        .await
        .unwrap();
    table.sort();
    // Every query range, including zero-length and reversed ones.
    for qs in -1..8 {
        for qe in -1..8 {
            let (a, b) = (h(qs), h(qe));
            let got = s
                .freebusy_in(&alice(), &Table::FreeBusy, a, b)
                .await
                .unwrap()
                .value;
            let want: Vec<Period> = if b < a {
                Vec::new()
            } else {
                table.iter().filter(|p| p.overlaps(a, b)).cloned().collect()
            };
            assert_eq!(got, want, "query [{qs}h, {qe}h)");
        }
    }
}

#[tokio::test]
async fn the_queue_keeps_a_long_order_and_repeats_once() {
    let Some((s, _)) = store("the_queue_keeps_a_long_order_and_repeats_once").await else {
        return;
    };
    let mut wanted: Vec<Request> = (0..40)
        .map(|i| Request {
            uid: Uid::new(format!("u{}", (i * 17) % 40)).unwrap(),
            rid: (i % 3 == 0).then(|| Rid::new("20260105T090000Z").unwrap()),
            method: if i % 5 == 0 {
                QueueKind::Counter
            } else {
                QueueKind::Request
            },
        })
        .collect();
    let mut given = wanted.clone();
    given.insert(10, wanted[3].clone());
    given.push(wanted[0].clone());
    s.set_requests(&alice(), &given).await.unwrap();
    assert_eq!(s.requests(&alice()).await.unwrap(), wanted);
    let extra = Uid::new("late").unwrap();
    assert!(s
        .queue_request(&alice(), &extra, None, QueueKind::Request)
        .await
        .unwrap());
    wanted.push(Request {
        uid: extra,
        rid: None,
        method: QueueKind::Request,
    });
    assert_eq!(s.requests(&alice()).await.unwrap(), wanted);
    assert!(s
        .have_request(&alice(), &wanted[0].uid, wanted[0].rid.as_ref(), None)
        .await
        .unwrap());
}

#[tokio::test]
async fn instants_are_kept_to_the_second_and_offers_purged_on_write() {
    let Some((s, url)) = store("instants_are_kept_to_the_second_and_offers_purged_on_write").await
    else {
        return;
    };
    let start = t("20260105T090000Z") + Duration::milliseconds(750);
    let mut offer = p(start, start + Duration::minutes(30), "o", None);
    offer.expiry = Some(Utc::now() + Duration::hours(1));
    let v = s
        .set_freebusy(&alice(), &Table::Offers, vec![offer], None)
        .await
        .unwrap();
    let read = s.freebusy(&alice(), &Table::Offers).await.unwrap();
    assert_eq!(read.version, v);
    assert_eq!(read.value[0].start, t("20260105T090000Z"));
    assert_eq!(read.value[0].end, t("20260105T093000Z"));
    assert_eq!(read.value[0].expiry.unwrap().timestamp_subsec_nanos(), 0);

    // An expired offer written directly is invisible at once and gone after the next write.
    let raw = connect_client(&url).await.unwrap();
    raw.batch_execute(EXPIRED_OFFER).await.unwrap();
    assert_eq!(
        s.freebusy(&alice(), &Table::Offers)
            .await
            .unwrap()
            .value
            .len(),
        1
    );
    let count = || async {
        raw.query_one("SELECT count(*) FROM freebusy_offers", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(count().await, 2);
    s.remove_event_periods(
        &alice(),
        &Table::Offers,
        &Uid::new("x").unwrap(),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(count().await, 1, "purged by the write");
}

#[tokio::test]
async fn replacing_a_uid_replaces_parent_and_instances_and_conflicts_use_one_query() {
    let Some((s, _)) = store("replacing_a_uid").await else {
        return;
    };
    let fb = Table::FreeBusy;
    let h = |n: i64| t("20260105T000000Z") + Duration::hours(n);
    s.set_freebusy(
        &alice(),
        &fb,
        vec![
            p(h(1), h(2), "w", None),
            p(h(3), h(4), "w", Some("20260105T030000Z")),
            p(h(5), h(6), "keep", None),
        ],
        None,
    )
    .await
    .unwrap();
    let w = Uid::new("w").unwrap();
    s.replace_uid_periods(
        &alice(),
        &fb,
        &w,
        vec![p(h(7), h(8), "w", Some("20260105T070000Z"))],
    )
    .await
    .unwrap();
    let uids: Vec<String> = s
        .freebusy(&alice(), &fb)
        .await
        .unwrap()
        .value
        .iter()
        .map(|p| format!("{} {:?}", p.uid, p.rid))
        .collect();
    assert_eq!(uids, ["keep None", "w Some(Rid(\"20260105T070000Z\"))"]);
    assert!(s
        .replace_uid_periods(&alice(), &fb, &w, vec![p(h(9), h(10), "other", None)])
        .await
        .is_err());
    let mut see_through = p(h(5), h(8), "new", None);
    see_through.fbtype = FbType::Free;
    let wanted = [
        p(h(5), h(8), "new", None),
        see_through,
        p(h(0), h(1), "new", None),
    ];
    let found = s.conflicts(&alice(), &fb, &wanted).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
}

#[tokio::test]
async fn range_queries_use_the_overlap_index() {
    let Some((s, url)) = store("range_queries_use_the_overlap_index").await else {
        return;
    };
    let base = t("20260101T000000Z");
    let many: Vec<Period> = (0..3000)
        .map(|i| {
            p(
                base + Duration::hours(i),
                base + Duration::hours(i) + Duration::minutes(30),
                &format!("e{i}"),
                None,
            )
        })
        .collect();
    s.set_freebusy(&alice(), &Table::FreeBusy, many, None)
        .await
        .unwrap();
    let raw = connect_client(&url).await.unwrap();
    raw.batch_execute("ANALYZE freebusy").await.unwrap();
    // An administrator's own overlap query names the indexed hash of the owner, as calstore's
    // do (docs/schema.md); the plans of calstore's own statements are checked in the crate.
    let plan: Vec<String> = raw
        .query(
            "EXPLAIN SELECT * FROM freebusy \
             WHERE hashtext(store_user) = hashtext('mailto:alice@example.com') \
             AND store_user = 'mailto:alice@example.com' \
             AND tstzrange(\"start\", \"end\", '[]') && \
                 tstzrange('2026-02-01 00:00Z', '2026-02-01 05:00Z', '[]')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("freebusy_hash_overlap")),
        "{plan:#?}"
    );
    let found = s
        .freebusy_in(
            &alice(),
            &Table::FreeBusy,
            t("20260201T000000Z"),
            t("20260201T050000Z"),
        )
        .await
        .unwrap();
    assert_eq!(found.value.len(), 5);
}

#[tokio::test]
async fn expiry_bumps_the_versions_of_the_tables_it_changed() {
    let Some((s, _)) = store("expiry_bumps_the_versions").await else {
        return;
    };
    let j = PgJournal::from_pool(s.pool(), false);
    let q = Quota::new("mailto:rooms@example.com").unwrap();
    let (staff, bob) = (
        UsageTable::Journal(Group::new("staff").unwrap()),
        UsageTable::User(User::new("mailto:bob@example.com").unwrap()),
    );
    let h = |n: i64| t("20260105T000000Z") + Duration::hours(n);
    let vs = j
        .set_usage(&q, &staff, vec![p(h(1), h(2), "a", None)], None)
        .await
        .unwrap();
    let vb = j
        .set_usage(&q, &bob, vec![p(h(5), h(6), "b", None)], None)
        .await
        .unwrap();
    assert_eq!(j.expire(&q, h(3)).await.unwrap(), 1);
    assert_ne!(
        j.usage(&q, &staff).await.unwrap().version,
        vs,
        "changed table bumped"
    );
    assert_eq!(
        j.usage(&q, &bob).await.unwrap().version,
        vb,
        "untouched table kept"
    );
    assert_eq!(j.usage_tables(&q).await.unwrap(), vec![bob]);
}

#[tokio::test]
async fn a_writer_stuck_behind_the_owner_lock_gets_locked() {
    let Some((_, url)) = store("a_writer_stuck_behind_the_owner_lock_gets_locked").await else {
        return;
    };
    let options = PgOptions {
        lock_timeout: Some(std::time::Duration::from_millis(200)),
        ..PgOptions::new(&url)
    };
    let s = PgStore::connect(&options).await.unwrap();
    // Another session holds alice's write lock (namespace "cs", as docs/schema.md says).
    let holder = connect_client(&url).await.unwrap();
    holder
        .execute(
            "SELECT pg_advisory_lock(x'6373'::int, hashtext('mailto:alice@example.com'))",
            &[],
        )
        .await
        .unwrap();
    let e = s
        .set_freebusy(&alice(), &Table::FreeBusy, vec![], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), calstore::ErrorKind::Locked, "{e}");
    // Other users are not held up; reads never wait.
    let bob = User::new("mailto:bob@example.com").unwrap();
    s.set_freebusy(&bob, &Table::FreeBusy, vec![], None)
        .await
        .unwrap();
    assert!(s
        .freebusy(&alice(), &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
    holder
        .execute("SELECT pg_advisory_unlock_all()", &[])
        .await
        .unwrap();
    s.set_freebusy(&alice(), &Table::FreeBusy, vec![], None)
        .await
        .unwrap();
}

/// Every row of a period table with its physical identity (`ctid`, `xmin`), keyed by period
/// identity, for telling kept rows from rewritten ones.
async fn physical(raw: &tokio_postgres::Client, table: &str) -> Vec<(String, String, String)> {
    raw.query(
        &format!(
            "SELECT object_uid || ' ' || object_recurrenceid || ' ' || \"start\"::text, \
             ctid::text, xmin::text FROM {table} ORDER BY 1"
        ),
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

/// Every field of every period, for comparisons (`Period`'s `==` compares identities only).
fn details(periods: &[Period]) -> Vec<String> {
    periods.iter().map(|p| format!("{p:?}")).collect()
}

#[tokio::test]
async fn setting_the_same_periods_again_rewrites_no_row_but_bumps_the_version() {
    let Some((s, url)) = store("setting_the_same_periods_again").await else {
        return;
    };
    let raw = connect_client(&url).await.unwrap();
    let fb = Table::FreeBusy;
    let h = |n: i64| t("20260105T000000Z") + Duration::hours(n);
    let mut a = p(h(1), h(2), "a", None);
    a.summary = Some("Planning".into());
    a.organiser = Some("mailto:bob@example.com".into());
    let mut b = p(h(3), h(4), "b", Some("20260105T030000Z"));
    b.fbtype = FbType::Free;
    let given = vec![b, a, p(h(0), h(5), "c", None)];
    let v1 = s
        .set_freebusy(&alice(), &fb, given.clone(), None)
        .await
        .unwrap();
    let rows = physical(&raw, "freebusy").await;
    assert_eq!(rows.len(), 3);
    // The same periods in another order, one of them twice: nothing to write.
    let mut again = given.clone();
    again.reverse();
    again.push(given[0].clone());
    let v2 = s
        .set_freebusy(&alice(), &fb, again, Some(v1))
        .await
        .unwrap();
    assert_ne!(v2, v1, "the version changes on every replacement");
    assert_eq!(physical(&raw, "freebusy").await, rows, "no row rewritten");
    let read = s.freebusy(&alice(), &fb).await.unwrap();
    assert_eq!(read.version, v2);
    let mut sorted = given.clone();
    sorted.sort();
    assert_eq!(details(&read.value), details(&sorted));
    // A stale version still conflicts and writes nothing.
    let e = s
        .set_freebusy(&alice(), &fb, vec![p(h(9), h(10), "d", None)], Some(v1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), calstore::ErrorKind::Stale, "{e}");
    assert_eq!(physical(&raw, "freebusy").await, rows);
    assert_eq!(s.freebusy(&alice(), &fb).await.unwrap().version, v2);
    // Dropping a period deletes its row and leaves the others alone.
    s.set_freebusy(&alice(), &fb, given[1..].to_vec(), Some(v2))
        .await
        .unwrap();
    let left = physical(&raw, "freebusy").await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|r| rows.contains(r)), "{left:?}");
    assert!(left.iter().all(|r| !r.0.starts_with("b ")), "{left:?}");
}

#[tokio::test]
async fn a_replacement_applies_changed_details_removals_and_additions() {
    let Some((s, url)) = store("a_replacement_applies_changed_details").await else {
        return;
    };
    let raw = connect_client(&url).await.unwrap();
    let h = |n: i64| t("20260105T000000Z") + Duration::hours(n);
    let soon = t("20300101T000000Z");
    for (fb, name) in [
        (Table::FreeBusy, "freebusy"),
        (Table::Offers, "freebusy_offers"),
    ] {
        let mut before: Vec<Period> = (0..6).map(|i| p(h(i), h(i + 1), "e", None)).collect();
        for q in &mut before {
            q.summary = Some("old".into());
            q.expiry = Some(soon);
        }
        s.set_freebusy(&alice(), &fb, before.clone(), None)
            .await
            .unwrap();
        let rows = physical(&raw, name).await;
        let mut after = before.clone();
        after[1].summary = Some("new".into());
        after[2].fbtype = FbType::Free;
        after[3].expiry = Some(soon + Duration::days(1));
        after[4].summary = None;
        after.remove(5); // removed
        after.push(p(h(7), h(8), "f", Some("20260105T070000Z"))); // added
        after.push(p(h(0), h(1), "e", Some("20260105T000000Z"))); // added, beside a kept one
        s.set_freebusy(&alice(), &fb, after.clone(), None)
            .await
            .unwrap();
        after.sort();
        let read = s.freebusy(&alice(), &fb).await.unwrap().value;
        assert_eq!(details(&read), details(&after), "{name}");
        // Only the unchanged period kept its row.
        let now = physical(&raw, name).await;
        let kept: Vec<_> = now.iter().filter(|r| rows.contains(r)).collect();
        assert_eq!(kept.len(), 1, "{name}: {now:?}");
        assert!(kept[0].0.starts_with("e  2026-01-05 00:00:00"), "{kept:?}");
        // And an empty replacement clears the table.
        s.set_freebusy(&alice(), &fb, vec![], None).await.unwrap();
        assert!(s.freebusy(&alice(), &fb).await.unwrap().value.is_empty());
    }
}

#[tokio::test]
async fn replacing_offers_still_purges_the_expired_ones() {
    let Some((s, url)) = store("replacing_offers_still_purges_the_expired_ones").await else {
        return;
    };
    let raw = connect_client(&url).await.unwrap();
    let mut offer = p(t("20260105T090000Z"), t("20260105T100000Z"), "o", None);
    offer.expiry = Some(Utc::now() + Duration::hours(1));
    s.set_freebusy(&alice(), &Table::Offers, vec![offer.clone()], None)
        .await
        .unwrap();
    let rows = physical(&raw, "freebusy_offers").await;
    raw.batch_execute(EXPIRED_OFFER).await.unwrap();
    s.set_freebusy(&alice(), &Table::Offers, vec![offer], None)
        .await
        .unwrap();
    assert_eq!(physical(&raw, "freebusy_offers").await, rows);
}

#[tokio::test]
async fn set_usage_rewrites_only_what_changed_attendees_included() {
    let Some((s, url)) = store("set_usage_rewrites_only_what_changed").await else {
        return;
    };
    let raw = connect_client(&url).await.unwrap();
    let j = PgJournal::from_pool(s.pool(), false);
    let q = Quota::new("mailto:rooms@example.com").unwrap();
    let h = |n: i64| t("20260105T000000Z") + Duration::hours(n);
    for (table, name) in [
        (
            UsageTable::Journal(Group::new("staff").unwrap()),
            "quota_freebusy",
        ),
        (UsageTable::User(alice()), "user_freebusy"),
    ] {
        let mut before: Vec<Period> = (0..4).map(|i| p(h(i), h(i + 1), "r", None)).collect();
        for q in &mut before {
            q.attendee = Some("mailto:alice@example.com".into());
        }
        before[3].attendee = None;
        let v1 = j.set_usage(&q, &table, before.clone(), None).await.unwrap();
        let rows = physical(&raw, name).await;
        let v2 = j
            .set_usage(&q, &table, before.clone(), Some(v1))
            .await
            .unwrap();
        assert_ne!(v2, v1, "{name}");
        assert_eq!(physical(&raw, name).await, rows, "{name}: no row rewritten");
        let mut after = before.clone();
        after[1].attendee = Some("mailto:bob@example.com".into());
        after[2].attendee = None;
        after[3].attendee = Some("mailto:carol@example.com".into());
        after.remove(0);
        after.push(p(h(6), h(7), "s", None));
        j.set_usage(&q, &table, after.clone(), Some(v2))
            .await
            .unwrap();
        let read = j.usage(&q, &table).await.unwrap().value;
        after.sort();
        assert_eq!(details(&read), details(&after), "{name}");
        let now = physical(&raw, name).await;
        assert!(now.iter().all(|r| !rows.contains(r)), "{name}: {now:?}");
    }
}
