//! The effects of PUBLISH, REQUEST, ADD and CANCEL on the stored event for
//! [`receive`](super::receive): each VEVENT ordered against the stored copy of its key, the
//! newer stored (and queued when the user is asked), cancellations kept also before their series.

use crate::error::Result;
use crate::object::EventObject;
use crate::store::{Change, EventFamily, EventStatus, QueueKind, Request, StoredEvent};

use super::decision::{Action, Item, Reason};
use super::method::{ItipMethod, Role};
use super::order::{self, Order, Stamp};
use super::receive::{stored_of, Plan};
use super::Message;

/// Orders the message's object against the stored copy of its key (and, for an instance of a
/// cancelled series, against the cancelled parent): `None` when it is newer.
fn ordered(stored: &EventFamily, o: &EventObject) -> Result<Option<(Action, Reason)>> {
    if let Some(s) = stored_of(stored, o).filter(|s| !super::replies::is_copy(s)) {
        let s_obj = EventObject::parse(&s.text)?;
        match order::compare(o, &s_obj) {
            Order::Newer => {}
            Order::Same => return Ok(Some((Action::Duplicate, Reason::SameVersion))),
            Order::Older(r) => return Ok(Some((Action::IgnoredAsOlder, r))),
        }
    }
    if o.rid().is_some() {
        if let Some(p) = stored
            .parent
            .as_ref()
            .filter(|p| p.status == EventStatus::Cancelled)
        {
            let p_obj = EventObject::parse(&p.text)?;
            if Stamp::of(o).sequence <= Stamp::of(&p_obj).sequence {
                return Ok(Some((Action::IgnoredAsOlder, Reason::EventCancelled)));
            }
        }
    }
    Ok(None)
}

pub(super) fn item(message: &Message, o: &EventObject, action: Action, reason: Reason) -> Item {
    Item {
        uid: message.uid.clone(),
        rid: o.rid().cloned(),
        action,
        reason,
    }
}

pub(super) fn set(family: &mut EventFamily, o: &EventObject, text: String, status: EventStatus) {
    let ev = StoredEvent { text, status };
    match o.rid() {
        None => family.parent = Some(ev),
        Some(rid) => {
            family.instances.retain(|(r, _)| r != rid);
            family.instances.push((rid.clone(), ev));
            family.instances.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }
}

/// PUBLISH, REQUEST and ADD: store what is newer; queue it when the user is asked.
pub(super) fn put(
    message: &Message,
    stored: &EventFamily,
    method: ItipMethod,
    role: Role,
) -> Result<Plan> {
    let mut plan = empty_plan(stored);
    let asked = role == Role::Attendee && method != ItipMethod::Publish;
    for o in &message.objects {
        if role == Role::NotNamed && method != ItipMethod::Publish {
            plan.items
                .push(item(message, o, Action::Refused, Reason::NotNamed));
            continue;
        }
        if let Some((action, reason)) = ordered(stored, o)? {
            plan.items.push(item(message, o, action, reason));
            continue;
        }
        let existed = stored_of(stored, o).is_some();
        // Answers recorded for this version (or a newer one) before it arrived stay with it.
        let text = match stored_of(stored, o) {
            Some(old) => super::replies::carry_answers(&old.text, o.text()),
            None => o.text().to_owned(),
        };
        set(&mut plan.family, o, text.clone(), EventStatus::Active);
        plan.objects.push(Change::PutEvent {
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
            text,
        });
        let action = if asked {
            plan.extra.push(Change::Queue(Request {
                uid: message.uid.clone(),
                rid: o.rid().cloned(),
                method: QueueKind::Request,
            }));
            Action::Queued
        } else if existed {
            Action::Updated
        } else {
            Action::Stored
        };
        if role == Role::Organiser {
            // The organiser's own version answers nothing queued of it any more.
            plan.extra.push(Change::Dequeue {
                uid: message.uid.clone(),
                rid: o.rid().cloned(),
            });
        }
        // An instance REQUEST for an occurrence the series does not have is kept (a newer
        // series may have it; delivery order must not matter) and says so. ADD adds instances
        // the rule does not have by definition.
        let reason = match stored.parent.as_ref() {
            Some(parent)
                if method == ItipMethod::Request
                    && o.rid().is_some()
                    && parent.status == EventStatus::Active
                    && stored_of(stored, o).is_none()
                    && !super::method::has_occurrence(&parent.text, o)? =>
            {
                Reason::NoSuchInstance
            }
            _ => before_series(stored, o),
        };
        plan.items.push(item(message, o, action, reason));
    }
    Ok(plan)
}

/// A CANCEL with RANGE=THISANDFUTURE: every stored instance after it is cancelled too (the
/// cancelled instance itself removes the series' later occurrences when expanded).
fn cancel_later_instances(plan: &mut Plan, stored: &EventFamily, o: &EventObject) {
    let Some(from) = o.rid().map(|r| r.instant(&chrono_tz::UTC)) else {
        return;
    };
    for (rid, ev) in &stored.instances {
        if ev.status == EventStatus::Active && rid.instant(&chrono_tz::UTC) > from {
            plan.objects.push(Change::CancelEvent {
                uid: stored.uid.clone(),
                rid: Some(rid.clone()),
                text: ev.text.clone(),
            });
            plan.extra.push(Change::Dequeue {
                uid: stored.uid.clone(),
                rid: Some(rid.clone()),
            });
            plan.family.instances.retain(|(r, _)| r != rid);
            plan.family.instances.push((
                rid.clone(),
                StoredEvent {
                    text: ev.text.clone(),
                    status: EventStatus::Cancelled,
                },
            ));
        }
    }
    plan.family.instances.sort_by(|a, b| a.0.cmp(&b.0));
}

/// `BeforeSeries` for an instance whose series is not stored yet, else `Applied`.
fn before_series(stored: &EventFamily, o: &EventObject) -> Reason {
    if o.rid().is_some() && stored.parent.is_none() {
        Reason::BeforeSeries
    } else {
        Reason::Applied
    }
}

pub(super) fn empty_plan(stored: &EventFamily) -> Plan {
    Plan {
        items: Vec::new(),
        family: stored.clone(),
        objects: Vec::new(),
        extra: Vec::new(),
        reply: None,
        only: None,
    }
}

/// CANCEL: the newer cancellation is stored as the key's cancelled copy (also before its
/// master arrives, so that an older REQUEST delivered later cannot bring it back).
pub(super) fn cancel(message: &Message, stored: &EventFamily) -> Result<Plan> {
    let mut plan = empty_plan(stored);
    for o in &message.objects {
        if let Some((action, reason)) = ordered(stored, o)? {
            // An identical CANCEL is a duplicate; a CANCEL equal in version to an active copy
            // is still a cancellation.
            let active_same = action == Action::Duplicate
                && stored_of(stored, o).is_some_and(|s| s.status == EventStatus::Active);
            if !active_same {
                plan.items.push(item(message, o, action, reason));
                continue;
            }
        }
        // A cancellation of an occurrence the stored series does not have is kept all the same
        // (a newer series may have it, and the result must not depend on delivery order), and
        // says so: it changes nothing now.
        let reason = match stored.parent.as_ref() {
            Some(parent)
                if o.rid().is_some()
                    && parent.status == EventStatus::Active
                    && stored_of(stored, o).is_none()
                    && !super::method::has_occurrence(&parent.text, o)? =>
            {
                Reason::NoSuchInstance
            }
            _ => before_series(stored, o),
        };
        if o.is_this_and_future() {
            cancel_later_instances(&mut plan, stored, o);
        }
        // Answers to a version newer than the cancellation stay, for that version to find
        // when it arrives (as they would have, delivered after it).
        let text = match stored_of(stored, o) {
            Some(old) => super::replies::carry_answers(&old.text, o.text()),
            None => o.text().to_owned(),
        };
        set(&mut plan.family, o, text.clone(), EventStatus::Cancelled);
        plan.objects.push(Change::CancelEvent {
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
            text,
        });
        plan.extra.push(Change::Dequeue {
            uid: message.uid.clone(),
            rid: o.rid().cloned(),
        });
        plan.items.push(item(message, o, Action::Cancelled, reason));
    }
    Ok(plan)
}
