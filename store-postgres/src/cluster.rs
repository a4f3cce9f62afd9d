//! The servers of one instance: the primary and its streaming-replication standbys, each with a
//! pool of its own, call counters, and what is known of its health and replay lag.
//!
//! Routing itself (which server serves a call) is in `route.rs`; this file keeps the state it
//! decides on. A replica that fails is left out until a back-off has passed (doubling with each
//! failure in a row, up to 16 times `replica_retry`); a replica whose replay lag exceeds the bound
//! is left out until its lag is measured again (at most every `lag_check_interval`). Warnings are
//! logged when a replica is left out and when it comes back, not on every skipped call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use calstore::{Error, Result};
use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Object, Pool, QueueMode, RecyclingMethod, Runtime,
};

use crate::conninfo::ConnSettings;
use crate::error::pool_error;
use crate::pool::PgOptions;
use crate::tls;

/// One instance's servers and how to use them: a primary, any number of streaming replicas, and
/// the routing policy for plain reads.
///
/// Replicas share the primary's pool size, timeouts and TLS rules; their sessions are always
/// read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// The primary: every write and read-modify-write goes here; also the read-only flag, the
    /// pool size and the timeouts of every server.
    pub primary: PgOptions,
    /// Connection strings of the streaming replicas (hot standbys) that serve plain reads.
    pub replicas: Vec<String>,
    /// Whether the primary serves plain reads too (picked at random with the replicas).
    pub primary_reads: bool,
    /// Leave out a replica whose replay lag exceeds this; `None`: never measure lag.
    pub max_replica_lag: Option<Duration>,
    /// How often a replica's lag is measured (the result is cached in between).
    pub lag_check_interval: Duration,
    /// How long a failed replica is left out before it is tried again (doubled with each failure
    /// in a row, up to 16 times).
    pub replica_retry: Duration,
}

impl ClusterOptions {
    /// One server, no replicas: the primary serves everything. Lag checks every second, failed
    /// replicas retried after 5 s.
    pub fn new(primary: PgOptions) -> Self {
        ClusterOptions {
            primary,
            replicas: Vec::new(),
            primary_reads: false,
            max_replica_lag: None,
            lag_check_interval: Duration::from_secs(1),
            replica_retry: Duration::from_secs(5),
        }
    }

    /// The same options with one more replica.
    #[must_use]
    pub fn replica(mut self, conninfo: impl Into<String>) -> Self {
        self.replicas.push(conninfo.into());
        self
    }
}

impl From<PgOptions> for ClusterOptions {
    fn from(primary: PgOptions) -> Self {
        ClusterOptions::new(primary)
    }
}

/// What a server is to its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRole {
    /// The primary: writes, read-modify-writes, forced and fallback reads.
    Primary,
    /// A streaming replica: plain reads.
    Replica,
}

impl std::fmt::Display for ServerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerRole::Primary => "primary",
            ServerRole::Replica => "replica",
        })
    }
}

/// A snapshot of one server's routing state, from [`PgPool::servers`](crate::PgPool::servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// Primary or replica.
    pub role: ServerRole,
    /// The server as named in messages (`host … port …`).
    pub target: String,
    /// Calls of plain reads it served.
    pub reads: u64,
    /// Calls of writes (and read-modify-writes) it served.
    pub writes: u64,
    /// False while a failed replica is left out (until its back-off has passed).
    pub available: bool,
    /// False while a replica is left out for lagging more than the bound.
    pub within_lag: bool,
    /// The replay lag last measured (replicas with a lag bound only).
    pub lag: Option<Duration>,
}

/// What a read does about a replica's lag ([`Server::lag_check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LagCheck {
    /// Measure it now.
    Measure,
    /// The cached measurement is within the bound.
    Within,
    /// The cached measurement exceeds the bound: leave the replica out.
    Lagging,
}

/// What is known of a server's health.
#[derive(Debug, Default)]
struct Health {
    /// Failures in a row.
    failures: u32,
    /// Left out until then.
    retry_at: Option<Instant>,
    /// The last lag measured, and when.
    lag: Option<(Instant, Duration)>,
    /// A lag measurement under way since then (others use the cached result meanwhile; a
    /// measurement abandoned by a cancelled call expires).
    checking: Option<Instant>,
    /// The last measurement exceeded the bound.
    lagging: bool,
}

/// One server: its pool, counters and health.
pub(crate) struct Server {
    pub(crate) role: ServerRole,
    pub(crate) target: Arc<str>,
    /// The target and the database name (libpq's default: the user's name): two pools with
    /// the same one write the same database, so a store and a journal on them can share a
    /// transaction.
    pub(crate) database: Arc<str>,
    pool: Pool,
    reads: AtomicU64,
    writes: AtomicU64,
    health: Mutex<Health>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("role", &self.role)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A pool for `conninfo` with the pool size and timeouts of `options`; `read_only` opens
    /// every session with `default_transaction_read_only=on`.
    fn build(
        role: ServerRole,
        conninfo: &str,
        options: &PgOptions,
        read_only: bool,
    ) -> Result<Server> {
        let mut settings = ConnSettings::parse(conninfo)?;
        if read_only {
            settings.add_session_setting("default_transaction_read_only", "on");
        }
        if let Some(t) = options.lock_timeout {
            let ms = t.as_millis().max(1);
            settings.add_session_setting("lock_timeout", &format!("{ms}ms"));
        }
        let target: Arc<str> = settings.target().into();
        let config = settings.config();
        let database: Arc<str> = format!(
            "{target} dbname {}",
            config
                .get_dbname()
                .or(config.get_user())
                .unwrap_or_default()
        )
        .into();
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let config = settings.config().clone();
        let manager = match tls::connector(&settings)? {
            Some(tls) => Manager::from_config(config, tls, manager_config),
            None => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
        };
        // Closing a connection past its lifetime when it is handed out: see PgOptions::max_lifetime.
        let max_lifetime = options.max_lifetime;
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(options.wait_timeout)
            .create_timeout(settings.config().get_connect_timeout().copied())
            .recycle_timeout(Some(Duration::from_secs(5)))
            // The connection used last is handed out first: under light load one warm server
            // process answers (its caches and plans hot) instead of every idle one in turn.
            .queue_mode(QueueMode::Lifo)
            .pre_recycle(Hook::sync_fn(move |_, metrics| match max_lifetime {
                Some(max) if metrics.age() >= max => Err(HookError::message("past max_lifetime")),
                _ => Ok(()),
            }))
            .build()
            .map_err(|e| Error::invalid(format!("cannot create the connection pool: {e}")))?;
        Ok(Server {
            role,
            target,
            database,
            pool,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            health: Mutex::new(Health::default()),
        })
    }

    /// "replica host db2 port 5432", for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.role, self.target)
    }

    /// A pooled connection to this server.
    pub(crate) async fn get(&self) -> Result<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| pool_error(e, &self.target))
    }

    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a plain read may be tried here now: not left out after a failure (or its back-off
    /// has passed), and not known to lag (or its lag is due to be measured again).
    fn may_serve(&self, now: Instant, lag_interval: Duration) -> bool {
        let h = self.health();
        let failed = h.retry_at.is_some_and(|t| now < t);
        let lagging = h.lagging && h.lag.is_some_and(|(at, _)| now < at + lag_interval);
        !failed && !lagging
    }

    /// What a read should do about the lag now: measure it (no result yet, or the last one is
    /// older than `interval` and nobody else is measuring), or go by the cached result.
    pub(crate) fn lag_check(&self, interval: Duration) -> LagCheck {
        let mut h = self.health();
        let abandoned = Duration::from_secs(5).max(interval.saturating_mul(2));
        let measuring = h.checking.is_some_and(|t| t.elapsed() < abandoned);
        match h.lag {
            None => LagCheck::Measure,
            Some((at, _)) if at.elapsed() >= interval && !measuring => {
                h.checking = Some(Instant::now());
                LagCheck::Measure
            }
            Some(_) if h.lagging => LagCheck::Lagging,
            Some(_) => LagCheck::Within,
        }
    }

    /// Records a measured lag; returns whether it is within `max`.
    pub(crate) fn record_lag(&self, lag: Duration, max: Duration) -> bool {
        let mut h = self.health();
        h.lag = Some((Instant::now(), lag));
        h.checking = None;
        let within = lag <= max;
        if !within && !h.lagging {
            tracing::warn!(
                "{} lags {} behind the primary (bound {}): reads go to other servers",
                self.describe(),
                show(lag),
                show(max)
            );
        } else if within && h.lagging {
            tracing::info!(
                "{} is within the lag bound again ({}): it serves reads",
                self.describe(),
                show(lag)
            );
        }
        h.lagging = !within;
        within
    }

    /// Leaves the server out after a failure, for `retry` doubled per failure in a row (at most
    /// 16 times).
    pub(crate) fn mark_down(&self, err: &Error, retry: Duration) {
        let mut h = self.health();
        h.failures = h.failures.saturating_add(1);
        h.checking = None;
        let backoff = retry.saturating_mul(1 << (h.failures - 1).min(4));
        h.retry_at = Some(Instant::now() + backoff);
        if h.failures == 1 {
            tracing::warn!(
                "{} failed, reads go to other servers; trying it again in {}: {err}",
                self.describe(),
                show(backoff)
            );
        } else {
            tracing::debug!(
                "{} failed again, next try in {}: {err}",
                self.describe(),
                show(backoff)
            );
        }
    }

    /// Records a call served: a server left out after failures is back.
    pub(crate) fn mark_up(&self) {
        let mut h = self.health();
        if h.failures > 0 {
            tracing::info!("{} is back: it serves reads again", self.describe());
        }
        h.failures = 0;
        h.retry_at = None;
    }

    fn status(&self) -> ServerStatus {
        let h = self.health();
        ServerStatus {
            role: self.role,
            target: self.target.to_string(),
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            available: h.retry_at.is_none_or(|t| Instant::now() >= t),
            within_lag: !h.lagging,
            lag: h.lag.map(|(_, l)| l),
        }
    }
}

/// A duration for messages: `250 ms`, `3.2 s`.
fn show(d: Duration) -> String {
    if d == Duration::MAX {
        "an unknown time (not streaming)".to_owned()
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The primary, the replicas and the routing policy, shared by every clone of a pool.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) primary: Server,
    pub(crate) replicas: Vec<Server>,
    pub(crate) primary_reads: bool,
    pub(crate) max_lag: Option<Duration>,
    pub(crate) lag_interval: Duration,
    pub(crate) retry: Duration,
    /// Opened read-only (option).
    pub(crate) read_only: bool,
    /// Why the primary cannot be written although the options allow it (a hot standby, a
    /// reader role), found when connecting.
    pub(crate) found_read_only: OnceLock<String>,
}

impl Cluster {
    /// The servers' pools, without connecting.
    pub(crate) fn new(options: &ClusterOptions) -> Result<Cluster> {
        let primary = &options.primary;
        let replicas = options
            .replicas
            .iter()
            .map(|c| Server::build(ServerRole::Replica, c, primary, true))
            .collect::<Result<Vec<_>>>()?;
        Ok(Cluster {
            primary: Server::build(
                ServerRole::Primary,
                &primary.conninfo,
                primary,
                primary.read_only,
            )?,
            replicas,
            primary_reads: options.primary_reads,
            max_lag: options.max_replica_lag,
            lag_interval: options.lag_check_interval,
            retry: options.replica_retry,
            read_only: primary.read_only,
            found_read_only: OnceLock::new(),
        })
    }

    /// The servers that may serve a plain read now, in random order: the replicas not left out,
    /// and the primary when it serves reads.
    pub(crate) fn read_candidates(&self) -> Vec<&Server> {
        let now = Instant::now();
        let mut out: Vec<&Server> = self
            .replicas
            .iter()
            .filter(|s| s.may_serve(now, self.lag_interval))
            .collect();
        if self.primary_reads {
            out.push(&self.primary);
        }
        shuffle(&mut out);
        out
    }

    /// Every server's state, the primary first.
    pub(crate) fn status(&self) -> Vec<ServerStatus> {
        std::iter::once(&self.primary)
            .chain(&self.replicas)
            .map(Server::status)
            .collect()
    }
}

/// The replay lag of a replica, as the replica sees it: nothing when it has replayed all the WAL
/// it received while streaming (an idle primary causes no lag), else the time since the last
/// transaction it replayed was committed; unknown (the maximum) when it has replayed none.
/// A server that is not in recovery has no lag.
pub(crate) const LAG_SQL: &str = "SELECT CASE \
     WHEN NOT pg_is_in_recovery() THEN 0::float8 \
     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() \
          AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0::float8 \
     ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, \
                   'Infinity'::float8) END";

/// Seconds from [`LAG_SQL`] as a duration (negative from clock skew: none; infinite: maximum).
pub(crate) fn lag_of(seconds: f64) -> Duration {
    if seconds.is_finite() {
        Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
    } else {
        Duration::MAX
    }
}

/// Fisher–Yates with a per-call random seed (no random-number crate needed for spreading reads).
fn shuffle<T>(items: &mut [T]) {
    use std::hash::BuildHasher;
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut state = std::collections::hash_map::RandomState::new()
        .hash_one(CALLS.fetch_add(1, Ordering::Relaxed));
    for i in (1..items.len()).rev() {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let j = usize::try_from(r % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests;
