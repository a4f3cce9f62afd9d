//! The atomic writes on a free/busy table: each is one transaction that takes the owner's lock,
//! bumps the table's version (checking the expected one), purges expired offers, then changes
//! the rows.

use calstore::period::{capacity_conflicts, check_event, check_uids, normalise};
use calstore::{Error, Period, Result, Rid, Uid, Version};
use chrono::{DateTime, Timelike, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::Type;

use super::statements::{
    busy_seconds_of_others, delete_event, delete_uids_sql, exec, exec_replanned, group_limit,
    insert, set_all, typed_keys,
};
use super::{near, Target};
use crate::pool::PgPool;
use crate::versions;

/// The atomic writes on one table.
#[derive(Debug)]
pub(crate) enum Op<'a> {
    /// Replace the whole table.
    SetAll(Vec<Period>),
    /// Replace the periods of one event.
    ReplaceEvent {
        uid: &'a Uid,
        rid: Option<&'a Rid>,
        periods: Vec<Period>,
    },
    /// Replace the periods of every event of each of `uids` (the parents' and every instance's).
    ReplaceUids {
        uids: &'a [Uid],
        periods: Vec<Period>,
    },
    /// Remove the periods of one event.
    RemoveEvent { uid: &'a Uid, rid: Option<&'a Rid> },
    /// Remove the instance periods of `uid` whose rid is not kept.
    RemoveAdditional { uid: &'a Uid, keep: &'a [Rid] },
    /// Remove the parent's period of `uid` starting at `start`.
    RemoveAffected { uid: &'a Uid, start: DateTime<Utc> },
    /// Replace one event's periods if at most `capacity` busy periods of other events overlap.
    Reserve {
        periods: Vec<Period>,
        capacity: usize,
    },
    /// Replace one event's periods if the table's busy total stays within the limit of its
    /// group (journal tables keyed by quota and group only).
    WithinLimit { periods: Vec<Period> },
}

/// An operation whose periods were checked and normalised by [`prepare`]: what
/// [`write_locked`] accepts, so that nothing reaches the database unchecked.
#[derive(Debug)]
pub(crate) struct Prepared<'a>(Op<'a>);

impl Prepared<'_> {
    /// A reservation without periods: there is no event to reserve for, the table stays as it is.
    fn changes_nothing(&self) -> bool {
        matches!(&self.0, Op::Reserve { periods, .. } | Op::WithinLimit { periods } if periods.is_empty())
    }
}

/// The current version for a write that changes nothing, checking `expect` as a write would.
async fn unchanged<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    t: &Target<'_>,
    expect: Option<Version>,
) -> Result<Version> {
    let now = versions::current(pool, client, t.table.vt, t.owner(), &t.version_name).await?;
    if let Some(e) = expect.filter(|e| *e != now) {
        return Err(Error::stale(format!(
            "{} changed since it was read (read {e}, now {now})",
            t.describe()
        )));
    }
    Ok(now)
}

/// Runs one write in one transaction: the owner's lock, the version bump (checking `expect`),
/// the purge of expired offers, then the change. Returns the new version.
pub(crate) async fn write(
    pool: &PgPool,
    t: &Target<'_>,
    expect: Option<Version>,
    op: Op<'_>,
) -> Result<Version> {
    // Validate before touching the database: nothing is written for bad input.
    let op = prepare(op)?;
    if op.changes_nothing() {
        // Without a transaction: there is nothing to lock or write.
        let client = pool.writer(&format!("writing {}", t.describe())).await?;
        return unchanged(pool, &client, t, expect).await;
    }
    let doing = || format!("writing {}", t.describe());
    let mut client = pool.writer(&doing()).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    versions::lock(pool, &tx, t.table.vt, t.owner()).await?;
    let version = write_locked(pool, &tx, t, expect, op).await?;
    tx.commit().await.map_err(|e| pool.error(&e, doing()))?;
    Ok(version)
}

/// The body of [`write`] inside the caller's transaction `tx`, which must already hold the
/// owner's lock ([`versions::lock`], taken first so that writers never deadlock): bumps the
/// version, purges expired offers and changes the rows. Nothing is committed here — the caller
/// commits, together with its own statements (the agent's step stores object, periods and
/// request in one commit), or drops the transaction on an error, which undoes everything.
pub(crate) async fn write_locked(
    pool: &PgPool,
    tx: &Transaction<'_>,
    t: &Target<'_>,
    expect: Option<Version>,
    op: Prepared<'_>,
) -> Result<Version> {
    if op.changes_nothing() {
        return unchanged(pool, tx, t, expect).await;
    }
    let op = op.0;
    let doing = || format!("writing {}", t.describe());
    let (vt, owner) = (t.table.vt, t.owner());
    let version = versions::bump(pool, tx, vt, owner, &t.version_name, expect).await?;
    if t.table.offers {
        let sql = format!(
            "DELETE FROM {} WHERE {} AND expires <= now()",
            t.table.name,
            t.key_pred("")
        );
        exec(pool, tx, &sql, &t.key_params(), &doing).await?;
    }
    let n = t.keys.len();
    match op {
        Op::SetAll(periods) => set_all(pool, tx, t, &periods).await?,
        Op::ReplaceEvent { uid, rid, periods } => {
            delete_event(pool, tx, t, uid, rid).await?;
            insert(pool, tx, t, &periods).await?;
        }
        Op::ReplaceUids { uids, periods } => {
            let sql = delete_uids_sql(t);
            let u: Vec<&str> = uids.iter().map(Uid::as_str).collect();
            let mut params = typed_keys(t);
            params.push((&u, Type::TEXT_ARRAY));
            exec_replanned(pool, tx, &sql, &params, &doing).await?;
            insert(pool, tx, t, &periods).await?;
        }
        Op::RemoveEvent { uid, rid } => {
            delete_event(pool, tx, t, uid, rid).await?;
        }
        Op::RemoveAdditional { uid, keep } => {
            let sql = format!(
                "DELETE FROM {} WHERE {} AND object_uid = ${} AND object_recurrenceid <> '' \
                 AND object_recurrenceid <> ALL(${}::text[])",
                t.table.name,
                t.key_pred(""),
                n + 1,
                n + 2
            );
            let keep: Vec<&str> = keep.iter().map(Rid::as_str).collect();
            let u = uid.as_str();
            let mut params = typed_keys(t);
            params.push((&u, Type::TEXT));
            params.push((&keep, Type::TEXT_ARRAY));
            exec_replanned(pool, tx, &sql, &params, &doing).await?;
        }
        Op::RemoveAffected { uid, start } => {
            let (u, s) = (n + 1, n + 2);
            // Only the first such period in table order, as calstore::period::remove_affected.
            let sql = format!(
                "DELETE FROM {table} WHERE {keys} AND object_uid = ${u} \
                 AND object_recurrenceid = '' AND \"start\" = ${s} AND \"end\" = \
                 (SELECT min(\"end\") FROM {table} WHERE {keys} AND object_uid = ${u} \
                  AND object_recurrenceid = '' AND \"start\" = ${s})",
                table = t.table.name,
                keys = t.key_pred(""),
            );
            let uid = uid.as_str();
            let mut params = typed_keys(t);
            params.push((&uid, Type::TEXT));
            params.push((&start, Type::TIMESTAMPTZ));
            exec_replanned(pool, tx, &sql, &params, &doing).await?;
        }
        Op::Reserve { periods, capacity } => {
            let nearby = near(pool, tx, t, &periods).await?;
            let clash = capacity_conflicts(&nearby, &periods, capacity);
            if !clash.is_empty() {
                return Err(Error::busy(format!(
                    "cannot reserve {} in {}: {} busy period(s) of other events already use the \
                     capacity of {}: {}; nothing was written",
                    periods[0].uid,
                    t.describe(),
                    clash.len(),
                    capacity.max(1),
                    list(&clash)
                )));
            }
            let (uid, rid) = (periods[0].uid.clone(), periods[0].rid.clone());
            delete_event(pool, tx, t, &uid, rid.as_ref()).await?;
            insert(pool, tx, t, &periods).await?;
        }
        Op::WithinLimit { periods } => {
            let (uid, rid) = (periods[0].uid.clone(), periods[0].rid.clone());
            // Read under the quota's lock, so a concurrent change of limits cannot slip between.
            if let Some(limit) = group_limit(pool, tx, t).await? {
                let used = busy_seconds_of_others(pool, tx, t, &uid, rid.as_ref()).await?;
                let adding: i64 = periods
                    .iter()
                    .filter(|p| p.is_busy())
                    .map(|p| (p.end - p.start).num_seconds())
                    .sum();
                if used + adding > limit.num_seconds() {
                    return Err(Error::busy(format!(
                        "cannot reserve {uid} in {}: {used}s already used plus {adding}s would \
                         exceed the limit of {}; nothing was written",
                        t.describe(),
                        calstore::duration::format_duration(limit)
                    )));
                }
            }
            delete_event(pool, tx, t, &uid, rid.as_ref()).await?;
            insert(pool, tx, t, &periods).await?;
        }
    }
    Ok(version)
}

/// Checks and normalises the periods of an operation (whole seconds, table order, no repeats).
///
/// # Errors
///
/// Invalid input for an invalid period, or one of another event (or uid) than the operation's.
pub(crate) fn prepare(op: Op<'_>) -> Result<Prepared<'_>> {
    let tidy = |periods: Vec<Period>| -> Result<Vec<Period>> {
        for p in &periods {
            p.validate()?;
        }
        Ok(normalise(periods.into_iter().map(whole_seconds).collect()))
    };
    let one_event = |periods: &[Period]| -> Result<()> {
        match periods.first() {
            Some(first) => check_event(&first.uid, first.rid.as_ref(), periods),
            None => Ok(()),
        }
    };
    Ok(Prepared(match op {
        Op::SetAll(periods) => Op::SetAll(tidy(periods)?),
        Op::ReplaceEvent { uid, rid, periods } => {
            check_event(uid, rid, &periods)?;
            Op::ReplaceEvent {
                uid,
                rid,
                periods: tidy(periods)?,
            }
        }
        Op::ReplaceUids { uids, periods } => {
            check_uids(uids, &periods)?;
            Op::ReplaceUids {
                uids,
                periods: tidy(periods)?,
            }
        }
        Op::Reserve { periods, capacity } => {
            one_event(&periods)?;
            Op::Reserve {
                periods: tidy(periods)?,
                capacity,
            }
        }
        Op::WithinLimit { periods } => {
            one_event(&periods)?;
            Op::WithinLimit {
                periods: tidy(periods)?,
            }
        }
        other => other,
    }))
}

/// Instants are kept to the second, as in iCalendar and the file store's lines.
fn whole_seconds(mut p: Period) -> Period {
    let trunc = |t: DateTime<Utc>| t.with_nanosecond(0).unwrap_or(t);
    p.start = trunc(p.start);
    p.end = trunc(p.end);
    p.expiry = p.expiry.map(trunc);
    p
}

fn list(periods: &[Period]) -> String {
    let mut shown: Vec<String> = periods.iter().take(3).map(ToString::to_string).collect();
    if periods.len() > 3 {
        shown.push(format!("and {} more", periods.len() - 3));
    }
    shown.join(", ")
}
