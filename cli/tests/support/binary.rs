//! Running the `calstore` binary in tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The calstore binary built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_calstore"))
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
