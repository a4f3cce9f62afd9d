//! Turning a TOML or serde error into "file: key (line N): reason".
//!
//! toml reports where the error is (a byte range) and why; the dotted key is found from the
//! text: the table header above the place, and the `key =` of its line (or of the nearest line
//! above it, for values spread over several lines).

use std::path::Path;

use calstore::Error;

/// The error as one sentence naming the file, the key (when one can be found), the line and the
/// reason.
pub(super) fn describe(err: &toml::de::Error, text: &str, path: &Path) -> Error {
    let reason = err
        .message()
        .trim()
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key");
    let place = err.span().map(|span| locate(text, span.start));
    let message = match place {
        Some((line, Some(key))) => format!("{}: {key} (line {line}): {reason}", path.display()),
        Some((line, None)) => format!("{}: line {line}: {reason}", path.display()),
        None => format!("{}: {reason}", path.display()),
    };
    Error::invalid(message)
}

/// The line number (from 1) of byte `at`, and the dotted key there.
pub(super) fn locate(text: &str, at: usize) -> (usize, Option<String>) {
    let at = floor_char_boundary(text, at.min(text.len()));
    let line_no = text[..at].matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().collect();
    let index = line_no - 1;
    // The table the place is in: the last header at or above its line.
    let mut header: Option<String> = None;
    let mut header_line = 0;
    for (i, line) in lines.iter().enumerate().take(index + 1) {
        if let Some(h) = header_of(line) {
            header = Some(h);
            header_line = i;
        }
    }
    // The key: of this line, or of the nearest `key =` line above it within the table.
    let mut key: Option<String> = None;
    for i in (header_line..=index.min(lines.len().saturating_sub(1))).rev() {
        let Some(line) = lines.get(i) else { break };
        if header_of(line).is_some() {
            break;
        }
        if let Some(k) = key_of(line) {
            key = Some(k);
            break;
        }
    }
    let path = match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (Some(h), None) => Some(h),
        (None, Some(k)) => Some(k),
        (None, None) => None,
    };
    (line_no, path)
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `instances.main` for `[instances.main]` or `[[instances.main]]`.
fn header_of(line: &str) -> Option<String> {
    let t = strip_comment(line).trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(inner);
    Some(normalise_key(inner))
}

/// The key of a `key = value` line.
fn key_of(line: &str) -> Option<String> {
    let t = strip_comment(line).trim();
    if t.starts_with('[') || t.starts_with('"') && !t.contains('=') {
        return None;
    }
    let (key, _) = split_outside_quotes(t, '=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| normalise_key(key))
}

/// `a . "b"` → `a.b`.
fn normalise_key(key: &str) -> String {
    key.split('.')
        .map(|p| p.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

fn strip_comment(line: &str) -> &str {
    split_outside_quotes(line, '#').map_or(line, |(before, _)| before)
}

/// Splits at the first `sep` outside single or double quotes.
fn split_outside_quotes(line: &str, sep: char) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == sep => return Some((&line[..i], &line[i + c.len_utf8()..])),
            None => {}
        }
    }
    None
}
