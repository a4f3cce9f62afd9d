//! The iCalendar text a resource writes: its stored copy carrying its own PARTSTAT (so that the
//! cron job, which counts only the user's accepted events, keeps the booking), overrides for the
//! occurrences it declined or left for a person, the journal's copy of what is charged to the
//! quota, and the REPLY it sends.
//!
//! The texts are edited line by line on unfolded content lines, so everything the organiser wrote
//! (X- properties, VTIMEZONEs, parameters) is kept byte for byte outside the edited lines.

use chrono::{DateTime, Utc};

use crate::id::{Rid, User};
use crate::object::same_address;
use crate::period::format_instant;
use crate::query::ical::fold;

mod delegated;
pub use delegated::{delegated, delegated_to, delegation_reply};

/// A participant's answer as the resource writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    /// `ACCEPTED`.
    Accepted,
    /// `DECLINED`.
    Declined,
    /// `NEEDS-ACTION`: left for a person.
    NeedsAction,
    /// `DELEGATED`: handed to a delegate of the quota.
    Delegated,
}

impl PartStat {
    /// The iCalendar value.
    pub fn as_str(self) -> &'static str {
        match self {
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
            PartStat::NeedsAction => "NEEDS-ACTION",
            PartStat::Delegated => "DELEGATED",
        }
    }
}

/// Unfolds content lines (RFC 5545 §3.1): a line starting with a space or tab continues the last.
fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(line.to_owned()),
        }
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn join(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        fold(l, &mut out);
    }
    out
}

/// The property name of a content line, upper-cased.
fn name_of(line: &str) -> String {
    let end = line.find([';', ':']).unwrap_or(line.len());
    line[..end].to_ascii_uppercase()
}

/// The value of a content line (after the first colon outside quotes).
fn value_of(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return &line[i + 1..],
            _ => {}
        }
    }
    ""
}

/// An ATTENDEE line for `user` with `partstat` and without RSVP, from `line` (its other
/// parameters kept).
fn attendee_line(line: &str, user: &User, partstat: PartStat) -> String {
    attendee_with(line, user, partstat, &[])
}

/// As [`attendee_line`], with the parameters `extra` (name, value) set in place of any of those
/// names.
fn attendee_with(line: &str, user: &User, partstat: PartStat, extra: &[(&str, String)]) -> String {
    let value = value_of(line);
    let head = &line[..line.len() - value.len()].trim_end_matches(':');
    let mut params: Vec<String> = Vec::new();
    let mut quoted = false;
    let mut cur = String::new();
    for c in head.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => params.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    params.push(cur);
    let mut out = String::from("ATTENDEE");
    for p in params.iter().skip(1) {
        let pname = p.split('=').next().unwrap_or("").to_ascii_uppercase();
        if pname != "PARTSTAT" && pname != "RSVP" && !extra.iter().any(|(n, _)| *n == pname) {
            out.push(';');
            out.push_str(p);
        }
    }
    for (name, v) in extra {
        out.push_str(&format!(";{name}={v}"));
    }
    out.push_str(";PARTSTAT=");
    out.push_str(partstat.as_str());
    out.push(':');
    out.push_str(if value.is_empty() {
        user.as_str()
    } else {
        value
    });
    out
}

/// `text` (a calendar of VEVENTs, or one VEVENT) with `user`'s ATTENDEE entries in every VEVENT
/// set to `partstat`; a VEVENT that does not name the user gets an ATTENDEE for it.
pub fn with_partstat(text: &str, user: &User, partstat: PartStat) -> String {
    let mut out = Vec::new();
    let mut named = false;
    for line in unfold(text) {
        let name = name_of(&line);
        if name == "ATTENDEE" && same_address(value_of(&line), user.as_str()) {
            out.push(attendee_line(&line, user, partstat));
            named = true;
            continue;
        }
        if line.eq_ignore_ascii_case("BEGIN:VEVENT") {
            named = false;
        }
        if line.eq_ignore_ascii_case("END:VEVENT") && !named {
            out.push(format!(
                "ATTENDEE;CUTYPE=RESOURCE;PARTSTAT={}:{}",
                partstat.as_str(),
                user.as_str()
            ));
        }
        out.push(line);
    }
    join(&out)
}

/// The RECURRENCE-ID content line of `rid`.
fn rid_line(rid: &Rid) -> String {
    if rid.as_str().len() == 8 {
        format!("RECURRENCE-ID;VALUE=DATE:{rid}")
    } else {
        format!("RECURRENCE-ID:{rid}")
    }
}

/// Properties that describe the series' pattern, left out of an instance.
const PATTERN: [&str; 8] = [
    "RRULE",
    "RDATE",
    "EXDATE",
    "EXRULE",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RECURRENCE-ID",
];

/// An override of one occurrence of the series `master` (its stored text): the master's
/// properties without the pattern, at `start`–`end` (UTC), with `user`'s PARTSTAT.
pub fn instance(
    master: &str,
    user: &User,
    rid: &Rid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    partstat: PartStat,
) -> String {
    let mut out = Vec::new();
    let mut depth_event = false;
    for line in unfold(master) {
        if line.eq_ignore_ascii_case("BEGIN:VEVENT") {
            depth_event = true;
            out.push(line);
            out.push(rid_line(rid));
            out.push(format!("DTSTART:{}", format_instant(start)));
            out.push(format!("DTEND:{}", format_instant(end)));
            continue;
        }
        if line.eq_ignore_ascii_case("END:VEVENT") {
            depth_event = false;
        }
        if depth_event && PATTERN.contains(&name_of(&line).as_str()) {
            continue;
        }
        out.push(line);
    }
    with_partstat(&join(&out), user, partstat)
}

/// `master` with EXDATEs at `instants`: the journal's copy of a reservation, charged for the
/// occurrences the resource accepted only.
pub fn with_exdates(master: &str, instants: &[DateTime<Utc>]) -> String {
    if instants.is_empty() {
        return master.to_owned();
    }
    let mut out = Vec::new();
    for line in unfold(master) {
        if line.eq_ignore_ascii_case("END:VEVENT") {
            for chunk in instants.chunks(8) {
                let values: Vec<String> = chunk.iter().map(|t| format_instant(*t)).collect();
                out.push(format!("EXDATE:{}", values.join(",")));
            }
        }
        out.push(line);
    }
    join(&out)
}

/// The property that marks a journal copy as a redo record, with the resource's address.
const PENDING: &str = "X-CALSTORE-PENDING";

/// `text` marked as a pending reservation of `resource` (the redo record of a booking).
pub fn pending(text: &str, resource: &User) -> String {
    let mut out = Vec::new();
    for line in unfold(text) {
        if line.eq_ignore_ascii_case("END:VEVENT") {
            out.push(format!("{PENDING}:{}", resource.as_str()));
        }
        out.push(line);
    }
    join(&out)
}

/// The resource a pending reservation is for, or `None` when `text` is not pending.
pub fn pending_resource(text: &str) -> Option<String> {
    unfold(text)
        .into_iter()
        .find(|l| name_of(l) == PENDING)
        .map(|l| value_of(&l).to_owned())
}

/// Properties a REPLY's VEVENT copies from the request (RFC 5546 §3.2.3).
const REPLY_KEEP: [&str; 6] = [
    "UID",
    "SEQUENCE",
    "ORGANIZER",
    "DTSTART",
    "DTEND",
    "SUMMARY",
];

/// The REPLY `user` sends for the VEVENT `request` (the series or a single event) answered
/// with `series`, plus one VEVENT per instance answered otherwise (CalendarServer's form: an
/// override per declined occurrence).
pub fn reply(
    request: &str,
    user: &User,
    series: PartStat,
    instances: &[(Rid, PartStat)],
    now: DateTime<Utc>,
) -> String {
    let lines = unfold(request);
    let mut kept = Vec::new();
    let mut timezones = Vec::new();
    let mut in_event = false;
    let mut in_tz = false;
    for line in &lines {
        if line.eq_ignore_ascii_case("BEGIN:VTIMEZONE") {
            in_tz = true;
        }
        if in_tz {
            timezones.push(line.clone());
            if line.eq_ignore_ascii_case("END:VTIMEZONE") {
                in_tz = false;
            }
            continue;
        }
        if line.eq_ignore_ascii_case("BEGIN:VEVENT") {
            in_event = true;
            continue;
        }
        if line.eq_ignore_ascii_case("END:VEVENT") {
            break;
        }
        if in_event && REPLY_KEEP.contains(&name_of(line).as_str()) {
            kept.push(line.clone());
        }
    }
    let stamp = format!("DTSTAMP:{}", format_instant(now));
    let attendee = |p: PartStat| format!("ATTENDEE;PARTSTAT={}:{}", p.as_str(), user.as_str());
    let mut out = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//calstore//resource//EN".to_owned(),
        "METHOD:REPLY".to_owned(),
    ];
    out.extend(timezones);
    out.push("BEGIN:VEVENT".to_owned());
    out.extend(kept.iter().cloned());
    out.push(stamp.clone());
    out.push(attendee(series));
    out.push("END:VEVENT".to_owned());
    for (rid, p) in instances {
        out.push("BEGIN:VEVENT".to_owned());
        out.extend(
            kept.iter()
                .filter(|l| !matches!(name_of(l).as_str(), "DTSTART" | "DTEND"))
                .cloned(),
        );
        out.push(rid_line(rid));
        out.push(stamp.clone());
        out.push(attendee(*p));
        out.push("END:VEVENT".to_owned());
    }
    out.push("END:VCALENDAR".to_owned());
    join(&out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::object::EventObject;

    const REQ: &str = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u1\r\n\
DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n\
ORGANIZER:mailto:alice@example.com\r\nATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;\r\n \
CN=\"Room; 1\":mailto:ROOM1@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn room() -> User {
        User::new("mailto:room1@example.com").unwrap()
    }

    #[test]
    fn partstat_is_rewritten_and_counts_for_the_room() {
        let text = with_partstat(REQ, &room(), PartStat::Accepted);
        assert!(text.contains("PARTSTAT=ACCEPTED"), "{text}");
        assert!(!text.contains("RSVP"), "{text}");
        assert!(text.contains("CN=\"Room; 1\""), "{text}");
        let ev = EventObject::parse(&text).unwrap();
        assert!(ev.counts_for(&room(), false));
        let declined = with_partstat(REQ, &room(), PartStat::Declined);
        assert!(!EventObject::parse(&declined)
            .unwrap()
            .counts_for(&room(), true));
    }

    #[test]
    fn an_unnamed_resource_is_added() {
        let text = with_partstat(
            REQ,
            &User::new("mailto:car@example.com").unwrap(),
            PartStat::Accepted,
        );
        assert!(text.contains("ATTENDEE;CUTYPE=RESOURCE;PARTSTAT=ACCEPTED:mailto:car@example.com"));
    }

    #[test]
    fn an_instance_is_a_valid_override() {
        let rid = Rid::new("20260106T090000Z").unwrap();
        let start = "2026-01-06T09:00:00Z".parse().unwrap();
        let end = "2026-01-06T10:00:00Z".parse().unwrap();
        let text = instance(REQ, &room(), &rid, start, end, PartStat::Declined);
        let ev = EventObject::parse(&text).unwrap();
        assert_eq!(ev.rid(), Some(&rid));
        assert!(ev.rule().is_none());
        assert!(!ev.counts_for(&room(), true));
    }

    #[test]
    fn a_reply_has_an_override_per_declined_instance() {
        let rid = Rid::new("20260106T090000Z").unwrap();
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let text = reply(
            REQ,
            &room(),
            PartStat::Accepted,
            &[(rid, PartStat::Declined)],
            now,
        );
        assert!(text.contains("METHOD:REPLY"));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert!(text.contains("RECURRENCE-ID:20260106T090000Z"));
        assert!(!text.contains("RRULE"));
        let objects = crate::object::split_calendar(&text).unwrap();
        assert_eq!(objects.len(), 2);
    }

    #[test]
    fn exdates_take_declined_occurrences_out() {
        let t = "2026-01-06T09:00:00Z".parse().unwrap();
        let text = with_exdates(REQ, &[t]);
        let ev = EventObject::parse(&text).unwrap();
        assert_eq!(ev.exdates().len(), 1);
    }
}
