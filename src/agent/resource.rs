//! Resources that schedule themselves: a room, a car or a projector answers a REQUEST by its
//! policy ([`Policy`], read from its preferences), occurrence by occurrence, and keeps what it
//! accepted busy through every path.
//!
//! [`book`] is the one entry point: it expands the request (every occurrence up to the
//! resource's horizon, and as far as the latest booking it holds, so that a series is checked
//! against one-off bookings far ahead), reads what holds the resource's time (its table, and its
//! standing bookings without end expanded as far as the request goes), decides per occurrence
//! ([`decide()`]), charges the accepted occurrences to the quota, and writes the resource's copy
//! carrying its own PARTSTAT (ACCEPTED on the series, an override per occurrence answered
//! otherwise) so that the cron job, which counts only what the resource accepted, keeps the
//! booking. The returned [`Decision`] says, per occurrence, what was done and why, and holds the
//! REPLY to send.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use calstore::agent::{resource, Action, Reason};
//! use calstore::memory::{MemoryJournal, MemoryStore};
//! use calstore::{Uid, User};
//! let (store, journal) = (MemoryStore::new(), MemoryJournal::new());
//! let room = User::new("mailto:room@example.com")?;
//! let request = |uid: &str, rule: &str| format!(
//!     "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
//!      DTSTAMP:20260101T000000Z\r\nDTSTART:20990105T090000Z\r\nDTEND:20990105T100000Z\r\n{rule}\
//!      ORGANIZER:mailto:alice@example.com\r\n\
//!      ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:room@example.com\r\n\
//!      END:VEVENT\r\nEND:VCALENDAR\r\n");
//! let policy = resource::Policy::default(); // accept if free, decline if busy
//! let first = resource::book(&store, &journal, &room, &request("a", ""), &policy).await?;
//! assert_eq!(first.items[0].action, Action::Accepted);
//! // A daily series of three over the same first hour: that day declined, the others accepted.
//! let series = request("b", "RRULE:FREQ=DAILY;COUNT=3\r\n");
//! let d = resource::book(&store, &journal, &room, &series, &policy).await?;
//! let actions: Vec<Action> = d.items.iter().map(|i| i.action).collect();
//! assert_eq!(actions, [Action::Declined, Action::Accepted, Action::Accepted]);
//! assert_eq!(d.items[0].reason, Reason::Busy { uid: Uid::new("a")? });
//! assert!(d.reply.unwrap().contains("RECURRENCE-ID:20990105T090000Z"));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, ErrorKind, Result};
use crate::id::{Group, Rid, Uid, User};
use crate::journal::{Journal, UsageTable};
use crate::object::{same_address, EventObject, TimeValue};
use crate::period::{self, Period};
use crate::query;
use crate::recurrence::{self, ExpandOptions};
use crate::refresh::{self, Overrides};
use crate::store::{Change, EventStatus, QueueKind, Request, Step, Store, Table};

use super::decision::{Action, Decision, Item, Reason};
use super::read_message;

pub mod decide;
mod dispatch;
pub mod policy;
pub mod text;

pub use decide::{decide, Context, Occurrence};
pub use dispatch::receive;
pub use policy::{Mode, Policy};
pub use text::PartStat;

/// Whether `user` acts as a resource for `message`: it has resource settings (a `policy` was
/// read), or the message names it with `CUTYPE=RESOURCE` or `ROOM`.
pub fn is_resource(user: &User, message: &str, policy: Option<&Policy>) -> bool {
    if policy.is_some() {
        return true;
    }
    let Ok(objects) = crate::object::split_calendar(message) else {
        return false;
    };
    objects.iter().any(|o| {
        let text = o.text();
        text.split("\r\n").chain(text.split('\n')).any(|l| {
            let upper = l.to_ascii_uppercase();
            upper.starts_with("ATTENDEE")
                && (upper.contains("CUTYPE=RESOURCE") || upper.contains("CUTYPE=ROOM"))
                && l.rsplit(':').next().is_some_and(|a| {
                    same_address(&format!("mailto:{a}"), user.as_str())
                        || same_address(a, user.as_str())
                })
        })
    })
}

/// The RECURRENCE-ID of a master's occurrence starting at `start`, in the master's DTSTART form.
fn occurrence_rid(dtstart: Option<&TimeValue>, start: DateTime<Utc>, tz: &chrono_tz::Tz) -> Rid {
    match dtstart {
        Some(TimeValue::Date(_)) => Rid::from_date(start.with_timezone(tz).date_naive()),
        Some(TimeValue::Floating(_)) => Rid::from_floating(start.with_timezone(tz).naive_local()),
        _ => Rid::from_utc(start),
    }
}

/// Books `resource` for the REQUEST `message` by `policy`, now. As [`book_at`].
///
/// # Errors
///
/// As [`book_at`].
pub async fn book<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
) -> Result<Decision> {
    book_at(store, journal, resource, message, policy, Utc::now()).await
}

/// Books `resource` for the REQUEST `message` by `policy` at the instant `now`: decides every
/// occurrence, writes the resource's copy, tables, queue and the quota's usage, and returns the
/// decision with the REPLY.
///
/// The resource's store is written in one [`Store::apply_step`] whose first change reserves the
/// accepted occurrences within the capacity, so two bookings of one slot at once cannot both
/// hold it: the later one fails as [`ErrorKind::Busy`] and is decided again (up to ten times)
/// against what the winner wrote. The quota is reserved before the store is written
/// ([`Journal::reserve_within_limit`], atomic) and put back when the store refuses.
///
/// # Errors
///
/// Invalid input when the message is not a calendar of one event or has no ORGANIZER, or the
/// policy names a quota the journal does not hold; the store's and journal's errors.
pub async fn book_at<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let mut attempt = 0;
    loop {
        match book_once(store, journal, resource, message, policy, now).await {
            Err(e) if e.kind() == ErrorKind::Busy && attempt < 10 => attempt += 1,
            other => return other,
        }
    }
}

/// One attempt: decide from what is stored, then write.
async fn book_once<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let msg = read_message(message)?;
    let uid = msg.uid.clone();
    let organiser = msg
        .objects
        .iter()
        .find_map(|o| o.organizer())
        .ok_or_else(|| Error::invalid(format!("uid {:?} has no ORGANIZER", uid.as_str())))?
        .to_owned();
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let horizon = now + Duration::days(i64::from(settings.window_days));
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
        .map_or(check_end, |s| {
            s + Duration::days(i64::from(settings.window_days))
        });
    let asked = ExpandOptions {
        tz: settings.tz,
        window_end: check_end.max(starts),
        needs_action: true,
    };
    let expansion = recurrence::expand(resource, master, &instances, &asked)?;
    let series = master.is_some_and(|m| !m.rules().is_empty() || !m.rdates().is_empty())
        || expansion.periods.len() > 1;
    let occurrences: Vec<Occurrence> = expansion
        .periods
        .iter()
        .map(|p| Occurrence {
            rid: match &p.rid {
                Some(r) => Some(r.clone()),
                None if series => Some(occurrence_rid(
                    master.and_then(|m| m.dtstart()),
                    p.start,
                    &settings.tz,
                )),
                None => None,
            },
            period: p.clone(),
        })
        .collect();

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
    let mut verdicts = decide(&ctx, &occurrences);

    // The quota: the accepted occurrences (within the horizon for a series without end; the
    // cron job charges the rest as it extends) must fit the organiser's group's limit.
    let mut quota_undo = None;
    if let (Some(quota), true) = (
        &policy.quota,
        matches!(
            policy.mode,
            Mode::Automatic | Mode::AcceptIfFree | Mode::DeclineIfBusy
        ),
    ) {
        let group = match journal
            .groups(quota)
            .await?
            .remove(&User::new(organiser.as_str())?)
        {
            Some(g) => g,
            None => Group::new(organiser.as_str())?,
        };
        let usage = charged(
            &occurrences,
            &verdicts,
            resource,
            expansion.unbounded,
            horizon,
        );
        let table = UsageTable::Journal(group.clone());
        let before: Vec<Period> = journal
            .usage(quota, &table)
            .await?
            .value
            .into_iter()
            .filter(|p| p.uid == uid)
            .collect();
        if !usage.is_empty() {
            // The redo record: the reservation, marked pending with the resource's address,
            // is in the journal before its usage is; [`recover`] settles a pending one from
            // the resource's store (the commit point) after a crash at any moment.
            let base = master
                .or(msg.objects.first())
                .map(|o| o.text())
                .unwrap_or_default();
            journal
                .put_event(quota, &uid, None, &text::pending(base, resource))
                .await?;
            match journal.reserve_within_limit(quota, &group, usage).await {
                Ok(_) => quota_undo = Some((quota.clone(), table, before)),
                Err(e) if e.kind() == ErrorKind::Busy => {
                    settle(store, journal, quota, resource, &uid, now).await?;
                    for v in &mut verdicts {
                        if v.0 == Action::Accepted {
                            *v = match policy.mode {
                                Mode::AcceptIfFree => (Action::LeftForPerson, Reason::OverQuota),
                                _ => (Action::Declined, Reason::OverQuota),
                            };
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    let shape = Shape {
        settings: &settings,
        horizon,
        series,
        // accept-always takes a slot whatever holds it: no capacity check.
        capacity: (policy.mode != Mode::AcceptAlways).then_some(policy.capacity),
        now,
    };
    let written = write(
        store,
        resource,
        &msg,
        master,
        &occurrences,
        &verdicts,
        &shape,
    )
    .await;
    let (step, added) = match written {
        Ok(v) => v,
        Err(e) => {
            if let Some((quota, _table, _before)) = quota_undo {
                // Put the quota back as the store holds it; the store's refusal is what the
                // caller hears.
                if let Err(u) = settle(store, journal, &quota, resource, &uid, now).await {
                    return Err(
                        e.context(format!("putting the quota's usage back failed too ({u})"))
                    );
                }
            }
            return Err(e);
        }
    };
    if let Some(quota) = &policy.quota {
        if quota_undo.is_some() || journal.get_event(quota, &uid, None).await?.is_some() {
            let usage = charged(
                &occurrences,
                &verdicts,
                resource,
                expansion.unbounded,
                horizon,
            );
            record_reservation(
                journal,
                quota,
                &msg,
                master,
                &occurrences,
                &verdicts,
                &organiser,
                usage,
                expansion.unbounded,
            )
            .await?;
        }
    }

    let series_stat = series_partstat(&verdicts);
    let items: Vec<Item> = occurrences
        .iter()
        .zip(&verdicts)
        .map(|(o, (action, reason))| Item {
            uid: uid.clone(),
            rid: o.rid.clone(),
            action: *action,
            reason: reason.clone(),
        })
        .collect();
    let reply = if verdicts.iter().all(|v| v.0 == Action::LeftForPerson) {
        None
    } else {
        let exceptions: Vec<(Rid, PartStat)> = occurrences
            .iter()
            .zip(&verdicts)
            .filter_map(|(o, v)| {
                let p = partstat(v.0);
                (p != series_stat)
                    .then(|| o.rid.clone().map(|r| (r, p)))
                    .flatten()
            })
            .collect();
        let base = master
            .or(msg.objects.first())
            .map(|o| o.text())
            .unwrap_or_default();
        Some(text::reply(base, resource, series_stat, &exceptions, now))
    };
    let removed: Vec<Period> = old.into_iter().filter(|p| !added.contains(p)).collect();
    Ok(Decision {
        items,
        added,
        removed,
        reply,
        step,
    })
}

fn partstat(a: Action) -> PartStat {
    match a {
        Action::Accepted => PartStat::Accepted,
        Action::Declined => PartStat::Declined,
        _ => PartStat::NeedsAction,
    }
}

/// The series' PARTSTAT: accepted when any occurrence is, else left for a person when any is,
/// else declined; occurrences answered otherwise get overrides.
fn series_partstat(verdicts: &[(Action, Reason)]) -> PartStat {
    if verdicts.iter().any(|v| v.0 == Action::Accepted) {
        PartStat::Accepted
    } else if verdicts.iter().any(|v| v.0 == Action::LeftForPerson) {
        PartStat::NeedsAction
    } else {
        PartStat::Declined
    }
}

/// The usage the accepted occurrences charge (up to the horizon for a series without end).
fn charged(
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
struct Shape<'a> {
    settings: &'a refresh::Settings,
    horizon: DateTime<Utc>,
    series: bool,
    capacity: Option<usize>,
    now: DateTime<Utc>,
}

/// Writes the resource's copy (its PARTSTAT on the series, overrides for occurrences answered
/// otherwise), the table rows the cron job would write from it, the providers entry and the
/// queue, in one step whose first change reserves the accepted occurrences within capacity.
/// Returns the step and the rows written.
#[allow(clippy::too_many_arguments)]
async fn write<S: Store>(
    store: &S,
    resource: &User,
    msg: &super::Message,
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
    store.apply_step(resource, &step).await?;
    Ok((step, kept.periods))
}

/// The quota's copy of the reservation (the series without the occurrences not accepted, so
/// that `make-freebusy --quotas` charges exactly what was accepted, and extends a series without
/// end as the cron job goes), the organiser's usage table, and the quota's providers. A
/// reservation with nothing accepted is removed, which gives its quota back.
#[allow(clippy::too_many_arguments)]
async fn record_reservation<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    msg: &super::Message,
    master: Option<&EventObject>,
    occurrences: &[Occurrence],
    verdicts: &[(Action, Reason)],
    organiser: &str,
    usage: Vec<Period>,
    unbounded: bool,
) -> Result<()> {
    let uid = &msg.uid;
    let organiser = User::new(organiser)?;
    let any = verdicts.iter().any(|v| v.0 == Action::Accepted);
    let user_table = UsageTable::User(organiser);
    journal
        .replace_usage_periods(quota, &user_table, uid, None, usage.clone(), None)
        .await?;
    if !any {
        release(journal, quota, uid).await?;
        return Ok(());
    }
    let refused: Vec<DateTime<Utc>> = occurrences
        .iter()
        .zip(verdicts)
        .filter(|(o, v)| v.0 != Action::Accepted && o.rid.is_some())
        .map(|(o, _)| o.period.start)
        .collect();
    let base = master
        .or(msg.objects.first())
        .map(|o| o.text())
        .unwrap_or_default();
    journal
        .put_event(quota, uid, None, &text::with_exdates(base, &refused))
        .await?;
    mark_journal_provider(journal, quota, uid, unbounded).await
}

/// Adds or removes `uid` in the quota's providers table (versioned, retried when stale).
async fn mark_journal_provider<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    uid: &Uid,
    present: bool,
) -> Result<()> {
    loop {
        let current = journal.providers(quota).await?;
        let next = current.value.marked(uid, present);
        if next == current.value {
            return Ok(());
        }
        match journal
            .set_providers(quota, &next, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// Gives back the quota a reservation holds: its rows in every usage table, its object and its
/// providers entry. What a cancellation of a booking does.
///
/// # Errors
///
/// The journal's errors.
pub async fn release<J: Journal>(journal: &J, quota: &crate::id::Quota, uid: &Uid) -> Result<()> {
    for table in journal.usage_tables(quota).await? {
        let has = journal
            .usage(quota, &table)
            .await?
            .value
            .iter()
            .any(|p| &p.uid == uid);
        if has {
            loop {
                let current = journal.usage(quota, &table).await?;
                let rows: Vec<Period> = current
                    .value
                    .into_iter()
                    .filter(|p| &p.uid != uid)
                    .collect();
                match journal
                    .set_usage(quota, &table, rows, Some(current.version))
                    .await
                {
                    Err(e) if e.kind() == ErrorKind::Stale => continue,
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
    }
    journal.remove_event(quota, uid, None).await?;
    mark_journal_provider(journal, quota, uid, false).await
}

/// Cancels a booking of `resource` (a CANCEL from the organiser for the whole event): the
/// resource's copy is stored as cancelled, its rows and providers entry removed, its queue
/// entries dropped, and the quota it held given back.
///
/// # Errors
///
/// Invalid input when the message is not a calendar of one event; the store's and journal's
/// errors.
pub async fn cancel_booking<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
) -> Result<Decision> {
    let msg = read_message(message)?;
    let uid = msg.uid.clone();
    let old: Vec<Period> = store
        .freebusy(resource, &Table::FreeBusy)
        .await?
        .value
        .into_iter()
        .filter(|p| p.uid == uid)
        .collect();
    let mut step = Step::default();
    let mut items = Vec::new();
    for o in &msg.objects {
        step.push(Change::CancelEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
        items.push(Item {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            action: Action::Cancelled,
            reason: Reason::Applied,
        });
    }
    let whole = msg.objects.iter().any(|o| o.rid().is_none());
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let family = super::family_with(store, resource, &msg, EventStatus::Cancelled).await?;
    let kept = refresh::expand_family(resource, &family, &settings.expand_options(Utc::now()))?;
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: kept.periods.clone(),
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: kept.unbounded,
    });
    for r in store.requests(resource).await? {
        if r.uid == uid && (whole || msg.objects.iter().any(|o| o.rid() == r.rid.as_ref())) {
            step.push(Change::Dequeue {
                uid: uid.clone(),
                rid: r.rid,
            });
        }
    }
    step.check()?;
    if let Some(quota) = &policy.quota {
        mark_pending(journal, quota, resource, &uid).await?;
    }
    store.apply_step(resource, &step).await?;
    if let Some(quota) = &policy.quota {
        give_back(store, journal, quota, resource, &msg).await?;
    }
    let removed: Vec<Period> = old
        .into_iter()
        .filter(|p| !kept.periods.contains(p))
        .collect();
    Ok(Decision {
        items,
        added: Vec::new(),
        removed,
        reply: None,
        step,
    })
}

/// Gives back the quota a cancelled booking (or cancelled instances of it) held: the whole
/// reservation for a CANCEL of the series, else what is left after the cancelled instances.
///
/// # Errors
///
/// The store's and journal's errors; corrupt data when the journal's copy does not parse.
async fn give_back<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    msg: &super::Message,
) -> Result<()> {
    if msg.objects.iter().any(|o| o.rid().is_none()) {
        return release(journal, quota, &msg.uid).await;
    }
    // Instances cancelled: charge what the resource's copy still holds.
    settle(store, journal, quota, resource, &msg.uid, Utc::now())
        .await
        .map(|_| ())
}

/// What [`recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Pending reservations settled from the resource's store (the booking had landed).
    pub redone: Vec<Uid>,
    /// Pending reservations given back (the booking had not landed).
    pub released: Vec<Uid>,
}

/// Settles every pending reservation of `quota` (a booking interrupted between its redo record
/// and its last journal write): the resource's store is the commit point, so the reservation is
/// redone from the resource's copy when the booking landed there, and given back when it did
/// not. Run it before the quota's cron job and after a crash; it is idempotent.
///
/// # Errors
///
/// The store's and journal's errors.
pub async fn recover<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &crate::id::Quota,
) -> Result<Recovered> {
    let list = journal.list_events(quota).await?;
    let mut out = Recovered::default();
    for uid in &list.active {
        let Some(stored) = journal.get_event(quota, uid, None).await? else {
            continue;
        };
        let Some(resource) = text::pending_resource(&stored.text) else {
            continue;
        };
        let resource = User::new(resource)?;
        if settle(store, journal, quota, &resource, uid, Utc::now()).await? {
            out.redone.push(uid.clone());
        } else {
            out.released.push(uid.clone());
        }
    }
    Ok(out)
}

/// Makes the journal's reservation of `uid` what the resource's stored copy says: the accepted
/// occurrences charged (the series' text with EXDATEs where the resource did not accept), or
/// nothing. Returns whether anything is charged.
async fn settle<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    uid: &Uid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let family = store
        .load_events(resource, std::slice::from_ref(uid))
        .await?
        .pop();
    let master = family.as_ref().and_then(|f| match &f.parent {
        Some(p) if p.status == EventStatus::Active => EventObject::parse(&p.text).ok(),
        _ => None,
    });
    let Some(master) = master.filter(|m| m.counts_for(resource, false)) else {
        release(journal, quota, uid).await?;
        return Ok(false);
    };
    let refused: Vec<DateTime<Utc>> = family
        .iter()
        .flat_map(|f| f.instances.iter())
        .filter_map(|(_, inst)| EventObject::parse(&inst.text).ok())
        .filter(|o| !o.counts_for(resource, false))
        .filter_map(|o| o.recurrence_id().and_then(|r| r.to_utc(&settings.tz).ok()))
        .collect();
    let text = text::with_exdates(master.text(), &refused);
    let organiser = User::new(master.organizer().unwrap_or(resource.as_str()))?;
    let charged = crate::store::EventFamily {
        uid: uid.clone(),
        parent: Some(crate::store::StoredEvent {
            text: text.clone(),
            status: EventStatus::Active,
        }),
        instances: Vec::new(),
    };
    let expansion = refresh::expand_family(&organiser, &charged, &settings.expand_options(now))?;
    let usage: Vec<Period> = expansion
        .periods
        .into_iter()
        .map(|mut p| {
            p.attendee = Some(resource.as_str().to_owned());
            p
        })
        .collect();
    let group = match journal.groups(quota).await?.remove(&organiser) {
        Some(g) => g,
        None => Group::new(organiser.as_str())?,
    };
    for table in [UsageTable::User(organiser), UsageTable::Journal(group)] {
        journal
            .replace_usage_periods(quota, &table, uid, None, usage.clone(), None)
            .await?;
    }
    journal.put_event(quota, uid, None, &text).await?;
    mark_journal_provider(journal, quota, uid, expansion.unbounded).await?;
    Ok(true)
}

/// The preference that holds a user's VAVAILABILITY (the calendar text).
pub const AVAILABILITY: &str = "availability";

/// Stores `text` (a calendar with one or more VAVAILABILITY, RFC 7953) as `user`'s availability,
/// after reading it, and rewrites its BUSY-UNAVAILABLE rows in the user's `freebusy` table
/// ([`crate::refresh::availability::set`]); `None` removes both.
///
/// # Errors
///
/// Invalid input, storing nothing, when the text holds no VAVAILABILITY or one cannot be read;
/// the store's errors.
pub async fn set_availability<S: Store>(store: &S, user: &User, text: Option<&str>) -> Result<()> {
    crate::refresh::availability::set(store, user, text, Utc::now()).await
}

/// `user`'s unavailable periods in `[start, end)` from its stored VAVAILABILITY (none when it
/// has none), as busy periods of the uid `unavailable`.
///
/// # Errors
///
/// Invalid input naming the preference when the stored availability cannot be read; the
/// store's errors.
pub async fn unavailable<S: Store>(
    store: &S,
    user: &User,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Vec<Period>> {
    let name = crate::id::PrefName::new(AVAILABILITY)?;
    let Some(text) = store.preference(user, &name).await? else {
        return Ok(Vec::new());
    };
    let ctx = |e: Error| e.context(format!("preference {AVAILABILITY} of {user}"));
    let parsed = crate::object::availability::parse(&text).map_err(ctx)?;
    let spans =
        crate::object::availability::unavailable(user, &parsed, start, end, tz).map_err(ctx)?;
    let uid = Uid::new("unavailable")?;
    spans
        .into_iter()
        .map(|(s, e)| Period::new(s, e, uid.clone(), None))
        .collect()
}

/// Marks the journal's copy of `uid` pending for `resource` (the redo record of a change to a
/// booking), when the journal holds one.
async fn mark_pending<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    uid: &Uid,
) -> Result<()> {
    if let Some(stored) = journal.get_event(quota, uid, None).await? {
        if text::pending_resource(&stored.text).is_none() {
            journal
                .put_event(quota, uid, None, &text::pending(&stored.text, resource))
                .await?;
        }
    }
    Ok(())
}

/// The rows of `resource`'s table held beyond its capacity: busy periods of different events
/// that overlap more than `policy.capacity` at once. A booking never writes such a state (its
/// step checks the capacity), but two standing bookings without end that were each checked up
/// to their horizon can meet further on, when the cron job extends them; the cron job reports
/// them (`make-freebusy` warns and exits 65) rather than holding them silently. Empty for
/// `accept-always`, which overbooks on purpose.
///
/// # Errors
///
/// The store's errors.
pub async fn overbooked<S: Store>(
    store: &S,
    resource: &User,
    policy: &Policy,
) -> Result<Vec<Period>> {
    if policy.mode == Mode::AcceptAlways {
        return Ok(Vec::new());
    }
    // The availability's own rows hold no capacity: a booking made before the availability
    // changed is not "overbooked" by it.
    let availability = crate::refresh::availability::uids(
        &crate::refresh::availability::load(store, resource).await?,
    );
    let rows: Vec<Period> = store
        .freebusy(resource, &Table::FreeBusy)
        .await?
        .value
        .into_iter()
        .filter(|p| !availability.contains(&p.uid))
        .collect();
    let mut out = Vec::new();
    for row in rows.iter().filter(|p| p.is_busy()) {
        let others = period::capacity_conflicts(&rows, std::slice::from_ref(row), policy.capacity);
        if !others.is_empty() {
            out.push(row.clone());
        }
    }
    Ok(out)
}
