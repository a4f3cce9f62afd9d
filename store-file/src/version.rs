//! Table versions: the modification time of the table file in nanoseconds, set explicitly by the
//! writer so that it strictly increases with every replacement.
//!
//! A writer stamps the temporary file with `max(old + 1, now)` just before renaming it over the
//! table, then reads the time back: a file system with coarse timestamps (seconds on some, 100 ns
//! on others) would round it, so the writer bumps it until what the file system keeps is greater
//! than the old version. A rename keeps the modification time, and a reader takes it from the very
//! file descriptor it reads the content from, so the version always belongs to that content. A
//! missing table is `Version(0)`; an existing file never is (an mtime at or before the epoch reads
//! as 1). Because every replacement creates a new file with a larger time, a version never comes
//! back (no ABA even when the file system reuses the inode), unless the table is removed (it is
//! then empty again, `Version(0)`) and the clock has gone back to exactly an earlier stamp.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calstore::{Error, Result, Version};

use crate::errors;

/// The version of an existing file, from its metadata.
pub(crate) fn of_metadata(meta: &Metadata) -> Version {
    let nanos = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    Version(u64::try_from(nanos).unwrap_or(0).max(1))
}

/// The version of the file at `path`, `Version(0)` when it does not exist.
///
/// # Errors
///
/// The I/O errors of `stat` other than "not found".
pub(crate) fn of_path(path: &Path, what: &str) -> Result<Version> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(of_metadata(&meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Version(0)),
        Err(e) => Err(errors::io_error(what, "inspect", path, &e)),
    }
}

/// Fails with a conflict when `expect` is given and differs from `current`.
///
/// # Errors
///
/// Stale naming the table and both versions.
pub(crate) fn check(expect: Option<Version>, current: Version, what: &str) -> Result<()> {
    match expect {
        Some(v) if v != current => Err(Error::stale(format!(
            "{what}: changed since it was read (expected {v}, found {current}); nothing was written"
        ))),
        _ => Ok(()),
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Stamps `file` (the temporary file about to replace a table at version `old`) with a
/// modification time greater than `old` and returns the version it will have.
///
/// # Errors
///
/// Backend error when the file system keeps no usable modification time.
pub(crate) fn stamp(file: &File, old: Version, what: &str, path: &Path) -> Result<Version> {
    let want = now_nanos().max(old.0.saturating_add(1));
    // Bumps for file systems that round times: none, microseconds, milliseconds, seconds, FAT's 2 s.
    for bump in [0, 1_000, 1_000_000, 1_000_000_000, 2_000_000_000] {
        let at = UNIX_EPOCH + Duration::from_nanos(want.saturating_add(bump));
        file.set_modified(at)
            .map_err(|e| errors::io_error(what, "set the modification time of", path, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| errors::io_error(what, "inspect", path, &e))?;
        let got = of_metadata(&meta);
        if got > old {
            return Ok(got);
        }
    }
    Err(Error::new(
        calstore::ErrorKind::Backend,
        format!(
            "{what}: the file system does not keep modification times precisely enough to version {}",
            path.display()
        ),
    ))
}
