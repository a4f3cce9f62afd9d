//! A [`Step`]: every change one scheduling step makes to one user's data, applied by
//! [`Store::apply_step`](super::Store::apply_step) as one unit (one transaction in PostgreSQL,
//! one lock in the file store). The agent's steps ([`crate::agent`]) compute a step from the
//! message and what is stored, and return it as the report of what they changed.

use std::fmt;

use crate::error::{Error, Result};
use crate::id::{Other, Rid, Uid, User};
use crate::object::EventObject;
use crate::period::{check_event, check_uids, Period};

use super::{EventFamily, QueueKind, Request, Store, Table};

/// One change of a [`Step`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Refuse the whole step with [`ErrorKind::Busy`](crate::ErrorKind::Busy) unless `periods`
    /// (all of one event) fit within `capacity` next to the other events' busy periods in
    /// `table`, then replace that event's periods there ([`Store::reserve`]). Only as the first
    /// change, so that a refusal writes nothing.
    Reserve {
        /// The table checked and written.
        table: Table,
        /// The event's periods.
        periods: Vec<Period>,
        /// How many simultaneous busy periods the table may hold.
        capacity: usize,
    },
    /// Refuse the whole step with [`ErrorKind::Stale`](crate::ErrorKind::Stale) unless the
    /// stored objects of `family.uid` (parent and instances, text and status) are exactly
    /// `family`: the version a step was computed from. Only before every write of the step, so
    /// that a refusal writes nothing; a concurrent step for the same event then makes this one
    /// fail instead of leaving tables that disagree with the objects (the caller applies the
    /// message again).
    Expect {
        /// The objects as read, in [`Store::load_events`] form.
        family: EventFamily,
    },
    /// Store the text as the active copy of (uid, rid) ([`Store::put_event`]).
    PutEvent {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The iCalendar text (one VEVENT of that key).
        text: String,
    },
    /// Store the text as the cancelled copy of (uid, rid): the active copy, if any, is replaced.
    CancelEvent {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The iCalendar text (one VEVENT of that key), usually the CANCEL's.
        text: String,
    },
    /// Replace every period of `uid` (parent and instances) in `table`.
    ReplaceUidPeriods {
        /// The table.
        table: Table,
        /// The event's UID.
        uid: Uid,
        /// The new periods, all of `uid`.
        periods: Vec<Period>,
    },
    /// Replace the periods of (uid, rid) in `table`.
    ReplaceEventPeriods {
        /// The table.
        table: Table,
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The new periods, all of (uid, rid).
        periods: Vec<Period>,
    },
    /// Add `uid` to the providers table or remove it ([`Store::mark_provider`]).
    MarkProvider {
        /// The event's UID.
        uid: Uid,
        /// Whether it recurs without end.
        present: bool,
    },
    /// Queue a request ([`Store::queue_request`]).
    Queue(Request),
    /// Remove every queue entry of (uid, rid) ([`Store::dequeue_request`]).
    Dequeue {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Store what `other` proposed for (uid, rid) ([`Store::put_counter`]).
    PutCounter {
        /// Who proposed it.
        other: Other,
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The proposal's iCalendar text.
        text: String,
    },
    /// Remove the proposals for (uid, rid), or only `only`'s ([`Store::remove_counters`]).
    RemoveCounters {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// Only this participant's proposal.
        only: Option<Other>,
    },
}

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
            Change::Expect { family } => write!(
                f,
                "expected {} stored object(s) of {}",
                usize::from(family.parent.is_some()) + family.instances.len(),
                key(&family.uid, None)
            ),
            Change::PutEvent { uid, rid, .. } => write!(f, "stored {}", key(uid, rid.as_ref())),
            Change::CancelEvent { uid, rid, .. } => {
                write!(f, "cancelled {}", key(uid, rid.as_ref()))
            }
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
            Change::MarkProvider { uid, present } => write!(
                f,
                "providers: {} {}",
                if *present { "marked" } else { "unmarked" },
                key(uid, None)
            ),
            Change::Queue(r) => write!(
                f,
                "queued {} {}",
                r.method.as_str(),
                key(&r.uid, r.rid.as_ref())
            ),
            Change::Dequeue { uid, rid } => write!(f, "dequeued {}", key(uid, rid.as_ref())),
            Change::PutCounter {
                other, uid, rid, ..
            } => write!(
                f,
                "stored the counter-proposal of {other} for {}",
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
        }
    }
}

/// Every change of one step for one user, in the order they are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The changes.
    pub changes: Vec<Change>,
}

impl Step {
    /// Checks every change's input, so that a step with bad input writes nothing: texts are one
    /// VEVENT of their key, periods belong to their event and are valid, a reservation comes
    /// first and is of one event.
    ///
    /// # Errors
    ///
    /// Invalid input naming the change.
    pub fn check(&self) -> Result<()> {
        for (i, change) in self.changes.iter().enumerate() {
            let at = |e: Error| e.context(format!("change {} ({change})", i + 1));
            if let Change::Reserve { periods, .. }
            | Change::ReplaceUidPeriods { periods, .. }
            | Change::ReplaceEventPeriods { periods, .. } = change
            {
                for p in periods {
                    p.validate().map_err(at)?;
                }
            }
            match change {
                Change::Expect { .. } => {
                    let writes_before = self.changes[..i]
                        .iter()
                        .any(|c| !matches!(c, Change::Expect { .. }));
                    if writes_before {
                        return Err(at(Error::invalid(
                            "an expectation must come before every write of the step",
                        )));
                    }
                }
                Change::Reserve { periods, .. } => {
                    let writes_before = self.changes[..i]
                        .iter()
                        .any(|c| !matches!(c, Change::Expect { .. }));
                    if writes_before {
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
                Change::MarkProvider { .. }
                | Change::Queue(_)
                | Change::Dequeue { .. }
                | Change::RemoveCounters { .. } => {}
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
}

/// Applies one change through the trait's methods: what the default
/// [`Store::apply_step`](super::Store::apply_step) does for each, and what a backend's own
/// implementation must be equivalent to.
///
/// # Errors
///
/// The method's errors.
pub async fn apply_change<S: Store + ?Sized>(
    store: &S,
    user: &User,
    change: &Change,
) -> Result<()> {
    match change {
        Change::Expect { family } => {
            let found = store
                .load_events(user, std::slice::from_ref(&family.uid))
                .await?
                .pop();
            check_expected(user, family, found.as_ref())?;
        }
        Change::Reserve {
            table,
            periods,
            capacity,
        } => {
            store
                .reserve(user, table, periods.clone(), *capacity, None)
                .await?;
        }
        Change::PutEvent { uid, rid, text } => {
            store.put_event(user, uid, rid.as_ref(), text).await?;
        }
        Change::CancelEvent { uid, rid, text } => {
            store.put_event(user, uid, rid.as_ref(), text).await?;
            store.cancel_event(user, uid, rid.as_ref()).await?;
        }
        Change::ReplaceUidPeriods {
            table,
            uid,
            periods,
        } => {
            store
                .replace_uid_periods(user, table, uid, periods.clone())
                .await?;
        }
        Change::ReplaceEventPeriods {
            table,
            uid,
            rid,
            periods,
        } => {
            store
                .replace_event_periods(user, table, uid, rid.as_ref(), periods.clone(), None)
                .await?;
        }
        Change::MarkProvider { uid, present } => {
            store.mark_provider(user, uid, *present).await?;
        }
        Change::Queue(r) => {
            store
                .queue_request(user, &r.uid, r.rid.as_ref(), r.method)
                .await?;
        }
        Change::Dequeue { uid, rid } => {
            store.dequeue_request(user, uid, rid.as_ref()).await?;
        }
        Change::PutCounter {
            other,
            uid,
            rid,
            text,
        } => {
            store
                .put_counter(user, other, uid, rid.as_ref(), text)
                .await?;
        }
        Change::RemoveCounters { uid, rid, only } => {
            store
                .remove_counters(user, uid, rid.as_ref(), only.as_ref())
                .await?;
        }
    }
    Ok(())
}

/// Checks a [`Change::Expect`] against what is stored of its uid (`None` or an empty family
/// for nothing stored): what every backend's `apply_step` does for it, under its lock.
///
/// # Errors
///
/// Stale, naming the user and the uid, when they differ.
pub fn check_expected(
    user: &User,
    expected: &EventFamily,
    found: Option<&EventFamily>,
) -> Result<()> {
    let empty = |f: &EventFamily| f.parent.is_none() && f.instances.is_empty();
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

/// The default [`Store::apply_step`](super::Store::apply_step): checks the whole step, then
/// applies the changes one by one, in order.
pub(super) async fn apply_step<S: Store + ?Sized>(
    store: &S,
    user: &User,
    step: &Step,
) -> Result<()> {
    step.check()?;
    for change in &step.changes {
        apply_change(store, user, change).await?;
    }
    Ok(())
}

/// A queue entry for (uid, rid) with `method`.
pub(crate) fn request(uid: &Uid, rid: Option<&Rid>, method: QueueKind) -> Request {
    Request {
        uid: uid.clone(),
        rid: rid.cloned(),
        method,
    }
}
