//! How to open a file store or journal: the public options, their checks, and the settings each
//! handle keeps from them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use calstore::{Error, ErrorKind, Result};

use crate::errors;
use crate::meta::MetaCache;

/// The default time to wait for a user's or quota's lock.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// The default mode of created directories: group-shared, new entries inherit the group.
pub const DEFAULT_DIR_MODE: u32 = 0o2770;
/// The default mode of created files.
pub const DEFAULT_FILE_MODE: u32 = 0o660;

/// Options of [`FileStore::open`](crate::FileStore::open).
///
/// ```
/// let options = calstore_file::FileStoreOptions {
///     read_only: true,
///     ..calstore_file::FileStoreOptions::new("/var/lib/imip-agent/store", "/var/lib/imip-agent/preferences")
/// };
/// assert_eq!(options.dir_mode, 0o2770);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStoreOptions {
    /// The store root: one directory per user below it.
    pub store_root: PathBuf,
    /// The preferences root: one directory per user below it.
    pub preferences_root: PathBuf,
    /// Refuse every write and never create or change anything.
    pub read_only: bool,
    /// How long to wait for a user's lock before failing with `Locked`.
    pub lock_timeout: Duration,
    /// Mode of created directories (default `0o2770`), applied regardless of the umask.
    pub dir_mode: u32,
    /// Mode of created files (default `0o660`), applied regardless of the umask.
    pub file_mode: u32,
}

impl FileStoreOptions {
    /// Writable options with the default timeout and modes.
    pub fn new(store_root: impl Into<PathBuf>, preferences_root: impl Into<PathBuf>) -> Self {
        FileStoreOptions {
            store_root: store_root.into(),
            preferences_root: preferences_root.into(),
            read_only: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            dir_mode: DEFAULT_DIR_MODE,
            file_mode: DEFAULT_FILE_MODE,
        }
    }

    /// Options for the store at `store_root` with the preferences beside it, in
    /// `<store_root>/../preferences` (the command line's default).
    pub fn beside(store_root: impl Into<PathBuf>) -> Self {
        let store_root = store_root.into();
        let preferences_root = sibling(&store_root, "preferences");
        Self::new(store_root, preferences_root)
    }
}

/// Options of [`FileJournal::open`](crate::FileJournal::open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJournalOptions {
    /// The journal root: one directory per quota below it.
    pub journal_root: PathBuf,
    /// Refuse every write and never create or change anything.
    pub read_only: bool,
    /// How long to wait for a quota's lock before failing with `Locked`.
    pub lock_timeout: Duration,
    /// Mode of created directories (default `0o2770`).
    pub dir_mode: u32,
    /// Mode of created files (default `0o660`).
    pub file_mode: u32,
}

impl FileJournalOptions {
    /// Writable options with the default timeout and modes.
    pub fn new(journal_root: impl Into<PathBuf>) -> Self {
        FileJournalOptions {
            journal_root: journal_root.into(),
            read_only: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            dir_mode: DEFAULT_DIR_MODE,
            file_mode: DEFAULT_FILE_MODE,
        }
    }
}

/// `<path>/../<name>`, computed on the path's text (a relative path without a parent gets `name`
/// itself).
pub(crate) fn sibling(path: &Path, name: &str) -> PathBuf {
    match path.parent() {
        Some(parent) => parent.join(name),
        None => PathBuf::from(name),
    }
}

/// Checks the options shared by stores and journals, and that an existing root is a directory.
pub(crate) fn check(roots: &[&Path], dir_mode: u32, file_mode: u32) -> Result<()> {
    if dir_mode & !0o7777 != 0 || dir_mode & 0o700 != 0o700 {
        return Err(Error::invalid(format!(
            "directory mode {dir_mode:o} must be at most 7777 and give the owner rwx"
        )));
    }
    if file_mode & !0o777 != 0 || file_mode & 0o600 != 0o600 {
        return Err(Error::invalid(format!(
            "file mode {file_mode:o} must be at most 777 and give the owner rw"
        )));
    }
    for root in roots {
        if root.as_os_str().is_empty() {
            return Err(Error::invalid(
                "the root directory must not be an empty path",
            ));
        }
        if root.exists() && !root.is_dir() {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("{} exists but is not a directory", root.display()),
            ));
        }
    }
    Ok(())
}

/// The permission bits of what calstore creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Modes {
    /// Directories (default `0o2770`: group-shared, new files inherit the group).
    pub dir: u32,
    /// Files (default `0o660`).
    pub file: u32,
}

/// The settings shared by every operation of one store or journal handle.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The root directory (store, journal or preferences root of this handle).
    pub root: PathBuf,
    /// Modes of created directories and files.
    pub modes: Modes,
    /// How long to wait for a lock before failing with `Locked`.
    pub lock_timeout: Duration,
    /// Whether every write is refused.
    pub read_only: bool,
    /// Longest-duration and sortedness facts of period tables, validated by version.
    pub meta: MetaCache,
}

impl Settings {
    pub(crate) fn new(
        root: PathBuf,
        modes: Modes,
        lock_timeout: Duration,
        read_only: bool,
    ) -> Self {
        Settings {
            root,
            modes,
            lock_timeout,
            read_only,
            meta: MetaCache::new(!read_only),
        }
    }

    /// Fails with `ReadOnly` before anything is touched when the handle is read-only.
    pub(crate) fn writable(&self, what: &str, operation: &str) -> Result<()> {
        if self.read_only {
            Err(errors::read_only(what, operation, &self.root))
        } else {
            Ok(())
        }
    }
}
