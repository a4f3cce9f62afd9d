//! The two enums and what only some backends have (temporary files, line checks).

use calstore_file::{FileJournal, FileStore, Leftovers, LEFTOVER_AGE};
use calstore_postgres::{PgJournal, PgStore};

/// A store of any backend; implements [`calstore::Store`] by delegation.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// The file store.
    File(FileStore),
    /// The PostgreSQL store.
    Postgres(PgStore),
}

/// A journal of any backend; implements [`calstore::Journal`] by delegation.
#[derive(Clone, Debug)]
pub enum AnyJournal {
    /// The file journal.
    File(FileJournal),
    /// The PostgreSQL journal.
    Postgres(PgJournal),
}

impl From<FileStore> for AnyStore {
    fn from(s: FileStore) -> Self {
        AnyStore::File(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        AnyStore::Postgres(s)
    }
}

impl From<FileJournal> for AnyJournal {
    fn from(j: FileJournal) -> Self {
        AnyJournal::File(j)
    }
}

impl From<PgJournal> for AnyJournal {
    fn from(j: PgJournal) -> Self {
        AnyJournal::Postgres(j)
    }
}

/// The temporary files that killed writes left under the file store's or file journal's roots
/// and no write has touched for [`LEFTOVER_AGE`]: counted, or removed when `remove` is set.
/// PostgreSQL has none.
///
/// # Errors
///
/// Listing or removing a file failed, or `remove` on a read-only store.
pub async fn leftovers(
    store: Option<&AnyStore>,
    journal: Option<&AnyJournal>,
    remove: bool,
) -> calstore::Result<Leftovers> {
    let mut total = Leftovers::default();
    if let Some(AnyStore::File(s)) = store {
        total += if remove {
            s.remove_leftovers(LEFTOVER_AGE).await?
        } else {
            s.leftovers(LEFTOVER_AGE).await?
        };
    }
    if let Some(AnyJournal::File(j)) = journal {
        total += if remove {
            j.remove_leftovers(LEFTOVER_AGE).await?
        } else {
            j.leftovers(LEFTOVER_AGE).await?
        };
    }
    Ok(total)
}

impl AnyStore {
    /// [`leftovers`] of this store alone.
    ///
    /// # Errors
    ///
    /// As [`leftovers`].
    pub async fn leftovers(&self, remove: bool) -> calstore::Result<Leftovers> {
        leftovers(Some(self), None, remove).await
    }
}

impl AnyJournal {
    /// [`leftovers`] of this journal alone.
    ///
    /// # Errors
    ///
    /// As [`leftovers`].
    pub async fn leftovers(&self, remove: bool) -> calstore::Result<Leftovers> {
        leftovers(None, Some(self), remove).await
    }
}
