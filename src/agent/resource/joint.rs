//! A booking's store step and quota changes in one transaction, where the resource's store and
//! the quota journal share a database ([`crate::journal::apply_together`]; PostgreSQL). The
//! capacity (the step's [`Change::Reserve`](crate::Change::Reserve)) and the quota
//! ([`JournalChange::ReserveWithinLimit`]) are both checked inside that transaction, under the
//! resource's lock and the quota's: either both hold or nothing is written, and no redo record
//! is needed. Elsewhere (files, memory, two databases) these functions answer that they did
//! nothing, and the caller writes the two apart with the redo record.

use crate::error::{ErrorKind, Result};
use crate::id::{Group, Quota, Uid, User};
use crate::journal::joint::is_journal_refusal;
use crate::journal::{apply_together, Journal, JournalChange, UsageTable};
use crate::period::Period;
use crate::refresh::Settings;
use crate::store::{EventFamily, Step, Store};

use super::super::decision::{Action, Reason};
use super::{build, charged, group_of, settled, text, Mode, Occurrence, Shape};

/// What a booking writes besides its decisions.
pub(super) struct Booking<'a> {
    pub(super) resource: &'a User,
    pub(super) msg: &'a super::super::Message,
    pub(super) master: Option<&'a crate::object::EventObject>,
    pub(super) occurrences: &'a [Occurrence],
    pub(super) organiser: &'a str,
    pub(super) unbounded: bool,
    pub(super) shape: &'a Shape<'a>,
    pub(super) mode: Mode,
}

/// Writes the booking and its quota in one transaction: `None`, writing nothing, where the
/// store and the journal do not share a database. When the quota refuses, the accepted
/// occurrences become over quota (declined, or left for a person in `accept-if-free`) in
/// `verdicts` and the booking is written so. Returns the step and the rows it wrote.
///
/// # Errors
///
/// Busy when another booker took the capacity first (nothing written; the caller decides
/// again); stale when the quota's providers changed since they were read; the store's and
/// journal's errors.
pub(super) async fn book_together<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &Quota,
    b: &Booking<'_>,
    verdicts: &mut [(Action, Reason)],
) -> Result<Option<(Step, Vec<Period>)>> {
    if store.database().is_none() {
        return Ok(None);
    }
    let organiser = User::new(b.organiser)?;
    let group = group_of(journal, quota, &organiser).await?;
    loop {
        let (step, added) = build(
            store,
            b.resource,
            b.msg,
            b.master,
            b.occurrences,
            verdicts,
            b.shape,
        )
        .await?;
        let changes = reservation(journal, quota, b, verdicts, &organiser, &group).await?;
        match apply_together(store, journal, b.resource, &step, quota, &changes).await {
            Ok(Some(_)) => return Ok(Some((step, added))),
            Ok(None) => return Ok(None),
            Err(e)
                if e.kind() == ErrorKind::Busy
                    && is_journal_refusal(&e)
                    && verdicts.iter().any(|v| v.0 == Action::Accepted) =>
            {
                for v in verdicts.iter_mut().filter(|v| v.0 == Action::Accepted) {
                    *v = match b.mode {
                        Mode::AcceptIfFree => (Action::LeftForPerson, Reason::OverQuota),
                        _ => (Action::Declined, Reason::OverQuota),
                    };
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The journal changes of a booking decided as `verdicts`: with accepted occurrences, their
/// usage reserved within the group's limit (the check), recorded for the organiser, the
/// quota's copy (the series with EXDATEs where the resource did not accept) and its providers
/// entry; with none, the earlier reservation of the event (if any) released.
async fn reservation<J: Journal>(
    journal: &J,
    quota: &Quota,
    b: &Booking<'_>,
    verdicts: &[(Action, Reason)],
    organiser: &User,
    group: &Group,
) -> Result<Vec<JournalChange>> {
    let uid = &b.msg.uid;
    if !verdicts.iter().any(|v| v.0 == Action::Accepted) {
        if journal.get_event(quota, uid, None).await?.is_none() {
            return Ok(Vec::new());
        }
        let mut changes = vec![usage_of(UsageTable::User(organiser.clone()), uid, vec![])];
        changes.extend(release(journal, quota, uid).await?);
        return Ok(changes);
    }
    let usage = charged(
        b.occurrences,
        verdicts,
        b.resource,
        b.unbounded,
        b.shape.horizon,
    );
    let mut changes = vec![if usage.is_empty() {
        // Nothing within the horizon yet (a series without end starting later): nothing to
        // check, and nothing of this event charged.
        usage_of(UsageTable::Journal(group.clone()), uid, vec![])
    } else {
        JournalChange::ReserveWithinLimit {
            group: group.clone(),
            periods: usage.clone(),
        }
    }];
    changes.push(usage_of(UsageTable::User(organiser.clone()), uid, usage));
    let refused: Vec<_> = b
        .occurrences
        .iter()
        .zip(verdicts)
        .filter(|(o, v)| v.0 != Action::Accepted && o.rid.is_some())
        .map(|(o, _)| o.period.start)
        .collect();
    let base = b
        .master
        .or(b.msg.objects.first())
        .map(|o| o.text())
        .unwrap_or_default();
    changes.push(JournalChange::PutEvent {
        uid: uid.clone(),
        rid: None,
        text: text::with_exdates(base, &refused),
    });
    changes.extend(provider(journal, quota, uid, b.unbounded).await?);
    Ok(changes)
}

/// Replaces the periods of `uid` in `table` (no version expected).
fn usage_of(table: UsageTable, uid: &Uid, periods: Vec<Period>) -> JournalChange {
    JournalChange::ReplaceUsagePeriods {
        table,
        uid: uid.clone(),
        rid: None,
        periods,
        expect: None,
    }
}

/// The change that marks `uid` as a provider of the quota or not, when it is not so already;
/// it expects the version read, so a concurrent change makes the joint write stale.
async fn provider<J: Journal>(
    journal: &J,
    quota: &Quota,
    uid: &Uid,
    present: bool,
) -> Result<Option<JournalChange>> {
    providers(journal, quota, &[(uid.clone(), present)]).await
}

/// The one change that marks every UID of `marks` as a provider or not (as [`provider`]), so
/// that several bookings settled in one joint write expect the same providers' version once.
async fn providers<J: Journal>(
    journal: &J,
    quota: &Quota,
    marks: &[(Uid, bool)],
) -> Result<Option<JournalChange>> {
    let current = journal.providers(quota).await?;
    let next = marks
        .iter()
        .fold(current.value.clone(), |p, (uid, present)| {
            p.marked(uid, *present)
        });
    Ok(
        (next != current.value).then_some(JournalChange::SetProviders {
            providers: next,
            expect: Some(current.version),
        }),
    )
}

/// The changes that give back what a reservation holds (as [`super::release`]): its rows in
/// every usage table (each expecting the version read), its object and its providers entry.
async fn release<J: Journal>(journal: &J, quota: &Quota, uid: &Uid) -> Result<Vec<JournalChange>> {
    let mut changes = release_rows(journal, quota, std::slice::from_ref(uid)).await?;
    changes.extend(provider(journal, quota, uid, false).await?);
    Ok(changes)
}

/// The changes that remove the rows of `uids` from every usage table (one change per table,
/// expecting the version read) and their objects; their providers entries are the caller's.
async fn release_rows<J: Journal>(
    journal: &J,
    quota: &Quota,
    uids: &[Uid],
) -> Result<Vec<JournalChange>> {
    let mut changes = Vec::new();
    if uids.is_empty() {
        return Ok(changes);
    }
    for table in journal.usage_tables(quota).await? {
        let current = journal.usage(quota, &table).await?;
        if current.value.iter().any(|p| uids.contains(&p.uid)) {
            let periods = current
                .value
                .into_iter()
                .filter(|p| !uids.contains(&p.uid))
                .collect();
            changes.push(JournalChange::SetUsage {
                table,
                periods,
                expect: Some(current.version),
            });
        }
    }
    changes.extend(uids.iter().map(|uid| JournalChange::RemoveEvent {
        uid: uid.clone(),
        rid: None,
    }));
    Ok(changes)
}

/// Cancels a booking (the store's `step`) and gives its quota back in one transaction:
/// `false`, writing nothing, where the store and the journal do not share a database. `after`
/// is the resource's copy as the step leaves it, with the resource's settings: what is still
/// charged (after cancelled instances, or all of it when nothing was cancelled); `whole`
/// releases the reservation instead (the series was cancelled).
///
/// # Errors
///
/// Stale when the quota's tables changed since they were read; the store's and journal's
/// errors.
#[allow(clippy::too_many_arguments)]
pub(super) async fn cancel_together<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &Quota,
    resource: &User,
    msg: &super::super::Message,
    step: &Step,
    (family, settings): (&EventFamily, &Settings),
    whole: bool,
) -> Result<bool> {
    let after = (!whole).then_some(family);
    let at = (settings, chrono::Utc::now());
    settle_together(
        store,
        journal,
        quota,
        resource,
        step,
        at,
        &[(&msg.uid, after)],
    )
    .await
}

/// Applies `step` to the resource's store and settles the quota of every booking of `after`
/// in one transaction: `false`, writing nothing, where the store and the journal do not share a
/// database (the caller then writes the redo record, the step and [`super::settle`]). Each
/// booking is charged as its copy in `after` (the resource's copy as the step leaves it, read
/// with the resource's settings at the instant given) holds it, and released when that holds
/// nothing or is `None`: what [`super::settle`] does after the step, in the step's
/// transaction. Used by a cancellation, the cron job's settlement of an extension and a
/// delegation.
///
/// # Errors
///
/// Stale when the quota's tables changed since they were read (the caller computes again);
/// the store's and journal's errors.
pub(super) async fn settle_together<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &Quota,
    resource: &User,
    step: &Step,
    (settings, now): (&Settings, chrono::DateTime<chrono::Utc>),
    after: &[(&Uid, Option<&EventFamily>)],
) -> Result<bool> {
    if store.database().is_none() {
        return Ok(false);
    }
    let mut released = Vec::new();
    let mut kept = Vec::new();
    let mut marks = Vec::new();
    for (uid, family) in after {
        let uid = (*uid).clone();
        match settled(journal, quota, resource, &uid, *family, settings, now).await? {
            Some(s) => {
                marks.push((uid.clone(), s.unbounded));
                kept.push((uid, s));
            }
            None => {
                marks.push((uid.clone(), false));
                released.push(uid);
            }
        }
    }
    // The released rows first: their changes expect the usage tables' versions as read, which
    // the kept bookings' replacements would move on.
    let mut changes = release_rows(journal, quota, &released).await?;
    for (uid, s) in kept {
        changes.push(usage_of(
            UsageTable::User(s.organiser),
            &uid,
            s.usage.clone(),
        ));
        changes.push(usage_of(UsageTable::Journal(s.group), &uid, s.usage));
        changes.push(JournalChange::PutEvent {
            uid,
            rid: None,
            text: s.text,
        });
    }
    changes.extend(providers(journal, quota, &marks).await?);
    Ok(
        apply_together(store, journal, resource, step, quota, &changes)
            .await?
            .is_some(),
    )
}

/// `family` as `step` leaves it: the objects the step puts for its UID replace (or join) the
/// stored ones, active.
pub(super) fn family_after(family: &EventFamily, step: &Step) -> EventFamily {
    let mut out = family.clone();
    for change in &step.changes {
        if let crate::store::Change::PutEvent { uid, rid, text } = change {
            if uid != &family.uid {
                continue;
            }
            let stored = crate::store::StoredEvent {
                text: text.clone(),
                status: crate::store::EventStatus::Active,
            };
            match rid {
                None => out.parent = Some(stored),
                Some(rid) => {
                    out.instances.retain(|(r, _)| r != rid);
                    out.instances.push((rid.clone(), stored));
                    out.instances.sort_by(|a, b| a.0.cmp(&b.0));
                }
            }
        }
    }
    out
}
