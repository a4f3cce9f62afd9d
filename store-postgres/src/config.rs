//! `calstore.toml`: named instances, each with a primary, its replicas, the journal, TLS
//! settings, pool size, read-only flag and the routing of reads (docs/operations.md).
//!
//! ```toml
//! [instances.main]
//! primary = "postgresql://agent@db1.example.com/imip_agent"
//! replicas = ["postgresql://agent@db2.example.com/imip_agent"]
//! primary_reads = false        # the primary serves plain reads too
//! max_replica_lag = "5s"       # leave out replicas lagging more (default: no bound)
//! pool_size = 16
//! read_only = false
//!
//! [instances.main.tls]         # defaults for every connection string of the instance
//! sslmode = "verify-full"
//! sslrootcert = "ca.pem"       # relative to this file's directory
//!
//! [instances.main.journal]     # default: the store's database
//! primary = "postgresql://agent@db1.example.com/imip_journal"
//! ```
//!
//! Every table refuses keys it does not know; every error names the file, the key and the
//! reason. Which instance a call uses: the name given, else `CALSTORE_INSTANCE`, else the only
//! one ([`Config::select`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calstore::{Error, Result};

use crate::cluster::ClusterOptions;

mod raw;
mod span;
#[cfg(test)]
mod tests;

/// The environment variable naming the instance when the caller names none.
pub const INSTANCE_ENV: &str = "CALSTORE_INSTANCE";

/// The environment variable naming the configuration file (read by the CLI).
pub const CONFIG_ENV: &str = "CALSTORE_CONFIG";

/// One instance: its store's servers and, when elsewhere, its journal's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The store's (and the preferences') primary, replicas and routing.
    pub store: ClusterOptions,
    /// The journal's servers; `None`: the store's database (one pool for both).
    pub journal: Option<ClusterOptions>,
}

impl InstanceConfig {
    /// The journal's servers: its own, or the store's.
    pub fn journal_options(&self) -> &ClusterOptions {
        self.journal.as_ref().unwrap_or(&self.store)
    }
}

/// A parsed and checked configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    path: PathBuf,
    instances: BTreeMap<String, InstanceConfig>,
}

impl Config {
    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    ///
    /// Invalid input naming the file, the key and the reason: the file cannot be read, is not
    /// TOML, has an unknown key or a bad value, names no instance, or names one database for two
    /// instances.
    pub fn load(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?;
        Config::parse(&text, path)
    }

    /// Parses and checks `text` as the file at `path` (relative TLS paths are taken from its
    /// directory; messages name it).
    ///
    /// # Errors
    ///
    /// As [`Config::load`].
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let file: raw::File = toml::from_str(text).map_err(|e| span::describe(&e, text, path))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let bad = |key: &str, reason: &str| {
            Error::invalid(format!("{}: {key}: {reason}", path.display()))
        };
        if file.instances.is_empty() {
            return Err(bad(
                "instances",
                "no instance is configured: add an [instances.NAME] table",
            ));
        }
        let mut instances = BTreeMap::new();
        for (name, inst) in file.instances {
            let key = format!("instances.{name}");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad(
                    &key,
                    "an instance name is letters, digits, '_' and '-' only",
                ));
            }
            let config = inst.resolve(&key, base).map_err(|(k, why)| bad(&k, &why))?;
            instances.insert(name, config);
        }
        raw::check_distinct(&instances).map_err(|(k, why)| bad(&k, &why))?;
        Ok(Config {
            path: path.to_path_buf(),
            instances,
        })
    }

    /// The file this came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The instances' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.instances.keys().map(String::as_str)
    }

    /// Every instance by name.
    pub fn instances(&self) -> &BTreeMap<String, InstanceConfig> {
        &self.instances
    }

    /// The instance a call uses: `name` when given, else the one `CALSTORE_INSTANCE` names, else
    /// the only one.
    ///
    /// # Errors
    ///
    /// Invalid input for an unknown name, or when several instances exist and none is named.
    pub fn select(&self, name: Option<&str>) -> Result<(&str, &InstanceConfig)> {
        self.select_with_env(name, |k| std::env::var(k).ok())
    }

    /// As [`Config::select`], reading the environment through `env`.
    ///
    /// # Errors
    ///
    /// As [`Config::select`].
    pub fn select_with_env(
        &self,
        name: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(&str, &InstanceConfig)> {
        let chosen = select_name(self.names(), name, env, &self.path)?;
        let (name, config) = self
            .instances
            .get_key_value(chosen.as_str())
            .ok_or_else(|| unknown_instance(&chosen, self.names(), &self.path))?;
        Ok((name.as_str(), config))
    }
}

/// The name of the instance to use among `names`: `explicit`, else `CALSTORE_INSTANCE` (through
/// `env`), else the only one.
pub(crate) fn select_name<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    explicit: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    origin: &Path,
) -> Result<String> {
    let wanted = explicit
        .map(str::to_owned)
        .or_else(|| env(INSTANCE_ENV).filter(|v| !v.trim().is_empty()));
    match wanted {
        Some(w) => {
            let w = w.trim().to_owned();
            if names.clone().any(|n| n == w) {
                Ok(w)
            } else {
                Err(unknown_instance(&w, names, origin))
            }
        }
        None => {
            let all: Vec<&str> = names.collect();
            match all.as_slice() {
                [only] => Ok((*only).to_owned()),
                _ => Err(Error::invalid(format!(
                    "{} configures several instances ({}): name one (--instance NAME or {INSTANCE_ENV})",
                    origin.display(),
                    all.join(", ")
                ))),
            }
        }
    }
}

fn unknown_instance<'a>(name: &str, names: impl Iterator<Item = &'a str>, origin: &Path) -> Error {
    Error::invalid(format!(
        "unknown instance {name:?}: {} configures {}",
        origin.display(),
        names.collect::<Vec<_>>().join(", ")
    ))
}
