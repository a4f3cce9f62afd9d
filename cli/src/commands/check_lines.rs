//! The file store's part of `calstore check` that reading through the store cannot do: every
//! line-based file must end with a line break, because calstore writes whole lines only. A file
//! cut at a field boundary (`start TAB end TAB uid`) still parses as a valid shorter line, so
//! only the missing line break shows that it was truncated.

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

/// Entries of `dir` that are not calstore's own dot files.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .flatten()
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Checks the line-based files of a store root (`journal` false) or journal root (`journal`
/// true); returns how many files were read and one problem per truncated file, naming the file
/// and the line that has no line break.
pub fn check_root(root: &Path, journal: bool) -> (usize, Vec<String>) {
    let (files, dirs): (&[&str], &[&str]) = if journal {
        (&JOURNAL_FILES, &JOURNAL_DIRS)
    } else {
        (&STORE_FILES, &STORE_DIRS)
    };
    let mut checked = 0;
    let mut problems = Vec::new();
    for owner in entries(root).iter().filter(|p| p.is_dir()) {
        let mut paths: Vec<PathBuf> = files.iter().map(|f| owner.join(f)).collect();
        for d in dirs {
            paths.extend(entries(&owner.join(d)));
        }
        for path in paths.iter().filter(|p| p.is_file()) {
            let Ok(bytes) = std::fs::read(path) else {
                continue;
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
