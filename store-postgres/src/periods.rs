//! Free/busy tables in SQL, shared by the store (`freebusy`, `freebusy_offers`,
//! `freebusy_other`) and the journal (`quota_freebusy`, `user_freebusy`): reading in table
//! order, overlap queries on the hash-keyed GiST index, and the atomic writes of [`Op`].

use std::sync::OnceLock;

use calstore::id::parse_rid_text;
use calstore::{Error, FbType, Period, Result, Uid, Version, Versioned};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::pool::PgPool;
use crate::versions::{self, VersionTable, JOURNAL, STORE};

mod statements;
#[cfg(all(test, feature = "test-harness"))]
mod tests;
mod write;

pub(crate) use write::{prepare, write, write_locked, Op};

/// One SQL table of periods and the columns that name its owner.
#[derive(Debug)]
pub(crate) struct PeriodTable {
    /// The SQL table.
    pub(crate) name: &'static str,
    /// The owner columns, in parameter order (`store_user`, then `other` for `freebusy_other`).
    pub(crate) keys: &'static [&'static str],
    /// Whether rows carry the attendee (journal tables).
    pub(crate) attendee: bool,
    /// Whether expired rows are invisible and purged (offers).
    pub(crate) offers: bool,
    /// Where the versions live.
    pub(crate) vt: VersionTable,
    /// The statements of [`read`] (whole table, range), built once: a query that takes a
    /// fraction of a millisecond should not format its SQL every time.
    read_sql: [OnceLock<String>; 2],
}

pub(crate) static FREEBUSY: PeriodTable = PeriodTable {
    name: "freebusy",
    keys: &["store_user"],
    attendee: false,
    offers: false,
    vt: STORE,
    read_sql: [OnceLock::new(), OnceLock::new()],
};
pub(crate) static OFFERS: PeriodTable = PeriodTable {
    name: "freebusy_offers",
    keys: &["store_user"],
    attendee: false,
    offers: true,
    vt: STORE,
    read_sql: [OnceLock::new(), OnceLock::new()],
};
pub(crate) static OTHER: PeriodTable = PeriodTable {
    name: "freebusy_other",
    keys: &["store_user", "other"],
    attendee: false,
    offers: false,
    vt: STORE,
    read_sql: [OnceLock::new(), OnceLock::new()],
};
pub(crate) static QUOTA_FREEBUSY: PeriodTable = PeriodTable {
    name: "quota_freebusy",
    keys: &["quota", "user_group"],
    attendee: true,
    offers: false,
    vt: JOURNAL,
    read_sql: [OnceLock::new(), OnceLock::new()],
};
pub(crate) static USER_FREEBUSY: PeriodTable = PeriodTable {
    name: "user_freebusy",
    keys: &["quota", "store_user"],
    attendee: true,
    offers: false,
    vt: JOURNAL,
    read_sql: [OnceLock::new(), OnceLock::new()],
};

/// One owner's table: the SQL table, the owner key values, and the name its version has.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) table: &'static PeriodTable,
    pub(crate) keys: Vec<&'a str>,
    pub(crate) version_name: String,
}

impl Target<'_> {
    pub(super) fn owner(&self) -> &str {
        self.keys.first().copied().unwrap_or_default()
    }

    /// "freebusy-offers of user mailto:a@example.com", for messages.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} of {} {}",
            self.version_name,
            self.table.vt.owner_word,
            self.owner()
        )
    }

    pub(super) fn key_params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect()
    }

    /// `p.store_user = $1 AND p.other = $2`.
    pub(super) fn key_pred(&self, alias: &str) -> String {
        self.table
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{alias}{k} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The owner test of the overlap queries. The GiST index is keyed on the hash of the owner
    /// keys (`hashtext(store_user)`, `hashtext(store_user || other)`: store-postgres/sql/0003, docs/schema.md),
    /// so the query names that same expression; the exact keys follow because hashes collide.
    /// They are written as `texteq(…)` calls rather than `=` so that the planner cannot use them
    /// to read the primary key: it counts the two tests as independent, finds the rows of one
    /// owner rarer than they are, and would AND a scan of the owner's whole primary-key range
    /// with the GiST scan — O(n) reads for a user with many periods instead of O(log n + k).
    fn overlap_key_pred(&self, alias: &str) -> String {
        let concat = |items: Vec<String>| items.join(" || ");
        let cols = concat(
            self.table
                .keys
                .iter()
                .map(|k| format!("{alias}{k}"))
                .collect(),
        );
        let params = concat(
            (1..=self.keys.len())
                .map(|i| format!("${i}::text"))
                .collect(),
        );
        let mut pred = format!("hashtext({cols}) = hashtext({params})");
        for (i, k) in self.table.keys.iter().enumerate() {
            pred.push_str(&format!(" AND texteq({alias}{k}, ${}::text)", i + 1));
        }
        pred
    }

    /// Hides expired offers; a period without expiry never expires.
    fn live(&self, alias: &str) -> String {
        if self.table.offers {
            format!(" AND ({alias}expires IS NULL OR {alias}expires > now())")
        } else {
            String::new()
        }
    }

    pub(super) fn columns(&self, alias: &str) -> String {
        let mut cols = [
            "\"start\"",
            "\"end\"",
            "object_uid",
            "object_recurrenceid",
            "transp",
            "summary",
            "organiser",
            "expires",
        ]
        .map(|c| format!("{alias}{c}"))
        .join(", ");
        if self.table.attendee {
            cols.push_str(&format!(", {alias}attendee"));
        }
        cols
    }

    fn order(alias: &str) -> String {
        format!("{alias}\"start\", {alias}\"end\", {alias}object_uid, {alias}object_recurrenceid")
    }

    fn decode(&self, row: &Row, offset: usize) -> Result<Period> {
        period_from_row(row, offset, self.table.attendee).map_err(|e| e.context(self.describe()))
    }
}

/// The exact half-open overlap test of `calstore::Period::overlaps` for [`$a`, `$b`), after the
/// closed-range GiST test that finds the candidates (so zero-length periods are found too).
fn overlap_pred(alias: &str, a: &str, b: &str) -> String {
    format!(
        "tstzrange({alias}\"start\", {alias}\"end\", '[]') && tstzrange({a}, greatest({a}, {b}), '[]') \
         AND ({alias}\"start\" < {b} AND {a} < {alias}\"end\" \
              OR {alias}\"start\" = {alias}\"end\" AND {a} <= {alias}\"start\" AND {alias}\"start\" < {b})"
    )
}

/// The statement of [`read`]: the version (`$n+1` names the table), then the rows of the whole
/// table, or (`ranged`) those overlapping [`$n+2`, `$n+3`), in table order.
fn read_sql(t: &Target<'_>, ranged: bool) -> String {
    let n = t.keys.len();
    let (keys, filter) = if ranged {
        let (a, b) = (
            format!("${}::timestamptz", n + 2),
            format!("${}::timestamptz", n + 3),
        );
        // A reversed range finds nothing (as in the file store), without an SQL error.
        let filter = format!(" AND {a} <= {b} AND {}", overlap_pred("p.", &a, &b));
        (t.overlap_key_pred("p."), filter)
    } else {
        // The whole table: the primary key reads it in table order, without a sort.
        (t.key_pred("p."), String::new())
    };
    format!(
        "SELECT v.version, {cols} FROM \
         (SELECT coalesce(max(version), 0) AS version FROM {vt} \
          WHERE {vo} = $1 AND table_name = ${tn}) v \
         LEFT JOIN {table} p ON {keys}{live}{filter} \
         ORDER BY {order}",
        cols = t.columns("p."),
        vt = t.table.vt.table,
        vo = t.table.vt.owner_col,
        tn = n + 1,
        table = t.table.name,
        live = t.live("p."),
        order = Target::order("p."),
    )
}

/// The whole table, or the periods overlapping [start, end), in table order, with the version —
/// one statement, so one snapshot.
pub(crate) async fn read(
    pool: &PgPool,
    t: &Target<'_>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Versioned<Vec<Period>>> {
    let sql =
        t.table.read_sql[usize::from(range.is_some())].get_or_init(|| read_sql(t, range.is_some()));
    let mut params = t.key_params();
    params.push(&t.version_name);
    let (start, end) = range.unzip();
    if range.is_some() {
        params.push(&start);
        params.push(&end);
    }
    let doing = || format!("reading {}", t.describe());
    let rows = pool.read_rows(sql, &params, &doing()).await?;
    let mut version = Version(0);
    let mut periods = Vec::with_capacity(rows.len());
    for row in &rows {
        version = versions::version_of(row.get::<_, i64>(0));
        let start: Option<DateTime<Utc>> = row
            .try_get(1)
            .map_err(|e| Error::corrupt(format!("{}: {e}", doing())))?;
        if start.is_some() {
            periods.push(t.decode(row, 1)?);
        }
    }
    Ok(Versioned {
        value: periods,
        version,
    })
}

/// The statement of [`near`]: the periods overlapping any of the candidates (`$n+1`, `$n+2`:
/// arrays of starts and ends), in table order.
fn near_sql(t: &Target<'_>) -> String {
    let n = t.keys.len();
    format!(
        "SELECT DISTINCT {cols} FROM unnest(${a}::timestamptz[], ${b}::timestamptz[]) AS c(s, e) \
         JOIN {table} p ON {keys}{live} AND {overlap} ORDER BY {order}",
        cols = t.columns("p."),
        a = n + 1,
        b = n + 2,
        table = t.table.name,
        keys = t.overlap_key_pred("p."),
        live = t.live("p."),
        overlap = overlap_pred("p.", "c.s", "c.e"),
        order = Target::order("p."),
    )
}

fn near_doing(t: &Target<'_>) -> String {
    format!(
        "reading the periods of {} near the candidates",
        t.describe()
    )
}

/// The periods overlapping any of `candidates`, in table order, read through `client` (inside
/// a write's transaction).
pub(crate) async fn near<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    t: &Target<'_>,
    candidates: &[Period],
) -> Result<Vec<Period>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let starts: Vec<DateTime<Utc>> = candidates.iter().map(|p| p.start).collect();
    let ends: Vec<DateTime<Utc>> = candidates.iter().map(|p| p.end).collect();
    let mut params = t.key_params();
    params.push(&starts);
    params.push(&ends);
    let doing = || near_doing(t);
    let stmt = client
        .prepare_cached(&near_sql(t))
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    let rows = client
        .query(&stmt, &params)
        .await
        .map_err(|e| pool.error(&e, doing()))?;
    rows.iter().map(|r| t.decode(r, 0)).collect()
}

/// As [`near`], as a plain read (routed: a replica may serve it).
pub(crate) async fn near_read(
    pool: &PgPool,
    t: &Target<'_>,
    candidates: &[Period],
) -> Result<Vec<Period>> {
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let starts: Vec<DateTime<Utc>> = candidates.iter().map(|p| p.start).collect();
    let ends: Vec<DateTime<Utc>> = candidates.iter().map(|p| p.end).collect();
    let mut params = t.key_params();
    params.push(&starts);
    params.push(&ends);
    let rows = pool
        .read_rows(&near_sql(t), &params, &near_doing(t))
        .await?;
    rows.iter().map(|r| t.decode(r, 0)).collect()
}

/// Reads a period from `row` starting at column `at`.
pub(crate) fn period_from_row(row: &Row, at: usize, attendee: bool) -> Result<Period> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Error::corrupt(format!("bad {what} in a stored period: {e}"))
    };
    let get_text = |i: usize| -> Result<Option<String>> {
        row.try_get::<_, Option<String>>(at + i)
            .map_err(|e| bad("column", &e))
    };
    let start: DateTime<Utc> = row.try_get(at).map_err(|e| bad("start", &e))?;
    let end: DateTime<Utc> = row.try_get(at + 1).map_err(|e| bad("end", &e))?;
    let uid = Uid::new(get_text(2)?.unwrap_or_default()).map_err(|e| bad("uid", &e))?;
    let rid = parse_rid_text(&get_text(3)?.unwrap_or_default()).map_err(|e| bad("rid", &e))?;
    let fbtype = FbType::parse(&get_text(4)?.unwrap_or_default()).map_err(|e| bad("transp", &e))?;
    let expiry: Option<DateTime<Utc>> = row.try_get(at + 7).map_err(|e| bad("expiry", &e))?;
    let p = Period {
        start,
        end,
        uid,
        rid,
        fbtype,
        summary: get_text(5)?,
        organiser: get_text(6)?,
        expiry,
        attendee: if attendee { get_text(8)? } else { None },
    };
    p.validate().map_err(|e| bad("period", &e))?;
    Ok(p)
}
