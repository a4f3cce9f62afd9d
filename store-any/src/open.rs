//! Where the store, journal and preferences are, and opening them: from location strings, or
//! from an instance of a calstore.toml (with its replicas, TLS and pool settings).

use std::path::PathBuf;

use calstore::config::Location;
use calstore::{Error, Result};
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions, StoreLayout};
use calstore_postgres::{ClusterOptions, Config, InstanceConfig, PgJournal, PgOptions, PgStore};

use crate::{AnyJournal, AnyStore};

/// The default data directory when no store is named: `./calstore-data` (the store in
/// `store/`, the journal in `journal/`, preferences in `preferences/`).
pub const DEFAULT_ROOT: &str = "./calstore-data";

/// What a program was told about its locations (all optional).
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// The store; replaces the configured instance.
    pub store: Option<Location>,
    /// The journal; default: beside a store directory (`../journal`), or the store's database.
    pub journal: Option<Location>,
    /// The preferences; default: beside a store directory (`../preferences`), or the store's
    /// database.
    pub preferences: Option<Location>,
    /// A calstore.toml with instances.
    pub config: Option<PathBuf>,
    /// Which configured instance (needed when the file names more than one).
    pub instance: Option<String>,
}

/// Where the store, journal and preferences are, decided once.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The store.
    pub store: Location,
    /// The journal.
    pub journal: Location,
    /// The preferences.
    pub preferences: Location,
    /// The store's servers when they come from the configured instance.
    store_cluster: Option<ClusterOptions>,
    /// The journal's servers when they come from the configured instance.
    journal_cluster: Option<ClusterOptions>,
    /// A file store's journal or preferences taken from the default layout (neither named nor
    /// recorded in the store).
    defaulted: bool,
}

impl Plan {
    /// Decides every location: a store named in `locations` replaces the configured instance
    /// (its journal and preferences default beside it); without one, the configured instance
    /// (the one named, or the only one) gives its primary, replicas and settings; with neither,
    /// the file store under [`DEFAULT_ROOT`].
    ///
    /// # Errors
    ///
    /// Invalid input (a usage problem) when an instance is named without a configuration file,
    /// the file cannot be read or is wrong, or names no such instance.
    pub fn resolve(locations: &Locations) -> Result<Plan> {
        let name = locations
            .instance
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let instance: Option<InstanceConfig> = match (&locations.config, name) {
            (None, Some(name)) => {
                return Err(Error::invalid(format!(
                    "instance {name:?} is named (--instance or CALSTORE_INSTANCE) but no configuration file is (--config FILE or CALSTORE_CONFIG)"
                )))
            }
            (None, None) => None,
            // The store named replaces the instance: it is not needed then, but a name given is
            // still checked.
            (Some(_), None) if locations.store.is_some() => None,
            (Some(path), name) => {
                let config = Config::load(path)?;
                let (_, instance) = config.select_with_env(name, |_| None)?;
                Some(instance.clone())
            }
        };
        let from_instance = instance.as_ref().filter(|_| locations.store.is_none());
        let (store, store_cluster) = match (&locations.store, from_instance) {
            (Some(s), _) => (s.clone(), None),
            (None, Some(i)) => (
                Location::Postgres(i.store.primary.conninfo.clone()),
                Some(i.store.clone()),
            ),
            (None, None) => (Location::File(format!("{DEFAULT_ROOT}/store").into()), None),
        };
        // A file store's parts: as recorded in it, else its default layout.
        let mut defaulted = false;
        let layout = match &store {
            Location::File(root) => Some(match StoreLayout::recorded(root)? {
                Some(recorded) => recorded,
                None => {
                    defaulted = locations.journal.is_none() || locations.preferences.is_none();
                    StoreLayout::default_for(root)
                }
            }),
            Location::Postgres(_) => None,
        };
        let (journal, journal_cluster) = match (&locations.journal, from_instance) {
            (Some(j), _) => (j.clone(), None),
            (None, Some(i)) => {
                let j = i.journal_options();
                (
                    Location::Postgres(j.primary.conninfo.clone()),
                    Some(j.clone()),
                )
            }
            (None, None) => match &layout {
                Some(l) => (Location::File(l.journal.clone()), None),
                None => (store.sibling("journal"), None),
            },
        };
        let preferences = match (&locations.preferences, &layout) {
            (Some(p), _) => p.clone(),
            (None, Some(l)) => Location::File(l.preferences.clone()),
            (None, None) => store.sibling("preferences"),
        };
        Ok(Plan {
            store,
            journal,
            preferences,
            store_cluster,
            journal_cluster,
            defaulted,
        })
    }

    /// Why an existing file store without a recorded layout cannot be trusted with the default
    /// one: it is not named `store`, its default parts do not exist, and `journal` or
    /// `preferences` does beside it (the default before layouts were recorded, possibly shared
    /// with a sibling store). Opening it with the new default would silently lose its settings.
    pub fn unrecorded_layout_problem(&self) -> Option<String> {
        let (Location::File(root), true) = (&self.store, self.defaulted) else {
            return None;
        };
        let real = calstore_file::clean_path(root);
        if !real.is_dir() || real.file_name().is_some_and(|n| n == "store") {
            return None;
        }
        let parent = real.parent()?;
        let parts_missing = [&self.journal, &self.preferences]
            .iter()
            .all(|l| matches!(l, Location::File(p) if !p.exists()));
        let old: Vec<String> = ["preferences", "journal"]
            .iter()
            .map(|n| parent.join(n))
            .filter(|p| p.is_dir())
            .map(|p| p.display().to_string())
            .collect();
        if !parts_missing || old.is_empty() {
            return None;
        }
        Some(format!(
            "the store {} records no layout and {} lies beside it (where an older calstore kept the parts of every store there): name its parts once with `calstore --store {} --preferences PATH --journal PATH init`, which records them",
            root.display(),
            old.join(" and "),
            root.display()
        ))
    }

    /// Refuses file roots that collide: the store, its preferences and its journal each need a
    /// directory of their own, none inside another.
    ///
    /// # Errors
    ///
    /// Invalid input naming the two roots.
    pub fn check_apart(&self) -> Result<()> {
        let mut roots = Vec::new();
        for (name, location) in [
            ("store", &self.store),
            ("preferences", &self.preferences),
            ("journal", &self.journal),
        ] {
            if let Location::File(path) = location {
                roots.push((name, path.as_path()));
            }
        }
        calstore_file::check_apart(&roots)
    }

    /// The file store's root, if the store is a file store.
    pub fn store_root(&self) -> Option<&std::path::Path> {
        match &self.store {
            Location::File(root) => Some(root),
            Location::Postgres(_) => None,
        }
    }

    /// Fails unless the file store's root exists (a PostgreSQL store reports a missing schema
    /// itself when opened): a mistyped path must not read as an empty store.
    ///
    /// # Errors
    ///
    /// Unavailable ("no store at …; run `calstore init`") when the root is missing; invalid
    /// input when it is not a directory.
    pub fn require_store(&self) -> Result<()> {
        let Some(root) = self.store_root() else {
            return Ok(());
        };
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(Error::invalid(format!(
                "{} is not a directory, so it is no store",
                root.display()
            ))),
            Err(_) => Err(Error::new(
                calstore::ErrorKind::Unavailable,
                format!("no store at {}; run `calstore init`", root.display()),
            )),
        }
    }

    /// Creates the file roots that are missing and records the layout in a store root that
    /// has none yet (PostgreSQL locations are left alone): what `init`, `import` and the
    /// target of `copy` do before opening.
    ///
    /// # Errors
    ///
    /// Invalid input for colliding roots; unavailable when a directory or the record cannot be
    /// written.
    pub fn create_file_roots(&self) -> Result<()> {
        self.check_apart()?;
        for location in [&self.store, &self.journal, &self.preferences] {
            if let Location::File(dir) = location {
                if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
                    return Err(Error::invalid(format!(
                        "{} is not a directory",
                        dir.display()
                    )));
                }
            }
        }
        for location in [&self.store, &self.journal, &self.preferences] {
            if let Location::File(dir) = location {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::new(
                        calstore::ErrorKind::Unavailable,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
            }
        }
        if let Location::File(root) = &self.store {
            if StoreLayout::recorded(root)?.is_none() {
                if let (Location::File(p), Location::File(j)) = (&self.preferences, &self.journal) {
                    StoreLayout {
                        preferences: p.clone(),
                        journal: j.clone(),
                    }
                    .record(root)?;
                }
            }
        }
        Ok(())
    }

    /// Why the store and its preferences cannot be opened together, if they cannot: they must
    /// be two directories, or one PostgreSQL database.
    pub fn preferences_mismatch(&self) -> Option<&'static str> {
        match (&self.store, &self.preferences) {
            (Location::File(_), Location::File(_)) => None,
            (Location::Postgres(s), Location::Postgres(p)) if s == p => None,
            (Location::Postgres(_), Location::Postgres(_)) => Some(
                "a PostgreSQL store keeps its preferences in its own database: --preferences must name the same database",
            ),
            _ => Some(
                "the store and its preferences must be of one kind (both directories, or one PostgreSQL database)",
            ),
        }
    }

    /// Opens the store (read-only when `read_only`). A PostgreSQL store that may write sends
    /// every read to the primary (a read-modify-write must see what was just written); one that
    /// cannot write reads from the replicas.
    ///
    /// # Errors
    ///
    /// Invalid input for [`Plan::preferences_mismatch`]; the errors of opening the backend
    /// (a missing or foreign directory, an unreachable server, a schema of another version).
    pub async fn open_store(&self, read_only: bool) -> Result<AnyStore> {
        match (&self.store, &self.preferences) {
            (Location::File(root), Location::File(prefs)) => {
                let options = FileStoreOptions {
                    read_only,
                    ..FileStoreOptions::new(root.clone(), prefs.clone())
                };
                Ok(AnyStore::File(FileStore::open(options)?))
            }
            (Location::Postgres(conninfo), _) if self.preferences_mismatch().is_none() => {
                let cluster = cluster(self.store_cluster.clone(), conninfo, read_only);
                let store = PgStore::connect_cluster(&cluster).await?;
                Ok(AnyStore::Postgres(
                    if calstore::Store::is_read_only(&store) {
                        store
                    } else {
                        store.with_primary()
                    },
                ))
            }
            _ => Err(Error::invalid(
                self.preferences_mismatch()
                    .unwrap_or("the store cannot be opened"),
            )),
        }
    }

    /// Opens the journal (read-only when `read_only`), routing reads as
    /// [`Plan::open_store`] does.
    ///
    /// # Errors
    ///
    /// The errors of opening the backend.
    pub async fn open_journal(&self, read_only: bool) -> Result<AnyJournal> {
        match &self.journal {
            Location::File(root) => {
                let options = FileJournalOptions {
                    read_only,
                    ..FileJournalOptions::new(root.clone())
                };
                Ok(AnyJournal::File(FileJournal::open(options)?))
            }
            Location::Postgres(conninfo) => {
                let cluster = cluster(self.journal_cluster.clone(), conninfo, read_only);
                let journal = PgJournal::connect_cluster(&cluster).await?;
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
}

/// The servers of a PostgreSQL location: the configured instance's (made read-only by
/// `read_only`), or the one server named.
fn cluster(configured: Option<ClusterOptions>, conninfo: &str, read_only: bool) -> ClusterOptions {
    match configured {
        Some(mut c) => {
            c.primary.read_only |= read_only;
            c
        }
        None => ClusterOptions::new(pg_options(conninfo, read_only)),
    }
}

/// The pool options for one PostgreSQL location named on its own: a program that opens a store
/// this way needs few connections (one per concurrent job, 8 by default).
pub fn pg_options(conninfo: &str, read_only: bool) -> PgOptions {
    let mut options = PgOptions::new(conninfo);
    options.read_only = read_only;
    options.pool_size = 8;
    options
}
