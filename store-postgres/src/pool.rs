//! Options and the connection pool shared by every call of a process; the one place that hands
//! out a connection for a write ([`PgPool::writer`]) — reads are routed in `route.rs`.

use std::sync::Arc;
use std::time::Duration;

use calstore::{Error, Result};
use deadpool_postgres::Object;

use crate::cluster::{Cluster, ClusterOptions, ServerStatus};
use crate::conninfo::ConnSettings;
use crate::error::{connect_error, query_error};
use crate::tls;

/// How long a pooled connection serves by default ([`PgOptions::max_lifetime`]).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How to reach the database and how to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// A libpq URL (`postgresql://agent@db:5432/imip?sslmode=verify-full&sslrootcert=ca.pem`)
    /// or keyword string (`dbname=imip_agent`); `PG*` environment variables fill the gaps.
    pub conninfo: String,
    /// Refuse writes in calstore and open every session read-only, so the server refuses too.
    pub read_only: bool,
    /// The most connections the pool keeps open.
    pub pool_size: usize,
    /// How long a call waits for a free connection before failing with
    /// [`ErrorKind::Locked`](calstore::ErrorKind::Locked); `None` waits for ever.
    pub wait_timeout: Option<Duration>,
    /// How long a write waits for the owner's lock (or a row lock) held by another writer
    /// before failing with [`ErrorKind::Locked`](calstore::ErrorKind::Locked): the session's
    /// `lock_timeout`. `None` waits for ever.
    pub lock_timeout: Option<Duration>,
    /// How long a pooled connection is used before it is closed and replaced (checked when it
    /// is handed out again); `None` keeps it for ever. A session keeps the plans of its cached
    /// statements, and one planned while a table was empty can stay a sequential scan after the
    /// table has grown; a new session plans with the statistics of the day (sqlx and HikariCP
    /// close connections after 30 minutes for the same reasons).
    pub max_lifetime: Option<Duration>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            conninfo: String::new(),
            read_only: false,
            pool_size: 16,
            wait_timeout: Some(Duration::from_secs(30)),
            lock_timeout: Some(Duration::from_secs(30)),
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
        }
    }
}

impl PgOptions {
    /// Options for `conninfo` with the defaults: read-write, 16 connections, 30 s to wait for
    /// a connection and 30 s for a lock, connections replaced after 30 minutes.
    pub fn new(conninfo: impl Into<String>) -> Self {
        PgOptions {
            conninfo: conninfo.into(),
            ..PgOptions::default()
        }
    }

    /// The same options, read-only.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// What a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Plain reads: routed to a replica (or the primary when it serves reads, or is forced).
    Read,
    /// Writes and read-modify-write sequences: always the primary.
    Write,
}

/// The connections of one instance — its primary and its replicas — shared by a
/// [`PgStore`](crate::PgStore) and a [`PgJournal`](crate::PgJournal). Cheap to clone: clones
/// share the connections, the counters and what is known of each server's health.
///
/// Writes and read-modify-writes always go to the primary. A plain read goes to a replica picked
/// at random (the primary too with [`ClusterOptions::primary_reads`]); a replica that fails or
/// lags more than [`ClusterOptions::max_replica_lag`] is left out with a warning and the read is
/// served by another server or the primary. [`PgPool::with_primary`] (and
/// [`on_primary`](crate::on_primary) for a scope) sends reads to the primary, to read what was
/// just written. At debug level every call logs the server that served it.
#[derive(Clone)]
pub struct PgPool {
    pub(crate) cluster: Arc<Cluster>,
    read_only: bool,
    pub(crate) force_primary: bool,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("primary", &self.cluster.primary.target)
            .field("replicas", &self.cluster.replicas.len())
            .field("read_only", &self.is_read_only())
            .field("force_primary", &self.force_primary)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// Creates the pool of one server without connecting yet (connections open on first use).
    ///
    /// # Errors
    ///
    /// Invalid input when the connection string does not parse or the TLS files are unusable.
    pub fn new(options: &PgOptions) -> Result<PgPool> {
        PgPool::new_cluster(&ClusterOptions::new(options.clone()))
    }

    /// Creates the pools of a primary and its replicas without connecting yet.
    ///
    /// # Errors
    ///
    /// Invalid input when a connection string does not parse or the TLS files are unusable.
    pub fn new_cluster(options: &ClusterOptions) -> Result<PgPool> {
        let cluster = Cluster::new(options)?;
        Ok(PgPool {
            read_only: cluster.read_only,
            cluster: Arc::new(cluster),
            force_primary: false,
        })
    }

    /// Creates the pool, opens one connection and checks that the calstore schema is installed
    /// and current.
    ///
    /// # Errors
    ///
    /// Unavailable, naming host, port and reason, when the server cannot be reached or the
    /// schema is missing or out of date; invalid input as for [`PgPool::new`].
    pub async fn connect(options: &PgOptions) -> Result<PgPool> {
        PgPool::connect_cluster(&ClusterOptions::new(options.clone())).await
    }

    /// As [`PgPool::connect`] for a primary and its replicas: the schema is checked on the
    /// primary (replicas are not contacted until they serve a read). A primary that cannot be
    /// written — a hot standby, or a login without the right to insert (a reader role) — makes
    /// the pool read-only: writes are then refused by calstore too, with the reason.
    ///
    /// # Errors
    ///
    /// As [`PgPool::connect`].
    pub async fn connect_cluster(options: &ClusterOptions) -> Result<PgPool> {
        let pool = PgPool::new_cluster(options)?;
        let primary = &pool.cluster.primary;
        let client = primary.get().await?;
        crate::schema::check_current(&client, &primary.target).await?;
        let row = client
            .query_one(
                "SELECT pg_is_in_recovery(), has_table_privilege('objects', 'INSERT'), \
                 current_user::text",
                &[],
            )
            .await
            .map_err(|e| pool.error(&e, "checking whether the database may be written"))?;
        let (standby, may_insert, role): (bool, bool, String) =
            (row.get(0), row.get(1), row.get(2));
        let reason = if standby {
            Some("the server is a hot standby (in recovery)".to_owned())
        } else if !may_insert {
            Some(format!("role {role} may not write (a reader role)"))
        } else {
            None
        };
        if let Some(reason) = reason {
            tracing::debug!("{}: read-only: {reason}", primary.describe());
            let _ = pool.cluster.found_read_only.set(reason);
        }
        Ok(pool)
    }

    /// A clone that also refuses writes when `read_only` is set.
    pub(crate) fn restricted(&self, read_only: bool) -> PgPool {
        PgPool {
            read_only: self.read_only || read_only,
            ..self.clone()
        }
    }

    /// A clone whose every call goes to the primary, plain reads included: read-your-writes for
    /// one call (`pool.with_primary()`) or for as long as the clone is used. Clones share the
    /// connections.
    #[must_use]
    pub fn with_primary(&self) -> PgPool {
        PgPool {
            force_primary: true,
            ..self.clone()
        }
    }

    /// Whether every call of this handle goes to the primary ([`PgPool::with_primary`]).
    pub fn forces_primary(&self) -> bool {
        self.force_primary
    }

    /// Whether writes are refused: opened read-only, or the primary cannot be written (a hot
    /// standby, a reader role; found by [`PgPool::connect_cluster`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only || self.cluster.found_read_only.get().is_some()
    }

    /// The primary as named in messages (`host … port …`).
    pub fn target(&self) -> &str {
        &self.cluster.primary.target
    }

    /// Whether this pool and `other` write the same database (the same primary and database
    /// name, or one pool): what lets a store and a journal share a transaction.
    pub(crate) fn same_database(&self, other: &PgPool) -> bool {
        Arc::ptr_eq(&self.cluster, &other.cluster)
            || self.cluster.primary.database == other.cluster.primary.database
    }

    /// The routing state of every server, the primary first: calls served, availability, lag.
    pub fn servers(&self) -> Vec<ServerStatus> {
        self.cluster.status()
    }

    /// A pooled connection to the primary, for administration (for example
    /// [`crate::schema::install`]).
    ///
    /// # Errors
    ///
    /// Unavailable when no connection can be opened; locked when none is free in time.
    pub async fn get(&self) -> Result<Object> {
        self.cluster.primary.get().await
    }

    /// A connection to the primary for a write or a read-modify-write (`doing` says which, for
    /// the log). A write on a read-only pool is refused here, before any statement runs.
    pub(crate) async fn writer(&self, doing: &str) -> Result<Object> {
        if self.is_read_only() {
            let why = match self.cluster.found_read_only.get() {
                Some(reason) if !self.read_only => reason.as_str(),
                _ => "it is open read-only",
            };
            return Err(Error::read_only(format!(
                "{doing}: the PostgreSQL store at {} refuses writes: {why}",
                self.target()
            )));
        }
        let primary = &self.cluster.primary;
        let client = primary.get().await?;
        primary.count_write();
        tracing::debug!("{doing}: on {}", primary.describe());
        Ok(client)
    }

    /// Maps a statement's error on the primary, naming what was being done.
    pub(crate) fn error(&self, err: &tokio_postgres::Error, doing: impl AsRef<str>) -> Error {
        query_error(err, self.target(), doing.as_ref())
    }
}

/// Opens one connection outside any pool, for administration such as schema installation;
/// the connection runs on a task of the current tokio runtime.
///
/// # Errors
///
/// Invalid input when the string does not parse; unavailable, naming host, port and reason, when
/// the server cannot be reached.
pub async fn connect_client(conninfo: &str) -> Result<tokio_postgres::Client> {
    let settings = ConnSettings::parse(conninfo)?;
    connect_settings(&settings).await
}

/// As [`connect_client`] for parsed settings.
///
/// # Errors
///
/// As [`connect_client`].
pub async fn connect_settings(settings: &ConnSettings) -> Result<tokio_postgres::Client> {
    let target = settings.target();
    let config = settings.config();
    match tls::connector(settings)? {
        Some(tls) => {
            let (client, conn) = config
                .connect(tls)
                .await
                .map_err(|e| connect_error(&e, &target))?;
            tokio::spawn(drive(conn, target));
            Ok(client)
        }
        None => {
            let (client, conn) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| connect_error(&e, &target))?;
            tokio::spawn(drive(conn, target));
            Ok(client)
        }
    }
}

async fn drive<F>(conn: F, target: String)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = conn.await {
        tracing::debug!("connection to PostgreSQL at {target} ended: {e}");
    }
}
