//! PostgreSQL baselines: the statements calstore's store runs, sent through a bare
//! `tokio-postgres` client (no pool, no version checks beyond the statements themselves), so the
//! difference to `PgStore` is what the store adds — or, where BENCHMARKS.md says so, what it
//! costs to spread the work over several transactions.

use anyhow::{Context, Result};
use calstore::id::rid_text;
use calstore::Period;
use chrono::{DateTime, Utc};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement};

/// What the agent baseline does, for the output.
pub const AGENT_BASELINE: &str =
    "bare tokio-postgres: the store's statements (lock, version bump, object upsert, delete+insert of the periods, request insert) in one transaction";

const INSERT_PERIODS: &str = "INSERT INTO freebusy (store_user, \"start\", \"end\", object_uid, \
     object_recurrenceid, transp, summary, organiser, expires) \
     SELECT $1::text, u.* FROM unnest($2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::timestamptz[]) AS u ON CONFLICT DO NOTHING";

/// The store's per-user lock: namespace 0x6373 ("cs"), the user's hash.
const LOCK: &str = "SELECT pg_advisory_xact_lock(25459, hashtext($1::text))";

const BUMP: &str =
    "INSERT INTO store_versions (store_user, table_name, version) VALUES ($1, $2, 1) \
     ON CONFLICT (store_user, table_name) DO UPDATE SET version = store_versions.version + 1 \
     RETURNING version";

/// The store's delete of one event's periods (`periods::statements::delete_event`), sent as the
/// store sends it: unnamed, with its parameter types, so it is planned at every call.
const DELETE_EVENT: &str =
    "DELETE FROM freebusy WHERE store_user = $1 AND object_uid = $2 AND object_recurrenceid = $3";

/// Deletes the periods of the parent event `uid` of `user` with the store's statement.
async fn delete_event(tx: &tokio_postgres::Transaction<'_>, user: &str, uid: &str) -> Result<()> {
    tx.execute_typed(
        DELETE_EVENT,
        &[(&user, Type::TEXT), (&uid, Type::TEXT), (&"", Type::TEXT)],
    )
    .await
    .context("bare client: deleting periods")?;
    Ok(())
}

/// Inserts periods of `user` with the store's statement.
async fn insert_periods(
    tx: &tokio_postgres::Transaction<'_>,
    stmt: &Statement,
    user: &str,
    periods: &[Period],
) -> Result<()> {
    if periods.is_empty() {
        return Ok(());
    }
    let starts: Vec<DateTime<Utc>> = periods.iter().map(|p| p.start).collect();
    let ends: Vec<DateTime<Utc>> = periods.iter().map(|p| p.end).collect();
    let uids: Vec<&str> = periods.iter().map(|p| p.uid.as_str()).collect();
    let rids: Vec<&str> = periods.iter().map(|p| rid_text(p.rid.as_ref())).collect();
    let transps: Vec<&str> = periods.iter().map(|p| p.fbtype.table_str()).collect();
    let summaries: Vec<Option<&str>> = periods.iter().map(|p| p.summary.as_deref()).collect();
    let organisers: Vec<Option<&str>> = periods.iter().map(|p| p.organiser.as_deref()).collect();
    let expiries: Vec<Option<DateTime<Utc>>> = periods.iter().map(|p| p.expiry).collect();
    let params: [&(dyn ToSql + Sync); 9] = [
        &user,
        &starts,
        &ends,
        &uids,
        &rids,
        &transps,
        &summaries,
        &organisers,
        &expiries,
    ];
    tx.execute(stmt, &params)
        .await
        .context("bare client: inserting periods")?;
    Ok(())
}

/// A bare client with the store's statements prepared once (as the store's pool caches them),
/// except the delete of an event's periods, which the store plans at every call.
pub struct Bare {
    client: Client,
    lock: Statement,
    bump: Statement,
    put: Statement,
    delete_all: Statement,
    insert: Statement,
    queue: Statement,
}

/// A bare client on `url`, without prepared statements.
///
/// # Errors
///
/// When the server cannot be reached.
pub async fn connect(url: &str) -> Result<Client> {
    calstore_postgres::connect_client(url)
        .await
        .context("bare client: cannot connect")
}

impl Bare {
    /// Connects and prepares the statements.
    ///
    /// # Errors
    ///
    /// When the server cannot be reached or the schema is missing.
    pub async fn connect(url: &str) -> Result<Bare> {
        let client = connect(url).await?;
        Ok(Bare {
            lock: client.prepare(LOCK).await?,
            bump: client.prepare(BUMP).await?,
            put: client
                .prepare(
                    "INSERT INTO objects (store_user, object_uid, object_text, status, updated_at) \
                     VALUES ($1, $2, $3, 'active', now()) ON CONFLICT (store_user, object_uid) DO UPDATE \
                     SET object_text = EXCLUDED.object_text, status = 'active', updated_at = now()",
                )
                .await?,
            delete_all: client.prepare("DELETE FROM freebusy WHERE store_user = $1").await?,
            insert: client.prepare(INSERT_PERIODS).await?,
            queue: client
                .prepare(
                    "INSERT INTO requests (store_user, object_uid, object_recurrenceid, request_type) \
                     VALUES ($1, $2, '', 'REQUEST') ON CONFLICT (store_user, object_uid, object_recurrenceid, \
                     request_type) DO NOTHING RETURNING 1",
                )
                .await?,
            client,
        })
    }

    /// Starts a transaction with the user's lock taken and the table's version bumped.
    async fn begin(&mut self, user: &str) -> Result<tokio_postgres::Transaction<'_>> {
        let tx = self.client.transaction().await?;
        tx.execute(&self.lock, &[&user])
            .await
            .context("bare client: lock")?;
        tx.query_one(&self.bump, &[&user, &"freebusy"])
            .await
            .context("bare client: version")?;
        Ok(tx)
    }

    /// One agent step in one transaction: the statements `put_event`, `replace_event_periods`
    /// and `queue_request` run, committed once.
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn agent_step(
        &mut self,
        user: &str,
        uid: &str,
        text: &str,
        periods: &[Period],
    ) -> Result<()> {
        let (put, insert, queue) = (self.put.clone(), self.insert.clone(), self.queue.clone());
        let tx = self.begin(user).await?;
        tx.execute(&put, &[&user, &uid, &text])
            .await
            .context("bare client: object")?;
        delete_event(&tx, user, uid).await?;
        insert_periods(&tx, &insert, user, periods).await?;
        tx.query(&queue, &[&user, &uid])
            .await
            .context("bare client: request")?;
        tx.commit().await.context("bare client: commit")?;
        Ok(())
    }

    /// The same statements committed as the store's three calls commit them: the object upsert
    /// alone, the periods in a transaction with lock and version, the request alone. Against
    /// [`Bare::agent_step`] this isolates the cost of three commits instead of one.
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn agent_step_three_commits(
        &mut self,
        user: &str,
        uid: &str,
        text: &str,
        periods: &[Period],
    ) -> Result<()> {
        self.client
            .execute(&self.put, &[&user, &uid, &text])
            .await
            .context("bare client: object")?;
        self.replace_event(user, uid, periods).await?;
        self.client
            .query(&self.queue, &[&user, &uid])
            .await
            .context("bare client: request")?;
        Ok(())
    }

    /// `replace_event_periods` of a parent event in one transaction, as the store does it.
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn replace_event(&mut self, user: &str, uid: &str, periods: &[Period]) -> Result<()> {
        let insert = self.insert.clone();
        let tx = self.begin(user).await?;
        delete_event(&tx, user, uid).await?;
        insert_periods(&tx, &insert, user, periods).await?;
        tx.commit().await.context("bare client: commit")?;
        Ok(())
    }

    /// Replaces a user's whole `freebusy` table in one transaction (what `set_freebusy` amounts
    /// to).
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn rewrite_table(&mut self, user: &str, periods: &[Period]) -> Result<()> {
        let (delete, insert) = (self.delete_all.clone(), self.insert.clone());
        let tx = self.begin(user).await?;
        tx.execute(&delete, &[&user]).await?;
        insert_periods(&tx, &insert, user, periods).await?;
        tx.commit().await.context("bare client: commit")?;
        Ok(())
    }
}

/// Durable single-row commits: upserts of a text into a scratch table, each its own transaction
/// (the server's commit rate, the analogue of a raw file replacement).
pub struct Commits {
    client: Client,
    stmt: Statement,
    body: String,
    next: i32,
}

impl Commits {
    /// Connects, creates the scratch table and prepares the upsert of a `size`-byte text.
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn new(url: &str, size: usize) -> Result<Commits> {
        let client = connect(url).await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS bench_raw (id int PRIMARY KEY, body text NOT NULL)",
            )
            .await
            .context("bare client: scratch table")?;
        let stmt = client
            .prepare("INSERT INTO bench_raw (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body")
            .await?;
        Ok(Commits {
            client,
            stmt,
            body: "x".repeat(size),
            next: 0,
        })
    }

    /// The time of `count` commits, one after another.
    ///
    /// # Errors
    ///
    /// The database's errors.
    pub async fn run(&mut self, count: usize) -> Result<std::time::Duration> {
        let started = std::time::Instant::now();
        for _ in 0..count {
            self.next = (self.next + 1) % 64;
            self.client
                .execute(&self.stmt, &[&self.next, &self.body])
                .await
                .context("bare client: upsert")?;
        }
        Ok(started.elapsed())
    }
}

/// The statement `PgStore::freebusy_in` runs for the `freebusy` table (as of this writing), to
/// split a query's time into the server's execution, the protocol, and the store's own work.
const RANGE_QUERY: &str = "SELECT v.version, p.\"start\", p.\"end\", p.object_uid, p.object_recurrenceid, \
     p.transp, p.summary, p.organiser, p.expires FROM \
     (SELECT coalesce(max(version), 0) AS version FROM store_versions \
      WHERE store_user = $1 AND table_name = $2) v \
     LEFT JOIN freebusy p ON hashtext(p.store_user) = hashtext($1::text) AND texteq(p.store_user, $1::text) \
     AND $3::timestamptz <= $4::timestamptz \
     AND tstzrange(p.\"start\", p.\"end\", '[]') && tstzrange($3::timestamptz, greatest($3::timestamptz, $4::timestamptz), '[]') \
     AND (p.\"start\" < $4::timestamptz AND $3::timestamptz < p.\"end\" \
          OR p.\"start\" = p.\"end\" AND $3::timestamptz <= p.\"start\" AND p.\"start\" < $4::timestamptz) \
     ORDER BY p.\"start\", p.\"end\", p.object_uid, p.object_recurrenceid";

/// Where an overlap query's time goes: the median through a bare client with the store's
/// statement prepared, the median server execution time (`EXPLAIN ANALYZE`), and the median
/// round trip of a prepared `SELECT 1` (the floor any statement pays here), in ms.
///
/// # Errors
///
/// The database's errors.
pub async fn range_query_split(
    url: &str,
    user: &str,
    ranges: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<(f64, f64, f64)> {
    let client = connect(url).await?;
    let one = client.prepare("SELECT 1").await?;
    let mut trip = crate::report::Samples::default();
    for _ in 0..ranges.len() {
        let t = std::time::Instant::now();
        client.query(&one, &[]).await?;
        trip.push(t.elapsed());
    }
    let stmt = client.prepare(RANGE_QUERY).await?;
    let mut bare = crate::report::Samples::default();
    for (s, e) in ranges {
        let t = std::time::Instant::now();
        client.query(&stmt, &[&user, &"freebusy", s, e]).await?;
        bare.push(t.elapsed());
    }
    // EXPLAIN cannot take parameters of a prepared statement: the values are inlined (they are
    // timestamps and a user address of our own making).
    let mut exec = Vec::new();
    for (s, e) in ranges.iter().take(50) {
        let sql = RANGE_QUERY
            .replace("$1", &format!("'{}'", user.replace('\'', "''")))
            .replace("$2", "'freebusy'")
            .replace("$3", &format!("'{}'", s.to_rfc3339()))
            .replace("$4", &format!("'{}'", e.to_rfc3339()));
        for row in client.query(&format!("EXPLAIN ANALYZE {sql}"), &[]).await? {
            let line: String = row.try_get(0)?;
            if let Some(ms) = line
                .trim()
                .strip_prefix("Execution Time:")
                .and_then(|r| r.trim().strip_suffix("ms"))
            {
                exec.push(ms.trim().parse::<f64>().unwrap_or(0.0));
            }
        }
    }
    exec.sort_by(f64::total_cmp);
    Ok((
        bare.median_ms(),
        exec.get(exec.len() / 2).copied().unwrap_or(0.0),
        trip.median_ms(),
    ))
}
