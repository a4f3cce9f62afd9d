//! libpq's password file (`~/.pgpass` or `PGPASSFILE`): `host:port:database:user:password`
//! lines, `*` matching anything, `\:` and `\\` escaping, `#` starting a comment.

use std::path::PathBuf;

use tokio_postgres::config::Host;

use crate::conninfo::DEFAULT_SOCKET_DIR;

/// The password for the first host of `config`, if the password file has one.
pub(crate) fn lookup(
    config: &tokio_postgres::Config,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    {
        use std::os::unix::fs::PermissionsExt;
        // libpq ignores a password file that others may read; so do we.
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; ignoring it (chmod 0600)",
                path.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // A socket in the default directory matches "localhost", as in libpq.
        Some(Host::Unix(p)) if p.as_os_str() == DEFAULT_SOCKET_DIR => "localhost".to_owned(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => config
            .get_hostaddrs()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    find(&text, [&host, &port, db, user])
}

/// The password of the first line whose four fields match `wanted`.
pub(crate) fn find(text: &str, wanted: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() < 5 {
            continue;
        }
        if fields
            .iter()
            .zip(wanted)
            .all(|(field, want)| field == "*" || field == want)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.example.com:5432:imip:agent:s3cret\n\
                    *:*:*:reader:pa\\:ss\n";
        assert_eq!(
            find(text, ["db.example.com", "5432", "imip", "agent"]).as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            find(text, ["other", "1", "x", "reader"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(find(text, ["other", "1", "x", "agent"]), None);
    }
}
