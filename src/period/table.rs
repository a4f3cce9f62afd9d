//! The sorted table operations both backends share: a table is a `Vec<Period>` in period order
//! with no repeated identity.

use chrono::{DateTime, Duration, Utc};

use super::Period;
use crate::error::{Error, Result};
use crate::id::{rid_text, Rid, Uid};

/// Sorts periods into table order and drops repeated identities (the first one given is kept).
pub fn normalise(mut periods: Vec<Period>) -> Vec<Period> {
    periods.sort(); // stable: among equal keys the first given stays first
    periods.dedup();
    periods
}

/// Inserts a period into a sorted table; an identical identity already there is kept unchanged.
/// Returns whether the period was added.
pub fn insert(table: &mut Vec<Period>, period: Period) -> bool {
    match table.binary_search(&period) {
        Ok(_) => false,
        Err(i) => {
            table.insert(i, period);
            true
        }
    }
}

/// Removes every period of (uid, rid); returns how many were removed.
pub fn remove_event(table: &mut Vec<Period>, uid: &Uid, rid: Option<&Rid>) -> usize {
    let before = table.len();
    table.retain(|p| !p.is_event(uid, rid));
    before - table.len()
}

/// Replaces the contribution of (uid, rid): removes its periods, inserts `periods` (which must all
/// belong to that event). Returns the number removed.
///
/// # Errors
///
/// Invalid input when a given period belongs to another event or is itself invalid.
pub fn replace_event(
    table: &mut Vec<Period>,
    uid: &Uid,
    rid: Option<&Rid>,
    periods: Vec<Period>,
) -> Result<usize> {
    check_event(uid, rid, &periods)?;
    let removed = remove_event(table, uid, rid);
    merge(table, periods);
    Ok(removed)
}

/// Checks that every period is valid and belongs to (uid, rid).
///
/// # Errors
///
/// Invalid input naming the first period that does not.
pub fn check_event(uid: &Uid, rid: Option<&Rid>, periods: &[Period]) -> Result<()> {
    for p in periods {
        p.validate()?;
        if !p.is_event(uid, rid) {
            return Err(Error::invalid(format!(
                "period {p} does not belong to uid {:?} rid {:?}",
                uid.as_str(),
                rid_text(rid)
            )));
        }
    }
    Ok(())
}

/// Checks that every period is valid and belongs to one of `uids` (naming the uid when there is
/// only one).
///
/// # Errors
///
/// Invalid input naming the first period that does not.
pub fn check_uids(uids: &[Uid], periods: &[Period]) -> Result<()> {
    let set: std::collections::HashSet<&Uid> = uids.iter().collect();
    for p in periods {
        p.validate()?;
        if !set.contains(&p.uid) {
            return Err(match uids {
                [uid] => Error::invalid(format!(
                    "period {p} does not belong to uid {:?}",
                    uid.as_str()
                )),
                _ => Error::invalid(format!(
                    "period {p} belongs to none of the {} uids being replaced",
                    uids.len()
                )),
            });
        }
    }
    Ok(())
}

/// Merges periods into a sorted table, keeping identities already present.
pub fn merge(table: &mut Vec<Period>, periods: Vec<Period>) {
    if periods.is_empty() {
        return;
    }
    let mut incoming = normalise(periods);
    incoming.retain(|p| table.binary_search(p).is_err());
    table.extend(incoming);
    table.sort();
}

/// Removes the instance periods of `uid` whose rid is not in `keep` (the parent's stay).
pub fn remove_additional(table: &mut Vec<Period>, uid: &Uid, keep: &[Rid]) -> usize {
    let before = table.len();
    table.retain(|p| !(&p.uid == uid && p.rid.as_ref().is_some_and(|r| !keep.contains(r))));
    before - table.len()
}

/// Removes the parent's (rule-generated) period of `uid` that starts at `start`: the occurrence that
/// a separately stored instance replaces. Returns whether one was removed.
pub fn remove_affected(table: &mut Vec<Period>, uid: &Uid, start: DateTime<Utc>) -> bool {
    let from = table.partition_point(|p| p.start < start);
    let found = table[from..]
        .iter()
        .take_while(|p| p.start == start)
        .position(|p| &p.uid == uid && p.rid.is_none());
    match found {
        Some(i) => {
            table.remove(from + i);
            true
        }
        None => false,
    }
}

/// The longest duration in a table (how far back an overlap search must look).
pub fn max_duration(table: &[Period]) -> Duration {
    table
        .iter()
        .map(|p| p.end - p.start)
        .max()
        .unwrap_or_else(Duration::zero)
}

/// The periods of a sorted table that overlap [start, end), found by binary search: only periods
/// starting within `longest` before `start` can reach into the range, so the cost is
/// O(log n + k + periods inspected in that margin).
pub fn overlapping(
    table: &[Period],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    longest: Duration,
) -> Vec<Period> {
    let from = table.partition_point(|p| p.start < start - longest);
    let to = table.partition_point(|p| p.start < end);
    table[from..to.max(from)]
        .iter()
        .filter(|p| p.overlaps(start, end))
        .cloned()
        .collect()
}

/// The busy periods of `table` that overlap a busy candidate and belong to another event.
pub fn conflicts(table: &[Period], candidates: &[Period]) -> Vec<Period> {
    let longest = max_duration(table);
    let mut found: Vec<Period> = Vec::new();
    for c in candidates.iter().filter(|c| c.is_busy()) {
        for p in overlapping(table, c.start, c.end, longest) {
            if p.is_busy() && !p.is_event(&c.uid, c.rid.as_ref()) {
                found.push(p);
            }
        }
    }
    normalise(found)
}

/// Whether the candidates can be inserted with at most `capacity` simultaneous busy periods of
/// other events at any instant (capacity 1: no overlap at all). Returns the offending periods when
/// they cannot.
pub fn capacity_conflicts(table: &[Period], candidates: &[Period], capacity: usize) -> Vec<Period> {
    let capacity = capacity.max(1);
    let longest = max_duration(table);
    let mut offending = Vec::new();
    for c in candidates.iter().filter(|c| c.is_busy()) {
        let others: Vec<Period> = overlapping(table, c.start, c.end, longest)
            .into_iter()
            .filter(|p| p.is_busy() && !p.is_event(&c.uid, c.rid.as_ref()))
            .collect();
        if others.len() < capacity {
            continue;
        }
        // Sweep the overlapping periods, clipped to the candidate, for the peak count.
        let mut edges: Vec<(DateTime<Utc>, i32)> = Vec::with_capacity(others.len() * 2);
        for p in &others {
            edges.push((p.start.max(c.start), 1));
            edges.push((p.end.min(c.end), -1));
        }
        edges.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut now, mut peak) = (0i32, 0i32);
        for (_, d) in edges {
            now += d;
            peak = peak.max(now);
        }

        if usize::try_from(peak).unwrap_or(0) >= capacity {
            offending.extend(others);
        }
    }
    normalise(offending)
}

/// Merges overlapping and adjacent busy periods into (start, end) spans, in order.
pub fn coalesce(table: &[Period]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = table
        .iter()
        .filter(|p| p.is_busy())
        .map(|p| (p.start, p.end))
        .collect();
    spans.sort();
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The free gaps between busy periods within [start, end).
pub fn invert(
    table: &[Period],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut free = Vec::new();
    let mut cursor = start;
    for (s, e) in coalesce(table) {
        if e <= cursor {
            continue;
        }
        if s >= end {
            break;
        }
        if s > cursor {
            free.push((cursor, s));
        }
        cursor = cursor.max(e);
    }
    if cursor < end {
        free.push((cursor, end));
    }
    free
}
