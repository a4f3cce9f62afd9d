//! The cron job meets a conflict: two standing bookings without end, each checked up to the
//! horizon it had when it was booked, can meet further on, when the cron job extends them
//! (`resource::overbooked` finds such rows). The resource then decides the newly reached
//! occurrence of the later booking by its policy, as it would have at booking time: in
//! `automatic` and `decline-if-busy` it declines that occurrence — the DECLINED override goes
//! into its copy, its row goes, its quota is given back — and the REPLY for the organiser is
//! produced; in `accept-if-free` and `none` the occurrence is left for a person (NEEDS-ACTION,
//! queued; its row goes too, as the cron job counts only what the resource accepted).
//! `accept-always` overbooks on purpose and `decline-always` holds nothing: nothing to settle.
//!
//! Only bookings (events another organiser sent) lose occurrences: the resource's own events and
//! reservations without objects hold their time.
//!
//! "The later booking" is the one whose request is newer (DTSTAMP of the resource's copy), then
//! the one whose series starts later, then the greater UID: the booking that came first keeps
//! its time, as it would have had the later one been checked that far.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::agent::decision::{Action, Decision, Item, Reason};
use crate::error::{ErrorKind, Result};
use crate::id::{Rid, Uid, User};
use crate::journal::Journal;
use crate::object::{same_address, EventObject};
use crate::period::{self, Period};
use crate::refresh::{self, Overrides};
use crate::store::{Change, EventFamily, EventStatus, QueueKind, Request, Step, Store, Table};

use super::decide::{occurrence_rid, verdict};
use super::text::{self, PartStat};
use super::{joint, mark_pending, settle, Mode, Policy};

/// What [`settle_extension`] did: the decision (per settled occurrence: declined or left for a
/// person, with the UID holding the time) and the REPLYs to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    /// The settled occurrences, the rows removed and the step applied.
    pub decision: Decision,
    /// One REPLY per booking with declined occurrences, for its organiser.
    pub replies: Vec<Reply>,
}

/// A REPLY the resource sends after the cron job declined occurrences of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The booking.
    pub uid: Uid,
    /// Its ORGANIZER (the address to send to).
    pub organiser: String,
    /// The iTIP REPLY: the series ACCEPTED, an override per declined occurrence.
    pub text: String,
}

/// One booking's copy at the resource, and its order among the conflicting ones.
struct Booking {
    master: EventObject,
    /// The stored overrides' texts by RECURRENCE-ID.
    instances: BTreeMap<Rid, String>,
    /// Whether the master recurs (else the booking is one event, answered as a whole).
    series: bool,
    key: (String, Option<DateTime<Utc>>, Uid),
}

/// Settles what the cron job's extension of `resource`'s standing bookings overbooked (rows
/// beyond the capacity): the later booking's occurrences there are declined or left for a
/// person by the resource's policy (see the module), in one step of the resource's store, and
/// the quota given back: in the step's transaction where the store and the journal share a
/// database, else behind the quota's redo record as a cancellation has. Run it after the
/// cron job extended the resource's table; it does nothing when nothing is overbooked.
///
/// # Errors
///
/// Invalid input when the resource's settings do not parse; the store's and journal's errors.
pub async fn settle_extension<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    now: DateTime<Utc>,
) -> Result<Settlement> {
    let Some(policy) = Policy::read(store, resource).await? else {
        return Ok(Settlement::default());
    };
    if !matches!(
        policy.mode,
        Mode::Automatic | Mode::DeclineIfBusy | Mode::AcceptIfFree | Mode::None
    ) {
        return Ok(Settlement::default());
    }
    // The step expects the table it was computed from: a booking or cancellation in between
    // makes it stale, and it is computed again.
    let mut attempt = 0;
    loop {
        match settle_once(store, journal, resource, &policy, now).await {
            Err(e) if e.kind() == ErrorKind::Stale && attempt < 10 => attempt += 1,
            other => return other,
        }
    }
}

/// One attempt of [`settle_extension`], from one read of the resource's table.
async fn settle_once<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    resource: &User,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Settlement> {
    let read = store.freebusy(resource, &Table::FreeBusy).await?;
    // The availability's own rows are no booking and hold no capacity (as in `overbooked`).
    let availability =
        refresh::availability::uids(&refresh::availability::load(store, resource).await?);
    let rows: Vec<_> = read
        .value
        .iter()
        .filter(|p| !availability.contains(&p.uid))
        .cloned()
        .collect();
    let over = beyond_capacity(&rows, policy.capacity);
    if over.is_empty() {
        return Ok(Settlement::default());
    }
    let settings = refresh::settings(store, resource, &Overrides::default()).await?;
    let uids: Vec<Uid> = {
        let mut u: Vec<Uid> = over.iter().map(|p| p.uid.clone()).collect();
        u.sort();
        u.dedup();
        u
    };
    let mut bookings: BTreeMap<Uid, Booking> = BTreeMap::new();
    let families = store.load_events(resource, &uids).await?;
    // The stored copies, for the quota's settlement as the step leaves them.
    let stored: BTreeMap<Uid, EventFamily> = families
        .iter()
        .map(|f| (f.uid.clone(), f.clone()))
        .collect();
    for family in families {
        let Some(parent) = family.parent.filter(|p| p.status == EventStatus::Active) else {
            continue;
        };
        let Ok(master) = EventObject::parse(&parent.text) else {
            continue;
        };
        // The resource's own events (no organiser, or itself: a maintenance slot put in its
        // calendar) are not bookings: they hold their time, as reservations without objects do.
        if master
            .organizer()
            .is_none_or(|o| same_address(o, resource.as_str()))
        {
            continue;
        }
        let stamp = dtstamp(&parent.text);
        let start = master.dtstart().and_then(|d| d.to_utc(&settings.tz).ok());
        let series = !master.rules().is_empty() || !master.rdates().is_empty();
        let instances = family
            .instances
            .into_iter()
            .filter(|(_, i)| i.status == EventStatus::Active)
            .map(|(r, i)| (r, i.text))
            .collect();
        bookings.insert(
            family.uid.clone(),
            Booking {
                master,
                instances,
                series,
                key: (stamp, start, family.uid),
            },
        );
    }
    // The rows that meet no other beyond the capacity hold; the others are taken in the
    // bookings' order, each held when it still fits.
    let mut hold: Vec<Period> = rows.iter().filter(|p| !over.contains(p)).cloned().collect();
    let mut contested = over.clone();
    let order = |p: &Period| bookings.get(&p.uid).map(|b| b.key.clone());
    contested.sort_by(|a, b| order(a).cmp(&order(b)).then(a.start.cmp(&b.start)));
    let mut losers: Vec<(Period, Uid)> = Vec::new();
    for p in contested {
        let held = period::normalise(hold.clone());
        let against = period::capacity_conflicts(&held, std::slice::from_ref(&p), policy.capacity);
        match against.first() {
            Some(h) if bookings.contains_key(&p.uid) => losers.push((p, h.uid.clone())),
            _ => hold.push(p),
        }
    }
    if losers.is_empty() {
        return Ok(Settlement::default());
    }
    // The mode's answer for a busy occurrence (declined, or left for a person).
    let (action, _) = verdict(policy.mode, Some(Reason::Mode));
    let stat = match action {
        Action::Declined => PartStat::Declined,
        _ => PartStat::NeedsAction,
    };
    let mut step = Step::default();
    step.push(Change::Expect {
        table: Table::FreeBusy,
        version: read.version,
    });
    let mut items = Vec::new();
    let mut replies = Vec::new();
    let mut removed = Vec::new();
    let mut by_uid: BTreeMap<Uid, Vec<(Period, Uid)>> = BTreeMap::new();
    for (p, holder) in losers {
        by_uid.entry(p.uid.clone()).or_default().push((p, holder));
    }
    for (uid, lost) in &by_uid {
        let Some(booking) = bookings.get(uid) else {
            continue;
        };
        let m = &booking.master;
        let mut declined: Vec<(Rid, PartStat)> = Vec::new();
        for (p, holder) in lost {
            // A series loses the occurrence (an override, or the stored one's PARTSTAT); a
            // single event is answered as a whole.
            let rid = match (&p.rid, booking.series) {
                (Some(r), _) => Some(r.clone()),
                (None, true) => Some(occurrence_rid(m.dtstart(), p.start, &settings.tz)),
                (None, false) => None,
            };
            let written = match &rid {
                None => text::with_partstat(m.text(), resource, stat),
                Some(r) => match booking.instances.get(r) {
                    Some(t) => text::with_partstat(t, resource, stat),
                    None => text::instance(m.text(), resource, r, p.start, p.end, stat),
                },
            };
            step.push(Change::PutEvent {
                uid: uid.clone(),
                rid: rid.clone(),
                text: written,
            });
            if stat == PartStat::NeedsAction {
                step.push(Change::Queue(Request {
                    uid: uid.clone(),
                    rid: rid.clone(),
                    method: QueueKind::Request,
                }));
            }
            items.push(Item {
                uid: uid.clone(),
                rid: rid.clone(),
                action,
                reason: Reason::Busy {
                    uid: holder.clone(),
                },
            });
            declined.extend(rid.map(|r| (r, stat)));
            removed.push(p.clone());
        }
        let kept: Vec<Period> = rows
            .iter()
            .filter(|r| &r.uid == uid && !lost.iter().any(|(p, _)| p == *r))
            .cloned()
            .collect();
        step.push(Change::ReplaceUidPeriods {
            table: Table::FreeBusy,
            uid: uid.clone(),
            periods: kept,
        });
        if stat == PartStat::Declined {
            replies.push(Reply {
                uid: uid.clone(),
                organiser: m.organizer().unwrap_or_default().to_owned(),
                text: if booking.series {
                    text::reply(m.text(), resource, PartStat::Accepted, &declined, now)
                } else {
                    text::reply(m.text(), resource, stat, &[], now)
                },
            });
        }
    }
    step.check()?;
    // One transaction for the step and the quota where the store and the journal share a
    // database (as a cancellation); a stale quota table makes it computed again.
    let together = match &policy.quota {
        Some(quota) => {
            let after: Vec<EventFamily> = by_uid
                .keys()
                .filter_map(|u| stored.get(u))
                .map(|f| joint::family_after(f, &step))
                .collect();
            let after: Vec<_> = after.iter().map(|f| (&f.uid, Some(f))).collect();
            let at = (&settings, now);
            joint::settle_together(store, journal, quota, resource, &step, at, &after).await?
        }
        None => false,
    };
    if !together {
        // The redo record first, as a cancellation writes it: a crash after the store's step
        // and before the quota is given back is settled by `recover`.
        if let Some(quota) = &policy.quota {
            for uid in by_uid.keys() {
                mark_pending(journal, quota, resource, uid).await?;
            }
        }
        store.apply_step(resource, &step).await?;
        if let Some(quota) = &policy.quota {
            for uid in by_uid.keys() {
                settle(store, journal, quota, resource, uid, now).await?;
            }
        }
    }
    Ok(Settlement {
        decision: Decision {
            items,
            added: Vec::new(),
            removed,
            reply: None,
            step,
        },
        replies,
    })
}

/// The busy rows that meet others beyond `capacity` (as `resource::overbooked` finds them).
fn beyond_capacity(rows: &[Period], capacity: usize) -> Vec<Period> {
    rows.iter()
        .filter(|p| p.is_busy())
        .filter(|p| {
            !period::capacity_conflicts(rows, std::slice::from_ref(*p), capacity).is_empty()
        })
        .cloned()
        .collect()
}

/// The DTSTAMP value of a stored copy (its first), empty when it has none: compared as text,
/// which orders `YYYYMMDDTHHMMSSZ` in time.
fn dtstamp(text: &str) -> String {
    text.lines()
        .find_map(|l| {
            let upper = l.to_ascii_uppercase();
            (upper.starts_with("DTSTAMP:") || upper.starts_with("DTSTAMP;"))
                .then(|| l.rsplit(':').next().unwrap_or_default().trim().to_owned())
        })
        .unwrap_or_default()
}
