//! Atomic replacement, moves and removal of files, and directories created on demand.
//!
//! Every file is replaced by writing a temporary file (`.tmp-…`) in the same directory, flushing
//! and fsyncing it, renaming it over the old name and fsyncing the directory: a crash leaves the
//! old or the new file, never a torn one. Moves are one rename; removals an unlink; each followed
//! by an fsync of the directories involved. Directories and files get the configured modes
//! explicitly (`chmod` after creation), so the process umask does not matter. Inside a
//! [`Deferred`] section (a step covered by its redo record) the fsyncs wait for one `syncfs`.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use calstore::{Result, Version};
use tempfile::NamedTempFile;

use crate::errors;
use crate::options::Modes;
use crate::version;

/// Creates `dir` and its missing ancestors with `modes.dir`, fsyncing each parent so the new
/// directory survives a crash. Existing directories are left as they are.
///
/// # Errors
///
/// Corrupt data when `dir` is a symbolic link; the I/O errors of creating a directory, naming
/// it.
pub(crate) fn ensure_dir(dir: &Path, modes: Modes, what: &str) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        // A write never goes through a link: it could lead out of the root.
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(errors::corrupt_at(
                what,
                dir,
                0,
                "is a symbolic link; calstore never follows a link out of its root (replace it with the directory itself)",
            ))
        }
        _ => {}
    }
    create_dir(dir, modes, what)
}

/// [`ensure_dir`] without the link check, for the missing ancestors (a root may well be a link).
fn create_dir(dir: &Path, modes: Modes, what: &str) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            create_dir(parent, modes, what)?;
        }
    }
    match DirBuilder::new().mode(modes.dir).create(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, Permissions::from_mode(modes.dir))
                .map_err(|e| errors::io_error(what, "set the mode of", dir, &e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsync_dir(parent, what)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(errors::io_error(what, "create the directory", dir, &e)),
    }
}

thread_local! {
    /// Whether this thread is inside a [`Deferred`] section: its writes skip their own fsyncs.
    static DEFERRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn deferred() -> bool {
    DEFERRED.with(std::cell::Cell::get)
}

/// A section of writes whose durability is grouped: while it lives, this thread's replacements,
/// moves and removals skip their fsyncs, and [`Deferred::sync`] makes all of them durable with
/// one `syncfs` of the file system. Only for writes that a durable redo record covers (a step,
/// [`crate::step_log`]): a crash before the sync loses nothing the record cannot write again.
pub(crate) struct Deferred {
    root: PathBuf,
}

impl Deferred {
    /// Starts a section; `root` is any directory on the file system written to.
    pub(crate) fn start(root: &Path) -> Deferred {
        DEFERRED.with(|d| d.set(true));
        Deferred {
            root: root.to_path_buf(),
        }
    }

    /// Ends the section and makes its writes durable (one `syncfs`).
    ///
    /// # Errors
    ///
    /// The I/O errors of opening the root or of the sync.
    pub(crate) fn sync(self, what: &str) -> Result<()> {
        DEFERRED.with(|d| d.set(false));
        let d = File::open(&self.root)
            .map_err(|e| errors::io_error(what, "open the directory", &self.root, &e))?;
        rustix::fs::syncfs(&d).map_err(|e| {
            errors::io_error(
                what,
                "sync the file system of",
                &self.root,
                &io::Error::from(e),
            )
        })
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        DEFERRED.with(|d| d.set(false));
    }
}

/// Makes a directory's entries (new, renamed or removed names) durable (later, inside a
/// [`Deferred`] section).
///
/// # Errors
///
/// The I/O errors of opening or syncing the directory.
pub(crate) fn fsync_dir(dir: &Path, what: &str) -> Result<()> {
    if deferred() {
        return Ok(());
    }
    let d = File::open(dir).map_err(|e| errors::io_error(what, "open the directory", dir, &e))?;
    d.sync_all()
        .map_err(|e| errors::io_error(what, "sync the directory", dir, &e))
}

/// A temporary file beside `target` that replaces it atomically on [`Replacement::commit`], or
/// disappears when dropped.
pub(crate) struct Replacement {
    tmp: NamedTempFile,
    target: PathBuf,
    modes: Modes,
}

impl Replacement {
    /// Creates the temporary file (and the directory of `target` when missing).
    ///
    /// # Errors
    ///
    /// The I/O errors of creating the directory or the file.
    pub(crate) fn new(target: &Path, modes: Modes, what: &str) -> Result<Self> {
        let dir = parent_of(target);
        ensure_dir(dir, modes, what)?;
        let tmp = tempfile::Builder::new()
            .prefix(crate::leftovers::TEMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|e| errors::io_error(what, "create a temporary file in", dir, &e))?;
        Ok(Replacement {
            tmp,
            target: target.to_path_buf(),
            modes,
        })
    }

    /// The open temporary file, to write the new content to.
    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// Sets the mode, optionally stamps a version greater than `old` (see [`version::stamp`]),
    /// fsyncs the file, renames it over the target and fsyncs the directory. Returns the file's
    /// metadata after the stamp and its version.
    ///
    /// # Errors
    ///
    /// The I/O errors of each step, naming the target; the target is unchanged then.
    pub(crate) fn commit(
        self,
        old: Option<Version>,
        what: &str,
    ) -> Result<(Version, std::fs::Metadata)> {
        let target = &self.target;
        let file = self.tmp.as_file();
        file.set_permissions(Permissions::from_mode(self.modes.file))
            .map_err(|e| errors::io_error(what, "set the mode of a new", target, &e))?;
        let stamped = match old {
            Some(old) => Some(version::stamp(file, old, what, target)?),
            None => None,
        };
        if !deferred() {
            file.sync_all()
                .map_err(|e| errors::io_error(what, "sync a new", target, &e))?;
        }
        let meta = file
            .metadata()
            .map_err(|e| errors::io_error(what, "inspect a new", target, &e))?;
        self.tmp
            .persist(target)
            .map_err(|e| errors::io_error(what, "rename a new file to", target, &e.error))?;
        fsync_dir(parent_of(target), what)?;
        Ok((stamped.unwrap_or_else(|| version::of_metadata(&meta)), meta))
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Replaces `target` with `content` atomically; with `old`, stamps a version greater than it.
///
/// # Errors
///
/// The I/O errors of writing, naming the target.
pub(crate) fn write_file(
    target: &Path,
    content: &[u8],
    old: Option<Version>,
    modes: Modes,
    what: &str,
) -> Result<Version> {
    let replacement = Replacement::new(target, modes, what)?;
    {
        let mut w = BufWriter::new(replacement.file());
        w.write_all(content)
            .and_then(|()| w.flush())
            .map_err(|e| errors::io_error(what, "write a new", target, &e))?;
    }
    Ok(replacement.commit(old, what)?.0)
}

/// Removes a file and fsyncs its directory; returns whether it existed.
///
/// # Errors
///
/// The I/O errors of unlinking other than "not found".
pub(crate) fn remove_file(path: &Path, what: &str) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            fsync_dir(parent_of(path), what)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(errors::io_error(what, "remove", path, &e)),
    }
}

/// Removes a directory's files (one level, calstore's own dot files included) and the directory,
/// then fsyncs its parent; returns how many key files (names without a leading dot) were removed.
///
/// # Errors
///
/// The I/O errors of listing or removing.
pub(crate) fn remove_dir_files(dir: &Path, what: &str) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(errors::io_error(what, "list", dir, &e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| errors::io_error(what, "list", dir, &e))?;
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let result = if is_dir {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => {
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    removed += 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(errors::io_error(what, "remove", &path, &e)),
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(errors::io_error(what, "remove the directory", dir, &e)),
    }
    fsync_dir(parent_of(dir), what)?;
    Ok(removed)
}

/// Removes a directory if it holds nothing (best effort: a directory that is not empty, or any
/// other failure, leaves it in place).
pub(crate) fn remove_dir_if_empty(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}

/// Moves `from` to `to` with one rename (creating the target directory when missing) and fsyncs
/// both directories; returns whether `from` existed.
///
/// # Errors
///
/// The I/O errors of renaming other than a missing source.
pub(crate) fn move_file(from: &Path, to: &Path, modes: Modes, what: &str) -> Result<bool> {
    if !from.is_file() {
        return Ok(false);
    }
    ensure_dir(parent_of(to), modes, what)?;
    match std::fs::rename(from, to) {
        Ok(()) => {
            fsync_dir(parent_of(to), what)?;
            if parent_of(from) != parent_of(to) {
                fsync_dir(parent_of(from), what)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(errors::io_error(
            what,
            &format!("move {} to", from.display()),
            to,
            &e,
        )),
    }
}

/// Opens a file for reading, `None` when it does not exist.
///
/// Only a regular file is read: a FIFO would block the open or the read forever, a device
/// such as `/dev/zero` would never end, and a symbolic link could lead out of the root. The open
/// neither blocks (`O_NONBLOCK`) nor follows a final link (`O_NOFOLLOW`), and anything but a
/// regular file is refused as corrupt data naming the path.
///
/// # Errors
///
/// Corrupt data for a link or an entry that is not a regular file; the I/O errors of opening
/// other than "not found".
pub(crate) fn open_optional(path: &Path, what: &str) -> Result<Option<File>> {
    Ok(open_with_metadata(path, what)?.map(|(f, _)| f))
}

/// [`open_optional`] with the metadata it read (one `fstat` per file, reused by the reader).
fn open_with_metadata(path: &Path, what: &str) -> Result<Option<(File, std::fs::Metadata)>> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(errors::corrupt_at(
                what,
                path,
                0,
                "is a symbolic link; calstore never follows a link out of its root (replace it with the file itself)",
            ))
        }
        Err(e) => return Err(errors::io_error(what, "open", path, &e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| errors::io_error(what, "inspect", path, &e))?;
    if !meta.is_file() {
        return Err(errors::corrupt_at(
            what,
            path,
            0,
            "is not a regular file (a directory, FIFO or device where calstore keeps a file); nothing was read",
        ));
    }
    Ok(Some((file, meta)))
}

/// Reads a whole UTF-8 file with its version, `None` when it does not exist.
///
/// # Errors
///
/// Corrupt data when the file is not UTF-8; the I/O errors of reading.
pub(crate) fn read_optional(path: &Path, what: &str) -> Result<Option<(String, Version)>> {
    use std::io::Read;
    let Some((file, meta)) = open_with_metadata(path, what)? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Through `Take`: `File::read_to_end` would `statx` the file again for a size hint that the
    // capacity above already gives (one stat per object read: issue 21).
    (&file)
        .take(u64::MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| errors::io_error(what, "read", path, &e))?;
    let text = errors::utf8(what, path, bytes)?;
    Ok(Some((text, version::of_metadata(&meta))))
}
