//! calstore-file: calstore's embedded file store and journal.
//!
//! [`FileStore`] implements [`calstore::Store`] and [`FileJournal`] implements
//! [`calstore::Journal`] on plain UTF-8 files in the layout of the Python imip-agent
//! (FILE-STORE.md; docs/file-layout.md describes the details): one directory per user or quota,
//! every key one percent-encoded path component, free/busy tables as sorted TAB-separated lines.
//!
//! What it guarantees beyond imip-agent:
//!
//! - every file is replaced atomically (temporary file, fsync, rename, fsync of the directory);
//! - processes and tasks coordinate through flock on a lock file per user or quota, with a
//!   bounded wait ending in [`ErrorKind::Locked`](calstore::ErrorKind::Locked);
//! - every table read returns a version (the file's nanosecond modification time, strictly
//!   increasing per table) that conditional writes compare under the lock;
//! - range reads are binary searches over the sorted file; changes are one streaming pass that
//!   copies untouched lines byte for byte and never drops a line it could not read;
//! - a read-only handle never creates or changes anything;
//! - the temporary files of writes killed before their rename can be found and removed once no
//!   live write can own them ([`FileStore::remove_leftovers`]).
//!
//! ```no_run
//! # async fn example() -> calstore::Result<()> {
//! use calstore::{Store, Table, User};
//! let store = calstore_file::FileStore::open_dir("/var/lib/imip-agent/store")?;
//! let alice = User::new("mailto:alice@example.com")?;
//! let busy = store.freebusy(&alice, &Table::FreeBusy).await?;
//! println!("{} periods at {}", busy.value.len(), busy.version);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod atomic;
mod blocking;
mod check_lines;
mod counters;
mod errors;
mod journal;
mod layout;
mod leftovers;
mod line;
mod lock;
mod locked_table;
mod meta;
mod objects;
mod options;
mod prefs;
mod providers;
mod queue;
mod quota;
mod range;
mod step;
mod step_log;
mod store;
mod table;
mod users;
mod version;

pub use journal::FileJournal;
pub use leftovers::{Leftovers, LEFTOVER_AGE};
pub use options::{
    FileJournalOptions, FileStoreOptions, DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, DEFAULT_LOCK_TIMEOUT,
};
pub use store::FileStore;
