//! Running the real `calstore` binary as a child process, with its peak memory followed in
//! /proc (VmHWM sampled every few milliseconds: no unsafe code, no wait4), for `regen`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// The `calstore` binary beside this one, built first when missing.
///
/// # Errors
///
/// When it is missing and cargo cannot build it.
pub fn calstore_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the benchmark program")?;
    let exe = me.with_file_name("calstore");
    if exe.is_file() {
        return Ok(exe);
    }
    // target/<profile>/calstore-bench: build into the same target directory and profile.
    let profile_dir = me
        .parent()
        .ok_or_else(|| anyhow!("the benchmark program has no directory"))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("no target directory above {}", profile_dir.display()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "-p", "calstore-cli", "--bin", "calstore"]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    eprintln!("# regen: building {}", exe.display());
    let status = cmd.status().context("cannot run cargo to build calstore")?;
    if !status.success() || !exe.is_file() {
        bail!("building calstore failed ({status})");
    }
    Ok(exe)
}

/// What the child did.
pub struct ChildRun {
    /// Its summary line.
    pub summary: String,
    /// The periods it says it wrote.
    pub periods: usize,
    /// From start to exit.
    pub wall: Duration,
    /// (time since start, VmHWM in kB), sampled every few milliseconds.
    pub samples: Vec<(Duration, u64)>,
}

impl ChildRun {
    /// The highest VmHWM seen, in kB.
    pub fn peak_kb(&self) -> u64 {
        self.samples.iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// The high-water mark at `fraction` of the run.
    pub fn hwm_at(&self, fraction: f64) -> u64 {
        let at = self.wall.mul_f64(fraction);
        self.samples
            .iter()
            .filter(|s| s.0 <= at)
            .map(|s| s.1)
            .max()
            .unwrap_or(0)
    }
}

/// Runs `calstore GLOBAL make-freebusy --all --reset --window-days DAYS`, following its memory.
///
/// # Errors
///
/// When the child cannot start, fails (with the last line of its standard error), or prints no
/// summary.
pub fn make_freebusy(exe: &Path, global: &[&str], window_days: u32) -> Result<ChildRun> {
    let mut cmd = Command::new(exe);
    cmd.args(global).args([
        "make-freebusy",
        "--all",
        "--reset",
        "--window-days",
        &window_days.to_string(),
    ]);
    // For trying other degrees of concurrency than make-freebusy's default (docs/performance.md).
    if let Some(jobs) = std::env::var_os("CALSTORE_BENCH_JOBS") {
        cmd.arg("--jobs").arg(jobs);
    }
    for var in [
        "CALSTORE_STORE",
        "CALSTORE_JOURNAL",
        "CALSTORE_PREFERENCES",
        "CALSTORE_CONFIG",
        "CALSTORE_INSTANCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let status_path = PathBuf::from(format!("/proc/{}/status", child.id()));
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = std::fs::read_to_string(&status_path)
                    .ok()
                    .as_deref()
                    .and_then(vm_hwm_kb)
                {
                    samples.push((started.elapsed(), kb));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            samples
        })
    };
    let output = child.wait_with_output();
    let wall = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let samples = poller
        .join()
        .map_err(|_| anyhow!("the memory poller panicked"))?;
    let output = output.context("waiting for calstore")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "calstore make-freebusy failed ({}): {}",
            output.status,
            stderr.trim().lines().last().unwrap_or("")
        );
    }
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("make-freebusy:"))
        .unwrap_or_default()
        .to_owned();
    // "make-freebusy: 1000 users, 100000 events, 1645000 periods in 9.87 s"
    let words: Vec<&str> = summary.split_whitespace().collect();
    let periods = words
        .windows(2)
        .find(|w| w[1].trim_end_matches(',') == "periods")
        .and_then(|w| w[0].parse().ok())
        .ok_or_else(|| anyhow!("no period count in calstore's summary {summary:?}"))?;
    Ok(ChildRun {
        summary,
        periods,
        wall,
        samples,
    })
}

/// VmHWM (peak resident set) from /proc/PID/status, in kB.
fn vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
