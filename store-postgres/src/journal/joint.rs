//! The joint write ([`calstore::Journal::apply_with_step`]) on PostgreSQL: a store step and
//! journal changes in one transaction, when the store ([`calstore::Store::database`]) and the
//! journal write the same database.

use calstore::journal::joint::journal_refusal;
use calstore::journal::{Database, JointApplied};
use calstore::{Applied, Error, JournalChange, Outcome, Quota, Result, Step, User};
use deadpool_postgres::Transaction;

use super::{target, PgJournal};
use crate::objects::{self, On, JOURNAL_OBJECTS};
use crate::periods::{self, Op};
use crate::providers::{self, JOURNAL_PROVIDERS};
use crate::store::PgStore;
use crate::versions::{self, JOURNAL, STORE};

impl PgJournal {
    /// The joint write: `None` unless `store` is a [`PgStore`] on this journal's database.
    /// Both locks are taken first, the store user's before the quota's (every joint writer
    /// takes them in that order, every other writer takes one), then the step, then the
    /// changes; one commit.
    pub(super) async fn apply_with_step_impl(
        &self,
        store: &Database,
        user: &User,
        step: &Step,
        quota: &Quota,
        changes: &[JournalChange],
    ) -> Result<Option<JointApplied>> {
        let Some(store) = store.downcast_ref::<PgStore>() else {
            return Ok(None);
        };
        if !store.pool().same_database(&self.pool) {
            return Ok(None);
        }
        let doing = format!(
            "applying a scheduling step for user {user} with {} change(s) of quota {quota}",
            changes.len()
        );
        for pool in [store.pool(), &self.pool] {
            if pool.is_read_only() {
                return Err(Error::read_only(format!("{doing}: read-only")));
            }
        }
        // Bad input writes nothing: checked before the transaction opens.
        step.check()?;
        for change in changes {
            self.check_joint(quota, change).map_err(journal_refusal)?;
        }
        let pool = store.pool();
        let mut client = pool.writer(&doing).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        versions::lock(pool, &tx, STORE, user.as_str()).await?;
        versions::lock(&self.pool, &tx, JOURNAL, quota.as_str()).await?;
        let outcomes = store.apply_locked(&tx, user, step).await?;
        let mut journal = Vec::with_capacity(changes.len());
        for change in changes {
            journal.push(
                self.apply_locked(&tx, quota, change)
                    .await
                    .map_err(journal_refusal)?,
            );
        }
        // An error above dropped the transaction: nothing of either part is kept.
        tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
        Ok(Some(JointApplied {
            step: Applied { outcomes },
            journal,
        }))
    }

    /// What a joint write checks of a change before it opens the transaction: a change it can
    /// apply there, with a text that reads.
    fn check_joint(&self, quota: &Quota, change: &JournalChange) -> Result<()> {
        match change {
            JournalChange::PutEvent { uid, rid, text } => objects::check_put(
                &self.pool,
                &JOURNAL_OBJECTS,
                quota.as_str(),
                uid,
                rid.as_ref(),
                text,
            ),
            JournalChange::SetUsage { .. }
            | JournalChange::ReplaceUsagePeriods { .. }
            | JournalChange::ReserveWithinLimit { .. }
            | JournalChange::SetProviders { .. }
            | JournalChange::RemoveEvent { .. } => Ok(()),
            _ => Err(Error::invalid(format!(
                "quota {quota}: {change} is not applied inside a joint write; nothing was written"
            ))),
        }
    }

    /// One change inside the joint write's transaction, which holds the quota's lock.
    async fn apply_locked(
        &self,
        tx: &Transaction<'_>,
        quota: &Quota,
        change: &JournalChange,
    ) -> Result<Outcome> {
        let (pool, q) = (&self.pool, quota.as_str());
        let table_write = |table, expect, op| async move {
            let t = target(quota, table);
            let op = periods::prepare(op)?;
            periods::write_locked(pool, tx, &t, expect, op).await
        };
        Ok(match change {
            JournalChange::SetUsage {
                table,
                periods,
                expect,
            } => Outcome::Version(table_write(table, *expect, Op::SetAll(periods.clone())).await?),
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
                Outcome::Version(table_write(table, *expect, op).await?)
            }
            JournalChange::ReserveWithinLimit { group, periods } => {
                let table = calstore::UsageTable::Journal(group.clone());
                let op = Op::WithinLimit {
                    periods: periods.clone(),
                };
                Outcome::Version(table_write(&table, None, op).await?)
            }
            JournalChange::SetProviders { providers, expect } => Outcome::Version(
                providers::write_locked(pool, tx, &JOURNAL_PROVIDERS, q, providers, *expect)
                    .await?,
            ),
            JournalChange::PutEvent { uid, rid, text } => {
                objects::upsert(pool, tx, &JOURNAL_OBJECTS, q, uid, rid.as_ref(), text).await?;
                Outcome::Done
            }
            JournalChange::RemoveEvent { uid, rid } => Outcome::Changed(
                objects::remove(pool, On::Tx(tx), &JOURNAL_OBJECTS, q, uid, rid.as_ref()).await?,
            ),
            _ => {
                return Err(Error::invalid(format!(
                    "quota {quota}: {change} is not applied inside a joint write"
                )))
            }
        })
    }
}
