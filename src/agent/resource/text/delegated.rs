//! The texts of a delegation (RFC 5546 §2.1.5): the request as the resource forwards it to its
//! delegate, the delegate a stored copy names, and the delegator's REPLY naming both.

use chrono::{DateTime, Utc};

use crate::id::User;
use crate::object::same_address;

use super::{attendee_with, join, name_of, reply, unfold, value_of, PartStat};

/// The CUTYPE parameter of an ATTENDEE line (`CUTYPE=ROOM`), when it has one.
fn cutype(line: &str) -> Option<String> {
    let head = &line[..line.len() - value_of(line).len()];
    head.split(';')
        .find(|p| p.to_ascii_uppercase().starts_with("CUTYPE="))
        .map(|p| p.trim_end_matches(':').to_owned())
}

/// `text` (a calendar of VEVENTs, or one VEVENT) as the resource that delegates it forwards it
/// (RFC 5546 §2.1.5): in every VEVENT `resource`'s ATTENDEE says `PARTSTAT=DELEGATED` with
/// `DELEGATED-TO` the delegate, and `delegate` is an ATTENDEE (`NEEDS-ACTION`, `DELEGATED-FROM`
/// the resource, the resource's CUTYPE).
pub fn delegated(text: &str, resource: &User, delegate: &User) -> String {
    let to = [("DELEGATED-TO", format!("\"{}\"", delegate.as_str()))];
    let from = [("DELEGATED-FROM", format!("\"{}\"", resource.as_str()))];
    let mut out = Vec::new();
    let (mut named, mut kind) = (false, None);
    for line in unfold(text) {
        if line.eq_ignore_ascii_case("BEGIN:VEVENT") {
            (named, kind) = (false, None);
        }
        if name_of(&line) == "ATTENDEE" {
            let value = value_of(&line);
            if same_address(value, resource.as_str()) {
                kind = cutype(&line);
                out.push(attendee_with(&line, resource, PartStat::Delegated, &to));
                continue;
            }
            if same_address(value, delegate.as_str()) {
                named = true;
                out.push(attendee_with(&line, delegate, PartStat::NeedsAction, &from));
                continue;
            }
        }
        if line.eq_ignore_ascii_case("END:VEVENT") && !named {
            let kind = kind.take().unwrap_or_else(|| "CUTYPE=RESOURCE".to_owned());
            out.push(attendee_with(
                &format!("ATTENDEE;{kind}:{}", delegate.as_str()),
                delegate,
                PartStat::NeedsAction,
                &from,
            ));
        }
        out.push(line);
    }
    join(&out)
}

/// The delegate a stored copy of `resource`'s was delegated to (its ATTENDEE's DELEGATED-TO
/// when its PARTSTAT is DELEGATED), if any.
pub fn delegated_to(text: &str, resource: &User) -> Option<String> {
    let line = unfold(text)
        .into_iter()
        .find(|l| name_of(l) == "ATTENDEE" && same_address(value_of(l), resource.as_str()))?;
    let upper = line.to_ascii_uppercase();
    if !upper.contains("PARTSTAT=DELEGATED") {
        return None;
    }
    let at = upper.find("DELEGATED-TO=")? + "DELEGATED-TO=".len();
    let rest = &line[at..];
    let value = match rest.strip_prefix('"') {
        Some(q) => q.split('"').next()?,
        None => rest.split([';', ':', ',']).next()?,
    };
    Some(value.to_owned())
}

/// The REPLY `resource` sends when `delegate` took the request (RFC 5546 §2.1.5, the
/// delegator's REPLY naming both): the resource `PARTSTAT=DELEGATED` with `DELEGATED-TO`, and
/// the delegate, which accepted every occurrence, `PARTSTAT=ACCEPTED` with `DELEGATED-FROM`.
pub fn delegation_reply(
    request: &str,
    resource: &User,
    delegate: &User,
    now: DateTime<Utc>,
) -> String {
    let plain = reply(request, resource, PartStat::Delegated, &[], now);
    let mut out = Vec::new();
    for line in unfold(&plain) {
        if name_of(&line) == "ATTENDEE" && same_address(value_of(&line), resource.as_str()) {
            out.push(format!(
                "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"{}\":{}",
                delegate.as_str(),
                resource.as_str()
            ));
            out.push(format!(
                "ATTENDEE;PARTSTAT=ACCEPTED;DELEGATED-FROM=\"{}\":{}",
                resource.as_str(),
                delegate.as_str()
            ));
            continue;
        }
        out.push(line);
    }
    join(&out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::object::EventObject;

    const REQ: &str = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u1\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n\
ORGANIZER:mailto:alice@example.com\r\nATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:\
mailto:room1@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn user(a: &str) -> User {
        User::new(a).unwrap()
    }

    #[test]
    fn the_forwarded_request_names_delegator_and_delegate() {
        let (r1, r2) = (
            user("mailto:room1@example.com"),
            user("mailto:room2@example.com"),
        );
        let text = delegated(REQ, &r1, &r2);
        let ev = EventObject::parse(&text).unwrap();
        assert!(!ev.counts_for(&r1, true), "{text}");
        assert!(ev.counts_for(&r2, true), "{text}");
        assert!(
            text.contains("DELEGATED-TO=\"mailto:room2@example.com\""),
            "{text}"
        );
        assert!(
            text.contains("CUTYPE=ROOM;DELEGATED-FROM=\"mailto:room1@example.com\";PARTSTAT=NEEDS-ACTION:mailto:room2@example.com")
                || text.contains("DELEGATED-FROM=\"mailto:room1@example.com\""),
            "{text}"
        );
        assert_eq!(
            delegated_to(&text, &r1).as_deref(),
            Some("mailto:room2@example.com")
        );
        assert_eq!(delegated_to(REQ, &r1), None);
        // Forwarding again (an update of the request) names the delegate once.
        let again = delegated(&text, &r1, &r2);
        assert_eq!(
            again.matches("mailto:room2@example.com\r\n").count(),
            1,
            "{again}"
        );
    }

    #[test]
    fn the_reply_names_both() {
        let (r1, r2) = (
            user("mailto:room1@example.com"),
            user("mailto:room2@example.com"),
        );
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let text = delegation_reply(REQ, &r1, &r2, now);
        assert!(text.contains("METHOD:REPLY"));
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(
            "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:room2@example.com\":mailto:room1@example.com"
        ), "{text}");
        assert!(unfolded.contains(
            "ATTENDEE;PARTSTAT=ACCEPTED;DELEGATED-FROM=\"mailto:room1@example.com\":mailto:room2@example.com"
        ), "{text}");
    }
}
