//! Cancelling a booking: the organiser's CANCEL applied to the resource's copy and the quota
//! it held given back — in one transaction where the store and the journal share a database
//! ([`super::joint`]), else behind the redo record ([`super::quota`]): marked pending before the
//! store's step, settled after it.

use chrono::Utc;

use crate::error::Result;
use crate::id::User;
use crate::journal::Journal;
use crate::period::Period;
use crate::refresh::{self, Overrides};
use crate::store::{Change, EventStatus, Step, Store, Table};

use super::super::decision::{Action, Decision, Item, Reason};
use super::super::read_message;
use super::super::receive::plan_calendar;
use super::quota::{give_back, mark_pending, settle};
use super::{joint, Policy};

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
    let family = super::super::family_with(store, resource, &msg, EventStatus::Cancelled).await?;
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
    // One transaction where the store and the journal share a database; else the redo record
    // before the store's step, and the quota given back after it.
    let together = match &policy.quota {
        Some(quota) => {
            let after = (&family, &settings);
            joint::cancel_together(store, journal, quota, resource, &msg, &step, after, whole)
                .await?
        }
        None => false,
    };
    if !together {
        if let Some(quota) = &policy.quota {
            mark_pending(journal, quota, resource, &uid).await?;
        }
        store.apply_step(resource, &step).await?;
        if let Some(quota) = &policy.quota {
            give_back(store, journal, quota, resource, &msg).await?;
        }
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

/// A CANCEL delivered to a resource through [`super::receive`]: applied as for anyone (the
/// iTIP step: ordering, role, queue), and the quota it held given back when it cancelled
/// something, else settled as the store holds it — in one transaction where the store and the
/// journal share a database, else behind the redo record.
///
/// # Errors
///
/// As [`crate::agent::receive`], and the journal's errors.
pub(super) async fn cancel_delivered<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    text: &str,
    sender: Option<&str>,
    policy: &Policy,
) -> Result<Decision> {
    let (decision, after) = plan_calendar(store, resource, text, sender).await?;
    let Some(quota) = &policy.quota else {
        if !decision.step.is_empty() {
            store.apply_step(resource, &decision.step).await?;
        }
        return Ok(decision);
    };
    let msg = read_message(text)?;
    let cancelled = decision.items.iter().any(|i| i.action == Action::Cancelled);
    let whole = cancelled && msg.objects.iter().any(|o| o.rid().is_none());
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let after = (&after, &settings);
    let step = &decision.step;
    if joint::cancel_together(store, journal, quota, resource, &msg, step, after, whole).await? {
        return Ok(decision);
    }
    // The redo record first: a crash after the store's cancellation and before the quota is
    // given back is settled by `recover`.
    mark_pending(journal, quota, resource, &msg.uid).await?;
    if !step.is_empty() {
        store.apply_step(resource, step).await?;
    }
    if cancelled {
        give_back(store, journal, quota, resource, &msg).await?;
    } else {
        // Nothing was cancelled: the reservation stands as the store holds it.
        settle(store, journal, quota, resource, &msg.uid, Utc::now()).await?;
    }
    Ok(decision)
}
