//! [`FileJournal`]: the [`Journal`] of FILE-STORE.md on plain files, one directory per quota.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use calstore::{
    EventFamily, EventList, Group, Journal, JournalChange, Limits, Outcome, Period, Providers,
    Quota, Result, Rid, StoredEvent, Uid, UsageTable, User, Version, Versioned,
};

mod change;
use chrono::{DateTime, Utc};

use crate::atomic;
use crate::blocking;
use crate::layout::{self, EventPaths, LOCK_FILE};
use crate::leftovers::{self, Leftovers};
use crate::lock;
use crate::locked_table::LockedTable;
use crate::objects::Owner;
use crate::options::{self, FileJournalOptions};
use crate::options::{Modes, Settings};
use crate::providers;
use crate::quota;
use crate::table::TableFile;
use crate::version;

/// The file journal: quota groups for shared resources, one directory per quota under the
/// journal root (FILE-STORE.md and docs/file-layout.md).
///
/// Cheap to clone (shared state behind an [`Arc`]), `Send` and `Sync`. Every change of a quota
/// happens under that quota's lock file.
#[derive(Debug, Clone)]
pub struct FileJournal {
    inner: Arc<JournalInner>,
}

#[derive(Debug)]
struct JournalInner {
    settings: Settings,
}

impl FileJournal {
    /// Opens the journal. Nothing is created here: directories and files appear on the first
    /// write (never for a read-only journal, which reads a missing root as empty).
    ///
    /// # Errors
    ///
    /// Invalid input for unusable modes or an empty path; unavailable when the root exists but
    /// is not a directory.
    pub fn open(options: FileJournalOptions) -> Result<Self> {
        options::check(
            &[&options.journal_root],
            options.dir_mode,
            options.file_mode,
        )?;
        let modes = Modes {
            dir: options.dir_mode,
            file: options.file_mode,
        };
        Ok(FileJournal {
            inner: Arc::new(JournalInner {
                settings: Settings::new(
                    options.journal_root,
                    modes,
                    options.lock_timeout,
                    options.read_only,
                ),
            }),
        })
    }

    /// Opens the writable journal at `journal_root` with default options.
    ///
    /// # Errors
    ///
    /// As [`FileJournal::open`].
    pub fn open_dir(journal_root: impl AsRef<Path>) -> Result<Self> {
        Self::open(FileJournalOptions::new(journal_root.as_ref()))
    }

    /// Opens the journal at `journal_root` read-only.
    ///
    /// # Errors
    ///
    /// As [`FileJournal::open`].
    pub fn open_read_only(journal_root: impl AsRef<Path>) -> Result<Self> {
        Self::open(FileJournalOptions {
            read_only: true,
            ..FileJournalOptions::new(journal_root.as_ref())
        })
    }

    /// The journal root.
    pub fn root(&self) -> &Path {
        &self.inner.settings.root
    }

    /// What reading through the traits cannot see: every line-based file under the root must
    /// end with a line break (calstore writes whole lines only, so a file cut at a field
    /// boundary shows only by its missing line break), and every directory and file must be
    /// readable. Returns how many files were read and one problem per file, naming it.
    pub fn check_lines(&self) -> (usize, Vec<String>) {
        crate::check_lines::check_root(self.root(), true)
    }

    /// Counts the temporary files under the journal root that no write has touched for
    /// `older_than`, as [`FileStore::leftovers`](crate::FileStore::leftovers) does for a store.
    ///
    /// # Errors
    ///
    /// Backend errors of listing a directory.
    pub async fn leftovers(&self, older_than: Duration) -> Result<Leftovers> {
        self.run(move |inner| leftovers::count(&[&inner.settings.root], older_than, "file journal"))
            .await
    }

    /// Removes the temporary files that [`FileJournal::leftovers`] counts and returns what was
    /// removed.
    ///
    /// # Errors
    ///
    /// Read-only for a read-only journal (nothing is removed); backend errors of listing a
    /// directory or removing a file.
    pub async fn remove_leftovers(&self, older_than: Duration) -> Result<Leftovers> {
        self.inner
            .settings
            .writable("file journal", "removing leftover temporary files")?;
        self.run(move |inner| {
            leftovers::remove(&[&inner.settings.root], older_than, "file journal")
        })
        .await
    }

    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&JournalInner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking::run(move || work(&inner)).await
    }
}

impl JournalInner {
    fn dir(&self, quota: &Quota) -> PathBuf {
        layout::quota_dir(&self.settings.root, quota)
    }

    fn lock(&self, quota: &Quota) -> PathBuf {
        self.dir(quota).join(LOCK_FILE)
    }

    fn owner(&self, quota: &Quota) -> Owner<'_> {
        Owner {
            settings: &self.settings,
            paths: EventPaths::new(self.dir(quota)),
            lock: self.lock(quota),
            what: format!("quota {quota}"),
        }
    }

    fn table(&self, quota: &Quota, table: &UsageTable) -> LockedTable<'_> {
        LockedTable {
            settings: &self.settings,
            lock: self.lock(quota),
            table: TableFile {
                path: layout::usage_path(&self.dir(quota), table),
                what: format!("quota {quota}, table {table}"),
                attendee: true,
                offers: false,
            },
        }
    }

    /// The quotas, and one corrupt-data error per entry of the root that is not a quota's
    /// directory (see [`layout::list_owners`]).
    fn quotas_and_unlisted(&self) -> Result<(Vec<Quota>, Vec<calstore::Error>)> {
        let root = &self.settings.root;
        let what = format!("quotas under {}", root.display());
        let (quotas, unlisted) = layout::list_owners(root, &what, Quota::from_file_name)?;
        let quotas = quotas
            .into_iter()
            .filter(|q| layout::has_entries(&self.dir(q)))
            .collect();
        Ok((quotas, unlisted))
    }

    /// Reads one of the small quota files with its version.
    fn read_file<T: Default>(
        &self,
        quota: &Quota,
        name: &str,
        parse: impl Fn(&str, &str, &Path) -> Result<T>,
    ) -> Result<Versioned<T>> {
        let what = format!("quota {quota}, {name}");
        let path = self.dir(quota).join(name);
        Ok(match atomic::read_optional(&path, &what)? {
            Some((text, version)) => Versioned {
                value: parse(&text, &what, &path)?,
                version,
            },
            None => Versioned {
                value: T::default(),
                version: Version(0),
            },
        })
    }

    /// Replaces one of the small quota files (empty text removes it) under the quota lock.
    fn write_file(
        &self,
        quota: &Quota,
        name: &str,
        text: &str,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = format!("quota {quota}, {name}");
        let path = self.dir(quota).join(name);
        if text.is_empty() && !path.exists() {
            version::check(expect, Version(0), &what)?;
            return Ok(Version(0));
        }
        let _guard = lock::exclusive(&self.lock(quota), &self.settings, &what)?;
        let current = version::of_path(&path, &what)?;
        version::check(expect, current, &what)?;
        if text.is_empty() {
            atomic::remove_file(&path, &what)?;
            return Ok(Version(0));
        }
        atomic::write_file(
            &path,
            text.as_bytes(),
            Some(current),
            self.settings.modes,
            &what,
        )
    }

    fn usage_tables(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        let dir = self.dir(quota);
        let what = format!("quota {quota}, usage tables");
        let users = layout::list_keys(&dir.join("freebusy"), &what, false, User::from_file_name)?;
        let groups = layout::list_keys(&dir.join("journal"), &what, false, Group::from_file_name)?;
        Ok(users
            .into_iter()
            .map(UsageTable::User)
            .chain(groups.into_iter().map(UsageTable::Journal))
            .collect())
    }

    fn reserve_within_limit(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> Result<Version> {
        let table = self.table(quota, &UsageTable::Journal(group.clone()));
        let what = table.table.what.clone();
        self.settings
            .writable(&what, "reserving within the limit")?;
        let Some(first) = periods.first() else {
            return version::of_path(table.table.path(), &what);
        };
        let (uid, rid) = (first.uid.clone(), first.rid.clone());
        quota::check_within_limit(&[], &periods, None, &what)?;
        let _guard = lock::exclusive(&self.lock(quota), &self.settings, &what)?;
        let limits = self.read_file(quota, "limits", quota::parse_limits)?.value;
        let limit = quota::limit_of(&limits, group);
        let current = table.table.read_all(&self.settings, Utc::now())?;
        quota::check_within_limit(&current.periods, &periods, limit, &what)?;
        table.replace_event_locked(&uid, rid.as_ref(), periods, Some(current.version))
    }

    fn expire(&self, quota: &Quota, before: DateTime<Utc>) -> Result<usize> {
        let what = format!("quota {quota}, usage tables");
        self.settings.writable(&what, "expiring usage")?;
        if !self.dir(quota).is_dir() {
            return Ok(0);
        }
        let _guard = lock::exclusive(&self.lock(quota), &self.settings, &what)?;
        let mut removed = 0;
        for table in self.usage_tables(quota)? {
            removed += self.table(quota, &table).expire_locked(before)?;
        }
        Ok(removed)
    }

    fn set_providers(
        &self,
        quota: &Quota,
        value: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = format!("quota {quota}, table freebusy-providers");
        self.settings.writable(&what, "replacing the providers")?;
        let path = self.dir(quota).join("freebusy-providers");
        if value.window_end.is_none() && value.events.is_empty() && !path.exists() {
            version::check(expect, Version(0), &what)?;
            return Ok(Version(0));
        }
        let _guard = lock::exclusive(&self.lock(quota), &self.settings, &what)?;
        providers::write(&path, value, expect, &self.settings, &what)
    }
}

impl Journal for FileJournal {
    fn is_read_only(&self) -> bool {
        self.inner.settings.read_only
    }

    async fn quotas(&self) -> Result<Vec<Quota>> {
        self.run(|j| j.quotas_and_unlisted().map(|(quotas, _)| quotas))
            .await
    }

    async fn unlisted_quotas(&self) -> Result<Vec<calstore::Error>> {
        self.run(|j| j.quotas_and_unlisted().map(|(_, unlisted)| unlisted))
            .await
    }

    async fn limits(&self, quota: &Quota) -> Result<Versioned<Limits>> {
        let quota = quota.clone();
        self.run(move |j| j.read_file(&quota, "limits", quota::parse_limits))
            .await
    }

    async fn groups(&self, quota: &Quota) -> Result<BTreeMap<User, Group>> {
        let quota = quota.clone();
        self.run(move |j| Ok(j.read_file(&quota, "groups", quota::parse_groups)?.value))
            .await
    }

    async fn delegates(&self, quota: &Quota) -> Result<Vec<User>> {
        let quota = quota.clone();
        self.run(move |j| {
            Ok(j.read_file(&quota, "delegates", quota::parse_delegates)?
                .value)
        })
        .await
    }

    async fn usage_tables(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        let quota = quota.clone();
        self.run(move |j| j.usage_tables(&quota)).await
    }

    async fn usage(&self, quota: &Quota, table: &UsageTable) -> Result<Versioned<Vec<Period>>> {
        let (quota, table) = (quota.clone(), table.clone());
        self.run(move |j| j.table(&quota, &table).read(Utc::now()))
            .await
    }

    async fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        let (quota, table) = (quota.clone(), table.clone());
        self.run(move |j| j.table(&quota, &table).read_range(start, end, Utc::now()))
            .await
    }

    async fn providers(&self, quota: &Quota) -> Result<Versioned<Providers>> {
        let quota = quota.clone();
        self.run(move |j| {
            let path = j.dir(&quota).join("freebusy-providers");
            providers::read(&path, &format!("quota {quota}, table freebusy-providers"))
        })
        .await
    }

    async fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        let (quota, uid, rid) = (quota.clone(), uid.clone(), rid.cloned());
        self.run(move |j| j.owner(&quota).get_event(&uid, rid.as_ref()))
            .await
    }

    async fn list_events(&self, quota: &Quota) -> Result<EventList> {
        let quota = quota.clone();
        self.run(move |j| j.owner(&quota).list_events()).await
    }

    async fn apply(&self, quota: &Quota, change: &JournalChange) -> Result<Outcome> {
        let (quota, change) = (quota.clone(), change.clone());
        self.run(move |j| j.change(&quota, &change)).await
    }

    async fn load_events(&self, quota: &Quota, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        let (quota, uids) = (quota.clone(), uids.to_vec());
        self.run(move |j| j.owner(&quota).load_events(&uids)).await
    }
}
