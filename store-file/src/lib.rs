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
//! Opening a store and its journal in a directory, storing an event with its busy period, and
//! reading them back (the directory here is a temporary one; an agent names its own, such as
//! `/var/lib/imip-agent/store`):
//!
//! ```
//! use calstore::{Journal, Period, Store, Table, Uid, User};
//! use calstore_file::{FileJournal, FileStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! // Preferences go beside the store, in <dir>/preferences.
//! let store = FileStore::open_dir(dir.path().join("store"))?;
//! let journal = FileJournal::open_dir(dir.path().join("journal"))?;
//!
//! let alice = User::new("mailto:alice@example.com")?;
//! let uid = Uid::new("standup")?;
//! let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//EN\r\nBEGIN:VEVENT\r\n\
//!             UID:standup\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n\
//!             DTEND:20260105T091500Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! store.put_event(&alice, &uid, None, text).await?;
//! let start = calstore::period::parse_instant("20260105T090000Z")?;
//! let end = calstore::period::parse_instant("20260105T091500Z")?;
//! let busy = vec![Period::new(start, end, uid.clone(), None)?];
//! store
//!     .replace_event_periods(&alice, &Table::FreeBusy, &uid, None, busy, None)
//!     .await?;
//!
//! assert_eq!(store.get_event(&alice, &uid, None).await?.map(|e| e.text), Some(text.to_owned()));
//! let table = store.freebusy(&alice, &Table::FreeBusy).await?;
//! assert_eq!(table.value.len(), 1);
//! assert_eq!(store.users().await?, vec![alice]);
//! assert!(journal.quotas().await?.is_empty());
//! # Ok(())
//! # }
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
mod roots;
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
pub use roots::{check_apart, clean as clean_path, StoreLayout, LAYOUT_FILE};
pub use store::FileStore;
