//! calstore-postgres: calstore's [`Store`](calstore::Store) and [`Journal`](calstore::Journal)
//! on PostgreSQL (spec: POSTGRES.md; schema: `sql/` and docs/schema.md).
//!
//! - [`PgStore`] and [`PgJournal`] share a [`PgPool`] of connections (deadpool-postgres); every
//!   trait method is one statement or one transaction. Writes take the owner's advisory lock,
//!   check and bump the table's version, and commit; stale versions fail with
//!   [`ErrorKind::Conflict`](calstore::ErrorKind::Conflict).
//! - [`PgOptions`] names the database with a libpq URL or keyword string ([`ConnSettings`]
//!   applies libpq's `PG*` defaults; TLS modes up to `verify-full` use rustls).
//! - [`schema`] installs, upgrades and reports the schema (numbered migrations, checksums,
//!   writer and reader roles).
//! - With the `test-harness` feature, `harness` starts a private PostgreSQL server for tests.
#![forbid(unsafe_code)]

mod conninfo;
mod error;
mod journal;
mod objects;
mod periods;
mod pgpass;
mod pool;
mod providers;
pub mod schema;
mod store;
mod tls;
mod versions;

#[cfg(feature = "test-harness")]
pub mod harness;

pub use conninfo::{ConnSettings, SslMode, DEFAULT_CONNECT_TIMEOUT, DEFAULT_SOCKET_DIR};
pub use journal::PgJournal;
pub use pool::{connect_client, connect_settings, PgOptions, PgPool};
pub use store::PgStore;
