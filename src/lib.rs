//! calstore: the storage layer of an iMIP calendar agent.
//!
//! **Writing an agent?** Start with [`agent::receive`] (one scheduling message in, applied in
//! order, a [`agent::Decision`] out), [`agent::answer`] (the user's answer, with the REPLY to
//! send), [`query::freebusy`] (when a user is busy), and [`memory::MemoryStore`] to test against;
//! docs/agent.md in the repository walks through it.
//!
//! This crate holds the model and the contract: validated identifiers ([`id`]), free/busy periods
//! and their table operations ([`period`]), stored objects ([`object`]), recurrence expansion
//! ([`recurrence`]), and the [`Store`] and [`Journal`] traits that the backends implement
//! (`calstore-file`, `calstore-postgres`); the agent's steps, one atomic call per scheduling
//! message ([`agent`]), the agent's free/busy update and the cron job ([`refresh`]), the
//! free/busy query ([`query`]) and the import path ([`import`]) are built on them. Library code
//! is generic over `S: Store`. [`memory::MemoryStore`] and [`memory::MemoryJournal`] implement
//! both traits in memory, with the backends' behaviour, for the unit tests of code built on
//! calstore.
#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod duration;
pub mod error;
pub mod id;
pub mod import;
pub mod journal;
pub mod memory;
pub mod object;
pub mod period;
pub mod query;
pub mod recurrence;
pub mod refresh;
pub mod store;

pub use error::{Error, ErrorKind, Result};
pub use id::{Group, Other, PrefName, Quota, Rid, Uid, User};
pub use journal::{Journal, JournalChange, Limits, UsageTable};
pub use object::{EventObject, Warning};
pub use period::{FbType, Period, Transp};
/// The old name of [`QueueKind`].
#[allow(deprecated)] // kept for callers of the old name; it warns them
pub use store::Method;
pub use store::{
    Applied, Change, EventFamily, EventList, EventStatus, Incoming, Outcome, Providers, QueueKind,
    Request, Step, Store, StoredEvent, Table, Version, Versioned,
};
