//! Running the `calstore` binary in tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The calstore binary built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_calstore"))
}

/// The `calstore-torture` worker of the reliability tests. It lives in the unpublished crate
/// `calstore-bench` (so that neither it nor the PostgreSQL test harness is part of the `calstore`
/// package), and cargo only provides `CARGO_BIN_EXE_*` for a package's own binaries: it is built
/// here, once per test binary, into this run's target directory and profile (a no-op when up to
/// date, so it is never stale).
pub fn torture_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        // This test runs as target/<profile>/deps/<name>-<hash>.
        let me = std::env::current_exe().expect("the test binary's path");
        let profile_dir = me
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile> above the test binary");
        let target_dir = profile_dir.parent().expect("the target directory");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo())
            .env("CARGO_TARGET_DIR", target_dir)
            .args([
                "build",
                "-q",
                "-p",
                "calstore-bench",
                "--bin",
                "calstore-torture",
            ]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo to build calstore-torture");
        assert!(
            status.success(),
            "building calstore-torture failed: {status}"
        );
        let exe = profile_dir.join("calstore-torture");
        assert!(exe.is_file(), "{} was not built", exe.display());
        exe
    })
    .clone()
}

/// The repository root (for tests/data and examples).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The calstore command with `args` in `dir`, output captured, stdin empty, and none of the
/// CALSTORE_* variables of the caller's environment (tests add the ones they mean).
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "CALSTORE_STORE",
        "CALSTORE_JOURNAL",
        "CALSTORE_PREFERENCES",
        "CALSTORE_CONFIG",
        "CALSTORE_INSTANCE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs calstore with `args` in `dir`, with no CALSTORE_* variables from the caller's environment.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_input(dir, args, None)
}

/// As [`run`], feeding `input` on standard input.
pub fn run_with_input(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = command(dir, args);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn calstore");
    if let Some(text) = input {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("calstore output")
}

/// Standard output as text, asserting success.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "calstore failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
