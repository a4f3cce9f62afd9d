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

/// The decoded keys of the regular files (or, with `dirs`, the directories) in `dir`.
///
/// # Errors
///
/// Corrupt data naming the path for a name that does not decode to a valid key.
pub(crate) fn list_keys<T>(
    dir: &Path,
    what: &str,
    dirs: bool,
    decode: impl Fn(&str) -> Result<T>,
) -> Result<Vec<T>>
where
    T: Ord,
{
    let mut keys = Vec::new();
    for (name, file_type) in list_dir(dir, what)? {
        if file_type.is_dir() != dirs {
            continue;
        }
        let key = decode(&name).map_err(|e| {
            errors::corrupt_at(
                what,
                &dir.join(&name),
                0,
                &format!("the name is not an encoded key ({})", e.message()),
            )
        })?;
        keys.push(key);
    }
    keys.sort();
    Ok(keys)
}

/// Whether a directory holds at least one entry that is not calstore's own (a dot name).
pub(crate) fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| {
        entries
            .any(|e| e.is_ok_and(|e| !e.file_name().to_str().is_some_and(|n| n.starts_with('.'))))
    })
}
