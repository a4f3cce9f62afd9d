//! Ordering of scheduling messages (RFC 5546 §2.1.4–2.1.5): per (UID, RECURRENCE-ID) the
//! higher SEQUENCE wins, then the later DTSTAMP. What the store holds of a key is its version;
//! a message older than it changes nothing, one equal to it is a duplicate.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::object::EventObject;

use super::decision::Reason;

/// The version of one object: SEQUENCE, then DTSTAMP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// SEQUENCE (0 when missing).
    pub sequence: u32,
    /// DTSTAMP, when the object has a readable one.
    pub dtstamp: Option<DateTime<Utc>>,
}

impl Stamp {
    /// The stamp of an object.
    pub fn of(object: &EventObject) -> Stamp {
        Stamp {
            sequence: object.sequence(),
            dtstamp: property(object.text(), "DTSTAMP")
                .as_deref()
                .and_then(parse_utc),
        }
    }
}

/// How a message's object compares with the stored one of the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// The message is newer (or nothing is stored): apply it.
    Newer,
    /// The same version: a duplicate.
    Same,
    /// The stored version is newer; the reason says by what.
    Older(Reason),
}

/// Compares `message` with `stored` (RFC 5546 §2.1.5). When the SEQUENCEs are equal and either
/// DTSTAMP is missing, identical texts are the same version and anything else is applied, as a
/// store that kept no stamp did before.
pub fn compare(message: &EventObject, stored: &EventObject) -> Order {
    let (m, s) = (Stamp::of(message), Stamp::of(stored));
    match m.sequence.cmp(&s.sequence) {
        Ordering::Greater => Order::Newer,
        Ordering::Less => Order::Older(Reason::OlderSequence {
            stored: i64::from(s.sequence),
            message: i64::from(m.sequence),
        }),
        Ordering::Equal => match (m.dtstamp, s.dtstamp) {
            (Some(a), Some(b)) if a < b => Order::Older(Reason::OlderStamp),
            (Some(a), Some(b)) if a > b => Order::Newer,
            _ if same_text(message.text(), stored.text()) => Order::Same,
            (Some(_), Some(_)) => Order::Same,
            _ => Order::Newer,
        },
    }
}

/// Which of two copies of one key is the newer by [`compare`]: `Greater` when `a` is newer.
/// What the import uses to pick among copies of a UID in one file (the later copy wins a tie).
pub fn newer(a: &EventObject, b: &EventObject) -> Ordering {
    match compare(a, b) {
        Order::Newer => Ordering::Greater,
        Order::Same => Ordering::Equal,
        Order::Older(_) => Ordering::Less,
    }
}

fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
}

/// The text's content lines, unfolded (RFC 5545 §3.1).
pub(crate) fn unfolded(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match raw.chars().next() {
            Some(' ' | '\t') if !lines.is_empty() => {
                if let Some(last) = lines.last_mut() {
                    last.push_str(&raw[1..]);
                }
            }
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}

/// The name of a content line (before `;` or `:`), upper-cased.
pub(crate) fn line_name(line: &str) -> String {
    let end = line.find([';', ':']).unwrap_or(line.len());
    line[..end].trim().to_ascii_uppercase()
}

/// The value of a content line (after the first `:` outside a quoted parameter).
pub(crate) fn line_value(line: &str) -> &str {
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

/// The value of the first `name` property inside the first VEVENT of `text`.
pub(crate) fn property(text: &str, name: &str) -> Option<String> {
    let mut inside = false;
    for line in unfolded(text) {
        let n = line_name(&line);
        if n == "BEGIN" && line_value(&line).trim().eq_ignore_ascii_case("VEVENT") {
            inside = true;
        } else if n == "END" && inside {
            return None;
        } else if inside && n == name {
            return Some(line_value(&line).trim().to_owned());
        }
    }
    None
}

/// The calendar's METHOD (upper-cased), read before its first component.
pub(crate) fn method_of(text: &str) -> Option<String> {
    for line in unfolded(text) {
        match line_name(&line).as_str() {
            "METHOD" => return Some(line_value(&line).trim().to_ascii_uppercase()),
            "BEGIN" if !line_value(&line).trim().eq_ignore_ascii_case("VCALENDAR") => return None,
            _ => {}
        }
    }
    None
}

/// A UTC DATE-TIME (`20260105T090000Z`); `None` for any other form.
pub(crate) fn parse_utc(value: &str) -> Option<DateTime<Utc>> {
    let v = value.trim().strip_suffix(['Z', 'z'])?;
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    fn ev(seq: u32, stamp: &str, summary: &str) -> EventObject {
        EventObject::parse(&format!(
            "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:u\r\nSEQUENCE:{seq}\r\n\
             DTSTAMP:{stamp}\r\nDTSTART:20260105T090000Z\r\nSUMMARY:{summary}\r\n\
             END:VEVENT\r\nEND:VCALENDAR\r\n"
        ))
        .unwrap()
    }

    #[test]
    fn sequence_then_stamp_decide() {
        let a = ev(1, "20260101T000000Z", "a");
        let b = ev(2, "20251201T000000Z", "b");
        assert_eq!(compare(&b, &a), Order::Newer);
        assert_eq!(
            compare(&a, &b),
            Order::Older(Reason::OlderSequence {
                stored: 2,
                message: 1
            })
        );
        let c = ev(2, "20260102T000000Z", "c");
        assert_eq!(compare(&c, &b), Order::Newer);
        assert_eq!(compare(&b, &c), Order::Older(Reason::OlderStamp));
        assert_eq!(compare(&b, &b.clone()), Order::Same);
        assert_eq!(newer(&c, &b), Ordering::Greater);
    }

    #[test]
    fn method_and_folded_stamp_are_read() {
        let text = "BEGIN:VCALENDAR\r\nMETHOD:cancel\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:2026\r\n \
                    0101T000000Z\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(method_of(text).as_deref(), Some("CANCEL"));
        assert_eq!(
            property(text, "DTSTAMP").as_deref(),
            Some("20260101T000000Z")
        );
        assert!(parse_utc("20260101T000000Z").is_some());
    }

    #[test]
    fn an_import_file_keeps_the_newer_copy_of_a_uid() {
        let copy = |seq: u32, summary: &str| {
            format!(
                "BEGIN:VEVENT\r\nUID:dup\r\nSEQUENCE:{seq}\r\nDTSTAMP:20260101T000000Z\r\n\
                 DTSTART:20260105T090000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
            )
        };
        let file = format!(
            "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
            copy(3, "newer"),
            copy(1, "older")
        );
        let split = crate::object::split_families(&file).unwrap();
        assert_eq!(split.objects.len(), 1);
        assert_eq!(split.objects[0].summary(), Some("newer"));
        assert!(
            split
                .warnings
                .iter()
                .any(|w| w.message.contains("second copy")),
            "{:?}",
            split.warnings
        );
    }
}
