//! Publishing a user's busy time for a web server: `DIR/<user>/freebusy`, a VCALENDAR with
//! METHOD:PUBLISH (`make-freebusy --publish DIR`).
//!
//! The publish directory is a web root, often writable by the web server's account, while the
//! job runs as the store's owner: whatever someone put below DIR must not redirect the write.
//! So every step is relative to a descriptor (openat, mkdirat, renameat), never a path that the
//! kernel resolves again: the user's directory is opened with `O_NOFOLLOW`, an entry that is a
//! symbolic link (directory or `freebusy` file) is refused, and the file is written under a
//! fresh temporary name (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renamed over the old one. DIR
//! itself may be a link (the administrator's choice). Files get `mode` (0644 by default, so a
//! web server of another account can read them), directories the same bits plus search
//! permission where the mode gives read (0755).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use calstore::{Error, ErrorKind, Result, User};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

/// The default mode of published files: readable by everyone (a web server of another
/// account), writable by the owner.
pub const DEFAULT_PUBLISH_MODE: u32 = 0o644;

/// The mode of a published directory for a file `mode`: search permission wherever the mode
/// gives read (0644 → 0755, 0640 → 0750).
pub fn dir_mode_for(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2)
}

fn failed(path: &Path, doing: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("publishing: cannot {doing} {}: {e}", path.display()),
    )
}

fn link_refused(path: &Path) -> Error {
    Error::corrupt(format!(
        "publishing: {} is a symbolic link; calstore never writes through a link below the publish directory (remove it)",
        path.display()
    ))
}

/// Checks a publish mode: at most 0777, and the owner can read and write.
///
/// # Errors
///
/// Invalid input otherwise.
pub fn check_mode(mode: u32) -> Result<()> {
    if mode & !0o777 != 0 || mode & 0o600 != 0o600 {
        return Err(Error::invalid(format!(
            "publish mode {mode:o} must be at most 777 and give the owner rw"
        )));
    }
    Ok(())
}

/// Writes `text` to `DIR/<user>/freebusy` atomically, with file mode `mode`, never following a
/// link below `dir`.
///
/// # Errors
///
/// Invalid input for a bad mode; corrupt data when the user's directory or its `freebusy` is a
/// symbolic link or not of its kind; unavailable when a step fails (the temporary file is
/// removed then).
pub fn publish(dir: &Path, user: &User, text: &str, mode: u32) -> Result<()> {
    check_mode(mode)?;
    // DIR itself is the administrator's path: made if missing, as before.
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(dir_mode_for(mode))
            .create(dir)
            .map_err(|e| failed(dir, "create the publish directory", e))?;
    }
    let base = rfs::openat(
        CWD,
        dir,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| failed(dir, "open the publish directory", e))?;
    let name = user.file_name();
    let user_path = dir.join(&name);
    let user_dir = open_user_dir(&base, &name, &user_path, mode)?;
    let target_path = user_path.join("freebusy");
    match rfs::statat(&user_dir, "freebusy", AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Symlink => return Err(link_refused(&target_path)),
            _ => {
                return Err(Error::corrupt(format!(
                    "publishing: {} is not a regular file",
                    target_path.display()
                )))
            }
        },
        Err(Errno::NOENT) => {}
        Err(e) => return Err(failed(&target_path, "inspect", e)),
    }
    let tmp = format!(
        ".freebusy.tmp-{}-{}",
        std::process::id(),
        rand_suffix(&name)
    );
    let result = write_and_rename(&user_dir, &tmp, text, mode, &target_path);
    if result.is_err() {
        let _ = rfs::unlinkat(&user_dir, tmp.as_str(), AtFlags::empty());
    }
    result
}

/// Opens (creating it if missing) the user's directory below `base` without following a link.
fn open_user_dir(base: &OwnedFd, name: &str, path: &Path, mode: u32) -> Result<OwnedFd> {
    let created = match rfs::mkdirat(base, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => true,
        Err(Errno::EXIST) => false,
        Err(e) => return Err(failed(path, "create", e)),
    };
    let fd = match rfs::openat(
        base,
        name,
        OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::LOOP) => return Err(link_refused(path)),
        Err(Errno::NOTDIR) => {
            return Err(
                match rfs::statat(base, name, AtFlags::SYMLINK_NOFOLLOW)
                    .map(|st| FileType::from_raw_mode(st.st_mode))
                {
                    Ok(FileType::Symlink) => link_refused(path),
                    _ => {
                        Error::corrupt(format!("publishing: {} is not a directory", path.display()))
                    }
                },
            )
        }
        Err(e) => return Err(failed(path, "open", e)),
    };
    // Created 0700 (no window in which another account could enter), then opened up to what
    // the web server needs; an existing directory keeps the modes its owner gave it.
    if created {
        rfs::fchmod(&fd, Mode::from_raw_mode(dir_mode_for(mode)))
            .map_err(|e| failed(path, "set the mode of", e))?;
    }
    Ok(fd)
}

fn write_and_rename(
    user_dir: &OwnedFd,
    tmp: &str,
    text: &str,
    mode: u32,
    target: &Path,
) -> Result<()> {
    let fd = rfs::openat(
        user_dir,
        tmp,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| failed(target, "create a temporary file beside", e))?;
    // The umask does not decide what the web server may read: the mode does.
    rfs::fchmod(&fd, Mode::from_raw_mode(mode))
        .map_err(|e| failed(target, "set the mode of", e))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(text.as_bytes())
        .map_err(|e| failed(target, "write", e))?;
    file.sync_all().map_err(|e| failed(target, "sync", e))?;
    rfs::renameat(user_dir, tmp, user_dir, "freebusy").map_err(|e| failed(target, "replace", e))?;
    rfs::fsync(user_dir.as_fd()).map_err(|e| failed(target, "sync the directory of", e))?;
    Ok(())
}

/// A suffix that differs between runs and users (the name is created with `O_EXCL`, so a
/// collision fails rather than overwrites).
fn rand_suffix(name: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(name.as_bytes());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn published_files_are_readable_by_a_web_server() {
        let d = tempfile::tempdir().unwrap();
        let alice = User::new("mailto:alice@example.com").unwrap();
        publish(d.path(), &alice, "one", DEFAULT_PUBLISH_MODE).unwrap();
        publish(d.path(), &alice, "two", DEFAULT_PUBLISH_MODE).unwrap();
        let file = d.path().join(alice.file_name()).join("freebusy");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
        assert_eq!(mode_of(&file), 0o644);
        assert_eq!(mode_of(&d.path().join(alice.file_name())), 0o755);
        publish(d.path(), &alice, "three", 0o640).unwrap();
        assert_eq!(mode_of(&file), 0o640);
        // No temporary file is left.
        assert_eq!(
            std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn links_below_the_publish_directory_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("freebusy"), "bob's table").unwrap();
        let alice = User::new("mailto:alice@example.com").unwrap();
        // A link named after alice to another directory.
        std::os::unix::fs::symlink(victim.path(), d.path().join(alice.file_name())).unwrap();
        let e = publish(d.path(), &alice, "x", DEFAULT_PUBLISH_MODE).unwrap_err();
        assert!(e.message().contains("symbolic link"), "{}", e.message());
        assert_eq!(
            std::fs::read_to_string(victim.path().join("freebusy")).unwrap(),
            "bob's table"
        );
        // A link as the file itself.
        let bob = User::new("mailto:bob@example.com").unwrap();
        let bob_dir = d.path().join(bob.file_name());
        std::fs::create_dir(&bob_dir).unwrap();
        std::os::unix::fs::symlink(victim.path().join("freebusy"), bob_dir.join("freebusy"))
            .unwrap();
        let e = publish(d.path(), &bob, "x", DEFAULT_PUBLISH_MODE).unwrap_err();
        assert!(e.message().contains("symbolic link"), "{}", e.message());
        assert_eq!(
            std::fs::read_to_string(victim.path().join("freebusy")).unwrap(),
            "bob's table"
        );
        assert!(check_mode(0o400).is_err());
    }
}
