//! The statements behind the writes of [`super::write`]: deleting one event's rows, inserting
//! periods from arrays, replacing a whole table by its difference, and the journal's limit and
//! usage sums.

use calstore::id::rid_text;
use calstore::{Error, Period, Result, Rid, Uid};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::{ToSql, Type};

use super::Target;
use crate::pool::PgPool;

type Doing<'a> = &'a (dyn Fn() -> String + Sync);

pub(super) async fn exec<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    doing: Doing<'_>,
) -> Result<u64> {
    let stmt = client
        .prepare_cached(sql)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    client
        .execute(&stmt, params)
        .await
        .map_err(|e| pool.error(&e, doing()))
}

/// A parameter with its type, for [`exec_replanned`].
pub(super) type Typed<'a> = (&'a (dyn ToSql + Sync), Type);

/// The owner keys of `t` as text parameters, for [`exec_replanned`].
pub(super) fn typed_keys<'a>(t: &'a Target<'_>) -> Vec<Typed<'a>> {
    t.keys
        .iter()
        .map(|k| (k as &(dyn ToSql + Sync), Type::TEXT))
        .collect()
}

/// Runs a delete of some of an owner's rows (one event's, one uid's) as an unnamed statement
/// with its parameter types: one round trip, like a cached statement, but planned for the table
/// as it is at every call.
///
/// Why: a cached statement switches to a generic plan after five calls and keeps it until an
/// `ANALYZE` of the table invalidates it; made while the table had a few pages (a new database,
/// a pool's first calls) that plan is a sequential scan, which then reads the whole table at
/// every call however large it grows: 0.25 ms per call at ~6,000 rows in the `agent` benchmark,
/// against 0.005 ms through the `…_event` index. Parsing and planning every time cost about
/// 0.03 ms.
pub(super) async fn exec_replanned(
    pool: &PgPool,
    tx: &Transaction<'_>,
    sql: &str,
    params: &[Typed<'_>],
    doing: Doing<'_>,
) -> Result<u64> {
    tx.execute_typed(sql, params)
        .await
        .map_err(|e| pool.error(&e, doing()))
}

/// The delete of every row of the uids in the array parameter after the owner keys (a uid's
/// replacement, an import's batch).
pub(super) fn delete_uids_sql(t: &Target<'_>) -> String {
    format!(
        "DELETE FROM {} WHERE {} AND object_uid = ANY(${}::text[])",
        t.table.name,
        t.key_pred(""),
        t.keys.len() + 1
    )
}

/// Deletes the rows of one event: the owner keys, uid and rid all name columns of the
/// `…_event` index.
pub(super) async fn delete_event(
    pool: &PgPool,
    tx: &Transaction<'_>,
    t: &Target<'_>,
    uid: &Uid,
    rid: Option<&Rid>,
) -> Result<u64> {
    let n = t.keys.len();
    let sql = format!(
        "DELETE FROM {} WHERE {} AND object_uid = ${} AND object_recurrenceid = ${}",
        t.table.name,
        t.key_pred(""),
        n + 1,
        n + 2
    );
    let (u, r) = (uid.as_str(), rid_text(rid));
    let mut params = typed_keys(t);
    params.push((&u, Type::TEXT));
    params.push((&r, Type::TEXT));
    exec_replanned(pool, tx, &sql, &params, &|| {
        format!("writing {}", t.describe())
    })
    .await
}

/// Replaces the whole table by `periods` (normalised: table order, one period per identity),
/// writing only what changed. Two statements, in this order:
///
/// 1. delete the owner's rows that are not exactly among `periods` — every column compared,
///    the nullable ones with `IS NOT DISTINCT FROM` — and count the rows there were;
/// 2. insert `periods` `ON CONFLICT DO NOTHING`: the rows kept by step 1 are skipped by the
///    primary key, and a period whose details changed (same identity, other transparency,
///    summary, organiser, expiry or attendee) was deleted by step 1 and is inserted again.
///    Skipped when step 1 kept a row for every period (kept rows have distinct identities,
///    each equal to one period), which saves a primary-key probe per period.
///
/// Unchanged rows are never written (no index maintenance, WAL or dead tuple for them), which
/// is what makes the nightly `make-freebusy --all --reset` cheap. Delete and insert are two
/// statements, not data-modifying CTEs of one: the parts of one statement do not see each
/// other's changes, so the insert would test its conflicts against the rows being deleted and
/// skip changed periods.
pub(super) async fn set_all(
    pool: &PgPool,
    tx: &Transaction<'_>,
    t: &Target<'_>,
    periods: &[Period],
) -> Result<()> {
    let doing = || format!("writing {}", t.describe());
    if periods.is_empty() {
        let sql = format!("DELETE FROM {} WHERE {}", t.table.name, t.key_pred(""));
        let deleted = exec(pool, tx, &sql, &t.key_params(), &doing).await?;
        tracing::debug!("replaced {}: {deleted} row(s) deleted", t.describe());
        return Ok(());
    }
    // Hash the new periods, whatever the planner estimates: see HASH_JOIN_ONLY.
    tx.batch_execute(HASH_JOIN_ONLY)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let arrays = Arrays::new(periods);
    let stmt = tx
        .prepare_cached(&delete_others_sql(t))
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let row = tx
        .query_one(&stmt, &arrays.params(t))
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    tx.batch_execute(JOINS_AS_BEFORE)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let (deleted, before): (i64, i64) = (row.get(0), row.get(1));
    let kept = u64::try_from(before - deleted).unwrap_or_default();
    let inserted = if kept == periods.len() as u64 {
        0
    } else {
        insert(pool, tx, t, periods).await?
    };
    tracing::debug!(
        "replaced {}: {deleted} row(s) deleted, {inserted} inserted, {kept} kept",
        t.describe()
    );
    Ok(())
}

/// Planner settings for the anti-join of [`delete_others_sql`], until [`JOINS_AS_BEFORE`]. Its
/// plan must be a hash anti join (the new periods hashed once, the owner's rows probed once:
/// O(n + m)), but the planner knows neither side's size well: an array parameter counts as 10
/// elements in a generic plan, and an owner unknown to the statistics (or the pair of a two-key
/// table) as one row. On such estimates it picks a nested loop over the unnested arrays (O(n × m)
/// for a real user) or a merge on (uid, rid), which compares every pair of periods of a
/// recurring event's parent. Disabling both leaves the hash join.
pub(super) const HASH_JOIN_ONLY: &str =
    "SET LOCAL enable_nestloop = off; SET LOCAL enable_mergejoin = off";

/// Undoes [`HASH_JOIN_ONLY`] for the statements that follow in the transaction.
const JOINS_AS_BEFORE: &str =
    "SET LOCAL enable_nestloop TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT";

/// The columns of a period row after the owner keys, in [`Target::columns`] order: name, type of
/// the array that passes them, and whether they may be NULL (then compared with
/// `IS NOT DISTINCT FROM`).
const COLUMNS: [(&str, &str, bool); 9] = [
    ("\"start\"", "timestamptz[]", false),
    ("\"end\"", "timestamptz[]", false),
    ("object_uid", "text[]", false),
    ("object_recurrenceid", "text[]", false),
    ("transp", "text[]", false),
    ("summary", "text[]", true),
    ("organiser", "text[]", true),
    ("expires", "timestamptz[]", true),
    ("attendee", "text[]", true),
];

/// The columns of `t`'s rows after the owner keys (the attendee's only in journal tables).
pub(super) fn columns(t: &Target<'_>) -> &'static [(&'static str, &'static str, bool)] {
    if t.table.attendee {
        &COLUMNS
    } else {
        &COLUMNS[..8]
    }
}

/// The first statement of [`set_all`]: deletes the owner's rows that are not exactly (every
/// column) among the new periods, which [`Arrays::params`] passes after the owner keys, and
/// returns how many it deleted and how many there were (read in the statement's snapshot, which
/// the delete does not change).
pub(super) fn delete_others_sql(t: &Target<'_>) -> String {
    let same = columns(t)
        .iter()
        .map(|(c, _, nullable)| {
            let op = if *nullable {
                "IS NOT DISTINCT FROM"
            } else {
                "="
            };
            format!("p.{c} {op} u.{c}")
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    format!(
        "WITH gone AS (DELETE FROM {table} p WHERE {keys} AND NOT EXISTS \
         (SELECT 1 FROM unnest({unnest}) AS u({cols}) WHERE {same}) RETURNING 1) \
         SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM {table} WHERE {owner})",
        table = t.table.name,
        keys = t.key_pred("p."),
        unnest = unnest_sql(t),
        cols = t.columns(""),
        owner = t.key_pred(""),
    )
}

/// `$n+1::timestamptz[], …`: the arguments of `unnest` for the arrays of [`Arrays::params`].
fn unnest_sql(t: &Target<'_>) -> String {
    let n = t.keys.len();
    columns(t)
        .iter()
        .enumerate()
        .map(|(i, (_, ty, _))| format!("${}::{ty}", n + 1 + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Periods as one array per column, so that a statement takes any number of them in a fixed
/// number of parameters (and `unnest` turns them back into rows).
struct Arrays<'p> {
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    uids: Vec<&'p str>,
    rids: Vec<&'p str>,
    transps: Vec<&'p str>,
    summaries: Vec<Option<&'p str>>,
    organisers: Vec<Option<&'p str>>,
    expiries: Vec<Option<DateTime<Utc>>>,
    attendees: Vec<Option<&'p str>>,
}

impl<'p> Arrays<'p> {
    fn new(periods: &'p [Period]) -> Self {
        Arrays {
            starts: periods.iter().map(|p| p.start).collect(),
            ends: periods.iter().map(|p| p.end).collect(),
            uids: periods.iter().map(|p| p.uid.as_str()).collect(),
            rids: periods.iter().map(|p| rid_text(p.rid.as_ref())).collect(),
            transps: periods.iter().map(|p| p.fbtype.table_str()).collect(),
            summaries: periods.iter().map(|p| p.summary.as_deref()).collect(),
            organisers: periods.iter().map(|p| p.organiser.as_deref()).collect(),
            expiries: periods.iter().map(|p| p.expiry).collect(),
            attendees: periods.iter().map(|p| p.attendee.as_deref()).collect(),
        }
    }

    /// The owner keys of `t`, then the arrays in [`columns`] order.
    fn params<'a>(&'a self, t: &'a Target<'_>) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut params = t.key_params();
        params.extend([
            &self.starts as &(dyn ToSql + Sync),
            &self.ends,
            &self.uids,
            &self.rids,
            &self.transps,
            &self.summaries,
            &self.organisers,
            &self.expiries,
        ]);
        if t.table.attendee {
            params.push(&self.attendees);
        }
        params
    }
}

/// Inserts periods; an identity already present keeps its row (`ON CONFLICT DO NOTHING`).
/// Returns the number of rows inserted.
pub(super) async fn insert<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    t: &Target<'_>,
    periods: &[Period],
) -> Result<u64> {
    if periods.is_empty() {
        return Ok(0);
    }
    let n = t.keys.len();
    let keys = (1..=n)
        .map(|i| format!("${i}::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {table} ({keycols}, {cols}) SELECT {keys}, u.* FROM unnest({unnest}) AS u \
         ON CONFLICT DO NOTHING",
        table = t.table.name,
        keycols = t.table.keys.join(", "),
        cols = t.columns(""),
        unnest = unnest_sql(t),
    );
    let arrays = Arrays::new(periods);
    exec(pool, client, &sql, &arrays.params(t), &|| {
        format!("writing {}", t.describe())
    })
    .await
}

/// The limit that applies to the group of a journal table: its own, else `*`; `None` when there
/// is neither (unlimited).
pub(super) async fn group_limit<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    t: &Target<'_>,
) -> Result<Option<chrono::Duration>> {
    let doing = || format!("reading the limit for {}", t.describe());
    let stmt = client
        .prepare_cached(
            "SELECT quota_limit FROM quota_limits WHERE quota = $1 AND user_group IN ($2, '*') \
             ORDER BY user_group = '*' LIMIT 1",
        )
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let row = client
        .query_opt(&stmt, &t.key_params())
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    match row {
        None => Ok(None),
        Some(row) => {
            let text: String = row.get(0);
            calstore::duration::parse_duration(&text)
                .map(Some)
                .map_err(|e| Error::corrupt(format!("{}: {}", doing(), e.message())))
        }
    }
}

/// The busy seconds of the periods of other events than (uid, rid).
pub(super) async fn busy_seconds_of_others<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    t: &Target<'_>,
    uid: &Uid,
    rid: Option<&Rid>,
) -> Result<i64> {
    let n = t.keys.len();
    let sql = format!(
        "SELECT coalesce(sum(extract(epoch FROM \"end\" - \"start\")), 0)::bigint FROM {} \
         WHERE {} AND transp <> 'TRANSPARENT' \
         AND NOT (object_uid = ${} AND object_recurrenceid = ${})",
        t.table.name,
        t.key_pred(""),
        n + 1,
        n + 2
    );
    let (u, r) = (uid.as_str(), rid_text(rid));
    let mut params = t.key_params();
    params.push(&u);
    params.push(&r);
    let doing = || format!("adding up the usage of {}", t.describe());
    let stmt = client
        .prepare_cached(&sql)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let row = client
        .query_one(&stmt, &params)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    Ok(row.get(0))
}
