//! The default bodies of the [`Store`] methods that backends may do more cheaply: each is built
//! from the trait's required methods, so a backend that does not override them is still correct.

use std::collections::HashSet;

use crate::error::{ErrorKind, Result};
use crate::id::{Uid, User};
use crate::period::{self, check_event, check_uids, Period};

use crate::object::EventObject;

use super::{Change, EventFamily, Incoming, Providers, Step, Store, Table, Version};

/// `get_event` for each parent, `instances` and `get_event` for each instance.
pub(super) async fn load_events<S: Store + ?Sized>(
    store: &S,
    user: &User,
    uids: &[Uid],
) -> Result<Vec<EventFamily>> {
    let mut out = Vec::with_capacity(uids.len());
    for uid in uids {
        let parent = store.get_event(user, uid, None).await?;
        let mut instances = Vec::new();
        for (rid, _) in store.instances(user, uid).await? {
            if let Some(stored) = store.get_event(user, uid, Some(&rid)).await? {
                instances.push((rid, stored));
            }
        }
        out.push(EventFamily {
            uid: uid.clone(),
            parent,
            instances,
        });
    }
    Ok(out)
}

/// [`change_providers`] with one entry marked.
pub(super) async fn mark_provider<S: Store + ?Sized>(
    store: &S,
    user: &User,
    uid: &Uid,
    present: bool,
) -> Result<bool> {
    change_providers(store, user, |p| p.marked(uid, present)).await
}

/// A versioned read-modify-write of the providers table with `change`, retried on conflict;
/// writes nothing when `change` leaves the table as it is. Returns whether it wrote.
pub(crate) async fn change_providers<S: Store + ?Sized>(
    store: &S,
    user: &User,
    change: impl Fn(&Providers) -> Providers + Send,
) -> Result<bool> {
    loop {
        let current = store.providers(user).await?;
        let next = change(&current.value);
        if next == current.value {
            return Ok(false);
        }
        match store
            .set_providers(user, &next, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            other => return other.map(|_| true),
        }
    }
}

/// The step of [`Store::store_incoming`]: object, periods, provider mark, queue entry.
pub(super) async fn store_incoming<S: Store + ?Sized>(
    store: &S,
    user: &User,
    incoming: &Incoming,
) -> Result<Version> {
    let step = Step::for_incoming(incoming)?;
    store.apply_step(user, &step).await?;
    store.table_version(user, &Table::FreeBusy).await
}

impl Step {
    /// The step of [`Store::store_incoming`], checked: what a backend that overrides that method
    /// applies.
    ///
    /// # Errors
    ///
    /// Invalid input for periods of another event or a text that is not one VEVENT of the key.
    pub fn for_incoming(incoming: &Incoming) -> Result<Step> {
        let (uid, rid) = (&incoming.uid, incoming.rid.as_ref());
        check_event(uid, rid, &incoming.periods)?;
        let object = EventObject::parse_for_key(&incoming.text, uid, rid)?;
        let mut step = Step::default();
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
            text: incoming.text.clone(),
        });
        step.push(Change::ReplaceEventPeriods {
            table: Table::FreeBusy,
            uid: uid.clone(),
            rid: rid.cloned(),
            periods: incoming.periods.clone(),
        });
        if rid.is_none() {
            // What the cron job extends: a parent without end whose periods are in the table.
            let unbounded = object.rule().is_some_and(|r| r.is_unbounded());
            step.push(Change::MarkProvider {
                uid: uid.clone(),
                present: unbounded && !incoming.periods.is_empty(),
            });
        }
        step.push(Change::Queue(super::step::request(
            uid,
            rid,
            incoming.method,
        )));
        step.check()?;
        Ok(step)
    }
}

/// A versioned read-modify-write of the table, retried on conflict.
pub(super) async fn replace_uids_periods<S: Store + ?Sized>(
    store: &S,
    user: &User,
    table: &Table,
    uids: &[Uid],
    periods: Vec<Period>,
) -> Result<Version> {
    check_uids(uids, &periods)?;
    let uids: HashSet<&Uid> = uids.iter().collect();
    loop {
        let current = store.freebusy(user, table).await?;
        let mut rows = current.value;
        rows.retain(|p| !uids.contains(&p.uid));
        period::merge(&mut rows, periods.clone());
        match store
            .set_freebusy(user, table, rows, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            other => return other,
        }
    }
}
