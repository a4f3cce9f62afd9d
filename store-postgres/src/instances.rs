//! Several instances in one process: each an independent store and journal on servers of its
//! own (docs/operations.md). A call names its instance, or takes it from `CALSTORE_INSTANCE`;
//! with one instance no name is needed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use calstore::Result;

use crate::config::{select_name, Config, InstanceConfig};
use crate::{PgJournal, PgPool, PgStore};

/// One configured instance, opened: its store and its journal (sharing one pool when the
/// journal is in the store's database).
#[derive(Debug, Clone)]
pub struct Instance {
    name: String,
    store: PgStore,
    journal: PgJournal,
}

impl Instance {
    /// Opens the instance's pools without connecting (connections open on first use; a missing
    /// schema is then reported by the first call).
    ///
    /// # Errors
    ///
    /// Invalid input when a connection string or a TLS file is unusable.
    pub fn open(name: &str, config: &InstanceConfig) -> Result<Instance> {
        let store_pool = PgPool::new_cluster(&config.store)?;
        let journal_pool = match &config.journal {
            None => store_pool.clone(),
            Some(j) => PgPool::new_cluster(j)?,
        };
        Ok(Instance::from_pools(name, &store_pool, &journal_pool))
    }

    /// Opens the instance and checks the schema on its primaries (and whether they can be
    /// written, see [`PgPool::connect_cluster`]).
    ///
    /// # Errors
    ///
    /// Unavailable, naming the instance, server and reason, when a primary cannot be reached or
    /// its schema is missing or out of date; invalid input as for [`Instance::open`].
    pub async fn connect(name: &str, config: &InstanceConfig) -> Result<Instance> {
        let context = |e: calstore::Error| e.context(format!("instance {name}"));
        let store_pool = PgPool::connect_cluster(&config.store)
            .await
            .map_err(context)?;
        let journal_pool = match &config.journal {
            None => store_pool.clone(),
            Some(j) => PgPool::connect_cluster(j).await.map_err(context)?,
        };
        Ok(Instance::from_pools(name, &store_pool, &journal_pool))
    }

    fn from_pools(name: &str, store: &PgPool, journal: &PgPool) -> Instance {
        Instance {
            name: name.to_owned(),
            store: PgStore::from_pool(store, false),
            journal: PgJournal::from_pool(journal, false),
        }
    }

    /// The instance's name in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its store (with the preferences).
    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// Its journal.
    pub fn journal(&self) -> &PgJournal {
        &self.journal
    }
}

/// Every instance of a configuration, opened, for a process that serves several (one per site
/// or customer). Instances never share a database, so they never see each other's data.
#[derive(Debug, Clone)]
pub struct Instances {
    origin: PathBuf,
    all: BTreeMap<String, Instance>,
}

impl Instances {
    /// Opens every instance without connecting ([`Instance::open`]).
    ///
    /// # Errors
    ///
    /// As [`Instance::open`].
    pub fn open(config: &Config) -> Result<Instances> {
        let mut all = BTreeMap::new();
        for (name, c) in config.instances() {
            all.insert(name.clone(), Instance::open(name, c)?);
        }
        Ok(Instances {
            origin: config.path().to_path_buf(),
            all,
        })
    }

    /// Opens every instance and checks each one's schema ([`Instance::connect`]).
    ///
    /// # Errors
    ///
    /// As [`Instance::connect`], for the first instance that fails.
    pub async fn connect(config: &Config) -> Result<Instances> {
        let mut all = BTreeMap::new();
        for (name, c) in config.instances() {
            all.insert(name.clone(), Instance::connect(name, c).await?);
        }
        Ok(Instances {
            origin: config.path().to_path_buf(),
            all,
        })
    }

    /// The instances' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.all.keys().map(String::as_str)
    }

    /// The instance of a call: `name` when given, else the one `CALSTORE_INSTANCE` names (read
    /// now, so a process serving requests for several instances may set it per request), else
    /// the only one.
    ///
    /// # Errors
    ///
    /// Invalid input for an unknown name (the message lists the configured ones), or when
    /// several instances exist and none is named.
    pub fn get(&self, name: Option<&str>) -> Result<&Instance> {
        self.get_with_env(name, |k| std::env::var(k).ok())
    }

    /// As [`Instances::get`], reading the environment through `env`.
    ///
    /// # Errors
    ///
    /// As [`Instances::get`].
    pub fn get_with_env(
        &self,
        name: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<&Instance> {
        let chosen = select_name(self.names(), name, env, &self.origin)?;
        self.all
            .get(&chosen)
            .ok_or_else(|| calstore::Error::invalid(format!("unknown instance {chosen:?}")))
    }
}
