//! The exported conformance suite (`calstore::conformance`) on the file store: every case, each
//! in a temporary directory of its own (docs/testing.md).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::conformance::Fixture;

calstore::conformance_suite!(file, file());

/// The file store in a temporary directory.
pub async fn file() -> Option<Fixture<calstore_file::FileStore, calstore_file::FileJournal>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().to_path_buf();
    let open = |read_only: bool| {
        let store = calstore_file::FileStore::open(calstore_file::FileStoreOptions {
            read_only,
            ..calstore_file::FileStoreOptions::new(root.join("store"), root.join("preferences"))
        })
        .expect("open file store");
        let journal = calstore_file::FileJournal::open(calstore_file::FileJournalOptions {
            read_only,
            ..calstore_file::FileJournalOptions::new(root.join("journal"))
        })
        .expect("open file journal");
        (store, journal)
    };
    let (store, journal) = open(false);
    let (ro_store, ro_journal) = open(true);
    let snap_root = root.clone();
    let fixture = Fixture::new(store, journal, ro_store, ro_journal, move || {
        let listing = tree_listing(&snap_root);
        async move { listing }
    });
    Some(fixture.keep(dir))
}

/// Every path under `root` with its mode, modification time and contents.
pub fn tree_listing(root: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    let mut entries = Vec::new();
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
                path.display(),
                meta.mode(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.len(),
                String::from_utf8_lossy(&content)
            ));
        }
    }
    entries.sort();
    for e in entries {
        out.push_str(&e);
        out.push('\n');
    }
    out
}
