//! calstore-any: one value for any calstore backend, and the whole-store workflows built on it.
//!
//! `calstore` holds the model and the [`Store`](calstore::Store)/[`Journal`](calstore::Journal)
//! traits and cannot depend on its backends (they depend on it), so opening "whatever this
//! location names" lives here, in a small crate that depends on all of them:
//!
//! - [`AnyStore`] and [`AnyJournal`] implement `Store` and `Journal` by passing every call to the
//!   backend inside; a program holds one type whatever the location names.
//! - [`Plan`] decides where the store, journal and preferences are, from location strings
//!   (`file:`, a path, `postgresql://`, a libpq keyword string, see
//!   [`Location`](calstore::config::Location)) or an instance of a calstore.toml, and opens them.
//! - [`copy()`] copies everything from one store and journal to another, of either kind, and
//!   verifies every table against what the source holds; [`check()`] reads everything and
//!   reports what is corrupt or could not be listed; [`dump`] prints tables as lines that are
//!   the same bytes from every backend.
//!
//! ```no_run
//! # async fn example() -> calstore::Result<()> {
//! use calstore::config::Location;
//! use calstore::{Store, Table, User};
//! use calstore_any::Plan;
//!
//! let plan = Plan::resolve(&calstore_any::Locations {
//!     store: Some(Location::parse("file:/var/lib/calstore/store")?),
//!     ..Default::default()
//! })?;
//! let store = plan.open_store(false).await?;
//! let alice = User::new("mailto:alice@example.com")?;
//! let busy = store.freebusy(&alice, &Table::FreeBusy).await?;
//! println!("{} periods", busy.value.len());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod any;
mod check;
mod copy;
mod delegate;
pub mod dump;
mod merge;
mod open;
pub mod publish;
mod spellings;

pub use any::{leftovers, AnyJournal, AnyStore};
pub use check::{check, check_journal, check_store, Findings};
pub use copy::{copy, target_is_empty, CopyCounts, CopyOptions, CopyProgress, CopyReport};
pub use merge::{merge_user, MergeReport};
pub use open::{pg_options, Locations, Plan, DEFAULT_ROOT};
pub use spellings::user_spellings;
