//! Recurrence expansion: from a parent event, its separately stored instances, RRULE, RDATE and
//! EXDATE to the free/busy periods of one user (pure code; STORE.md, "Windows and providers").
//!
//! Rules are expanded in wall-clock time (see [`crate::object::Rule`]): a zoned event keeps its
//! local time across DST changes, and floating and all-day events are placed in the user's zone
//! ([`ExpandOptions::tz`]), never the machine's. Local times in a DST gap or repeated hour follow
//! RFC 5545 ([`crate::period::resolve_local`]). `docs/recurrence.md` explains the choices.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::error::{Error, Result};
use crate::id::{Rid, User};
use crate::object::{
    EventObject, NominalDuration, PeriodEnd, RDate, Rule, TimeValue, Until, STEP_BUDGET,
};
use crate::period::{self, Period};
use crate::store::EventStatus;

/// At most this many occurrences of one rule are kept. A rule with COUNT or UNTIL that has more
/// is treated like a rule without end: cut at the window end, and reported as unbounded. Within a
/// window, only the latest this many are kept.
pub const MAX_OCCURRENCES: usize = 50_000;

/// At most this many occurrences of one rule are examined before the window end (a bound on
/// time for rules that repeat every second or minute): an event whose rule needs more is refused
/// with an error naming its UID, never cut silently (issue 13).
pub const MAX_STEPS: usize = 200_000;

/// How to expand: the user's zone, the window end for rules without end, and whether events
/// awaiting the user's answer count.
#[derive(Debug, Clone, Copy)]
pub struct ExpandOptions {
    /// The user's time zone, for floating and all-day times.
    pub tz: chrono_tz::Tz,
    /// Occurrences of rules without end are generated only when they start before this instant.
    pub window_end: DateTime<Utc>,
    /// Whether NEEDS-ACTION (or a missing PARTSTAT) counts as busy.
    pub needs_action: bool,
}

/// The result of [`expand`].
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    /// The periods in table order ([`period::normalise`]).
    pub periods: Vec<Period>,
    /// True when the parent's occurrences were generated only up to the window end: its RRULE
    /// has neither COUNT nor UNTIL, or has more than [`MAX_OCCURRENCES`] occurrences. A later
    /// window end can then add periods, so the event belongs in the providers table. False when
    /// the parent does not count for the user (nothing of it was generated).
    pub unbounded: bool,
}

/// The free/busy periods of one event for `user`: the parent's occurrences (rid `None`) except
/// those replaced by a stored instance (active or cancelled: a cancelled instance removes its
/// occurrence) and EXDATEs, plus one period per active instance (rid `Some(its rid)`, its own
/// times, summary and FBTYPE), all in table order ([`period::normalise`]).
///
/// Nothing comes from an object that does not count for the user
/// ([`EventObject::counts_for`]) or has STATUS:CANCELLED; a cancelled parent (STATUS:CANCELLED)
/// cancels the whole event, instances included. Instances that do not count (their own PARTSTAT)
/// contribute nothing but still remove the occurrence they replace.
///
/// Durations: DTEND gives every occurrence the exact length DTEND − DTSTART (RFC 5545 §3.8.5.3);
/// DURATION is nominal (`P1D` keeps the local time across a DST change); all-day events without
/// an end last one day, date-time events without an end have zero length. All-day periods run
/// from midnight to midnight in the user's zone.
///
/// # Errors
///
/// Invalid input when the objects do not belong together: an instance of another UID or without
/// RECURRENCE-ID, a parent with a RECURRENCE-ID; or when a local time has no instant.
pub fn expand(
    user: &User,
    parent: Option<&EventObject>,
    instances: &[(EventObject, EventStatus)],
    opts: &ExpandOptions,
) -> Result<Expansion> {
    check_together(parent, instances)?;
    if parent.is_some_and(EventObject::is_cancelled) {
        return Ok(Expansion::default());
    }
    let mut periods = Vec::new();
    let mut unbounded = false;
    let dropped = dropped_instances(parent, instances, opts)?;
    // A dropped instance replaces nothing: the occurrence, if the series still has it, is the
    // series'.
    let replacing = || {
        instances
            .iter()
            .filter(|(i, _)| !i.rid().is_some_and(|r| dropped.contains(r)))
    };

    if let Some(p) = parent.filter(|p| p.counts_for(user, opts.needs_action)) {
        let generated = occurrences(p, opts)?;
        unbounded = generated.windowed;
        let replaced_rids: HashSet<Rid> = replacing().flat_map(|(i, _)| instance_keys(i)).collect();
        let replaced_instants: HashSet<DateTime<Utc>> = replacing()
            .filter_map(|(i, _)| i.rid())
            .map(|r| r.instant(&opts.tz))
            .collect();
        let futures = future::this_and_future(p, instances, user, opts)?;
        for occ in generated.list {
            if replaced_rids.contains(&occ.rid) || replaced_instants.contains(&occ.start) {
                continue;
            }
            // The latest THISANDFUTURE change before this occurrence reshapes it.
            match futures.iter().rev().find(|f| f.from < occ.start) {
                None => periods.push(make_period(p, (occ.start, occ.end), None, user, opts)),
                Some(f) => {
                    if let Some((obj, shift, span)) = &f.change {
                        let (value, start) = shift.apply(&occ, opts)?;
                        let end = span.end(&value, start, opts)?;
                        periods.push(make_period(obj, (start, end), None, user, opts));
                    }
                }
            }
        }
    }

    let parent_span = match parent {
        Some(p) => Some(Span::of(p, opts)?),
        None => None,
    };
    for (inst, status) in instances {
        if *status != EventStatus::Active
            || inst.rid().is_some_and(|r| dropped.contains(r))
            || inst.is_cancelled()
            || !inst.counts_for(user, opts.needs_action)
        {
            continue;
        }
        // An instance normally has its own DTSTART; without one it keeps the time it replaces.
        let (start_value, span) = match (inst.dtstart(), inst.recurrence_id()) {
            (Some(s), _) => (s.clone(), Span::of(inst, opts)?),
            (None, Some(r)) => (
                r.clone(),
                parent_span.clone().unwrap_or(Span::default_for(r)),
            ),
            (None, None) => continue,
        };
        let start = start_value.to_utc(&opts.tz)?;
        let end = span.end(&start_value, start, opts)?;
        periods.push(make_period(
            inst,
            (start, end),
            inst.rid().cloned(),
            user,
            opts,
        ));
    }
    Ok(Expansion {
        periods: period::normalise(periods),
        unbounded,
    })
}

fn check_together(
    parent: Option<&EventObject>,
    instances: &[(EventObject, EventStatus)],
) -> Result<()> {
    if let Some(p) = parent {
        if let Some(rid) = p.rid() {
            return Err(Error::invalid(format!(
                "the parent of uid {:?} has a RECURRENCE-ID ({rid})",
                p.uid().as_str()
            )));
        }
    }
    let uid = parent
        .map(EventObject::uid)
        .or_else(|| instances.first().map(|(i, _)| i.uid()));
    for (inst, _) in instances {
        if Some(inst.uid()) != uid {
            return Err(Error::invalid(format!(
                "instance of uid {:?} expanded with uid {:?}",
                inst.uid().as_str(),
                uid.map_or("", |u| u.as_str())
            )));
        }
        if inst.rid().is_none() {
            return Err(Error::invalid(format!(
                "an instance of uid {:?} has no RECURRENCE-ID",
                inst.uid().as_str()
            )));
        }
    }
    Ok(())
}

/// One period of `obj`; its FBTYPE is the busy rule's for `user` ([`EventObject::fbtype_for`]),
/// so that the table keeps BUSY-TENTATIVE and BUSY-UNAVAILABLE, not only busy or free.
fn make_period(
    obj: &EventObject,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    rid: Option<Rid>,
    user: &User,
    opts: &ExpandOptions,
) -> Period {
    Period {
        start,
        end: end.max(start),
        uid: obj.uid().clone(),
        rid,
        fbtype: obj.fbtype_for(user, opts.needs_action),
        summary: obj.summary().map(crate::period::cap_period_text),
        organiser: obj.organizer().map(crate::period::cap_period_text),
        expiry: None,
        attendee: None,
    }
}

/// How an occurrence's end follows from its start.
#[derive(Debug, Clone)]
enum Span {
    /// DTEND − DTSTART, exact.
    Exact(Duration),
    /// Whole days of an all-day event (midnight to midnight in the user's zone).
    Days(i64),
    /// DURATION: nominal days then exact seconds.
    Nominal(NominalDuration),
}

impl Span {
    fn of(obj: &EventObject, opts: &ExpandOptions) -> Result<Span> {
        let Some(start) = obj.dtstart() else {
            return Ok(match obj.recurrence_id() {
                Some(r) => Span::default_for(r),
                None => Span::Exact(Duration::zero()),
            });
        };
        Ok(match (obj.dtend(), obj.duration()) {
            (Some(TimeValue::Date(end)), _) if start.is_date() => {
                Span::Days((*end - start.wall().date()).num_days())
            }
            (Some(end), _) => Span::Exact(end.to_utc(&opts.tz)? - start.to_utc(&opts.tz)?),
            (None, Some(d)) => Span::Nominal(d),
            (None, None) => Span::default_for(start),
        })
    }

    /// RFC 5545 §3.6.1: a date without end lasts one day, a date-time without end no time.
    fn default_for(start: &TimeValue) -> Span {
        if start.is_date() {
            Span::Days(1)
        } else {
            Span::Exact(Duration::zero())
        }
    }

    fn end(
        &self,
        start_value: &TimeValue,
        start: DateTime<Utc>,
        opts: &ExpandOptions,
    ) -> Result<DateTime<Utc>> {
        let end = match self {
            Span::Exact(d) => add_exact(start, *d),
            Span::Days(n) => match start_value {
                TimeValue::Date(d) => match add_days(*d, *n) {
                    Some(day) => TimeValue::Date(day).to_utc(&opts.tz)?,
                    None => LAST_INSTANT,
                },
                _ => add_exact(start, Duration::try_days(*n).unwrap_or(Duration::MAX)),
            },
            Span::Nominal(d) => {
                let moved = match start_value {
                    TimeValue::Date(day) => add_days(*day, d.days).map(TimeValue::Date),
                    other => Duration::try_days(d.days)
                        .and_then(|n| other.wall().checked_add_signed(n))
                        .map(|w| other.with_wall(w)),
                };
                match moved.filter(|m| m.wall().year() <= LAST_YEAR) {
                    Some(m) => add_exact(
                        m.to_utc(&opts.tz)?,
                        Duration::try_seconds(d.seconds).unwrap_or(Duration::MAX),
                    ),
                    None => LAST_INSTANT,
                }
            }
        };
        Ok(end.max(start))
    }
}

/// The last instant iCalendar can write (9999-12-31T23:59:59Z): an end beyond it (a DURATION of
/// a hundred million weeks) is clamped to it rather than overflowing (issue 13).
pub const LAST_INSTANT: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => match d.and_hms_opt(23, 59, 59) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MAX_UTC,
    },
    None => DateTime::<Utc>::MAX_UTC,
};

const LAST_YEAR: i32 = 9999;

/// `t + d`, clamped to [`LAST_INSTANT`] (never an overflow).
fn add_exact(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d)
        .map_or(LAST_INSTANT, |e| e.min(LAST_INSTANT))
}

fn add_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    d.checked_add_signed(Duration::try_days(n)?)
        .filter(|day| day.year() <= LAST_YEAR)
}

/// One generated occurrence of the parent.
#[derive(Debug)]
struct Occurrence {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rid: Rid,
    /// The start as a value in the event's own frame (to move it by a THISANDFUTURE change).
    value: TimeValue,
}

struct Generated {
    list: Vec<Occurrence>,
    windowed: bool,
}

/// The parent's occurrences: DTSTART, the RRULE's, the RDATEs, less the EXDATEs, in order.
fn occurrences(p: &EventObject, opts: &ExpandOptions) -> Result<Generated> {
    let Some(first) = p.dtstart() else {
        return Ok(Generated {
            list: Vec::new(),
            windowed: false,
        });
    };
    let span = Span::of(p, opts)?;
    let tz = &opts.tz;
    let make = |value: &TimeValue| -> Result<Occurrence> {
        let start = value.to_utc(tz)?;
        Ok(Occurrence {
            start,
            end: span.end(value, start, opts)?,
            rid: value.rid()?,
            value: value.clone(),
        })
    };

    let mut list: Vec<Occurrence> = Vec::new();
    let mut windowed = false;
    if p.rules().is_empty() {
        list.push(make(first)?);
    }
    // One step budget for all the event's RRULEs: several rules must not multiply the work.
    let mut steps = 0usize;
    let mut budget = STEP_BUDGET;
    for rule in p.rules() {
        let (occs, w) = rule_occurrences(p, rule, first, &make, opts, &mut steps, &mut budget)?;
        windowed |= w;
        list.extend(occs);
    }
    if p.rules().len() > 1 {
        // Several RRULEs (RFC 2445): their union, each occurrence once, at most
        // MAX_OCCURRENCES of them (the latest, as for one rule).
        list.sort_by_key(|o| o.start);
        list.dedup_by(|a, b| a.start == b.start || a.rid == b.rid);
        if list.len() > MAX_OCCURRENCES {
            windowed = true;
            list.retain(|o| o.start < opts.window_end);
            let excess = list.len().saturating_sub(MAX_OCCURRENCES);
            list.drain(..excess);
        }
    }
    for rdate in p.rdates() {
        let occ = match rdate {
            RDate::Time(t) => make(t)?,
            RDate::Period { start, end } => {
                let begin = start.to_utc(tz)?;
                let finish = match end {
                    PeriodEnd::Time(e) => e.to_utc(tz)?,
                    PeriodEnd::Duration(d) => Span::Nominal(*d).end(start, begin, opts)?,
                };
                Occurrence {
                    start: begin,
                    end: finish.max(begin),
                    rid: start.rid()?,
                    value: start.clone(),
                }
            }
        };
        if !list
            .iter()
            .any(|o| o.rid == occ.rid || o.start == occ.start)
        {
            list.push(occ);
        }
    }
    if !p.exdates().is_empty() {
        let mut rids = HashSet::new();
        let mut instants = HashSet::new();
        let mut days = HashSet::new();
        for ex in p.exdates() {
            rids.insert(ex.rid()?);
            instants.insert(ex.to_utc(tz)?);
            if let TimeValue::Date(d) = ex {
                if !first.is_date() {
                    // A DATE exception of a date-time event removes that day's occurrences.
                    days.insert(*d);
                }
            }
        }
        list.retain(|o| {
            !(rids.contains(&o.rid)
                || instants.contains(&o.start)
                || !days.is_empty() && days.contains(&local_day(o, first, tz)))
        });
    }
    list.sort_by_key(|o| o.start);
    Ok(Generated { list, windowed })
}

/// The occurrences of one RRULE (DTSTART first), UNTIL, the window and the caps applied, and
/// whether they were cut at the window end.
fn rule_occurrences(
    p: &EventObject,
    rule: &Rule,
    first: &TimeValue,
    make: &dyn Fn(&TimeValue) -> Result<Occurrence>,
    opts: &ExpandOptions,
    steps: &mut usize,
    budget: &mut u64,
) -> Result<(VecDeque<Occurrence>, bool)> {
    let tz = &opts.tz;
    let mut list: VecDeque<Occurrence> = VecDeque::new();
    let mut windowed = rule.is_unbounded();
    let first_wall = first.wall();
    // The iterator need not search past UNTIL or the window (with a margin for zone offsets).
    let margin = Duration::days(2);
    let limit = match rule.until() {
        Some(Until::Utc(u)) => Some(u.naive_utc()),
        Some(Until::Floating(f)) => Some(f),
        Some(Until::Date(d)) => d.and_hms_opt(0, 0, 0),
        None if windowed => Some(opts.window_end.naive_utc()),
        None => None,
    }
    .and_then(|l| l.checked_add_signed(margin));
    let mut rule_walls = match limit {
        Some(l) => rule.wall_iter_until(first_wall, l),
        None => rule.wall_iter(first_wall),
    }
    .with_budget(*budget);
    // DTSTART is always the first occurrence (RFC 5545 §3.8.5.3), matched by the rule or not.
    let walls = std::iter::once(first_wall)
        .chain(std::iter::from_fn(|| rule_walls.next()).filter(move |w| *w != first_wall));
    let mut ended = false;
    for wall in walls {
        *steps += 1;
        if *steps > MAX_STEPS {
            break;
        }
        if wall.year() > LAST_YEAR {
            ended = true;
            break; // beyond what iCalendar can write
        }
        let value = first.with_wall(wall);
        let start = value.to_utc(tz)?;
        let past_until = match rule.until() {
            None => false,
            Some(Until::Utc(u)) => start > u,
            Some(Until::Floating(f)) => wall > f,
            Some(Until::Date(d)) => wall.date() > d,
        };
        if past_until || windowed && start >= opts.window_end {
            ended = true;
            break;
        }
        if list.len() >= MAX_OCCURRENCES {
            if !windowed {
                // Too many for a finite rule: treat it as a rule without end.
                windowed = true;
                list.retain(|o| o.start < opts.window_end);
                if start >= opts.window_end {
                    ended = true;
                    break;
                }
            }
            if list.len() >= MAX_OCCURRENCES {
                // Keep the latest: the window's end matters more than the distant past.
                list.pop_front();
            }
        }
        list.push_back(make(&value)?);
    }
    *budget = budget.saturating_sub(rule_walls.steps());
    if !ended && (*steps > MAX_STEPS || rule_walls.exhausted) {
        // Never silently short: the work per event is bounded, and an event that needs more
        // is refused with its UID (issue 13).
        return Err(Error::invalid(format!(
            "uid {:?}: RRULE {:?} is too costly to expand: {} (calstore bounds the work per event; docs/recurrence.md)",
            p.uid().as_str(),
            short(rule.text()),
            if rule_walls.exhausted {
                format!("no further occurrence found within {STEP_BUDGET} steps (of all its RRULEs)")
            } else {
                format!("more than {MAX_STEPS} occurrences (of all its RRULEs) before the window end")
            }
        )));
    }
    Ok((list, windowed))
}

/// At most 60 characters of `text`, for messages.
fn short(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The date of an occurrence in the event's own frame (its zone, UTC, or the user's zone).
fn local_day(o: &Occurrence, first: &TimeValue, tz: &chrono_tz::Tz) -> NaiveDate {
    match first {
        TimeValue::Zoned(_, z) => z.to_local(o.start).date(),
        TimeValue::Utc(_) => o.start.date_naive(),
        _ => o.start.with_timezone(tz).date_naive(),
    }
}

mod future;
mod overrides;
use overrides::{dropped_instances, instance_keys};
pub(crate) use overrides::{is_series_copy, mark_series_copy};

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests;
