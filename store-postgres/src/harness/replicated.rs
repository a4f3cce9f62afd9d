//! A primary and a streaming standby on loopback, for tests of replica routing: fresh databases
//! that exist on both, waiting for the standby to catch up, pausing its replay and halting it.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::standby::primary_settings;
use super::{HarnessError, PrivateServer, ServerOptions, TestDatabase, TestServer};

/// A private primary (a [`TestServer`], with its template database) and a hot standby streaming
/// from it. Both stop and disappear when this is dropped or the process ends.
#[derive(Debug)]
pub struct ReplicatedServer {
    primary: TestServer,
    standby: PrivateServer,
}

/// A database made on the primary and replayed on the standby.
#[derive(Debug)]
pub struct ReplicatedDatabase {
    /// The database on the primary.
    pub primary: TestDatabase,
    /// The same database on the standby (read-only).
    pub standby_url: String,
}

impl ReplicatedDatabase {
    /// The primary's connection string.
    pub fn primary_url(&self) -> &str {
        self.primary.url()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.primary.name
    }
}

static SHARED: OnceLock<Result<ReplicatedServer, HarnessError>> = OnceLock::new();

impl ReplicatedServer {
    /// Starts a primary and a standby of its own (a few seconds), for a test that halts the
    /// standby or pauses its replay.
    ///
    /// # Errors
    ///
    /// A skip error when no server binaries exist (a failure under `CI=true`); a failure when
    /// either server does not start.
    pub fn start() -> Result<ReplicatedServer, HarnessError> {
        let primary = TestServer::start_private(&ServerOptions {
            settings: primary_settings(),
            ..ServerOptions::default()
        })?;
        let standby = match primary.private() {
            Some(p) => PrivateServer::start_standby(p, &ServerOptions::default())?,
            None => return Err(HarnessError::failed("the primary is not a private server")),
        };
        Ok(ReplicatedServer { primary, standby })
    }

    /// The process's pair, started on first use, for tests that leave the standby running and
    /// replaying (halting it or pausing replay here would disturb the other tests).
    ///
    /// # Errors
    ///
    /// As [`ReplicatedServer::start`].
    pub fn shared() -> Result<&'static ReplicatedServer, HarnessError> {
        SHARED
            .get_or_init(ReplicatedServer::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The primary, as a test server (fresh databases, its template).
    pub fn primary(&self) -> &TestServer {
        &self.primary
    }

    /// The standby server.
    pub fn standby(&self) -> &PrivateServer {
        &self.standby
    }

    /// The connection string of database `name` on the standby.
    pub fn standby_url(&self, name: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{name}?sslmode=disable",
            self.standby.port()
        )
    }

    /// A new database with the current schema on the primary, returned once the standby has
    /// replayed it.
    ///
    /// # Errors
    ///
    /// A failure when the database cannot be created or the standby does not catch up within
    /// 30 s (for example while its replay is paused).
    pub async fn fresh_database(&self) -> Result<ReplicatedDatabase, HarnessError> {
        let primary = self.primary.fresh_database_async().await?;
        let standby_url = self.standby_url(&primary.name);
        self.wait_replayed().await?;
        Ok(ReplicatedDatabase {
            primary,
            standby_url,
        })
    }

    /// Waits until the standby has replayed everything the primary has written so far.
    ///
    /// # Errors
    ///
    /// A failure when it has not within 30 s, or a server cannot be reached.
    pub async fn wait_replayed(&self) -> Result<(), HarnessError> {
        let primary = connect(self.primary.admin_url()).await?;
        let lsn: String = primary
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .await
            .map_err(|e| fail(&e))?
            .get(0);
        let standby = connect(&self.standby_url("postgres")).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let done: bool = standby
                .query_one(
                    "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false)",
                    &[&lsn],
                )
                .await
                .map_err(|e| fail(&e))?
                .get(0);
            if done {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HarnessError::failed(format!(
                    "the standby has not replayed up to {lsn} within 30 s; its log: {}",
                    self.standby.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Pauses replay on the standby (`pg_wal_replay_pause()`): it keeps receiving WAL but
    /// applies none, so it lags behind everything written from now on.
    ///
    /// # Errors
    ///
    /// A failure when the standby cannot be reached.
    pub async fn pause_replay(&self) -> Result<(), HarnessError> {
        let standby = connect(&self.standby_url("postgres")).await?;
        standby
            .batch_execute("SELECT pg_wal_replay_pause()")
            .await
            .map_err(|e| fail(&e))
    }

    /// Resumes replay on the standby (`pg_wal_replay_resume()`).
    ///
    /// # Errors
    ///
    /// A failure when the standby cannot be reached.
    pub async fn resume_replay(&self) -> Result<(), HarnessError> {
        let standby = connect(&self.standby_url("postgres")).await?;
        standby
            .batch_execute("SELECT pg_wal_replay_resume()")
            .await
            .map_err(|e| fail(&e))
    }

    /// Halts the standby (fast shutdown: its sessions end), keeping its data; the primary keeps
    /// the WAL for it in its replication slot.
    ///
    /// # Errors
    ///
    /// A failure when the wrapper is gone.
    pub fn halt_standby(&self) -> Result<(), HarnessError> {
        self.standby.halt()
    }

    /// Starts a halted standby again; returns when it accepts connections (it then catches up
    /// by itself).
    ///
    /// # Errors
    ///
    /// A failure when it does not start.
    pub fn restart_standby(&self) -> Result<(), HarnessError> {
        self.standby.restart()
    }
}

/// The process's replicated pair, or `None` after a loud skip notice naming `test`.
///
/// # Panics
///
/// When the pair fails for another reason than missing binaries, or binaries are missing under
/// `CI=true`.
pub fn replicated_or_skip(test: &str) -> Option<&'static ReplicatedServer> {
    or_skip(test, ReplicatedServer::shared())
}

/// A pair of the test's own, or `None` after a loud skip notice naming `test`.
///
/// # Panics
///
/// As [`replicated_or_skip`].
pub fn own_replicated_or_skip(test: &str) -> Option<ReplicatedServer> {
    or_skip(test, ReplicatedServer::start())
}

fn or_skip<T>(test: &str, result: Result<T, HarnessError>) -> Option<T> {
    match result {
        Ok(pair) => Some(pair),
        Err(e) if e.is_skip() => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL primary and standby for tests: {e}"
            );
            None
        }
        Err(e) => panic!("no PostgreSQL primary and standby for tests: {e}"),
    }
}

fn fail(e: &tokio_postgres::Error) -> HarnessError {
    HarnessError::failed(crate::error::full_chain(e))
}

async fn connect(conninfo: &str) -> Result<Client, HarnessError> {
    crate::connect_client(conninfo)
        .await
        .map_err(|e| HarnessError::failed(e.chain()))
}
