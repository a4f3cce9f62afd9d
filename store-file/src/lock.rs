//! Advisory locks (flock) on one lock file per user (`STORE/<user>/.lock`) or quota
//! (`JOURNAL/<quota>/.lock`).
//!
//! Writers take the lock exclusively for every read-modify-write and every operation that touches
//! several files; readers that look at several files take it shared. Waiting polls `try_lock` with
//! a short, growing pause and ends in [`ErrorKind::Locked`](calstore::ErrorKind::Locked) at the
//! timeout, never in going on without the lock. The kernel releases a flock when its file is
//! closed or its process dies, so no stale lock can block a user. Locks are never held across an
//! `.await`: each operation runs to its end on one thread while it holds one.
//!
//! A read-only handle never creates a lock file: when it is missing (nothing was ever written
//! there by calstore), it reads without a lock.

use std::cell::RefCell;
use std::fs::{File, OpenOptions, Permissions, TryLockError};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calstore::{Error, ErrorKind, Result};

use crate::atomic;
use crate::errors;
use crate::options::Settings;

/// A held lock; dropping it closes the file, which releases the lock. A guard taken while the
/// same thread already holds that lock exclusively ([`exclusive`] inside a step that holds the
/// user's lock) holds nothing and releases nothing.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: Option<File>,
    /// The path registered as held by this thread, unregistered on drop.
    held: Option<PathBuf>,
}

thread_local! {
    /// The lock files this thread holds exclusively. A step takes the user's lock once and then
    /// runs the same operations as the single calls, which take it again: a second flock on a
    /// new descriptor of the same file would wait for ourselves until the timeout.
    static HELD: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

fn held_here(path: &Path) -> bool {
    HELD.with(|h| h.borrow().iter().any(|p| p == path))
}

fn reentered() -> LockGuard {
    LockGuard {
        _file: None,
        held: None,
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(path) = self.held.take() {
            HELD.with(|h| h.borrow_mut().retain(|p| *p != path));
        }
    }
}

/// Takes the lock at `path` exclusively, creating its directory and the lock file when missing,
/// waiting at most the configured timeout.
///
/// # Errors
///
/// Locked at the timeout (naming `what` and the path); corrupt data when the path passes through
/// a symbolic link below the root; the I/O errors of creating the file.
pub(crate) fn exclusive(path: &Path, settings: &Settings, what: &str) -> Result<LockGuard> {
    // The owner's directory is where every read and write of it goes: never through a link.
    crate::layout::refuse_links(&settings.root, path, what)?;
    if held_here(path) {
        return Ok(reentered());
    }
    let file = open_or_create(path, settings, what)?;
    let mut guard = wait(file, true, path, settings.lock_timeout, what)?;
    HELD.with(|h| h.borrow_mut().push(path.to_path_buf()));
    guard.held = Some(path.to_path_buf());
    Ok(guard)
}

/// Takes the lock at `path` shared, or returns `None` when the lock file does not exist (there is
/// then nothing calstore wrote to be consistent with).
///
/// # Errors
///
/// Locked at the timeout; corrupt data when the path passes through a symbolic link below the
/// root; the I/O errors of opening the file.
pub(crate) fn shared(path: &Path, settings: &Settings, what: &str) -> Result<Option<LockGuard>> {
    crate::layout::refuse_links(&settings.root, path, what)?;
    if held_here(path) {
        return Ok(Some(reentered()));
    }
    let Some(file) = atomic::open_optional(path, what)? else {
        return Ok(None);
    };
    wait(file, false, path, settings.lock_timeout, what).map(Some)
}

/// Takes the lock at `path` exclusively only if that is possible at once and the file exists.
///
/// # Errors
///
/// The I/O errors of opening or locking other than contention.
pub(crate) fn try_exclusive(path: &Path, what: &str) -> Result<Option<LockGuard>> {
    if held_here(path) {
        return Ok(Some(reentered()));
    }
    let Some(file) = atomic::open_optional(path, what)? else {
        return Ok(None);
    };
    match file.try_lock() {
        Ok(()) => Ok(Some(LockGuard {
            _file: Some(file),
            held: None,
        })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(errors::io_error(what, "lock", path, &e)),
    }
}

fn open_or_create(path: &Path, settings: &Settings, what: &str) -> Result<File> {
    if let Some(file) = atomic::open_optional(path, what)? {
        return Ok(file);
    }
    if let Some(dir) = path.parent() {
        atomic::ensure_dir(dir, settings.modes, what)?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(settings.modes.file)
        .open(path)
    {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(settings.modes.file))
                .map_err(|e| errors::io_error(what, "set the mode of", path, &e))?;
            Ok(file)
        }
        // Another process created it in between.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            File::open(path).map_err(|e| errors::io_error(what, "open the lock file", path, &e))
        }
        Err(e) => Err(errors::io_error(what, "create the lock file", path, &e)),
    }
}

fn wait(
    file: File,
    exclusive: bool,
    path: &Path,
    timeout: Duration,
    what: &str,
) -> Result<LockGuard> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match attempt {
            Ok(()) => {
                return Ok(LockGuard {
                    _file: Some(file),
                    held: None,
                })
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(errors::io_error(what, "lock", path, &e));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "{what}: the {} lock {} was not free within {:.1} s; try again",
                    if exclusive { "exclusive" } else { "shared" },
                    path.display(),
                    timeout.as_secs_f64()
                ),
            ));
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
