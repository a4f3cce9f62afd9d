//! The same identifiers and periods on PostgreSQL.

use super::keys::keys_round_trip;
use super::periods::{hostile_period, periods_round_trip};
use crate::*;

fn pg() -> Option<(calstore_postgres::PgStore, calstore_postgres::PgJournal)> {
    static DB: OnceLock<Option<calstore_postgres::harness::TestDatabase>> = OnceLock::new();
    let db = DB
        .get_or_init(|| {
            let server = calstore_postgres::harness::server_or_skip("hostile input (postgres)")?;
            Some(server.fresh_database().expect("a fresh database"))
        })
        .as_ref()?;
    Some(
        runtime()
            .block_on(db.store_and_journal(false))
            .expect("connect"),
    )
}

proptest! {
    #![proptest_config(cases(24))]

    /// The same identifiers and periods on PostgreSQL: stored exactly or refused.
    #[test]
    fn hostile_identifiers_and_periods_in_postgres(
        keys in prop::collection::vec(hostile(), 1..4),
        periods in prop::collection::vec(hostile_period(), 1..10),
    ) {
        let Some((store, journal)) = pg() else { return Ok(()) };
        for key in &keys {
            runtime().block_on(keys_round_trip(&store, &journal, key))?;
        }
        let alice = User::new("mailto:alice@example.com").unwrap();
        runtime().block_on(async {
            // Each case starts from empty tables of its own.
            store.set_freebusy(&alice, &Table::FreeBusy, Vec::new(), None).await.unwrap();
            periods_round_trip(&store, &journal, periods).await
        })?;
    }
}
