//! Temporary files left behind by writes that were killed between creating their `.tmp-…` file
//! and renaming it into place.
//!
//! Such a file holds nothing anyone reads: the rename never happened, so the old file is still
//! the table. Keys never make a name that starts with `.` (it is percent-encoded), so the
//! `.tmp-` prefix is calstore's alone. A writer keeps its temporary file for well under a
//! second and writes to it all the time, so a file not modified for [`LEFTOVER_AGE`] belongs to
//! no live write. Should a writer stalled for that long come back, its rename fails with an
//! error; nothing is lost either way.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use calstore::Result;
use walkdir::WalkDir;

use crate::errors;

/// The age after which a temporary file is taken as left behind (one hour).
pub const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// The prefix of every temporary file calstore writes.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Temporary files found (or removed) under a store's or journal's roots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// How many files.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl std::ops::AddAssign for Leftovers {
    fn add_assign(&mut self, other: Leftovers) {
        self.files += other.files;
        self.bytes += other.bytes;
    }
}

/// The temporary files under `roots` not modified for `older_than`, with their sizes.
///
/// # Errors
///
/// The I/O errors of listing a directory (a root that does not exist holds nothing).
fn find(roots: &[&Path], older_than: Duration, what: &str) -> Result<Vec<(PathBuf, u64)>> {
    let cutoff = SystemTime::now().checked_sub(older_than);
    let mut found = Vec::new();
    for root in roots {
        for entry in WalkDir::new(root).follow_links(false) {
            let entry = match entry {
                Ok(e) => e,
                // A root or directory removed while we walk it holds nothing left over.
                Err(e)
                    if e.io_error().map(std::io::Error::kind)
                        == Some(std::io::ErrorKind::NotFound) =>
                {
                    continue
                }
                Err(e) => {
                    let path = e.path().unwrap_or(root).to_path_buf();
                    let io = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("a directory loop"));
                    return Err(errors::io_error(what, "list", &path, &io));
                }
            };
            if !entry.file_type().is_file()
                || !entry
                    .file_name()
                    .as_encoded_bytes()
                    .starts_with(TEMP_PREFIX.as_bytes())
            {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue; // renamed or removed by its writer meanwhile
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            // No cutoff (an age beyond the epoch): nothing can be that old.
            if cutoff.is_some_and(|c| modified <= c) {
                found.push((entry.into_path(), meta.len()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Counts the temporary files under `roots` not modified for `older_than`.
///
/// # Errors
///
/// The I/O errors of listing a directory.
pub(crate) fn count(roots: &[&Path], older_than: Duration, what: &str) -> Result<Leftovers> {
    let mut total = Leftovers::default();
    for (_, bytes) in find(roots, older_than, what)? {
        total += Leftovers { files: 1, bytes };
    }
    Ok(total)
}

/// Removes the temporary files under `roots` not modified for `older_than`; returns what was
/// removed. A file that is already gone is not counted.
///
/// # Errors
///
/// The I/O errors of listing a directory or removing a file (the files removed before it stay
/// removed).
pub(crate) fn remove(roots: &[&Path], older_than: Duration, what: &str) -> Result<Leftovers> {
    let mut total = Leftovers::default();
    for (path, bytes) in find(roots, older_than, what)? {
        match std::fs::remove_file(&path) {
            Ok(()) => total += Leftovers { files: 1, bytes },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(errors::io_error(what, "remove", &path, &e)),
        }
    }
    Ok(total)
}
