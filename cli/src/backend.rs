//! Opening the store and journal named by the global options: the one place that knows every
//! backend. Commands are generic over `Store`/`Journal`; `with_store!`/`with_journal!` dispatch.

use anyhow::{Context, Result};
use calstore::config::Location;
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use calstore_postgres::{PgJournal, PgOptions, PgStore};

use crate::args::Global;

/// The default data directory when no store is named.
pub const DEFAULT_ROOT: &str = "./calstore-data";

/// A store of any backend.
#[derive(Clone)]
pub enum AnyStore {
    File(FileStore),
    Postgres(PgStore),
}

/// A journal of any backend.
#[derive(Clone)]
pub enum AnyJournal {
    File(FileJournal),
    Postgres(PgJournal),
}

/// Runs `$body` with `$s` bound to the concrete store inside an `AnyStore`.
#[macro_export]
macro_rules! with_store {
    ($store:expr, $s:ident => $body:expr) => {
        match $store {
            $crate::backend::AnyStore::File($s) => $body,
            $crate::backend::AnyStore::Postgres($s) => $body,
        }
    };
}

/// Runs `$body` with `$j` bound to the concrete journal inside an `AnyJournal`.
#[macro_export]
macro_rules! with_journal {
    ($journal:expr, $j:ident => $body:expr) => {
        match $journal {
            $crate::backend::AnyJournal::File($j) => $body,
            $crate::backend::AnyJournal::Postgres($j) => $body,
        }
    };
}

/// The three locations the options name, with the defaults of CLI.md.
pub fn locations(global: &Global) -> Result<(Location, Location, Location)> {
    let store = match &global.store {
        Some(s) => Location::parse(s).context("--store")?,
        None => Location::File(format!("{DEFAULT_ROOT}/store").into()),
    };
    let journal = match &global.journal {
        Some(s) => Location::parse(s).context("--journal")?,
        None => store.sibling("journal"),
    };
    let preferences = match &global.preferences {
        Some(s) => Location::parse(s).context("--preferences")?,
        None => store.sibling("preferences"),
    };
    Ok((store, journal, preferences))
}

/// Opens the store.
pub async fn open_store(global: &Global) -> Result<AnyStore> {
    let (store, _, preferences) = locations(global)?;
    match (store, preferences) {
        (Location::File(root), Location::File(prefs)) => {
            let options = FileStoreOptions { read_only: global.read_only, ..FileStoreOptions::new(root, prefs) };
            Ok(AnyStore::File(FileStore::open(options)?))
        }
        (Location::Postgres(conninfo), Location::Postgres(prefs)) => {
            if prefs != conninfo {
                return Err(crate::exit::exit(
                    2,
                    "a PostgreSQL store keeps its preferences in its own database: --preferences must name the same database",
                ));
            }
            Ok(AnyStore::Postgres(PgStore::connect(&pg_options(&conninfo, global)).await?))
        }
        _ => Err(crate::exit::exit(
            2,
            "the store and its preferences must be of one kind (both directories, or one PostgreSQL database)",
        )),
    }
}

/// Opens the journal.
pub async fn open_journal(global: &Global) -> Result<AnyJournal> {
    let (_, journal, _) = locations(global)?;
    match journal {
        Location::File(root) => {
            let options = FileJournalOptions {
                read_only: global.read_only,
                ..FileJournalOptions::new(root)
            };
            Ok(AnyJournal::File(FileJournal::open(options)?))
        }
        Location::Postgres(conninfo) => Ok(AnyJournal::Postgres(
            PgJournal::connect(&pg_options(&conninfo, global)).await?,
        )),
    }
}

/// The pool options for one PostgreSQL location.
pub fn pg_options(conninfo: &str, global: &Global) -> PgOptions {
    let mut options = PgOptions::new(conninfo);
    options.read_only = global.read_only;
    // A command-line run needs few connections.
    options.pool_size = 4;
    options
}
