//! Schema installation, upgrade and status: the numbered migrations of `store-postgres/sql/`, each applied in
//! one transaction under an advisory lock, recorded with its checksum in `schema_migrations`.

use std::fmt;

use calstore::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient};

use crate::error::query_error;

mod roles;

pub use roles::Roles;

/// One numbered migration of `store-postgres/sql/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number (`0002_updated_at.sql` is 2).
    pub version: u32,
    /// Its file name without `.sql`.
    pub name: &'static str,
    /// The SQL, exactly as in the file.
    pub sql: &'static str,
}

impl Migration {
    /// The SHA-256 of the file, in lower-case hexadecimal (what `sha256sum` prints).
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Every migration this program knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../sql/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_updated_at",
        sql: include_str!("../sql/0002_updated_at.sql"),
    },
    Migration {
        version: 3,
        name: "0003_hash_overlap",
        sql: include_str!("../sql/0003_hash_overlap.sql"),
    },
    Migration {
        version: 4,
        name: "0004_fbtype",
        sql: include_str!("../sql/0004_fbtype.sql"),
    },
];

/// The schema version this program needs.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Serialises installers of one database: `pg_advisory_xact_lock` on this key ("calstore").
const LOCK_KEY: i64 = 0x6361_6c73_746f_7265;

/// What [`install`] or [`upgrade`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The schema version found.
    pub before: u32,
    /// The schema version left.
    pub after: u32,
    /// The migrations applied, in order (empty: the schema was up to date).
    pub applied: Vec<&'static str>,
    /// What was granted, one sentence per role.
    pub granted: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.applied.is_empty() {
            write!(f, "schema up to date (version {})", self.after)?;
        } else {
            write!(
                f,
                "applied {}: schema now at version {} (was {})",
                self.applied.join(", "),
                self.after,
                self.before
            )?;
        }
        for g in &self.granted {
            write!(f, "; {g}")?;
        }
        Ok(())
    }
}

/// A migration recorded in `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its number.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// The checksum recorded when it was applied.
    pub checksum: String,
    /// When it was applied.
    pub applied_at: chrono::DateTime<chrono::Utc>,
}

/// What [`status`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Whether `schema_migrations` exists at all.
    pub installed: bool,
    /// The highest applied migration (0: none).
    pub version: u32,
    /// The version this program needs.
    pub latest: u32,
    /// The applied migrations, in order.
    pub applied: Vec<Applied>,
    /// The migrations this program would apply.
    pub pending: Vec<&'static str>,
    /// Applied migrations whose file changed since (a sentence each).
    pub drift: Vec<String>,
}

impl Status {
    /// Whether the schema is installed, current and unchanged.
    pub fn is_current(&self) -> bool {
        self.installed && self.version == self.latest && self.drift.is_empty()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.installed || self.version == 0 {
            write!(
                f,
                "no calstore schema installed (latest version {})",
                self.latest
            )?;
        } else if self.version > self.latest {
            write!(
                f,
                "schema version {}, newer than this program (latest it knows: {})",
                self.version, self.latest
            )?;
        } else if self.pending.is_empty() {
            write!(f, "schema version {}: up to date", self.version)?;
        } else {
            write!(
                f,
                "schema version {} of {}: pending {} (run `calstore schema upgrade`)",
                self.version,
                self.latest,
                self.pending.join(", ")
            )?;
        }
        for d in &self.drift {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

/// Creates the schema, or completes it: applies every missing migration in order, each in one
/// transaction, then grants `roles` (creating missing roles as `NOLOGIN`). On a current database
/// it changes nothing (except the grants) and reports "up to date". Two installers at once
/// serialise on an advisory lock: the schema is installed once.
///
/// # Errors
///
/// Corrupt data when an applied migration differs from this program's copy (drift); invalid
/// input when the database is newer than this program; read-only or backend errors (with the
/// SQL state) when the connected role may not create the objects.
pub async fn install(client: &mut Client, roles: Option<&Roles>) -> Result<Report> {
    migrate(client, latest_version(), false, roles).await
}

/// Applies the missing migrations of an installed schema, in order, each in one transaction,
/// keeping every row; then grants `roles` as [`install`] does.
///
/// # Errors
///
/// Not found when no schema is installed (use [`install`]); otherwise as [`install`].
pub async fn upgrade(client: &mut Client, roles: Option<&Roles>) -> Result<Report> {
    migrate(client, latest_version(), true, roles).await
}

/// As [`install`], but stops at migration `version` (for staged upgrades and tests).
///
/// # Errors
///
/// Invalid input for a version this program does not know; otherwise as [`install`].
pub async fn install_to(
    client: &mut Client,
    version: u32,
    roles: Option<&Roles>,
) -> Result<Report> {
    if version > latest_version() {
        return Err(Error::invalid(format!(
            "schema version {version} is unknown (latest: {})",
            latest_version()
        )));
    }
    migrate(client, version, false, roles).await
}

/// Reads the schema version, the applied and pending migrations and any drift.
///
/// # Errors
///
/// Backend or unavailable errors of the query.
pub async fn status(client: &Client) -> Result<Status> {
    read_status(client).await
}

/// Fails unless the schema is installed at exactly the version this program needs.
pub(crate) async fn check_current(client: &Client, target: &str) -> Result<()> {
    let st = read_status(client).await?;
    let latest = latest_version();
    let problem = if !st.installed || st.version == 0 {
        "has no calstore schema: run `calstore schema install`".to_owned()
    } else if st.version < latest {
        format!(
            "has schema version {}, older than {latest}: run `calstore schema upgrade`",
            st.version
        )
    } else if st.version > latest {
        format!(
            "has schema version {}, newer than this program knows ({latest}): upgrade calstore",
            st.version
        )
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::Unavailable,
        format!("the database at {target} {problem}"),
    ))
}

fn db_err(doing: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |e| query_error(&e, "the database", doing)
}

async fn read_status<C: GenericClient>(client: &C) -> Result<Status> {
    let err = db_err("reading the schema version");
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(&err)?
        .get(0);
    let mut st = Status {
        installed: exists,
        latest: latest_version(),
        ..Status::default()
    };
    if exists {
        let rows = client
            .query(
                "SELECT version, name, checksum, applied_at FROM schema_migrations \
                 ORDER BY version",
                &[],
            )
            .await
            .map_err(&err)?;
        for row in rows {
            let version: i32 = row.get(0);
            st.applied.push(Applied {
                version: u32::try_from(version).unwrap_or(0),
                name: row.get(1),
                checksum: row.get(2),
                applied_at: row.get(3),
            });
        }
    }
    st.version = st.applied.iter().map(|a| a.version).max().unwrap_or(0);
    for a in &st.applied {
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == a.version) {
            let now = m.checksum();
            if now != a.checksum {
                st.drift.push(format!(
                    "migration {} was changed after it was applied (recorded checksum {}, this \
                     program's {now})",
                    m.name, a.checksum
                ));
            }
        }
    }
    st.pending = MIGRATIONS
        .iter()
        .filter(|m| !st.applied.iter().any(|a| a.version == m.version))
        .map(|m| m.name)
        .collect();
    Ok(st)
}

async fn migrate(
    client: &mut Client,
    target: u32,
    require_installed: bool,
    roles: Option<&Roles>,
) -> Result<Report> {
    let mut report = Report::default();
    let mut first = true;
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(db_err("starting a schema transaction"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(db_err("taking the schema lock"))?;
        let st = read_status(&tx).await?;
        if first {
            if require_installed && !st.installed {
                return Err(Error::not_found(
                    "no calstore schema is installed in this database: run `calstore schema \
                     install`",
                ));
            }
            if let Some(d) = st.drift.first() {
                return Err(Error::corrupt(format!(
                    "refusing to change the schema: {d}"
                )));
            }
            if st.version > latest_version() {
                return Err(Error::invalid(format!(
                    "the database has schema version {}, newer than this program knows ({})",
                    st.version,
                    latest_version()
                )));
            }
            report.before = st.version;
            first = false;
        }
        let next = MIGRATIONS
            .iter()
            .find(|m| m.version <= target && !st.applied.iter().any(|a| a.version == m.version));
        let Some(m) = next else {
            report.after = st.version;
            if let Some(roles) = roles {
                report.granted = roles::grant(&tx, roles).await?;
            }
            tx.commit()
                .await
                .map_err(db_err("committing the schema grants"))?;
            return Ok(report);
        };
        let doing = format!("applying migration {}", m.name);
        tx.batch_execute(m.sql).await.map_err(db_err(&doing))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[
                &i32::try_from(m.version).unwrap_or(i32::MAX),
                &m.name,
                &m.checksum(),
            ],
        )
        .await
        .map_err(db_err(&doing))?;
        tx.commit().await.map_err(db_err(&doing))?;
        tracing::info!("applied schema migration {}", m.name);
        report.applied.push(m.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_with_matching_names() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            assert_eq!(m.checksum().len(), 64);
        }
    }
}
