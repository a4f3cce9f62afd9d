//! [`FileStore`]: the [`Store`] of FILE-STORE.md on plain files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use calstore::store::EventFamily;
use calstore::{
    EventList, EventStatus, Other, Period, PrefName, Providers, QueueKind, Request, Result, Rid,
    Step, Store, StoredEvent, Table, Uid, User, Version, Versioned,
};
use chrono::{DateTime, Utc};

use crate::blocking;
use crate::leftovers::{self, Leftovers};
use crate::options::{self, FileStoreOptions};
use crate::options::{Modes, Settings};
use crate::prefs;
use crate::users::StoreInner;

/// The file store: one directory per user under the store root, preferences under their own
/// root, in imip-agent's layout (FILE-STORE.md and docs/file-layout.md).
///
/// Cheap to clone (the state is shared behind an [`Arc`]); `Send` and `Sync`, so one handle can
/// serve many tasks. Processes and tasks sharing a store coordinate through per-user lock files.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<StoreInner>,
}

impl FileStore {
    /// Opens the store. Nothing is created here: directories and files appear on the first write
    /// (never for a read-only store, which reads a missing root as empty).
    ///
    /// # Errors
    ///
    /// Invalid input for modes that would lock the owner out or an empty path; unavailable when
    /// a root exists but is not a directory.
    pub fn open(options: FileStoreOptions) -> Result<Self> {
        options::check(
            &[&options.store_root, &options.preferences_root],
            options.dir_mode,
            options.file_mode,
        )?;
        let modes = Modes {
            dir: options.dir_mode,
            file: options.file_mode,
        };
        let settings = |root: &Path| {
            Settings::new(
                root.to_path_buf(),
                modes,
                options.lock_timeout,
                options.read_only,
            )
        };
        Ok(FileStore {
            inner: Arc::new(StoreInner {
                store: settings(&options.store_root),
                prefs: settings(&options.preferences_root),
            }),
        })
    }

    /// Opens the writable store at `store_root` with its preferences beside it
    /// (`<store_root>/../preferences`) and default options.
    ///
    /// # Errors
    ///
    /// As [`FileStore::open`].
    pub fn open_dir(store_root: impl AsRef<Path>) -> Result<Self> {
        Self::open(FileStoreOptions::beside(store_root.as_ref()))
    }

    /// Opens the store at `store_root` (preferences beside it) read-only.
    ///
    /// # Errors
    ///
    /// As [`FileStore::open`].
    pub fn open_read_only(store_root: impl AsRef<Path>) -> Result<Self> {
        Self::open(FileStoreOptions {
            read_only: true,
            ..FileStoreOptions::beside(store_root.as_ref())
        })
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.inner.store.root
    }

    /// What reading through the traits cannot see: every line-based file under the root must
    /// end with a line break (calstore writes whole lines only, so a file cut at a field
    /// boundary shows only by its missing line break), and every directory and file must be
    /// readable. Returns how many files were read and one problem per file, naming it.
    pub fn check_lines(&self) -> (usize, Vec<String>) {
        crate::check_lines::check_root(self.root(), false)
    }

    /// The preferences root.
    pub fn preferences_root(&self) -> &Path {
        &self.inner.prefs.root
    }

    /// Counts the temporary files under the store and preferences roots that no write has
    /// touched for `older_than` (see [`LEFTOVER_AGE`](crate::LEFTOVER_AGE)): what writes killed
    /// between writing and renaming left behind. Nothing reads them.
    ///
    /// # Errors
    ///
    /// Backend errors of listing a directory.
    pub async fn leftovers(&self, older_than: Duration) -> Result<Leftovers> {
        self.run(move |inner| {
            leftovers::count(
                &[&inner.store.root, &inner.prefs.root],
                older_than,
                "file store",
            )
        })
        .await
    }

    /// Removes the temporary files that [`FileStore::leftovers`] counts and returns what was
    /// removed. Safe while other processes write: their own temporary files are younger.
    ///
    /// # Errors
    ///
    /// Read-only for a read-only store (nothing is removed); backend errors of listing a
    /// directory or removing a file.
    pub async fn remove_leftovers(&self, older_than: Duration) -> Result<Leftovers> {
        self.inner
            .store
            .writable("file store", "removing leftover temporary files")?;
        self.run(move |inner| {
            leftovers::remove(
                &[&inner.store.root, &inner.prefs.root],
                older_than,
                "file store",
            )
        })
        .await
    }

    /// [`FileStore::run`] for work on one user's data: a step that a killed process left
    /// half-done is finished first (see `step.rs`).
    async fn run_user<T, F>(&self, user: User, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&StoreInner) -> Result<T> + Send + 'static,
    {
        self.run(move |s| {
            s.recover(&user)?;
            work(s)
        })
        .await
    }

    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&StoreInner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking::run(move || work(&inner)).await
    }
}

impl Store for FileStore {
    fn is_read_only(&self) -> bool {
        self.inner.store.read_only
    }

    async fn users(&self) -> Result<Vec<User>> {
        self.run(|s| s.users_and_unlisted().map(|(users, _)| users))
            .await
    }

    async fn unlisted_users(&self) -> Result<Vec<calstore::Error>> {
        self.run(|s| s.users_and_unlisted().map(|(_, unlisted)| unlisted))
            .await
    }

    async fn put_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        let (user, uid, rid, text) = (user.clone(), uid.clone(), rid.cloned(), text.to_owned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).put_event(&uid, rid.as_ref(), &text)
        })
        .await
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).get_event(&uid, rid.as_ref())
        })
        .await
    }

    async fn remove_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).remove_event(&uid, rid.as_ref())
        })
        .await
    }

    async fn cancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).move_event(&uid, rid.as_ref(), true)
        })
        .await
    }

    async fn uncancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).move_event(&uid, rid.as_ref(), false)
        })
        .await
    }

    async fn list_events(&self, user: &User) -> Result<EventList> {
        let user = user.clone();
        self.run_user(user.clone(), move |s| s.owner(&user).list_events())
            .await
    }

    async fn instances(&self, user: &User, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        let (user, uid) = (user.clone(), uid.clone());
        self.run_user(user.clone(), move |s| s.owner(&user).instances(&uid))
            .await
    }

    async fn load_events(&self, user: &User, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        let (user, uids) = (user.clone(), uids.to_vec());
        self.run_user(user.clone(), move |s| s.owner(&user).load_events(&uids))
            .await
    }

    async fn requests(&self, user: &User) -> Result<Vec<Request>> {
        let user = user.clone();
        self.run_user(user.clone(), move |s| s.owner(&user).requests())
            .await
    }

    async fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).queue_request(&uid, rid.as_ref(), method)
        })
        .await
    }

    async fn dequeue_request(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).dequeue_request(&uid, rid.as_ref())
        })
        .await
    }

    async fn set_requests(&self, user: &User, requests: &[Request]) -> Result<()> {
        let (user, requests) = (user.clone(), requests.to_vec());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).set_requests(&requests)
        })
        .await
    }

    async fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        let (user, other, uid, rid, text) = (
            user.clone(),
            other.clone(),
            uid.clone(),
            rid.cloned(),
            text.to_owned(),
        );
        self.run_user(user.clone(), move |s| {
            s.owner(&user)
                .put_counter(&other, &uid, rid.as_ref(), &text)
        })
        .await
    }

    async fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        let (user, other, uid, rid) = (user.clone(), other.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).get_counter(&other, &uid, rid.as_ref())
        })
        .await
    }

    async fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        let (user, uid, rid) = (user.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).counter_proposers(&uid, rid.as_ref())
        })
        .await
    }

    async fn counter_rids(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        let (user, uid) = (user.clone(), uid.clone());
        self.run_user(user.clone(), move |s| s.owner(&user).counter_rids(&uid))
            .await
    }

    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        let user = user.clone();
        self.run_user(user.clone(), move |s| s.owner(&user).all_counters())
            .await
    }

    async fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        let (user, other, uid, rid) = (user.clone(), other.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user).remove_counter(&other, &uid, rid.as_ref())
        })
        .await
    }

    async fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        let (user, uid, rid, only) = (user.clone(), uid.clone(), rid.cloned(), only.cloned());
        self.run_user(user.clone(), move |s| {
            s.owner(&user)
                .remove_counters(&uid, rid.as_ref(), only.as_ref())
        })
        .await
    }

    async fn freebusy(&self, user: &User, table: &Table) -> Result<Versioned<Vec<Period>>> {
        let (user, table) = (user.clone(), table.clone());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).read(Utc::now())
        })
        .await
    }

    async fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        let (user, table) = (user.clone(), table.clone());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).read_range(start, end, Utc::now())
        })
        .await
    }

    async fn table_version(&self, user: &User, table: &Table) -> Result<Version> {
        let (user, table) = (user.clone(), table.clone());
        self.run_user(user.clone(), move |s| s.table(&user, &table).version())
            .await
    }

    async fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table) = (user.clone(), table.clone());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).set(periods, expect)
        })
        .await
    }

    async fn replace_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table, uid, rid) = (user.clone(), table.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table)
                .replace_event(&uid, rid.as_ref(), periods, expect)
        })
        .await
    }

    async fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> Result<Version> {
        let (user, table, uids) = (user.clone(), table.clone(), uids.to_vec());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).replace_uids(&uids, periods)
        })
        .await
    }

    async fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table, uid, rid) = (user.clone(), table.clone(), uid.clone(), rid.cloned());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table)
                .remove_event(&uid, rid.as_ref(), expect)
        })
        .await
    }

    async fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table, uid, keep) = (user.clone(), table.clone(), uid.clone(), keep.to_vec());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table)
                .remove_additional(&uid, &keep, expect)
        })
        .await
    }

    async fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table, uid) = (user.clone(), table.clone(), uid.clone());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).remove_affected(&uid, start, expect)
        })
        .await
    }

    async fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, table) = (user.clone(), table.clone());
        self.run_user(user.clone(), move |s| {
            s.table(&user, &table).reserve(periods, capacity, expect)
        })
        .await
    }

    async fn apply_step(&self, user: &User, step: &Step) -> Result<()> {
        step.check()?;
        let (user, step) = (user.clone(), step.clone());
        self.run_user(user.clone(), move |s| s.apply_step(&user, &step))
            .await
    }

    async fn others(&self, user: &User) -> Result<Vec<Other>> {
        let user = user.clone();
        self.run_user(user.clone(), move |s| s.others(&user)).await
    }

    async fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        let user = user.clone();
        self.run_user(user.clone(), move |s| s.providers(&user))
            .await
    }

    async fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        let (user, providers) = (user.clone(), providers.clone());
        self.run_user(user.clone(), move |s| {
            s.set_providers(&user, &providers, expect)
        })
        .await
    }

    async fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        let (user, uid) = (user.clone(), uid.clone());
        self.run_user(user.clone(), move |s| s.mark_provider(&user, &uid, present))
            .await
    }

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        let user = user.clone();
        self.run(move |s| prefs::all(&s.prefs, &user)).await
    }

    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        let (user, name) = (user.clone(), name.clone());
        self.run(move |s| prefs::get(&s.prefs, &user, &name)).await
    }

    async fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        let (user, name, value) = (user.clone(), name.clone(), value.map(str::to_owned));
        self.run(move |s| prefs::set(&s.prefs, &user, &name, value.as_deref()))
            .await
    }
}
