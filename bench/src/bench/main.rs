//! `calstore-bench`: the benchmarks of BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p calstore-bench --bin calstore-bench -- [--quick] [--pg URL] [--json FILE] [SCENARIO...]
//! ```
//!
//! Scenarios: `ingest`, `regen`, `query`, `update-scale`, `agent`, `contention` (all by default),
//! each for the `file` and the `postgres` backend. Every figure is printed as
//! `SCENARIO BACKEND figure=VALUE unit baseline=VALUE ratio=VALUE` (ratio = figure / baseline,
//! with the baseline measured in the same run), explanations as `# …` lines, and everything,
//! with the machine and the verdicts on the targets, goes to the JSON file.
//!
//! Without `--pg` (and without `CALSTORE_TEST_PG_URL`) a private, durable PostgreSQL server is
//! started with the calstore-postgres test harness; `--pg` names the maintenance database of an
//! existing server on which the program may create databases. Without any server the PostgreSQL
//! lines say `skipped` with the reason.

mod agent;
mod bare_pg;
mod baseline;
mod booking;
mod child;
mod contention;
mod corpus;
mod env;
mod ingest;
mod probe;
mod query;
mod regen;
mod report;
mod rng;
mod update_scale;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use serde_json::json;

use env::{Env, Kind, Sizes};
use report::Report;

/// The scenarios, in the order they run.
const SCENARIOS: [&str; 6] = [
    "ingest",
    "regen",
    "query",
    "update-scale",
    "agent",
    "contention",
];

/// calstore-bench: the benchmarks of BENCHMARKS.md, one line per figure.
#[derive(Debug, Parser)]
#[command(name = "calstore-bench", version)]
struct Args {
    /// Small sizes (about a minute in all): a smoke test that asserts nothing about timings.
    #[arg(long)]
    quick: bool,
    /// The maintenance database of an existing PostgreSQL server (the program creates a database
    /// per scenario there); default: CALSTORE_TEST_PG_URL, else a private server.
    #[arg(long, value_name = "URL")]
    pg: Option<String>,
    /// Where to write the JSON report.
    #[arg(long, value_name = "FILE", default_value = "calstore-bench.json")]
    json: PathBuf,
    /// Only these backends (file, postgres); default both.
    #[arg(long = "backend", value_name = "NAME")]
    backends: Vec<String>,
    /// Scratch directory for the file stores (must be on a real disk, not tmpfs).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The corpus seed.
    #[arg(long, default_value_t = corpus::DEFAULT_SEED)]
    seed: u64,
    /// Scenarios to run (default all): ingest, regen, query, update-scale, agent, contention.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// Internal: override the number of regen users (to try sizes between quick and full).
    #[arg(long, hide = true)]
    regen_users: Option<usize>,
    /// Internal: run as a contention worker.
    #[arg(long, hide = true)]
    worker: Option<String>,
    #[arg(long, hide = true)]
    worker_backend: Option<String>,
    #[arg(long, hide = true)]
    worker_target: Option<String>,
    #[arg(long, hide = true, default_value_t = 0)]
    worker_id: usize,
    #[arg(long, hide = true, default_value_t = 0)]
    worker_count: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("calstore-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if args.worker.is_some() {
        runtime.block_on(worker(&args))
    } else {
        runtime.block_on(bench(&args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calstore-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn worker(args: &Args) -> Result<()> {
    match args.worker.as_deref() {
        Some("contention") => {
            let backend = Kind::parse(args.worker_backend.as_deref().unwrap_or_default())?;
            let target = args
                .worker_target
                .as_deref()
                .ok_or_else(|| anyhow!("--worker-target missing"))?;
            contention::worker(backend, target, args.worker_id, args.worker_count).await
        }
        other => Err(anyhow!("unknown worker {other:?}")),
    }
}

async fn bench(args: &Args) -> Result<()> {
    for s in &args.scenarios {
        if !SCENARIOS.contains(&s.as_str()) {
            return Err(anyhow!(
                "unknown scenario {s:?}; the scenarios are {}",
                SCENARIOS.join(", ")
            ));
        }
    }
    let scenarios: Vec<&str> = SCENARIOS
        .iter()
        .copied()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|a| a == s))
        .collect();
    let kinds: Vec<Kind> = if args.backends.is_empty() {
        vec![Kind::File, Kind::Postgres]
    } else {
        args.backends
            .iter()
            .map(|b| Kind::parse(b))
            .collect::<Result<_>>()?
    };

    let mut report = Report::default();
    let machine = report::machine();
    println!(
        "machine nproc={} mem_total={} MB mem_available={} MB load={} cpu={:?}",
        machine["nproc"],
        machine["mem_total_mb"],
        machine["mem_available_mb"],
        machine["loadavg"].as_str().unwrap_or(""),
        machine["cpu"].as_str().unwrap_or("")
    );
    report.header.insert("machine".into(), json!(machine));

    // The scratch directory lives on disk beside the target directory unless told otherwise.
    let scratch = tempfile::Builder::new()
        .prefix("calstore-bench-")
        .tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))
        .context("cannot create the scratch directory")?;
    let mut sizes = if args.quick {
        Sizes::QUICK
    } else {
        Sizes::FULL
    };
    if let Some(n) = args.regen_users {
        sizes.regen_users = n;
    }
    let started = Instant::now();
    let env = Env::new(
        scratch.path().to_path_buf(),
        sizes,
        args.seed,
        args.quick,
        args.pg.clone(),
        kinds.contains(&Kind::Postgres),
    )?;
    let pg = env.pg_header().await;
    println!("postgres {pg}");
    report.header.insert("postgres".into(), pg);
    report.header.insert(
        "run".into(),
        json!({"quick": args.quick, "seed": args.seed, "scenarios": scenarios, "sizes": format!("{sizes:?}"),
               "scratch": scratch.path().display().to_string(), "started": chrono::Utc::now().to_rfc3339()}),
    );

    let mut failed = 0;
    for scenario in &scenarios {
        let mut ready = Vec::new();
        for kind in &kinds {
            match (*kind, env.pg_missing(), env.pg_failed()) {
                (Kind::Postgres, Some(why), _) => report.skip(scenario, kind.name(), why),
                (Kind::Postgres, _, Some(why)) => {
                    report.skip(scenario, kind.name(), &format!("failed: {why}"));
                    failed += 1;
                }
                _ => ready.push(*kind),
            }
        }
        let mut outcomes = Vec::new();
        if *scenario == "regen" {
            // Both corpora are imported at once; the timed parts still run alone.
            let t = Instant::now();
            outcomes = regen::run(&env, &ready, &mut report).await;
            eprintln!("# regen: {:.1} s", t.elapsed().as_secs_f64());
        } else {
            for kind in ready {
                let t = Instant::now();
                let outcome = match *scenario {
                    "ingest" => ingest::run(&env, kind, &mut report).await,
                    "query" => query::run(&env, kind, &mut report).await,
                    "update-scale" => update_scale::run(&env, kind, &mut report).await,
                    "agent" => agent::run(&env, kind, &mut report).await,
                    _ => contention::run(&env, kind, &mut report).await,
                };
                eprintln!(
                    "# {scenario} {}: {:.1} s",
                    kind.name(),
                    t.elapsed().as_secs_f64()
                );
                outcomes.push((kind, outcome));
            }
        }
        for (kind, outcome) in outcomes {
            if let Err(e) = outcome {
                // One failing scenario must not hide the others' figures.
                report.skip(scenario, kind.name(), &format!("failed: {e:#}"));
                failed += 1;
            }
        }
    }
    report
        .header
        .insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
    report.print_targets();
    report.write_json(&args.json)?;
    println!(
        "# report written to {} ({:.0} s in all)",
        args.json.display(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        return Err(anyhow!(
            "{failed} scenario run(s) failed (see the skipped lines)"
        ));
    }
    Ok(())
}
