//! calstore-postgres: calstore's [`Store`](calstore::Store) and [`Journal`](calstore::Journal)
//! on PostgreSQL (spec: POSTGRES.md; schema: `store-postgres/sql/` and docs/schema.md).
//!
//! - [`PgStore`] and [`PgJournal`] share a [`PgPool`] of connections (deadpool-postgres); every
//!   trait method is one statement or one transaction. Writes take the owner's advisory lock,
//!   check and bump the table's version, and commit; stale versions fail with
//!   [`ErrorKind::Stale`](calstore::ErrorKind::Stale).
//! - [`PgOptions`] names the database with a libpq URL or keyword string ([`ConnSettings`]
//!   applies libpq's `PG*` defaults; TLS modes up to `verify-full` use rustls).
//! - [`schema`] installs, upgrades and reports the schema (numbered migrations, checksums,
//!   writer and reader roles).
//! - Scaling out (docs/operations.md): [`ClusterOptions`] names a primary and its streaming
//!   replicas; writes go to the primary, plain reads to a replica at random, skipping replicas
//!   that fail or lag; [`PgStore::with_primary`] and [`on_primary`] force the primary for one
//!   handle or a scope (read-your-writes). [`Config`] reads `calstore.toml` (instances, replicas,
//!   TLS, pool, read-only) and [`Instances`] opens them.
//! - With the `test-harness` feature, `harness` starts a private PostgreSQL server for tests,
//!   and a primary with a streaming standby.
#![forbid(unsafe_code)]

mod cluster;
pub mod config;
mod conninfo;
mod error;
mod instances;
mod journal;
mod objects;
mod periods;
mod pgpass;
mod pool;
mod providers;
mod route;
pub mod schema;
mod store;
mod tls;
mod versions;

#[cfg(feature = "test-harness")]
pub mod harness;

pub use cluster::{ClusterOptions, ServerRole, ServerStatus};
pub use config::{Config, InstanceConfig, INSTANCE_ENV};
pub use conninfo::{ConnSettings, SslMode, DEFAULT_CONNECT_TIMEOUT, DEFAULT_SOCKET_DIR};
pub use instances::{Instance, Instances};
pub use journal::PgJournal;
pub use pool::{connect_client, connect_settings, PgOptions, PgPool, DEFAULT_MAX_LIFETIME};
pub use route::{in_primary_scope, on_primary};
pub use store::PgStore;
