//! A private PostgreSQL cluster for one test process: initdb in a temporary directory owned by
//! the `postgres` account (the server refuses to run as root), a free port on 127.0.0.1 and a
//! private socket directory, stopped when the process ends.
//!
//! The postmaster runs under a small `sh` wrapper whose standard input is a pipe held by this
//! process. When the pipe closes — the test binary exits, panics or is killed, or the owning
//! [`PrivateServer`] is dropped — the wrapper stops the server (fast shutdown) and removes the
//! directory. No signal handler, `atexit` or unsafe code is needed, and a crashed run leaves no
//! server that could disturb the next one (which uses a new directory and a new port anyway).

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::HarnessError;

/// Options of a private server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Serve TLS with this certificate and key (PEM files; copied into the server's directory).
    pub ssl: Option<SslFiles>,
    /// Extra `-c name=value` settings.
    pub settings: Vec<(String, String)>,
}

/// A server certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct SslFiles {
    /// The certificate (chain) file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
}

/// A running private cluster.
#[derive(Debug)]
pub struct PrivateServer {
    base: PathBuf,
    port: u16,
    wrapper: Mutex<Option<(Child, ChildStdin)>>,
}

/// Who runs the server: the `postgres` account when we are root, else ourselves.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    ids: Option<(u32, u32)>,
}

impl RunAs {
    fn find() -> Result<RunAs, HarnessError> {
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

    fn own(&self, path: &Path) -> Result<(), HarnessError> {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| {
                HarnessError::failed(format!("cannot chown {}: {e}", path.display()))
            })?;
        }
        Ok(())
    }

    fn command(&self, program: &Path, base: &Path) -> Command {
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

impl PrivateServer {
    /// initdb and start a cluster; returns when it accepts connections.
    ///
    /// # Errors
    ///
    /// A skip error when no server binaries exist (a failure under `CI=true`); a failure when
    /// initdb or the server fails (with the end of the server's log).
    pub fn start(options: &ServerOptions) -> Result<PrivateServer, HarnessError> {
        let bindir = find_bindir()?;
        let run_as = RunAs::find()?;
        sweep_stale();
        let base = tempfile::Builder::new()
            .prefix("calstore-pg-")
            .tempdir()
            .map_err(|e| HarnessError::failed(format!("cannot create a temporary directory: {e}")))?
            .keep();
        let result = Self::start_in(&bindir, run_as, &base, options);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&base);
        }
        result
    }

    fn start_in(
        bindir: &Path,
        run_as: RunAs,
        base: &Path,
        options: &ServerOptions,
    ) -> Result<PrivateServer, HarnessError> {
        run_as.own(base)?;
        let sock = base.join("sock");
        std::fs::create_dir(&sock)
            .map_err(|e| HarnessError::failed(format!("cannot create {}: {e}", sock.display())))?;
        run_as.own(&sock)?;
        let out = run_as
            .command(&bindir.join("initdb"), base)
            .args(["-D", "data", "-U", "postgres", "-A", "trust", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync"])
            .output()
            .map_err(|e| HarnessError::failed(format!("cannot run initdb: {e}")))?;
        if !out.status.success() {
            return Err(HarnessError::failed(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("unix_socket_directories".into(), sock.display().to_string()),
            // A throw-away cluster: durability buys nothing, speed does.
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("max_connections".into(), "200".into()),
            ("shared_buffers".into(), "32MB".into()),
        ];
        if let Some(ssl) = &options.ssl {
            for (src, name) in [(&ssl.cert, "server.crt"), (&ssl.key, "server.key")] {
                let dest = base.join(name);
                std::fs::copy(src, &dest).map_err(|e| {
                    HarnessError::failed(format!("cannot copy {}: {e}", src.display()))
                })?;
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600));
                }
                run_as.own(&dest)?;
            }
            settings.push(("ssl".into(), "on".into()));
            settings.push((
                "ssl_cert_file".into(),
                base.join("server.crt").display().to_string(),
            ));
            settings.push((
                "ssl_key_file".into(),
                base.join("server.key").display().to_string(),
            ));
        }
        settings.extend(options.settings.iter().cloned());

        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port()?;
            match Self::launch(bindir, run_as, base, port, &settings) {
                Ok(server) => return Ok(server),
                // Another process may have taken the port between our probe and the bind.
                Err(e) => last_error = e.message,
            }
        }
        Err(HarnessError::failed(format!(
            "the private PostgreSQL server did not start: {last_error}"
        )))
    }

    fn launch(
        bindir: &Path,
        run_as: RunAs,
        base: &Path,
        port: u16,
        settings: &[(String, String)],
    ) -> Result<PrivateServer, HarnessError> {
        let mut args = vec![
            "-D".to_owned(),
            "data".to_owned(),
            "-p".to_owned(),
            port.to_string(),
        ];
        for (k, v) in settings {
            args.push("-c".into());
            args.push(format!("{k}={v}"));
        }
        // $0 = postgres binary, $1 = base directory, the rest = server arguments.
        let script = r#"
            bin="$0"; base="$1"; shift
            "$bin" "$@" >"$base/server.log" 2>&1 &
            pid=$!
            echo "$pid" >"$base/postmaster.wrapper-pid"
            read -r _ || :
            kill -INT "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            rm -rf "$base"
        "#;
        let mut cmd = run_as.command(Path::new("/bin/sh"), base);
        cmd.arg("-c")
            .arg(script)
            .arg(bindir.join("postgres"))
            .arg(base)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C meant for the test runner reaches the server only
            // through the closed pipe, after the runner is gone.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::failed(format!("cannot start the server: {e}")))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| HarnessError::failed("no pipe to the server wrapper"))?;
        let server = PrivateServer {
            base: base.to_path_buf(),
            port,
            wrapper: Mutex::new(Some((child, stdin))),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Polls until the server accepts TCP connections, or fails with the end of its log.
    fn wait_ready(&self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let pid_file = self.base.join("data").join("postmaster.pid");
        loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                // The 8th line of postmaster.pid says "ready" once connections are accepted.
                if text.lines().nth(7).is_some_and(|l| l.trim() == "ready")
                    && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                {
                    return Ok(());
                }
            }
            let exited = match self.wrapper.lock() {
                Ok(mut w) => w
                    .as_mut()
                    .is_none_or(|(child, _)| matches!(child.try_wait(), Ok(Some(_)))),
                Err(_) => true,
            };
            let log = self.log_tail();
            if exited || log.contains("could not bind") || log.contains("FATAL") {
                return Err(HarnessError::failed(format!("server log: {log}")));
            }
            if Instant::now() > deadline {
                return Err(HarnessError::failed(format!(
                    "the server did not accept connections within 30 s; log: {log}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.base.join("server.log")) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or_default().trim().to_owned()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the Unix-domain socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.base.join("sock")
    }

    /// Stops the server and waits for it (dropping does the same).
    pub fn stop(&self) {
        let taken = self.wrapper.lock().ok().and_then(|mut w| w.take());
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, HarnessError> {
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
fn sweep_stale() {
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
