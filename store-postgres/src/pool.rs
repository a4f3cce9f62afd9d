//! Options and the connection pool shared by every call of a process; the one place that hands
//! out a client for a read or for a write (replica routing will go here).

use std::sync::Arc;
use std::time::Duration;

use calstore::{Error, Result};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};

use crate::conninfo::ConnSettings;
use crate::error::{connect_error, pool_error, query_error};
use crate::tls;

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
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            conninfo: String::new(),
            read_only: false,
            pool_size: 16,
            wait_timeout: Some(Duration::from_secs(30)),
            lock_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl PgOptions {
    /// Options for `conninfo` with the defaults: read-write, 16 connections, 30 s to wait for
    /// a connection and 30 s for a lock.
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

/// What a client is wanted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Plain reads (may go to a replica one day).
    Read,
    /// Writes and read-modify-write sequences (always the primary).
    Write,
}

/// A pool of connections to one database, shared by a [`PgStore`](crate::PgStore) and a
/// [`PgJournal`](crate::PgJournal) (cheap to clone: clones share the connections).
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    read_only: bool,
    target: Arc<str>,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("target", &self.target)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// Creates the pool without connecting yet (connections open on first use).
    ///
    /// # Errors
    ///
    /// Invalid input when the connection string does not parse or the TLS files are unusable.
    pub fn new(options: &PgOptions) -> Result<PgPool> {
        let mut settings = ConnSettings::parse(&options.conninfo)?;
        if options.read_only {
            settings.add_session_setting("default_transaction_read_only", "on");
        }
        if let Some(t) = options.lock_timeout {
            let ms = t.as_millis().max(1);
            settings.add_session_setting("lock_timeout", &format!("{ms}ms"));
        }
        let target: Arc<str> = settings.target().into();
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let config = settings.config().clone();
        let manager = match tls::connector(&settings)? {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(options.wait_timeout)
            .create_timeout(settings.config().get_connect_timeout().copied())
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::invalid(format!("cannot create the connection pool: {e}")))?;
        Ok(PgPool {
            pool,
            read_only: options.read_only,
            target,
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
        let pool = PgPool::new(options)?;
        let client = pool.client(Access::Read).await?;
        crate::schema::check_current(&client, &pool.target).await?;
        Ok(pool)
    }

    /// A clone that also refuses writes when `read_only` is set.
    pub(crate) fn restricted(&self, read_only: bool) -> PgPool {
        PgPool {
            read_only: self.read_only || read_only,
            ..self.clone()
        }
    }

    /// Whether sessions are read-only and writes refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The servers this pool connects to, as named in messages (`host … port …`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A pooled connection, for administration (for example [`crate::schema::install`]).
    ///
    /// # Errors
    ///
    /// Unavailable when no connection can be opened; locked when none is free in time.
    pub async fn get(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| pool_error(e, &self.target))
    }

    /// The one entry point for query execution: a client for a read or for a write. A write on a
    /// read-only pool is refused here, before any statement runs.
    pub(crate) async fn client(&self, access: Access) -> Result<Object> {
        if access == Access::Write && self.read_only {
            return Err(Error::read_only(format!(
                "the PostgreSQL store at {} is open read-only",
                self.target
            )));
        }
        self.get().await
    }

    /// Maps a statement's error, naming what was being done.
    pub(crate) fn error(&self, err: &tokio_postgres::Error, doing: impl AsRef<str>) -> Error {
        query_error(err, &self.target, doing.as_ref())
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
