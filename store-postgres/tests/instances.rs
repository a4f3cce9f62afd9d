//! Instances from a configuration file, and read-only access end to end, against a real primary
//! and a streaming standby: instances never see each other's data; a store on the hot standby,
//! a store opened read-only and a store with a reader role's login refuse every write with the
//! read-only error, and read.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use calstore::{ErrorKind, Group, Journal, Limits, Period, Quota, Store, Table, Uid, User};
use calstore_postgres::harness::{replicated_or_skip, ReplicatedDatabase, ReplicatedServer};
use calstore_postgres::{
    connect_client, Config, Instances, PgJournal, PgStore, ServerRole, INSTANCE_ENV,
};

fn alice() -> User {
    User::new("mailto:alice@example.com").unwrap()
}

fn uid(u: &str) -> Uid {
    Uid::new(u).unwrap()
}

fn event(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n\
         DTEND:20260105T100000Z\r\nSUMMARY:{u}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn period(u: &str) -> Period {
    let start = calstore::period::parse_instant("20260105T090000Z").unwrap();
    Period::new(start, start + chrono::Duration::hours(1), uid(u), None).unwrap()
}

/// `[instances.NAME]` with the database's primary and standby.
fn instance_toml(name: &str, db: &ReplicatedDatabase, extra: &str) -> String {
    format!(
        "[instances.{name}]\nprimary = \"{}\"\nreplicas = [\"{}\"]\n{extra}\n",
        db.primary_url(),
        db.standby_url
    )
}

/// Every write of the store and the journal fails with the read-only error.
async fn every_write_is_refused(store: &PgStore, journal: &PgJournal) {
    let (a, q) = (alice(), Quota::new("mailto:room@example.com").unwrap());
    let pref = calstore::PrefName::new("TZID").unwrap();
    let mut limits = Limits::new();
    limits.insert(Group::new("*").unwrap(), "PT1H".to_owned());
    let kinds = [
        store
            .put_event(&a, &uid("x"), None, &event("x"))
            .await
            .map(|_| ()),
        store.remove_event(&a, &uid("e"), None).await.map(|_| ()),
        store.cancel_event(&a, &uid("e"), None).await,
        store
            .set_freebusy(&a, &Table::FreeBusy, vec![period("x")], None)
            .await
            .map(|_| ()),
        store
            .reserve(&a, &Table::Offers, vec![period("x")], 1, None)
            .await
            .map(|_| ()),
        store.set_preference(&a, &pref, Some("UTC")).await,
        store
            .queue_request(&a, &uid("e"), None, calstore::QueueKind::Request)
            .await
            .map(|_| ()),
        journal.set_limits(&q, &limits, None).await.map(|_| ()),
        journal.expire(&q, chrono::Utc::now()).await.map(|_| ()),
        journal
            .reserve_within_limit(&q, &Group::new("*").unwrap(), vec![period("x")])
            .await
            .map(|_| ()),
    ];
    for (i, r) in kinds.into_iter().enumerate() {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnly, "write {i}: {e}");
    }
}

/// A database with alice's event `e` and a free/busy table, replayed on the standby.
async fn with_data(pair: &ReplicatedServer) -> ReplicatedDatabase {
    let db = pair.fresh_database().await.unwrap();
    let store = PgStore::connect(&calstore_postgres::PgOptions::new(db.primary_url()))
        .await
        .unwrap();
    store
        .put_event(&alice(), &uid("e"), None, &event("e"))
        .await
        .unwrap();
    store
        .set_freebusy(&alice(), &Table::FreeBusy, vec![period("e")], None)
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_never_see_each_others_data() {
    let Some(pair) = replicated_or_skip("instances_never_see_each_others_data") else {
        return;
    };
    let (oslo_db, bergen_db) = (with_data(pair).await, pair.fresh_database().await.unwrap());
    let text = format!(
        "{}{}",
        instance_toml("oslo", &oslo_db, ""),
        instance_toml("bergen", &bergen_db, "primary_reads = true")
    );
    let config = Config::parse(&text, "/test/calstore.toml").unwrap();
    let instances = Instances::connect(&config).await.unwrap();
    let oslo = instances.get(Some("oslo")).unwrap();
    let bergen = instances.get_with_env(None, |k| (k == INSTANCE_ENV).then(|| "bergen".into()));
    let bergen = bergen.unwrap();
    assert_eq!((oslo.name(), bergen.name()), ("oslo", "bergen"));

    let a = alice();
    assert!(oslo
        .store()
        .get_event(&a, &uid("e"), None)
        .await
        .unwrap()
        .is_some());
    assert!(bergen
        .store()
        .get_event(&a, &uid("e"), None)
        .await
        .unwrap()
        .is_none());
    bergen
        .store()
        .put_event(&a, &uid("b"), None, &event("b"))
        .await
        .unwrap();
    let q = Quota::new("mailto:room@example.com").unwrap();
    let mut limits = Limits::new();
    limits.insert(Group::new("*").unwrap(), "PT2H".to_owned());
    bergen
        .journal()
        .set_limits(&q, &limits, None)
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();
    let on_primary = |i: &calstore_postgres::Instance| i.store().with_primary();
    for store in [oslo.store().clone(), on_primary(oslo)] {
        assert!(store
            .get_event(&a, &uid("b"), None)
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.users().await.unwrap(), vec![a.clone()]);
    }
    assert!(oslo.journal().quotas().await.unwrap().is_empty());
    assert_eq!(bergen.journal().quotas().await.unwrap(), vec![q]);
    assert_eq!(
        bergen.store().list_events(&a).await.unwrap().active,
        vec![uid("b")]
    );
    // Each instance's calls went to its own servers.
    let oslo_servers = oslo.store().pool().servers();
    assert!(oslo_servers[1]
        .target
        .contains(&pair.standby().port().to_string()));
    assert_eq!(oslo_servers[0].writes, 0, "nothing was written to oslo");

    // Several instances and none named: a clear error; an unknown name too.
    let e = instances.get_with_env(None, |_| None).unwrap_err();
    assert!(
        e.message().contains("several instances (bergen, oslo)"),
        "{e}"
    );
    let e = instances.get(Some("tromso")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("unknown instance \"tromso\""), "{e}");
    assert!(
        e.message()
            .contains("/test/calstore.toml configures bergen, oslo"),
        "{e}"
    );
    // One instance: no name needed.
    let one = Config::parse(&instance_toml("solo", &oslo_db, ""), "/test/one.toml").unwrap();
    let solo = Instances::open(&one).unwrap();
    let solo = solo.get_with_env(None, |_| None).unwrap();
    assert!(solo
        .store()
        .get_event(&a, &uid("e"), None)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_the_hot_standby_is_read_only_and_reads() {
    let Some(pair) = replicated_or_skip("a_store_on_the_hot_standby_is_read_only") else {
        return;
    };
    let db = with_data(pair).await;
    let before = calstore_postgres::harness::snapshot(db.primary_url())
        .await
        .unwrap();
    // The standby as the instance's only server, without the read-only flag: found read-only.
    let text = format!("[instances.report]\nprimary = \"{}\"\n", db.standby_url);
    let config = Config::parse(&text, "/test/report.toml").unwrap();
    let instances = Instances::connect(&config).await.unwrap();
    let report = instances.get_with_env(None, |_| None).unwrap();
    let (store, journal) = (report.store(), report.journal());
    assert!(store.is_read_only() && journal.is_read_only());
    every_write_is_refused(store, journal).await;
    let e = store
        .set_freebusy(&alice(), &Table::FreeBusy, vec![], None)
        .await
        .unwrap_err();
    assert!(e.message().contains("hot standby"), "says why: {e}");
    // Reads work there.
    let fb = store.freebusy(&alice(), &Table::FreeBusy).await.unwrap();
    assert_eq!(fb.value, vec![period("e")]);
    assert!(store
        .get_event(&alice(), &uid("e"), None)
        .await
        .unwrap()
        .is_some());

    // With the flag, on primary and standby: refused in calstore, and the sessions are
    // read-only, so the server refuses raw writes too.
    let text = instance_toml("ro", &db, "read_only = true");
    let config = Config::parse(&text, "/test/ro.toml").unwrap();
    let ro = Instances::connect(&config).await.unwrap();
    let ro = ro.get(Some("ro")).unwrap();
    assert!(ro.store().is_read_only());
    every_write_is_refused(ro.store(), ro.journal()).await;
    let client = ro.store().pool().get().await.unwrap();
    let row = client
        .query_one("SHOW default_transaction_read_only", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "on");
    let e = client
        .batch_execute("DELETE FROM objects")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25006", "{e}");
    assert!(ro
        .store()
        .get_event(&alice(), &uid("e"), None)
        .await
        .unwrap()
        .is_some());
    let served = ro.store().pool().servers();
    assert_eq!((served[0].role, served[0].writes), (ServerRole::Primary, 0));
    assert!(served[1].reads > 0, "reads were served by the standby");
    assert_eq!(
        calstore_postgres::harness::snapshot(db.primary_url())
            .await
            .unwrap(),
        before,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_role_login_makes_the_store_read_only() {
    let Some(pair) = replicated_or_skip("a_reader_role_login_makes_the_store_read_only") else {
        return;
    };
    let db = with_data(pair).await;
    let (group, login) = (
        format!("calstore_reader_{}", std::process::id()),
        format!("www_{}", std::process::id()),
    );
    let mut admin = connect_client(db.primary_url()).await.unwrap();
    let roles = calstore_postgres::schema::Roles {
        writer: None,
        reader: Some(group.clone()),
    };
    calstore_postgres::schema::install(&mut admin, Some(&roles))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE {login} LOGIN IN ROLE {group}"))
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();
    let as_login = |url: &str| url.replacen("postgres@", &format!("{login}@"), 1);
    let text = format!(
        "[instances.www]\nprimary = \"{}\"\nreplicas = [\"{}\"]\n",
        as_login(db.primary_url()),
        as_login(&db.standby_url)
    );
    let config = Config::parse(&text, "/test/www.toml").unwrap();
    let www = Instances::connect(&config).await.unwrap();
    let www = www.get_with_env(None, |_| None).unwrap();
    assert!(www.store().is_read_only());
    every_write_is_refused(www.store(), www.journal()).await;
    let e = www
        .store()
        .put_event(&alice(), &uid("x"), None, &event("x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly);
    let fb = www
        .store()
        .freebusy(&alice(), &Table::FreeBusy)
        .await
        .unwrap();
    assert_eq!(fb.value, vec![period("e")]);
    // Refused by the database itself too, not only by calstore.
    let client = www.store().pool().get().await.unwrap();
    let e = client
        .batch_execute("DELETE FROM objects")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "42501", "{e}");
}
