//! [`Change`]: the single description of what a write can do. Every write of the [`Store`] is
//! one of these (the provided write methods build a one-change [`Step`](super::Step)), and a
//! backend implements each of them once, inside its
//! [`Store::apply_step`](super::Store::apply_step). A new capability is a new variant here plus
//! one arm in each backend's `apply_step`, never a new required method.
//!
//! | concern | changes | what [`Outcome`](super::Outcome) each gives |
//! | --- | --- | --- |
//! | objects | `PutEvent`, `CancelEvent`, `CancelStored`, `Uncancel`, `RemoveEvent` | `Done`; `RemoveEvent`: `Changed` |
//! | request queue | `Queue`, `Dequeue`, `SetRequests` | `Changed`; `SetRequests`: `Done` |
//! | counter-proposals | `PutCounter`, `RemoveCounter`, `RemoveCounters` | `Done`, `Changed`, `Count` |
//! | free/busy tables | `Reserve`, `SetFreeBusy`, `ReplaceEventPeriods`, `ReplaceUidPeriods`, `ReplaceUidsPeriods`, `RemoveEventPeriods`, `RemoveAdditionalPeriods`, `RemoveAffectedPeriod` | `Version` (the table's new version) |
//! | providers | `SetProviders`, `MarkProvider`, `MarkProviders` (with the horizon) | `Version`, `Changed`, `Done` |
//! | preferences | `SetPreference` | `Done` |
//! | conditions | `Expect`, `ExpectProviders`, `ExpectEvent` | `Done` (or the whole step fails as stale) |
//!
//! [`Store`]: super::Store

use chrono::{DateTime, Utc};

use crate::id::{Other, PrefName, Rid, Uid};
use crate::period::Period;

use super::{Providers, Request, Table, Version};

/// One change of a [`Step`](super::Step). Each names the provided [`Store`](super::Store)
/// method that applies it alone (see [`Change::name`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Refuse the whole step with [`ErrorKind::Busy`](crate::ErrorKind::Busy) unless `periods`
    /// (all of one event) fit within `capacity` next to the other events' busy periods in
    /// `table`, then replace that event's periods there ([`Store::reserve`]). Only as the first
    /// change (after conditions), so that a refusal writes nothing.
    ///
    /// [`Store::reserve`]: super::Store::reserve
    Reserve {
        /// The table checked and written.
        table: Table,
        /// The event's periods.
        periods: Vec<Period>,
        /// How many simultaneous busy periods the table may hold.
        capacity: usize,
    },
    /// Store the text as the active copy of (uid, rid), replacing an active or cancelled copy
    /// ([`Store::put_event`](super::Store::put_event)).
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
    /// Move the active copy of (uid, rid) aside as cancelled, keeping its text; not found when
    /// there is none ([`Store::cancel_event`](super::Store::cancel_event)).
    CancelStored {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Bring the cancelled copy of (uid, rid) back as active; not found when there is none
    /// ([`Store::uncancel_event`](super::Store::uncancel_event)).
    Uncancel {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Remove (uid, rid), active or cancelled; a parent takes its instances along
    /// ([`Store::remove_event`](super::Store::remove_event)). Outcome: whether anything was
    /// removed.
    RemoveEvent {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
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
    /// Replace every period of each of `uids` in `table`
    /// ([`Store::replace_uids_periods`](super::Store::replace_uids_periods)).
    ReplaceUidsPeriods {
        /// The table.
        table: Table,
        /// The events' UIDs.
        uids: Vec<Uid>,
        /// The new periods, each of one of `uids`.
        periods: Vec<Period>,
    },
    /// Replace the periods of (uid, rid) in `table`
    /// ([`Store::replace_event_periods`](super::Store::replace_event_periods)).
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
    /// Replace the whole table; an empty list removes it
    /// ([`Store::set_freebusy`](super::Store::set_freebusy)).
    SetFreeBusy {
        /// The table.
        table: Table,
        /// The new periods.
        periods: Vec<Period>,
    },
    /// Remove the periods of (uid, rid) from `table`
    /// ([`Store::remove_event_periods`](super::Store::remove_event_periods)).
    RemoveEventPeriods {
        /// The table.
        table: Table,
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Remove the instance periods of `uid` whose rid is not in `keep`
    /// ([`Store::remove_additional_periods`](super::Store::remove_additional_periods)).
    RemoveAdditionalPeriods {
        /// The table.
        table: Table,
        /// The event's UID.
        uid: Uid,
        /// The instances whose periods stay.
        keep: Vec<Rid>,
    },
    /// Remove the parent's period of `uid` starting at `start`
    /// ([`Store::remove_affected_period`](super::Store::remove_affected_period)).
    RemoveAffectedPeriod {
        /// The table.
        table: Table,
        /// The event's UID.
        uid: Uid,
        /// Where the replaced period starts.
        start: DateTime<Utc>,
    },
    /// Add `uid` to the providers table or remove it ([`Store::mark_provider`]). Outcome:
    /// whether the table changed.
    ///
    /// [`Store::mark_provider`]: super::Store::mark_provider
    MarkProvider {
        /// The event's UID.
        uid: Uid,
        /// Whether it recurs without end.
        present: bool,
    },
    /// Mark or unmark many events in the providers table and record how far the table is
    /// expanded: the window end becomes `horizon` when none is recorded or the recorded one is
    /// later (a writer with a shorter window lowers it; see
    /// [`crate::refresh::record_horizon`]). One providers write for an import batch; the rule
    /// is [`providers_after`](super::providers_after). Outcome: `Done`.
    MarkProviders {
        /// (uid, whether it recurs without end), as [`Change::MarkProvider`] each.
        marks: Vec<(Uid, bool)>,
        /// The window end the writer expanded its events to.
        horizon: Option<DateTime<Utc>>,
    },
    /// Replace the providers table ([`Store::set_providers`](super::Store::set_providers)).
    SetProviders(Providers),
    /// Queue a request unless the same (uid, rid, method) is queued
    /// ([`Store::queue_request`](super::Store::queue_request)). Outcome: whether it was added.
    Queue(Request),
    /// Remove every queue entry of (uid, rid)
    /// ([`Store::dequeue_request`](super::Store::dequeue_request)). Outcome: whether any was
    /// there.
    Dequeue {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Replace the whole queue, repeated entries kept once at their first place
    /// ([`Store::set_requests`](super::Store::set_requests)).
    SetRequests(Vec<Request>),
    /// Store what `other` proposed for (uid, rid) ([`Store::put_counter`]).
    ///
    /// [`Store::put_counter`]: super::Store::put_counter
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
    /// Remove one proposal ([`Store::remove_counter`](super::Store::remove_counter)). Outcome:
    /// whether it was there.
    RemoveCounter {
        /// Who proposed it.
        other: Other,
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
    /// Remove the proposals for (uid, rid) — for the parent also every instance's — or only
    /// `only`'s ([`Store::remove_counters`](super::Store::remove_counters)). Outcome: how many.
    RemoveCounters {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// Only this participant's proposal.
        only: Option<Other>,
    },
    /// Set (`Some`) or remove (`None`) one preference
    /// ([`Store::set_preference`](super::Store::set_preference)).
    SetPreference {
        /// The preference.
        name: PrefName,
        /// The value; no NUL character.
        value: Option<String>,
    },
    /// A condition: refuse the whole step as [`ErrorKind::Stale`](crate::ErrorKind::Stale),
    /// writing nothing, unless `table` is at `version` when the step is applied. What the
    /// `expect` argument of the provided table writes becomes. Only before the writes.
    Expect {
        /// The table.
        table: Table,
        /// The version it must have.
        version: Version,
    },
    /// [`Change::Expect`] for the providers table.
    ExpectProviders(Version),
    /// A condition: refuse the whole step as [`ErrorKind::Stale`](crate::ErrorKind::Stale),
    /// writing nothing, unless the stored objects of `family.uid` (parent and instances, text
    /// and status) are exactly `family` — the version a step was computed from
    /// ([`check_expected`](super::check_expected), under the backend's lock or transaction). A
    /// concurrent step for the same event then makes this one fail instead of leaving tables
    /// that disagree with the objects (the caller applies the message again). Only before the
    /// writes.
    ExpectEvent {
        /// The objects as read, in [`Store::load_events`](super::Store::load_events) form.
        family: super::EventFamily,
    },
}

impl Change {
    /// The name of the [`Store`](super::Store) method that applies this change alone (what
    /// call-counting wrappers report for a one-change step); `store_step` for the changes that
    /// no single method makes.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Reserve { .. } => "reserve",
            Change::PutEvent { .. } => "put_event",
            Change::CancelEvent { .. } => "store_step",
            Change::CancelStored { .. } => "cancel_event",
            Change::Uncancel { .. } => "uncancel_event",
            Change::RemoveEvent { .. } => "remove_event",
            Change::ReplaceUidPeriods { .. } => "replace_uid_periods",
            Change::ReplaceUidsPeriods { .. } => "replace_uids_periods",
            Change::ReplaceEventPeriods { .. } => "replace_event_periods",
            Change::SetFreeBusy { .. } => "set_freebusy",
            Change::RemoveEventPeriods { .. } => "remove_event_periods",
            Change::RemoveAdditionalPeriods { .. } => "remove_additional_periods",
            Change::RemoveAffectedPeriod { .. } => "remove_affected_period",
            Change::MarkProvider { .. } => "mark_provider",
            Change::MarkProviders { .. } => "store_step",
            Change::SetProviders(_) => "set_providers",
            Change::Queue(_) => "queue_request",
            Change::Dequeue { .. } => "dequeue_request",
            Change::SetRequests(_) => "set_requests",
            Change::PutCounter { .. } => "put_counter",
            Change::RemoveCounter { .. } => "remove_counter",
            Change::RemoveCounters { .. } => "remove_counters",
            Change::SetPreference { .. } => "set_preference",
            Change::Expect { .. } | Change::ExpectProviders(_) | Change::ExpectEvent { .. } => {
                "expect"
            }
        }
    }

    /// The free/busy table this change writes, if it writes one.
    pub fn table(&self) -> Option<&Table> {
        match self {
            Change::Reserve { table, .. }
            | Change::ReplaceUidPeriods { table, .. }
            | Change::ReplaceUidsPeriods { table, .. }
            | Change::ReplaceEventPeriods { table, .. }
            | Change::SetFreeBusy { table, .. }
            | Change::RemoveEventPeriods { table, .. }
            | Change::RemoveAdditionalPeriods { table, .. }
            | Change::RemoveAffectedPeriod { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Whether this is a condition ([`Change::Expect`], [`Change::ExpectProviders`]) rather
    /// than a write.
    pub fn is_condition(&self) -> bool {
        matches!(
            self,
            Change::Expect { .. } | Change::ExpectProviders(_) | Change::ExpectEvent { .. }
        )
    }
}
