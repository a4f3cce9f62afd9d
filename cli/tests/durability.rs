//! Durability order, seen in the system calls: a SIGKILL cannot show a missing fsync (the kernel
//! keeps the page cache when a process dies; only a power cut or a kernel crash loses it), so this
//! test runs the crash workload under `strace -f -y` and checks the order FILE-STORE.md promises
//! for every file the store replaces: the new content is fsynced under its temporary name, then
//! renamed over the target, then the directory is fsynced before the next replacement; a move
//! (cancel, uncancel) fsyncs both directories. Only the range-read caches (`.<table>.meta`) are
//! renamed without fsync, by design: a stale cache is never believed.
//!
//! Needs `strace` (scripts/test installs it); without it the test skips loudly, and fails under
//! `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// One traced system call: `fsync` of a path, or `rename` from a path to a path.
#[derive(Debug)]
enum Call {
    Fsync(String),
    Rename(String, String),
}

/// Parses `strace -f -y` lines for fsync/fdatasync and rename/renameat/renameat2.
fn parse_trace(text: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    for line in text.lines() {
        let body = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest)
            .trim_start();
        if !body.ends_with("= 0") {
            continue;
        }
        if body.starts_with("fsync(") || body.starts_with("fdatasync(") {
            if let Some(path) = body.split_once('<').and_then(|(_, r)| r.split_once('>')) {
                calls.push(Call::Fsync(path.0.to_owned()));
            }
        } else if body.starts_with("rename") {
            let quoted: Vec<&str> = body.split('"').skip(1).step_by(2).collect();
            if quoted.len() >= 2 {
                calls.push(Call::Rename(quoted[0].to_owned(), quoted[1].to_owned()));
            }
        }
    }
    calls
}

fn parent(path: &str) -> String {
    Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Checks the order for every replacement and move; returns (replacements, moves, problems).
fn check_order(calls: &[Call]) -> (usize, usize, Vec<String>) {
    let (mut replaced, mut moved, mut problems) = (0, 0, Vec::new());
    let mut since_last_rename: Vec<&str> = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let Call::Rename(from, to) = call else {
            if let Call::Fsync(p) = call {
                since_last_rename.push(p);
            }
            continue;
        };
        let until_next: Vec<&str> = calls[i + 1..]
            .iter()
            .take_while(|c| !matches!(c, Call::Rename(..)))
            .filter_map(|c| match c {
                Call::Fsync(p) => Some(p.as_str()),
                Call::Rename(..) => None,
            })
            .collect();
        let dir_synced = |dir: &str| {
            until_next
                .iter()
                .any(|p| p.ends_with(dir.trim_start_matches("./")))
        };
        if name(to).starts_with('.') {
            // A range-read cache: renamed without fsync on purpose.
        } else if name(from).starts_with(".tmp-") {
            replaced += 1;
            if !since_last_rename
                .iter()
                .any(|p| p.ends_with(from.trim_start_matches("./")))
            {
                problems.push(format!(
                    "{to}: renamed into place without an fsync of its content"
                ));
            }
            if !dir_synced(&parent(to)) {
                problems.push(format!(
                    "{to}: its directory was not fsynced after the rename"
                ));
            }
        } else {
            moved += 1;
            if !dir_synced(&parent(to)) || !dir_synced(&parent(from)) {
                problems.push(format!(
                    "move {from} -> {to}: both directories must be fsynced"
                ));
            }
        }
        since_last_rename.clear();
    }
    (replaced, moved, problems)
}

#[test]
fn every_replacement_is_fsynced_renamed_and_its_directory_fsynced() {
    if Command::new("strace").arg("-V").output().is_err() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!ci, "strace is missing (scripts/test installs it)");
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED durability order: strace is not installed"
        );
        return;
    }
    let place = Place::file();
    place.setup("setup-crash");
    let trace = place.dir().unwrap().join("trace");
    let out = Command::new("strace")
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&trace)
        .arg(torture_bin())
        .args([
            "--store",
            &place.store_arg(),
            "--workload",
            "crash",
            "--ops",
            "150",
            "--seed",
            "3",
        ])
        .output()
        .expect("run strace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked = parse_lines(&out.stdout)
        .iter()
        .filter(|l| l.status == "ack")
        .count();
    let calls = parse_trace(&std::fs::read_to_string(&trace).unwrap());
    let (replaced, moved, problems) = check_order(&calls);
    figures(&format!(
        "durability order file: {acked} acknowledged writes traced: {replaced} replacements and \
         {moved} moves checked; out of order: {}",
        problems.len()
    ));
    assert!(
        replaced >= acked / 2,
        "only {replaced} replacements seen for {acked} writes"
    );
    assert!(
        problems.is_empty(),
        "{} writes without the promised fsync order:\n{}",
        problems.len(),
        problems
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
