//! [`Store::apply_step`](calstore::Store::apply_step) on PostgreSQL: every change of the step in
//! one transaction under the user's advisory lock, committed once. An error (a busy
//! reservation, a failed statement) or a client killed before the commit rolls back all of it.

use calstore::{Change, Error, Result, Step, Table, User, Version};
use deadpool_postgres::Transaction;

use super::requests::queue_on;
use super::{target, PgStore};
use crate::objects::{self, rid_param, run_on, STORE_OBJECTS};
use crate::periods::{self, Op};
use crate::providers::{self, STORE_PROVIDERS};
use crate::versions::{self, STORE};

impl PgStore {
    /// Applies a step in one transaction; returns the version of the user's `freebusy` after
    /// its last write there, if the step wrote it.
    pub(super) async fn apply_step_impl(
        &self,
        user: &User,
        step: &Step,
    ) -> Result<Option<Version>> {
        step.check()?;
        let owner = user.as_str();
        let doing = format!("applying a scheduling step for user {owner}");
        if self.pool.is_read_only() {
            return Err(Error::read_only(format!("{doing}: the store is read-only")));
        }
        if step.is_empty() {
            return Ok(None);
        }
        let pool = &self.pool;
        let mut client = pool.writer(&doing).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pool.error(&e, &doing))?;
        // The user's lock first, as every writer takes it, so that writers never deadlock; the
        // period writes below rely on holding it.
        versions::lock(pool, &tx, STORE, owner).await?;
        let mut freebusy = None;
        for change in &step.changes {
            if let Some(v) = self.change_locked(&tx, user, change).await? {
                freebusy = Some(v);
            }
        }
        // Any error above returned early and dropped the transaction, rolling back everything.
        tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
        Ok(freebusy)
    }

    /// A period-table write inside the step's transaction.
    async fn table_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        table: &Table,
        op: Op<'_>,
    ) -> Result<Option<Version>> {
        let op = periods::prepare(op)?;
        let t = target(user, table);
        let v = periods::write_locked(&self.pool, tx, &t, None, op).await?;
        Ok((*table == Table::FreeBusy).then_some(v))
    }

    /// One change inside the step's transaction; the new version when it wrote `freebusy`.
    async fn change_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        change: &Change,
    ) -> Result<Option<Version>> {
        let pool = &self.pool;
        let owner = user.as_str();
        let doing = || format!("user {owner}: {change}");
        match change {
            Change::Expect { family } => {
                let found = objects::load_on(
                    pool,
                    tx,
                    &STORE_OBJECTS,
                    owner,
                    std::slice::from_ref(&family.uid),
                )
                .await?
                .pop();
                calstore::store::check_expected(user, family, found.as_ref())?;
            }
            Change::Reserve {
                table,
                periods,
                capacity,
            } => {
                let op = Op::Reserve {
                    periods: periods.clone(),
                    capacity: *capacity,
                };
                return self.table_locked(tx, user, table, op).await;
            }
            Change::PutEvent { uid, rid, text } => {
                objects::upsert(pool, tx, &STORE_OBJECTS, owner, uid, rid.as_ref(), text).await?;
            }
            Change::CancelEvent { uid, rid, text } => {
                objects::upsert(pool, tx, &STORE_OBJECTS, owner, uid, rid.as_ref(), text).await?;
                let (sql, r) = match rid {
                    None => (
                        "UPDATE objects SET status = 'cancelled', updated_at = now() \
                         WHERE store_user = $1 AND object_uid = $2 AND $3::text = ''",
                        "",
                    ),
                    Some(r) => (
                        "UPDATE recurrences SET status = 'cancelled', updated_at = now() \
                         WHERE store_user = $1 AND object_uid = $2 AND object_recurrenceid = $3",
                        r.as_str(),
                    ),
                };
                run_on(pool, tx, sql, &[&owner, &uid.as_str(), &r], &doing()).await?;
            }
            Change::ReplaceUidPeriods {
                table,
                uid,
                periods,
            } => {
                let op = Op::ReplaceUids {
                    uids: std::slice::from_ref(uid),
                    periods: periods.clone(),
                };
                return self.table_locked(tx, user, table, op).await;
            }
            Change::ReplaceEventPeriods {
                table,
                uid,
                rid,
                periods,
            } => {
                let op = Op::ReplaceEvent {
                    uid,
                    rid: rid.as_ref(),
                    periods: periods.clone(),
                };
                return self.table_locked(tx, user, table, op).await;
            }
            Change::MarkProvider { uid, present } => {
                providers::mark_locked(pool, tx, &STORE_PROVIDERS, owner, uid, *present).await?;
            }
            Change::Queue(r) => {
                queue_on(pool, tx, user, &r.uid, r.rid.as_ref(), r.method).await?;
            }
            Change::Dequeue { uid, rid } => {
                run_on(
                    pool,
                    tx,
                    "DELETE FROM requests WHERE store_user = $1 AND object_uid = $2 \
                     AND object_recurrenceid = $3",
                    &[&owner, &uid.as_str(), &rid_param(rid.as_ref())],
                    &doing(),
                )
                .await?;
            }
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => {
                let (u, o) = (uid.as_str(), other.as_str());
                match rid {
                    None => {
                        run_on(
                            pool,
                            tx,
                            "INSERT INTO countered_objects (store_user, other, object_uid, \
                             object_text, updated_at) VALUES ($1, $2, $3, $4, now()) \
                             ON CONFLICT (store_user, object_uid, other) DO UPDATE \
                             SET object_text = EXCLUDED.object_text, updated_at = now()",
                            &[&owner, &o, &u, text],
                            &doing(),
                        )
                        .await?;
                    }
                    Some(r) => {
                        run_on(
                            pool,
                            tx,
                            "INSERT INTO countered_recurrences (store_user, other, object_uid, \
                             object_recurrenceid, object_text, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, now()) \
                             ON CONFLICT (store_user, object_uid, object_recurrenceid, other) \
                             DO UPDATE SET object_text = EXCLUDED.object_text, updated_at = now()",
                            &[&owner, &o, &u, &r.as_str(), text],
                            &doing(),
                        )
                        .await?;
                    }
                }
            }
            Change::RemoveCounters { uid, rid, only } => {
                let (u, only) = (uid.as_str(), only.as_ref().map(|o| o.as_str()));
                match rid {
                    None => {
                        run_on(
                            pool,
                            tx,
                            "WITH p AS (DELETE FROM countered_objects WHERE store_user = $1 \
                               AND object_uid = $2 AND ($3::text IS NULL OR other = $3) \
                               RETURNING 1), \
                             i AS (DELETE FROM countered_recurrences WHERE store_user = $1 \
                               AND object_uid = $2 AND ($3::text IS NULL OR other = $3) \
                               RETURNING 1) \
                             SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM i)",
                            &[&owner, &u, &only],
                            &doing(),
                        )
                        .await?;
                    }
                    Some(r) => {
                        run_on(
                            pool,
                            tx,
                            "DELETE FROM countered_recurrences WHERE store_user = $1 \
                             AND object_uid = $2 AND object_recurrenceid = $4 \
                             AND ($3::text IS NULL OR other = $3)",
                            &[&owner, &u, &only, &r.as_str()],
                            &doing(),
                        )
                        .await?;
                    }
                }
            }
            _ => {
                return Err(Error::invalid(format!(
                    "{}: PostgreSQL does not know this change",
                    doing()
                )))
            }
        }
        Ok(None)
    }
}
