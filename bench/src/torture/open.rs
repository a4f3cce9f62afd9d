//! Opening the store and journal a worker runs against: a file store (directory or `file:` URL)
//! or a PostgreSQL database (URL or libpq keyword string), as `calstore --store` names them.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use calstore::config::Location;
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use calstore_postgres::{PgJournal, PgOptions, PgPool, PgStore};

/// Where and how to open.
#[derive(Debug, Clone)]
pub struct Target {
    /// The store (`--store`).
    pub store: String,
    /// The journal; default beside the store (file) or the same database.
    pub journal: Option<String>,
    /// The preferences; default beside the store (file) or the same database.
    pub preferences: Option<String>,
    /// Open read-only.
    pub read_only: bool,
    /// How long a writer waits for a lock.
    pub lock_timeout: Duration,
}

/// A store and journal of either backend.
pub enum Backend {
    /// The file store.
    File(FileStore, FileJournal),
    /// The PostgreSQL store.
    Postgres(PgStore, PgJournal),
}

/// Runs `$body` with `$s` and `$j` bound to the concrete store and journal of a [`Backend`].
#[macro_export]
macro_rules! with_backend {
    ($backend:expr, $s:ident, $j:ident => $body:expr) => {
        match $backend {
            $crate::open::Backend::File($s, $j) => $body,
            $crate::open::Backend::Postgres($s, $j) => $body,
        }
    };
}

/// Opens the store and journal of `target`.
///
/// # Errors
///
/// Bad locations, a mix of backends, or the backend's opening errors.
pub async fn open(target: &Target) -> Result<Backend> {
    let store = Location::parse(&target.store).context("--store")?;
    let journal = match &target.journal {
        Some(j) => Location::parse(j).context("--journal")?,
        None => store.sibling("journal"),
    };
    let preferences = match &target.preferences {
        Some(p) => Location::parse(p).context("--preferences")?,
        None => store.sibling("preferences"),
    };
    match (store, journal, preferences) {
        (Location::File(root), Location::File(journal), Location::File(prefs)) => {
            let store = FileStore::open(FileStoreOptions {
                read_only: target.read_only,
                lock_timeout: target.lock_timeout,
                ..FileStoreOptions::new(root, prefs)
            })?;
            let journal = FileJournal::open(FileJournalOptions {
                read_only: target.read_only,
                lock_timeout: target.lock_timeout,
                ..FileJournalOptions::new(journal)
            })?;
            Ok(Backend::File(store, journal))
        }
        (Location::Postgres(conninfo), Location::Postgres(j), Location::Postgres(p))
            if j == conninfo && p == conninfo =>
        {
            let mut options = PgOptions::new(conninfo);
            options.read_only = target.read_only;
            options.pool_size = 2;
            options.lock_timeout = Some(target.lock_timeout);
            let pool = PgPool::connect(&options).await?;
            Ok(Backend::Postgres(
                PgStore::from_pool(&pool, false),
                PgJournal::from_pool(&pool, false),
            ))
        }
        _ => {
            bail!("store, journal and preferences must be directories, or one PostgreSQL database")
        }
    }
}
