//! The values the [`Store`](super::Store) trait reads and writes: versions, table names, stored
//! events, the request queue, providers, and the agent's incoming request.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Other, Rid, Uid};
use crate::period::Period;

/// The version of a table as read; a write that carries it fails with a conflict if the table
/// changed since. Versions only compare for equality; `Version(0)` is an absent table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Version(pub u64);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A value read together with the version of the table it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// What was read.
    pub value: T,
    /// The version to pass back to a conditional write.
    pub version: Version,
}

/// Which of a user's free/busy tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `freebusy`: the user's own schedule.
    FreeBusy,
    /// `freebusy-offers`: holds made while countering; expired periods are never returned.
    Offers,
    /// `freebusy-other/<other>`: what the user knows of another participant.
    Other(Other),
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Table::FreeBusy => f.write_str("freebusy"),
            Table::Offers => f.write_str("freebusy-offers"),
            Table::Other(o) => write!(f, "freebusy-other/{o}"),
        }
    }
}

/// Whether a stored object is active or moved aside as cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventStatus {
    /// In `objects/` or `recurrences/`.
    Active,
    /// In `cancellations/`.
    Cancelled,
}

/// A stored object's exact text and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The iCalendar text, byte for byte as stored.
    pub text: String,
    /// Active or cancelled.
    pub status: EventStatus,
}

/// Every object of a user, listed separately by kind (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventList {
    /// Active parents.
    pub active: Vec<Uid>,
    /// Cancelled parents.
    pub cancelled: Vec<Uid>,
    /// Active separately stored instances.
    pub active_instances: Vec<(Uid, Rid)>,
    /// Cancelled instances.
    pub cancelled_instances: Vec<(Uid, Rid)>,
}

/// The kind of a queued entry: a request awaiting the user's answer or a counter-proposal
/// awaiting the organiser's. Not iTIP's METHOD (that is
/// [`agent::ItipMethod`](crate::agent::ItipMethod)); this type was called `Method` before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum QueueKind {
    /// `REQUEST` (the default).
    #[default]
    Request,
    /// `COUNTER`.
    Counter,
}

impl QueueKind {
    /// `REQUEST` or `COUNTER`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Request => "REQUEST",
            QueueKind::Counter => "COUNTER",
        }
    }

    /// Parses `REQUEST`, `COUNTER`, or an empty field (`REQUEST`).
    ///
    /// # Errors
    ///
    /// Invalid input for any other text.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "" | "REQUEST" => Ok(QueueKind::Request),
            "COUNTER" => Ok(QueueKind::Counter),
            _ => Err(crate::Error::invalid(format!(
                "request method {text:?} is neither REQUEST nor COUNTER"
            ))),
        }
    }
}

/// The old name of [`QueueKind`], which reads like iTIP's METHOD but is the queue's kind of entry.
#[deprecated(
    since = "0.1.0",
    note = "renamed QueueKind: it is the queue's kind of entry, not iTIP's METHOD (agent::ItipMethod)"
)]
pub type Method = QueueKind;

/// One entry of the request queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// The event's UID.
    pub uid: Uid,
    /// The instance, or `None` for the parent.
    pub rid: Option<Rid>,
    /// `REQUEST` or `COUNTER`.
    pub method: QueueKind,
}

/// The events that recur without end and the instant up to which their periods were generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Providers {
    /// The window end used; `None` when never generated.
    pub window_end: Option<DateTime<Utc>>,
    /// The events, sorted, without repeats.
    pub events: Vec<(Uid, Option<Rid>)>,
}

impl Providers {
    /// The table with `uid` (the parent) added when `present`, else with every entry of `uid`
    /// removed; the window end is kept. What [`Store::mark_provider`](super::Store::mark_provider)
    /// writes.
    #[must_use]
    pub fn marked(&self, uid: &Uid, present: bool) -> Providers {
        let mut next = self.clone();
        next.events.retain(|(u, _)| u != uid);
        if present {
            next.events.push((uid.clone(), None));
            next.events.sort();
        }
        next
    }
}

/// One event as stored: the parent, when stored, and every separately stored instance, each with
/// its text and status (what [`Store::load_events`](super::Store::load_events) returns per uid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFamily {
    /// The event's UID.
    pub uid: Uid,
    /// The parent object, if stored.
    pub parent: Option<StoredEvent>,
    /// The separately stored instances, in recurrence-id order.
    pub instances: Vec<(Rid, StoredEvent)>,
}

/// The agent's step for one incoming scheduling request (STORE.md): the object to store, its
/// periods for the user's own `freebusy` table, and the queue entry that awaits the user's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The event's UID.
    pub uid: Uid,
    /// The instance, or `None` for the parent.
    pub rid: Option<Rid>,
    /// The iCalendar text to store.
    pub text: String,
    /// The event's periods (all of (uid, rid)); they replace the event's periods in `freebusy`.
    pub periods: Vec<Period>,
    /// The queue entry's method.
    pub method: QueueKind,
}
