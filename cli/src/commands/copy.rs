//! `calstore copy`: everything from one store and journal to another, of either kind, verified
//! table by table (`calstore_any::copy`). This file parses the two sides, shows progress,
//! prints problems and sets the exit code.

use std::time::Instant;

use anyhow::{Context, Result};
use calstore_any::{CopyOptions, CopyProgress};

use crate::args::{CopyArgs, Global};
use crate::backend;

fn side(
    global: &Global,
    store: &str,
    journal: &Option<String>,
    prefs: &Option<String>,
    read_only: bool,
) -> Global {
    Global {
        store: Some(store.to_owned()),
        journal: journal.clone(),
        preferences: prefs.clone(),
        read_only,
        ..global.clone()
    }
}

pub async fn run(global: &Global, args: &CopyArgs) -> Result<u8> {
    let from = side(
        global,
        &args.from,
        &args.from_journal,
        &args.from_preferences,
        true,
    );
    let to = side(
        global,
        &args.to,
        &args.to_journal,
        &args.to_preferences,
        global.read_only,
    );
    same_store(&from, &to)?;
    let (src, src_j) = (
        backend::open_store(&from).await.context("--from")?,
        backend::open_journal(&from).await.context("--from")?,
    );
    if global.read_only {
        return rehearse(&src, &src_j, args).await;
    }
    // The target is the one store `copy` may create (and record the layout of).
    let (dst, dst_j) = (
        backend::open_store_creating(&to).await.context("--to")?,
        backend::open_journal(&to).await.context("--to")?,
    );
    if !args.force && !calstore_any::target_is_empty(&dst, &dst_j).await? {
        return Err(crate::exit::exit(
            crate::exit::CANT_CREATE,
            "the target store is not empty (use --force to copy into it)",
        ));
    }
    let started = Instant::now();
    let mut bar = None;
    let options = CopyOptions { force: args.force };
    let report = calstore_any::copy(&src, &dst, &src_j, &dst_j, options, |step| match step {
        CopyProgress::Users(n) => bar = Some(crate::progress::bar(n as u64, "copying")),
        CopyProgress::UserDone(_) => {
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        CopyProgress::Problem(e) => {
            let print = || eprintln!("calstore: {}", e.message());
            match &bar {
                Some(b) => b.suspend(print),
                None => print(),
            }
        }
    })
    .await?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    match report.problems.first() {
        None => {
            println!(
                "copied {} in {seconds:.2} s; every table verified",
                report.counts
            );
            Ok(crate::exit::OK)
        }
        Some(first) => {
            println!(
                "copied {} in {seconds:.2} s; NOT verified: {} problems (above), the target does not hold everything the source holds",
                report.counts,
                report.problems.len()
            );
            Ok(crate::exit::code_for(first.kind()))
        }
    }
}

/// Refuses a copy of a store onto itself (or onto a part of itself), which would "verify"
/// every table it just rewrote from itself: a usage error (64).
fn same_store(from: &Global, to: &Global) -> Result<()> {
    let (from_plan, to_plan) = (backend::plan(from)?, backend::plan(to)?);
    let overlap = match (from_plan.store_root(), to_plan.store_root()) {
        (Some(a), Some(b)) => {
            calstore_file::check_apart(&[("source store", a), ("target store", b)]).is_err()
        }
        (None, None) => from_plan.store == to_plan.store,
        _ => false,
    };
    if overlap {
        return Err(crate::exit::exit(
            crate::exit::USAGE,
            format!(
                "--from {} and --to {} are the same store: nothing to copy",
                from_plan.store, to_plan.store
            ),
        ));
    }
    Ok(())
}

/// `copy --read-only`: copies into memory to count what would be copied (reading every table
/// as a real copy does), writes nothing, and says so.
async fn rehearse(
    src: &backend::AnyStore,
    src_j: &backend::AnyJournal,
    args: &CopyArgs,
) -> Result<u8> {
    let (dst, dst_j) = (
        calstore::memory::MemoryStore::new(),
        calstore::memory::MemoryJournal::new(),
    );
    let options = CopyOptions { force: args.force };
    let report = calstore_any::copy(src, &dst, src_j, &dst_j, options, |step| {
        if let CopyProgress::Problem(e) = step {
            eprintln!("calstore: {}", e.message());
        }
    })
    .await?;
    println!(
        "read-only: nothing written to {}; a copy would copy {}{}",
        args.to,
        report.counts,
        if report.problems.is_empty() {
            String::new()
        } else {
            format!(" and leave out {} entries (above)", report.problems.len())
        }
    );
    Ok(match report.problems.first() {
        None => crate::exit::OK,
        Some(first) => crate::exit::code_for(first.kind()),
    })
}
