//! Stored events (parents and separately stored instances, active or cancelled), shared by the
//! store (`objects`, `recurrences`) and the journal (`journal_objects`, `journal_recurrences`).
//! Each call is one statement.

use calstore::id::rid_text;
use calstore::object::EventObject;
use std::collections::HashMap;

use calstore::{Error, EventFamily, EventList, EventStatus, Result, Rid, StoredEvent, Uid};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::pool::{Access, PgPool};

/// The two tables of one kind of owner.
#[derive(Debug)]
pub(crate) struct ObjectTables {
    pub(crate) parents: &'static str,
    pub(crate) instances: &'static str,
    pub(crate) owner_col: &'static str,
    pub(crate) owner_word: &'static str,
}

pub(crate) static STORE_OBJECTS: ObjectTables = ObjectTables {
    parents: "objects",
    instances: "recurrences",
    owner_col: "store_user",
    owner_word: "user",
};

pub(crate) static JOURNAL_OBJECTS: ObjectTables = ObjectTables {
    parents: "journal_objects",
    instances: "journal_recurrences",
    owner_col: "quota",
    owner_word: "quota",
};

fn status_text(s: EventStatus) -> &'static str {
    match s {
        EventStatus::Active => "active",
        EventStatus::Cancelled => "cancelled",
    }
}

fn parse_status(text: &str) -> Result<EventStatus> {
    match text {
        "active" => Ok(EventStatus::Active),
        "cancelled" => Ok(EventStatus::Cancelled),
        other => Err(Error::corrupt(format!("unknown object status {other:?}"))),
    }
}

fn describe(ot: &ObjectTables, owner: &str, uid: &Uid, rid: Option<&Rid>) -> String {
    match rid {
        None => format!("event {uid} of {} {owner}", ot.owner_word),
        Some(r) => format!("instance {r} of event {uid} of {} {owner}", ot.owner_word),
    }
}

async fn run(
    pool: &PgPool,
    access: Access,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    doing: &str,
) -> Result<Vec<tokio_postgres::Row>> {
    if access == Access::Read {
        return pool.read_rows(sql, params, doing).await;
    }
    let client = pool.writer(doing).await?;
    run_on(pool, &client, sql, params, doing).await
}

/// Runs one statement on the primary through `client` (a pooled connection or a transaction).
pub(crate) async fn run_on<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    doing: &str,
) -> Result<Vec<tokio_postgres::Row>> {
    let stmt = client
        .prepare_cached(sql)
        .await
        .map_err(|e| pool.error(&e, doing))?;
    client
        .query(&stmt, params)
        .await
        .map_err(|e| pool.error(&e, doing))
}

/// Stores an event as active, replacing any active or cancelled copy.
pub(crate) async fn put(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
    text: &str,
) -> Result<()> {
    check_put(pool, ot, owner, uid, rid, text)?;
    let client = pool
        .writer(&format!("storing {}", describe(ot, owner, uid, rid)))
        .await?;
    upsert(pool, &client, ot, owner, uid, rid, text).await
}

/// Everything [`put`] checks before it writes: the store may be written, and the text is one
/// VEVENT of (uid, rid). Callers that store an object inside a larger transaction run it before
/// they touch the database, so that bad input writes nothing.
pub(crate) fn check_put(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
    text: &str,
) -> Result<()> {
    let what = describe(ot, owner, uid, rid);
    if pool.is_read_only() {
        return Err(Error::read_only(format!(
            "cannot store {what}: the store is read-only"
        )));
    }
    EventObject::parse_for_key(text, uid, rid).map_err(|e| e.context(format!("storing {what}")))?;
    Ok(())
}

/// The upsert of [`put`] through `client` (a pooled connection or a caller's transaction), the
/// text already checked by [`check_put`].
pub(crate) async fn upsert<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
    text: &str,
) -> Result<()> {
    let doing = format!("storing {}", describe(ot, owner, uid, rid));
    let u = uid.as_str();
    match rid {
        None => {
            let sql = format!(
                "INSERT INTO {t} ({o}, object_uid, object_text, status, updated_at) \
                 VALUES ($1, $2, $3, 'active', now()) ON CONFLICT ({o}, object_uid) DO UPDATE \
                 SET object_text = EXCLUDED.object_text, status = 'active', updated_at = now()",
                t = ot.parents,
                o = ot.owner_col
            );
            run_on(pool, client, &sql, &[&owner, &u, &text], &doing).await?;
        }
        Some(r) => {
            let sql = format!(
                "INSERT INTO {t} ({o}, object_uid, object_recurrenceid, object_text, status, \
                 updated_at) VALUES ($1, $2, $3, $4, 'active', now()) \
                 ON CONFLICT ({o}, object_uid, object_recurrenceid) DO UPDATE \
                 SET object_text = EXCLUDED.object_text, status = 'active', updated_at = now()",
                t = ot.instances,
                o = ot.owner_col
            );
            let r = r.as_str();
            run_on(pool, client, &sql, &[&owner, &u, &r, &text], &doing).await?;
        }
    }
    Ok(())
}

/// The stored event with its status, or `None`.
pub(crate) async fn get(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
) -> Result<Option<StoredEvent>> {
    let doing = format!("reading {}", describe(ot, owner, uid, rid));
    let u = uid.as_str();
    let rows = match rid {
        None => {
            let sql = format!(
                "SELECT object_text, status FROM {} WHERE {} = $1 AND object_uid = $2",
                ot.parents, ot.owner_col
            );
            run(pool, Access::Read, &sql, &[&owner, &u], &doing).await?
        }
        Some(r) => {
            let sql = format!(
                "SELECT object_text, status FROM {} WHERE {} = $1 AND object_uid = $2 \
                 AND object_recurrenceid = $3",
                ot.instances, ot.owner_col
            );
            let r = r.as_str();
            run(pool, Access::Read, &sql, &[&owner, &u, &r], &doing).await?
        }
    };
    match rows.first() {
        None => Ok(None),
        Some(row) => Ok(Some(StoredEvent {
            text: row.get(0),
            status: parse_status(row.get(1)).map_err(|e| e.context(&doing))?,
        })),
    }
}

/// Removes an event (a parent with its instances); returns whether anything was removed.
pub(crate) async fn remove(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
) -> Result<bool> {
    let what = describe(ot, owner, uid, rid);
    if pool.is_read_only() {
        return Err(Error::read_only(format!(
            "cannot remove {what}: the store is read-only"
        )));
    }
    let doing = format!("removing {what}");
    let u = uid.as_str();
    let rows = match rid {
        None => {
            // One statement: the parent and every instance go together.
            let sql = format!(
                "WITH p AS (DELETE FROM {p} WHERE {o} = $1 AND object_uid = $2 RETURNING 1), \
                 i AS (DELETE FROM {i} WHERE {o} = $1 AND object_uid = $2 RETURNING 1) \
                 SELECT (SELECT count(*) FROM p) + (SELECT count(*) FROM i)",
                p = ot.parents,
                i = ot.instances,
                o = ot.owner_col
            );
            run(pool, Access::Write, &sql, &[&owner, &u], &doing).await?
        }
        Some(r) => {
            let sql = format!(
                "WITH i AS (DELETE FROM {i} WHERE {o} = $1 AND object_uid = $2 \
                 AND object_recurrenceid = $3 RETURNING 1) SELECT count(*) FROM i",
                i = ot.instances,
                o = ot.owner_col
            );
            let r = r.as_str();
            run(pool, Access::Write, &sql, &[&owner, &u, &r], &doing).await?
        }
    };
    let removed: i64 = rows.first().map_or(0, |r| r.get(0));
    Ok(removed > 0)
}

/// Moves an event from status `from` to `to`.
pub(crate) async fn set_status(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
    rid: Option<&Rid>,
    from: EventStatus,
    to: EventStatus,
) -> Result<()> {
    let what = describe(ot, owner, uid, rid);
    if pool.is_read_only() {
        return Err(Error::read_only(format!(
            "cannot change {what}: the store is read-only"
        )));
    }
    let doing = format!("marking {what} {}", status_text(to));
    let u = uid.as_str();
    let (f, t) = (status_text(from), status_text(to));
    let sql = format!(
        "UPDATE {} SET status = $3, updated_at = now() WHERE {} = $1 AND object_uid = $2 \
         AND status = $4 AND object_recurrenceid = $5",
        ot.instances, ot.owner_col
    );
    let rows = match rid {
        None => {
            let sql = format!(
                "WITH u AS (UPDATE {} SET status = $3, updated_at = now() WHERE {} = $1 \
                 AND object_uid = $2 AND status = $4 RETURNING 1) SELECT count(*) FROM u",
                ot.parents, ot.owner_col
            );
            run(pool, Access::Write, &sql, &[&owner, &u, &t, &f], &doing).await?
        }
        Some(r) => {
            let sql = format!("WITH u AS ({sql} RETURNING 1) SELECT count(*) FROM u");
            let r = r.as_str();
            run(pool, Access::Write, &sql, &[&owner, &u, &t, &f, &r], &doing).await?
        }
    };
    let changed: i64 = rows.first().map_or(0, |r| r.get(0));
    if changed == 0 {
        return Err(Error::not_found(format!("no {f} copy of {what}")));
    }
    Ok(())
}

/// Every object of an owner, by kind, each list sorted.
pub(crate) async fn list(pool: &PgPool, ot: &ObjectTables, owner: &str) -> Result<EventList> {
    let doing = format!("listing the events of {} {owner}", ot.owner_word);
    let sql = format!(
        "SELECT object_uid, '' AS object_recurrenceid, status FROM {p} WHERE {o} = $1 \
         UNION ALL \
         SELECT object_uid, object_recurrenceid, status FROM {i} WHERE {o} = $1 \
         ORDER BY 1, 2",
        p = ot.parents,
        i = ot.instances,
        o = ot.owner_col
    );
    let rows = run(pool, Access::Read, &sql, &[&owner], &doing).await?;
    let mut out = EventList::default();
    for row in rows {
        let uid = Uid::new(row.get::<_, String>(0))
            .map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))?;
        let rid: String = row.get(1);
        let status = parse_status(row.get(2)).map_err(|e| e.context(&doing))?;
        if rid.is_empty() {
            match status {
                EventStatus::Active => out.active.push(uid),
                EventStatus::Cancelled => out.cancelled.push(uid),
            }
        } else {
            let rid =
                Rid::new(rid).map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))?;
            match status {
                EventStatus::Active => out.active_instances.push((uid, rid)),
                EventStatus::Cancelled => out.cancelled_instances.push((uid, rid)),
            }
        }
    }
    // The database sorts with COLLATE "C"; sorting again costs little and guarantees Rust's order.
    out.active.sort();
    out.cancelled.sort();
    out.active_instances.sort();
    out.cancelled_instances.sort();
    Ok(out)
}

/// The separately stored instances of one event, sorted by rid.
pub(crate) async fn instances(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uid: &Uid,
) -> Result<Vec<(Rid, EventStatus)>> {
    let doing = format!(
        "listing the instances of event {uid} of {} {owner}",
        ot.owner_word
    );
    let sql = format!(
        "SELECT object_recurrenceid, status FROM {} WHERE {} = $1 AND object_uid = $2 \
         ORDER BY object_recurrenceid",
        ot.instances, ot.owner_col
    );
    let u = uid.as_str();
    let rows = run(pool, Access::Read, &sql, &[&owner, &u], &doing).await?;
    rows.iter()
        .map(|row| {
            let rid = Rid::new(row.get::<_, String>(0))
                .map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))?;
            Ok((
                rid,
                parse_status(row.get(1)).map_err(|e| e.context(&doing))?,
            ))
        })
        .collect()
}

/// What [`load`] finds of one uid: the parent, and the instances in rid order.
type Family = (Option<StoredEvent>, Vec<(Rid, StoredEvent)>);

/// The parent and instances of each of `uids`, one [`EventFamily`] per uid in the order given
/// (repeats included; an unknown uid has neither), instances sorted by rid: what the trait's
/// default builds from `get_event` and `instances`, in one statement (one snapshot, one round
/// trip, routed: a replica may serve it).
pub(crate) async fn load(
    pool: &PgPool,
    ot: &ObjectTables,
    owner: &str,
    uids: &[Uid],
) -> Result<Vec<EventFamily>> {
    load_with(
        pool,
        None::<&deadpool_postgres::Transaction<'_>>,
        ot,
        owner,
        uids,
    )
    .await
}

/// [`load`] inside a transaction (a step's expectation, read under the user's lock).
pub(crate) async fn load_on<C: GenericClient>(
    pool: &PgPool,
    client: &C,
    ot: &ObjectTables,
    owner: &str,
    uids: &[Uid],
) -> Result<Vec<EventFamily>> {
    load_with(pool, Some(client), ot, owner, uids).await
}

async fn load_with<C: GenericClient>(
    pool: &PgPool,
    client: Option<&C>,
    ot: &ObjectTables,
    owner: &str,
    uids: &[Uid],
) -> Result<Vec<EventFamily>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let doing = format!(
        "reading {} event(s) of {} {owner}",
        uids.len(),
        ot.owner_word
    );
    // The parent's rid is '' and sorts first; the explicit collation makes the UNION's column
    // "C" like the table's, so the order is Rust's byte order.
    let sql = format!(
        "SELECT object_uid, ''::text COLLATE \"C\", object_text, status FROM {p} \
         WHERE {o} = $1 AND object_uid = ANY($2::text[]) \
         UNION ALL \
         SELECT object_uid, object_recurrenceid, object_text, status FROM {i} \
         WHERE {o} = $1 AND object_uid = ANY($2::text[]) \
         ORDER BY 1, 2",
        p = ot.parents,
        i = ot.instances,
        o = ot.owner_col
    );
    let keys: Vec<&str> = uids.iter().map(Uid::as_str).collect();
    let rows = match client {
        Some(c) => run_on(pool, c, &sql, &[&owner, &keys], &doing).await?,
        None => run(pool, Access::Read, &sql, &[&owner, &keys], &doing).await?,
    };
    let mut found: HashMap<String, Family> = HashMap::new();
    for row in rows {
        let uid: String = row.get(0);
        let rid: String = row.get(1);
        let stored = StoredEvent {
            text: row.get(2),
            status: parse_status(row.get(3)).map_err(|e| e.context(&doing))?,
        };
        let entry = found.entry(uid).or_default();
        if rid.is_empty() {
            entry.0 = Some(stored);
        } else {
            let rid = key_from(rid, Rid::new, &doing)?;
            entry.1.push((rid, stored));
        }
    }
    // A uid asked for more than once gets a copy each time but the last, which takes the rows.
    let mut left: HashMap<&str, usize> = HashMap::new();
    for uid in uids {
        *left.entry(uid.as_str()).or_default() += 1;
    }
    let mut out = Vec::with_capacity(uids.len());
    for uid in uids {
        let n = left.entry(uid.as_str()).or_default();
        *n -= 1;
        let (parent, mut instances) = if *n == 0 {
            found.remove(uid.as_str()).unwrap_or_default()
        } else {
            found.get(uid.as_str()).cloned().unwrap_or_default()
        };
        // The database sorted by bytes already; sorting again guarantees Rust's order.
        instances.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(EventFamily {
            uid: uid.clone(),
            parent,
            instances,
        });
    }
    Ok(out)
}

/// Runs one statement for a caller outside this module (queues, counters, preferences).
pub(crate) async fn query(
    pool: &PgPool,
    access: Access,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    doing: &str,
) -> Result<Vec<tokio_postgres::Row>> {
    run(pool, access, sql, params, doing).await
}

/// A text key from a row, refused as corrupt when it is not a valid key.
pub(crate) fn key_from<T>(
    value: String,
    parse: impl Fn(String) -> Result<T>,
    doing: &str,
) -> Result<T> {
    parse(value).map_err(|e| Error::corrupt(format!("{doing}: {}", e.message())))
}

/// The rid column's text for an optional rid.
pub(crate) fn rid_param(rid: Option<&Rid>) -> &str {
    rid_text(rid)
}
