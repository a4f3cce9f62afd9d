//! The TLS settings of a configuration file applied to its connection strings.

use std::path::Path;

use calstore::Result;

use super::{split_tls_params, SslMode};

/// `conninfo` with `sslmode` and `sslrootcert` added where it does not give them itself (the TLS
/// settings of a configuration file are defaults for its connection strings: what a string says
/// wins).
///
/// # Errors
///
/// Invalid input when the string does not parse.
pub(crate) fn with_tls_defaults(
    conninfo: &str,
    mode: Option<SslMode>,
    root: Option<&Path>,
) -> Result<String> {
    let split = split_tls_params(conninfo)?;
    let mut add: Vec<(&str, String)> = Vec::new();
    if let (None, Some(m)) = (&split.ssl_mode, mode) {
        add.push(("sslmode", m.as_str().to_owned()));
    }
    if let (None, Some(r)) = (&split.ssl_root_cert, root) {
        add.push(("sslrootcert", r.display().to_string()));
    }
    let mut out = conninfo.trim().to_owned();
    let url = out.starts_with("postgresql://") || out.starts_with("postgres://");
    for (key, value) in add {
        if url {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(key);
            out.push('=');
            out.push_str(&percent_encode(&value));
        } else {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            out.push_str(&format!(" {key}='{quoted}'"));
        }
    }
    Ok(out)
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `/`.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
