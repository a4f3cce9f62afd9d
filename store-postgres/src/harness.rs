//! Test harness (feature `test-harness`): a PostgreSQL server for tests, a template database with
//! the schema, and a fresh database per test.
//!
//! [`TestServer::shared`] uses `CALSTORE_TEST_PG_URL` (a maintenance database of an existing
//! server, with the right to create databases) when set, else starts a private cluster once per
//! test process ([`PrivateServer`]). Where no server binaries exist the error
//! [is a skip](HarnessError::is_skip) — except under `CI=true`, where it is a failure.
//! [`server_or_skip`] turns that into a loud skip for a test.
//!
//! [`ReplicatedServer`] is a private primary with a streaming hot standby (`pg_basebackup -R`)
//! for tests of replica routing: the standby can be halted and restarted, and its replay paused.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

mod database;
mod replicated;
mod server;
mod standby;
mod system;

pub use database::{snapshot, TestDatabase};
pub use replicated::{
    own_replicated_or_skip, replicated_or_skip, ReplicatedDatabase, ReplicatedServer,
};
pub use server::{find_bindir, PrivateServer, ServerOptions, SslFiles};
pub use standby::{primary_settings, STANDBY_NAME};

/// Why the harness has no server.
#[derive(Debug, Clone)]
pub struct HarnessError {
    skip: bool,
    message: String,
}

impl HarnessError {
    /// No server can be had here (no binaries): tests may skip — never under `CI=true`.
    pub(crate) fn missing(message: impl Into<String>) -> Self {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        HarnessError {
            skip: !ci,
            message: message.into(),
        }
    }

    /// A real failure.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        HarnessError {
            skip: false,
            message: message.into(),
        }
    }

    /// Whether the caller should skip (loudly) rather than fail.
    pub fn is_skip(&self) -> bool {
        self.skip
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HarnessError {}

impl From<calstore::Error> for HarnessError {
    fn from(e: calstore::Error) -> Self {
        HarnessError::failed(e.chain())
    }
}

/// A server for tests: external (`CALSTORE_TEST_PG_URL`) or private.
#[derive(Debug)]
pub struct TestServer {
    /// The maintenance database's connection string.
    admin: String,
    private: Option<PrivateServer>,
    template: OnceLock<Result<String, HarnessError>>,
    counter: AtomicU64,
}

static SHARED: OnceLock<Result<TestServer, HarnessError>> = OnceLock::new();

impl TestServer {
    /// The process's server, started (or found) on first use.
    ///
    /// # Errors
    ///
    /// A skip error when no server binaries exist (a failure under `CI=true`); a failure when
    /// the server does not start.
    pub fn shared() -> Result<&'static TestServer, HarnessError> {
        SHARED
            .get_or_init(|| match std::env::var("CALSTORE_TEST_PG_URL") {
                Ok(url) if !url.trim().is_empty() => Ok(TestServer::external(url)),
                _ => TestServer::start_private(&ServerOptions::default()),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// An existing server, reached through its maintenance database.
    pub fn external(admin_url: impl Into<String>) -> TestServer {
        TestServer {
            admin: admin_url.into(),
            private: None,
            template: OnceLock::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// Starts a private server of its own (for example with TLS); it stops when dropped.
    ///
    /// # Errors
    ///
    /// As [`TestServer::shared`].
    pub fn start_private(options: &ServerOptions) -> Result<TestServer, HarnessError> {
        let server = PrivateServer::start(options)?;
        Ok(TestServer {
            admin: format!(
                "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
                server.port()
            ),
            private: Some(server),
            template: OnceLock::new(),
            counter: AtomicU64::new(0),
        })
    }

    /// The private server, if this is one.
    pub fn private(&self) -> Option<&PrivateServer> {
        self.private.as_ref()
    }

    /// The connection string of the maintenance database (superuser on a private server).
    pub fn admin_url(&self) -> &str {
        &self.admin
    }

    /// The connection string of database `name` on this server (same user, host and options).
    pub fn database_url(&self, name: &str) -> String {
        database::with_dbname(&self.admin, name)
    }

    /// A new database with the current schema, created from the template (about 70 ms).
    ///
    /// # Errors
    ///
    /// A failure when the template or the database cannot be created.
    pub fn fresh_database(&self) -> Result<TestDatabase, HarnessError> {
        let template = self.template()?;
        let name = self.next_name();
        block_on_thread(database::create(self, name, Some(template)))
    }

    /// As [`TestServer::fresh_database`], from async code.
    ///
    /// # Errors
    ///
    /// As [`TestServer::fresh_database`].
    pub async fn fresh_database_async(&self) -> Result<TestDatabase, HarnessError> {
        let template = self.template()?;
        let name = self.next_name();
        database::create(self, name, Some(template)).await
    }

    /// A new database without the calstore schema (for installation tests).
    ///
    /// # Errors
    ///
    /// A failure when the database cannot be created.
    pub async fn empty_database(&self) -> Result<TestDatabase, HarnessError> {
        let name = self.next_name();
        database::create(self, name, None).await
    }

    fn next_name(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("calstore_t{}_{n}", std::process::id())
    }

    /// The template database's name, created with the schema on first use.
    fn template(&self) -> Result<String, HarnessError> {
        self.template
            .get_or_init(|| block_on_thread(database::ensure_template(self)))
            .clone()
    }

    pub(crate) fn is_private(&self) -> bool {
        self.private.is_some()
    }
}

/// The shared server, or `None` after printing a loud skip notice naming `test`.
///
/// # Panics
///
/// When the server fails for another reason than missing binaries, or binaries are missing under
/// `CI=true`: the test must fail then.
pub fn server_or_skip(test: &str) -> Option<&'static TestServer> {
    match TestServer::shared() {
        Ok(server) => Some(server),
        Err(e) if e.is_skip() => {
            use std::io::Write;
            // Straight to stderr, past the test harness's capture: a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL server for tests: {e}"
            );
            None
        }
        Err(e) => panic!("no PostgreSQL server for tests: {e}"),
    }
}

/// Runs a future to completion on a runtime of its own in another thread, so that it works from
/// plain and from async code alike.
pub(crate) fn block_on_thread<F, T>(future: F) -> Result<T, HarnessError>
where
    F: Future<Output = Result<T, HarnessError>> + Send,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| HarnessError::failed(format!("cannot start a runtime: {e}")))?
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|_| Err(HarnessError::failed("the harness thread panicked")))
    })
}
