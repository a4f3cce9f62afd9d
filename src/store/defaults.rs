//! The bodies of the provided [`Store`] methods that are more than a line: the one-change step
//! every provided write applies, the bulk read built from single reads, and the step of an
//! incoming request. Each is built from the trait's required methods only, so a backend that
//! overrides none of them is still correct.

use crate::error::{ErrorKind, Result};
use crate::id::{Uid, User};
use crate::period::check_event;

use crate::object::EventObject;

use super::{Change, EventFamily, Incoming, Outcome, Providers, Step, Store, Table, Version};

/// Applies a step built by a provided write and answers its write's outcome.
pub(super) async fn write<S: Store + ?Sized>(
    store: &S,
    user: &User,
    step: Step,
) -> Result<Outcome> {
    Ok(store.apply_step(user, &step).await?.last())
}

/// `change` (a write of `table`), after a [`Change::Expect`] of `expect` when given.
pub(super) fn guarded(table: &Table, expect: Option<Version>, change: Change) -> Step {
    let mut step = Step::default();
    if let Some(version) = expect {
        step.push(Change::Expect {
            table: table.clone(),
            version,
        });
    }
    step.push(change);
    step
}

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

/// The step of [`Store::store_incoming`]; the version of `freebusy` is the outcome of its
/// periods' replacement, from inside the step.
pub(super) async fn store_incoming<S: Store + ?Sized>(
    store: &S,
    user: &User,
    incoming: &Incoming,
) -> Result<Version> {
    let step = Step::for_incoming(incoming)?;
    let applied = store.apply_step(user, &step).await?;
    Ok(applied
        .outcomes
        .get(1)
        .copied()
        .unwrap_or_default()
        .version())
}

impl Step {
    /// The step of [`Store::store_incoming`], checked: the object, the event's periods in
    /// `freebusy` (the second change, whose outcome is the table's new version), the provider
    /// mark of a parent, and the queue entry.
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
