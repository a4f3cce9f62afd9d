//! RECURRENCE-ID;RANGE=THISANDFUTURE: a changed instance that moves and reshapes every later
//! occurrence of the parent (RFC 5545 §3.2.13, §3.8.4.4; docs/recurrence.md).

use chrono::{DateTime, Datelike, Duration, Utc};

use super::{ExpandOptions, Occurrence, Span, LAST_INSTANT, LAST_YEAR};
use crate::error::Result;
use crate::id::User;
use crate::object::{EventObject, TimeValue};
use crate::store::EventStatus;

/// A stored instance with `RECURRENCE-ID;RANGE=THISANDFUTURE`: every later occurrence of the
/// parent moves by the instance's shift and takes its duration (RFC 5545 §3.8.4.4).
pub(super) struct Future<'a> {
    /// The instant of the RECURRENCE-ID: occurrences after it are changed.
    pub(super) from: DateTime<Utc>,
    /// The instance, its shift and its span; `None` when it is cancelled or does not count for
    /// the user, so that the later occurrences are gone too.
    pub(super) change: Option<(&'a EventObject, Shift, Span)>,
}

/// How far a THISANDFUTURE instance moved its start.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shift {
    /// In wall-clock time (both the RECURRENCE-ID and the new DTSTART floating or dates).
    Wall(Duration),
    /// In absolute time, applied to the wall-clock time of each occurrence (as
    /// recurring-ical-events does with zoned times).
    Exact(Duration),
}

impl Shift {
    fn of(rid: &TimeValue, start: &TimeValue, opts: &ExpandOptions) -> Result<Shift> {
        let zoned = |t: &TimeValue| matches!(t, TimeValue::Zoned(..) | TimeValue::Utc(_));
        Ok(if zoned(rid) || zoned(start) {
            Shift::Exact(start.to_utc(&opts.tz)? - rid.to_utc(&opts.tz)?)
        } else {
            Shift::Wall(start.wall() - rid.wall())
        })
    }

    /// The occurrence's new start value and instant.
    pub(super) fn apply(
        &self,
        occ: &Occurrence,
        opts: &ExpandOptions,
    ) -> Result<(TimeValue, DateTime<Utc>)> {
        let (Shift::Wall(d) | Shift::Exact(d)) = *self;
        match occ.value.wall().checked_add_signed(d) {
            Some(w) if w.year() <= LAST_YEAR => {
                let v = if occ.value.is_date() && w.time() != chrono::NaiveTime::MIN {
                    // A date moved by part of a day: keep the day (all-day stays all-day).
                    occ.value.clone()
                } else {
                    occ.value.with_wall(w)
                };
                let start = v.to_utc(&opts.tz)?;
                Ok((v, start))
            }
            _ => Ok((occ.value.clone(), LAST_INSTANT)),
        }
    }
}

/// The parent's THISANDFUTURE instances, in order of their RECURRENCE-ID.
pub(super) fn this_and_future<'a>(
    parent: &EventObject,
    instances: &'a [(EventObject, EventStatus)],
    user: &User,
    opts: &ExpandOptions,
) -> Result<Vec<Future<'a>>> {
    let mut out = Vec::new();
    for (inst, status) in instances {
        let Some(rid) = inst.recurrence_id().filter(|_| inst.is_this_and_future()) else {
            continue;
        };
        let from = rid.to_utc(&opts.tz)?;
        let live = *status == EventStatus::Active
            && !inst.is_cancelled()
            && inst.counts_for(user, opts.needs_action);
        let change = if live {
            let (shift, span) = match inst.dtstart() {
                Some(s) => (Shift::of(rid, s, opts)?, Span::of(inst, opts)?),
                None => (Shift::Exact(Duration::zero()), Span::of(parent, opts)?),
            };
            Some((inst, shift, span))
        } else {
            None
        };
        out.push(Future { from, change });
    }
    out.sort_by_key(|f| f.from);
    Ok(out)
}
