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
    let (src, src_j) = (
        backend::open_store(&from).await.context("--from")?,
        backend::open_journal(&from).await.context("--from")?,
    );
    let (dst, dst_j) = (
        backend::open_store(&to).await.context("--to")?,
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
