//! Shared by the CLI tests: running the `calstore` binary (`binary.rs`), the table-driven command
//! checks (`cases.rs`), rooms driven from the command line (`rooms.rs`), a store of either backend
//! in a place of its own, the `calstore-torture` worker and its output lines, tree listings, and
//! the figures each test reports.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../bench/src/torture/names.rs"]
pub mod names;

mod binary;
pub mod cases;
pub mod rooms;
#[allow(unused_imports)] // Not every test runs the binary.
pub use binary::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use calstore_postgres::harness::{server_or_skip, TestDatabase};
use calstore_postgres::{PgJournal, PgOptions, PgPool, PgStore};

/// A store and journal of one backend for one test.
pub enum Place {
    /// The file store: `DIR/store`, `DIR/journal`, `DIR/preferences`.
    File(tempfile::TempDir),
    /// A fresh database of the test server.
    Postgres(TestDatabase),
}

/// Store and journal handles for the test's own checks.
pub enum Opened {
    /// The file store.
    File(FileStore, FileJournal),
    /// The PostgreSQL store.
    Postgres(PgStore, PgJournal),
}

/// Runs `$body` with `$s`, `$j` bound to the handles inside an [`Opened`].
#[macro_export]
macro_rules! with_opened {
    ($opened:expr, $s:ident, $j:ident => $body:expr) => {
        match $opened {
            $crate::support::Opened::File($s, $j) => $body,
            $crate::support::Opened::Postgres($s, $j) => $body,
        }
    };
}

impl Place {
    /// A new, empty file store.
    pub fn file() -> Place {
        Place::File(tempfile::tempdir().expect("temporary directory"))
    }

    /// A fresh database, or `None` after a loud skip notice where there is no server (a failure
    /// under `CI=true`).
    pub fn postgres(test: &str) -> Option<Place> {
        let server = server_or_skip(test)?;
        Some(Place::Postgres(
            server.fresh_database().expect("a fresh test database"),
        ))
    }

    /// The backend's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Place::File(_) => "file",
            Place::Postgres(_) => "postgres",
        }
    }

    /// The `--store` argument.
    pub fn store_arg(&self) -> String {
        match self {
            Place::File(dir) => dir.path().join("store").display().to_string(),
            Place::Postgres(db) => db.url().to_owned(),
        }
    }

    /// The database's URL (PostgreSQL only).
    pub fn database_url(&self) -> Option<String> {
        match self {
            Place::File(_) => None,
            Place::Postgres(db) => Some(db.url().to_owned()),
        }
    }

    /// The directory holding store, journal and preferences (file store only).
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Place::File(dir) => Some(dir.path()),
            Place::Postgres(_) => None,
        }
    }

    /// Opens handles with the given lock timeout.
    pub async fn open(&self, lock_timeout: Duration) -> Opened {
        match self {
            Place::File(dir) => {
                let root = dir.path();
                let store = FileStore::open(FileStoreOptions {
                    lock_timeout,
                    ..FileStoreOptions::new(root.join("store"), root.join("preferences"))
                })
                .expect("open the file store");
                let journal = FileJournal::open(FileJournalOptions {
                    lock_timeout,
                    ..FileJournalOptions::new(root.join("journal"))
                })
                .expect("open the file journal");
                Opened::File(store, journal)
            }
            Place::Postgres(db) => {
                let mut options = PgOptions::new(db.url());
                options.lock_timeout = Some(lock_timeout);
                options.pool_size = 4;
                let pool = PgPool::connect(&options).await.expect("connect");
                Opened::Postgres(
                    PgStore::from_pool(&pool, false),
                    PgJournal::from_pool(&pool, false),
                )
            }
        }
    }

    /// Everything stored, as text that changes whenever any byte, mode, time or row does.
    pub fn snapshot(&self) -> String {
        match self {
            Place::File(dir) => tree_listing(dir.path()),
            Place::Postgres(db) => {
                let url = db.url().to_owned();
                runtime()
                    .block_on(calstore_postgres::harness::snapshot(&url))
                    .expect("snapshot of the database")
            }
        }
    }

    /// A `calstore-torture` command on this place.
    pub fn torture(&self, workload: &str) -> Command {
        let mut cmd = Command::new(torture_bin());
        cmd.args(["--store", &self.store_arg(), "--workload", workload])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `calstore ARGS… ` on this place.
    pub fn calstore(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
        cmd.args(["--store", &self.store_arg()]).args(args);
        for var in [
            "CALSTORE_STORE",
            "CALSTORE_JOURNAL",
            "CALSTORE_PREFERENCES",
            "CALSTORE_CONFIG",
            "CALSTORE_INSTANCE",
        ] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null()).output().expect("run calstore")
    }

    /// Runs a setup workload and asserts it succeeded.
    pub fn setup(&self, workload: &str) {
        let out = self
            .torture(workload)
            .output()
            .expect("run calstore-torture");
        assert!(
            out.status.success(),
            "{workload} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A tokio runtime for the tests' own reads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One line of a worker's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `ready`, `try`, `ack`, `refused`, `bad`, `error` or `done`.
    pub status: String,
    /// The operation.
    pub op: String,
    /// The fields after the operation (for `refused`, the error kind first).
    pub fields: Vec<String>,
}

impl Line {
    /// Field `i` after the operation.
    pub fn field(&self, i: usize) -> &str {
        self.fields.get(i).map_or("", String::as_str)
    }
}

/// Parses a worker's output; a last line without its newline (cut by a kill) is dropped.
pub fn parse_lines(stdout: &[u8]) -> Vec<Line> {
    let text = String::from_utf8_lossy(stdout);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .map(|l| {
            let mut f = l.split('\t').map(str::to_owned);
            Line {
                status: f.next().unwrap_or_default(),
                op: f.next().unwrap_or_default(),
                fields: f.collect(),
            }
        })
        .collect()
}

/// An environment variable as a number, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Reports a test's figures straight to standard error (past the test harness's capture, so
/// they are in every log) and appends them to `target/tmp/reliability-figures.txt`.
pub fn figures(line: &str) {
    let _ = writeln!(std::io::stderr(), "FIGURES {line}");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reliability-figures.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Every path under `root` with its mode, modification time and contents, sorted.
pub fn tree_listing(root: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path.clone());
            }
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap_or_default()
            } else {
                Vec::new()
            };
            entries.push(format!(
                "{} mode={:o} mtime={}.{} size={} {:?}",
                path.strip_prefix(root).unwrap_or(&path).display(),
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.len(),
                String::from_utf8_lossy(&content)
            ));
        }
    }
    entries.sort();
    entries.join("\n")
}

/// Every regular file under `root` (relative paths), sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Whether the process runs as root (file permissions then do not stop it).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Parses every file of a file store's three roots under `dir` the way its kind requires
/// (iCalendar objects for their key, period lines, queue lines, UTF-8 preferences), and checks
/// that every line-based file ends with a complete line. Returns the problems, each naming its
/// file, and the number of calstore's temporary files left behind by interrupted writes.
pub fn parse_every_file(dir: &Path) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    let mut temporaries = 0;
    for root in ["store", "journal", "preferences"] {
        for rel in files_under(&dir.join(root)) {
            let parts: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let name = parts.last().cloned().unwrap_or_default();
            if name.starts_with(".tmp-") {
                temporaries += 1;
                continue;
            }
            if name.starts_with('.') {
                continue;
            }
            let path = dir.join(root).join(&rel);
            let bytes = std::fs::read(&path).unwrap_or_default();
            let place = format!("{root}/{}", rel.display());
            let Ok(text) = String::from_utf8(bytes) else {
                problems.push(format!("{place}: not UTF-8"));
                continue;
            };
            if let Err(problem) = parse_file(root, &parts, &text) {
                problems.push(format!("{place}: {problem}"));
            }
        }
    }
    (problems, temporaries)
}

fn parse_file(root: &str, parts: &[String], text: &str) -> Result<(), String> {
    use calstore::object::EventObject;
    let lines = || -> Result<Vec<&str>, String> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err("the last line is incomplete (truncated file)".to_owned());
        }
        Ok(text.lines().filter(|l| !l.is_empty()).collect())
    };
    let periods = || -> Result<(), String> {
        for (i, l) in lines()?.iter().enumerate() {
            calstore::Period::from_line(l).map_err(|e| format!("line {}: {e}", i + 1))?;
        }
        Ok(())
    };
    let kind: Vec<&str> = parts.iter().skip(1).map(String::as_str).collect();
    let decode = |name: &str| calstore::id::decode_component(name).map_err(|e| e.to_string());
    match (root, kind.as_slice()) {
        ("preferences", _) => Ok(()),
        ("store", ["objects", uid] | ["cancellations", "objects", uid]) => {
            let uid = calstore::Uid::new(decode(uid)?).map_err(|e| e.to_string())?;
            EventObject::parse_for_key(text, &uid, None)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        ("store", ["recurrences", uid, rid] | ["cancellations", "recurrences", uid, rid]) => {
            let uid = calstore::Uid::new(decode(uid)?).map_err(|e| e.to_string())?;
            let rid = calstore::Rid::new(*rid).map_err(|e| e.to_string())?;
            EventObject::parse_for_key(text, &uid, Some(&rid))
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        ("store", ["counters", ..]) => EventObject::parse(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        ("store", ["freebusy" | "freebusy-offers"] | ["freebusy-other", _])
        | ("journal", ["freebusy" | "journal", _]) => periods(),
        ("store", ["requests"]) => {
            for (i, l) in lines()?.iter().enumerate() {
                let f: Vec<&str> = l.split('\t').collect();
                let ok = (1..=3).contains(&f.len())
                    && !f[0].is_empty()
                    && calstore::id::parse_rid_text(f.get(1).copied().unwrap_or("")).is_ok()
                    && calstore::QueueKind::parse(f.get(2).copied().unwrap_or("")).is_ok();
                if !ok {
                    return Err(format!("line {}: not a request: {l:?}", i + 1));
                }
            }
            Ok(())
        }
        (_, ["freebusy-providers"]) => {
            let all = lines();
            let first = text.lines().next().unwrap_or("");
            if !first.is_empty() {
                calstore::period::parse_instant(first).map_err(|e| format!("line 1: {e}"))?;
            }
            all.map(|_| ())
        }
        ("journal", ["limits" | "groups" | "delegates"]) => lines().map(|_| ()),
        ("journal", ["objects", ..] | ["recurrences", ..]) => EventObject::parse(text)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Err("a file calstore does not write".to_owned()),
    }
}
