//! The iTIP METHOD of a message and the user's role in its event, and the small reads
//! [`receive`](super::receive) needs about a series: whether an instance exists, and the stored
//! event as a REQUEST.

use std::fmt;

use chrono::Duration;

use crate::error::{Error, Result};
use crate::id::User;
use crate::object::{same_address, EventObject};
use crate::recurrence::{self, ExpandOptions};
use crate::store::EventFamily;

use super::order::{line_name, method_of};
use super::Message;

/// An iTIP method for VEVENT (RFC 5546 §1.4). Not the queue's kind of entry
/// ([`QueueKind`](crate::store::QueueKind)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItipMethod {
    /// `PUBLISH`, and a calendar without METHOD.
    Publish,
    /// `REQUEST`.
    Request,
    /// `REPLY`.
    Reply,
    /// `ADD`.
    Add,
    /// `CANCEL`.
    Cancel,
    /// `REFRESH`.
    Refresh,
    /// `COUNTER`.
    Counter,
    /// `DECLINECOUNTER`.
    DeclineCounter,
}

impl ItipMethod {
    /// The METHOD of a calendar; PUBLISH when it has none.
    ///
    /// # Errors
    ///
    /// Invalid input for a METHOD that is not one of the eight for VEVENT.
    pub fn of(text: &str) -> Result<ItipMethod> {
        let Some(m) = method_of(text) else {
            return Ok(ItipMethod::Publish);
        };
        Ok(match m.as_str() {
            "PUBLISH" => ItipMethod::Publish,
            "REQUEST" => ItipMethod::Request,
            "REPLY" => ItipMethod::Reply,
            "ADD" => ItipMethod::Add,
            "CANCEL" => ItipMethod::Cancel,
            "REFRESH" => ItipMethod::Refresh,
            "COUNTER" => ItipMethod::Counter,
            "DECLINECOUNTER" => ItipMethod::DeclineCounter,
            other => {
                return Err(Error::invalid(format!(
                    "METHOD:{other} is not an iTIP method for VEVENT (RFC 5546)"
                )))
            }
        })
    }

    /// The method's name as written in METHOD.
    pub fn as_str(self) -> &'static str {
        match self {
            ItipMethod::Publish => "PUBLISH",
            ItipMethod::Request => "REQUEST",
            ItipMethod::Reply => "REPLY",
            ItipMethod::Add => "ADD",
            ItipMethod::Cancel => "CANCEL",
            ItipMethod::Refresh => "REFRESH",
            ItipMethod::Counter => "COUNTER",
            ItipMethod::DeclineCounter => "DECLINECOUNTER",
        }
    }
}

impl fmt::Display for ItipMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user's role in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The user is the ORGANIZER.
    Organiser,
    /// The user is one of the ATTENDEEs.
    Attendee,
    /// Neither.
    NotNamed,
}

impl Role {
    /// The user's role from the message's objects, else from the stored parent.
    pub(super) fn of(user: &User, message: &Message, stored: &EventFamily) -> Result<Role> {
        let me = user.as_str();
        let stored_parent = stored
            .parent
            .as_ref()
            .and_then(|p| EventObject::parse(&p.text).ok());
        let objects = message.objects.iter().chain(stored_parent.iter());
        let organiser = objects.clone().find_map(|o| o.organizer());
        if organiser.is_some_and(|o| same_address(o, me)) {
            return Ok(Role::Organiser);
        }
        let attends = objects
            .flat_map(|o| o.attendees())
            .any(|a| same_address(&a.address, me));
        Ok(if attends {
            Role::Attendee
        } else {
            Role::NotNamed
        })
    }
}

/// Whether the series `parent_text` has an occurrence at the RECURRENCE-ID of `instance`
/// (compared as instants; an all-day series also matches a date-time RECURRENCE-ID on that
/// day, as Outlook writes it).
///
/// # Errors
///
/// Corrupt data when the parent does not parse; invalid input when its rule cannot be expanded.
pub(super) fn has_occurrence(parent_text: &str, instance: &EventObject) -> Result<bool> {
    let Some(rid) = instance.recurrence_id() else {
        return Ok(true);
    };
    let parent = EventObject::parse(parent_text)
        .map_err(|e| Error::corrupt(format!("the stored series does not parse: {e}")))?;
    let tz = chrono_tz::UTC;
    let at = rid.to_utc(&tz)?;
    let probe = User::new("mailto:calstore-probe@invalid")?;
    let Some(window_end) = at.checked_add_signed(Duration::days(2)) else {
        return Ok(false);
    };
    let opts = ExpandOptions {
        tz,
        window_end,
        needs_action: true,
    };
    let e = recurrence::expand(&probe, Some(&parent), &[], &opts)?;
    let all_day = parent.dtstart().is_some_and(|d| d.is_date());
    Ok(e.periods
        .iter()
        .any(|p| p.start == at || (all_day && p.start.date_naive() == rid.wall().date())))
}

/// The stored event's text as a REQUEST (METHOD set), for a REFRESH's answer.
pub(super) fn as_request(text: &str) -> String {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + 20);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if line_name(line) == "METHOD" {
            continue;
        }
        out.push_str(line);
        if !done && line.trim_end().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
            out.push_str("METHOD:REQUEST");
            out.push_str(eol);
            done = true;
        }
    }
    if !done {
        return format!(
            "BEGIN:VCALENDAR{eol}VERSION:2.0{eol}METHOD:REQUEST{eol}{text}END:VCALENDAR{eol}"
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn slips_real_producers_make_are_read_with_a_warning() {
        let count = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T090000Z\r\n\
            RRULE:FREQ=WEEKLY;COUNT=0;UNTIL=20260301T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let o = EventObject::parse(count).unwrap();
        assert!(o.rule().unwrap().count().is_none());
        assert!(
            o.warnings().iter().any(|w| w.message.contains("COUNT=0")),
            "{:?}",
            o.warnings()
        );
        let alone = count.replace(";UNTIL=20260301T000000Z", "");
        assert!(
            EventObject::parse(&alone).is_err(),
            "COUNT=0 alone leaves no rule"
        );
        let end = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T090000Z\r\n\
            END:VTODO\r\nEND:VCALENDAR\r\n";
        let o = EventObject::parse(end).unwrap();
        assert!(o.warnings().iter().any(|w| w.message.contains("END:VTODO")));
    }

    #[test]
    fn methods_are_read_and_unknown_ones_refused() {
        let cal = |m: &str| {
            format!("BEGIN:VCALENDAR\r\nMETHOD:{m}\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        };
        assert_eq!(
            ItipMethod::of(&cal("declinecounter")).unwrap(),
            ItipMethod::DeclineCounter
        );
        assert_eq!(
            ItipMethod::of("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").unwrap(),
            ItipMethod::Publish
        );
        assert!(ItipMethod::of(&cal("X-FOO")).is_err());
    }
}
