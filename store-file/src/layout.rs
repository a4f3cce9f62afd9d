//! Where everything lives: the paths of FILE-STORE.md built from keys, and directory listings
//! decoded back into keys.
//!
//! Every key becomes exactly one path component through the core encoding
//! ([`calstore::id::encode_component`]: `%`, `/`, NUL, control characters and a leading `.` are
//! percent-encoded), recurrence ids through [`Rid::file_name`]. Names that start with a dot are
//! calstore's own (lock files, temporary files, caches) and never keys, so listings skip them.

use std::fs::FileType;
use std::io;
use std::path::{Path, PathBuf};

use calstore::{Other, Quota, Result, Rid, Table, Uid, UsageTable, User};

use crate::errors;

/// The name of the lock file in a user's or a quota's directory.
pub(crate) const LOCK_FILE: &str = ".lock";

/// The paths of one user's store directory (`STORE/<user>/`).
pub(crate) fn user_dir(root: &Path, user: &User) -> PathBuf {
    root.join(user.file_name())
}

/// The paths of one quota's journal directory (`JOURNAL/<quota>/`).
pub(crate) fn quota_dir(root: &Path, quota: &Quota) -> PathBuf {
    root.join(quota.file_name())
}

/// A user's free/busy table file.
pub(crate) fn table_path(user_dir: &Path, table: &Table) -> PathBuf {
    match table {
        Table::FreeBusy => user_dir.join("freebusy"),
        Table::Offers => user_dir.join("freebusy-offers"),
        Table::Other(other) => user_dir.join("freebusy-other").join(other.file_name()),
    }
}

/// The directory of a user's `freebusy-other` tables.
pub(crate) fn others_dir(user_dir: &Path) -> PathBuf {
    user_dir.join("freebusy-other")
}

/// A quota's usage table file.
pub(crate) fn usage_path(quota_dir: &Path, table: &UsageTable) -> PathBuf {
    match table {
        UsageTable::User(user) => quota_dir.join("freebusy").join(user.file_name()),
        UsageTable::Journal(group) => quota_dir.join("journal").join(group.file_name()),
    }
}

/// The stored objects below a user's (or a quota's) directory: `objects/`, `recurrences/`,
/// `cancellations/…` and `counters/…`.
#[derive(Debug, Clone)]
pub(crate) struct EventPaths {
    base: PathBuf,
}

impl EventPaths {
    pub(crate) fn new(base: PathBuf) -> Self {
        EventPaths { base }
    }

    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    pub(crate) fn objects_dir(&self, cancelled: bool) -> PathBuf {
        if cancelled {
            self.base.join("cancellations").join("objects")
        } else {
            self.base.join("objects")
        }
    }

    pub(crate) fn recurrences_root(&self, cancelled: bool) -> PathBuf {
        if cancelled {
            self.base.join("cancellations").join("recurrences")
        } else {
            self.base.join("recurrences")
        }
    }

    /// `objects/<uid>` or `recurrences/<uid>/<rid>` (under `cancellations/` when cancelled).
    pub(crate) fn event(&self, uid: &Uid, rid: Option<&Rid>, cancelled: bool) -> PathBuf {
        match rid {
            None => self.objects_dir(cancelled).join(uid.file_name()),
            Some(rid) => self.recurrence_dir(uid, cancelled).join(rid.file_name()),
        }
    }

    /// `recurrences/<uid>/` (under `cancellations/` when cancelled).
    pub(crate) fn recurrence_dir(&self, uid: &Uid, cancelled: bool) -> PathBuf {
        self.recurrences_root(cancelled).join(uid.file_name())
    }

    /// `counters/objects/<uid>/` or `counters/recurrences/<uid>/<rid>/`.
    pub(crate) fn counter_dir(&self, uid: &Uid, rid: Option<&Rid>) -> PathBuf {
        match rid {
            None => self
                .base
                .join("counters")
                .join("objects")
                .join(uid.file_name()),
            Some(rid) => self.counter_rids_dir(uid).join(rid.file_name()),
        }
    }

    /// `counters/recurrences/<uid>/`.
    pub(crate) fn counter_rids_dir(&self, uid: &Uid) -> PathBuf {
        self.base
            .join("counters")
            .join("recurrences")
            .join(uid.file_name())
    }

    /// One counter-proposal file.
    pub(crate) fn counter(&self, other: &Other, uid: &Uid, rid: Option<&Rid>) -> PathBuf {
        self.counter_dir(uid, rid).join(other.file_name())
    }
}

/// The entries of a directory that are calstore's keys: names not starting with a dot, with
/// their file types, sorted by name. A missing directory lists as empty.
///
/// # Errors
///
/// Corrupt data for a name that is not UTF-8; the I/O errors of reading the directory.
pub(crate) fn list_dir(dir: &Path, what: &str) -> Result<Vec<(String, FileType)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(Vec::new()),
        Err(e) => return Err(errors::io_error(what, "list", dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| errors::io_error(what, "list", dir, &e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(errors::corrupt_at(
                what,
                &dir.join(&name),
                0,
                "the file name is not UTF-8, so it is no calstore key",
            ));
        };
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|e| errors::io_error(what, "inspect", &entry.path(), &e))?;
        out.push((name.to_owned(), file_type));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A key that is one path component: [`list_keys`] accepts a name only when the key it decodes
/// to encodes back to exactly that name, so every key has one file and a listed key is always
/// found where the listing saw it.
pub(crate) trait FileKey: Ord + Sized {
    /// The key's path component.
    fn key_file_name(&self) -> String;
}

macro_rules! file_key {
    ($($t:ty),*) => {$(
        impl FileKey for $t {
            fn key_file_name(&self) -> String {
                self.file_name()
            }
        }
    )*};
}
file_key!(
    User,
    Uid,
    Rid,
    Other,
    Quota,
    calstore::Group,
    calstore::PrefName
);

/// Why the entry `name` of kind `file_type` in `dir` is not a key of the wanted kind (a
/// directory with `dirs`, else a regular file), or the key.
fn key_of<T: FileKey>(
    dir: &Path,
    name: &str,
    file_type: FileType,
    dirs: bool,
    decode: &impl Fn(&str) -> Result<T>,
) -> std::result::Result<T, String> {
    if file_type.is_symlink() {
        return Err(
            "is a symbolic link; calstore never follows a link out of its root (replace it with the directory or file itself)"
                .to_owned(),
        );
    }
    if file_type.is_dir() != dirs || !(file_type.is_dir() || file_type.is_file()) {
        return Err(if dirs {
            "is not a directory, where calstore keeps a directory".to_owned()
        } else {
            "is not a regular file, where calstore keeps a file".to_owned()
        });
    }
    let key =
        decode(name).map_err(|e| format!("the name is not an encoded key ({})", e.message()))?;
    let canonical = key.key_file_name();
    if canonical != name {
        return Err(format!(
            "the name is not the canonical encoding of its key (calstore reads and writes {:?}, {})",
            canonical,
            dir.join(&canonical).display()
        ));
    }
    Ok(key)
}

/// The decoded keys of the regular files (or, with `dirs`, the directories) in `dir`.
///
/// Never skips an entry silently: a symbolic link, an entry of the other kind, a name that does
/// not decode or is not the canonical encoding of its key fails the listing.
///
/// # Errors
///
/// Corrupt data naming the first such entry.
pub(crate) fn list_keys<T: FileKey>(
    dir: &Path,
    what: &str,
    dirs: bool,
    decode: impl Fn(&str) -> Result<T>,
) -> Result<Vec<T>> {
    let mut keys = Vec::new();
    for (name, file_type) in list_dir(dir, what)? {
        let key = key_of(dir, &name, file_type, dirs, &decode)
            .map_err(|problem| errors::corrupt_at(what, &dir.join(&name), 0, &problem))?;
        keys.push(key);
    }
    keys.sort();
    Ok(keys)
}

/// The owners (users or quotas) of a root: the directories whose names are encoded keys, and
/// one corrupt-data error for each entry that is not one (a symbolic link, a file, a name that
/// does not decode or is not canonical). The listing goes on past those, so one bad entry
/// cannot hide every other owner; the caller reports them.
///
/// # Errors
///
/// The I/O errors of reading the root.
pub(crate) fn list_owners<T: FileKey>(
    root: &Path,
    what: &str,
    decode: impl Fn(&str) -> Result<T>,
) -> Result<(Vec<T>, Vec<calstore::Error>)> {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    for (name, file_type) in list_dir(root, what)? {
        match key_of(root, &name, file_type, true, &decode) {
            Ok(key) => keys.push(key),
            Err(problem) => problems.push(errors::corrupt_at(what, &root.join(&name), 0, &problem)),
        }
    }
    keys.sort();
    Ok((keys, problems))
}

/// Refuses a path below `root` that passes through a symbolic link: calstore never reads or
/// writes outside its roots, whatever someone put inside them.
///
/// # Errors
///
/// Corrupt data naming the link.
pub(crate) fn refuse_links(root: &Path, path: &Path, what: &str) -> Result<()> {
    let Ok(rest) = path.strip_prefix(root) else {
        return Ok(());
    };
    let mut at = root.to_path_buf();
    for part in rest.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(errors::corrupt_at(
                    what,
                    &at,
                    0,
                    "is a symbolic link; calstore never follows a link out of its root (replace it with the directory or file itself)",
                ))
            }
            Ok(_) => {}
            // Nothing below a missing entry can be a link.
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Whether a directory holds at least one entry that is not calstore's own (a dot name).
pub(crate) fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| {
        entries
            .any(|e| e.is_ok_and(|e| !e.file_name().to_str().is_some_and(|n| n.starts_with('.'))))
    })
}
