//! The providers file, `freebusy-providers`: the first line is the window end
//! (`YYYYMMDDTHHMMSSZ`, an empty line when none), then one `uid TAB rid` line per event that recurs
//! without end (uid escaped as in period lines, rid empty for a parent), sorted. Versioned like a
//! period table.

use std::path::Path;

use calstore::id::{parse_rid_text, rid_text};
use calstore::period::{escape_field, format_instant, unescape};
use calstore::{Providers, Result, Uid, Version, Versioned};

use crate::atomic;
use crate::errors;
use crate::line::instant;
use crate::options::Settings;
use crate::version;

/// Parses the providers file's text.
///
/// # Errors
///
/// Corrupt data naming the file and line of a line that does not parse.
pub(crate) fn parse(text: &str, what: &str, path: &Path) -> Result<Providers> {
    let mut lines = text.split('\n');
    let window_end = match lines.next().unwrap_or("") {
        "" => None,
        first => Some(instant(first).ok_or_else(|| {
            errors::corrupt_at(
                what,
                path,
                1,
                &format!("window end {first:?} is not an instant"),
            )
        })?),
    };
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |m: &str| errors::corrupt_at(what, path, i + 2, m);
        let (uid, rid) = line.split_once('\t').unwrap_or((line, ""));
        if rid.contains('\t') {
            return Err(bad("expected uid TAB rid"));
        }
        let uid = unescape(uid)
            .and_then(Uid::new)
            .map_err(|e| bad(&format!("uid: {}", e.message())))?;
        let rid = parse_rid_text(rid).map_err(|e| bad(&format!("rid: {}", e.message())))?;
        events.push((uid, rid));
    }
    events.sort();
    events.dedup();
    Ok(Providers { window_end, events })
}

/// Writes the providers as text.
pub(crate) fn format(providers: &Providers) -> String {
    let mut events = providers.events.clone();
    events.sort();
    events.dedup();
    let mut out = providers.window_end.map(format_instant).unwrap_or_default();
    out.push('\n');
    for (uid, rid) in &events {
        out.push_str(&escape_field(uid.as_str()));
        out.push('\t');
        out.push_str(rid_text(rid.as_ref()));
        out.push('\n');
    }
    out
}

/// Reads the providers file at `path` (empty providers, `Version(0)`, when missing).
///
/// # Errors
///
/// Corrupt data; the I/O errors.
pub(crate) fn read(path: &Path, what: &str) -> Result<Versioned<Providers>> {
    Ok(match atomic::read_optional(path, what)? {
        Some((text, version)) => Versioned {
            value: parse(&text, what, path)?,
            version,
        },
        None => Versioned {
            value: Providers::default(),
            version: Version(0),
        },
    })
}

/// Replaces the providers file (empty providers remove it); the caller holds the exclusive lock.
///
/// # Errors
///
/// Stale when `expect` is stale; the I/O errors.
pub(crate) fn write(
    path: &Path,
    providers: &Providers,
    expect: Option<Version>,
    settings: &Settings,
    what: &str,
) -> Result<Version> {
    let current = version::of_path(path, what)?;
    version::check(expect, current, what)?;
    if providers.window_end.is_none() && providers.events.is_empty() {
        atomic::remove_file(path, what)?;
        return Ok(Version(0));
    }
    atomic::write_file(
        path,
        format(providers).as_bytes(),
        Some(current),
        settings.modes,
        what,
    )
}

/// Applies a [`calstore::Change::MarkProviders`] (marks and a lowered window end, by
/// [`calstore::store::providers_after`]), rewriting the file only when it changes; the caller
/// holds the exclusive lock. Returns whether it changed.
///
/// # Errors
///
/// Corrupt data; the I/O errors.
pub(crate) fn change(
    path: &Path,
    marks: &[(Uid, bool)],
    horizon: Option<chrono::DateTime<chrono::Utc>>,
    settings: &Settings,
    what: &str,
) -> Result<bool> {
    settings.writable(what, "changing the providers")?;
    let current = read(path, what)?;
    let next = calstore::store::providers_after(&current.value, marks, horizon);
    if next == current.value {
        return Ok(false);
    }
    write(path, &next, Some(current.version), settings, what)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_round_trip_and_report_their_line() {
        let path = Path::new("freebusy-providers");
        let text = "20260415T000000Z\nb\t20260105T090000Z\na\t\n";
        let p = parse(text, "test", path).unwrap();
        assert_eq!(format(&p), "20260415T000000Z\na\t\nb\t20260105T090000Z\n");
        assert_eq!(parse("", "test", path).unwrap(), Providers::default());
        assert_eq!(parse("\n", "test", path).unwrap(), Providers::default());
        let err = parse("soon\n", "test", path).unwrap_err();
        assert!(err.to_string().contains("freebusy-providers:1:"), "{err}");
        let err = parse("\na\tb\tc\n", "test", path).unwrap_err();
        assert!(err.to_string().contains("freebusy-providers:2:"), "{err}");
    }
}
