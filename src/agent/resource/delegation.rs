//! Delegation to a free resource of the same quota (imip-agent's resource handler did it; here
//! the scheduling function `delegate_to_free [QUOTA]`): a resource that cannot take a request —
//! an occurrence busy, or over its quota — hands it to the first of the quota's delegates
//! (`Journal::delegates`) that is free for every occurrence.
//!
//! The rule is per whole request, not per occurrence: RFC 5546 delegates an attendee's
//! participation in a message, and a REPLY says DELEGATED once for the event. A series split
//! between two rooms, occurrence by occurrence, is not what an organiser asked for either. So
//! the whole request goes to the first delegate that would accept every occurrence; when there
//! is none, the resource decides as usual (accepting what it can, declining the rest with the
//! reason).
//!
//! The delegate is booked through [`book_at`] (its own step and its quota's, in one transaction
//! where its store and the journal share a database, else behind the redo record): its copy
//! names it `PARTSTAT=ACCEPTED` with `DELEGATED-FROM`, fills its table and charges the quota
//! once (the delegate's own quota, else the one delegated across). It is booked with no conflict
//! tolerated, so that a booker that took one of its slots in between makes it decline all, and
//! the next delegate is tried (the refusing copy it wrote is removed again: the organiser never
//! asked it). Then the resource's own copy is written in one step of its store:
//! `PARTSTAT=DELEGATED` with `DELEGATED-TO`, no rows, nothing queued, and what its own quota
//! held of the request given back (another quota than the delegate's) — in that step's
//! transaction where the two share a database, else behind the redo record. A crash between
//! the two leaves the delegate booked and the resource's copy as it was; the organiser, hearing
//! nothing, sends again, and the same delegate takes the same UID again (its own copy does not
//! hold it busy).

use chrono::{DateTime, Utc};

use crate::agent::decision::{Action, Decision, Item, Reason};
use crate::error::Result;
use crate::id::User;
use crate::journal::Journal;
use crate::refresh::{self, Overrides};
use crate::store::{Change, Step, Store, Table};

use super::super::read_message;
use super::assess::{assess, Assessment};
use super::{book_at, joint, mark_pending, settle, text, Mode, Policy};

/// Books `resource` for the REQUEST `message` by `policy` at `now`, delegating the whole
/// request to a free delegate of `policy.delegate`'s quota when the resource cannot take it.
/// Without `delegate_to_free`, or in a mode that does not decide by itself, this is
/// [`book_at`].
///
/// Delegation is tried when an occurrence is busy (or too many of a series are), or when the
/// resource's quota refuses every occurrence; never when the organiser may not book the
/// resource. A request this resource delegated before goes to the same delegate first.
///
/// # Errors
///
/// As [`book_at`]; the journal's errors reading the delegates.
pub async fn book_delegating<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Decision> {
    let Some(quota) = &policy.delegate else {
        return book_at(store, journal, resource, message, policy, now).await;
    };
    if !matches!(
        policy.mode,
        Mode::Automatic | Mode::AcceptIfFree | Mode::DeclineIfBusy
    ) {
        return book_at(store, journal, resource, message, policy, now).await;
    }
    let own = assess(store, resource, message, policy, now).await?;
    let listed = journal.delegates(quota).await?;
    let candidates: Vec<User> = listed.into_iter().filter(|d| d != resource).collect();
    // An update of a request delegated before goes to the same delegate; when it cannot take
    // it, its booking is cancelled (its quota given back) and the update decided afresh, so
    // that no two resources ever hold one request.
    if let Some(e) = earlier_delegate(store, resource, message).await? {
        if candidates.contains(&e) {
            let first = std::slice::from_ref(&e);
            if let Some(d) = delegate(store, journal, resource, message, policy, first, now).await?
            {
                return Ok(d);
            }
        }
        let theirs = delegate_policy(store, &e, policy).await?;
        super::cancel_booking(store, journal, &e, message, &theirs).await?;
    }
    if own.all_accepted() {
        let booked = book_at(store, journal, resource, message, policy, now).await?;
        let refused_by_quota = !booked.items.is_empty()
            && booked.items.iter().all(|i| i.action != Action::Accepted)
            && booked.items.iter().any(|i| i.reason == Reason::OverQuota);
        if refused_by_quota {
            if let Some(d) =
                delegate(store, journal, resource, message, policy, &candidates, now).await?
            {
                return Ok(d);
            }
        }
        return Ok(booked);
    }
    if delegable(&own) {
        if let Some(d) =
            delegate(store, journal, resource, message, policy, &candidates, now).await?
        {
            return Ok(d);
        }
    }
    book_at(store, journal, resource, message, policy, now).await
}

/// Whether another resource could take what this one cannot: an occurrence busy (or a series
/// with too many busy), and the organiser permitted.
fn delegable(own: &Assessment) -> bool {
    own.verdicts.iter().all(|v| v.1 != Reason::NotPermitted)
        && own
            .verdicts
            .iter()
            .any(|v| matches!(v.1, Reason::Busy { .. } | Reason::TooManyConflicts))
}

/// The delegate the resource's stored copy of the message's UID names, when it delegated it.
pub(super) async fn earlier_delegate<S: Store>(
    store: &S,
    resource: &User,
    message: &str,
) -> Result<Option<User>> {
    let uid = read_message(message)?.uid;
    let family = store
        .load_events(resource, std::slice::from_ref(&uid))
        .await?;
    let parent = family
        .into_iter()
        .next()
        .and_then(|f| f.parent)
        .filter(|p| p.status == crate::store::EventStatus::Active);
    Ok(parent
        .and_then(|p| text::delegated_to(&p.text, resource))
        .and_then(|a| User::new(a).ok()))
}

/// Tries the `candidates` in order: books the first free for every occurrence and writes the
/// resource's delegated copy. `None` when no delegate took the request.
async fn delegate<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    message: &str,
    policy: &Policy,
    candidates: &[User],
    now: DateTime<Utc>,
) -> Result<Option<Decision>> {
    for d in candidates.iter().filter(|d| *d != resource) {
        let theirs = Policy {
            max_conflicts: Some(0),
            delegate: None,
            ..delegate_policy(store, d, policy).await?
        };
        let forwarded = text::delegated(message, resource, d);
        if !assess(store, d, &forwarded, &theirs, now)
            .await?
            .all_accepted()
        {
            continue;
        }
        let uid = read_message(&forwarded)?.uid;
        let had_copy = store
            .load_events(d, std::slice::from_ref(&uid))
            .await?
            .iter()
            .any(|f| f.parent.is_some() || !f.instances.is_empty());
        let booked = book_at(store, journal, d, &forwarded, &theirs, now).await?;
        if booked.items.is_empty() || booked.items.iter().any(|i| i.action != Action::Accepted) {
            // Taken in between by another booker: the delegate's refusal is not kept (it was
            // never asked by the organiser), and the next delegate is tried.
            if !had_copy {
                forget(store, d, &uid).await?;
            }
            continue;
        }
        // What the resource held of the request itself (an update of a booking it had
        // accepted) is given back to its own quota, with the redo record a cancellation has;
        // within the delegate's quota the delegate's reservation has replaced it already.
        let own_quota = policy
            .quota
            .as_ref()
            .filter(|q| Some(*q) != theirs.quota.as_ref());
        // In the step's transaction where the store and the journal share a database: the
        // resource holds nothing of a delegated request, so its reservation is released.
        let (step, removed) = record(store, resource, &forwarded).await?;
        let together = match own_quota {
            Some(q) => give_back_together(store, journal, q, resource, (&uid, &step), now).await?,
            None => false,
        };
        if !together {
            if let Some(q) = own_quota {
                mark_pending(journal, q, resource, &uid).await?;
            }
            store.apply_step(resource, &step).await?;
            if let Some(q) = own_quota {
                settle(store, journal, q, resource, &uid, now).await?;
            }
        }
        let msg = read_message(message)?;
        let base = msg
            .objects
            .iter()
            .find(|o| o.rid().is_none())
            .or(msg.objects.first())
            .map(|o| o.text())
            .unwrap_or_default();
        // The occurrences as the delegate decided them (the resource may see none of them:
        // an update can already name it DELEGATED).
        let items = booked
            .items
            .iter()
            .map(|i| Item {
                uid: msg.uid.clone(),
                rid: i.rid.clone(),
                action: Action::Delegated,
                reason: Reason::DelegatedTo {
                    delegate: d.clone(),
                },
            })
            .collect();
        return Ok(Some(Decision {
            items,
            added: Vec::new(),
            removed,
            reply: Some(text::delegation_reply(base, resource, d, now)),
            step,
        }));
    }
    Ok(None)
}

/// Writes the resource's delegated copy of `uid` (`step`) and releases what `quota` held of it in
/// one transaction ([`joint::settle_together`]); `false`, writing nothing, where the store and
/// the journal do not share a database. A quota table changed by another writer since it was
/// read (stale) makes it read and tried again, as the step expects nothing of the store.
async fn give_back_together<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    (uid, step): (&crate::id::Uid, &Step),
    now: DateTime<Utc>,
) -> Result<bool> {
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let mut attempt = 0;
    loop {
        let at = (&settings, now);
        let after = [(uid, None)];
        match joint::settle_together(store, journal, quota, resource, step, at, &after).await {
            Err(e) if e.kind() == crate::error::ErrorKind::Stale && attempt < 10 => attempt += 1,
            other => return other,
        }
    }
}

/// The policy a delegate books by: its own (the default when it has no settings, or settings
/// that do not parse — it is then only checked for room), charging the delegator's quota when
/// it names none.
///
/// # Errors
///
/// The store's errors.
pub(super) async fn delegate_policy<S: Store>(
    store: &S,
    delegate: &User,
    delegator: &Policy,
) -> Result<Policy> {
    let own = match Policy::read(store, delegate).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) if e.kind() == crate::error::ErrorKind::InvalidInput => Policy::default(),
        Err(e) => return Err(e),
    };
    Ok(Policy {
        quota: own.quota.clone().or_else(|| delegator.quota.clone()),
        ..own
    })
}

/// Removes what a delegate that lost a race wrote for `uid` (its refusing copy, no rows, no
/// queue entry), in one step.
async fn forget<S: Store>(store: &S, delegate: &User, uid: &crate::id::Uid) -> Result<()> {
    let mut step = Step::default();
    step.push(Change::RemoveEvent {
        uid: uid.clone(),
        rid: None,
    });
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: Vec::new(),
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: false,
    });
    for r in store.requests(delegate).await? {
        if &r.uid == uid {
            step.push(Change::Dequeue {
                uid: uid.clone(),
                rid: r.rid,
            });
        }
    }
    step.check()?;
    store.apply_step(delegate, &step).await.map(|_| ())
}

/// The step that writes the resource's copy of a delegated request: the forwarded text (its
/// PARTSTAT=DELEGATED), no rows, not a provider, nothing queued. Returns the step (not yet
/// applied) and the rows it removes.
async fn record<S: Store>(
    store: &S,
    resource: &User,
    forwarded: &str,
) -> Result<(Step, Vec<crate::period::Period>)> {
    let msg = read_message(forwarded)?;
    let uid = msg.uid.clone();
    let removed: Vec<crate::period::Period> = store
        .freebusy(resource, &Table::FreeBusy)
        .await?
        .value
        .into_iter()
        .filter(|p| p.uid == uid)
        .collect();
    let mut step = Step::default();
    for o in &msg.objects {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: Vec::new(),
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: false,
    });
    for r in store.requests(resource).await? {
        if r.uid == uid {
            step.push(Change::Dequeue {
                uid: uid.clone(),
                rid: r.rid,
            });
        }
    }
    step.check()?;
    Ok((step, removed))
}
