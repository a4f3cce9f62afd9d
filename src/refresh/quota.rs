//! The cron job for quotas (`make-freebusy --quotas`): the windows-and-providers regeneration of
//! [`super::regenerate`] for the journal's reservations that recur without end. A reservation's
//! periods go to the usage table of the user who made it (its ORGANIZER) and to the journal of
//! that user's group, with the quota as attendee.
//!
//! Each usage table is written once per chunk of reservations with a versioned
//! read-modify-write, so a reservation's periods (every recurrence together) change in one atomic
//! step per table; the providers table is merged under its version, so an entry another writer
//! added meanwhile is kept.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, ErrorKind, Result};
use crate::id::{Group, Quota, Rid, Uid, User};
use crate::journal::{Journal, UsageTable};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::recurrence::{self, ExpandOptions};
use crate::store::{EventFamily, EventStatus, Providers};

use super::{DEFAULT_WINDOW_DAYS, LOAD_CHUNK};

/// How one quota's regeneration is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaOptions {
    /// The window for rules without end, in days ([`DEFAULT_WINDOW_DAYS`] when `None`).
    pub window_days: Option<u32>,
    /// Expand every reservation rather than only the providers.
    pub reset: bool,
    /// Compute and report, write nothing.
    pub dry_run: bool,
}

/// How [`regenerate_quota`] went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaRegenerated {
    /// Reservations expanded.
    pub events: usize,
    /// Periods computed (each written to two usage tables).
    pub periods: usize,
    /// Reservations that could not be expanded: (uid, reason). Their periods are left as they
    /// were.
    pub skipped: Vec<(Uid, String)>,
    /// The periods computed, with the quota as attendee (for `--dry-run`).
    pub table: Vec<Period>,
}

/// Regenerates one quota's reservations: every one when `reset` is asked or the recorded window
/// end is later than the new one, else only the providers.
///
/// # Errors
///
/// The journal's errors (a stale version is retried, never returned); a reservation that does
/// not parse or has no ORGANIZER is reported in [`QuotaRegenerated::skipped`] instead.
pub async fn regenerate_quota<J: Journal>(
    journal: &J,
    quota: &Quota,
    options: &QuotaOptions,
    now: DateTime<Utc>,
) -> Result<QuotaRegenerated> {
    let days = options.window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
    let opts = ExpandOptions {
        tz: chrono_tz::Tz::UTC,
        window_end: now + Duration::days(i64::from(days)),
        needs_action: true,
    };
    let providers = journal.providers(quota).await?;
    let full = options.reset
        || providers
            .value
            .window_end
            .is_none_or(|end| end > opts.window_end);
    let list = journal.list_events(quota).await?;
    let uids: BTreeSet<Uid> = if full {
        list.active
            .iter()
            .chain(list.active_instances.iter().map(|(u, _)| u))
            .cloned()
            .collect()
    } else {
        providers
            .value
            .events
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    };
    let uids: Vec<Uid> = uids.into_iter().collect();
    let groups = journal.groups(quota).await?;
    let mut report = QuotaRegenerated::default();
    let mut unbounded = Vec::new();
    for chunk in uids.chunks(LOAD_CHUNK) {
        // The periods of this chunk per usage table, and the uids each table gets replaced.
        let mut tables: BTreeMap<UsageTable, (Vec<Uid>, Vec<Period>)> = BTreeMap::new();
        // One read for the chunk's objects, not one per object.
        let families = journal.load_events(quota, chunk).await?;
        for family in &families {
            let uid = &family.uid;
            let (organiser, periods, is_unbounded) = match expand_reservation(quota, family, &opts)
            {
                Ok(v) => v,
                Err(e) if skippable(&e) => {
                    if !full {
                        // Keep extending it once it reads again.
                        unbounded.push((uid.clone(), None));
                    }
                    report.skipped.push((uid.clone(), e.message().to_owned()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            report.events += 1;
            report.periods += periods.len();
            if is_unbounded {
                unbounded.push((uid.clone(), None));
            }
            let group = match groups.get(&organiser) {
                Some(g) => g.clone(),
                None => Group::new(organiser.as_str())?,
            };
            for table in [UsageTable::User(organiser), UsageTable::Journal(group)] {
                let entry = tables.entry(table).or_default();
                entry.0.push(uid.clone());
                entry.1.extend(periods.iter().cloned());
            }
            report.table.extend(periods);
        }
        if !options.dry_run {
            for (table, (uids, periods)) in tables {
                replace_uids(journal, quota, &table, &uids, periods).await?;
            }
        }
    }
    if !options.dry_run {
        let expanded: HashSet<&Uid> = uids.iter().collect();
        let before: HashSet<&Uid> = providers.value.events.iter().map(|(u, _)| u).collect();
        loop {
            let current = journal.providers(quota).await?;
            let mut events: Vec<(Uid, Option<Rid>)> = current
                .value
                .events
                .iter()
                .filter(|(u, _)| !(expanded.contains(u) || full && before.contains(u)))
                .cloned()
                .collect();
            events.extend(unbounded.iter().cloned());
            events.sort();
            events.dedup();
            let next = Providers {
                window_end: Some(opts.window_end),
                events,
            };
            if next == current.value {
                break;
            }
            match journal
                .set_providers(quota, &next, Some(current.version))
                .await
            {
                Err(e) if e.kind() == ErrorKind::Stale => continue,
                Err(e) => return Err(e),
                Ok(_) => break,
            }
        }
    }
    Ok(report)
}

fn skippable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::InvalidInput)
}

/// Replaces every period of `uids` in one usage table with `periods`: one versioned write,
/// retried when another writer changed the table meanwhile.
async fn replace_uids<J: Journal>(
    journal: &J,
    quota: &Quota,
    table: &UsageTable,
    uids: &[Uid],
    periods: Vec<Period>,
) -> Result<()> {
    period::check_uids(uids, &periods)?;
    let set: HashSet<&Uid> = uids.iter().collect();
    loop {
        let current = journal.usage(quota, table).await?;
        let mut rows = current.value;
        rows.retain(|p| !set.contains(&p.uid));
        period::merge(&mut rows, periods.clone());
        match journal
            .set_usage(quota, table, rows, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// One reservation's periods from its stored objects: the parent and its active instances.
fn expand_reservation(
    quota: &Quota,
    family: &EventFamily,
    opts: &ExpandOptions,
) -> Result<(User, Vec<Period>, bool)> {
    let uid = &family.uid;
    let parse = |text: &str, rid: Option<&Rid>| {
        EventObject::parse(text).map_err(|e| {
            Error::corrupt(format!(
                "reservation {:?}{} of quota {quota} does not parse: {}",
                uid.as_str(),
                rid.map(|r| format!(" rid {r}")).unwrap_or_default(),
                e.message()
            ))
        })
    };
    let parent = match &family.parent {
        Some(stored) => Some(parse(&stored.text, None)?),
        None => None,
    };
    let mut objects = Vec::with_capacity(family.instances.len());
    for (rid, stored) in &family.instances {
        if stored.status == EventStatus::Active {
            objects.push((parse(&stored.text, Some(rid))?, EventStatus::Active));
        }
    }
    let organiser = parent
        .as_ref()
        .or(objects.first().map(|(o, _)| o))
        .and_then(|o| o.organizer())
        .ok_or_else(|| Error::invalid("the reservation has no ORGANIZER"))?;
    let organiser = User::new(organiser)?;
    let expansion = recurrence::expand(&organiser, parent.as_ref(), &objects, opts)?;
    let periods = expansion
        .periods
        .into_iter()
        .map(|mut p| {
            p.attendee = Some(quota.as_str().to_owned());
            p
        })
        .collect();
    Ok((organiser, periods, expansion.unbounded))
}
