//! Booking: [`book`] decides a REQUEST occurrence by occurrence and writes the resource's copy,
//! rows, queue and quota. Where the store and the journal share a database both go through one
//! transaction ([`super::joint`]), elsewhere behind the redo record ([`super::quota`]).

use chrono::{DateTime, Utc};

use crate::error::{ErrorKind, Result};
use crate::id::{Rid, User};
use crate::journal::{Journal, UsageTable};
use crate::object::EventObject;
use crate::period::Period;
use crate::store::{Step, Store};

use super::super::decision::{Action, Decision, Item, Reason};

use super::assess::{prepare, Prepared};
use super::quota::{group_of, record_reservation, settle};
use super::step::{charged, partstat, series_partstat, write, Shape};
use super::{joint, text, Mode, Occurrence, PartStat, Policy};

/// Books `resource` for the REQUEST `message` by `policy`, now: [`book_at`], or a delegation
/// when the policy has `delegate_to_free` ([`super::delegation::book_delegating`]).
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
    super::delegation::book_delegating(store, journal, resource, message, policy, Utc::now()).await
}

/// Books `resource` for the REQUEST `message` by `policy` at the instant `now`: decides every
/// occurrence, writes the resource's copy, tables, queue and the quota's usage, and returns the
/// decision with the REPLY.
///
/// The resource's store is written in one [`Store::apply_step`] whose first change reserves the
/// accepted occurrences within the capacity, so two bookings of one slot at once cannot both
/// hold it: the later one fails as [`ErrorKind::Busy`] and is decided again (up to ten times)
/// against what the winner wrote. Where the store and the journal share a database
/// ([`crate::journal::apply_together`], PostgreSQL), the step and the quota's changes are one
/// transaction that checks the capacity and the quota's limit under both locks: no redo record.
/// Elsewhere the quota is reserved before the store is written
/// ([`Journal::reserve_within_limit`], atomic) behind a redo record ([`recover`](super::recover)) and put back
/// when the store refuses.
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
            // Busy: another booker took the slot first; stale: another writer changed the
            // quota's providers read for a joint write. Either way, decide again.
            Err(e) if matches!(e.kind(), ErrorKind::Busy | ErrorKind::Stale) && attempt < 10 => {
                attempt += 1;
            }
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
    let Prepared {
        msg,
        organiser,
        settings,
        horizon,
        old,
        series,
        unbounded,
        occurrences,
        mut verdicts,
    } = prepare(store, resource, message, policy, now).await?;
    let master = msg.objects.iter().find(|o| o.rid().is_none());
    let uid = msg.uid.clone();
    let shape = Shape {
        settings: &settings,
        horizon,
        series,
        // accept-always takes a slot whatever holds it: no capacity check.
        capacity: (policy.mode != Mode::AcceptAlways).then_some(policy.capacity),
        now,
    };
    let charges = matches!(
        policy.mode,
        Mode::Automatic | Mode::AcceptIfFree | Mode::DeclineIfBusy
    );

    // Where the store and the journal share a database, the store's step and the quota's
    // changes are one transaction: no redo record.
    if let (Some(quota), true) = (&policy.quota, charges) {
        let booking = joint::Booking {
            resource,
            msg: &msg,
            master,
            occurrences: &occurrences,
            organiser: &organiser,
            unbounded,
            shape: &shape,
            mode: policy.mode,
        };
        if let Some((step, added)) =
            joint::book_together(store, journal, quota, &booking, &mut verdicts).await?
        {
            return Ok(conclude(
                resource,
                &msg,
                master,
                &occurrences,
                &verdicts,
                old,
                (step, added),
                now,
            ));
        }
    }

    // The quota: the accepted occurrences (within the horizon for a series without end; the
    // cron job charges the rest as it extends) must fit the organiser's group's limit.
    let mut quota_undo = None;
    if let (Some(quota), true) = (&policy.quota, charges) {
        let group = group_of(journal, quota, &User::new(organiser.as_str())?).await?;
        let usage = charged(&occurrences, &verdicts, resource, unbounded, horizon);
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
            let usage = charged(&occurrences, &verdicts, resource, unbounded, horizon);
            record_reservation(
                journal,
                quota,
                &msg,
                master,
                &occurrences,
                &verdicts,
                &organiser,
                usage,
                unbounded,
            )
            .await?;
        }
    }

    Ok(conclude(
        resource,
        &msg,
        master,
        &occurrences,
        &verdicts,
        old,
        (step, added),
        now,
    ))
}

/// The decision of a written booking: per occurrence what was done and why, the rows it added
/// and removed (`old`: the event's rows before), and the REPLY.
#[allow(clippy::too_many_arguments)]
fn conclude(
    resource: &User,
    msg: &super::super::Message,
    master: Option<&EventObject>,
    occurrences: &[Occurrence],
    verdicts: &[(Action, Reason)],
    old: Vec<Period>,
    (step, added): (Step, Vec<Period>),
    now: DateTime<Utc>,
) -> Decision {
    let uid = &msg.uid;
    let series_stat = series_partstat(verdicts);
    let items: Vec<Item> = occurrences
        .iter()
        .zip(verdicts)
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
            .zip(verdicts)
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
    Decision {
        items,
        added,
        removed,
        reply,
        step,
    }
}
