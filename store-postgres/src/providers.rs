//! Providers tables (events that recur without end, and the window end used), shared by the
//! store (`freebusy_providers`, `freebusy_provider_datetimes`) and the journal
//! (`journal_freebusy_providers`, `journal_freebusy_provider_datetimes`).

use calstore::id::{parse_rid_text, rid_text};
use calstore::{Error, Providers, Result, Uid, Version, Versioned};
use chrono::{DateTime, Utc};

use deadpool_postgres::Transaction;

use crate::pool::PgPool;
use crate::versions::{self, VersionTable, JOURNAL, STORE};

/// The tables of one kind of owner.
#[derive(Debug)]
pub(crate) struct ProviderTables {
    pub(crate) events: &'static str,
    pub(crate) datetimes: &'static str,
    pub(crate) vt: VersionTable,
    /// The name of the table's version.
    pub(crate) version_name: &'static str,
}

pub(crate) static STORE_PROVIDERS: ProviderTables = ProviderTables {
    events: "freebusy_providers",
    datetimes: "freebusy_provider_datetimes",
    vt: STORE,
    version_name: "freebusy-providers",
};

pub(crate) static JOURNAL_PROVIDERS: ProviderTables = ProviderTables {
    events: "journal_freebusy_providers",
    datetimes: "journal_freebusy_provider_datetimes",
    vt: JOURNAL,
    version_name: "providers",
};

/// The providers with their version, in one statement (one snapshot).
pub(crate) async fn read(
    pool: &PgPool,
    pt: &ProviderTables,
    owner: &str,
) -> Result<Versioned<Providers>> {
    let o = pt.vt.owner_col;
    let sql = format!(
        "SELECT (SELECT coalesce(max(version), 0) FROM {vt} WHERE {o} = $1 AND table_name = $2), \
                (SELECT \"start\" FROM {dt} WHERE {o} = $1), \
                ARRAY(SELECT object_uid FROM {ev} WHERE {o} = $1 \
                      ORDER BY object_uid, object_recurrenceid), \
                ARRAY(SELECT object_recurrenceid FROM {ev} WHERE {o} = $1 \
                      ORDER BY object_uid, object_recurrenceid)",
        vt = pt.vt.table,
        dt = pt.datetimes,
        ev = pt.events,
    );
    let doing = format!("reading the providers of {} {owner}", pt.vt.owner_word);
    let rows = pool
        .read_rows(&sql, &[&owner, &pt.version_name], &doing)
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| Error::corrupt(format!("{doing}: no row")))?;
    let version = versions::version_of(row.get(0));
    let window_end: Option<DateTime<Utc>> = row.get(1);
    let uids: Vec<String> = row.get(2);
    let rids: Vec<String> = row.get(3);
    let mut events = Vec::with_capacity(uids.len());
    for (u, r) in uids.into_iter().zip(rids) {
        let bad = |e: Error| Error::corrupt(format!("{doing}: {}", e.message()));
        events.push((Uid::new(u).map_err(bad)?, parse_rid_text(&r).map_err(bad)?));
    }
    events.sort();
    Ok(Versioned {
        value: Providers { window_end, events },
        version,
    })
}

/// Replaces the providers in one transaction under the owner's lock.
pub(crate) async fn write(
    pool: &PgPool,
    pt: &ProviderTables,
    owner: &str,
    providers: &Providers,
    expect: Option<Version>,
) -> Result<Version> {
    let doing = format!("writing the providers of {} {owner}", pt.vt.owner_word);
    let mut client = pool.writer(&doing).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    versions::lock(pool, &tx, pt.vt, owner).await?;
    let version = write_locked(pool, &tx, pt, owner, providers, expect).await?;
    tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
    Ok(version)
}

/// [`write`] inside the caller's transaction, which holds the owner's lock (a step's).
pub(crate) async fn write_locked(
    pool: &PgPool,
    tx: &Transaction<'_>,
    pt: &ProviderTables,
    owner: &str,
    providers: &Providers,
    expect: Option<Version>,
) -> Result<Version> {
    let doing = format!("writing the providers of {} {owner}", pt.vt.owner_word);
    let version = versions::bump(pool, tx, pt.vt, owner, pt.version_name, expect).await?;
    let o = pt.vt.owner_col;
    let mut events = providers.events.clone();
    events.sort();
    events.dedup();
    let uids: Vec<&str> = events.iter().map(|(u, _)| u.as_str()).collect();
    let rids: Vec<&str> = events.iter().map(|(_, r)| rid_text(r.as_ref())).collect();
    // One statement (one round trip instead of four): the entries not in the new list go, the
    // new ones come (the two sets are disjoint, so the sub-statements, which do not see each
    // other's changes, cannot collide), and the window end is set or removed.
    let sql = format!(
        "WITH new AS (SELECT * FROM unnest($2::text[], $3::text[]) AS u(uid, rid)), \
         gone AS (DELETE FROM {events} e WHERE e.{o} = $1 AND NOT EXISTS \
           (SELECT 1 FROM new WHERE new.uid = e.object_uid AND new.rid = e.object_recurrenceid)), \
         added AS (INSERT INTO {events} ({o}, object_uid, object_recurrenceid) \
           SELECT $1::text, uid, rid FROM new ON CONFLICT DO NOTHING), \
         no_end AS (DELETE FROM {dt} WHERE {o} = $1 AND $4::timestamptz IS NULL), \
         new_end AS (INSERT INTO {dt} ({o}, \"start\") SELECT $1::text, $4::timestamptz \
           WHERE $4::timestamptz IS NOT NULL \
           ON CONFLICT ({o}) DO UPDATE SET \"start\" = EXCLUDED.\"start\") \
         SELECT 1",
        events = pt.events,
        dt = pt.datetimes,
    );
    let stmt = tx
        .prepare_cached(&sql)
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    tx.execute(&stmt, &[&owner, &uids, &rids, &providers.window_end])
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    Ok(version)
}

/// Adds `uid` (the parent, rid `''`) when `present`, dropping its instance entries, else removes
/// every entry of `uid` — what the trait's default read-modify-write leaves — in one transaction
/// under the owner's lock. The version is bumped only when a row changed, so a no-op keeps it
/// (and writes nothing: the transaction then has no row change to commit). The window end is not
/// touched. Returns whether the table changed.
pub(crate) async fn mark(
    pool: &PgPool,
    pt: &ProviderTables,
    owner: &str,
    uid: &Uid,
    present: bool,
) -> Result<bool> {
    let doing = format!(
        "marking event {uid} as {} in the providers of {} {owner}",
        if present { "a provider" } else { "no provider" },
        pt.vt.owner_word
    );
    let sql = mark_statement(pt, present);
    let mut client = pool.writer(&doing).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    versions::lock(pool, &tx, pt.vt, owner).await?;
    let changed = mark_sql(pool, &tx, pt, owner, uid, &sql, &doing).await?;
    tx.commit().await.map_err(|e| pool.error(&e, &doing))?;
    Ok(changed)
}

/// [`mark`] inside the caller's transaction, which holds the owner's lock: the agent's step marks
/// the provider together with its other changes.
pub(crate) async fn mark_locked(
    pool: &PgPool,
    tx: &Transaction<'_>,
    pt: &ProviderTables,
    owner: &str,
    uid: &Uid,
    present: bool,
) -> Result<bool> {
    let doing = format!(
        "marking event {uid} as {} in the providers of {} {owner}",
        if present { "a provider" } else { "no provider" },
        pt.vt.owner_word
    );
    mark_sql(
        pool,
        tx,
        pt,
        owner,
        uid,
        &mark_statement(pt, present),
        &doing,
    )
    .await
}

/// A [`calstore::Change::MarkProviders`] inside the caller's transaction, which holds the
/// owner's lock: every mark (the last of a uid winning, each as [`mark`]) and the window end
/// lowered to `horizon` (set when none is recorded), in one statement; the version is bumped
/// when a row changed. Returns whether the table changed.
pub(crate) async fn marks_locked(
    pool: &PgPool,
    tx: &Transaction<'_>,
    pt: &ProviderTables,
    owner: &str,
    marks: &[(Uid, bool)],
    horizon: Option<DateTime<Utc>>,
) -> Result<bool> {
    let doing = format!(
        "marking {} event(s) in the providers of {} {owner}",
        marks.len(),
        pt.vt.owner_word
    );
    let mut last: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for (u, present) in marks {
        last.insert(u.as_str(), *present);
    }
    let uids: Vec<&str> = last.keys().copied().collect();
    let present: Vec<bool> = last.values().copied().collect();
    let o = pt.vt.owner_col;
    // Present: the delete sees only instance rows, the insert only the parent's; absent: every
    // row of the uid goes. The window end only ever comes down here (the cron job raises it
    // with `write`).
    let sql = format!(
        "WITH m AS (SELECT * FROM unnest($2::text[], $3::bool[]) AS m(uid, present)), \
         d AS (DELETE FROM {ev} e USING m WHERE e.{o} = $1 AND e.object_uid = m.uid \
               AND (NOT m.present OR e.object_recurrenceid <> '') RETURNING 1), \
         i AS (INSERT INTO {ev} ({o}, object_uid, object_recurrenceid) \
               SELECT $1::text, uid, '' FROM m WHERE present ON CONFLICT DO NOTHING RETURNING 1), \
         h AS (INSERT INTO {dt} ({o}, \"start\") SELECT $1::text, $4::timestamptz \
               WHERE $4::timestamptz IS NOT NULL \
               ON CONFLICT ({o}) DO UPDATE SET \"start\" = EXCLUDED.\"start\" \
               WHERE {dt}.\"start\" > EXCLUDED.\"start\" RETURNING 1) \
         SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM i) + (SELECT count(*) FROM h)",
        ev = pt.events,
        dt = pt.datetimes,
    );
    let stmt = tx
        .prepare_cached(&sql)
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    let row = tx
        .query_one(&stmt, &[&owner, &uids, &present, &horizon])
        .await
        .map_err(|e| pool.error(&e, &doing))?;
    let changed = row.get::<_, i64>(0) > 0;
    if changed {
        versions::bump(pool, tx, pt.vt, owner, pt.version_name, None).await?;
    }
    Ok(changed)
}

/// The statement of [`mark`]: one each way, counting the rows it changed. Present: the delete
/// only sees instance rows and the insert only the parent's, so the two never touch the same
/// row.
fn mark_statement(pt: &ProviderTables, present: bool) -> String {
    let o = pt.vt.owner_col;
    if present {
        format!(
            "WITH d AS (DELETE FROM {ev} WHERE {o} = $1 AND object_uid = $2 \
                        AND object_recurrenceid <> '' RETURNING 1), \
                  i AS (INSERT INTO {ev} ({o}, object_uid, object_recurrenceid) \
                        VALUES ($1, $2, '') ON CONFLICT DO NOTHING RETURNING 1) \
             SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM i)",
            ev = pt.events
        )
    } else {
        format!(
            "WITH d AS (DELETE FROM {ev} WHERE {o} = $1 AND object_uid = $2 RETURNING 1) \
             SELECT count(*) FROM d",
            ev = pt.events
        )
    }
}

/// Runs the mark statement and bumps the version when a row changed.
async fn mark_sql(
    pool: &PgPool,
    tx: &Transaction<'_>,
    pt: &ProviderTables,
    owner: &str,
    uid: &Uid,
    sql: &str,
    doing: &str,
) -> Result<bool> {
    let stmt = tx
        .prepare_cached(sql)
        .await
        .map_err(|e| pool.error(&e, doing))?;
    let row = tx
        .query_one(&stmt, &[&owner, &uid.as_str()])
        .await
        .map_err(|e| pool.error(&e, doing))?;
    let changed = row.get::<_, i64>(0) > 0;
    if changed {
        versions::bump(pool, tx, pt.vt, owner, pt.version_name, None).await?;
    }
    Ok(changed)
}
