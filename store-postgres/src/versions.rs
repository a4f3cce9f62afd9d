//! Per-owner write locks and table versions.
//!
//! Every write transaction first takes `pg_advisory_xact_lock(namespace, hashtext(owner))` for
//! its user (store) or quota (journal), so writers of one owner run one after another and never
//! deadlock (each takes exactly one such lock, first). Versioned writes then bump the table's row
//! in `store_versions`/`journal_versions` in the same transaction; a stale `expect` rolls back.

use calstore::{Error, Result, Version};
use deadpool_postgres::{GenericClient, Transaction};

use crate::pool::PgPool;

/// Where the versions of one kind of owner live, and the lock namespace of that kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionTable {
    /// `store_versions` or `journal_versions`.
    pub(crate) table: &'static str,
    /// `store_user` or `quota`.
    pub(crate) owner_col: &'static str,
    /// The first key of the advisory lock ("cs" for the store, "cj" for the journal).
    pub(crate) lock_ns: i32,
    /// What the owner is called in messages.
    pub(crate) owner_word: &'static str,
}

/// The store's users.
pub(crate) const STORE: VersionTable = VersionTable {
    table: "store_versions",
    owner_col: "store_user",
    lock_ns: 0x6373,
    owner_word: "user",
};

/// The journal's quotas.
pub(crate) const JOURNAL: VersionTable = VersionTable {
    table: "journal_versions",
    owner_col: "quota",
    lock_ns: 0x636a,
    owner_word: "quota",
};

/// Takes the owner's write lock until the end of the transaction.
pub(crate) async fn lock(
    pool: &PgPool,
    tx: &Transaction<'_>,
    vt: VersionTable,
    owner: &str,
) -> Result<()> {
    let stmt = tx
        .prepare_cached("SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))")
        .await
        .map_err(|e| pool.error(&e, format!("locking {} {owner}", vt.owner_word)))?;
    tx.execute(&stmt, &[&vt.lock_ns, &owner])
        .await
        .map_err(|e| pool.error(&e, format!("locking {} {owner}", vt.owner_word)))?;
    Ok(())
}

/// Bumps the version of one table and returns the new one; fails with a conflict, changing
/// nothing once the transaction is dropped, when `expect` is not the version before.
pub(crate) async fn bump(
    pool: &PgPool,
    tx: &Transaction<'_>,
    vt: VersionTable,
    owner: &str,
    table_name: &str,
    expect: Option<Version>,
) -> Result<Version> {
    let sql = format!(
        "INSERT INTO {t} ({o}, table_name, version) VALUES ($1, $2, 1) \
         ON CONFLICT ({o}, table_name) DO UPDATE SET version = {t}.version + 1 \
         RETURNING version",
        t = vt.table,
        o = vt.owner_col
    );
    let doing = || format!("writing {table_name} of {} {owner}", vt.owner_word);
    let stmt = tx
        .prepare_cached(&sql)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let row = tx
        .query_one(&stmt, &[&owner, &table_name])
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let new = version_of(row.get::<_, i64>(0));
    let old = Version(new.0 - 1);
    if let Some(expect) = expect {
        if expect != old {
            return Err(Error::stale(format!(
                "{table_name} of {} {owner} changed since it was read (read {expect}, now {old})",
                vt.owner_word
            )));
        }
    }
    Ok(new)
}

/// Bumps every table of `names` without checking (for writes that span tables, such as expiry).
pub(crate) async fn bump_all(
    pool: &PgPool,
    tx: &Transaction<'_>,
    vt: VersionTable,
    owner: &str,
    names: &[String],
) -> Result<()> {
    for name in names {
        bump(pool, tx, vt, owner, name, None).await?;
    }
    Ok(())
}

/// The current version of one table (0 when never written).
pub(crate) async fn current<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    vt: VersionTable,
    owner: &str,
    table_name: &str,
) -> Result<Version> {
    let sql = format!(
        "SELECT coalesce(max(version), 0) FROM {} WHERE {} = $1 AND table_name = $2",
        vt.table, vt.owner_col
    );
    let doing = || {
        format!(
            "reading the version of {table_name} of {} {owner}",
            vt.owner_word
        )
    };
    let stmt = client
        .prepare_cached(&sql)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let row = client
        .query_one(&stmt, &[&owner, &table_name])
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    Ok(version_of(row.get::<_, i64>(0)))
}

/// The current version of one table as a plain read (routed: a replica may serve it), for
/// `table_version`: one indexed row of the versions table, without reading the table itself.
pub(crate) async fn read(
    pool: &PgPool,
    vt: VersionTable,
    owner: &str,
    table_name: &str,
) -> Result<Version> {
    let sql = format!(
        "SELECT coalesce(max(version), 0) FROM {} WHERE {} = $1 AND table_name = $2",
        vt.table, vt.owner_col
    );
    let doing = format!(
        "reading the version of {table_name} of {} {owner}",
        vt.owner_word
    );
    let rows = pool.read_rows(&sql, &[&owner, &table_name], &doing).await?;
    // An aggregate without GROUP BY always yields one row.
    let row = rows
        .first()
        .ok_or_else(|| Error::corrupt(format!("{doing}: no row")))?;
    Ok(version_of(row.get::<_, i64>(0)))
}

/// A stored version as calstore's (stored versions are positive).
pub(crate) fn version_of(v: i64) -> Version {
    Version(u64::try_from(v).unwrap_or(0))
}
