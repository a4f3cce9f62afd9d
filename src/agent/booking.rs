//! Booking a resource (a room, a desk) within the quota of the one who books it: the low-level
//! step of one instance. A resource answering requests by its policy, occurrence by occurrence,
//! with bookings that last through the cron job, is [`super::resource::book`].

use crate::error::{Error, ErrorKind, Result};
use crate::id::{Group, Quota, User};
use crate::journal::{Journal, UsageTable};
use crate::period::Period;
use crate::store::{Change, EventStatus, Step, Store, Table};

use super::{dequeue_queued, expand, family_with, options, read_message};

/// The low-level booking of one instance; an agent answering for a resource uses
/// [`super::resource::book`] (its policy, every occurrence, the resource's own PARTSTAT stored so
/// that the cron job keeps the booking, the quota given back on cancellation).
///
/// Books the resource `resource` for the event of a REQUEST sent to it, within the quota
/// `quota` of the event's organiser: the quota's `journal/<group>` (the organiser's group from
/// the quota's groups, else the organiser) must stay within its limit, and the resource's own
/// `freebusy` table must have no other busy period at those times (capacity one). Then the
/// periods are reserved in both, recorded in the quota's `freebusy/<organiser>`, the event is
/// stored as the resource's own (providers marked or unmarked) and a queued request for it
/// removed. Returns the resource's step.
///
/// Atomic for the resource's store (one [`Store::apply_step`] whose first change is the
/// reservation); the journal is written first (reserve within the limit, one atomic call) and
/// put back as it was when the store then refuses, so a refusal leaves both unchanged. The
/// resource counts the event as busy whatever its PARTSTAT in the message says (it is being
/// asked), except DECLINED.
///
/// # Errors
///
/// [`ErrorKind::Busy`], changing nothing, when the slot is taken or the quota would be
/// exceeded; invalid input when the text is not a calendar of one event, has no ORGANIZER, or
/// yields periods of more than one instance (book such events one instance at a time); the
/// store's and journal's errors.
pub async fn book_resource<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &Quota,
    resource: &User,
    text: &str,
) -> Result<Step> {
    let message = read_message(text)?;
    let uid = &message.uid;
    let organiser = message
        .objects
        .iter()
        .find_map(|o| o.organizer())
        .ok_or_else(|| Error::invalid(format!("uid {:?} has no ORGANIZER", uid.as_str())))?;
    let organiser = User::new(organiser)?;
    let opts = options(store, resource, true).await?;
    let family = family_with(store, resource, &message, EventStatus::Active).await?;
    let expansion = expand(resource, &family, &opts)?;
    let periods = expansion.periods;
    let rid = periods.first().and_then(|p| p.rid.clone());
    if periods.iter().any(|p| p.rid != rid) {
        return Err(Error::invalid(format!(
            "uid {:?} has periods of several instances; book them one instance at a time",
            uid.as_str()
        )));
    }
    let group = match journal.groups(quota).await?.remove(&organiser) {
        Some(g) => g,
        None => Group::new(organiser.as_str())?,
    };
    let usage: Vec<Period> = periods
        .iter()
        .cloned()
        .map(|mut p| {
            p.attendee = Some(resource.as_str().to_owned());
            p
        })
        .collect();
    let journal_table = UsageTable::Journal(group.clone());
    let user_table = UsageTable::User(organiser.clone());
    let before = |t: Vec<Period>| -> Vec<Period> {
        t.into_iter()
            .filter(|p| p.is_event(uid, rid.as_ref()))
            .collect()
    };
    let old_journal = before(journal.usage(quota, &journal_table).await?.value);
    let old_user = before(journal.usage(quota, &user_table).await?.value);

    let periods_checked = periods.clone();
    let mut step = Step::default();
    step.push(Change::Reserve {
        table: Table::FreeBusy,
        periods: periods.clone(),
        capacity: 1,
    });
    for o in &message.objects {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods,
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: expansion.unbounded,
    });
    crate::refresh::record_horizon(&mut step, &opts);
    let rids = message.objects.iter().map(|o| o.rid().cloned());
    dequeue_queued(store, resource, uid, rids, &mut step).await?;
    step.check()?;

    // A slot already taken is refused before the journal is touched; the reservation in the
    // step is what guarantees it when another booking comes in between.
    let taken = store
        .conflicts(resource, &Table::FreeBusy, &periods_checked)
        .await?;
    if let Some(first) = taken.first() {
        return Err(Error::busy(format!(
            "{resource} is busy at {} (uid {:?}); nothing was written",
            first,
            first.uid.as_str()
        )));
    }
    if !usage.is_empty() {
        journal
            .reserve_within_limit(quota, &group, usage.clone())
            .await?;
    }
    let written = async {
        journal
            .replace_usage_periods(quota, &user_table, uid, rid.as_ref(), usage, None)
            .await?;
        store.apply_step(resource, &step).await
    }
    .await;
    if let Err(e) = written {
        // Put the journal back as it was; the refusal is what the caller needs to hear.
        let undo = async {
            journal
                .replace_usage_periods(quota, &journal_table, uid, rid.as_ref(), old_journal, None)
                .await?;
            journal
                .replace_usage_periods(quota, &user_table, uid, rid.as_ref(), old_user, None)
                .await
        }
        .await;
        return Err(match undo {
            Ok(_) => e,
            Err(u) if e.kind() == ErrorKind::Busy => Error::new(
                ErrorKind::Busy,
                format!(
                    "{}; and putting the quota's usage back failed: {u}",
                    e.message()
                ),
            ),
            Err(u) => e.context(format!("putting the quota's usage back failed too ({u})")),
        });
    }
    Ok(step)
}
