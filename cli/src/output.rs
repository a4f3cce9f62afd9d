//! Output formats of `freebusy` and `make-freebusy --publish` (CLI.md): tsv, json and ical.

use calstore::period::format_instant;
use calstore::{Period, User};
use chrono::{DateTime, Utc};

/// The period lines of FILE-STORE.md, each `\n`-terminated.
pub fn tsv(periods: &[Period], with_attendee: bool) -> String {
    let mut out = String::new();
    for p in periods {
        out.push_str(&p.to_line(with_attendee));
        out.push('\n');
    }
    out
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn json_opt(v: Option<&str>) -> String {
    match v {
        Some(s) => serde_json::Value::String(s.to_owned()).to_string(),
        None => "null".to_owned(),
    }
}

/// One JSON array in table order, one object per line, with exactly the keys of CLI.md.
pub fn json(periods: &[Period]) -> String {
    let mut out = String::from("[");
    for (i, p) in periods.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!(
            "{{\"start\": \"{}\", \"end\": \"{}\", \"uid\": {}, \"rid\": {}, \"transp\": \"{}\", \"summary\": {}, \"organiser\": {}, \"expires\": {}}}",
            rfc3339(p.start),
            rfc3339(p.end),
            json_opt(Some(p.uid.as_str())),
            json_opt(p.rid.as_ref().map(|r| r.as_str())),
            p.transp.as_str(),
            json_opt(p.summary.as_deref()),
            json_opt(p.organiser.as_deref()),
            json_opt(p.expiry.map(rfc3339).as_deref()),
        ));
    }
    out.push_str(if periods.is_empty() { "]\n" } else { "\n]\n" });
    out
}

/// Escapes an iCalendar TEXT value (RFC 5545 §3.3.11).
fn text_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a UTF-8 character) and ends it with CRLF.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A VCALENDAR (METHOD:PUBLISH) with one VFREEBUSY of the busy periods.
pub fn ical(
    user: &User,
    periods: &[Period],
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let mut line = |l: String| fold(&l, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line(format!(
        "PRODID:-//calstore//calstore {}//EN",
        env!("CARGO_PKG_VERSION")
    ));
    line("METHOD:PUBLISH".into());
    line("BEGIN:VFREEBUSY".into());
    line(format!("UID:{}", text_value(user.as_str())));
    line(format!(
        "ORGANIZER:{}",
        user.as_str().replace(['\r', '\n'], "")
    ));
    line(format!("DTSTAMP:{}", format_instant(now)));
    if let Some((start, end)) = range {
        line(format!("DTSTART:{}", format_instant(start)));
        line(format!("DTEND:{}", format_instant(end)));
    }
    for p in periods.iter().filter(|p| p.is_busy()) {
        line(format!(
            "FREEBUSY;FBTYPE=BUSY:{}/{}",
            format_instant(p.start),
            format_instant(p.end)
        ));
    }
    line("END:VFREEBUSY".into());
    line("END:VCALENDAR".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_within_75_octets() {
        let mut out = String::new();
        fold(&format!("SUMMARY:{}", "é".repeat(60)), &mut out);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", "é".repeat(60))
        );
    }
}
