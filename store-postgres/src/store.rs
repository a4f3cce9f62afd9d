//! `PgStore`: calstore's [`Store`] on PostgreSQL.

use std::collections::BTreeMap;

use calstore::{
    Applied, EventFamily, EventList, EventStatus, Other, Period, PrefName, Providers, QueueKind,
    Request, Result, Rid, Step, Store, StoredEvent, Table, Uid, User, Version, Versioned,
};
use chrono::{DateTime, Utc};

use crate::cluster::ClusterOptions;
use crate::objects::{self, STORE_OBJECTS};
use crate::periods::{self, Target, FREEBUSY, OFFERS, OTHER};
use crate::pool::{PgOptions, PgPool};
use crate::providers::{self, STORE_PROVIDERS};
use crate::versions::{self, STORE};

mod counters;
mod preferences;
mod requests;
mod step;

/// The PostgreSQL store: every user's objects, queue, counter-proposals, free/busy tables,
/// providers and preferences in the tables of `store-postgres/sql/`. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects (a pool of `options.pool_size`), checking that the schema is current.
    ///
    /// # Errors
    ///
    /// Invalid input for a bad connection string; unavailable, naming host, port and reason,
    /// when the server cannot be reached or the schema is missing or out of date.
    pub async fn connect(options: &PgOptions) -> Result<PgStore> {
        Ok(PgStore {
            pool: PgPool::connect(options).await?,
        })
    }

    /// Connects to a primary and its replicas (pools of `options.primary.pool_size` each),
    /// checking the schema on the primary. Writes go to the primary, plain reads to a replica
    /// (see [`PgPool`]); [`PgStore::with_primary`] and [`on_primary`](crate::on_primary) force the
    /// primary.
    ///
    /// # Errors
    ///
    /// As [`PgStore::connect`].
    pub async fn connect_cluster(options: &ClusterOptions) -> Result<PgStore> {
        Ok(PgStore {
            pool: PgPool::connect_cluster(options).await?,
        })
    }

    /// A handle on the same connections whose every call goes to the primary, plain reads
    /// included: `store.with_primary().…` reads what was just written (read-your-writes) for one
    /// call; keep the handle for as long as that is needed. Cheap (a clone).
    #[must_use]
    pub fn with_primary(&self) -> PgStore {
        PgStore {
            pool: self.pool.with_primary(),
        }
    }

    /// A store on a shared pool (for example the journal's); `read_only` makes it refuse writes
    /// even when the pool's sessions may write. Unlike `connect`, this does not check the schema
    /// ([`PgPool::connect`] does).
    pub fn from_pool(pool: &PgPool, read_only: bool) -> PgStore {
        PgStore {
            pool: pool.restricted(read_only),
        }
    }

    /// The pool this store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The SQL table and keys of one of a user's free/busy tables.
fn target<'a>(user: &'a User, table: &'a Table) -> Target<'a> {
    let (t, keys) = match table {
        Table::FreeBusy => (&FREEBUSY, vec![user.as_str()]),
        Table::Offers => (&OFFERS, vec![user.as_str()]),
        Table::Other(o) => (&OTHER, vec![user.as_str(), o.as_str()]),
    };
    Target {
        table: t,
        keys,
        version_name: table.to_string(),
    }
}

impl Store for PgStore {
    fn is_read_only(&self) -> bool {
        self.pool.is_read_only()
    }

    /// This store, for a [`PgJournal`](crate::PgJournal) on the same database to write a step
    /// and its own changes in one transaction.
    fn database(&self) -> Option<calstore::journal::Database> {
        Some(calstore::journal::Database::new(self.clone()))
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.users_impl().await
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        objects::get(&self.pool, &STORE_OBJECTS, user.as_str(), uid, rid).await
    }

    async fn list_events(&self, user: &User) -> Result<EventList> {
        objects::list(&self.pool, &STORE_OBJECTS, user.as_str()).await
    }

    async fn instances(&self, user: &User, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        objects::instances(&self.pool, &STORE_OBJECTS, user.as_str(), uid).await
    }

    async fn load_events(&self, user: &User, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        objects::load(&self.pool, &STORE_OBJECTS, user.as_str(), uids).await
    }

    async fn requests(&self, user: &User) -> Result<Vec<Request>> {
        self.requests_impl(user).await
    }

    async fn have_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<QueueKind>,
    ) -> Result<bool> {
        self.have_request_impl(user, uid, rid, method).await
    }

    async fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        self.get_counter_impl(user, other, uid, rid).await
    }

    async fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        self.counter_proposers_impl(user, uid, rid).await
    }

    async fn counter_rids(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        self.counter_rids_impl(user, uid).await
    }

    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        self.counters_impl(user).await
    }

    async fn freebusy(&self, user: &User, table: &Table) -> Result<Versioned<Vec<Period>>> {
        periods::read(&self.pool, &target(user, table), None).await
    }

    async fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        periods::read(&self.pool, &target(user, table), Some((start, end))).await
    }

    async fn table_version(&self, user: &User, table: &Table) -> Result<Version> {
        versions::read(&self.pool, STORE, user.as_str(), &table.to_string()).await
    }

    async fn apply_step(&self, user: &User, step: &Step) -> Result<Applied> {
        self.apply_step_impl(user, step).await
    }

    async fn others(&self, user: &User) -> Result<Vec<Other>> {
        self.others_impl(user).await
    }

    async fn conflicts(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> Result<Vec<Period>> {
        // One query for all candidates instead of the trait's one range read per period.
        let near = periods::near_read(&self.pool, &target(user, table), periods).await?;
        Ok(calstore::period::conflicts(&near, periods))
    }

    async fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        providers::read(&self.pool, &STORE_PROVIDERS, user.as_str()).await
    }

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        self.preferences_impl(user).await
    }

    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        self.preference_impl(user, name).await
    }
}
