//! Facts about a period table that range reads need: an upper bound of the longest period (how far
//! before a range an overlapping period can start) and whether the lines are sorted by start.
//!
//! They are kept in memory per handle and, for writable handles, in a dot file beside the table
//! (`.<table>.meta`), so a new process finds them without scanning. Both are validated against the
//! table file's version, size and inode, so a stale or torn cache is never believed: it is just
//! rebuilt by one scan. Being a cache, the dot file is replaced by rename without fsync.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::version;

/// Entries kept in memory before the cache is emptied (a handle serving many users).
const MEMORY_LIMIT: usize = 16_384;

/// What is known of one version of one table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The table version this describes.
    pub version: u64,
    /// The file size.
    pub size: u64,
    /// The inode.
    pub ino: u64,
    /// At least the longest period's duration, in seconds.
    pub longest: i64,
    /// Whether the lines are in order of their start.
    pub sorted: bool,
}

impl Meta {
    /// Whether this describes the file with metadata `md`.
    pub(crate) fn matches(&self, md: &Metadata) -> bool {
        self.version == version::of_metadata(md).0 && self.size == md.len() && self.ino == md.ino()
    }

    /// A description of the file with metadata `md`.
    pub(crate) fn of(md: &Metadata, longest: i64, sorted: bool) -> Self {
        Meta {
            version: version::of_metadata(md).0,
            size: md.len(),
            ino: md.ino(),
            longest,
            sorted,
        }
    }

    fn to_text(self) -> String {
        format!(
            "calstore-meta 1 {} {} {} {} {}\n",
            self.version,
            self.size,
            self.ino,
            self.longest,
            u8::from(self.sorted)
        )
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut words = text.strip_suffix('\n')?.split(' ');
        if words.next()? != "calstore-meta" || words.next()? != "1" {
            return None;
        }
        let mut next = || words.next().and_then(|w| w.parse::<i64>().ok());
        let meta = Meta {
            version: u64::try_from(next()?).ok()?,
            size: u64::try_from(next()?).ok()?,
            ino: u64::try_from(next()?).ok()?,
            longest: next()?,
            sorted: next()? == 1,
        };
        Some(meta)
    }
}

/// The per-handle cache, with the dot files when the handle may write.
#[derive(Debug)]
pub(crate) struct MetaCache {
    memory: Mutex<HashMap<PathBuf, Meta>>,
    files: bool,
}

/// The dot file of a table, `None` when its name would be too long for the file system.
fn dot_file(table: &Path) -> Option<PathBuf> {
    let name = table.file_name()?.to_str()?;
    let dot = format!(".{name}.meta");
    (dot.len() <= 255).then(|| table.with_file_name(dot))
}

impl MetaCache {
    pub(crate) fn new(files: bool) -> Self {
        MetaCache {
            memory: Mutex::new(HashMap::new()),
            files,
        }
    }

    /// The facts about the table at `path` whose open file has metadata `md`, if known.
    pub(crate) fn get(&self, path: &Path, md: &Metadata) -> Option<Meta> {
        if let Ok(memory) = self.memory.lock() {
            if let Some(meta) = memory.get(path).filter(|m| m.matches(md)) {
                return Some(*meta);
            }
        }
        let dot = dot_file(path)?;
        let meta = std::fs::read_to_string(dot)
            .ok()
            .and_then(|t| Meta::from_text(&t))
            .filter(|m| m.matches(md))?;
        self.remember(path, meta);
        Some(meta)
    }

    /// Remembers facts in memory only.
    pub(crate) fn remember(&self, path: &Path, meta: Meta) {
        if let Ok(mut memory) = self.memory.lock() {
            if memory.len() >= MEMORY_LIMIT {
                memory.clear();
            }
            memory.insert(path.to_path_buf(), meta);
        }
    }

    /// Remembers facts in memory and, for a writable handle, in the dot file (best effort).
    pub(crate) fn put(&self, path: &Path, meta: Meta, file_mode: u32) {
        self.remember(path, meta);
        if !self.files {
            return;
        }
        let Some(dot) = dot_file(path) else { return };
        let Some(dir) = dot.parent() else { return };
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::PermissionsExt;
            let mut tmp = tempfile::Builder::new()
                .prefix(crate::leftovers::TEMP_PREFIX)
                .tempfile_in(dir)?;
            tmp.write_all(meta.to_text().as_bytes())?;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(file_mode))?;
            tmp.persist(&dot).map_err(|e| e.error)?;
            Ok(())
        };
        // A cache that could not be written is rebuilt by the next reader.
        let _ = write();
    }

    /// Forgets a table that was removed (and removes its dot file, best effort).
    pub(crate) fn forget(&self, path: &Path) {
        if let Ok(mut memory) = self.memory.lock() {
            memory.remove(path);
        }
        if self.files {
            if let Some(dot) = dot_file(path) {
                let _ = std::fs::remove_file(dot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_text_round_trips_and_rejects_torn_text() {
        let m = Meta {
            version: 1_767_600_000_123_456_789,
            size: 4096,
            ino: 77,
            longest: 3600,
            sorted: true,
        };
        assert_eq!(Meta::from_text(&m.to_text()), Some(m));
        let text = m.to_text();
        assert_eq!(Meta::from_text(&text[..text.len() - 3]), None);
        assert_eq!(Meta::from_text("garbage\n"), None);
    }
}
