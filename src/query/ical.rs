//! VFREEBUSY output (`calstore freebusy --format ical`, `make-freebusy --publish`): a VCALENDAR
//! (METHOD:PUBLISH) with one VFREEBUSY of the busy periods, folded at 75 octets with CRLF.

use chrono::{DateTime, Utc};

use crate::id::User;
use crate::period::{format_instant, Period};

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
pub(crate) fn fold(line: &str, out: &mut String) {
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

/// A VCALENDAR (METHOD:PUBLISH) with one VFREEBUSY of the busy periods of `user`. `range` gives
/// DTSTART and DTEND; a `horizon` (see [`super::Answer::horizon`]) ends the claimed range there
/// (DTEND never claims more than is known) and is stated in a COMMENT.
pub fn vfreebusy(
    user: &User,
    periods: &[Period],
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    horizon: Option<DateTime<Utc>>,
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
        let end = horizon.map_or(end, |h| end.min(h.max(start)));
        line(format!("DTSTART:{}", format_instant(start)));
        line(format!("DTEND:{}", format_instant(end)));
    }
    if let Some(h) = horizon {
        line(format!(
            "COMMENT:busy time is known only before {}",
            format_instant(h)
        ));
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
