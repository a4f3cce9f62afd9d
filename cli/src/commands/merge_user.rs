//! `calstore merge-user`: moves everything held under a user's odd spelling (as `check` reports
//! it) to its normal key (`calstore_any::merge_user`), then says to rebuild the table.

use anyhow::{Context, Result};
use calstore::{Store, User};

use crate::args::{Global, MergeUserArgs};
use crate::backend;

pub async fn run(global: &Global, args: &MergeUserArgs) -> Result<u8> {
    // The spelling exactly as stored: this is the one command that names a key unnormalised.
    let from =
        User::stored(args.from.as_str()).with_context(|| format!("--from {:?}", args.from))?;
    let into = match &args.into {
        Some(u) => super::parse_user(u)?,
        None => User::new(args.from.as_str()).with_context(|| format!("--from {:?}", args.from))?,
    };
    let store = backend::open_store(global).await?;
    if !store.users().await?.contains(&from) {
        return Err(crate::exit::exit(
            crate::exit::NO_USER,
            format!("unknown user {from}: the store holds nothing under that exact spelling"),
        ));
    }
    let r = calstore_any::merge_user(&store, &from, &into).await?;
    if let backend::AnyStore::File(files) = &store {
        // Empty directories would still list the odd spelling as a user.
        for root in [files.root(), files.preferences_root()] {
            remove_empty_dirs(&root.join(from.file_name()));
        }
    }
    println!(
        "merged {from} into {into}: {} objects moved ({} the target already held), {} counters, {} requests, {} periods, {} preferences",
        r.objects, r.kept, r.counters, r.requests, r.periods, r.preferences
    );
    println!("now rebuild its busy time: calstore make-freebusy --reset {into}");
    Ok(crate::exit::OK)
}

/// Removes `dir` and the directories below it that hold nothing (lock files, dot names, count
/// as nothing); a directory with any other entry is kept.
fn remove_empty_dirs(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_dirs(&entry.path());
        }
    }
    let only_dots = std::fs::read_dir(dir).is_ok_and(|mut e| {
        e.all(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with('.')))
    });
    if only_dots {
        let _ = std::fs::remove_dir_all(dir);
    }
}
