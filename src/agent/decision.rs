//! The decision record: what one scheduling message did, per (UID, RECURRENCE-ID) it touched.
//!
//! Every agent entry point that applies a message (`agent::receive`, a resource's booking, a
//! user's answer) returns a [`Decision`]. Programs match on [`Action`] and [`Reason`]; both are
//! `#[non_exhaustive]` so that new cases can be added without breaking them. `Display` gives one
//! line per item for people and logs.

use std::fmt;

use crate::id::{Rid, Uid, User};
use crate::period::Period;
use crate::store::Step;

/// What one message did, as a whole and per item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// One entry per (UID, RECURRENCE-ID) the message touched, in message order.
    pub items: Vec<Item>,
    /// Free/busy periods the message added to the user's tables.
    pub added: Vec<Period>,
    /// Free/busy periods the message removed from the user's tables.
    pub removed: Vec<Period>,
    /// The iTIP message the user sends in answer (a REPLY, for instance), when there is one.
    pub reply: Option<String>,
    /// The step that was applied (empty when nothing changed).
    pub step: Step,
}

/// What was done with one (UID, RECURRENCE-ID) of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The event's UID.
    pub uid: Uid,
    /// The instance's normalised RECURRENCE-ID; `None` for the series or a single event.
    pub rid: Option<Rid>,
    /// What was done.
    pub action: Action,
    /// Why.
    pub reason: Reason,
}

/// What was done with one item.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Stored (new to the user, nothing queued).
    Stored,
    /// Stored and queued for the user's answer.
    Queued,
    /// A stored item replaced by a newer version.
    Updated,
    /// Cancelled.
    Cancelled,
    /// An attendee's reply recorded.
    ReplyRecorded,
    /// A counter-proposal recorded.
    CounterRecorded,
    /// A counter-proposal declined.
    CounterDeclined,
    /// Accepted (by the user's answer or a resource's policy).
    Accepted,
    /// Declined (by the user's answer or a resource's policy).
    Declined,
    /// Tentatively accepted.
    Tentative,
    /// Left for a person to decide (a resource's policy did not decide).
    LeftForPerson,
    /// The stored event sent again (the answer to a REFRESH is in [`Decision::reply`]).
    Resent,
    /// Nothing changed: the store holds a newer version.
    IgnoredAsOlder,
    /// Nothing changed: the store holds this very version.
    Duplicate,
    /// Nothing changed: the message cannot be applied (see the reason).
    Refused,
    /// Handed to another resource of the quota (a resource's `delegate_to_free`): the REPLY
    /// says PARTSTAT=DELEGATED with DELEGATED-TO, and the delegate holds the booking.
    Delegated,
}

/// Why an item was handled as it was. Programs match on the variant; the fields say more.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The method's normal effect for the user's role.
    Applied,
    /// An instance (or its cancellation) that arrived before its series: kept, and applied to
    /// the series when it comes.
    BeforeSeries,
    /// The stored version is newer (SEQUENCE, then DTSTAMP): the stored SEQUENCE.
    OlderSequence {
        /// The stored SEQUENCE.
        stored: i64,
        /// The message's SEQUENCE.
        message: i64,
    },
    /// Same SEQUENCE, older DTSTAMP than the stored one.
    OlderStamp,
    /// The same SEQUENCE and DTSTAMP as the stored version.
    SameVersion,
    /// The event is cancelled.
    EventCancelled,
    /// The store has no such event.
    UnknownEvent,
    /// The series has no occurrence at this RECURRENCE-ID.
    NoSuchInstance,
    /// The user is neither organiser nor attendee of the event.
    NotNamed,
    /// The method is for the organiser (REPLY, COUNTER, REFRESH) and the user does not organise
    /// the event; or for an attendee (DECLINECOUNTER) and the user organises it.
    WrongRole,
    /// The sender is not an attendee of the event (for a REPLY or COUNTER).
    NotAnAttendee,
    /// A REPLY to an older SEQUENCE than the stored one.
    ReplyToOlderVersion,
    /// Busy with another event (its UID) at this occurrence.
    Busy {
        /// The UID of the event holding the time.
        uid: Uid,
    },
    /// Outside the resource's availability (VAVAILABILITY).
    OutsideAvailability,
    /// Over the quota's limit.
    OverQuota,
    /// Outside the resource's booking window.
    OutsideBookingWindow,
    /// Longer than the resource's maximum duration.
    TooLong,
    /// The resource takes no recurring bookings.
    SeriesNotAllowed,
    /// More occurrences of the series conflict than the resource allows.
    TooManyConflicts,
    /// The organiser may not book this resource.
    NotPermitted,
    /// The resource's mode decides without looking (accept-always, decline-always, none).
    Mode,
    /// The user's own answer.
    UserAnswer,
    /// The resource could not take the request and a delegate of its quota, free for every
    /// occurrence, took it.
    DelegatedTo {
        /// The resource that holds the booking.
        delegate: User,
    },
    /// Anything else, in words.
    Other(String),
}

/// `IgnoredAsOlder` → `ignored-as-older`: the variant's name of a Debug text, kebab-cased.
fn kebab(debug: &str) -> String {
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Action {
    /// The stable code a program or a log matches on: the variant's name in kebab case
    /// (`stored`, `queued`, `ignored-as-older`, …).
    pub fn code(&self) -> String {
        kebab(&format!("{self:?}"))
    }
}

impl Reason {
    /// The stable code of the reason: the variant's name in kebab case (`applied`,
    /// `older-sequence`, `no-such-instance`, …).
    pub fn code(&self) -> String {
        kebab(&format!("{self:?}"))
    }

    /// The reason's details in words, when it has any.
    pub fn detail(&self) -> Option<String> {
        match self {
            Reason::OlderSequence { stored, message } => Some(format!(
                "the store holds SEQUENCE {stored}, the message has {message}"
            )),
            Reason::Busy { uid } => Some(format!("busy with {uid}")),
            Reason::DelegatedTo { delegate } => Some(format!("delegated to {delegate}")),
            Reason::Other(text) => Some(text.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        for p in &self.added {
            writeln!(f, "+ {}", p.to_line(false))?;
        }
        for p in &self.removed {
            writeln!(f, "- {}", p.to_line(false))?;
        }
        write!(
            f,
            "periods: {} added, {} removed",
            self.added.len(),
            self.removed.len()
        )
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.uid)?;
        if let Some(rid) = &self.rid {
            write!(f, " {rid}")?;
        }
        write!(f, ": {} ({}", self.action.code(), self.reason.code())?;
        if let Some(d) = self.reason.detail() {
            write!(f, ": {d}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_names() {
        assert_eq!(Action::IgnoredAsOlder.code(), "ignored-as-older");
        assert_eq!(
            Reason::OlderSequence {
                stored: 2,
                message: 1
            }
            .code(),
            "older-sequence"
        );
        assert_eq!(Reason::Other("x".into()).code(), "other");
        assert_eq!(Reason::NoSuchInstance.code(), "no-such-instance");
        assert_eq!(Action::Delegated.code(), "delegated");
        let to = Reason::DelegatedTo {
            delegate: User::new("mailto:room2@example.com").unwrap_or_else(|e| panic!("{e}")),
        };
        assert_eq!(to.code(), "delegated-to");
        assert_eq!(
            to.detail().as_deref(),
            Some("delegated to mailto:room2@example.com")
        );
    }
}
