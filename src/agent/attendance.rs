//! An attendee's answer inside a stored event: rewriting one ATTENDEE's PARTSTAT (keeping every
//! other byte of the object), reading back when that attendee's last reply was stamped, and
//! building the REPLY message a user sends.
//!
//! The stamp of the last reply applied is kept on the ATTENDEE line itself as the parameter
//! `X-CALSTORE-REPLY-STAMP` (RFC 5545 allows any X- parameter), so that replies are ordered per
//! attendee (RFC 5546 §2.1.5) without another table.

use chrono::{DateTime, Utc};

use crate::object::same_address;

use super::order::{line_name, line_value, parse_utc};

/// The parameter that holds the DTSTAMP of the attendee's last reply applied.
pub const REPLY_STAMP: &str = "X-CALSTORE-REPLY-STAMP";

/// The parameter that holds the SEQUENCE of the attendee's last reply applied: the version it
/// answered, which may be newer than the stored object's when the organiser's own copy of that
/// version arrives later (the answer then counts for it).
pub const REPLY_SEQUENCE: &str = "X-CALSTORE-REPLY-SEQUENCE";

/// One logical line of the text with its physical lines.
struct Logical {
    unfolded: String,
    raw: Vec<String>,
}

fn logical_lines(text: &str) -> (Vec<Logical>, &'static str) {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out: Vec<Logical> = Vec::new();
    let body = text.strip_suffix(eol).unwrap_or(text);
    for raw in body.split(eol) {
        match raw.chars().next() {
            Some(' ' | '\t') if !out.is_empty() => {
                if let Some(last) = out.last_mut() {
                    last.unfolded.push_str(&raw[1..]);
                    last.raw.push(raw.to_owned());
                }
            }
            _ => out.push(Logical {
                unfolded: raw.to_owned(),
                raw: vec![raw.to_owned()],
            }),
        }
    }
    (out, eol)
}

/// The parameters of a content line (name upper-cased, value as written), and its value.
fn split_params(line: &str) -> (String, Vec<(String, String)>, String) {
    let value = line_value(line).to_owned();
    let head_len = line.len() - value.len() - 1;
    let head = &line[..head_len.min(line.len())];
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    let name = parts.remove(0);
    let params = parts
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), v.to_owned()),
            None => (p.trim().to_ascii_uppercase(), String::new()),
        })
        .collect();
    (name, params, value)
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(line: &str, eol: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str(eol);
            out.push(' ');
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

/// The text with the ATTENDEE line(s) of `attendee` inside the VEVENT given `partstat` and,
/// when given, the reply's stamp; `None` when the event does not name the attendee.
pub fn set_partstat(
    text: &str,
    attendee: &str,
    partstat: &str,
    stamp: Option<&str>,
) -> Option<String> {
    set_answer(text, attendee, partstat, stamp, None)
}

/// [`set_partstat`], also recording the SEQUENCE the reply answered ([`REPLY_SEQUENCE`]).
pub fn set_answer(
    text: &str,
    attendee: &str,
    partstat: &str,
    stamp: Option<&str>,
    sequence: Option<u32>,
) -> Option<String> {
    let (lines, eol) = logical_lines(text);
    let mut found = false;
    let mut out = String::with_capacity(text.len() + 64);
    for l in &lines {
        if line_name(&l.unfolded) == "ATTENDEE" && same_address(line_value(&l.unfolded), attendee) {
            found = true;
            let (name, params, value) = split_params(&l.unfolded);
            let mut rebuilt = name;
            for (k, v) in params {
                if k == "PARTSTAT" || k == REPLY_STAMP || k == REPLY_SEQUENCE || k == "RSVP" {
                    continue;
                }
                rebuilt.push_str(&format!(";{k}={v}"));
            }
            rebuilt.push_str(&format!(";PARTSTAT={partstat}"));
            if let Some(s) = stamp {
                rebuilt.push_str(&format!(";{REPLY_STAMP}={s}"));
            }
            if let Some(n) = sequence {
                rebuilt.push_str(&format!(";{REPLY_SEQUENCE}={n}"));
            }
            rebuilt.push(':');
            rebuilt.push_str(&value);
            out.push_str(&fold(&rebuilt, eol));
        } else {
            out.push_str(&l.raw.join(eol));
        }
        out.push_str(eol);
    }
    found.then_some(out)
}

/// The SEQUENCE `attendee`'s last reply applied to the stored event answered, when recorded.
pub fn reply_sequence(text: &str, attendee: &str) -> Option<u32> {
    let (lines, _) = logical_lines(text);
    lines.iter().find_map(|l| {
        if line_name(&l.unfolded) != "ATTENDEE" || !same_address(line_value(&l.unfolded), attendee)
        {
            return None;
        }
        let (_, params, _) = split_params(&l.unfolded);
        params
            .iter()
            .find(|(k, _)| k == REPLY_SEQUENCE)
            .and_then(|(_, v)| v.trim().parse().ok())
    })
}

/// The stamp of `attendee`'s last reply applied to the stored event, if any.
pub fn reply_stamp(text: &str, attendee: &str) -> Option<DateTime<Utc>> {
    let (lines, _) = logical_lines(text);
    lines.iter().find_map(|l| {
        if line_name(&l.unfolded) != "ATTENDEE" || !same_address(line_value(&l.unfolded), attendee)
        {
            return None;
        }
        let (_, params, _) = split_params(&l.unfolded);
        params
            .iter()
            .find(|(k, _)| k == REPLY_STAMP)
            .and_then(|(_, v)| parse_utc(v))
    })
}

/// The REPLY `user` sends for the stored event `text` with `partstat`: the calendar's VTIMEZONEs,
/// the event's identifying and time properties, ORGANIZER, and the user's own ATTENDEE line only
/// (RFC 5546 §3.2.3), stamped `now`.
pub fn build_reply(text: &str, user: &str, partstat: &str, now: DateTime<Utc>) -> String {
    const KEEP: &[&str] = &[
        "UID",
        "RECURRENCE-ID",
        "SEQUENCE",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "ORGANIZER",
        "SUMMARY",
    ];
    let eol = "\r\n";
    let answered = set_partstat(text, user, partstat, None).unwrap_or_else(|| text.to_owned());
    let (lines, _) = logical_lines(&answered);
    let mut out = format!(
        "BEGIN:VCALENDAR{eol}VERSION:2.0{eol}PRODID:-//calstore//agent//EN{eol}METHOD:REPLY{eol}"
    );
    let mut depth_event = false;
    let mut in_calendar_body = false;
    for l in &lines {
        let name = line_name(&l.unfolded);
        let value = line_value(&l.unfolded).trim().to_ascii_uppercase();
        match (name.as_str(), value.as_str()) {
            ("BEGIN", "VCALENDAR") => {
                in_calendar_body = true;
                continue;
            }
            ("END", "VCALENDAR") => continue,
            ("BEGIN", "VEVENT") => {
                depth_event = true;
                out.push_str(&format!("BEGIN:VEVENT{eol}"));
                out.push_str(&format!("DTSTAMP:{}{eol}", now.format("%Y%m%dT%H%M%SZ")));
                continue;
            }
            ("END", "VEVENT") => {
                depth_event = false;
                out.push_str(&format!("END:VEVENT{eol}"));
                continue;
            }
            _ => {}
        }
        if depth_event {
            let mine = name == "ATTENDEE" && same_address(line_value(&l.unfolded), user);
            if KEEP.contains(&name.as_str()) || mine {
                out.push_str(&l.raw.join(eol));
                out.push_str(eol);
            }
        } else if in_calendar_body
            && !matches!(name.as_str(), "METHOD" | "VERSION" | "PRODID" | "CALSCALE")
            && !name.starts_with("X-WR")
        {
            // VTIMEZONE components and their lines.
            out.push_str(&l.raw.join(eol));
            out.push_str(eol);
        }
    }
    out.push_str(&format!("END:VCALENDAR{eol}"));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::object::{EventObject, PartStat};

    const EV: &str = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n\
        DTSTART:20260105T090000Z\r\nORGANIZER:mailto:alice@example.com\r\n\
        ATTENDEE;CN=\"Bob; the builder\";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com\r\n\
        ATTENDEE:mailto:carol@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn partstat_is_rewritten_for_that_attendee_only() {
        let t = set_partstat(
            EV,
            "mailto:BOB@example.com",
            "ACCEPTED",
            Some("20260102T000000Z"),
        )
        .unwrap();
        let o = EventObject::parse(&t).unwrap();
        assert_eq!(o.attendees()[0].partstat, PartStat::Accepted);
        assert_eq!(o.attendees()[1].partstat, PartStat::NeedsAction);
        assert!(t.contains("CN=\"Bob; the builder\""));
        assert_eq!(
            reply_stamp(&t, "mailto:bob@example.com"),
            parse_utc("20260102T000000Z")
        );
        assert_eq!(reply_stamp(&t, "mailto:carol@example.com"), None);
        assert!(set_partstat(EV, "mailto:dave@example.com", "ACCEPTED", None).is_none());
    }

    #[test]
    fn reply_names_only_the_user() {
        let now = parse_utc("20260103T000000Z").unwrap();
        let r = build_reply(EV, "mailto:bob@example.com", "DECLINED", now);
        assert!(r.contains("METHOD:REPLY"));
        assert!(!r.contains("carol"));
        let o = EventObject::parse(&r).unwrap();
        assert_eq!(o.attendees().len(), 1);
        assert_eq!(o.attendees()[0].partstat, PartStat::Declined);
    }
}
