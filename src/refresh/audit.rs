//! Does a user's own `freebusy` table agree with the stored objects? (issue 13, item 8).
//!
//! An import killed between storing its objects and writing their periods, or stopped by a full
//! disk, leaves objects without periods: the user looks free where they are busy. [`audit`] finds
//! them for `check`, and the cron job ([`super::regenerate`], even without `reset`) expands them
//! again, using the same [`gaps`].
//!
//! The comparison is by event (uid), not period by period: what an event expands to depends on
//! the window of the run that wrote it, so only "an event that has busy time has no row at all"
//! and "a cancelled event still has rows" are certain. Rows of a uid with no stored object are
//! legitimate (bookings made with [`Store::reserve`]) and only counted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Uid, User};
use crate::period::Period;
use crate::store::{EventList, Store, Table};

use super::{expand_chunk, settings, Overrides, LOAD_CHUNK};

/// One disagreement between the objects and the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An active event that expands to busy time has no row in the table.
    MissingPeriods {
        /// The event.
        uid: Uid,
        /// How many periods it expands to.
        expected: usize,
    },
    /// A cancelled event (no active parent or instance) still has rows.
    CancelledWithPeriods {
        /// The event.
        uid: Uid,
        /// How many rows it has.
        rows: usize,
    },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::MissingPeriods { uid, expected } => write!(
                f,
                "object {:?} has no periods in freebusy (it expands to {expected}); `make-freebusy` repairs it",
                uid.as_str()
            ),
            Finding::CancelledWithPeriods { uid, rows } => write!(
                f,
                "cancelled object {:?} still has {rows} periods in freebusy; `make-freebusy` removes them",
                uid.as_str()
            ),
        }
    }
}

/// What [`audit`] found for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Events compared.
    pub events: usize,
    /// Disagreements (each a problem: the table answers "free" or "busy" wrongly).
    pub findings: Vec<Finding>,
    /// Uids with rows but no stored object (bookings made with `reserve`, not a problem).
    pub without_object: usize,
    /// Events that could not be expanded, with the reason (`check` reports the object itself).
    pub unreadable: Vec<(Uid, String)>,
}

/// Where objects and table rows disagree, by uid (see the module).
#[derive(Debug, Default)]
pub(super) struct Gaps {
    /// Active events without any row.
    pub(super) without_rows: Vec<Uid>,
    /// Cancelled events with rows, with their row count.
    pub(super) cancelled_with_rows: Vec<(Uid, usize)>,
    /// Uids with rows and no object at all.
    pub(super) without_object: usize,
}

/// Compares the stored objects with the table's rows.
pub(super) fn gaps(list: &EventList, rows: &[Period]) -> Gaps {
    let mut per_uid: BTreeMap<&Uid, usize> = BTreeMap::new();
    for p in rows {
        *per_uid.entry(&p.uid).or_default() += 1;
    }
    let active: BTreeSet<&Uid> = list
        .active
        .iter()
        .chain(list.active_instances.iter().map(|(u, _)| u))
        .collect();
    let cancelled: BTreeSet<&Uid> = list
        .cancelled
        .iter()
        .chain(list.cancelled_instances.iter().map(|(u, _)| u))
        .filter(|u| !active.contains(*u))
        .collect();
    let mut gaps = Gaps {
        without_rows: active
            .iter()
            .filter(|u| !per_uid.contains_key(*u))
            .map(|u| (*u).clone())
            .collect(),
        ..Gaps::default()
    };
    for (uid, n) in per_uid {
        if cancelled.contains(uid) {
            gaps.cancelled_with_rows.push((uid.clone(), n));
        } else if !active.contains(uid) {
            gaps.without_object += 1;
        }
    }
    gaps
}

/// Compares the user's objects with their own `freebusy` table: an active event whose expansion
/// (with the user's settings and the window of the last regeneration) has periods but that has
/// no row, and a cancelled event that still has rows, are findings.
///
/// # Errors
///
/// The store's errors reading the list, the table or the settings.
pub async fn audit<S: Store>(store: &S, user: &User, now: DateTime<Utc>) -> Result<Audit> {
    let list = store.list_events(user).await?;
    let table = store.freebusy(user, &Table::FreeBusy).await?.value;
    let gaps = gaps(&list, &table);
    let settings = settings(store, user, &Overrides::default()).await?;
    let mut opts = settings.expand_options(now);
    if let Some(end) = store.providers(user).await?.value.window_end {
        opts.window_end = end;
    }
    let mut report = Audit {
        events: list.active.len() + list.active_instances.len(),
        without_object: gaps.without_object,
        ..Audit::default()
    };
    for chunk in gaps.without_rows.chunks(LOAD_CHUNK) {
        for (uid, expanded) in expand_chunk(store, user, chunk, &opts).await? {
            match expanded {
                Ok(exp) => {
                    let expected = exp.periods.len();
                    if expected > 0 {
                        report
                            .findings
                            .push(Finding::MissingPeriods { uid, expected });
                    }
                }
                Err(e) => report.unreadable.push((uid, e.message().to_owned())),
            }
        }
    }
    report.findings.extend(
        gaps.cancelled_with_rows
            .into_iter()
            .map(|(uid, rows)| Finding::CancelledWithPeriods { uid, rows }),
    );
    Ok(report)
}
