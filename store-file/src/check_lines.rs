//! The file store's part of `calstore check` that reading through the store cannot do: every
//! line-based file must end with a line break, because calstore writes whole lines only. A file
//! cut at a field boundary (`start TAB end TAB uid`) still parses as a valid shorter line, so
//! only the missing line break shows that it was truncated.
//!
//! Moved here from the command line: it knows the file layout, which is this crate's.

use std::path::{Path, PathBuf};

/// The line-based files directly in a user's (or quota's) directory.
const STORE_FILES: [&str; 4] = [
    "freebusy",
    "freebusy-offers",
    "freebusy-providers",
    "requests",
];
/// The line-based files directly in a quota's directory.
const JOURNAL_FILES: [&str; 4] = ["limits", "groups", "delegates", "freebusy-providers"];
/// Directories of line-based files (one table per entry).
const STORE_DIRS: [&str; 1] = ["freebusy-other"];
/// Directories of line-based files in a quota's directory.
const JOURNAL_DIRS: [&str; 2] = ["freebusy", "journal"];

/// Entries of `dir` that are not calstore's own dot files; a directory that is missing has
/// none, one that cannot be read is a problem.
fn entries(dir: &Path, problems: &mut Vec<String>) -> Vec<PathBuf> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Vec::new(),
        Err(e) => {
            problems.push(format!("{}: cannot be listed: {e}", dir.display()));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in read {
        match entry {
            Ok(e) if !e.file_name().as_encoded_bytes().starts_with(b".") => out.push(e.path()),
            Ok(_) => {}
            Err(e) => problems.push(format!("{}: cannot be listed: {e}", dir.display())),
        }
    }
    out.sort();
    out
}

/// Whether `path` is a real directory or file (a link is never followed; the listings report it).
fn is_real(path: &Path, dir: bool) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| if dir { m.is_dir() } else { m.is_file() })
}

/// Checks the line-based files of a store root (`journal` false) or journal root (`journal`
/// true); returns how many files were read and one problem per truncated file, naming the file
/// and the line that has no line break.
pub(crate) fn check_root(root: &Path, journal: bool) -> (usize, Vec<String>) {
    let (files, dirs): (&[&str], &[&str]) = if journal {
        (&JOURNAL_FILES, &JOURNAL_DIRS)
    } else {
        (&STORE_FILES, &STORE_DIRS)
    };
    let mut checked = 0;
    let mut problems = Vec::new();
    for owner in entries(root, &mut problems)
        .iter()
        .filter(|p| is_real(p, true))
    {
        let mut paths: Vec<PathBuf> = files.iter().map(|f| owner.join(f)).collect();
        for d in dirs {
            paths.extend(entries(&owner.join(d), &mut problems));
        }
        for path in paths.iter().filter(|p| is_real(p, false)) {
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    problems.push(format!("{}: cannot be read: {e}", path.display()));
                    continue;
                }
            };
            checked += 1;
            if bytes.last().is_some_and(|b| *b != b'\n') {
                let line = bytes.iter().filter(|b| **b == b'\n').count() + 1;
                problems.push(format!(
                    "{}:{line}: the last line has no line break: the file was cut short",
                    path.display()
                ));
            }
        }
    }
    (checked, problems)
}
