//! Which stored instances replace which occurrences of their series: by RECURRENCE-ID, by
//! instant, and by the day of an Outlook midnight RECURRENCE-ID; and which older instances a
//! newer series no longer has.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{occurrences, ExpandOptions};
use crate::error::Result;
use crate::id::Rid;
use crate::object::EventObject;
use crate::store::EventStatus;

/// The instances that a newer series no longer has: an instance with a lower SEQUENCE than
/// the parent whose RECURRENCE-ID is no occurrence of the parent any more (an EXDATE, an earlier
/// UNTIL, a new rule), by rid or by instant. Instances past the window of a rule without end
/// are kept (their occurrence was not generated), and so are instances as new as the parent
/// (RFC 5546 ADD adds instances the rule does not have).
pub(super) fn dropped_instances(
    parent: Option<&EventObject>,
    instances: &[(EventObject, EventStatus)],
    opts: &ExpandOptions,
) -> Result<HashSet<Rid>> {
    let mut dropped = HashSet::new();
    let Some(p) = parent else {
        return Ok(dropped);
    };
    if !instances.iter().any(|(i, _)| i.sequence() < p.sequence()) {
        return Ok(dropped);
    }
    let generated = occurrences(p, opts)?;
    let rids: HashSet<&Rid> = generated.list.iter().map(|o| &o.rid).collect();
    let starts: HashSet<DateTime<Utc>> = generated.list.iter().map(|o| o.start).collect();
    for (inst, _) in instances
        .iter()
        .filter(|(i, _)| i.sequence() < p.sequence())
    {
        let Some(r) = inst.rid() else { continue };
        // A copy of an older version of the series, made only to hold an answer for one
        // instance, is that version: the newer series replaces it wherever the instance is.
        if is_series_copy(inst) {
            dropped.insert(r.clone());
            continue;
        }
        let at = r.instant(&opts.tz);
        let beyond = generated.windowed && at >= opts.window_end;
        let found = instance_keys(inst).iter().any(|k| rids.contains(k)) || starts.contains(&at);
        if !beyond && !found {
            dropped.insert(r.clone());
        }
    }
    Ok(dropped)
}

/// The property that marks an instance stored as a copy of its series at that occurrence (an
/// answer for one instance the organiser never sent on its own: the attendee's own answer, or a
/// REPLY the organiser records), rather than an instance its organiser sent.
pub(crate) const SERIES_COPY: &str = "X-CALSTORE-SERIES-COPY";

/// Whether the instance is a copy of its series ([`SERIES_COPY`]).
pub(crate) fn is_series_copy(inst: &EventObject) -> bool {
    let n = SERIES_COPY.len();
    inst.text().lines().any(|l| {
        l.get(..n)
            .is_some_and(|h| h.eq_ignore_ascii_case(SERIES_COPY))
            && l.get(n..).is_some_and(|t| t.starts_with(':'))
    })
}

/// `text` (one VEVENT) marked as a copy of its series ([`SERIES_COPY`]); unchanged when it is
/// marked already.
pub(crate) fn mark_series_copy(text: &str) -> String {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let n = SERIES_COPY.len();
    if text.lines().any(|l| {
        l.get(..n)
            .is_some_and(|h| h.eq_ignore_ascii_case(SERIES_COPY))
            && l.get(n..).is_some_and(|t| t.starts_with(':'))
    }) {
        return text.to_owned();
    }
    match text.find("END:VEVENT") {
        Some(i) => format!("{}{SERIES_COPY}:TRUE{eol}{}", &text[..i], &text[i..]),
        None => text.to_owned(),
    }
}

/// The occurrence keys an instance replaces: its RECURRENCE-ID, and for a midnight date-time
/// (what Outlook writes for an instance of an all-day series, in its own zone) also that date,
/// so that it replaces the all-day occurrence of that day (MS-STANOICAL).
pub(super) fn instance_keys(inst: &EventObject) -> Vec<Rid> {
    let mut keys: Vec<Rid> = inst.rid().cloned().into_iter().collect();
    if let Some(v) = inst.recurrence_id() {
        let wall = v.wall();
        if !v.is_date() && wall.time() == chrono::NaiveTime::MIN {
            keys.push(Rid::from_date(wall.date()));
        }
    }
    keys
}
