//! Baselines measured in the same run as the figures they judge: raw durable file replacements
//! (the file store's floor) and linear scans in memory (what a store without an index does).
//! The bare PostgreSQL client baselines are in `bare_pg.rs`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use calstore::Period;
use chrono::{DateTime, Utc};

/// What the raw file baseline does, for the output.
pub const RAW_REPLACEMENT: &str =
    "raw replacement: write a temp file in the same directory, fsync it, rename it over the target, fsync the directory";

/// Replaces `dir/name` with `bytes` the way the file store must: a temporary file in the same
/// directory, written, fsynced, renamed over the target, then the directory fsynced.
///
/// # Errors
///
/// The I/O errors of any step.
pub fn raw_replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".raw-{name}.tmp"));
    let target = dir.join(name);
    {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("cannot sync {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("cannot rename to {}", target.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

/// A scratch directory for raw writes, created empty.
///
/// # Errors
///
/// When it cannot be created.
pub fn scratch(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The time of `count` raw replacements of a `size`-byte file in `dir`, one after another
/// (cycling over 64 names, so the directory stays small).
///
/// # Errors
///
/// The I/O errors of the replacements.
pub fn replacements(dir: &Path, count: usize, size: usize) -> Result<Duration> {
    let body = vec![b'x'; size];
    let started = Instant::now();
    for i in 0..count {
        raw_replace(dir, &format!("f{}", i % 64), &body)?;
    }
    Ok(started.elapsed())
}

/// What the batched raw file baseline does, for the output.
pub const RAW_BATCHED: &str =
    "raw batched replacements: each file written to a temp file and renamed over its target, one syncfs per 1,000 files";

/// The time of `count` replacements of `size`-byte files in `dir` made durable together, the
/// way a bulk load can be (and the file store's import batches are): each written to a temporary
/// file and renamed over its target (distinct names, as distinct objects), then one `syncfs` per
/// `batch` files and one at the end.
///
/// # Errors
///
/// The I/O errors of the writes or the syncs.
pub fn batched_replacements(
    dir: &Path,
    count: usize,
    size: usize,
    batch: usize,
) -> Result<Duration> {
    let body = vec![b'x'; size];
    let sync = || -> Result<()> {
        let d = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
        rustix::fs::syncfs(&d).with_context(|| format!("cannot syncfs {}", dir.display()))
    };
    let started = Instant::now();
    for i in 0..count {
        let tmp = dir.join(format!(".b{i}.tmp"));
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(&body)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        drop(f);
        std::fs::rename(&tmp, dir.join(format!("b{i}")))
            .with_context(|| format!("cannot rename {}", tmp.display()))?;
        if (i + 1) % batch.max(1) == 0 {
            sync()?;
        }
    }
    sync()?;
    Ok(started.elapsed())
}

/// The median time of `reps` raw replacements of a file holding `bytes`.
///
/// # Errors
///
/// The I/O errors of the replacements.
pub fn replace_median(dir: &Path, bytes: &[u8], reps: usize) -> Result<Duration> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        raw_replace(dir, "table", bytes)?;
        times.push(t.elapsed());
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

/// The table as the file store writes it: one line per period, in table order.
pub fn table_text(periods: &[Period]) -> String {
    let mut text = String::with_capacity(periods.len() * 120);
    for p in periods {
        text.push_str(&p.to_line(false));
        text.push('\n');
    }
    text
}

/// The linear scan the query baseline times: every line of the table text parsed, the
/// overlapping periods kept (what a store without an index does with a table in memory).
///
/// # Errors
///
/// When a line does not parse (it was written by [`table_text`], so never).
pub fn scan_text(text: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Period>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let p = Period::from_line(line)?;
        if p.overlaps(start, end) {
            found.push(p);
        }
    }
    Ok(found)
}

/// The cheapest possible scan: already parsed periods compared one by one (reported beside the
/// main baseline, to show what the index saves against pure comparison work).
pub fn scan_parsed(periods: &[Period], start: DateTime<Utc>, end: DateTime<Utc>) -> usize {
    periods.iter().filter(|p| p.overlaps(start, end)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_replace_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        raw_replace(dir.path(), "a", b"one").expect("first");
        raw_replace(dir.path(), "a", b"two").expect("second");
        assert_eq!(std::fs::read(dir.path().join("a")).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
