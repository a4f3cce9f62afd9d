//! Connection strings: libpq URLs (`postgresql://user@host:5432/db?sslmode=verify-full`) and
//! keyword strings (`dbname=imip_agent host=/run/postgresql`), with libpq's environment defaults.
//!
//! `tokio_postgres::Config` parses both syntaxes but reads no `PG*` variable, connects nowhere
//! without a host, and knows neither `sslmode=verify-ca`/`verify-full` nor `sslrootcert`. So the
//! TLS keys are taken out of the string first, the rest is parsed by tokio-postgres, and the
//! defaults are applied here as libpq applies them: the string wins, then the environment, then
//! the built-in default.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use calstore::{Error, Result};
use tokio_postgres::config::Host;

use crate::pgpass;

mod defaults;

pub(crate) use defaults::with_tls_defaults;

/// The socket directory libpq uses when no host is given (Debian's build).
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// How long a connection attempt may take when neither the string nor `PGCONNECT_TIMEOUT` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// Treated as [`SslMode::Prefer`]: TLS when the server offers it (libpq would try plain first).
    Allow,
    /// TLS when the server offers it, without checking the certificate (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked (unless a root certificate is given,
    /// when it behaves as [`SslMode::VerifyCa`], as libpq does).
    Require,
    /// TLS with the server's certificate chain checked against `sslrootcert`.
    VerifyCa,
    /// As [`SslMode::VerifyCa`], and the host name must match the certificate.
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's names (`disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`).
    ///
    /// # Errors
    ///
    /// Invalid input for any other text.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(Error::invalid(format!(
                    "sslmode {text:?} is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                )))
            }
        })
    }

    /// libpq's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate chain is checked.
    pub fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// A connection string parsed, with libpq's defaults applied: everything needed to connect.
#[derive(Debug, Clone)]
pub struct ConnSettings {
    config: tokio_postgres::Config,
    ssl_mode: SslMode,
    ssl_root_cert: Option<PathBuf>,
}

impl ConnSettings {
    /// Parses a libpq URL or keyword string and applies the defaults from the process
    /// environment (`PGHOST`, `PGHOSTADDR`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGPASSFILE`,
    /// `PGDATABASE`, `PGOPTIONS`, `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGSSLMODE`, `PGSSLROOTCERT`).
    ///
    /// # Errors
    ///
    /// Invalid input when the string does not parse, names an unknown or unsupported parameter,
    /// or asks for certificate verification without a root certificate.
    pub fn parse(conninfo: &str) -> Result<Self> {
        Self::parse_with_env(conninfo, |name| std::env::var(name).ok())
    }

    /// As [`ConnSettings::parse`], reading the environment through `env` (for tests and for
    /// callers that keep their own environment).
    ///
    /// # Errors
    ///
    /// As [`ConnSettings::parse`].
    pub fn parse_with_env(conninfo: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let split = split_tls_params(conninfo)?;
        let mut config = tokio_postgres::Config::from_str(&split.rest).map_err(|e| {
            Error::invalid(format!(
                "cannot parse the PostgreSQL connection string: {e}"
            ))
        })?;

        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            if let Some(addrs) = env("PGHOSTADDR") {
                for a in addrs.split(',') {
                    let ip = a.trim().parse().map_err(|_| {
                        Error::invalid(format!("PGHOSTADDR {a:?} is not an IP address"))
                    })?;
                    config.hostaddr(ip);
                }
            }
            match env("PGHOST") {
                Some(hosts) => {
                    for h in hosts.split(',') {
                        config.host(h.trim());
                    }
                }
                None if config.get_hostaddrs().is_empty() => {
                    config.host(DEFAULT_SOCKET_DIR);
                }
                None => {}
            }
        }
        if config.get_ports().is_empty() {
            if let Some(ports) = env("PGPORT") {
                for p in ports.split(',') {
                    let port = p.trim().parse().map_err(|_| {
                        Error::invalid(format!("PGPORT {p:?} is not a port number"))
                    })?;
                    config.port(port);
                }
            }
        }
        if config.get_user().is_none() {
            let user = env("PGUSER").or_else(|| os_user(&env)).ok_or_else(|| {
                Error::invalid("no PostgreSQL user given and the operating-system user is unknown")
            })?;
            config.user(user);
        }
        if config.get_dbname().is_none() {
            let db = env("PGDATABASE")
                .or_else(|| config.get_user().map(str::to_owned))
                .unwrap_or_default();
            config.dbname(db);
        }
        if config.get_options().is_none() {
            if let Some(options) = env("PGOPTIONS") {
                config.options(options);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name(env("PGAPPNAME").unwrap_or_else(|| "calstore".to_owned()));
        }
        if config.get_connect_timeout().is_none() {
            let timeout = match env("PGCONNECT_TIMEOUT") {
                Some(t) => t
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs),
                None => Some(DEFAULT_CONNECT_TIMEOUT),
            };
            if let Some(t) = timeout {
                config.connect_timeout(t);
            }
        }
        if config.get_password().is_none() {
            if let Some(pw) = env("PGPASSWORD").or_else(|| pgpass::lookup(&config, &env)) {
                config.password(pw);
            }
        }

        let mut ssl_mode = match split.ssl_mode.or_else(|| env("PGSSLMODE")) {
            Some(m) => SslMode::parse(&m)?,
            None => SslMode::Prefer,
        };
        let explicit_root = split.ssl_root_cert.or_else(|| env("PGSSLROOTCERT"));
        if explicit_root.as_deref() == Some("system") {
            return Err(Error::invalid(
                "sslrootcert=system is not supported: give the path of a CA certificate file",
            ));
        }
        let default_root = env("HOME")
            .map(|h| Path::new(&h).join(".postgresql/root.crt"))
            .filter(|p| p.is_file());
        let ssl_root_cert = explicit_root.map(PathBuf::from).or(default_root);
        if ssl_mode == SslMode::Require && ssl_root_cert.is_some() {
            // libpq: "require" with a root certificate available behaves as "verify-ca".
            ssl_mode = SslMode::VerifyCa;
        }
        if ssl_mode.verifies() && ssl_root_cert.is_none() {
            return Err(Error::invalid(format!(
                "sslmode={} needs a root certificate: set sslrootcert (or PGSSLROOTCERT) to the \
                 CA file that signed the server's certificate",
                ssl_mode.as_str()
            )));
        }

        let only_sockets = !config.get_hosts().is_empty()
            && config.get_hostaddrs().is_empty()
            && config
                .get_hosts()
                .iter()
                .all(|h| matches!(h, Host::Unix(_)));
        config.ssl_mode(match ssl_mode {
            // libpq never uses TLS on Unix-domain sockets, whatever sslmode says.
            _ if only_sockets => tokio_postgres::config::SslMode::Disable,
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        Ok(ConnSettings {
            config,
            ssl_mode,
            ssl_root_cert,
        })
    }

    /// The tokio-postgres configuration (TLS keys removed, defaults applied).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The libpq sslmode in force (after "require with a root certificate" became "verify-ca").
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The CA certificate file used to verify the server, if any.
    pub fn ssl_root_cert(&self) -> Option<&Path> {
        self.ssl_root_cert.as_deref()
    }

    /// Whether TLS is actually attempted (never on Unix-domain sockets).
    pub fn uses_tls(&self) -> bool {
        self.config.get_ssl_mode() != tokio_postgres::config::SslMode::Disable
    }

    /// Adds `-c name=value` to the session options (for example
    /// `default_transaction_read_only=on`).
    pub fn add_session_setting(&mut self, name: &str, value: &str) {
        let setting = format!("-c {name}={value}");
        let options = match self.config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} {setting}"),
            _ => setting,
        };
        self.config.options(options);
    }

    /// The servers this names, for messages: `host db.example.com port 5432`, several joined
    /// by `, `. Never contains the password.
    pub fn target(&self) -> String {
        let ports = self.config.get_ports();
        let port = |i: usize| -> u16 {
            match ports.len() {
                0 => 5432,
                1 => ports[0],
                _ => ports.get(i).copied().unwrap_or(5432),
            }
        };
        let hosts = self.config.get_hosts();
        let mut parts = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            let name = match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            parts.push(format!("host {name} port {}", port(i)));
        }
        if hosts.is_empty() {
            for (i, a) in self.config.get_hostaddrs().iter().enumerate() {
                parts.push(format!("host {a} port {}", port(i)));
            }
        }
        parts.join(", ")
    }
}

/// A connection string with the TLS keys that tokio-postgres does not know taken out.
struct SplitConninfo {
    rest: String,
    ssl_mode: Option<String>,
    ssl_root_cert: Option<String>,
}

fn is_tls_key(key: &str) -> bool {
    matches!(key, "sslmode" | "sslrootcert")
}

fn split_tls_params(conninfo: &str) -> Result<SplitConninfo> {
    let trimmed = conninfo.trim();
    let mut out = SplitConninfo {
        rest: String::new(),
        ssl_mode: None,
        ssl_root_cert: None,
    };
    let mut take = |key: &str, value: String| match key {
        "sslmode" => out.ssl_mode = Some(value),
        _ => out.ssl_root_cert = Some(value),
    };
    if trimmed.starts_with("postgresql://") || trimmed.starts_with("postgres://") {
        let (base, query) = match trimmed.split_once('?') {
            Some((b, q)) => (b, q),
            None => (trimmed, ""),
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(k)?;
            if is_tls_key(&key) {
                take(&key, percent_decode(v)?);
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok(SplitConninfo { rest, ..out });
    }
    let mut kept = Vec::new();
    for (key, value) in keyword_pairs(trimmed)? {
        if is_tls_key(&key) {
            take(&key, value);
        } else {
            kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    Ok(SplitConninfo {
        rest: kept.join(" "),
        ..out
    })
}

/// Splits a libpq keyword string into (key, value) pairs: `key = value` separated by
/// whitespace, values optionally in single quotes, backslash escaping the next character.
fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>> {
    let bad = |why: &str| Error::invalid(format!("cannot parse the connection string: {why}"));
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(bad(&format!("missing \"=\" after {key:?}")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad(&format!("unterminated quoted value of {key:?}"))),
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid("bad percent-encoding in the connection URL"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid("the connection URL does not decode to UTF-8"))
}

/// The operating-system user name, as libpq takes it for the default PostgreSQL user.
fn os_user(env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user; reading it needs no unsafe call to geteuid.
    let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    if let (Some(uid), Ok(passwd)) = (uid, std::fs::read_to_string("/etc/passwd")) {
        for line in passwd.lines() {
            let mut fields = line.split(':');
            let (name, _, id) = (fields.next(), fields.next(), fields.next());
            if let (Some(name), Some(id)) = (name, id) {
                if id.parse::<u32>().ok() == Some(uid) {
                    return Some(name.to_owned());
                }
            }
        }
    }
    env("USER").or_else(|| env("LOGNAME"))
}

#[cfg(test)]
mod tests;
