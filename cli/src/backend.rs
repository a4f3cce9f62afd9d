//! Opening the store and journal named by the global options and the configuration file
//! (`--config`, instances with replicas): the one place that knows every backend. Commands are
//! generic over `Store`/`Journal`; `with_store!`/`with_journal!` dispatch.

use anyhow::{Context, Result};
use calstore::config::Location;
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use calstore_postgres::{ClusterOptions, Config, InstanceConfig, PgJournal, PgOptions, PgStore};

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

/// Where the options and the configuration file put the store, journal and preferences.
///
/// `--store`/`CALSTORE_STORE` and `--journal`/`CALSTORE_JOURNAL` override the configured instance
/// (the one location they name replaces the instance's primary and replicas); without them and
/// with `--config`/`CALSTORE_CONFIG`, the instance (`--instance`/`CALSTORE_INSTANCE`, or the only
/// one) gives its primary, replicas and settings; with neither, the file store under
/// `./calstore-data`.
pub struct Plan {
    pub store: Location,
    pub journal: Location,
    pub preferences: Location,
    /// The store's servers when they come from the configured instance.
    store_cluster: Option<ClusterOptions>,
    /// The journal's servers when they come from the configured instance.
    journal_cluster: Option<ClusterOptions>,
}

/// A configuration problem is bad usage (exit 2), stated as the library words it (file, key,
/// reason).
fn usage(e: calstore::Error) -> anyhow::Error {
    crate::exit::exit(2, e.message().to_owned())
}

/// Reads the configuration file (if any) and decides every location.
pub fn plan(global: &Global) -> Result<Plan> {
    let name = global
        .instance
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let instance: Option<InstanceConfig> = match (&global.config, name) {
        (None, Some(name)) => {
            return Err(crate::exit::exit(
                2,
                format!(
                    "instance {name:?} is named (--instance or CALSTORE_INSTANCE) but no configuration file is (--config FILE or CALSTORE_CONFIG)"
                ),
            ))
        }
        (None, None) => None,
        // The store named on the command line replaces the instance: it is not needed then,
        // but a name given is still checked.
        (Some(_), None) if global.store.is_some() => None,
        (Some(path), name) => {
            let config = Config::load(path).map_err(usage)?;
            let (_, instance) = config.select_with_env(name, |_| None).map_err(usage)?;
            Some(instance.clone())
        }
    };
    let from_instance = instance.as_ref().filter(|_| global.store.is_none());
    let (store, store_cluster) = match (&global.store, from_instance) {
        (Some(s), _) => (Location::parse(s).context("--store")?, None),
        (None, Some(i)) => (
            Location::Postgres(i.store.primary.conninfo.clone()),
            Some(i.store.clone()),
        ),
        (None, None) => (Location::File(format!("{DEFAULT_ROOT}/store").into()), None),
    };
    let (journal, journal_cluster) = match (&global.journal, from_instance) {
        (Some(s), _) => (Location::parse(s).context("--journal")?, None),
        (None, Some(i)) => {
            let j = i.journal_options();
            (
                Location::Postgres(j.primary.conninfo.clone()),
                Some(j.clone()),
            )
        }
        (None, None) => (store.sibling("journal"), None),
    };
    let preferences = match &global.preferences {
        Some(s) => Location::parse(s).context("--preferences")?,
        None => store.sibling("preferences"),
    };
    Ok(Plan {
        store,
        journal,
        preferences,
        store_cluster,
        journal_cluster,
    })
}

/// The three locations the options name, with the defaults of CLI.md.
pub fn locations(global: &Global) -> Result<(Location, Location, Location)> {
    let plan = plan(global)?;
    Ok((plan.store, plan.journal, plan.preferences))
}

/// The servers of a PostgreSQL location: the configured instance's (made read-only by
/// `--read-only`), or the one server named.
fn cluster(configured: Option<ClusterOptions>, conninfo: &str, global: &Global) -> ClusterOptions {
    match configured {
        Some(mut c) => {
            c.primary.read_only |= global.read_only;
            c
        }
        None => ClusterOptions::new(pg_options(conninfo, global)),
    }
}

/// Opens the store.
pub async fn open_store(global: &Global) -> Result<AnyStore> {
    let plan = plan(global)?;
    match (plan.store, plan.preferences) {
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
            let store = PgStore::connect_cluster(&cluster(plan.store_cluster, &conninfo, global)).await?;
            Ok(AnyStore::Postgres(cli_reads(store)))
        }
        _ => Err(crate::exit::exit(
            2,
            "the store and its preferences must be of one kind (both directories, or one PostgreSQL database)",
        )),
    }
}

/// Opens the journal.
pub async fn open_journal(global: &Global) -> Result<AnyJournal> {
    let plan = plan(global)?;
    match plan.journal {
        Location::File(root) => {
            let options = FileJournalOptions {
                read_only: global.read_only,
                ..FileJournalOptions::new(root)
            };
            Ok(AnyJournal::File(FileJournal::open(options)?))
        }
        Location::Postgres(conninfo) => {
            let journal =
                PgJournal::connect_cluster(&cluster(plan.journal_cluster, &conninfo, global))
                    .await?;
            // As for the store (see `cli_reads`).
            Ok(AnyJournal::Postgres(
                if calstore::Journal::is_read_only(&journal) {
                    journal
                } else {
                    journal.with_primary()
                },
            ))
        }
    }
}

/// The command line's reads: from the replicas only when the run cannot write (`--read-only`, a
/// read-only instance, a hot standby or a reader role). A run that may write — import,
/// make-freebusy, expire-quotas, preferences, copy — reads what it and the agents have just
/// written, so every call of it goes to the primary (read-modify-write).
fn cli_reads(store: PgStore) -> PgStore {
    if calstore::Store::is_read_only(&store) {
        store
    } else {
        store.with_primary()
    }
}

/// The pool options for one PostgreSQL location.
pub fn pg_options(conninfo: &str, global: &Global) -> PgOptions {
    let mut options = PgOptions::new(conninfo);
    options.read_only = global.read_only;
    // A command-line run needs few connections: one per make-freebusy job (default 8).
    options.pool_size = 8;
    options
}

/// The temporary files that killed writes left under the file store's or file journal's roots
/// and no write has touched for an hour ([`calstore_file::LEFTOVER_AGE`]): counted, or removed
/// when `remove` is set. PostgreSQL has none.
///
/// # Errors
///
/// Listing or removing a file failed, or `remove` on a read-only store.
pub async fn leftovers(
    store: Option<&AnyStore>,
    journal: Option<&AnyJournal>,
    remove: bool,
) -> calstore::Result<calstore_file::Leftovers> {
    let age = calstore_file::LEFTOVER_AGE;
    let mut total = calstore_file::Leftovers::default();
    if let Some(AnyStore::File(s)) = store {
        let found = if remove {
            s.remove_leftovers(age).await?
        } else {
            s.leftovers(age).await?
        };
        total += found;
    }
    if let Some(AnyJournal::File(j)) = journal {
        let found = if remove {
            j.remove_leftovers(age).await?
        } else {
            j.leftovers(age).await?
        };
        total += found;
    }
    Ok(total)
}
