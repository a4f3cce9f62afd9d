//! Schema installation, upgrade, drift, roles and read-only sessions on a private server.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use calstore::{ErrorKind, Journal, QueueKind, Store, Table, Uid, UsageTable, User};
use calstore_postgres::harness::{server_or_skip, TestDatabase, TestServer};
use calstore_postgres::schema::{self, Roles};
use calstore_postgres::{connect_client, PgOptions, PgPool, PgStore};

/// Every migration, in order.
const ALL: [&str; 4] = [
    "0001_initial",
    "0002_updated_at",
    "0003_hash_overlap",
    "0004_fbtype",
];

async fn empty_db(test: &str) -> Option<(&'static TestServer, TestDatabase)> {
    let server = server_or_skip(test)?;
    let db = server.empty_database().await.expect("empty database");
    Some((server, db))
}

fn sql_state(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn install_is_idempotent_and_reports_up_to_date() {
    let Some((_, db)) = empty_db("install_is_idempotent_and_reports_up_to_date").await else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    let before = schema::status(&client).await.unwrap();
    assert!(!before.installed && before.version == 0);
    assert_eq!(before.pending, ALL);

    let first = schema::install(&mut client, None).await.unwrap();
    assert_eq!((first.before, first.after), (0, 4));
    assert_eq!(first.applied, ALL);

    let again = schema::install(&mut client, None).await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.to_string(), "schema up to date (version 4)");
    let st = schema::status(&client).await.unwrap();
    assert!(st.is_current(), "{st}");
    assert_eq!(st.applied.len(), 4);
    assert_eq!(st.applied[0].checksum, schema::MIGRATIONS[0].checksum());
    assert_eq!(st.to_string(), "schema version 4: up to date");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_installs_both_succeed_and_install_once() {
    let Some((_, db)) = empty_db("concurrent_installs_both_succeed_and_install_once").await else {
        return;
    };
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = connect_client(&url).await.unwrap();
            schema::install(&mut client, None).await
        }));
    }
    let mut applied = Vec::new();
    for t in tasks {
        let report = t.await.unwrap().expect("every installer succeeds");
        assert_eq!(report.after, 4);
        applied.extend(report.applied);
    }
    applied.sort_unstable();
    assert_eq!(applied, ALL, "each migration ran once");
    let client = connect_client(&db.url).await.unwrap();
    let rows: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 4);
}

#[tokio::test]
async fn upgrade_from_version_1_keeps_the_data() {
    let Some((_, db)) = empty_db("upgrade_from_version_1_keeps_the_data").await else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    let r = schema::install_to(&mut client, 1, None).await.unwrap();
    assert_eq!(r.applied, ["0001_initial"]);
    let old = PgStore::connect(&PgOptions::new(&db.url))
        .await
        .unwrap_err();
    assert_eq!(old.kind(), ErrorKind::Unavailable);
    assert!(old.message().contains("older than 4"), "{old}");
    // Rows written by a version-1 program.
    client
        .batch_execute(
            "INSERT INTO objects (store_user, object_uid, object_text) \
               VALUES ('mailto:a@example.com', 'e1', 'BEGIN:VCALENDAR');
             INSERT INTO recurrences (store_user, object_uid, object_recurrenceid, object_text, status) \
               VALUES ('mailto:a@example.com', 'e1', '20260105T090000Z', 'BEGIN:VCALENDAR', 'cancelled');
             INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid) \
               VALUES ('mailto:a@example.com', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'e1');",
        )
        .await
        .unwrap();

    let r = schema::upgrade(&mut client, None).await.unwrap();
    assert_eq!(
        (r.before, r.after, r.applied.clone()),
        (
            1,
            4,
            vec!["0002_updated_at", "0003_hash_overlap", "0004_fbtype"]
        )
    );
    let row = client
        .query_one(
            "SELECT object_text, updated_at IS NOT NULL FROM objects WHERE object_uid = 'e1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "BEGIN:VCALENDAR");
    assert!(row.get::<_, bool>(1), "backfilled");
    let nullable: String = client
        .query_one(
            "SELECT is_nullable FROM information_schema.columns \
             WHERE table_name = 'recurrences' AND column_name = 'updated_at'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nullable, "NO");

    let store = PgStore::connect(&PgOptions::new(&db.url)).await.unwrap();
    let a = User::new("mailto:a@example.com").unwrap();
    let list = store.list_events(&a).await.unwrap();
    assert_eq!(list.active, [Uid::new("e1").unwrap()]);
    assert_eq!(list.cancelled_instances.len(), 1);
    assert_eq!(
        store
            .freebusy(&a, &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .len(),
        1
    );
}

#[tokio::test]
async fn upgrade_to_3_swaps_the_overlap_indexes_and_keeps_the_periods() {
    let Some((_, db)) = empty_db("upgrade_to_3_swaps_the_overlap_indexes").await else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    schema::install_to(&mut client, 2, None).await.unwrap();
    // One period in each period table, written by a version-2 program; two owners whose key
    // concatenations agree ('mailto:a@example.com' || 'x' and 'mailto:a@example.co' || 'mx'),
    // so the hashes of their tables are equal and only the exact test tells them apart.
    client
        .batch_execute(
            "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid) \
               VALUES ('mailto:a@example.com', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'e1');
             INSERT INTO freebusy_offers (store_user, \"start\", \"end\", object_uid) \
               VALUES ('mailto:a@example.com', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'o1');
             INSERT INTO freebusy_other (store_user, other, \"start\", \"end\", object_uid) \
               VALUES ('mailto:a@example.com', 'x', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'x1'),
                      ('mailto:a@example.co', 'mx', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'x2');
             INSERT INTO quota_freebusy (quota, user_group, \"start\", \"end\", object_uid) \
               VALUES ('mailto:room@example.com', 'staff', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'q1');
             INSERT INTO user_freebusy (quota, store_user, \"start\", \"end\", object_uid) \
               VALUES ('mailto:room@example.com', 'mailto:a@example.com', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'u1');",
        )
        .await
        .unwrap();
    let r = schema::upgrade(&mut client, None).await.unwrap();
    assert_eq!((r.before, r.after), (2, 4));
    let rows = client
        .query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%overlap' \
             ORDER BY indexname",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        names,
        [
            "freebusy_hash_overlap",
            "freebusy_offers_hash_overlap",
            "freebusy_other_hash_overlap",
            "quota_freebusy_hash_overlap",
            "user_freebusy_hash_overlap"
        ]
    );
    for row in &rows {
        let def: String = row.get(1);
        assert!(def.contains("USING gist (hashtext("), "{def}");
    }

    let store = PgStore::connect(&PgOptions::new(&db.url)).await.unwrap();
    let a = User::new("mailto:a@example.com").unwrap();
    let (from, to) = (
        calstore::period::parse_instant("20260105T093000Z").unwrap(),
        calstore::period::parse_instant("20260105T094500Z").unwrap(),
    );
    let x = Table::Other(calstore::Other::new("x").unwrap());
    for (table, uid) in [(Table::FreeBusy, "e1"), (Table::Offers, "o1"), (x, "x1")] {
        let found = store.freebusy_in(&a, &table, from, to).await.unwrap().value;
        let uids: Vec<&str> = found.iter().map(|p| p.uid.as_str()).collect();
        assert_eq!(uids, [uid], "{table}");
    }
    let journal = calstore_postgres::PgJournal::from_pool(store.pool(), false);
    let room = calstore::Quota::new("mailto:room@example.com").unwrap();
    for (table, uid) in [
        (
            UsageTable::Journal(calstore::Group::new("staff").unwrap()),
            "q1",
        ),
        (UsageTable::User(a.clone()), "u1"),
    ] {
        let found = journal
            .usage_in(&room, &table, from, to)
            .await
            .unwrap()
            .value;
        let uids: Vec<&str> = found.iter().map(|p| p.uid.as_str()).collect();
        assert_eq!(uids, [uid], "{table:?}");
    }
}

/// Version 3 refused the new FBTYPEs; after the upgrade every period table takes them, the old
/// rows read back unchanged (OPAQUE busy, TRANSPARENT free), and a store writes and reads them.
#[tokio::test]
async fn upgrade_to_4_lets_the_period_tables_keep_every_fbtype() {
    let Some((_, db)) = empty_db("upgrade_to_4_lets_the_period_tables_keep_every_fbtype").await
    else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    schema::install_to(&mut client, 3, None).await.unwrap();
    client
        .batch_execute(
            "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, transp) \
               VALUES ('mailto:a@example.com', '2026-01-05 09:00Z', '2026-01-05 10:00Z', 'b', 'OPAQUE'),
                      ('mailto:a@example.com', '2026-01-05 11:00Z', '2026-01-05 12:00Z', 'f', 'TRANSPARENT');",
        )
        .await
        .unwrap();
    let inserts = [
        "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, transp) \
           VALUES ('mailto:a@example.com', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 't', 'BUSY-TENTATIVE')",
        "INSERT INTO freebusy_offers (store_user, \"start\", \"end\", object_uid, transp) \
           VALUES ('mailto:a@example.com', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 'o', 'BUSY-UNAVAILABLE')",
        "INSERT INTO freebusy_other (store_user, other, \"start\", \"end\", object_uid, transp) \
           VALUES ('mailto:a@example.com', 'x', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 'x', 'BUSY-TENTATIVE')",
        "INSERT INTO quota_freebusy (quota, user_group, \"start\", \"end\", object_uid, transp) \
           VALUES ('mailto:room@example.com', 'staff', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 'q', 'BUSY-UNAVAILABLE')",
        "INSERT INTO user_freebusy (quota, store_user, \"start\", \"end\", object_uid, transp) \
           VALUES ('mailto:room@example.com', 'mailto:a@example.com', '2026-01-06 09:00Z', '2026-01-06 10:00Z', 'u', 'BUSY-TENTATIVE')",
    ];
    for sql in inserts {
        let e = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(sql_state(&e), "23514", "version 3 refuses: {sql}");
    }
    let r = schema::upgrade(&mut client, None).await.unwrap();
    assert_eq!((r.before, r.after, r.applied), (3, 4, vec!["0004_fbtype"]));
    for sql in inserts {
        client.batch_execute(sql).await.unwrap();
    }
    let e = client
        .batch_execute(
            "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, transp) \
               VALUES ('mailto:a@example.com', '2026-01-07 09:00Z', '2026-01-07 10:00Z', 'z', 'MAYBE')",
        )
        .await
        .unwrap_err();
    assert_eq!(sql_state(&e), "23514", "other values are still refused");

    let store = PgStore::connect(&PgOptions::new(&db.url)).await.unwrap();
    let a = User::new("mailto:a@example.com").unwrap();
    let got: Vec<(String, calstore::FbType)> = store
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .into_iter()
        .map(|p| (p.uid.to_string(), p.fbtype))
        .collect();
    assert_eq!(
        got,
        [
            ("b".to_owned(), calstore::FbType::Busy),
            ("f".to_owned(), calstore::FbType::Free),
            ("t".to_owned(), calstore::FbType::BusyTentative),
        ]
    );
    let offers = store.freebusy(&a, &Table::Offers).await.unwrap().value;
    assert_eq!(offers[0].fbtype, calstore::FbType::BusyUnavailable);
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused() {
    let Some((_, db)) = empty_db("a_changed_applied_migration_is_refused").await else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    schema::install_to(&mut client, 1, None).await.unwrap();
    client
        .batch_execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .await
        .unwrap();
    let st = schema::status(&client).await.unwrap();
    assert_eq!(st.drift.len(), 1, "{st}");
    assert!(!st.is_current());
    for result in [
        schema::install(&mut client, None).await,
        schema::upgrade(&mut client, None).await,
    ] {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        assert!(e.message().contains("0001_initial was changed"), "{e}");
    }
    assert_eq!(
        schema::status(&client).await.unwrap().version,
        1,
        "nothing applied"
    );
}

#[tokio::test]
async fn upgrade_needs_an_installed_schema_and_connect_needs_a_current_one() {
    let Some((_, db)) = empty_db("upgrade_needs_an_installed_schema").await else {
        return;
    };
    let mut client = connect_client(&db.url).await.unwrap();
    let e = schema::upgrade(&mut client, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = PgStore::connect(&PgOptions::new(&db.url))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.message().contains("no calstore schema"), "{e}");
    assert!(schema::install_to(&mut client, 9, None).await.is_err());
}

/// A login role that is a member of `group`, so the test can connect as it.
async fn login_member(admin: &tokio_postgres::Client, login: &str, group: &str) {
    let exists = admin
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&login])
        .await
        .unwrap()
        .is_some();
    if !exists {
        // Roles are shared by the server's databases: another test process may win the race.
        if let Err(e) = admin
            .batch_execute(&format!("CREATE ROLE {login} LOGIN IN ROLE {group}"))
            .await
        {
            assert!(matches!(sql_state(&e).as_str(), "42710" | "23505"), "{e}");
        }
    }
}

#[tokio::test]
async fn the_reader_role_cannot_write_and_the_writer_cannot_change_the_schema() {
    let Some((server, db)) = empty_db("roles").await else {
        return;
    };
    if server.private().is_none() {
        eprintln!("SKIPPED roles: logs in as test roles, which needs the private server");
        return;
    }
    let roles = Roles {
        writer: Some("calstore_test_writer".into()),
        reader: Some("calstore_test_reader".into()),
    };
    let mut owner = connect_client(&db.url).await.unwrap();
    let report = schema::install(&mut owner, Some(&roles)).await.unwrap();
    assert_eq!(report.granted.len(), 2, "{report}");
    // Granting again on a current schema is fine.
    schema::install(&mut owner, Some(&roles)).await.unwrap();
    let admin = connect_client(server.admin_url()).await.unwrap();
    login_member(&admin, "calstore_test_reader_login", "calstore_test_reader").await;
    login_member(&admin, "calstore_test_writer_login", "calstore_test_writer").await;
    let as_role = |login: &str| format!("{} user={login}", keyword_url(server, &db));

    // The writer reads and writes rows (the queue's identity sequence included), but no DDL.
    let writer = PgStore::connect(&PgOptions::new(as_role("calstore_test_writer_login")))
        .await
        .unwrap();
    let a = User::new("mailto:a@example.com").unwrap();
    let u = Uid::new("e1").unwrap();
    assert!(writer
        .queue_request(&a, &u, None, QueueKind::Request)
        .await
        .unwrap());
    let wclient = connect_client(&as_role("calstore_test_writer_login"))
        .await
        .unwrap();
    for ddl in [
        "CREATE TABLE intruder (x int)",
        "DROP TABLE objects",
        "DELETE FROM schema_migrations",
    ] {
        let e = wclient.batch_execute(ddl).await.unwrap_err();
        assert_eq!(sql_state(&e), "42501", "{ddl}: {e}");
    }

    // The reader: SELECT works, every write fails in the database itself.
    let rclient = connect_client(&as_role("calstore_test_reader_login"))
        .await
        .unwrap();
    let n: i64 = rclient
        .query_one("SELECT count(*) FROM requests", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    for write in [
        "INSERT INTO objects (store_user, object_uid, object_text) VALUES ('u', 'x', 't')",
        "DELETE FROM requests",
        "UPDATE store_versions SET version = 7",
        "CREATE TABLE intruder (x int)",
    ] {
        let e = rclient.batch_execute(write).await.unwrap_err();
        assert_eq!(sql_state(&e), "42501", "{write}: {e}");
    }
    let reader = PgStore::connect(&PgOptions::new(as_role("calstore_test_reader_login")))
        .await
        .unwrap();
    // Found when connecting: calstore refuses too, before the server would.
    assert!(reader.is_read_only(), "a reader role's login is read-only");
    assert_eq!(reader.requests(&a).await.unwrap().len(), 1);
    let e = reader
        .queue_request(&a, &Uid::new("e2").unwrap(), None, QueueKind::Request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
    let e = reader
        .set_freebusy(&a, &Table::FreeBusy, vec![], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
}

/// The test database as a keyword string, so that `user=` can be appended.
fn keyword_url(server: &TestServer, db: &TestDatabase) -> String {
    let port = server.private().map_or(5432, |p| p.port());
    format!(
        "host=127.0.0.1 port={port} dbname={} sslmode=disable",
        db.name
    )
}

#[tokio::test]
async fn read_only_sessions_are_refused_by_the_server_too() {
    let Some(server) = server_or_skip("read_only_sessions") else {
        return;
    };
    let db = server.fresh_database_async().await.unwrap();
    let pool = PgPool::connect(&PgOptions::new(&db.url).read_only())
        .await
        .unwrap();
    assert!(pool.is_read_only());
    // Raw SQL on a pooled session: the server itself refuses (SQLSTATE 25006).
    let client = pool.get().await.unwrap();
    let e = client
        .batch_execute(
            "INSERT INTO preferences (store_user, name, value) VALUES ('u', 'TZID', 'UTC')",
        )
        .await
        .unwrap_err();
    assert_eq!(sql_state(&e), "25006", "{e}");
    let on: String = client
        .query_one("SHOW default_transaction_read_only", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(on, "on");
    // Through calstore: refused before reaching the server; reads work.
    let store = PgStore::from_pool(&pool, false);
    assert!(store.is_read_only());
    let a = User::new("mailto:a@example.com").unwrap();
    assert!(store.users().await.unwrap().is_empty());
    let e = store
        .set_preference(&a, &calstore::PrefName::new("TZID").unwrap(), Some("UTC"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly);
    // A read-only store on a writable pool refuses too.
    let rw = PgPool::connect(&PgOptions::new(&db.url)).await.unwrap();
    let e = PgStore::from_pool(&rw, true)
        .queue_request(&a, &Uid::new("x").unwrap(), None, QueueKind::Request)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReadOnly);
}

/// Issue 13 item 9: `--reader ROLE` for a role that can write (here a member of the writer
/// role) must not be reported as "may only read": the report warns and says why.
#[tokio::test]
async fn a_reader_role_that_can_write_is_not_called_read_only() {
    let Some((_, db)) = empty_db("a_reader_role_that_can_write_is_not_called_read_only").await
    else {
        return;
    };
    let id = std::process::id();
    let (writer, reader, plain) = (
        format!("calstore_rw_writer_{id}"),
        format!("calstore_rw_reader_{id}"),
        format!("calstore_ro_reader_{id}"),
    );
    let mut owner = connect_client(&db.url).await.unwrap();
    let roles = |writer: Option<&str>, reader: &str| Roles {
        writer: writer.map(str::to_owned),
        reader: Some(reader.to_owned()),
    };
    schema::install(&mut owner, Some(&roles(Some(&writer), &plain)))
        .await
        .unwrap();
    owner
        .batch_execute(&format!(
            "CREATE ROLE \"{reader}\" NOLOGIN; GRANT \"{writer}\" TO \"{reader}\""
        ))
        .await
        .unwrap();
    let report = schema::install(&mut owner, Some(&roles(None, &reader)))
        .await
        .unwrap()
        .to_string();
    assert!(!report.contains("may only read"), "{report}");
    assert!(
        report.contains("WARNING") && report.contains("can also write"),
        "{report}"
    );
    // A role that really only reads is still called so.
    let report = schema::install(&mut owner, Some(&roles(None, &plain)))
        .await
        .unwrap()
        .to_string();
    assert!(report.contains("may only read"), "{report}");
}
