//! `calstore-torture`: the worker process of the reliability tests (`cli/tests/contention.rs`,
//! `crash.rs`, `read_only.rs`; docs/reliability.md).
//!
//! It opens a store and journal by the same names as `calstore --store` (a directory, `file:`
//! URL, `postgresql://` URL or libpq keyword string), runs one named workload with a seed and an
//! operation count, and prints one flushed line per acknowledged or refused operation (see
//! `report.rs`), so that a parent process knows what was acknowledged even when it kills the
//! worker with SIGKILL.
//!
//! ```text
//! calstore-torture --store DIR --workload contention --worker 2 --seed 7 --ops 300
//! calstore-torture --store postgresql://… --workload crash --run 17 --ops 0
//! ```
//!
//! Exit status: 0 when the workload ran (refusals included: the parent judges them), 2 for bad
//! usage, 1 when the store could not be opened or the setup failed.

mod booking;
mod contention;
mod crash;
mod names;
mod open;
mod report;
mod rng;
mod writes;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Which workload to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// Set the team's quota limit (once, before the contention workers).
    SetupContention,
    /// Write the background data of the crash workload (once, before the crash runs).
    SetupCrash,
    /// Many workers at once on the same users, resources and quota.
    Contention,
    /// One writer in a loop, to be killed at a random moment.
    Crash,
    /// Attempt every kind of write once (against a read-only store).
    Writes,
    /// Write the torture room's policy (--capacity) and its quota's limit.
    SetupBookings,
    /// Book, cancel and regenerate the torture room (many workers at once, killed at random).
    Bookings,
}

/// The worker process of calstore's reliability tests.
#[derive(Debug, Parser)]
#[command(name = "calstore-torture", version)]
struct Args {
    /// The store: a directory, file:PATH, postgresql://… or a libpq keyword string.
    #[arg(long)]
    store: String,
    /// The journal (default: beside the store, or the same database).
    #[arg(long)]
    journal: Option<String>,
    /// The preferences (default: beside the store, or the same database).
    #[arg(long)]
    preferences: Option<String>,
    /// Open the store and journal read-only.
    #[arg(long)]
    read_only: bool,
    /// How long a writer waits for a lock, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    lock_timeout_ms: u64,
    /// The workload.
    #[arg(long, value_enum)]
    workload: Workload,
    /// This worker's number (contention: keys of its own are `w<worker>-…`).
    #[arg(long, default_value_t = 0)]
    worker: u64,
    /// The run's number (crash: part of every tag written).
    #[arg(long, default_value_t = 0)]
    run: u64,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many operations (crash: 0 runs until killed or --max-seconds).
    #[arg(long, default_value_t = 100)]
    ops: u64,
    /// The room slots reservations choose from (contention).
    #[arg(long, default_value_t = 100)]
    room_slots: u64,
    /// The desk hours reservations choose from (contention).
    #[arg(long, default_value_t = 30)]
    desk_slots: u64,
    /// The room's capacity (setup-bookings).
    #[arg(long, default_value_t = 1)]
    capacity: u64,
    /// Stop after this many seconds in any case (crash).
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("calstore-torture: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calstore-torture: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let target = open::Target {
        store: args.store.clone(),
        journal: args.journal.clone(),
        preferences: args.preferences.clone(),
        read_only: args.read_only,
        lock_timeout: Duration::from_millis(args.lock_timeout_ms),
    };
    let backend = open::open(&target).await?;
    let mut out = report::Reporter::default();
    out.line(&["ready"]);
    with_backend!(&backend, store, journal => match args.workload {
        Workload::SetupContention => contention::setup(journal).await?,
        Workload::SetupCrash => crash::setup(store, journal).await?,
        Workload::Contention => {
            let params = contention::Params {
                worker: args.worker,
                seed: args.seed,
                ops: args.ops,
                room_slots: args.room_slots,
                desk_slots: args.desk_slots,
            };
            contention::run(store, journal, &params, &mut out).await;
        }
        Workload::Crash => {
            let params = crash::Params {
                run: args.run,
                seed: args.seed,
                ops: args.ops,
                max_time: Duration::from_secs(args.max_seconds),
            };
            crash::run(store, journal, &params, &mut out).await;
        }
        Workload::Writes => writes::run(store, journal, &mut out).await,
        Workload::SetupBookings => booking::setup(store, journal, args.capacity).await?,
        Workload::Bookings => {
            let params = booking::Params {
                worker: args.worker,
                seed: args.seed,
                ops: args.ops,
                slots: args.room_slots,
            };
            booking::run(store, journal, &params, &mut out).await;
        }
    });
    out.line(&["done", &out.acked.to_string(), &out.refused.to_string()]);
    Ok(())
}
