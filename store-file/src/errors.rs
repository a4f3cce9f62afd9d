//! Turning I/O failures and bad stored text into calstore errors that name what failed and where.

use std::io;
use std::path::Path;

use calstore::{Error, ErrorKind};

/// An I/O failure while doing `action` on `path` for `what` (for example
/// "user mailto:alice@example.com, freebusy"). Permission problems and read-only file systems are
/// [`ErrorKind::Unavailable`] (the directory cannot be used); everything else is
/// [`ErrorKind::Backend`].
pub(crate) fn io_error(what: &str, action: &str, path: &Path, err: &io::Error) -> Error {
    let kind = match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Backend,
    };
    Error::new(
        kind,
        format!("{what}: cannot {action} {}: {err}", path.display()),
    )
}

/// Corrupt stored data at `path`, line `line` (1-based; 0 when no line applies).
pub(crate) fn corrupt_at(what: &str, path: &Path, line: usize, problem: &str) -> Error {
    if line == 0 {
        Error::corrupt(format!("{what}: {}: {problem}", path.display()))
    } else {
        Error::corrupt(format!("{what}: {}:{line}: {problem}", path.display()))
    }
}

/// The error of a write attempted on a read-only store or journal.
pub(crate) fn read_only(what: &str, operation: &str, root: &Path) -> Error {
    Error::read_only(format!(
        "{what}: {operation} refused: the file store at {} was opened read-only",
        root.display()
    ))
}

/// Adds the `what` context to an error from the core crate (invalid input and the like).
pub(crate) fn in_context(what: &str, err: Error) -> Error {
    err.context(what)
}

/// Checks that stored text is UTF-8, reporting the line of the first bad byte.
pub(crate) fn utf8(what: &str, path: &Path, bytes: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        corrupt_at(what, path, line, "the text is not UTF-8")
    })
}
