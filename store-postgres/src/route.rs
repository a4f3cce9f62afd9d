//! Routing of plain reads: which server serves a read, and what happens when it cannot.
//!
//! A read goes to the primary when the handle forces it ([`PgPool::with_primary`]), when the
//! task runs inside [`on_primary`], or when there are no replicas. Otherwise the candidates —
//! the replicas not left out, and the primary if it serves reads — are tried in random order:
//! a replica that cannot be reached, fails during the read, or lags more than the bound is left
//! out (see `cluster.rs`) and the next candidate is tried; when none is left the primary serves
//! the read. Errors that say nothing about the server (a bad key, a corrupt row) are returned at
//! once.

use std::future::Future;

use calstore::{ErrorKind, Result};
use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::cluster::{lag_of, LagCheck, Server, ServerRole, LAG_SQL};
use crate::error::query_error;
use crate::pool::PgPool;

tokio::task_local! {
    /// Set inside [`on_primary`].
    static ON_PRIMARY: ();
}

/// Runs `future` with every call that it makes on any [`PgStore`](crate::PgStore) or
/// [`PgJournal`](crate::PgJournal) — plain reads included — sent to the primary: the scope form
/// of [`PgStore::with_primary`](crate::PgStore::with_primary), for read-your-writes over
/// several calls (a web front end's request that has just written, a read-modify-write sequence
/// such as `calstore::refresh`). The scope follows the future across `.await`s on its task; tasks
/// it spawns are not in the scope.
///
/// ```no_run
/// # async fn example(store: calstore_postgres::PgStore, user: calstore::User) -> calstore::Result<()> {
/// use calstore::{Store, Table};
/// store.set_freebusy(&user, &Table::FreeBusy, Vec::new(), None).await?;
/// let fresh = calstore_postgres::on_primary(async {
///     store.freebusy(&user, &Table::FreeBusy).await
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn on_primary<F: Future>(future: F) -> F::Output {
    ON_PRIMARY.scope((), future).await
}

/// Whether the current task runs inside [`on_primary`].
pub fn in_primary_scope() -> bool {
    ON_PRIMARY.try_with(|()| ()).is_ok()
}

/// What became of a read tried on one candidate.
enum Attempt {
    Done(Result<Vec<Row>>),
    /// The server cannot serve it now: try the next.
    Skip,
}

impl PgPool {
    /// Runs one read-only statement on the server routing picks, trying others when a replica
    /// fails; `doing` names the call in errors and in the debug log.
    pub(crate) async fn read_rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        doing: &str,
    ) -> Result<Vec<Row>> {
        let cluster = &self.cluster;
        let primary = &cluster.primary;
        if self.force_primary || in_primary_scope() || cluster.replicas.is_empty() {
            return self.read_on_primary(sql, params, doing).await;
        }
        for server in cluster.read_candidates() {
            if server.role == ServerRole::Primary {
                return self.read_on_primary(sql, params, doing).await;
            }
            match self.try_replica(server, sql, params, doing).await {
                Attempt::Done(result) => return result,
                Attempt::Skip => {}
            }
        }
        tracing::debug!(
            "{doing}: no replica can serve it; {} does",
            primary.describe()
        );
        self.read_on_primary(sql, params, doing).await
    }

    async fn read_on_primary(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        doing: &str,
    ) -> Result<Vec<Row>> {
        let primary = &self.cluster.primary;
        let client = primary.get().await?;
        primary.count_read();
        tracing::debug!("{doing}: on {}", primary.describe());
        run(&client, primary, sql, params, doing).await
    }

    async fn try_replica(
        &self,
        server: &Server,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        doing: &str,
    ) -> Attempt {
        let cluster = &self.cluster;
        let client = match server.get().await {
            Ok(c) => c,
            Err(e) => {
                if e.kind() == ErrorKind::Unavailable {
                    server.mark_down(&e, cluster.retry);
                } else {
                    tracing::debug!("{doing}: skipping {}: {e}", server.describe());
                }
                return Attempt::Skip;
            }
        };
        if let Some(max) = cluster.max_lag {
            match server.lag_check(cluster.lag_interval) {
                LagCheck::Within => {}
                LagCheck::Lagging => return Attempt::Skip,
                LagCheck::Measure => match measure_lag(&client, server).await {
                    Ok(lag) if server.record_lag(lag, max) => {}
                    Ok(_) => return Attempt::Skip,
                    Err(e) => {
                        server.mark_down(&e, cluster.retry);
                        return Attempt::Skip;
                    }
                },
            }
        }
        match run(&client, server, sql, params, doing).await {
            Ok(rows) => {
                server.mark_up();
                server.count_read();
                tracing::debug!("{doing}: on {}", server.describe());
                Attempt::Done(Ok(rows))
            }
            // The server failed (or the standby cancelled the read to replay WAL, or its pool is
            // exhausted): the read can be served elsewhere.
            Err(e) if e.kind() == ErrorKind::Unavailable => {
                server.mark_down(&e, cluster.retry);
                Attempt::Skip
            }
            Err(e) if matches!(e.kind(), ErrorKind::Stale | ErrorKind::Locked) => {
                tracing::debug!("{doing}: {} could not serve it: {e}", server.describe());
                Attempt::Skip
            }
            Err(e) => Attempt::Done(Err(e)),
        }
    }
}

/// Prepares (cached) and runs one statement, naming `server` in errors.
async fn run(
    client: &Object,
    server: &Server,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    doing: &str,
) -> Result<Vec<Row>> {
    let stmt = client
        .prepare_cached(sql)
        .await
        .map_err(|e| query_error(&e, &server.target, doing))?;
    client
        .query(&stmt, params)
        .await
        .map_err(|e| query_error(&e, &server.target, doing))
}

/// The replica's replay lag ([`LAG_SQL`]).
async fn measure_lag(client: &Object, server: &Server) -> Result<std::time::Duration> {
    let doing = format!("measuring the replay lag of {}", server.describe());
    let rows = run(client, server, LAG_SQL, &[], &doing).await?;
    let seconds: f64 = rows.first().map_or(f64::INFINITY, |r| r.get(0));
    let lag = lag_of(seconds);
    tracing::debug!("{doing}: {seconds} s");
    Ok(lag)
}
