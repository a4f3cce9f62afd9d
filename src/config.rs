//! Store and journal specifications, as given on the command line or in the environment:
//! `file:PATH`, `file:///ABS/PATH`, a bare directory path, `postgresql://…`, `postgres://…`, or a
//! libpq keyword string such as `dbname=imip_agent host=/run/postgresql` (CLI.md).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a store, journal or preferences root lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory of the file store.
    File(PathBuf),
    /// A PostgreSQL connection string (URL or keyword form), passed on unchanged.
    Postgres(String),
}

impl Location {
    /// Parses a specification.
    ///
    /// # Errors
    ///
    /// Invalid input for an empty text, a `file:` URL with a host, or an unknown URL scheme.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::invalid("an empty store specification"));
        }
        if spec.starts_with("postgresql://") || spec.starts_with("postgres://") {
            return Ok(Location::Postgres(spec.to_owned()));
        }
        if let Some(rest) = spec.strip_prefix("file:") {
            let path = match rest.strip_prefix("//") {
                // file:///abs/path or file://localhost/abs/path
                Some(after) => {
                    let (host, path) = after.split_at(after.find('/').unwrap_or(after.len()));
                    if !host.is_empty() && host != "localhost" {
                        return Err(Error::invalid(format!(
                            "file URL {spec:?} names a host; only local paths are supported"
                        )));
                    }
                    percent_decode(path)?
                }
                None => rest.to_owned(),
            };
            if path.is_empty() {
                return Err(Error::invalid(format!("file URL {spec:?} has no path")));
            }
            return Ok(Location::File(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = spec.split_once("://") {
            return Err(Error::invalid(format!(
                "unknown store scheme {scheme:?} in {spec:?} (use file:, postgresql:// or a libpq keyword string)"
            )));
        }
        if looks_like_keywords(spec) {
            return Ok(Location::Postgres(spec.to_owned()));
        }
        Ok(Location::File(PathBuf::from(spec)))
    }

    /// The location beside this one with the given name: `PATH/../NAME` for files, the same
    /// database for PostgreSQL (used for the default journal and preferences).
    pub fn sibling(&self, name: &str) -> Location {
        match self {
            Location::File(path) => {
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Location::File(parent.join(name))
            }
            Location::Postgres(c) => Location::Postgres(c.clone()),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "file:{}", p.display()),
            Location::Postgres(c) => f.write_str(&redact_password(c)),
        }
    }
}

/// A libpq keyword string is `key=value` pairs; a directory path rarely starts that way.
fn looks_like_keywords(spec: &str) -> bool {
    const KEYS: [&str; 12] = [
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "sslmode",
        "sslrootcert",
        "application_name",
        "connect_timeout",
        "options",
        "target_session_attrs",
    ];
    spec.split_whitespace()
        .next()
        .and_then(|w| w.split_once('='))
        .is_some_and(|(k, _)| KEYS.contains(&k))
}

fn percent_decode(s: &str) -> Result<String> {
    crate::id::decode_component(s)
        .map_err(|_| Error::invalid(format!("bad percent-encoding in file URL path {s:?}")))
}

/// Hides a password in a connection string for messages and logs.
pub fn redact_password(conninfo: &str) -> String {
    if let Some(scheme_end) = conninfo.find("://") {
        let rest = &conninfo[scheme_end + 3..];
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!(
                    "{}{}:***{}",
                    &conninfo[..scheme_end + 3],
                    &rest[..colon],
                    &rest[at..]
                );
            }
        }
        return conninfo.to_owned();
    }
    conninfo
        .split_whitespace()
        .map(|w| {
            if w.starts_with("password=") {
                "password=***"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifications_parse() {
        assert_eq!(
            Location::parse("file:data/store").unwrap(),
            Location::File("data/store".into())
        );
        assert_eq!(
            Location::parse("file:///srv/cal store").unwrap(),
            Location::File("/srv/cal store".into())
        );
        assert_eq!(
            Location::parse("file:///srv/a%20b").unwrap(),
            Location::File("/srv/a b".into())
        );
        assert_eq!(
            Location::parse("/var/lib/imip-agent/store").unwrap(),
            Location::File("/var/lib/imip-agent/store".into())
        );
        assert_eq!(
            Location::parse("postgres://u@h/db").unwrap(),
            Location::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            Location::parse("dbname=imip_agent host=/run/postgresql").unwrap(),
            Location::Postgres("dbname=imip_agent host=/run/postgresql".into())
        );
        assert!(Location::parse("").is_err());
        assert!(Location::parse("mysql://x").is_err());
        assert!(Location::parse("file://otherhost/x").is_err());
        assert_eq!(
            Location::parse("data/store").unwrap().sibling("journal"),
            Location::File("data/journal".into())
        );
        assert_eq!(
            Location::parse("store").unwrap().sibling("journal"),
            Location::File("./journal".into())
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_password("postgresql://bob:secret@db:5432/x"),
            "postgresql://bob:***@db:5432/x"
        );
        assert_eq!(
            redact_password("dbname=x password=secret"),
            "dbname=x password=***"
        );
        assert_eq!(
            redact_password("postgresql://bob@db/x"),
            "postgresql://bob@db/x"
        );
    }
}
