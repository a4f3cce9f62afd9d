//! Helpers shared by the file-store tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use calstore::{Other, Period, Rid, Uid, User};
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use chrono::{DateTime, Utc};

pub fn t(s: &str) -> DateTime<Utc> {
    calstore::period::parse_instant(s).unwrap()
}

pub fn user(s: &str) -> User {
    User::new(s).unwrap()
}

pub fn uid(s: &str) -> Uid {
    Uid::new(s).unwrap()
}

pub fn rid(s: &str) -> Rid {
    Rid::new(s).unwrap()
}

pub fn other(s: &str) -> Other {
    Other::new(s).unwrap()
}

pub fn period(start: &str, end: &str, u: &str, r: Option<&str>) -> Period {
    Period::new(t(start), t(end), uid(u), r.map(rid)).unwrap()
}

pub const ALICE: &str = "mailto:alice@example.com";

pub fn event_text(u: &str, r: Option<&str>, summary: &str) -> String {
    let rid_line = r
        .map(|r| format!("RECURRENCE-ID:{r}\r\n"))
        .unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\nUID:{u}\r\n{rid_line}DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A temporary directory with a store, its preferences and a journal below it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_root(&self) -> PathBuf {
        self.root().join("store")
    }

    pub fn options(&self, read_only: bool) -> FileStoreOptions {
        FileStoreOptions {
            read_only,
            ..FileStoreOptions::new(self.store_root(), self.root().join("preferences"))
        }
    }

    pub fn store(&self) -> FileStore {
        FileStore::open(self.options(false)).unwrap()
    }

    pub fn ro_store(&self) -> FileStore {
        FileStore::open(self.options(true)).unwrap()
    }

    pub fn journal_options(&self, read_only: bool) -> FileJournalOptions {
        FileJournalOptions {
            read_only,
            ..FileJournalOptions::new(self.root().join("journal"))
        }
    }

    pub fn journal(&self) -> FileJournal {
        FileJournal::open(self.journal_options(false)).unwrap()
    }

    pub fn ro_journal(&self) -> FileJournal {
        FileJournal::open(self.journal_options(true)).unwrap()
    }

    /// `STORE/<encoded user>/<rel>`.
    pub fn user_path(&self, user: &str, rel: &str) -> PathBuf {
        let dir = self.store_root().join(calstore::id::encode_component(user));
        if rel.is_empty() {
            dir
        } else {
            dir.join(rel)
        }
    }

    pub fn read(&self, path: impl AsRef<Path>) -> String {
        std::fs::read_to_string(path).unwrap()
    }
}

/// Every path under `root` (relative), with type, mode, mtime and content: changes whenever
/// anything does.
pub fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.push(format!(
                "{} {:o} {}.{} {:?}",
                path.strip_prefix(root).unwrap().display(),
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                String::from_utf8_lossy(&content)
            ));
        }
    }
    out.sort();
    out
}

/// Every path under `root`, relative, sorted.
pub fn paths(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
    out.sort();
    out
}
