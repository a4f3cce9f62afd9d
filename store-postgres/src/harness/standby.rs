//! A streaming-replication standby of a private server: `pg_basebackup -R` (with a replication
//! slot, so the primary keeps the WAL while the standby is halted), then a hot standby on a port
//! of its own, under the same kind of wrapper as the primary.

use std::sync::atomic::{AtomicU64, Ordering};

use super::server::{base_settings, find_bindir, make_base, PrivateServer, ServerOptions};
use super::system::RunAs;
use super::HarnessError;

/// The standby's `cluster_name`, which its WAL receiver gives as `application_name`: the name a
/// primary lists in `synchronous_standby_names` to make it a synchronous standby.
pub const STANDBY_NAME: &str = "calstore_standby";

/// The settings a primary needs to feed standbys: WAL for replication, WAL senders and slots.
/// [`STANDBY_NAME`] is named a synchronous standby, which makes no session wait unless it asks
/// for it itself (the private servers' default `synchronous_commit` is `off`): a session with
/// `synchronous_commit = remote_apply` returns from COMMIT only when the standby has applied it.
pub fn primary_settings() -> Vec<(String, String)> {
    [
        ("wal_level", "replica"),
        ("max_wal_senders", "10"),
        ("max_replication_slots", "10"),
        // Base backups of a primary are safe without it, but replay on the standby is too.
        ("full_page_writes", "on"),
        ("synchronous_standby_names", STANDBY_NAME),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl PrivateServer {
    /// A hot standby of `primary` (which must run with [`primary_settings`]), streaming from it
    /// over TCP; returns when it accepts read-only connections. It stops and disappears like
    /// any private server.
    ///
    /// # Errors
    ///
    /// A skip error when no server binaries exist (a failure under `CI=true`); a failure when
    /// the base backup or the standby fails (with its output or log).
    pub fn start_standby(
        primary: &PrivateServer,
        options: &ServerOptions,
    ) -> Result<PrivateServer, HarnessError> {
        static SLOTS: AtomicU64 = AtomicU64::new(0);
        let bindir = find_bindir()?;
        let run_as = RunAs::find()?;
        let base = make_base(run_as)?;
        let slot = format!(
            "calstore_standby_{}_{}",
            std::process::id(),
            SLOTS.fetch_add(1, Ordering::Relaxed)
        );
        let port = primary.port().to_string();
        let result = (|| {
            let out = run_as
                .command(&bindir.join("pg_basebackup"), &base)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-D",
                    "data",
                ])
                .args([
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                    "-C",
                    "-S",
                    &slot,
                ])
                .output()
                .map_err(|e| HarnessError::failed(format!("cannot run pg_basebackup: {e}")))?;
            if !out.status.success() {
                return Err(HarnessError::failed(format!(
                    "pg_basebackup failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            let mut settings = base_settings(&base.join("sock"));
            settings.extend(
                [
                    ("hot_standby", "on"),
                    ("hot_standby_feedback", "on"),
                    ("cluster_name", STANDBY_NAME),
                    ("wal_receiver_status_interval", "1s"),
                    ("wal_retrieve_retry_interval", "200ms"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
            settings.extend(options.settings.iter().cloned());
            PrivateServer::launch_on_free_port(&bindir, run_as, &base, &settings)
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&base);
        }
        result
    }
}
