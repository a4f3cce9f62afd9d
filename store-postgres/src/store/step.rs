//! [`Store::apply_step`](calstore::Store::apply_step) on PostgreSQL, the store's one write.
//! A step that is one write (with at most a condition on the table it writes) runs as that
//! operation alone ([`PgStore::single`]), each one statement or one transaction of its own. A
//! step of several changes runs every change in one transaction under the user's advisory lock,
//! committed once ([`PgStore::change_locked`]): an error (a failed condition, a busy
//! reservation, a failed statement) or a client killed before the commit rolls back all of it.

use calstore::{Applied, Change, Error, EventStatus, Outcome, Result, Step, Table, User, Version};
use deadpool_postgres::Transaction;

use super::requests::queue_on;
use super::{target, PgStore};
use crate::objects::{self, run_on, On, STORE_OBJECTS};
use crate::periods::{self, Op};
use crate::providers::{self, STORE_PROVIDERS};
use crate::versions::{self, STORE};

impl PgStore {
    /// Applies a step: one write on its own (its statement checks its input, as it always has),
    /// several checked ([`Step::check`]) and then applied in one transaction.
    pub(super) async fn apply_step_impl(&self, user: &User, step: &Step) -> Result<Applied> {
        if let Some((write, expect)) = step.single_write() {
            if let Some(outcome) = self.single(user, write, expect).await? {
                return Ok(Applied::single(step, outcome));
            }
        }
        step.check()?;
        let owner = user.as_str();
        let doing = format!("applying a scheduling step for user {owner}");
        if self.pool.is_read_only() {
            return Err(Error::read_only(format!("{doing}: the store is read-only")));
        }
        if step.is_empty() {
            return Ok(Applied::default());
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
        let outcomes = self.apply_locked(&tx, user, step).await?;
        // Any error above returned early and dropped the transaction, rolling back everything.
        tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
        Ok(Applied { outcomes })
    }

    /// Every change of `step` (already checked) inside the caller's transaction `tx`, which
    /// holds the user's lock ([`versions::lock`] with [`STORE`]); nothing is committed here. What
    /// [`PgStore::apply_step_impl`] and the joint write with the journal
    /// ([`calstore::Journal::apply_with_step`]) run.
    pub(crate) async fn apply_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        step: &Step,
    ) -> Result<Vec<Outcome>> {
        let (pool, owner) = (&self.pool, user.as_str());
        let mut outcomes = Vec::with_capacity(step.changes.len());
        let mut rest = step.changes.as_slice();
        while let Some(change) = rest.first() {
            // A run of stored objects (an import batch) is one multi-row statement.
            let puts = rest
                .iter()
                .take_while(|c| matches!(c, Change::PutEvent { .. }))
                .count();
            if puts > 1 {
                let items: Vec<_> = rest[..puts]
                    .iter()
                    .filter_map(|c| match c {
                        Change::PutEvent { uid, rid, text } => {
                            Some((uid, rid.as_ref(), text.as_str()))
                        }
                        _ => None,
                    })
                    .collect();
                objects::upsert_many(pool, tx, &STORE_OBJECTS, owner, &items).await?;
                outcomes.extend(std::iter::repeat_n(Outcome::Done, puts));
                rest = &rest[puts..];
                continue;
            }
            outcomes.push(self.change_locked(tx, user, change).await?);
            rest = &rest[1..];
        }
        Ok(outcomes)
    }

    /// A one-write step through the write's own statement or transaction, which checks
    /// `expect` itself; `None` for a write that only a transaction of several statements does
    /// (a cancellation with its text).
    async fn single(
        &self,
        user: &User,
        change: &Change,
        expect: Option<Version>,
    ) -> Result<Option<Outcome>> {
        let (pool, owner) = (&self.pool, user.as_str());
        let table = |t| target(user, t);
        Ok(Some(match change {
            Change::PutEvent { uid, rid, text } => {
                objects::put(pool, &STORE_OBJECTS, owner, uid, rid.as_ref(), text).await?;
                Outcome::Done
            }
            Change::RemoveEvent { uid, rid } => Outcome::Changed(
                objects::remove(pool, On::Own, &STORE_OBJECTS, owner, uid, rid.as_ref()).await?,
            ),
            Change::CancelStored { uid, rid } | Change::Uncancel { uid, rid } => {
                let to = if matches!(change, Change::CancelStored { .. }) {
                    EventStatus::Cancelled
                } else {
                    EventStatus::Active
                };
                let rid = rid.as_ref();
                objects::set_status(pool, On::Own, &STORE_OBJECTS, owner, uid, rid, to).await?;
                Outcome::Done
            }
            Change::Queue(r) => Outcome::Changed(
                self.queue_request_impl(user, &r.uid, r.rid.as_ref(), r.method)
                    .await?,
            ),
            Change::Dequeue { uid, rid } => Outcome::Changed(
                self.dequeue_request_impl(On::Own, user, uid, rid.as_ref())
                    .await?,
            ),
            Change::SetRequests(requests) => {
                self.set_requests_impl(On::Own, user, requests).await?;
                Outcome::Done
            }
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => {
                self.put_counter_impl(On::Own, user, other, uid, rid.as_ref(), text)
                    .await?;
                Outcome::Done
            }
            Change::RemoveCounter { other, uid, rid } => Outcome::Changed(
                self.remove_counter_impl(On::Own, user, other, uid, rid.as_ref())
                    .await?,
            ),
            Change::RemoveCounters { uid, rid, only } => Outcome::Count(
                self.remove_counters_impl(On::Own, user, uid, rid.as_ref(), only.as_ref())
                    .await?,
            ),
            Change::SetProviders(p) => {
                Outcome::Version(providers::write(pool, &STORE_PROVIDERS, owner, p, expect).await?)
            }
            Change::MarkProvider { uid, present } => Outcome::Changed(
                providers::mark(pool, &STORE_PROVIDERS, owner, uid, *present).await?,
            ),
            Change::SetPreference { name, value } => {
                self.set_preference_impl(On::Own, user, name, value.as_deref())
                    .await?;
                Outcome::Done
            }
            _ => match (change.table(), table_op(change)) {
                (Some(t), Some(op)) => {
                    Outcome::Version(periods::write(pool, &table(t), expect, op).await?)
                }
                _ => return Ok(None),
            },
        }))
    }

    /// A period-table write inside the step's transaction.
    async fn table_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        table: &Table,
        op: Op<'_>,
    ) -> Result<Outcome> {
        let op = periods::prepare(op)?;
        let t = target(user, table);
        let v = periods::write_locked(&self.pool, tx, &t, None, op).await?;
        Ok(Outcome::Version(v))
    }

    /// A condition inside the step's transaction, under the user's lock.
    async fn check_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        table_name: &str,
        expect: Version,
    ) -> Result<Outcome> {
        let owner = user.as_str();
        let doing = format!("user {owner}, table {table_name}");
        let rows = run_on(
            &self.pool,
            tx,
            "SELECT coalesce(max(version), 0) FROM store_versions \
             WHERE store_user = $1 AND table_name = $2",
            &[&owner, &table_name],
            &doing,
        )
        .await?;
        let current = versions::version_of(rows.first().map_or(0, |r| r.get::<_, i64>(0)));
        if current != expect {
            return Err(Error::stale(format!(
                "{doing}: changed since it was read (expected {expect}, found {current}); \
                 nothing was written"
            )));
        }
        Ok(Outcome::Done)
    }

    /// One change inside the step's transaction, and its outcome.
    async fn change_locked(
        &self,
        tx: &Transaction<'_>,
        user: &User,
        change: &Change,
    ) -> Result<Outcome> {
        let pool = &self.pool;
        let owner = user.as_str();
        let doing = || format!("user {owner}: {change}");
        let on = On::Tx(tx);
        if let (Some(table), Some(op)) = (change.table(), table_op(change)) {
            return self.table_locked(tx, user, table, op).await;
        }
        match change {
            Change::Expect { table, version } => {
                return self
                    .check_locked(tx, user, &table.to_string(), *version)
                    .await;
            }
            Change::ExpectProviders(version) => {
                return self
                    .check_locked(tx, user, STORE_PROVIDERS.version_name, *version)
                    .await;
            }
            Change::ExpectEvent { family } => {
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
            Change::MarkProviders { marks, horizon } => {
                providers::marks_locked(pool, tx, &STORE_PROVIDERS, owner, marks, *horizon).await?;
            }
            Change::MarkProvider { uid, present } => {
                return Ok(Outcome::Changed(
                    providers::mark_locked(pool, tx, &STORE_PROVIDERS, owner, uid, *present)
                        .await?,
                ));
            }
            Change::Queue(r) => {
                return Ok(Outcome::Changed(
                    queue_on(pool, tx, user, &r.uid, r.rid.as_ref(), r.method).await?,
                ));
            }
            Change::Dequeue { uid, rid } => {
                return Ok(Outcome::Changed(
                    self.dequeue_request_impl(on, user, uid, rid.as_ref())
                        .await?,
                ));
            }
            Change::SetRequests(requests) => self.set_requests_impl(on, user, requests).await?,
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => {
                self.put_counter_impl(on, user, other, uid, rid.as_ref(), text)
                    .await?;
            }
            Change::RemoveCounter { other, uid, rid } => {
                return Ok(Outcome::Changed(
                    self.remove_counter_impl(on, user, other, uid, rid.as_ref())
                        .await?,
                ));
            }
            Change::RemoveCounters { uid, rid, only } => {
                return Ok(Outcome::Count(
                    self.remove_counters_impl(on, user, uid, rid.as_ref(), only.as_ref())
                        .await?,
                ));
            }
            Change::RemoveEvent { uid, rid } => {
                return Ok(Outcome::Changed(
                    objects::remove(pool, on, &STORE_OBJECTS, owner, uid, rid.as_ref()).await?,
                ));
            }
            Change::CancelStored { uid, rid } | Change::Uncancel { uid, rid } => {
                let to = if matches!(change, Change::CancelStored { .. }) {
                    EventStatus::Cancelled
                } else {
                    EventStatus::Active
                };
                let rid = rid.as_ref();
                objects::set_status(pool, on, &STORE_OBJECTS, owner, uid, rid, to).await?;
            }
            Change::SetProviders(p) => {
                return Ok(Outcome::Version(
                    providers::write_locked(pool, tx, &STORE_PROVIDERS, owner, p, None).await?,
                ));
            }
            Change::SetPreference { name, value } => {
                self.set_preference_impl(on, user, name, value.as_deref())
                    .await?;
            }
            _ => {
                return Err(Error::invalid(format!(
                    "{}: PostgreSQL does not know this change",
                    doing()
                )))
            }
        }
        Ok(Outcome::Done)
    }
}

/// The period-table operation of a table write (every change with a [`Change::table`]).
fn table_op(change: &Change) -> Option<Op<'_>> {
    Some(match change {
        Change::Reserve {
            periods, capacity, ..
        } => Op::Reserve {
            periods: periods.clone(),
            capacity: *capacity,
        },
        Change::SetFreeBusy { periods, .. } => Op::SetAll(periods.clone()),
        Change::ReplaceUidPeriods { uid, periods, .. } => Op::ReplaceUids {
            uids: std::slice::from_ref(uid),
            periods: periods.clone(),
        },
        Change::ReplaceUidsPeriods { uids, periods, .. } => Op::ReplaceUids {
            uids,
            periods: periods.clone(),
        },
        Change::ReplaceEventPeriods {
            uid, rid, periods, ..
        } => Op::ReplaceEvent {
            uid,
            rid: rid.as_ref(),
            periods: periods.clone(),
        },
        Change::RemoveEventPeriods { uid, rid, .. } => Op::RemoveEvent {
            uid,
            rid: rid.as_ref(),
        },
        Change::RemoveAdditionalPeriods { uid, keep, .. } => Op::RemoveAdditional { uid, keep },
        Change::RemoveAffectedPeriod { uid, start, .. } => {
            Op::RemoveAffected { uid, start: *start }
        }
        _ => return None,
    })
}
