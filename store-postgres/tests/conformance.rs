//! The exported conformance suite (`calstore::conformance`) on PostgreSQL: every case on a fresh
//! database of the private test server, and again through a configuration naming a primary and
//! a streaming standby (docs/testing.md).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::conformance::Fixture;

calstore::conformance_suite!(postgres, postgres());
calstore::conformance_suite!(replicated, replicated());

/// The PostgreSQL store on a fresh database of the test server (private, or
/// `CALSTORE_TEST_PG_URL`); `None`, after a loud notice, where no server can be had outside CI.
pub async fn postgres() -> Option<Fixture<calstore_postgres::PgStore, calstore_postgres::PgJournal>>
{
    use calstore_postgres::{harness, PgJournal, PgOptions, PgStore};
    let server = harness::server_or_skip("conformance (postgres)")?;
    let db = server
        .fresh_database_async()
        .await
        .expect("a fresh test database");
    let url = db.url().to_owned();
    let open = |read_only: bool| {
        let mut options = PgOptions::new(&url);
        options.read_only = read_only;
        options
    };
    let store = PgStore::connect(&open(false)).await.expect("connect store");
    let journal = PgJournal::connect(&open(false))
        .await
        .expect("connect journal");
    let ro_store = PgStore::connect(&open(true))
        .await
        .expect("connect read-only store");
    let ro_journal = PgJournal::connect(&open(true))
        .await
        .expect("connect read-only journal");
    let fixture = Fixture::new(store, journal, ro_store, ro_journal, move || {
        let url = url.clone();
        async move {
            harness::snapshot(&url)
                .await
                .expect("snapshot of the database")
        }
    });
    Some(fixture.keep(db))
}

/// The PostgreSQL store opened through a configuration file naming a primary and a streaming
/// standby (`calstore_postgres::Config` → `Instance`): every plain read of the cases is served
/// by the standby, every write by the primary. The cases read right after they write, as any
/// caller may; on an asynchronous standby such a read could miss the write, so the primary's
/// connection string asks for `synchronous_commit = remote_apply` (the standby is the test
/// primary's synchronous standby): a commit returns once the standby has applied it. `None`,
/// after a loud notice, where no server binaries exist outside CI.
pub async fn replicated(
) -> Option<Fixture<calstore_postgres::PgStore, calstore_postgres::PgJournal>> {
    use calstore_postgres::{harness, Config, Instance};
    let pair = harness::replicated_or_skip("conformance (replicated)")?;
    let db = pair
        .fresh_database()
        .await
        .expect("a fresh replicated test database");
    let url = db.primary_url().to_owned();
    let sep = if url.contains('?') { '&' } else { '?' };
    let text = format!(
        "[instances.conformance]\n\
         primary = \"{url}{sep}options=-c%20synchronous_commit%3Dremote_apply\"\n\
         replicas = [\"{}\"]\n",
        db.standby_url
    );
    let config = Config::parse(&text, "conformance.toml").expect("the fixture's configuration");
    let (name, instance) = config.select(Some("conformance")).expect("the instance");
    let rw = Instance::connect(name, instance).await.expect("connect");
    let mut read_only = instance.clone();
    read_only.store.primary.read_only = true;
    let ro = Instance::connect(name, &read_only)
        .await
        .expect("connect read-only");
    let fixture = Fixture::new(
        rw.store().clone(),
        rw.journal().clone(),
        ro.store().clone(),
        ro.journal().clone(),
        move || {
            let url = url.clone();
            async move {
                harness::snapshot(&url)
                    .await
                    .expect("snapshot of the database")
            }
        },
    );
    Some(fixture.keep(db))
}
