//! PostgreSQL-specific behaviour of the calls that do several things at once (the generic
//! contract is in the root conformance suite): the agent's step is one transaction with one
//! commit and rolls back as a whole; the bulk read and the providers mark agree with the single
//! calls they replace.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use calstore::{
    ErrorKind, EventFamily, Incoming, Period, Providers, QueueKind, Rid, Store, Table, Uid, User,
    Version,
};
use calstore_postgres::harness::server_or_skip;
use calstore_postgres::{connect_client, PgOptions, PgStore};

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

fn uid(u: &str) -> Uid {
    Uid::new(u).unwrap()
}

fn rid(r: &str) -> Rid {
    Rid::new(r).unwrap()
}

/// One VEVENT of `u` (an instance when `r` is given), 09:00–10:00 UTC on 2026-01-`day`.
fn event(u: &str, r: Option<&str>, day: u32) -> String {
    let rid_line = r.map_or(String::new(), |r| format!("RECURRENCE-ID:{r}\r\n"));
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{u}\r\n{rid_line}DTSTAMP:20260101T000000Z\r\nDTSTART:202601{day:02}T090000Z\r\n\
         DTEND:202601{day:02}T100000Z\r\nSUMMARY:{u}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn period(u: &str, r: Option<&str>, day: u32) -> Period {
    let start = calstore::period::parse_instant(&format!("202601{day:02}T090000Z")).unwrap();
    Period::new(
        start,
        start + chrono::Duration::hours(1),
        uid(u),
        r.map(rid),
    )
    .unwrap()
}

fn incoming(u: &str, r: Option<&str>, day: u32) -> Incoming {
    Incoming {
        uid: uid(u),
        rid: r.map(rid),
        text: event(u, r, day),
        periods: vec![period(u, r, day)],
        method: QueueKind::Request,
    }
}

/// The transaction ids that wrote alice's rows of the three tables and the freebusy version.
async fn writers(raw: &tokio_postgres::Client, u: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for sql in [
        "SELECT xmin::text FROM objects WHERE store_user = $1 AND object_uid = $2",
        "SELECT xmin::text FROM freebusy WHERE store_user = $1 AND object_uid = $2",
        "SELECT xmin::text FROM requests WHERE store_user = $1 AND object_uid = $2",
        "SELECT xmin::text FROM store_versions WHERE store_user = $1 AND table_name = 'freebusy' \
         AND $2::text IS NOT NULL",
    ] {
        for row in raw.query(sql, &[&alice().as_str(), &u]).await.unwrap() {
            ids.push(row.get(0));
        }
    }
    ids
}

#[tokio::test]
async fn the_agents_step_is_one_transaction_and_rolls_back_as_a_whole() {
    let Some((s, url)) = store("the_agents_step_is_one_transaction").await else {
        return;
    };
    let raw = connect_client(&url).await.unwrap();
    let a = alice();
    let v = s
        .store_incoming(&a, &incoming("e1", None, 5))
        .await
        .unwrap();
    assert_eq!(s.table_version(&a, &Table::FreeBusy).await.unwrap(), v);
    // Object, period, queue entry and version were all written by one transaction: one commit.
    let ids = writers(&raw, "e1").await;
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");

    // The last statement of the step fails: the object and the periods go with it.
    raw.batch_execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'queue closed'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON requests FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .await
    .unwrap();
    let e = s
        .store_incoming(&a, &incoming("e2", Some("20260106T090000Z"), 6))
        .await
        .unwrap_err();
    assert!(e.message().contains("queue closed"), "{e}");
    assert!(s
        .get_event(&a, &uid("e2"), Some(&rid("20260106T090000Z")))
        .await
        .unwrap()
        .is_none());
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!((table.version, table.value.len()), (v, 1), "{table:?}");
    assert_eq!(s.requests(&a).await.unwrap().len(), 1);
    raw.batch_execute("DROP TRIGGER refuse ON requests")
        .await
        .unwrap();

    // Bad input is refused before any statement: not even the version moves.
    let mut foreign = incoming("e3", None, 7);
    foreign.periods.push(period("e1", None, 8));
    let mut mislabelled = incoming("e3", None, 7);
    mislabelled.text = event("e4", None, 7);
    let mut wrong_instance = incoming("e3", None, 7);
    wrong_instance.rid = Some(rid("20260107T090000Z"));
    for bad in [foreign, mislabelled, wrong_instance] {
        let e = s.store_incoming(&a, &bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    assert_eq!(s.table_version(&a, &Table::FreeBusy).await.unwrap(), v);
    assert!(s.get_event(&a, &uid("e3"), None).await.unwrap().is_none());

    // A read-only store refuses the step, writing nothing.
    let ro = PgStore::from_pool(s.pool(), true);
    let e = ro
        .store_incoming(&a, &incoming("e5", None, 9))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    assert_eq!(ro.table_version(&a, &Table::FreeBusy).await.unwrap(), v);
}

#[tokio::test]
async fn load_events_reads_what_the_single_calls_read() {
    let Some((s, _)) = store("load_events_reads_what_the_single_calls_read").await else {
        return;
    };
    let a = alice();
    // Rids whose byte order differs from other orders (dates, date-times, floating).
    let rids = [
        "20260105",
        "20260105T090000",
        "20260105T090000Z",
        "20251231T235959Z",
    ];
    for r in rids {
        s.put_event(&a, &uid("r"), Some(&rid(r)), &event("r", Some(r), 5))
            .await
            .unwrap();
    }
    s.put_event(&a, &uid("r"), None, &event("r", None, 5))
        .await
        .unwrap();
    s.cancel_event(&a, &uid("r"), Some(&rid("20260105")))
        .await
        .unwrap();
    s.put_event(&a, &uid("B"), None, &event("B", None, 6))
        .await
        .unwrap();
    s.cancel_event(&a, &uid("B"), None).await.unwrap();
    // Another user's event of the same uid stays out.
    let bob = User::new("mailto:bob@example.com").unwrap();
    s.put_event(
        &bob,
        &uid("B"),
        Some(&rid("20260106")),
        &event("B", Some("20260106"), 6),
    )
    .await
    .unwrap();

    let asked = [uid("r"), uid("none"), uid("B"), uid("r")];
    let got = s.load_events(&a, &asked).await.unwrap();
    let mut want = Vec::new();
    for u in &asked {
        let mut instances = Vec::new();
        for (r, _) in s.instances(&a, u).await.unwrap() {
            let stored = s.get_event(&a, u, Some(&r)).await.unwrap().unwrap();
            instances.push((r, stored));
        }
        want.push(EventFamily {
            uid: u.clone(),
            parent: s.get_event(&a, u, None).await.unwrap(),
            instances,
        });
    }
    assert_eq!(got, want);
    assert_eq!(got[0].instances.len(), 4);
    assert_eq!(got[0], got[3], "a repeated uid is read again");
    assert!(got[2].instances.is_empty(), "bob's instance is not alice's");
}

#[tokio::test]
async fn mark_provider_matches_the_read_modify_write_it_replaces() {
    let Some((s, _)) = store("mark_provider_matches_the_read_modify_write").await else {
        return;
    };
    let a = alice();
    let window_end = Some(calstore::period::parse_instant("20260415T000000Z").unwrap());
    let given = Providers {
        window_end,
        events: vec![(uid("b"), Some(rid("20260105T090000Z"))), (uid("c"), None)],
    };
    let v0 = s.set_providers(&a, &given, None).await.unwrap();
    // Present: the parent's entry replaces the instance entries, as the default leaves it.
    assert!(s.mark_provider(&a, &uid("b"), true).await.unwrap());
    let now = s.providers(&a).await.unwrap();
    assert_eq!(now.value.events, [(uid("b"), None), (uid("c"), None)]);
    assert_eq!(now.value.window_end, window_end, "the window end is kept");
    assert_ne!(now.version, v0);
    // No change: no write, same version.
    assert!(!s.mark_provider(&a, &uid("c"), true).await.unwrap());
    assert!(!s.mark_provider(&a, &uid("z"), false).await.unwrap());
    assert_eq!(s.providers(&a).await.unwrap().version, now.version);
    assert!(s.mark_provider(&a, &uid("c"), false).await.unwrap());
    let last = s.providers(&a).await.unwrap();
    assert_eq!(last.value.events, [(uid("b"), None)]);
    assert_eq!(
        s.table_version(&a, &Table::FreeBusy).await.unwrap(),
        Version(0),
        "providers have their own version"
    );
    let ro = PgStore::from_pool(s.pool(), true);
    let e = ro.mark_provider(&a, &uid("d"), true).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
}
