//! The quota's side of a booking where the store and the journal are written apart (files,
//! memory, two databases): the reservation recorded after the store's step, the redo record
//! (`X-CALSTORE-PENDING`) written before it, and [`recover`], which settles a reservation
//! interrupted by a crash from the resource's store, the commit point. [`release`] gives a
//! reservation back.

use chrono::{DateTime, Utc};

use crate::error::{ErrorKind, Result};
use crate::id::{Group, Uid, User};
use crate::journal::{Journal, UsageTable};
use crate::object::EventObject;
use crate::period::Period;
use crate::refresh::{self, Overrides};
use crate::store::{EventStatus, Store};

use super::super::decision::{Action, Reason};

use super::{text, Occurrence};

/// The quota's copy of the reservation (the series without the occurrences not accepted, so
/// that `make-freebusy --quotas` charges exactly what was accepted, and extends a series without
/// end as the cron job goes), the organiser's usage table, and the quota's providers. A
/// reservation with nothing accepted is removed, which gives its quota back.
#[allow(clippy::too_many_arguments)]
pub(super) async fn record_reservation<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    msg: &super::super::Message,
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
pub(super) async fn mark_journal_provider<J: Journal>(
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

/// Gives back the quota a cancelled booking (or cancelled instances of it) held: the whole
/// reservation for a CANCEL of the series, else what is left after the cancelled instances.
///
/// # Errors
///
/// The store's and journal's errors; corrupt data when the journal's copy does not parse.
pub(super) async fn give_back<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    msg: &super::super::Message,
) -> Result<()> {
    if msg.objects.iter().any(|o| o.rid().is_none()) {
        return release(journal, quota, &msg.uid).await;
    }
    // Instances cancelled: charge what the resource's copy still holds.
    settle(store, journal, quota, resource, &msg.uid, Utc::now())
        .await
        .map(|_| ())
}

/// The organiser's group in `quota` (the organiser alone when the quota names none).
pub(super) async fn group_of<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    organiser: &User,
) -> Result<Group> {
    match journal.groups(quota).await?.remove(organiser) {
        Some(g) => Ok(g),
        None => Group::new(organiser.as_str()),
    }
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
pub(super) async fn settle<S: Store, J: Journal>(
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
    let Some(s) = settled(
        journal,
        quota,
        resource,
        uid,
        family.as_ref(),
        &settings,
        now,
    )
    .await?
    else {
        release(journal, quota, uid).await?;
        return Ok(false);
    };
    for table in [UsageTable::User(s.organiser), UsageTable::Journal(s.group)] {
        journal
            .replace_usage_periods(quota, &table, uid, None, s.usage.clone(), None)
            .await?;
    }
    journal.put_event(quota, uid, None, &s.text).await?;
    mark_journal_provider(journal, quota, uid, s.unbounded).await?;
    Ok(true)
}

/// What the journal holds for a reservation whose resource copy is `family` ([`settled`]).
pub(super) struct Settled {
    /// The series' text with EXDATEs where the resource did not accept.
    pub(super) text: String,
    /// The usage it charges (up to the window).
    pub(super) usage: Vec<Period>,
    /// Its organiser, charged in `freebusy/<organiser>`.
    pub(super) organiser: User,
    /// The organiser's group, charged in `journal/<group>`.
    pub(super) group: Group,
    /// Whether it recurs without end (a provider of the quota).
    pub(super) unbounded: bool,
}

/// What the journal should hold for `uid` given the resource's stored `family`: `None` when the
/// resource holds nothing of it (the reservation is then released).
pub(super) async fn settled<J: Journal>(
    journal: &J,
    quota: &crate::id::Quota,
    resource: &User,
    uid: &Uid,
    family: Option<&crate::store::EventFamily>,
    settings: &refresh::Settings,
    now: DateTime<Utc>,
) -> Result<Option<Settled>> {
    let master = family.and_then(|f| match &f.parent {
        Some(p) if p.status == EventStatus::Active => EventObject::parse(&p.text).ok(),
        _ => None,
    });
    let Some(master) = master.filter(|m| m.counts_for(resource, false)) else {
        return Ok(None);
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
    let group = group_of(journal, quota, &organiser).await?;
    Ok(Some(Settled {
        text,
        usage,
        organiser,
        group,
        unbounded: expansion.unbounded,
    }))
}

/// Marks the journal's copy of `uid` pending for `resource` (the redo record of a change to a
/// booking), when the journal holds one.
pub(super) async fn mark_pending<J: Journal>(
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
