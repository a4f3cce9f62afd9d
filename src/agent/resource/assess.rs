//! What a resource would decide for a request, without writing anything: the occurrences and
//! the verdict per occurrence from its table, its standing bookings and its availability. A
//! delegation asks it of the resource and of each delegate before booking one of them.

use chrono::{DateTime, Duration, Utc};

use crate::agent::decision::{Action, Reason};
use crate::error::{Error, Result};
use crate::id::User;
use crate::object::EventObject;
use crate::period::Period;
use crate::query;
use crate::recurrence::{self, ExpandOptions};
use crate::refresh::{self, Overrides};
use crate::store::{EventStatus, Store, Table};

use super::super::{read_message, Message};
use super::decide::{self, decide, Context, Occurrence};
use super::{unavailable, Policy};

/// The decision a resource would make, per occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The occurrences checked (up to the horizon, and as far as the latest booking held).
    pub occurrences: Vec<Occurrence>,
    /// The action and reason for each, in the same order.
    pub verdicts: Vec<(Action, Reason)>,
}

impl Assessment {
    /// Whether every occurrence would be accepted (and there is at least one).
    pub fn all_accepted(&self) -> bool {
        !self.verdicts.is_empty() && self.verdicts.iter().all(|v| v.0 == Action::Accepted)
    }
}

/// What `resource` would decide for the REQUEST `message` under `policy` at `now`, the quota
/// aside (a quota is checked when the booking reserves it). Reads as [`super::book_at`] does
/// before it writes: the request is expanded up to the resource's horizon and as far as the
/// latest booking it holds (a series without end that starts beyond the horizon over one
/// window from its start); what holds the time is the resource's table with its standing
/// bookings expanded on demand as far as the request goes, and its VAVAILABILITY.
///
/// # Errors
///
/// Invalid input when the message is not a calendar of one event or has no ORGANIZER; the
/// store's errors.
pub async fn assess<S: Store>(
    store: &S,
    resource: &User,
    message: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Assessment> {
    let p = prepare(store, resource, message, policy, now).await?;
    Ok(Assessment {
        occurrences: p.occurrences,
        verdicts: p.verdicts,
    })
}

/// What [`assess`] reads and decides, kept for [`super::book_at`] to write from.
pub(super) struct Prepared {
    pub msg: Message,
    pub organiser: String,
    pub settings: refresh::Settings,
    pub horizon: DateTime<Utc>,
    /// The rows the resource's table holds for this UID before the booking.
    pub old: Vec<Period>,
    pub series: bool,
    /// Whether the request recurs without end (its usage is charged up to the horizon).
    pub unbounded: bool,
    pub occurrences: Vec<Occurrence>,
    pub verdicts: Vec<(Action, Reason)>,
}

/// Reads and decides as [`assess`] says, keeping what a booking writes from.
pub(super) async fn prepare<S: Store>(
    store: &S,
    resource: &User,
    message: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Prepared> {
    let msg = read_message(message)?;
    let uid = msg.uid.clone();
    let organiser = msg
        .objects
        .iter()
        .find_map(|o| o.organizer())
        .ok_or_else(|| Error::invalid(format!("uid {:?} has no ORGANIZER", uid.as_str())))?
        .to_owned();
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let window = Duration::days(i64::from(settings.window_days));
    let horizon = now + window;
    let table = store.freebusy(resource, &Table::FreeBusy).await?.value;
    let old: Vec<Period> = table.iter().filter(|p| p.uid == uid).cloned().collect();
    // A series is checked as far as the latest booking the resource holds, so that a one-off
    // far ahead is seen (the converse case: a standing booking is expanded below as far as
    // the request goes).
    let latest = table
        .iter()
        .filter(|p| p.uid != uid)
        .map(|p| p.end)
        .max()
        .unwrap_or(horizon);
    let check_end = horizon.max(latest);
    let master = msg.objects.iter().find(|o| o.rid().is_none());
    let instances: Vec<(EventObject, EventStatus)> = msg
        .objects
        .iter()
        .filter(|o| o.rid().is_some())
        .map(|o| (o.clone(), EventStatus::Active))
        .collect();
    // A series without end that starts beyond the horizon is checked for a window from its
    // start, so that it is decided at all.
    let starts = master
        .and_then(|m| m.dtstart())
        .and_then(|d| d.to_utc(&settings.tz).ok())
        .map_or(check_end, |s| s + window);
    let asked = ExpandOptions {
        tz: settings.tz,
        window_end: check_end.max(starts),
        needs_action: true,
    };
    let expansion = recurrence::expand(resource, master, &instances, &asked)?;
    let series = master.is_some_and(|m| !m.rules().is_empty() || !m.rdates().is_empty())
        || expansion.periods.len() > 1;
    let occurrences = decide::occurrences(&expansion.periods, master, series, &settings.tz);
    // What holds the resource's time over the request's span: its table, with standing
    // bookings without end expanded on demand as far as the request goes.
    let (first, last) = match (
        occurrences.first(),
        occurrences.iter().map(|o| o.period.end).max(),
    ) {
        (Some(f), Some(l)) => (f.period.start, l),
        _ => (now, now),
    };
    // The availability's own rows are no booking: outside availability is its own reason
    // (`OutsideAvailability`, from the preference), never "busy with" its uid.
    let availability_uids = crate::refresh::availability::uids(
        &crate::refresh::availability::load(store, resource).await?,
    );
    let others: Vec<Period> = if occurrences.is_empty() {
        Vec::new()
    } else {
        query::freebusy(
            store,
            resource,
            &Table::FreeBusy,
            Some(first),
            Some(last),
            now,
        )
        .await?
        .periods
        .into_iter()
        .filter(|p| p.uid != uid && p.is_busy() && !availability_uids.contains(&p.uid))
        .collect()
    };
    let unavailable = unavailable(store, resource, first, last, settings.tz).await?;
    let ctx = Context {
        policy,
        permitted: policy.permits(resource, &organiser),
        series,
        others: &others,
        unavailable: &unavailable,
        tz: settings.tz,
        now,
    };
    let verdicts = decide(&ctx, &occurrences);
    let unbounded = expansion.unbounded;
    Ok(Prepared {
        msg,
        organiser,
        settings,
        horizon,
        old,
        series,
        unbounded,
        occurrences,
        verdicts,
    })
}
