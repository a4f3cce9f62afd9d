//! `PgStore`: calstore's [`Store`] on PostgreSQL.

use std::collections::BTreeMap;

use calstore::{
    EventFamily, EventList, EventStatus, Incoming, Other, Period, PrefName, Providers, QueueKind,
    Request, Result, Rid, Step, Store, StoredEvent, Table, Uid, User, Version, Versioned,
};
use chrono::{DateTime, Utc};

use crate::cluster::ClusterOptions;
use crate::objects::{self, STORE_OBJECTS};
use crate::periods::{self, Op, Target, FREEBUSY, OFFERS, OTHER};
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

impl PgStore {
    /// The agent's step for one incoming request in one transaction and one commit: the object
    /// upsert, the replacement of the event's periods in `freebusy`, the provider mark and the
    /// queue entry ([`Step::for_incoming`]). The trait's default would read the version after
    /// the commit; here it comes from the transaction itself.
    async fn store_incoming_impl(&self, user: &User, incoming: &Incoming) -> Result<Version> {
        let step = Step::for_incoming(incoming)?;
        match self.apply_step_impl(user, &step).await? {
            Some(v) => Ok(v),
            None => self.table_version(user, &Table::FreeBusy).await,
        }
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

    async fn users(&self) -> Result<Vec<User>> {
        self.users_impl().await
    }

    async fn put_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        objects::put(&self.pool, &STORE_OBJECTS, user.as_str(), uid, rid, text).await
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        objects::get(&self.pool, &STORE_OBJECTS, user.as_str(), uid, rid).await
    }

    async fn remove_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        objects::remove(&self.pool, &STORE_OBJECTS, user.as_str(), uid, rid).await
    }

    async fn cancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let (from, to) = (EventStatus::Active, EventStatus::Cancelled);
        objects::set_status(
            &self.pool,
            &STORE_OBJECTS,
            user.as_str(),
            uid,
            rid,
            from,
            to,
        )
        .await
    }

    async fn uncancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let (from, to) = (EventStatus::Cancelled, EventStatus::Active);
        objects::set_status(
            &self.pool,
            &STORE_OBJECTS,
            user.as_str(),
            uid,
            rid,
            from,
            to,
        )
        .await
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

    async fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        self.queue_request_impl(user, uid, rid, method).await
    }

    async fn store_incoming(&self, user: &User, incoming: &Incoming) -> Result<Version> {
        self.store_incoming_impl(user, incoming).await
    }

    async fn dequeue_request(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.dequeue_request_impl(user, uid, rid).await
    }

    async fn set_requests(&self, user: &User, requests: &[Request]) -> Result<()> {
        self.set_requests_impl(user, requests).await
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

    async fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        self.put_counter_impl(user, other, uid, rid, text).await
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

    async fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        self.remove_counter_impl(user, other, uid, rid).await
    }

    async fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        self.remove_counters_impl(user, uid, rid, only).await
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

    async fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::SetAll(periods);
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn replace_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::ReplaceEvent { uid, rid, periods };
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> Result<Version> {
        let op = Op::ReplaceUids { uids, periods };
        periods::write(&self.pool, &target(user, table), None, op).await
    }

    async fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::RemoveEvent { uid, rid };
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::RemoveAdditional { uid, keep };
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::RemoveAffected { uid, start };
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        let op = Op::Reserve { periods, capacity };
        periods::write(&self.pool, &target(user, table), expect, op).await
    }

    async fn apply_step(&self, user: &User, step: &Step) -> Result<()> {
        self.apply_step_impl(user, step).await.map(|_| ())
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

    async fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        providers::write(
            &self.pool,
            &STORE_PROVIDERS,
            user.as_str(),
            providers,
            expect,
        )
        .await
    }

    async fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        providers::mark(&self.pool, &STORE_PROVIDERS, user.as_str(), uid, present).await
    }

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        self.preferences_impl(user).await
    }

    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        self.preference_impl(user, name).await
    }

    async fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        self.set_preference_impl(user, name, value).await
    }
}
