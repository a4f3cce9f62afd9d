//! `PgJournal`: calstore's [`Journal`] (quota groups) on PostgreSQL.

use std::collections::BTreeMap;

use calstore::journal::{Database, JointApplied};
use calstore::{
    EventFamily, EventList, Group, Journal, JournalChange, Limits, Outcome, Period, Providers,
    Quota, Result, Rid, Step, StoredEvent, Uid, UsageTable, User, Versioned,
};
use chrono::{DateTime, Utc};

use crate::cluster::ClusterOptions;
use crate::objects::{self, On, JOURNAL_OBJECTS};
use crate::periods::{self, Op, Target, QUOTA_FREEBUSY, USER_FREEBUSY};
use crate::pool::{PgOptions, PgPool};
use crate::providers::{self, JOURNAL_PROVIDERS};

mod joint;
mod quotas;

/// The PostgreSQL journal: limits, groups, delegates, usage tables, providers and reservation
/// objects of every quota. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct PgJournal {
    pool: PgPool,
}

impl PgJournal {
    /// Connects (a pool of `options.pool_size`), checking that the schema is current.
    ///
    /// # Errors
    ///
    /// Invalid input for a bad connection string; unavailable, naming host, port and reason,
    /// when the server cannot be reached or the schema is missing or out of date.
    pub async fn connect(options: &PgOptions) -> Result<PgJournal> {
        Ok(PgJournal {
            pool: PgPool::connect(options).await?,
        })
    }

    /// Connects to a primary and its replicas (pools of `options.primary.pool_size` each),
    /// checking the schema on the primary. Writes go to the primary, plain reads to a replica
    /// (see [`PgPool`]); [`PgJournal::with_primary`] and [`on_primary`](crate::on_primary) force the
    /// primary.
    ///
    /// # Errors
    ///
    /// As [`PgJournal::connect`].
    pub async fn connect_cluster(options: &ClusterOptions) -> Result<PgJournal> {
        Ok(PgJournal {
            pool: PgPool::connect_cluster(options).await?,
        })
    }

    /// A handle on the same connections whose every call goes to the primary, plain reads
    /// included: `journal.with_primary().…` reads what was just written (read-your-writes) for one
    /// call; keep the handle for as long as that is needed. Cheap (a clone).
    #[must_use]
    pub fn with_primary(&self) -> PgJournal {
        PgJournal {
            pool: self.pool.with_primary(),
        }
    }

    /// A journal on a shared pool (for example the store's); `read_only` makes it refuse writes
    /// even when the pool's sessions may write. Unlike `connect`, this does not check the schema
    /// ([`PgPool::connect`] does).
    pub fn from_pool(pool: &PgPool, read_only: bool) -> PgJournal {
        PgJournal {
            pool: pool.restricted(read_only),
        }
    }

    /// The pool this journal uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The SQL table and keys of one usage table of a quota.
fn target<'a>(quota: &'a Quota, table: &'a UsageTable) -> Target<'a> {
    let (t, key) = match table {
        UsageTable::User(u) => (&USER_FREEBUSY, u.as_str()),
        UsageTable::Journal(g) => (&QUOTA_FREEBUSY, g.as_str()),
    };
    Target {
        table: t,
        keys: vec![quota.as_str(), key],
        version_name: table.to_string(),
    }
}

impl Journal for PgJournal {
    fn is_read_only(&self) -> bool {
        self.pool.is_read_only()
    }

    async fn quotas(&self) -> Result<Vec<Quota>> {
        self.quotas_impl().await
    }

    async fn limits(&self, quota: &Quota) -> Result<Versioned<Limits>> {
        self.limits_impl(quota).await
    }

    async fn groups(&self, quota: &Quota) -> Result<BTreeMap<User, Group>> {
        self.groups_impl(quota).await
    }

    async fn delegates(&self, quota: &Quota) -> Result<Vec<User>> {
        self.delegates_impl(quota).await
    }

    async fn usage_tables(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        self.usage_tables_impl(quota).await
    }

    async fn usage(&self, quota: &Quota, table: &UsageTable) -> Result<Versioned<Vec<Period>>> {
        periods::read(&self.pool, &target(quota, table), None).await
    }

    async fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        periods::read(&self.pool, &target(quota, table), Some((start, end))).await
    }

    async fn providers(&self, quota: &Quota) -> Result<Versioned<Providers>> {
        providers::read(&self.pool, &JOURNAL_PROVIDERS, quota.as_str()).await
    }

    async fn load_events(&self, quota: &Quota, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        objects::load(&self.pool, &JOURNAL_OBJECTS, quota.as_str(), uids).await
    }

    async fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        objects::get(&self.pool, &JOURNAL_OBJECTS, quota.as_str(), uid, rid).await
    }

    async fn list_events(&self, quota: &Quota) -> Result<EventList> {
        objects::list(&self.pool, &JOURNAL_OBJECTS, quota.as_str()).await
    }

    async fn apply_with_step(
        &self,
        store: &Database,
        user: &User,
        step: &Step,
        quota: &Quota,
        changes: &[JournalChange],
    ) -> Result<Option<JointApplied>> {
        self.apply_with_step_impl(store, user, step, quota, changes)
            .await
    }

    /// Each journal write once: its own statement or transaction under the quota's lock.
    async fn apply(&self, quota: &Quota, change: &JournalChange) -> Result<Outcome> {
        let (pool, q) = (&self.pool, quota.as_str());
        Ok(match change {
            JournalChange::SetLimits { limits, expect } => {
                Outcome::Version(self.set_limits_impl(quota, limits, *expect).await?)
            }
            JournalChange::SetGroups(groups) => {
                self.set_groups_impl(quota, groups).await?;
                Outcome::Done
            }
            JournalChange::SetDelegates(delegates) => {
                self.set_delegates_impl(quota, delegates).await?;
                Outcome::Done
            }
            JournalChange::SetUsage {
                table,
                periods,
                expect,
            } => {
                let op = Op::SetAll(periods.clone());
                Outcome::Version(periods::write(pool, &target(quota, table), *expect, op).await?)
            }
            JournalChange::ReplaceUsagePeriods {
                table,
                uid,
                rid,
                periods,
                expect,
            } => {
                let op = Op::ReplaceEvent {
                    uid,
                    rid: rid.as_ref(),
                    periods: periods.clone(),
                };
                Outcome::Version(periods::write(pool, &target(quota, table), *expect, op).await?)
            }
            JournalChange::ReserveWithinLimit { group, periods } => Outcome::Version(
                self.reserve_within_limit_impl(quota, group, periods.clone())
                    .await?,
            ),
            JournalChange::Expire { before } => {
                Outcome::Count(self.expire_impl(quota, *before).await?)
            }
            JournalChange::SetProviders { providers, expect } => Outcome::Version(
                providers::write(pool, &JOURNAL_PROVIDERS, q, providers, *expect).await?,
            ),
            JournalChange::PutEvent { uid, rid, text } => {
                objects::put(pool, &JOURNAL_OBJECTS, q, uid, rid.as_ref(), text).await?;
                Outcome::Done
            }
            JournalChange::RemoveEvent { uid, rid } => Outcome::Changed(
                objects::remove(pool, On::Own, &JOURNAL_OBJECTS, q, uid, rid.as_ref()).await?,
            ),
            _ => {
                return Err(calstore::Error::invalid(format!(
                    "quota {quota}: PostgreSQL does not know the change {change}"
                )))
            }
        })
    }
}
