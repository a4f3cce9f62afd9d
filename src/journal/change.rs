//! [`JournalChange`]: the single description of what a write of the quota journal can do. Every
//! write of [`Journal`](super::Journal) is one of these, applied by
//! [`Journal::apply`](super::Journal::apply); a backend implements each once, there.
//!
//! | concern | changes | [`Outcome`](crate::store::Outcome) |
//! | --- | --- | --- |
//! | configuration | `SetLimits`, `SetGroups`, `SetDelegates` | `Version`, `Done`, `Done` |
//! | usage tables | `SetUsage`, `ReplaceUsagePeriods`, `ReserveWithinLimit`, `Expire` | `Version`; `Expire`: `Count` |
//! | providers | `SetProviders` | `Version` |
//! | reservation objects | `PutEvent`, `RemoveEvent` | `Done`, `Changed` |

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::id::{Group, Rid, Uid, User};
use crate::period::Period;
use crate::store::{Providers, Version};

use super::{Limits, UsageTable};

/// One write of a quota, applied atomically by [`Journal::apply`](super::Journal::apply). The
/// `expect` fields make it fail as [`ErrorKind::Stale`](crate::ErrorKind::Stale), writing
/// nothing, when the table changed since that version was read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalChange {
    /// Replace the limits ([`Journal::set_limits`](super::Journal::set_limits)).
    SetLimits {
        /// The new limits (values are iCalendar durations).
        limits: Limits,
        /// The version read.
        expect: Option<Version>,
    },
    /// Replace the user → group mapping ([`Journal::set_groups`](super::Journal::set_groups)).
    SetGroups(BTreeMap<User, Group>),
    /// Replace the delegates ([`Journal::set_delegates`](super::Journal::set_delegates)).
    SetDelegates(Vec<User>),
    /// Replace a whole usage table; empty removes it
    /// ([`Journal::set_usage`](super::Journal::set_usage)).
    SetUsage {
        /// The table.
        table: UsageTable,
        /// The new periods.
        periods: Vec<Period>,
        /// The version read.
        expect: Option<Version>,
    },
    /// Replace the periods of (uid, rid) in a usage table
    /// ([`Journal::replace_usage_periods`](super::Journal::replace_usage_periods)).
    ReplaceUsagePeriods {
        /// The table.
        table: UsageTable,
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The new periods, all of (uid, rid).
        periods: Vec<Period>,
        /// The version read.
        expect: Option<Version>,
    },
    /// Insert one event's periods into `journal/<group>` only within the group's limit
    /// ([`Journal::reserve_within_limit`](super::Journal::reserve_within_limit)); busy, writing
    /// nothing, otherwise.
    ReserveWithinLimit {
        /// The group charged.
        group: Group,
        /// The event's periods.
        periods: Vec<Period>,
    },
    /// Remove the periods that ended at or before `before` in every usage table
    /// ([`Journal::expire`](super::Journal::expire)). Outcome: how many.
    Expire {
        /// The cut-off.
        before: DateTime<Utc>,
    },
    /// Replace the quota's providers table
    /// ([`Journal::set_providers`](super::Journal::set_providers)).
    SetProviders {
        /// The new table.
        providers: Providers,
        /// The version read.
        expect: Option<Version>,
    },
    /// Store a reservation object ([`Journal::put_event`](super::Journal::put_event)).
    PutEvent {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
        /// The iCalendar text.
        text: String,
    },
    /// Remove a reservation object with its instances
    /// ([`Journal::remove_event`](super::Journal::remove_event)). Outcome: whether it was there.
    RemoveEvent {
        /// The event's UID.
        uid: Uid,
        /// The instance, or `None` for the parent.
        rid: Option<Rid>,
    },
}

impl JournalChange {
    /// The name of the [`Journal`](super::Journal) method that applies this change (what
    /// call-counting wrappers report).
    pub fn name(&self) -> &'static str {
        match self {
            JournalChange::SetLimits { .. } => "set_limits",
            JournalChange::SetGroups(_) => "set_groups",
            JournalChange::SetDelegates(_) => "set_delegates",
            JournalChange::SetUsage { .. } => "set_usage",
            JournalChange::ReplaceUsagePeriods { .. } => "replace_usage_periods",
            JournalChange::ReserveWithinLimit { .. } => "reserve_within_limit",
            JournalChange::Expire { .. } => "expire",
            JournalChange::SetProviders { .. } => "set_providers",
            JournalChange::PutEvent { .. } => "put_event",
            JournalChange::RemoveEvent { .. } => "remove_event",
        }
    }
}

impl fmt::Display for JournalChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalChange::SetUsage { table, .. }
            | JournalChange::ReplaceUsagePeriods { table, .. } => {
                write!(f, "{} of {table}", self.name())
            }
            JournalChange::ReserveWithinLimit { group, .. } => {
                write!(f, "reserve_within_limit of journal/{group}")
            }
            JournalChange::PutEvent { uid, .. } | JournalChange::RemoveEvent { uid, .. } => {
                write!(f, "{} of {:?}", self.name(), uid.as_str())
            }
            _ => f.write_str(self.name()),
        }
    }
}
