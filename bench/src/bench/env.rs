//! Where the scenarios run: a scratch directory on disk for file stores, and a PostgreSQL server
//! (given with `--pg`, or `CALSTORE_TEST_PG_URL`, or a private one started with the test harness)
//! in which every scenario gets a fresh database with the current schema.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use calstore_file::FileStore;
use calstore_postgres::harness::{ServerOptions, TestDatabase, TestServer};
use calstore_postgres::{PgOptions, PgStore};
use serde_json::{json, Value};

/// The two backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `calstore_file::FileStore`.
    File,
    /// `calstore_postgres::PgStore`.
    Postgres,
}

impl Kind {
    /// `file` or `postgres`, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Postgres => "postgres",
        }
    }

    /// Parses a backend name.
    ///
    /// # Errors
    ///
    /// For another name.
    pub fn parse(name: &str) -> Result<Kind> {
        match name {
            "file" => Ok(Kind::File),
            "postgres" | "pg" => Ok(Kind::Postgres),
            other => Err(anyhow!("unknown backend {other:?} (file or postgres)")),
        }
    }
}

/// The sizes of one run (BENCHMARKS.md's full sizes, or the `--quick` ones).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `ingest`: objects stored one at a time.
    pub ingest_objects: usize,
    /// `ingest`: the size of the first/last window compared.
    pub ingest_window: usize,
    /// `regen`: users and events per user.
    pub regen_users: usize,
    /// `regen`: events per user.
    pub regen_events: usize,
    /// `query`: the queried user's periods.
    pub query_user_periods: usize,
    /// `query`: every period in the store.
    pub query_total_periods: usize,
    /// `query`: queries timed.
    pub queries: usize,
    /// `update-scale`: the small and the large table.
    pub update_small: usize,
    /// `update-scale`: the large table.
    pub update_large: usize,
    /// `update-scale`: replacements timed per size.
    pub update_reps: usize,
    /// `agent`: steps per worker.
    pub agent_steps: usize,
    /// `contention`: reservations per process (4 processes).
    pub contention_each: usize,
}

impl Sizes {
    /// The sizes of BENCHMARKS.md.
    pub const FULL: Sizes = Sizes {
        ingest_objects: 10_000,
        ingest_window: 1_000,
        regen_users: 1_000,
        regen_events: 100,
        query_user_periods: 100_000,
        query_total_periods: 1_000_000,
        queries: 10_000,
        update_small: 1_000,
        update_large: 100_000,
        update_reps: 40,
        agent_steps: 400,
        contention_each: 250,
    };

    /// A smoke test of about a minute.
    pub const QUICK: Sizes = Sizes {
        ingest_objects: 1_000,
        ingest_window: 100,
        regen_users: 20,
        regen_events: 50,
        query_user_periods: 10_000,
        query_total_periods: 50_000,
        queries: 1_000,
        update_small: 1_000,
        update_large: 10_000,
        update_reps: 10,
        agent_steps: 50,
        contention_each: 50,
    };
}

/// The PostgreSQL server of the run, or why there is none.
enum Pg {
    Ready(Box<TestServer>),
    Missing(String),
    /// The server should be there but is not (for example under `CI=true`): a failure.
    Failed(String),
}

/// A store left by `regen` (the corpus after the cron job) for `query` to search in, so the
/// million periods around the queried user need not be loaded twice.
pub enum Corpus {
    /// A file store, its directory and the periods in it.
    File(FileStore, PathBuf, usize),
    /// A PostgreSQL store, its database and the periods in it.
    Pg(PgStore, TestDatabase, usize),
}

/// The run's environment.
pub struct Env {
    /// Scratch space on disk (not tmpfs: fsync must cost what it costs).
    pub root: PathBuf,
    /// The sizes.
    pub sizes: Sizes,
    /// The corpus seed.
    pub seed: u64,
    /// Whether this is a `--quick` run.
    pub quick: bool,
    pg: Pg,
    corpus: std::sync::Mutex<Vec<Corpus>>,
}

impl Env {
    /// Prepares the scratch directory and, when PostgreSQL is wanted, the server.
    ///
    /// # Errors
    ///
    /// When the scratch directory cannot be created.
    pub fn new(
        root: PathBuf,
        sizes: Sizes,
        seed: u64,
        quick: bool,
        pg_url: Option<String>,
        want_pg: bool,
    ) -> Result<Env> {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        let pg = if !want_pg {
            Pg::Missing("not selected".into())
        } else {
            let url = pg_url.or_else(|| {
                std::env::var("CALSTORE_TEST_PG_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty())
            });
            match url {
                Some(url) => Pg::Ready(Box::new(TestServer::external(url))),
                None => match TestServer::start_private(&durable_options()) {
                    Ok(server) => Pg::Ready(Box::new(server)),
                    Err(e) if e.is_skip() => Pg::Missing(format!("no PostgreSQL server: {e}")),
                    Err(e) => Pg::Failed(format!("no PostgreSQL server: {e}")),
                },
            }
        };
        Ok(Env {
            root,
            sizes,
            seed,
            quick,
            pg,
            corpus: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Why PostgreSQL scenarios are skipped, if they are.
    pub fn pg_missing(&self) -> Option<&str> {
        match &self.pg {
            Pg::Missing(why) => Some(why),
            _ => None,
        }
    }

    /// Why PostgreSQL scenarios fail before they start, if they do (no server under `CI=true`,
    /// or one that does not start).
    pub fn pg_failed(&self) -> Option<&str> {
        match &self.pg {
            Pg::Failed(why) => Some(why),
            _ => None,
        }
    }

    /// What the header says about the server (its settings that matter for durability).
    pub async fn pg_header(&self) -> Value {
        let Pg::Ready(server) = &self.pg else {
            return json!({"available": false, "reason": self.pg_missing().or(self.pg_failed())});
        };
        let mut out = json!({"available": true, "private": server.private().is_some()});
        if let Ok(client) = calstore_postgres::connect_client(server.admin_url()).await {
            for setting in [
                "server_version",
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "shared_buffers",
                "max_wal_size",
                "checkpoint_timeout",
            ] {
                if let Ok(row) = client.query_one(&format!("SHOW {setting}"), &[]).await {
                    out[setting] = json!(row.get::<_, String>(0));
                }
            }
        }
        out
    }

    /// Keeps a regenerated corpus for a later scenario.
    pub fn keep_corpus(&self, corpus: Corpus) {
        if let Ok(mut kept) = self.corpus.lock() {
            kept.push(corpus);
        }
    }

    /// Takes the regenerated corpus of `kind`, if `regen` left one.
    pub fn take_corpus(&self, kind: Kind) -> Option<Corpus> {
        let mut kept = self.corpus.lock().ok()?;
        let at = kept.iter().position(|c| {
            matches!(
                (c, kind),
                (Corpus::File(..), Kind::File) | (Corpus::Pg(..), Kind::Postgres)
            )
        })?;
        Some(kept.remove(at))
    }

    /// A new empty directory for one file store; the store root is `dir/store`, its preferences
    /// `dir/preferences`.
    ///
    /// # Errors
    ///
    /// When it cannot be created.
    pub fn file_dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// A fresh file store.
    ///
    /// # Errors
    ///
    /// When the directory cannot be made or the store opened.
    pub fn file_store(&self, name: &str) -> Result<(FileStore, PathBuf)> {
        let dir = self.file_dir(name)?;
        let store = open_file(&dir)?;
        Ok((store, dir))
    }

    /// A fresh database with the schema, and a store on it. The database lives as long as the
    /// returned handle (an external server's database is dropped with it).
    ///
    /// # Errors
    ///
    /// When there is no server or the database cannot be made.
    pub async fn pg_store(&self) -> Result<(PgStore, TestDatabase)> {
        let Pg::Ready(server) = &self.pg else {
            return Err(anyhow!("no PostgreSQL server"));
        };
        let db = server
            .fresh_database_async()
            .await
            .map_err(|e| anyhow!("cannot create a database: {e}"))?;
        let store = open_pg(db.url()).await?;
        Ok((store, db))
    }
}

/// The file store at `dir/store` with preferences at `dir/preferences`.
///
/// # Errors
///
/// When the store cannot be opened.
pub fn open_file(dir: &Path) -> Result<FileStore> {
    Ok(FileStore::open(calstore_file::FileStoreOptions::new(
        dir.join("store"),
        dir.join("preferences"),
    ))?)
}

/// A PostgreSQL store on `url`.
///
/// # Errors
///
/// When the server cannot be reached or the schema is not current.
pub async fn open_pg(url: &str) -> Result<PgStore> {
    PgStore::connect(&PgOptions::new(url))
        .await
        .context("connecting to the benchmark database")
}

/// A private server that is as durable as a production one: the harness turns fsync off for
/// tests, which would make every PostgreSQL figure meaningless next to the file store's fsyncs.
/// Memory and checkpoints are set as a DBA would set them on this machine (PostgreSQL's defaults
/// are sized for a small shared host: 128 MB of buffers, a checkpoint per 1 GB of WAL, so a
/// 1-million-row scenario pays disk reads and full-page images that no tuned server pays); every
/// durability setting stays on. docs/performance.md lists them.
fn durable_options() -> ServerOptions {
    let set = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    ServerOptions {
        ssl: None,
        settings: vec![
            set("fsync", "on"),
            set("synchronous_commit", "on"),
            set("full_page_writes", "on"),
            // A twentieth of this machine's memory (the usual advice is a quarter).
            set("shared_buffers", "1GB"),
            set("max_wal_size", "4GB"),
            set("checkpoint_timeout", "15min"),
        ],
    }
}
