//! The file as written (serde, unknown keys refused), and its checking into [`InstanceConfig`]s.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::InstanceConfig;
use crate::cluster::ClusterOptions;
use crate::conninfo::{with_tls_defaults, ConnSettings, SslMode};
use crate::pool::PgOptions;

/// A failed check: the key and the reason.
pub(super) type Bad = (String, String);

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub(super) instances: BTreeMap<String, Instance>,
}

/// `[instances.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Instance {
    primary: String,
    #[serde(default)]
    replicas: Vec<String>,
    journal: Option<Journal>,
    tls: Option<Tls>,
    pool_size: Option<i64>,
    read_only: Option<bool>,
    primary_reads: Option<bool>,
    max_replica_lag: Option<Span>,
    lag_check_interval: Option<Span>,
    replica_retry: Option<Span>,
    wait_timeout: Option<Span>,
    lock_timeout: Option<Span>,
    max_lifetime: Option<Span>,
}

/// `[instances.NAME.journal]`: where the journal is, when not in the store's database.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Journal {
    primary: String,
    #[serde(default)]
    replicas: Vec<String>,
}

/// `[instances.NAME.tls]`: defaults for the instance's connection strings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    sslmode: Option<String>,
    sslrootcert: Option<PathBuf>,
}

/// A duration: `"250ms"`, `"5s"`, `"2m"`, `"1h"`, or a number of seconds.
#[derive(Debug, Clone, Copy)]
struct Span(Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Span;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"250ms\", \"5s\", \"2m\" or a number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Span, E> {
                u64::try_from(v)
                    .map(|s| Span(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Span, E> {
                Ok(Span(Duration::from_secs(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Span, E> {
                Duration::try_from_secs_f64(v)
                    .map(Span)
                    .map_err(|_| E::custom("a duration must be a positive number of seconds"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Span, E> {
                parse_duration(v).map(Span).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `250ms`, `5s`, `1.5s`, `2m`, `1h` (a bare number is seconds).
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (such as \"250ms\", \"5s\", \"2m\")"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

impl Instance {
    /// Checks every value and builds the options; `key` is `instances.NAME`, `base` the file's
    /// directory.
    pub(super) fn resolve(self, key: &str, base: &Path) -> Result<InstanceConfig, Bad> {
        let k = |name: &str| format!("{key}.{name}");
        let (mode, root) = match &self.tls {
            None => (None, None),
            Some(tls) => {
                let mode = tls
                    .sslmode
                    .as_deref()
                    .map(SslMode::parse)
                    .transpose()
                    .map_err(|e| (k("tls.sslmode"), e.message().to_owned()))?;
                let root = tls.sslrootcert.as_ref().map(|p| base.join(p));
                if let Some(r) = &root {
                    if !r.is_file() {
                        return Err((
                            k("tls.sslrootcert"),
                            format!("{} is not a readable file", r.display()),
                        ));
                    }
                }
                (mode, root)
            }
        };
        let conn = |name: String, text: &str| -> Result<String, Bad> {
            check_conninfo(text, mode, root.as_deref()).map_err(|why| (name, why))
        };
        let mut primary = PgOptions::new(conn(k("primary"), &self.primary)?);
        if let Some(n) = self.pool_size {
            primary.pool_size = usize::try_from(n)
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| (k("pool_size"), format!("{n} is not between 1 and 10000")))?;
        }
        primary.read_only = self.read_only.unwrap_or(false);
        for (name, value, slot) in [
            ("wait_timeout", self.wait_timeout, &mut primary.wait_timeout),
            ("lock_timeout", self.lock_timeout, &mut primary.lock_timeout),
            ("max_lifetime", self.max_lifetime, &mut primary.max_lifetime),
        ] {
            if let Some(Span(d)) = value {
                if d.is_zero() {
                    return Err((k(name), "it must be longer than zero".to_owned()));
                }
                *slot = Some(d);
            }
        }
        let mut store = ClusterOptions::new(primary);
        for (i, r) in self.replicas.iter().enumerate() {
            store
                .replicas
                .push(conn(format!("{}[{i}]", k("replicas")), r)?);
        }
        store.primary_reads = self.primary_reads.unwrap_or(false);
        store.max_replica_lag = self.max_replica_lag.map(|s| s.0);
        for (name, value, slot) in [
            (
                "lag_check_interval",
                self.lag_check_interval,
                &mut store.lag_check_interval,
            ),
            (
                "replica_retry",
                self.replica_retry,
                &mut store.replica_retry,
            ),
        ] {
            if let Some(Span(d)) = value {
                if d.is_zero() {
                    return Err((k(name), "must be longer than zero".to_owned()));
                }
                *slot = d;
            }
        }
        let journal = match self.journal {
            None => None,
            Some(j) => {
                let mut options = store.clone();
                options.primary.conninfo = conn(k("journal.primary"), &j.primary)?;
                options.replicas = Vec::new();
                for (i, r) in j.replicas.iter().enumerate() {
                    let name = format!("{}[{i}]", k("journal.replicas"));
                    options.replicas.push(conn(name, r)?);
                }
                Some(options)
            }
        };
        Ok(InstanceConfig { store, journal })
    }
}

/// A PostgreSQL connection string with the TLS defaults added, checked by parsing it.
fn check_conninfo(
    text: &str,
    mode: Option<SslMode>,
    root: Option<&Path>,
) -> Result<String, String> {
    match calstore::config::Location::parse(text) {
        Ok(calstore::config::Location::Postgres(_)) => {}
        Ok(calstore::config::Location::File(p)) => {
            return Err(format!(
                "{} is not a PostgreSQL connection string (postgresql://… or a libpq keyword \
                 string); configured instances are PostgreSQL servers",
                p.display()
            ))
        }
        Err(e) => return Err(e.message().to_owned()),
    }
    let merged = with_tls_defaults(text, mode, root).map_err(|e| e.message().to_owned())?;
    ConnSettings::parse(&merged).map_err(|e| e.message().to_owned())?;
    Ok(merged)
}

/// The database a connection string names: its servers and database name.
fn database_of(conninfo: &str) -> Option<String> {
    let s = ConnSettings::parse(conninfo).ok()?;
    Some(format!(
        "{} database {}",
        s.target(),
        s.config().get_dbname().unwrap_or_default()
    ))
}

/// Instances never share data: no database may be the primary of two instances.
pub(super) fn check_distinct(instances: &BTreeMap<String, InstanceConfig>) -> Result<(), Bad> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, inst) in instances {
        let mut own = vec![(
            format!("instances.{name}.primary"),
            inst.store.primary.conninfo.as_str(),
        )];
        if let Some(j) = &inst.journal {
            own.push((
                format!("instances.{name}.journal.primary"),
                &j.primary.conninfo,
            ));
        }
        for (key, conninfo) in own {
            let Some(db) = database_of(conninfo) else {
                continue;
            };
            match seen.get(&db) {
                Some(other) if !other.starts_with(&format!("instances.{name}.")) => {
                    return Err((
                        key,
                        format!(
                            "{db} is already the database of {other}: instances never share data"
                        ),
                    ));
                }
                _ => {
                    seen.insert(db, key);
                }
            }
        }
    }
    Ok(())
}
