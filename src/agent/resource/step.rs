//! The store's step of a booking: the resource's copy carrying its own PARTSTAT (ACCEPTED on the
//! series, an override per occurrence answered otherwise), the rows the cron job would write
//! from it, its providers entry and its queue entries, behind a reservation of the accepted
//! occurrences within the capacity; and the usage its accepted occurrences charge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Rid, User};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::refresh;
use crate::store::{Change, EventStatus, QueueKind, Request, Step, Store, Table};

use super::super::decision::{Action, Reason};

use super::{text, Occurrence, PartStat};

pub(super) fn partstat(a: Action) -> PartStat {
    match a {
        Action::Accepted => PartStat::Accepted,
        Action::Declined => PartStat::Declined,
        _ => PartStat::NeedsAction,
    }
}

/// The series' PARTSTAT: accepted when any occurrence is, else left for a person when any is,
/// else declined; occurrences answered otherwise get overrides.
pub(super) fn series_partstat(verdicts: &[(Action, Reason)]) -> PartStat {
    if verdicts.iter().any(|v| v.0 == Action::Accepted) {
        PartStat::Accepted
    } else if verdicts.iter().any(|v| v.0 == Action::LeftForPerson) {
        PartStat::NeedsAction
    } else {
        PartStat::Declined
    }
}

/// The usage the accepted occurrences charge (up to the horizon for a series without end).
pub(super) fn charged(
    occurrences: &[Occurrence],
    verdicts: &[(Action, Reason)],
    resource: &User,
    unbounded: bool,
    horizon: DateTime<Utc>,
) -> Vec<Period> {
    let mut usage: Vec<Period> = occurrences
        .iter()
        .zip(verdicts)
        .filter(|(o, v)| v.0 == Action::Accepted && (!unbounded || o.period.start < horizon))
        .map(|(o, _)| {
            let mut p = o.period.clone();
            // One event in the journal: the instances' periods are charged with the series'.
            p.rid = None;
            p.attendee = Some(resource.as_str().to_owned());
            p
        })
        .collect();
    usage = period::normalise(usage);
    usage
}

/// What shapes the write besides the decisions.
#[derive(Clone, Copy)]
pub(super) struct Shape<'a> {
    pub(super) settings: &'a refresh::Settings,
    pub(super) horizon: DateTime<Utc>,
    pub(super) series: bool,
    pub(super) capacity: Option<usize>,
    pub(super) now: DateTime<Utc>,
}

/// Writes the step [`build`] makes (in one [`Store::apply_step`]). Returns the step and the
/// rows written.
pub(super) async fn write<S: Store>(
    store: &S,
    resource: &User,
    msg: &super::super::Message,
    master: Option<&EventObject>,
    occurrences: &[Occurrence],
    verdicts: &[(Action, Reason)],
    shape: &Shape<'_>,
) -> Result<(Step, Vec<Period>)> {
    let (step, kept) = build(store, resource, msg, master, occurrences, verdicts, shape).await?;
    store.apply_step(resource, &step).await?;
    Ok((step, kept))
}

/// The step that writes the resource's copy (its PARTSTAT on the series, overrides for
/// occurrences answered otherwise), the table rows the cron job would write from it, the
/// providers entry and the queue, whose first change reserves the accepted occurrences within
/// capacity. Returns the step and the rows it writes.
pub(super) async fn build<S: Store>(
    store: &S,
    resource: &User,
    msg: &super::super::Message,
    master: Option<&EventObject>,
    occurrences: &[Occurrence],
    verdicts: &[(Action, Reason)],
    shape: &Shape<'_>,
) -> Result<(Step, Vec<Period>)> {
    let Shape {
        settings,
        horizon,
        series,
        capacity,
        now,
    } = *shape;
    let uid = &msg.uid;
    let series_stat = series_partstat(verdicts);
    let decided: BTreeMap<Option<Rid>, (PartStat, &Period)> = occurrences
        .iter()
        .zip(verdicts)
        .map(|(o, v)| (o.rid.clone(), (partstat(v.0), &o.period)))
        .collect();
    let mut texts: Vec<(Option<Rid>, String)> = Vec::new();
    if let Some(m) = master {
        texts.push((None, text::with_partstat(m.text(), resource, series_stat)));
    }
    for o in msg.objects.iter().filter(|o| o.rid().is_some()) {
        let stat = decided.get(&o.rid().cloned()).map_or(series_stat, |d| d.0);
        texts.push((
            o.rid().cloned(),
            text::with_partstat(o.text(), resource, stat),
        ));
    }
    if let (Some(m), true) = (master, series) {
        for (rid, (stat, p)) in &decided {
            let Some(rid) = rid else { continue };
            let from_message = msg.objects.iter().any(|o| o.rid() == Some(rid));
            if *stat != series_stat && !from_message {
                texts.push((
                    Some(rid.clone()),
                    text::instance(m.text(), resource, rid, p.start, p.end, *stat),
                ));
            }
        }
    }
    // The rows: what the cron job computes from these texts (the resource's accepted
    // occurrences only), so that no later run disagrees with the booking.
    let mut family = crate::store::EventFamily {
        uid: uid.clone(),
        parent: None,
        instances: Vec::new(),
    };
    for (rid, t) in &texts {
        let stored = crate::store::StoredEvent {
            text: t.clone(),
            status: EventStatus::Active,
        };
        match rid {
            None => family.parent = Some(stored),
            Some(r) => family.instances.push((r.clone(), stored)),
        }
    }
    family.instances.sort_by(|a, b| a.0.cmp(&b.0));
    let mut opts = settings.expand_options(now);
    opts.window_end = horizon;
    let kept = refresh::expand_family(resource, &family, &opts)?;
    let hold: Vec<Period> = kept
        .periods
        .iter()
        .cloned()
        .map(|mut p| {
            p.rid = None;
            p
        })
        .collect();
    let mut step = Step::default();
    if let Some(capacity) = capacity {
        step.push(Change::Reserve {
            table: Table::FreeBusy,
            periods: period::normalise(hold),
            capacity,
        });
    }
    for (rid, t) in texts {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid,
            text: t,
        });
    }
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: kept.periods.clone(),
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: kept.unbounded,
    });
    // The queue: what is left for a person, and nothing else of this event.
    let left: Vec<Option<Rid>> = if series_stat == PartStat::NeedsAction {
        vec![None]
    } else {
        decided
            .iter()
            .filter(|(r, d)| r.is_some() && d.0 == PartStat::NeedsAction)
            .map(|(r, _)| r.clone())
            .collect()
    };
    for r in store.requests(resource).await? {
        if &r.uid == uid && !left.contains(&r.rid) {
            step.push(Change::Dequeue {
                uid: uid.clone(),
                rid: r.rid,
            });
        }
    }
    for rid in left {
        step.push(Change::Queue(Request {
            uid: uid.clone(),
            rid,
            method: QueueKind::Request,
        }));
    }
    step.check()?;
    Ok((step, kept.periods))
}
