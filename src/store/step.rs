//! A [`Step`]: every change one scheduling step makes to one user's data, applied by
//! [`Store::apply_step`](super::Store::apply_step) as one unit (one transaction in PostgreSQL,
//! one lock in the file store), and what it answers: one [`Outcome`] per change. The agent's
//! steps ([`crate::agent`]) compute a step from the message and what is stored, and return it
//! as the report of what they changed; every single write of the trait is a one-change step.

use std::fmt;

use crate::error::{Error, Result};
use crate::id::{Rid, Uid};
use crate::object::EventObject;
use crate::period::{check_event, check_uids};

use super::{Change, QueueKind, Request, Version};

fn key(uid: &Uid, rid: Option<&Rid>) -> String {
    match rid {
        None => format!("{:?}", uid.as_str()),
        Some(r) => format!("{:?} rid {r}", uid.as_str()),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Reserve {
                table,
                periods,
                capacity,
            } => write!(
                f,
                "reserved {} period(s) in {table} (capacity {capacity})",
                periods.len()
            ),
            Change::PutEvent { uid, rid, .. } => write!(f, "stored {}", key(uid, rid.as_ref())),
            Change::CancelEvent { uid, rid, .. } | Change::CancelStored { uid, rid } => {
                write!(f, "cancelled {}", key(uid, rid.as_ref()))
            }
            Change::Uncancel { uid, rid } => write!(f, "uncancelled {}", key(uid, rid.as_ref())),
            Change::RemoveEvent { uid, rid } => write!(f, "removed {}", key(uid, rid.as_ref())),
            Change::ReplaceUidPeriods {
                table,
                uid,
                periods,
            } => write!(
                f,
                "{table}: {} period(s) of {}",
                periods.len(),
                key(uid, None)
            ),
            Change::ReplaceUidsPeriods {
                table,
                uids,
                periods,
            } => write!(
                f,
                "{table}: {} period(s) of {} event(s)",
                periods.len(),
                uids.len()
            ),
            Change::ReplaceEventPeriods {
                table,
                uid,
                rid,
                periods,
            } => write!(
                f,
                "{table}: {} period(s) of {}",
                periods.len(),
                key(uid, rid.as_ref())
            ),
            Change::SetFreeBusy { table, periods } => {
                write!(f, "{table}: replaced by {} period(s)", periods.len())
            }
            Change::RemoveEventPeriods { table, uid, rid } => {
                write!(
                    f,
                    "{table}: removed the periods of {}",
                    key(uid, rid.as_ref())
                )
            }
            Change::RemoveAdditionalPeriods { table, uid, keep } => write!(
                f,
                "{table}: removed the instance periods of {} but {} kept",
                key(uid, None),
                keep.len()
            ),
            Change::RemoveAffectedPeriod { table, uid, start } => write!(
                f,
                "{table}: removed the period of {} at {start}",
                key(uid, None)
            ),
            Change::MarkProvider { uid, present } => write!(
                f,
                "providers: {} {}",
                if *present { "marked" } else { "unmarked" },
                key(uid, None)
            ),
            Change::MarkProviders { marks, horizon } => {
                write!(f, "providers: {} mark(s)", marks.len())?;
                match horizon {
                    Some(h) => write!(f, ", horizon at most {}", crate::period::format_instant(*h)),
                    None => Ok(()),
                }
            }
            Change::SetProviders(p) => {
                write!(f, "providers: replaced ({} event(s))", p.events.len())
            }
            Change::Queue(r) => write!(
                f,
                "queued {} {}",
                r.method.as_str(),
                key(&r.uid, r.rid.as_ref())
            ),
            Change::Dequeue { uid, rid } => write!(f, "dequeued {}", key(uid, rid.as_ref())),
            Change::SetRequests(r) => write!(f, "replaced the queue ({} request(s))", r.len()),
            Change::PutCounter {
                other, uid, rid, ..
            } => write!(
                f,
                "stored the counter-proposal of {other} for {}",
                key(uid, rid.as_ref())
            ),
            Change::RemoveCounter { other, uid, rid } => write!(
                f,
                "removed the counter-proposal of {other} for {}",
                key(uid, rid.as_ref())
            ),
            Change::RemoveCounters { uid, rid, only } => match only {
                Some(o) => write!(
                    f,
                    "removed the counter-proposal of {o} for {}",
                    key(uid, rid.as_ref())
                ),
                None => write!(
                    f,
                    "removed the counter-proposals for {}",
                    key(uid, rid.as_ref())
                ),
            },
            Change::SetPreference { name, value } => match value {
                Some(_) => write!(f, "set the preference {name}"),
                None => write!(f, "removed the preference {name}"),
            },
            Change::Expect { table, version } => write!(f, "expected {table} at {version}"),
            Change::ExpectProviders(version) => write!(f, "expected the providers at {version}"),
            Change::ExpectEvent { family } => write!(
                f,
                "expected {} stored object(s) of {}",
                usize::from(family.parent.is_some()) + family.instances.len(),
                key(&family.uid, None)
            ),
        }
    }
}

/// Every change of one step for one user, in the order they are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The changes.
    pub changes: Vec<Change>,
}

impl From<Change> for Step {
    fn from(change: Change) -> Step {
        Step {
            changes: vec![change],
        }
    }
}

impl Step {
    /// Checks every change's input, so that a step with bad input writes nothing: texts are one
    /// VEVENT of their key, periods belong to their event and are valid, preferences hold no NUL
    /// character, conditions come before every write and a reservation before every other write.
    ///
    /// # Errors
    ///
    /// Invalid input naming the change.
    pub fn check(&self) -> Result<()> {
        let mut writes = 0;
        for (i, change) in self.changes.iter().enumerate() {
            let at = |e: Error| e.context(format!("change {} ({change})", i + 1));
            let first_write = writes == 0;
            if change.is_condition() {
                if !first_write {
                    return Err(at(Error::invalid(
                        "a condition must come before the writes",
                    )));
                }
                continue;
            }
            writes += 1;
            if let Change::Reserve { periods, .. }
            | Change::ReplaceUidPeriods { periods, .. }
            | Change::ReplaceUidsPeriods { periods, .. }
            | Change::SetFreeBusy { periods, .. }
            | Change::ReplaceEventPeriods { periods, .. } = change
            {
                for p in periods {
                    p.validate().map_err(at)?;
                }
            }
            match change {
                Change::Reserve { periods, .. } => {
                    if !first_write {
                        return Err(at(Error::invalid(
                            "a reservation must be the step's first change",
                        )));
                    }
                    if let Some(first) = periods.first() {
                        check_event(&first.uid, first.rid.as_ref(), periods).map_err(at)?;
                    }
                }
                Change::PutEvent { uid, rid, text } | Change::CancelEvent { uid, rid, text } => {
                    EventObject::parse_for_key(text, uid, rid.as_ref()).map_err(at)?;
                }
                Change::ReplaceUidPeriods { uid, periods, .. } => {
                    check_uids(std::slice::from_ref(uid), periods).map_err(at)?;
                }
                Change::ReplaceUidsPeriods { uids, periods, .. } => {
                    check_uids(uids, periods).map_err(at)?;
                }
                Change::ReplaceEventPeriods {
                    uid, rid, periods, ..
                } => check_event(uid, rid.as_ref(), periods).map_err(at)?,
                Change::PutCounter { uid, text, .. } => {
                    let parsed = EventObject::parse(text).map_err(at)?;
                    if parsed.uid() != uid {
                        return Err(at(Error::invalid(format!(
                            "the proposal's UID {:?} is not {:?}",
                            parsed.uid().as_str(),
                            uid.as_str()
                        ))));
                    }
                }
                Change::SetPreference {
                    name,
                    value: Some(v),
                } if v.contains('\0') => {
                    return Err(at(Error::invalid(format!(
                        "preference {name}: a value must not contain a NUL character"
                    ))));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds a change.
    pub fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Whether the step changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The step's one write with the version its condition expects, when the step is a single
    /// write, optionally preceded by one condition on the table it writes: what a provided write
    /// method builds, and what a backend may apply through its own single-call path (which
    /// checks the version itself) instead of its general one.
    pub fn single_write(&self) -> Option<(&Change, Option<Version>)> {
        match self.changes.as_slice() {
            [write] if !write.is_condition() => Some((write, None)),
            [Change::Expect { table, version }, write] if write.table() == Some(table) => {
                Some((write, Some(*version)))
            }
            [Change::ExpectProviders(version), write @ Change::SetProviders(_)] => {
                Some((write, Some(*version)))
            }
            _ => None,
        }
    }
}

/// What one change of a step did (see the table in [`Change`]'s module).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// Applied; nothing to report.
    #[default]
    Done,
    /// Whether it changed anything (removals, queue entries, provider marks).
    Changed(bool),
    /// How many entries it removed.
    Count(usize),
    /// The version of the table it wrote, after the step.
    Version(Version),
}

impl Outcome {
    /// The [`Outcome::Changed`] flag (`false` for other outcomes).
    pub fn changed(self) -> bool {
        match self {
            Outcome::Changed(c) => c,
            Outcome::Count(n) => n > 0,
            _ => false,
        }
    }

    /// The [`Outcome::Count`] (0 for other outcomes).
    pub fn count(self) -> usize {
        match self {
            Outcome::Count(n) => n,
            Outcome::Changed(c) => usize::from(c),
            _ => 0,
        }
    }

    /// The [`Outcome::Version`] (`Version(0)` for other outcomes).
    pub fn version(self) -> Version {
        match self {
            Outcome::Version(v) => v,
            _ => Version(0),
        }
    }
}

/// What [`Store::apply_step`](super::Store::apply_step) answers: one [`Outcome`] per change of
/// the step, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The outcomes.
    pub outcomes: Vec<Outcome>,
}

impl Applied {
    /// The outcome of the step's last change ([`Outcome::Done`] for an empty step): what a
    /// provided single write returns.
    pub fn last(&self) -> Outcome {
        self.outcomes.last().copied().unwrap_or_default()
    }

    /// A step's outcomes when one write of it answered `outcome` and every other change
    /// (its conditions) nothing.
    pub fn single(step: &Step, outcome: Outcome) -> Applied {
        let mut outcomes = vec![Outcome::Done; step.changes.len()];
        if let Some(last) = outcomes.last_mut() {
            *last = outcome;
        }
        Applied { outcomes }
    }
}

/// A queue entry for (uid, rid) with `method`.
pub(crate) fn request(uid: &Uid, rid: Option<&Rid>, method: QueueKind) -> Request {
    Request {
        uid: uid.clone(),
        rid: rid.cloned(),
        method,
    }
}

/// The providers table after a [`Change::MarkProviders`]: each mark as
/// [`Providers::marked`](super::Providers::marked), and the window end lowered to `horizon`
/// (set when none is recorded). Every backend applies this same rule.
#[must_use]
pub fn providers_after(
    current: &super::Providers,
    marks: &[(Uid, bool)],
    horizon: Option<chrono::DateTime<chrono::Utc>>,
) -> super::Providers {
    let mut next = current.clone();
    if !marks.is_empty() {
        let touched: std::collections::HashSet<&Uid> = marks.iter().map(|(u, _)| u).collect();
        next.events.retain(|(u, _)| !touched.contains(u));
        // The last mark of a uid wins, as applying them one by one would.
        let mut last: std::collections::HashMap<&Uid, bool> = std::collections::HashMap::new();
        for (u, present) in marks {
            last.insert(u, *present);
        }
        next.events.extend(
            last.into_iter()
                .filter(|(_, present)| *present)
                .map(|(u, _)| (u.clone(), None)),
        );
        next.events.sort();
        next.events.dedup();
    }
    if let Some(h) = horizon {
        next.window_end = Some(next.window_end.map_or(h, |w| w.min(h)));
    }
    next
}

/// Checks a [`Change::ExpectEvent`] against what is stored of its uid (`None` or an empty family
/// for nothing stored): what every backend's `apply_step` does for it, under its lock.
///
/// # Errors
///
/// Stale, naming the user and the uid, when they differ.
pub fn check_expected(
    user: &crate::id::User,
    expected: &super::EventFamily,
    found: Option<&super::EventFamily>,
) -> Result<()> {
    let empty = |f: &super::EventFamily| f.parent.is_none() && f.instances.is_empty();
    let same = match found {
        None => empty(expected),
        Some(f) => f.parent == expected.parent && f.instances == expected.instances,
    };
    if same {
        Ok(())
    } else {
        Err(Error::stale(format!(
            "user {user} uid {:?}: another step changed the event since it was read; nothing \
             was written (apply the message again)",
            expected.uid.as_str()
        )))
    }
}
