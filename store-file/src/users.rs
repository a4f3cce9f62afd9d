//! The per-user side of [`FileStore`](crate::FileStore): where a user's objects and tables are,
//! which lock guards them, and the operations that are not one file kind of their own (listing
//! users and others, the providers table).

use calstore::{Other, Providers, Result, Table, Uid, User, Version, Versioned};

use crate::layout::{self, EventPaths, LOCK_FILE};
use crate::lock;
use crate::locked_table::LockedTable;
use crate::objects::Owner;
use crate::options::Settings;
use crate::providers;
use crate::table::TableFile;
use crate::version;

/// The shared state of a [`FileStore`](crate::FileStore) handle.
#[derive(Debug)]
pub(crate) struct StoreInner {
    /// The store root's settings.
    pub store: Settings,
    /// The preferences root's settings.
    pub prefs: Settings,
}

impl StoreInner {
    pub(crate) fn owner(&self, user: &User) -> Owner<'_> {
        let dir = layout::user_dir(&self.store.root, user);
        Owner {
            settings: &self.store,
            lock: dir.join(LOCK_FILE),
            paths: EventPaths::new(dir),
            what: format!("user {user}"),
        }
    }

    pub(crate) fn table(&self, user: &User, table: &Table) -> LockedTable<'_> {
        let dir = layout::user_dir(&self.store.root, user);
        LockedTable {
            settings: &self.store,
            lock: dir.join(LOCK_FILE),
            table: TableFile {
                path: layout::table_path(&dir, table),
                what: format!("user {user}, table {table}"),
                attendee: false,
                offers: *table == Table::Offers,
            },
        }
    }

    /// The users of the store and preferences roots, and one corrupt-data error per entry of
    /// those roots that is not a user's directory (see [`layout::list_owners`]).
    pub(crate) fn users_and_unlisted(&self) -> Result<(Vec<User>, Vec<calstore::Error>)> {
        let mut users = Vec::new();
        let mut unlisted = Vec::new();
        for settings in [&self.store, &self.prefs] {
            let what = format!("users under {}", settings.root.display());
            let (found, problems) =
                layout::list_owners(&settings.root, &what, User::from_file_name)?;
            unlisted.extend(problems);
            for user in found {
                if layout::has_entries(&layout::user_dir(&settings.root, &user)) {
                    users.push(user);
                }
            }
        }
        users.sort();
        users.dedup();
        Ok((users, unlisted))
    }

    pub(crate) fn others(&self, user: &User) -> Result<Vec<Other>> {
        let dir = layout::others_dir(&layout::user_dir(&self.store.root, user));
        layout::list_keys(
            &dir,
            &format!("user {user}, freebusy-other"),
            false,
            Other::from_file_name,
        )
    }

    fn providers_what(user: &User) -> String {
        format!("user {user}, table freebusy-providers")
    }

    pub(crate) fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        let path = layout::user_dir(&self.store.root, user).join("freebusy-providers");
        providers::read(&path, &Self::providers_what(user))
    }

    pub(crate) fn set_providers(
        &self,
        user: &User,
        value: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = Self::providers_what(user);
        self.store.writable(&what, "replacing the providers")?;
        let dir = layout::user_dir(&self.store.root, user);
        let path = dir.join("freebusy-providers");
        if value.window_end.is_none() && value.events.is_empty() && !path.exists() {
            version::check(expect, Version(0), &what)?;
            return Ok(Version(0));
        }
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        providers::write(&path, value, expect, &self.store, &what)
    }

    /// Adds or removes one uid under the user's lock, rewriting the file only when it changes.
    pub(crate) fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        let what = Self::providers_what(user);
        self.store.writable(&what, "changing the providers")?;
        let dir = layout::user_dir(&self.store.root, user);
        let path = dir.join("freebusy-providers");
        if !present && !path.exists() {
            return Ok(false);
        }
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        let current = providers::read(&path, &what)?;
        let next = current.value.marked(uid, present);
        if next == current.value {
            return Ok(false);
        }
        providers::write(&path, &next, Some(current.version), &self.store, &what)?;
        Ok(true)
    }
}
