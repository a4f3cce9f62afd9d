//! The organiser's side of [`receive`](super::receive): REPLY, COUNTER and REFRESH from
//! attendees, each checked against the stored event (known, not cancelled, the sender one of
//! its attendees, not older than what was already applied).

use chrono::Utc;

use crate::error::Result;
use crate::id::{Other, User};
use crate::object::{same_address, EventObject, PartStat};
use crate::recurrence::ExpandOptions;
use crate::store::{Change, EventFamily, EventStatus, QueueKind, Request, Store, Table};

use super::attendance::{reply_sequence, reply_stamp, set_answer};
use super::decision::{Action, Reason};
use super::effects::{empty_plan, item, set};
use super::method::Role;
use super::order::Stamp;
use super::receive::{options, stored_of, Plan};
use super::Message;

/// The stored object a REPLY or COUNTER for `o` is about: the instance, else the parent; or the
/// reason it is refused.
///
/// With `hold_newer` (a REPLY), an answer to a version newer than the cancelled copy of its own
/// key is about that copy (`"cancelled"`): it is kept there for the newer version to find when
/// it arrives, as it would have counted had it been delivered after it.
fn about(
    stored: &EventFamily,
    o: &EventObject,
    hold_newer: bool,
) -> Result<std::result::Result<(Option<&'static str>, EventObject), Reason>> {
    let own = stored_of(stored, o).filter(|s| !superseded_copy(stored, s));
    let target = own.or(stored.parent.as_ref());
    let Some(t) = target else {
        return Ok(Err(Reason::UnknownEvent));
    };
    let obj = EventObject::parse(&t.text)?;
    let parent_cancelled = o.rid().is_some()
        && stored
            .parent
            .as_ref()
            .is_some_and(|p| p.status == EventStatus::Cancelled);
    if t.status == EventStatus::Cancelled || parent_cancelled || obj.is_cancelled() {
        let newer = own.is_some() && !parent_cancelled && o.sequence() > obj.sequence();
        if hold_newer && newer {
            return Ok(Ok((Some("cancelled"), obj)));
        }
        return Ok(Err(Reason::EventCancelled));
    }
    if own.is_none() && o.rid().is_some() && !super::method::has_occurrence(&t.text, o)? {
        return Ok(Err(Reason::NoSuchInstance));
    }
    Ok(Ok((if own.is_some() { Some("own") } else { None }, obj)))
}

/// Whether `instance` is a copy of an older version of the stored series made to hold an
/// answer ([`crate::recurrence::SERIES_COPY`]): the newer series replaces it, so an answer for
/// that instance starts again from the series.
pub(super) fn superseded_copy(stored: &EventFamily, instance: &crate::store::StoredEvent) -> bool {
    let (Some(parent), Ok(copy)) = (&stored.parent, EventObject::parse(&instance.text)) else {
        return false;
    };
    crate::recurrence::is_series_copy(&copy)
        && EventObject::parse(&parent.text).is_ok_and(|p| copy.sequence() < p.sequence())
}

/// Whether the stored object is a copy of its series made to hold an answer
/// ([`crate::recurrence::SERIES_COPY`]): not a version the organiser sent, so the organiser's
/// own message for that instance is never ordered against it.
pub(super) fn is_copy(stored: &crate::store::StoredEvent) -> bool {
    EventObject::parse(&stored.text).is_ok_and(|o| crate::recurrence::is_series_copy(&o))
}

/// `text`, the organiser's own newer version of an object, with the answers recorded in the
/// stored `old` copy that count for it: those of replies to a version at least as new as `text`
/// (their recorded SEQUENCE, else the stored object's), as if they had arrived after it, so that
/// the result does not depend on which came first. An answer to an older version is dropped, as
/// a REPLY to it arriving now would be.
pub(super) fn carry_answers(old: &str, text: &str) -> String {
    let (Ok(c), Ok(o)) = (EventObject::parse(old), EventObject::parse(text)) else {
        return text.to_owned();
    };
    let mut out = text.to_owned();
    for a in c.attendees() {
        let Some(stamp) = reply_stamp(old, &a.address) else {
            continue;
        };
        let answered = reply_sequence(old, &a.address).unwrap_or(c.sequence());
        if answered < o.sequence() {
            continue;
        }
        let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
        if let Some(next) = set_answer(
            &out,
            &a.address,
            &partstat_text(&a.partstat),
            Some(&stamp),
            Some(answered),
        ) {
            out = next;
        }
    }
    out
}

/// The attendee a REPLY or COUNTER is from: the mail's sender when it is one of the message's
/// attendees, else the message's only attendee other than the user.
fn answering(
    user: &User,
    o: &EventObject,
    sender: Option<&str>,
) -> std::result::Result<String, Reason> {
    let others: Vec<&str> = o
        .attendees()
        .iter()
        .map(|a| a.address.as_str())
        .filter(|a| !same_address(a, user.as_str()))
        .collect();
    if let Some(s) = sender {
        return others
            .iter()
            .find(|a| same_address(a, s))
            .map(|a| (*a).to_owned())
            .ok_or(Reason::NotAnAttendee);
    }
    match others.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(Reason::NotAnAttendee),
        _ => Err(Reason::Other(
            "the reply names several attendees and has no sender to tell which one answers"
                .to_owned(),
        )),
    }
}

fn partstat_text(p: &PartStat) -> String {
    match p {
        PartStat::NeedsAction => "NEEDS-ACTION".to_owned(),
        PartStat::Accepted => "ACCEPTED".to_owned(),
        PartStat::Declined => "DECLINED".to_owned(),
        PartStat::Tentative => "TENTATIVE".to_owned(),
        PartStat::Delegated => "DELEGATED".to_owned(),
        PartStat::Other(s) => s.clone(),
    }
}

/// REPLY to the organiser: the sender's PARTSTAT is written into the stored event (ordered per
/// attendee by the reply's DTSTAMP) and `freebusy-other/<sender>` follows it.
pub(super) fn reply(
    user: &User,
    message: &Message,
    stored: &EventFamily,
    role: Role,
    sender: Option<&str>,
) -> Result<Plan> {
    let mut plan = empty_plan(stored);
    for o in &message.objects {
        let refuse =
            |plan: &mut Plan, r: Reason| plan.items.push(item(message, o, Action::Refused, r));
        if role != Role::Organiser {
            refuse(&mut plan, wrong_role(role));
            continue;
        }
        let (own, target) = match about(stored, o, true)? {
            Ok(t) => t,
            Err(r) => {
                refuse(&mut plan, r);
                continue;
            }
        };
        let attendee = match answering(user, o, sender) {
            Ok(a) => a,
            Err(r) => {
                refuse(&mut plan, r);
                continue;
            }
        };
        if !target
            .attendees()
            .iter()
            .any(|a| same_address(&a.address, &attendee))
        {
            refuse(&mut plan, Reason::NotAnAttendee);
            continue;
        }
        if o.sequence() < target.sequence() {
            refuse(&mut plan, Reason::ReplyToOlderVersion);
            continue;
        }
        let stamp = Stamp::of(o).dtstamp;
        let last = reply_stamp(target.text(), &attendee);
        match (stamp, last) {
            (Some(m), Some(l)) if m < l => {
                plan.items
                    .push(item(message, o, Action::IgnoredAsOlder, Reason::OlderStamp));
                continue;
            }
            (Some(m), Some(l)) if m == l => {
                plan.items
                    .push(item(message, o, Action::Duplicate, Reason::SameVersion));
                continue;
            }
            _ => {}
        }
        let Some(answer) = o
            .attendees()
            .iter()
            .find(|a| same_address(&a.address, &attendee))
        else {
            refuse(&mut plan, Reason::NotAnAttendee);
            continue;
        };
        let stamp_text = stamp.map(|s| s.format("%Y%m%dT%H%M%SZ").to_string());
        // The key's own stored copy; for an instance the organiser never sent on its own, the
        // series' occurrence made into an instance, so that the answer is one instance's only.
        // Marked as such, so that a newer series replaces it instead of keeping this version
        // of the instance (its time, its other answers) for ever.
        let base = match (own, o.rid(), stored.parent.as_ref()) {
            (None, Some(rid), Some(parent)) => super::instance::instance_of(&parent.text, rid)?
                .map(|t| crate::recurrence::mark_series_copy(&t)),
            _ => Some(target.text().to_owned()),
        };
        let rewritten = base.and_then(|b| {
            set_answer(
                &b,
                &attendee,
                &partstat_text(&answer.partstat),
                stamp_text.as_deref(),
                Some(o.sequence()),
            )
        });
        let Some(text) = rewritten else {
            refuse(&mut plan, Reason::NoSuchInstance);
            continue;
        };
        plan.only
            .get_or_insert_with(Vec::new)
            .push(attendee.clone());
        if own == Some("cancelled") {
            set(&mut plan.family, o, text.clone(), EventStatus::Cancelled);
            plan.objects.push(Change::CancelEvent {
                uid: message.uid.clone(),
                rid: o.rid().cloned(),
                text,
            });
        } else {
            set(&mut plan.family, o, text.clone(), EventStatus::Active);
            plan.objects.push(Change::PutEvent {
                uid: message.uid.clone(),
                rid: o.rid().cloned(),
                text,
            });
        }
        plan.items
            .push(item(message, o, Action::ReplyRecorded, Reason::Applied));
    }
    Ok(plan)
}

/// COUNTER to the organiser: stored, queued and held as an offer when the event is known and
/// not cancelled.
pub(super) async fn counter<S: Store>(
    store: &S,
    user: &User,
    message: &Message,
    stored: &EventFamily,
    role: Role,
    sender: Option<&str>,
) -> Result<Plan> {
    let mut plan = empty_plan(stored);
    let opts = options(store, user).await?;
    for o in &message.objects {
        let refuse =
            |plan: &mut Plan, r: Reason| plan.items.push(item(message, o, Action::Refused, r));
        if role != Role::Organiser {
            refuse(&mut plan, wrong_role(role));
            continue;
        }
        if let Err(r) = about(stored, o, false)? {
            refuse(&mut plan, r);
            continue;
        }
        let proposer = match answering(user, o, sender) {
            Ok(a) => a,
            Err(r) => {
                refuse(&mut plan, r);
                continue;
            }
        };
        let other = Other::new(proposer)?;
        let expiry = super::answers::offer_expiry(store, user, Utc::now()).await?;
        let mut held = crate::recurrence::expand(
            user,
            if o.rid().is_none() { Some(o) } else { None },
            &if o.rid().is_some() {
                vec![(o.clone(), EventStatus::Active)]
            } else {
                Vec::new()
            },
            &ExpandOptions {
                needs_action: true,
                ..opts
            },
        )?
        .periods;
        held.iter_mut().for_each(|p| p.expiry = Some(expiry));
        plan.extra.push(Change::PutCounter {
            other,
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
        plan.extra.push(Change::Queue(Request {
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
            method: QueueKind::Counter,
        }));
        plan.extra.push(Change::ReplaceEventPeriods {
            table: Table::Offers,
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
            periods: held,
        });
        plan.items
            .push(item(message, o, Action::CounterRecorded, Reason::Applied));
    }
    Ok(plan)
}

/// A method with no stored effect: `action` when `allowed`, else refused.
pub(super) fn refuse_unless(
    message: &Message,
    stored: &EventFamily,
    role: Role,
    allowed: Role,
    action: Action,
) -> Plan {
    let mut plan = empty_plan(stored);
    for o in &message.objects {
        plan.items.push(if role == allowed {
            item(message, o, action, Reason::Applied)
        } else {
            item(message, o, Action::Refused, wrong_role(role))
        });
    }
    plan
}

/// REFRESH to the organiser: the reply is the stored event as a REQUEST.
pub(super) fn refresh(message: &Message, stored: &EventFamily, role: Role) -> Result<Plan> {
    let mut plan = empty_plan(stored);
    for o in &message.objects {
        let (action, reason) = match stored.parent.as_ref() {
            _ if role != Role::Organiser => (Action::Refused, wrong_role(role)),
            None => (Action::Refused, Reason::UnknownEvent),
            Some(p) if p.status == EventStatus::Cancelled => {
                (Action::Refused, Reason::EventCancelled)
            }
            Some(p) => {
                plan.reply = Some(super::method::as_request(&p.text));
                (Action::Resent, Reason::Applied)
            }
        };
        plan.items.push(item(message, o, action, reason));
    }
    Ok(plan)
}

/// Why a method for another role is refused: `NotNamed` when the user is not in the event,
/// else `WrongRole`.
fn wrong_role(role: Role) -> Reason {
    match role {
        Role::NotNamed => Reason::NotNamed,
        Role::Organiser | Role::Attendee => Reason::WrongRole,
    }
}
