//! The agent's update for many events at once: what [`super::refresh_event`] does for one uid,
//! done for a batch with one table write and at most one providers write, so that a bulk import
//! does not rewrite the user's whole `freebusy` table once per object.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::id::{Uid, User};
use crate::period::Period;
use crate::recurrence::ExpandOptions;
use crate::store::{Change, Step, Store, Table};

use super::{expand_chunk, LOAD_CHUNK};

/// How [`refresh_events`] went.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Events whose periods were rewritten.
    pub events: usize,
    /// Periods written for them.
    pub periods: usize,
    /// Events that could not be expanded, with the reason. Their rows in the table are left as
    /// they were, as [`super::refresh_event`] leaves them when it fails.
    pub failed: Vec<(Uid, Error)>,
}

/// Recomputes the periods of every uid in `uids` (each from its parent and instances as stored
/// now; a uid with nothing stored loses its periods) in the user's own `freebusy` table, their
/// places in the providers table and the window end (see [`super::record_horizon`]), as one
/// [`Store::apply_step`].
///
/// # Errors
///
/// The store's errors. An event that does not expand is reported in [`Refreshed::failed`]
/// instead, and the others are still written.
pub async fn refresh_events<S: Store>(
    store: &S,
    user: &User,
    uids: &[Uid],
    opts: &ExpandOptions,
) -> Result<Refreshed> {
    let mut report = Refreshed::default();
    let mut fresh: Vec<Period> = Vec::new();
    // (uid, unbounded) of every event whose rows are replaced.
    let mut marks: Vec<(Uid, bool)> = Vec::with_capacity(uids.len());
    let uids: Vec<Uid> = uids
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in uids.chunks(LOAD_CHUNK) {
        let mut found = BTreeSet::new();
        for (uid, expanded) in expand_chunk(store, user, chunk, opts).await? {
            found.insert(uid.clone());
            match expanded {
                Ok(exp) => {
                    marks.push((uid, exp.unbounded));
                    fresh.extend(exp.periods);
                }
                Err(e) => report.failed.push((uid, e)),
            }
        }
        // Nothing stored under the uid any more: its periods go.
        marks.extend(
            chunk
                .iter()
                .filter(|u| !found.contains(*u))
                .map(|u| (u.clone(), false)),
        );
    }
    report.events = marks.len();
    report.periods = fresh.len();
    if marks.is_empty() {
        return Ok(report);
    }
    let replaced: Vec<Uid> = marks.iter().map(|(u, _)| u.clone()).collect();
    // Periods, marks and the horizon as one step: all or none of them across a crash.
    let mut step = Step::default();
    step.push(Change::ReplaceUidsPeriods {
        table: Table::FreeBusy,
        uids: replaced,
        periods: fresh,
    });
    step.push(Change::MarkProviders {
        marks,
        horizon: Some(opts.window_end),
    });
    store.apply_step(user, &step).await?;
    Ok(report)
}
