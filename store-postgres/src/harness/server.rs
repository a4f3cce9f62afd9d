//! A private PostgreSQL cluster for one test process: initdb in a temporary directory owned by
//! the `postgres` account (the server refuses to run as root), a free port on 127.0.0.1 and a
//! private socket directory, stopped when the process ends.
//!
//! The postmaster runs under a small `sh` wrapper whose standard input is a pipe held by this
//! process. The wrapper obeys two commands on the pipe — `stop` (fast shutdown, data kept) and
//! `start` — and when the pipe closes — the test binary exits, panics or is killed, or the owning
//! [`PrivateServer`] is dropped — it stops the server (fast shutdown) and removes the directory.
//! No signal handler, `atexit` or unsafe code is needed, and a crashed run leaves no server that
//! could disturb the next one (which uses a new directory and a new port anyway).

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::system::{free_port, sweep_stale, RunAs};
use super::HarnessError;

pub use super::system::find_bindir;

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

/// The wrapper process and its pipes.
#[derive(Debug)]
struct Wrapper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// A running private cluster (a primary, or a standby from [`PrivateServer::start_standby`]).
#[derive(Debug)]
pub struct PrivateServer {
    base: PathBuf,
    port: u16,
    wrapper: Mutex<Option<Wrapper>>,
    /// Where this run of the server starts in its log (a restart appends).
    log_from: Mutex<u64>,
}

/// The settings every private server runs with.
pub(super) fn base_settings(sock: &Path) -> Vec<(String, String)> {
    vec![
        ("listen_addresses".into(), "127.0.0.1".into()),
        ("unix_socket_directories".into(), sock.display().to_string()),
        // A throw-away cluster: durability buys nothing, speed does.
        ("fsync".into(), "off".into()),
        ("synchronous_commit".into(), "off".into()),
        ("full_page_writes".into(), "off".into()),
        ("max_connections".into(), "200".into()),
        ("shared_buffers".into(), "32MB".into()),
    ]
}

/// A fresh temporary directory named `calstore-pg-…` (so stale ones are swept), owned by the
/// server's account, with a socket directory.
pub(super) fn make_base(run_as: RunAs) -> Result<PathBuf, HarnessError> {
    sweep_stale();
    let base = tempfile::Builder::new()
        .prefix("calstore-pg-")
        .tempdir()
        .map_err(|e| HarnessError::failed(format!("cannot create a temporary directory: {e}")))?
        .keep();
    run_as.own(&base)?;
    let sock = base.join("sock");
    std::fs::create_dir(&sock)
        .map_err(|e| HarnessError::failed(format!("cannot create {}: {e}", sock.display())))?;
    run_as.own(&sock)?;
    Ok(base)
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
        let base = make_base(run_as)?;
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
        let mut settings = base_settings(&base.join("sock"));
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
        Self::launch_on_free_port(bindir, run_as, base, &settings)
    }

    /// Starts the server of `base/data` on a free port, trying again when another process takes
    /// the port between the probe and the bind.
    pub(super) fn launch_on_free_port(
        bindir: &Path,
        run_as: RunAs,
        base: &Path,
        settings: &[(String, String)],
    ) -> Result<PrivateServer, HarnessError> {
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let port = free_port()?;
            match Self::launch(bindir, run_as, base, port, settings) {
                Ok(server) => return Ok(server),
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
        // $0 = postgres binary, $1 = base directory, the rest = server arguments. Commands on
        // standard input: "stop" (fast shutdown, answered "stopped"), "start"; end of input:
        // stop and remove the directory.
        let script = r#"
            bin="$0"; base="$1"; shift
            pid=
            start() { "$bin" "$@" >>"$base/server.log" 2>&1 & pid=$!; }
            halt() {
                if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
                pid=
            }
            start "$@"
            while read -r cmd; do
                case "$cmd" in
                    stop) halt; echo stopped ;;
                    start) [ -n "$pid" ] || start "$@"; echo started ;;
                esac
            done
            halt
            rm -rf "$base"
        "#;
        let mut cmd = run_as.command(Path::new("/bin/sh"), base);
        cmd.arg("-c")
            .arg(script)
            .arg(bindir.join("postgres"))
            .arg(base)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C meant for the test runner reaches the server only
            // through the closed pipe, after the runner is gone.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| HarnessError::failed(format!("cannot start the server: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(HarnessError::failed("no pipes to the server wrapper"));
        };
        let server = PrivateServer {
            base: base.to_path_buf(),
            port,
            wrapper: Mutex::new(Some(Wrapper {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            })),
            log_from: Mutex::new(0),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Polls until the server accepts TCP connections (read-write, or read-only as a hot
    /// standby), or fails with the end of its log.
    fn wait_ready(&self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let pid_file = self.base.join("data").join("postmaster.pid");
        loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                // The 8th line of postmaster.pid says "ready" once connections are accepted
                // ("standby" on a hot standby).
                let status = text.lines().nth(7).map(str::trim);
                if matches!(status, Some("ready" | "standby"))
                    && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                {
                    return Ok(());
                }
            }
            let exited = match self.wrapper.lock() {
                Ok(mut w) => w
                    .as_mut()
                    .is_none_or(|w| matches!(w.child.try_wait(), Ok(Some(_)))),
                Err(_) => true,
            };
            let log = self.log_tail();
            if exited || log.contains("could not bind") || failed_to_start(&log) {
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

    /// The end of this run's part of the server's log.
    pub fn log_tail(&self) -> String {
        let from = self.log_from.lock().map_or(0, |f| *f);
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.base.join("server.log")) {
            let _ = f.seek(std::io::SeekFrom::Start(from));
            let _ = f.read_to_string(&mut text);
        }
        let mut start = text.len().saturating_sub(2000);
        while !text.is_char_boundary(start) {
            start += 1;
        }
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

    /// The server's base directory (its data directory is `data` in it).
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    /// Sends a command to the wrapper and waits for its answer.
    fn command(&self, command: &str, answer: &str) -> Result<(), HarnessError> {
        let mut guard = self
            .wrapper
            .lock()
            .map_err(|_| HarnessError::failed("the server wrapper's lock is poisoned"))?;
        let w = guard
            .as_mut()
            .ok_or_else(|| HarnessError::failed("the server was removed"))?;
        writeln!(w.stdin, "{command}")
            .and_then(|()| w.stdin.flush())
            .map_err(|e| HarnessError::failed(format!("cannot reach the server wrapper: {e}")))?;
        let mut line = String::new();
        w.stdout
            .read_line(&mut line)
            .map_err(|e| HarnessError::failed(format!("no answer from the server wrapper: {e}")))?;
        if line.trim() == answer {
            Ok(())
        } else {
            Err(HarnessError::failed(format!(
                "the server wrapper answered {line:?} to {command:?}"
            )))
        }
    }

    /// Shuts the server down (fast shutdown: sessions are ended) and keeps its data, for
    /// [`PrivateServer::restart`]; returns when it has exited.
    ///
    /// # Errors
    ///
    /// A failure when the wrapper is gone.
    pub fn halt(&self) -> Result<(), HarnessError> {
        self.command("stop", "stopped")
    }

    /// Starts a halted server again on the same port and data; returns when it accepts
    /// connections.
    ///
    /// # Errors
    ///
    /// A failure when the wrapper is gone or the server does not start (with its log).
    pub fn restart(&self) -> Result<(), HarnessError> {
        let len = std::fs::metadata(self.base.join("server.log")).map_or(0, |m| m.len());
        if let Ok(mut from) = self.log_from.lock() {
            *from = len;
        }
        self.command("start", "started")?;
        self.wait_ready()
    }

    /// Stops the server, removes its directory and waits for both (dropping does the same).
    pub fn stop(&self) {
        let taken = self.wrapper.lock().ok().and_then(|mut w| w.take());
        if let Some(mut w) = taken {
            drop(w.stdin);
            let _ = w.child.wait();
        }
    }
}

/// Whether the log shows the server giving up: a FATAL or PANIC line other than those a
/// starting server (or a standby waiting for its primary) logs on its way up.
fn failed_to_start(log: &str) -> bool {
    const ON_THE_WAY_UP: [&str; 3] = [
        "is starting up",
        "not yet accepting connections",
        "could not connect to the primary server",
    ];
    log.lines().any(|l| {
        (l.contains("FATAL:") || l.contains("PANIC:"))
            && !ON_THE_WAY_UP.iter().any(|benign| l.contains(benign))
    })
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}
