//! Does a user's own `freebusy` table agree with the stored objects? (issue 13, item 8; issue
//! 21, item 2).
//!
//! Every active event is expanded again and its rows compared with the expansion, period by
//! period (every field): an event without rows, a cancelled event with rows, and rows of another
//! version of an object than the stored one (an event that moved while its rows stayed) are
//! findings; `check` fails on them and the cron job ([`super::regenerate`], even without
//! `reset`) expands those events again, using the same [`stale`].
//!
//! What an event without end expands to depends on the window of the writer, so for those
//! events only the rows before the table's horizon (the providers' window end, which every writer
//! lowers to its own window) are compared. The rows of the user's availability (VAVAILABILITY,
//! [`super::availability`]) are compared with what it gives up to that horizon. Rows of another
//! uid with no stored object are legitimate (bookings made with [`Store::reserve`]) and only
//! counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Uid, User};
use crate::period::Period;
use crate::recurrence::ExpandOptions;
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
    /// The event's rows are not what its stored objects expand to: rows of another version of
    /// the object (an import or an update killed half-way on an older store, a hand edit).
    StalePeriods {
        /// The event.
        uid: Uid,
        /// How many periods it expands to (before the horizon, for an event without end).
        expected: usize,
        /// How many rows it has there.
        rows: usize,
    },
    /// The rows of a VAVAILABILITY (the user's `availability`) are not what it gives up to the
    /// table's horizon.
    StaleAvailability {
        /// The VAVAILABILITY's UID.
        uid: Uid,
        /// How many BUSY-UNAVAILABLE rows it gives before the horizon.
        expected: usize,
        /// How many rows of its uid the table has there.
        rows: usize,
    },
    /// A cancelled event (no active parent or instance) still has rows.
    CancelledWithPeriods {
        /// The event.
        uid: Uid,
        /// How many rows it has.
        rows: usize,
    },
    /// A `freebusy-other` table differs from a rebuild ([`super::audit_others`]).
    Other(super::OtherFinding),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::MissingPeriods { uid, expected } => write!(
                f,
                "object {:?} has no periods in freebusy (it expands to {expected}); `make-freebusy` repairs it",
                uid.as_str()
            ),
            Finding::StalePeriods { uid, expected, rows } => write!(
                f,
                "object {:?} has {rows} periods in freebusy that are not what it expands to ({expected} periods): rows of another version of the object; `make-freebusy` repairs it",
                uid.as_str()
            ),
            Finding::StaleAvailability { uid, expected, rows } => write!(
                f,
                "availability {:?} has {rows} periods in freebusy that are not what it gives ({expected} BUSY-UNAVAILABLE periods); `make-freebusy` repairs it",
                uid.as_str()
            ),
            Finding::CancelledWithPeriods { uid, rows } => write!(
                f,
                "cancelled object {:?} still has {rows} periods in freebusy; `make-freebusy` removes them",
                uid.as_str()
            ),
            Finding::Other(o) => o.fmt(f),
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

/// The events whose rows disagree with what their stored objects expand to with `opts` (whose
/// window end is the table's horizon), each as a finding, and the events that could not be
/// expanded. An event without rows that expands to nothing is no finding.
pub(super) async fn stale<S: Store>(
    store: &S,
    user: &User,
    list: &EventList,
    rows: &[Period],
    opts: &ExpandOptions,
) -> Result<(Vec<Finding>, Vec<(Uid, String)>)> {
    let mut per_uid: HashMap<&Uid, Vec<&Period>> = HashMap::new();
    for p in rows {
        per_uid.entry(&p.uid).or_default().push(p);
    }
    let uids: Vec<Uid> = list
        .active
        .iter()
        .chain(list.active_instances.iter().map(|(u, _)| u))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut findings = Vec::new();
    let mut unreadable = Vec::new();
    for chunk in uids.chunks(LOAD_CHUNK) {
        for (uid, expanded) in expand_chunk(store, user, chunk, opts).await? {
            let exp = match expanded {
                Ok(exp) => exp,
                Err(e) => {
                    unreadable.push((uid, e.message().to_owned()));
                    continue;
                }
            };
            let have = per_uid.get(&uid).map(Vec::as_slice).unwrap_or_default();
            if have.is_empty() {
                if !exp.periods.is_empty() {
                    findings.push(Finding::MissingPeriods {
                        uid,
                        expected: exp.periods.len(),
                    });
                }
                continue;
            }
            // At the occurrence cap, which occurrences are kept depends on the window: no
            // certain answer.
            if exp.periods.len() >= crate::recurrence::MAX_OCCURRENCES {
                continue;
            }
            let before = |p: &Period| !exp.unbounded || p.start < opts.window_end;
            let mut want: Vec<&Period> = exp.periods.iter().filter(|p| before(p)).collect();
            let mut got: Vec<&Period> = have.iter().copied().filter(|p| before(p)).collect();
            want.sort();
            got.sort();
            let same =
                want.len() == got.len() && want.iter().zip(&got).all(|(a, b)| a.same_details(b));
            if !same {
                findings.push(Finding::StalePeriods {
                    uid,
                    expected: want.len(),
                    rows: got.len(),
                });
            }
        }
    }
    Ok((findings, unreadable))
}

/// The expansion options of the audit: the user's settings, with the table's horizon as the
/// window end when one is recorded.
async fn audit_options<S: Store>(
    store: &S,
    user: &User,
    now: DateTime<Utc>,
) -> Result<ExpandOptions> {
    let settings = settings(store, user, &Overrides::default()).await?;
    let mut opts = settings.expand_options(now);
    if let Some(end) = store.providers(user).await?.value.window_end {
        opts.window_end = end;
    }
    Ok(opts)
}

/// Compares the user's objects with their own `freebusy` table (see the module): an active event
/// whose rows are missing or are not what it expands to (with the user's settings, up to the
/// table's horizon), and a cancelled event that still has rows, are findings.
///
/// # Errors
///
/// The store's errors reading the list, the table or the settings.
pub async fn audit<S: Store>(store: &S, user: &User, now: DateTime<Utc>) -> Result<Audit> {
    let list = store.list_events(user).await?;
    let all = store.freebusy(user, &Table::FreeBusy).await?.value;
    let opts = audit_options(store, user, now).await?;
    let (avail_uids, avail_rows) =
        super::availability::rows(store, user, opts.window_end, opts.tz).await?;
    // The availability's rows, compared apart: they belong to no object.
    let (avail_have, table): (Vec<Period>, Vec<Period>) =
        all.into_iter().partition(|p| avail_uids.contains(&p.uid));
    let gaps = gaps(&list, &table);
    let (mut findings, unreadable) = stale(store, user, &list, &table, &opts).await?;
    for uid in &avail_uids {
        let want: Vec<Period> = avail_rows
            .iter()
            .filter(|p| &p.uid == uid)
            .cloned()
            .collect();
        let got: Vec<&Period> = avail_have.iter().filter(|p| &p.uid == uid).collect();
        if super::availability::differs(&want, &got, opts.window_end) {
            findings.push(Finding::StaleAvailability {
                uid: uid.clone(),
                expected: want.len(),
                rows: got.len(),
            });
        }
    }
    let mut report = Audit {
        events: list.active.len() + list.active_instances.len(),
        without_object: gaps.without_object,
        findings,
        unreadable,
    };
    let others = super::other::audit(store, user, &opts).await?;
    report
        .findings
        .extend(others.into_iter().map(Finding::Other));
    report.findings.extend(
        gaps.cancelled_with_rows
            .into_iter()
            .map(|(uid, rows)| Finding::CancelledWithPeriods { uid, rows }),
    );
    Ok(report)
}
