//! The quota files of the journal: `limits` (`user-or-group TAB duration`), `groups`
//! (`user TAB group`) and `delegates` (one identity per line), keys escaped as in period lines and
//! written sorted; and the quota-wide operations: reserving within a limit and expiring usage.

use std::collections::BTreeMap;
use std::path::Path;

use calstore::duration::{format_duration, parse_duration};
use calstore::period::{check_event, escape_field, unescape};
use calstore::{Error, Group, Limits, Period, Result, User};
use chrono::Duration;

use crate::errors;

/// Splits a `key TAB value` line; the problem as text when it is not one.
fn pair(line: &str) -> Result<(String, &str), String> {
    let (key, value) = line
        .split_once('\t')
        .ok_or_else(|| "expected two TAB-separated fields".to_owned())?;
    if value.contains('\t') {
        return Err("expected two TAB-separated fields, found more".to_owned());
    }
    let key = unescape(key).map_err(|e| e.message().to_owned())?;
    Ok((key, value))
}

/// Parses `limits`; every duration must parse.
///
/// # Errors
///
/// Corrupt data naming the file and line.
pub(crate) fn parse_limits(text: &str, what: &str, path: &Path) -> Result<Limits> {
    let mut limits = Limits::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |m: &str| errors::corrupt_at(what, path, i + 1, m);
        let (key, value) = pair(line).map_err(|m| bad(&m))?;
        let group = Group::new(key).map_err(|e| bad(e.message()))?;
        parse_duration(value).map_err(|e| bad(e.message()))?;
        limits.insert(group, value.to_owned());
    }
    Ok(limits)
}

/// Writes `limits`.
pub(crate) fn format_limits(limits: &Limits) -> String {
    limits
        .iter()
        .map(|(group, duration)| format!("{}\t{duration}\n", escape_field(group.as_str())))
        .collect()
}

/// Checks the durations of limits about to be stored.
///
/// # Errors
///
/// Invalid input naming the first value that is not an iCalendar duration or has a line break.
pub(crate) fn check_limits(limits: &Limits, what: &str) -> Result<()> {
    for (group, value) in limits {
        if value.contains(['\t', '\n', '\r']) || parse_duration(value).is_err() {
            return Err(Error::invalid(format!(
                "{what}: the limit of {group} ({value:?}) is not an iCalendar duration such as PT10H"
            )));
        }
    }
    Ok(())
}

/// Parses `groups`.
///
/// # Errors
///
/// Corrupt data naming the file and line.
pub(crate) fn parse_groups(text: &str, what: &str, path: &Path) -> Result<BTreeMap<User, Group>> {
    let mut groups = BTreeMap::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |m: &str| errors::corrupt_at(what, path, i + 1, m);
        let (key, value) = pair(line).map_err(|m| bad(&m))?;
        let user = User::new(key).map_err(|e| bad(e.message()))?;
        let group = unescape(value)
            .and_then(Group::new)
            .map_err(|e| bad(e.message()))?;
        groups.insert(user, group);
    }
    Ok(groups)
}

/// Writes `groups`.
pub(crate) fn format_groups(groups: &BTreeMap<User, Group>) -> String {
    groups
        .iter()
        .map(|(user, group)| {
            format!(
                "{}\t{}\n",
                escape_field(user.as_str()),
                escape_field(group.as_str())
            )
        })
        .collect()
}

/// Parses `delegates`, sorted without repeats.
///
/// # Errors
///
/// Corrupt data naming the file and line.
pub(crate) fn parse_delegates(text: &str, what: &str, path: &Path) -> Result<Vec<User>> {
    let mut delegates = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let user = unescape(line)
            .and_then(User::new)
            .map_err(|e| errors::corrupt_at(what, path, i + 1, e.message()))?;
        delegates.push(user);
    }
    delegates.sort();
    delegates.dedup();
    Ok(delegates)
}

/// Writes `delegates`, sorted without repeats.
pub(crate) fn format_delegates(delegates: &[User]) -> String {
    let mut sorted = delegates.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|u| format!("{}\n", escape_field(u.as_str())))
        .collect()
}

/// The limit that applies to `group`: its own, else `*`; `None` means unlimited.
pub(crate) fn limit_of(limits: &Limits, group: &Group) -> Option<Duration> {
    let value = limits
        .get(group)
        .or_else(|| Group::new("*").ok().and_then(|star| limits.get(&star)))?;
    parse_duration(value).ok()
}

/// The busy time of `periods`.
fn busy_time<'a>(periods: impl Iterator<Item = &'a Period>) -> Duration {
    periods
        .filter(|p| p.is_busy())
        .fold(Duration::zero(), |sum, p| sum + (p.end - p.start))
}

/// Checks that `periods` (all of one event) fit within `limit` next to the other events'
/// periods already in `table`.
///
/// # Errors
///
/// Invalid input when the periods are not of one event; busy when the limit would be
/// exceeded.
pub(crate) fn check_within_limit(
    table: &[Period],
    periods: &[Period],
    limit: Option<Duration>,
    what: &str,
) -> Result<()> {
    let Some(first) = periods.first() else {
        return Ok(());
    };
    check_event(&first.uid, first.rid.as_ref(), periods).map_err(|e| e.context(what))?;
    let Some(limit) = limit else { return Ok(()) };
    let used = busy_time(
        table
            .iter()
            .filter(|p| !p.is_event(&first.uid, first.rid.as_ref())),
    );
    let wanted = busy_time(periods.iter());
    if used + wanted > limit {
        return Err(Error::busy(format!(
            "{what}: reserving uid {:?} needs {} but only {} of the limit {} is left; nothing was written",
            first.uid.as_str(),
            format_duration(wanted),
            format_duration((limit - used).max(Duration::zero())),
            format_duration(limit)
        )));
    }
    Ok(())
}
