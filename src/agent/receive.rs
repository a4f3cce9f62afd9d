//! [`receive`]: one scheduling message in, its effect applied as one step, a [`Decision`] out.
//!
//! The message's METHOD and the user's role in the event (organiser, attendee, not named) pick
//! the effect (RFC 5546 §3.2); every VEVENT of the message is first ordered against what the
//! store holds of its (UID, RECURRENCE-ID) ([`super::order`]), so an older message changes
//! nothing and an identical one is a no-op. The objects, the queue, the counter-proposals and
//! every table the message touches are changed by one [`Store::apply_step`]; the user's own
//! `freebusy` periods of the event are recomputed from the resulting objects with the window end
//! the cron job last used, so the table always equals a rebuild.

use chrono::Utc;

use crate::error::Result;
use crate::id::{Other, User};
use crate::journal::Journal;
use crate::object::EventObject;
use crate::period::Period;
use crate::recurrence::ExpandOptions;
use crate::refresh::{self, Overrides};
use crate::store::{Change, EventFamily, Step, Store, StoredEvent, Table};

use super::decision::{Action, Decision, Item};
use super::mail::read_delivery;
use super::method::{ItipMethod, Role};
use super::{effects, read_message, replies};

/// Applies one scheduling message for `user` and says what it did.
///
/// `message` is iCalendar text (a VCALENDAR with METHOD and the VEVENTs of one UID) or a whole
/// RFC 5322 mail, whose `text/calendar` parts are applied in turn (one step each) and whose
/// `From` address is taken as the sender of a REPLY or COUNTER. Without METHOD the calendar is
/// taken as a PUBLISH.
///
/// | METHOD | user organises | user attends | user not named |
/// |---|---|---|---|
/// | PUBLISH | stored/updated | stored/updated | stored/updated |
/// | REQUEST, ADD | stored/updated | stored and queued for the answer | refused (`NotNamed`) |
/// | CANCEL | cancelled | cancelled, queue entry removed | cancelled |
/// | REPLY | sender's PARTSTAT recorded, `freebusy-other/<sender>` | refused (`WrongRole`) | refused (`NotNamed`) |
/// | COUNTER | proposal stored, queued, offer held | refused (`WrongRole`) | refused (`NotNamed`) |
/// | DECLINECOUNTER | refused (`WrongRole`) | noted, nothing stored | refused (`NotNamed`) |
/// | REFRESH | the stored event is the reply | refused (`WrongRole`) | refused (`NotNamed`) |
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use calstore::agent::{self, Action};
/// use calstore::{memory::MemoryStore, User};
/// let store = MemoryStore::new();
/// let bob = User::new("mailto:bob@example.com")?;
/// let invite = |seq: u32, hour: u32| format!(
///     "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:review\r\nSEQUENCE:{seq}\r\n\
///      DTSTAMP:20260101T00000{seq}Z\r\nDTSTART:20260105T{hour:02}0000Z\r\n\
///      DTEND:20260105T{:02}0000Z\r\nORGANIZER:mailto:alice@example.com\r\n\
///      ATTENDEE:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", hour + 1);
/// let moved = agent::receive(&store, &bob, invite(2, 14)).await?;
/// assert_eq!(moved.items[0].action, Action::Queued);
/// // The original invitation, delivered late, changes nothing.
/// let late = agent::receive(&store, &bob, invite(1, 10)).await?;
/// assert_eq!(late.items[0].action, Action::IgnoredAsOlder);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// Invalid input, writing nothing, when the message cannot be read (not iCalendar, a mail
/// without calendar, VEVENTs of several UIDs, an unknown METHOD); stale when a concurrent step
/// changed the event between the read and the write (apply the message again); the store's
/// errors. Refusals that are the message's fault (a REPLY for an unknown event) are not errors:
/// they are items with [`Action::Refused`] and their reason.
pub async fn receive<S: Store, M: AsRef<[u8]>>(
    store: &S,
    user: &User,
    message: M,
) -> Result<Decision> {
    let delivery = read_delivery(message.as_ref())?;
    let mut whole = Decision::default();
    for text in &delivery.calendars {
        let d = receive_calendar(store, user, text, delivery.sender.as_deref()).await?;
        merge(&mut whole, d);
    }
    Ok(whole)
}

/// [`receive`] for a user that may be a resource, with the journal that holds the quotas: a
/// REQUEST to a resource is booked by its policy, a CANCEL gives its quota back
/// ([`super::resource::receive`], which says when a user is a resource); everything else as
/// [`receive`].
///
/// # Errors
///
/// As [`receive`], and the journal's errors.
pub async fn receive_with_journal<S: Store, J: Journal, M: AsRef<[u8]>>(
    store: &S,
    journal: &J,
    user: &User,
    message: M,
) -> Result<Decision> {
    super::resource::receive(store, journal, user, message.as_ref(), false).await
}

fn merge(whole: &mut Decision, d: Decision) {
    whole.items.extend(d.items);
    whole.added.extend(d.added);
    whole.removed.extend(d.removed);
    if d.reply.is_some() {
        whole.reply = d.reply;
    }
    whole.step.changes.extend(d.step.changes);
}

/// What a method handler decided: the items, the family after the message, whether objects
/// changed, the extra changes (queue, counters, other tables), and a reply.
pub(super) struct Plan {
    pub items: Vec<Item>,
    pub family: EventFamily,
    pub objects: Vec<Change>,
    pub extra: Vec<Change>,
    pub reply: Option<String>,
    /// The attendees whose `freebusy-other` tables the plan can change (a REPLY changes its
    /// sender's answer only); `None`: every attendee who answered.
    pub only: Option<Vec<String>>,
}

/// One calendar of a delivery.
pub(super) async fn receive_calendar<S: Store>(
    store: &S,
    user: &User,
    text: &str,
    sender: Option<&str>,
) -> Result<Decision> {
    let (decision, _) = plan_calendar(store, user, text, sender).await?;
    if !decision.step.is_empty() {
        store.apply_step(user, &decision.step).await?;
    }
    Ok(decision)
}

/// [`receive_calendar`] without applying: the decision with its step (guarded by what was
/// read; the caller applies it, alone or with other writes in one transaction) and the event's
/// family as the step leaves it.
pub(super) async fn plan_calendar<S: Store>(
    store: &S,
    user: &User,
    text: &str,
    sender: Option<&str>,
) -> Result<(Decision, EventFamily)> {
    let method = ItipMethod::of(text)?;
    let message = read_message(text)?;
    let stored = store
        .load_events(user, std::slice::from_ref(&message.uid))
        .await?
        .pop()
        .unwrap_or_else(|| EventFamily {
            uid: message.uid.clone(),
            parent: None,
            instances: Vec::new(),
        });
    let role = Role::of(user, &message, &stored)?;
    let plan = match method {
        ItipMethod::Publish | ItipMethod::Request | ItipMethod::Add => {
            effects::put(&message, &stored, method, role)?
        }
        ItipMethod::Cancel => effects::cancel(&message, &stored)?,
        ItipMethod::Reply => replies::reply(user, &message, &stored, role, sender)?,
        ItipMethod::Counter => {
            replies::counter(store, user, &message, &stored, role, sender).await?
        }
        ItipMethod::DeclineCounter => replies::refuse_unless(
            &message,
            &stored,
            role,
            Role::Attendee,
            Action::CounterDeclined,
        ),
        ItipMethod::Refresh => replies::refresh(&message, &stored, role)?,
    };
    let after = plan.family.clone();
    let decision = plan_step(store, user, &message.uid, &stored, role, plan).await?;
    Ok((decision, after))
}

/// Computes the tables' changes from the plan (the uid's `freebusy` periods and providers entry
/// when objects change), guards the step with what was read, and applies it.
pub(super) async fn finish_plan<S: Store>(
    store: &S,
    user: &User,
    uid: &crate::id::Uid,
    stored: &EventFamily,
    role: Role,
    plan: Plan,
) -> Result<Decision> {
    let decision = plan_step(store, user, uid, stored, role, plan).await?;
    if !decision.step.is_empty() {
        store.apply_step(user, &decision.step).await?;
    }
    Ok(decision)
}

/// [`finish_plan`] without applying: the decision with its step, guarded by what was read.
async fn plan_step<S: Store>(
    store: &S,
    user: &User,
    uid: &crate::id::Uid,
    stored: &EventFamily,
    role: Role,
    plan: Plan,
) -> Result<Decision> {
    let mut step = Step::default();
    let mut decision = Decision {
        items: plan.items,
        reply: plan.reply,
        ..Decision::default()
    };
    if !plan.objects.is_empty() {
        let opts = options(store, user).await?;
        let before = refresh::expand_family(user, stored, &opts)?;
        let after = refresh::expand_family(user, &plan.family, &opts)?;
        decision.added = difference(&after.periods, &before.periods);
        decision.removed = difference(&before.periods, &after.periods);
        step.changes.extend(plan.objects);
        step.push(Change::ReplaceUidPeriods {
            table: Table::FreeBusy,
            uid: uid.clone(),
            periods: after.periods,
        });
        step.push(Change::MarkProvider {
            uid: uid.clone(),
            present: after.unbounded,
        });
        // The table now holds this event up to the window end: recorded, so that queries, the
        // cron job and a rebuild agree on how far the table is known (one view).
        refresh::record_horizon(&mut step, &opts);
        if role == Role::Organiser {
            step.changes.extend(attendee_tables(
                user,
                stored,
                &plan.family,
                plan.only.as_deref(),
                &opts,
            )?);
        }
    }
    step.changes.extend(plan.extra);
    if step
        .changes
        .iter()
        .any(|c| matches!(c, Change::Dequeue { .. }))
    {
        // Only entries that are there: the step says what changed.
        let queued = store.requests(user).await?;
        step.changes.retain(|c| match c {
            Change::Dequeue { uid, rid } => queued.iter().any(|r| &r.uid == uid && &r.rid == rid),
            _ => true,
        });
    }
    if !step.is_empty() {
        guard(&mut step, stored);
    }
    decision.step = step;
    Ok(decision)
}

/// Puts the versions the step was computed from in front of it, so that the step fails as stale
/// when a concurrent step changed the event in between.
fn guard(step: &mut Step, stored: &EventFamily) {
    step.changes.insert(
        0,
        Change::ExpectEvent {
            family: stored.clone(),
        },
    );
}

/// What the organiser `user` knows of each attendee after the event changed:
/// `freebusy-other/<attendee>` holds the event's periods as that attendee's answers in the
/// stored objects make them (accepted or tentative: busy; otherwise none). Only attendees who
/// answered yes before or after are written, so a message naming thousands of attendees who
/// never answered writes nothing for them; with `only`, only those attendees (a REPLY, which
/// changes its sender's answer and nobody else's periods, writes one table however many
/// attendees answered).
fn attendee_tables(
    user: &User,
    before: &EventFamily,
    after: &EventFamily,
    only: Option<&[String]>,
    opts: &ExpandOptions,
) -> Result<Vec<Change>> {
    let mut who: Vec<String> = Vec::new();
    for family in [before, after] {
        let texts = family
            .parent
            .iter()
            .chain(family.instances.iter().map(|(_, s)| s));
        for s in texts {
            let Ok(o) = EventObject::parse(&s.text) else {
                continue;
            };
            for a in o.attendees() {
                let answered = a.partstat.counts(false)
                    && only.is_none_or(|o| {
                        o.iter().any(|w| crate::object::same_address(w, &a.address))
                    });
                if answered
                    && !crate::object::same_address(&a.address, user.as_str())
                    && !who
                        .iter()
                        .any(|w| crate::object::same_address(w, &a.address))
                {
                    who.push(a.address.clone());
                }
            }
        }
    }
    let mut changes = Vec::new();
    for address in who {
        let (Ok(attendee), Ok(other)) = (User::new(address.clone()), Other::new(address)) else {
            continue;
        };
        let periods = refresh::attendee_periods(&attendee, after, opts)?.periods;
        changes.push(Change::ReplaceUidPeriods {
            table: Table::Other(other),
            uid: after.uid.clone(),
            periods,
        });
    }
    Ok(changes)
}

/// Whether any stored object of `family` names `address` as an ATTENDEE (what
/// [`query::freebusy`](crate::query::freebusy) checks before extending an attendee's table).
pub fn names_attendee(family: &EventFamily, address: &str) -> bool {
    family
        .parent
        .iter()
        .chain(family.instances.iter().map(|(_, s)| s))
        .filter_map(|s| EventObject::parse(&s.text).ok())
        .any(|o| {
            o.attendees()
                .iter()
                .any(|a| crate::object::same_address(&a.address, address))
        })
}

/// Periods of `a` not in `b`.
fn difference(a: &[Period], b: &[Period]) -> Vec<Period> {
    a.iter().filter(|p| !b.contains(p)).cloned().collect()
}

/// The expansion options: the user's zone, and the window end the cron job last recorded (so
/// that the table equals a rebuild), else the user's window from now.
pub(super) async fn options<S: Store>(store: &S, user: &User) -> Result<ExpandOptions> {
    let settings = refresh::settings(store, user, &Overrides::default()).await?;
    let now = Utc::now();
    let mut opts = settings.expand_options(now);
    if let Some(end) = store.providers(user).await?.value.window_end {
        opts.window_end = end;
    }
    Ok(opts)
}

/// The stored copy of the object's key.
pub(super) fn stored_of<'a>(stored: &'a EventFamily, o: &EventObject) -> Option<&'a StoredEvent> {
    match o.rid() {
        None => stored.parent.as_ref(),
        Some(rid) => stored
            .instances
            .iter()
            .find(|(r, _)| r == rid)
            .map(|(_, s)| s),
    }
}
