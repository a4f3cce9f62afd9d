//! What the private servers need from the machine: the server binaries, the account that runs
//! them, free ports, and the removal of directories left by killed runs.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::HarnessError;

/// Who runs the server: the `postgres` account when we are root, else ourselves.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunAs {
    ids: Option<(u32, u32)>,
}

impl RunAs {
    pub(super) fn find() -> Result<RunAs, HarnessError> {
        use std::os::unix::fs::MetadataExt;
        let euid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(0);
        if euid != 0 {
            return Ok(RunAs { ids: None });
        }
        let passwd = std::fs::read_to_string("/etc/passwd")
            .map_err(|e| HarnessError::failed(format!("cannot read /etc/passwd: {e}")))?;
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.first() == Some(&"postgres") && f.len() > 3 {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    return Ok(RunAs {
                        ids: Some((uid, gid)),
                    });
                }
            }
        }
        Err(HarnessError::missing(
            "running as root and there is no `postgres` account to run the server as",
        ))
    }

    pub(super) fn own(&self, path: &Path) -> Result<(), HarnessError> {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
                HarnessError::failed(format!("cannot chown {}: {e}", path.display()))
            })?;
        }
        Ok(())
    }

    pub(super) fn command(&self, program: &Path, base: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(base)
            .env("LC_ALL", "C")
            .env("HOME", base)
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.ids {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}

/// The directory holding `initdb` and `postgres`: `CALSTORE_PG_BINDIR`, `pg_config --bindir`, or
/// the newest `/usr/lib/postgresql/*/bin`.
///
/// # Errors
///
/// A skip error (a failure under `CI=true`) when none has the server binaries.
pub fn find_bindir() -> Result<PathBuf, HarnessError> {
    let has_server = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("CALSTORE_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if has_server(&dir) {
            Ok(dir)
        } else {
            Err(HarnessError::missing(format!(
                "CALSTORE_PG_BINDIR={} has no initdb and postgres",
                dir.display()
            )))
        };
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, d)| d).ok_or_else(|| {
        HarnessError::missing(
            "no PostgreSQL server binaries (initdb, postgres) found: install the postgresql \
             package (scripts/ensure-postgres), set CALSTORE_PG_BINDIR, or set \
             CALSTORE_TEST_PG_URL to an existing server",
        )
    })
}

pub(super) fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| HarnessError::failed(format!("cannot find a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| HarnessError::failed(format!("cannot find a free port: {e}")))
}

/// Removes directories of earlier runs whose server is gone (a run killed with its wrapper).
/// Only directories older than ten minutes are considered, so a concurrent run's fresh
/// directory is never touched; running servers are never stopped.
pub(super) fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("calstore-pg-")
        {
            continue;
        }
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        let running = std::fs::read_to_string(path.join("data").join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if old && !running {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
