//! [`answer`]: the user answers a queued request — one call that records the user's PARTSTAT in
//! the stored event, updates the user's tables, removes the queue entry, and returns the REPLY
//! to send.

use std::fmt;
use std::str::FromStr;

use chrono::Utc;

use crate::error::{Error, Result};
use crate::id::{Rid, Uid, User};
use crate::object::{same_address, EventObject};
use crate::store::{Change, EventFamily, EventStatus, Store, StoredEvent};

use super::attendance::{build_reply, set_partstat};
use super::decision::{Action, Decision, Item, Reason};
use super::receive::{finish_plan, Plan};

/// The user's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// `ACCEPTED`: the event is busy time.
    Accepted,
    /// `DECLINED`: the event is free time.
    Declined,
    /// `TENTATIVE`: the event is (tentatively) busy time.
    Tentative,
}

impl Answer {
    /// The PARTSTAT value.
    pub fn partstat(self) -> &'static str {
        match self {
            Answer::Accepted => "ACCEPTED",
            Answer::Declined => "DECLINED",
            Answer::Tentative => "TENTATIVE",
        }
    }

    fn action(self) -> Action {
        match self {
            Answer::Accepted => Action::Accepted,
            Answer::Declined => Action::Declined,
            Answer::Tentative => Action::Tentative,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.partstat().to_ascii_lowercase())
    }
}

impl FromStr for Answer {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accepted" | "accept" => Ok(Answer::Accepted),
            "declined" | "decline" => Ok(Answer::Declined),
            "tentative" => Ok(Answer::Tentative),
            other => Err(Error::invalid(format!(
                "{other:?} is not an answer (accepted, declined, tentative)"
            ))),
        }
    }
}

/// Answers the stored request (uid, rid) for `user`: the user's ATTENDEE line in the stored
/// object gets the PARTSTAT of `answer`, the event's periods in the user's `freebusy` table are
/// recomputed (accepted and tentative are busy, declined free), the queue entry is removed, and
/// [`Decision::reply`] holds the REPLY to send to the organiser. One [`Store::apply_step`].
///
/// `rid` answers one instance: its stored copy when the organiser sent one, else a copy of the
/// series made into that instance (RECURRENCE-ID and the occurrence's start), which then
/// overrides it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use calstore::agent::{self, Answer};
/// use calstore::{memory::MemoryStore, Store, Table, Uid, User};
/// let store = MemoryStore::new();
/// let bob = User::new("mailto:bob@example.com")?;
/// let invite = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:review\r\n\
///     DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T140000Z\r\nDTEND:20260105T150000Z\r\n\
///     ORGANIZER:mailto:alice@example.com\r\nATTENDEE:mailto:bob@example.com\r\n\
///     END:VEVENT\r\nEND:VCALENDAR\r\n";
/// agent::receive(&store, &bob, invite).await?;
/// let d = agent::answer(&store, &bob, &Uid::new("review")?, None, Answer::Accepted).await?;
/// assert!(d.reply.unwrap().contains("PARTSTAT=ACCEPTED"));
/// assert_eq!(store.freebusy(&bob, &Table::FreeBusy).await?.value.len(), 1);
/// assert!(store.requests(&bob).await?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// Not found when nothing is stored for (uid, rid); invalid input when the event is cancelled,
/// the user is not one of its attendees, or `rid` is no occurrence of the series; stale when a
/// concurrent step changed the event (answer again); the store's errors.
pub async fn answer<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    rid: Option<&Rid>,
    answer: Answer,
) -> Result<Decision> {
    let what = || {
        format!(
            "uid {:?}{} of {user}",
            uid.as_str(),
            rid.map(|r| format!(" rid {r}")).unwrap_or_default()
        )
    };
    let stored = store
        .load_events(user, std::slice::from_ref(uid))
        .await?
        .pop()
        .unwrap_or_else(|| EventFamily {
            uid: uid.clone(),
            parent: None,
            instances: Vec::new(),
        });
    let own = match rid {
        None => stored.parent.clone(),
        Some(r) => stored
            .instances
            .iter()
            .find(|(x, _)| x == r)
            .map(|(_, s)| s.clone())
            // A copy of an older version of the series answers nothing now.
            .filter(|s| !super::replies::superseded_copy(&stored, s)),
    };
    let (text, status) = match (own, rid, stored.parent.as_ref()) {
        (Some(s), _, _) => (s.text, s.status),
        // Marked as a copy, so that a newer series replaces it (issue 19, item 3).
        (None, Some(r), Some(parent)) if parent.status == EventStatus::Active => (
            super::instance::instance_of(&parent.text, r)?
                .map(|t| crate::recurrence::mark_series_copy(&t))
                .ok_or_else(|| {
                    Error::invalid(format!("{} is no occurrence of the series", what()))
                })?,
            EventStatus::Active,
        ),
        _ => {
            return Err(Error::not_found(format!(
                "nothing is stored for {}",
                what()
            )))
        }
    };
    let object = EventObject::parse(&text)?;
    if status == EventStatus::Cancelled || object.is_cancelled() {
        return Err(Error::invalid(format!("{} is cancelled", what())));
    }
    if !object
        .attendees()
        .iter()
        .any(|a| same_address(&a.address, user.as_str()))
    {
        return Err(Error::invalid(format!(
            "{user} is not an attendee of {}",
            what()
        )));
    }
    let answered = set_partstat(&text, user.as_str(), answer.partstat(), None)
        .ok_or_else(|| Error::invalid(format!("{user} is not an attendee of {}", what())))?;
    let mut family = stored.clone();
    let new = StoredEvent {
        text: answered.clone(),
        status: EventStatus::Active,
    };
    match rid {
        None => family.parent = Some(new),
        Some(r) => {
            family.instances.retain(|(x, _)| x != r);
            family.instances.push((r.clone(), new));
            family.instances.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }
    let plan = Plan {
        items: vec![Item {
            uid: uid.clone(),
            rid: rid.cloned(),
            action: answer.action(),
            reason: Reason::UserAnswer,
        }],
        family,
        objects: vec![Change::PutEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
            text: answered.clone(),
        }],
        extra: vec![Change::Dequeue {
            uid: uid.clone(),
            rid: rid.cloned(),
        }],
        reply: Some(build_reply(
            &answered,
            user.as_str(),
            answer.partstat(),
            Utc::now(),
        )),
        only: None,
    };
    finish_plan(
        store,
        user,
        uid,
        &stored,
        super::method::Role::Attendee,
        plan,
    )
    .await
}
