//! VFREEBUSY output (`calstore freebusy --format ical`, `make-freebusy --publish`): a VCALENDAR
//! (METHOD:PUBLISH) with one VFREEBUSY of the busy periods, each with its FBTYPE, folded at 75
//! octets with CRLF.

use chrono::{DateTime, Utc};

use crate::id::User;
use crate::period::{format_instant, FbType, Period};

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
    // The claimed range: periods are written within it (RFC 5545 §3.6.4 puts FREEBUSY inside
    // DTSTART/DTEND), so that a span reaching past the range, such as a night outside the
    // availability, is cut where the answer stops.
    let mut within = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    if let Some((start, end)) = range {
        let end = horizon.map_or(end, |h| end.min(h.max(start)));
        line(format!("DTSTART:{}", format_instant(start)));
        line(format!("DTEND:{}", format_instant(end)));
        within = (start, end);
    }
    if let Some(h) = horizon {
        line(format!(
            "COMMENT:busy time is known only before {}",
            format_instant(h)
        ));
    }
    // Grouped by type (BUSY first, so that a table of plain busy periods is written as before),
    // in table order within a type; one line per period, as RFC 5545 allows several FREEBUSY
    // lines of one FBTYPE and readers count periods by lines.
    for fbtype in [FbType::Busy, FbType::BusyTentative, FbType::BusyUnavailable] {
        for p in periods.iter().filter(|p| p.fbtype == fbtype && p.is_busy()) {
            let (start, end) = (p.start.max(within.0), p.end.min(within.1));
            if start < end {
                line(format!(
                    "FREEBUSY;FBTYPE={fbtype}:{}/{}",
                    format_instant(start),
                    format_instant(end)
                ));
            }
        }
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

    /// Each busy period is written with its own FBTYPE, grouped by type; free ones not at all.
    #[test]
    fn every_busy_type_is_written_with_its_fbtype() {
        let t = |s: &str| crate::period::parse_instant(s).unwrap();
        let mk = |h: u32, fbtype: FbType| {
            let mut p = Period::new(
                t(&format!("20260105T{h:02}0000Z")),
                t(&format!("20260105T{:02}0000Z", h + 1)),
                crate::Uid::new(format!("u{h}")).unwrap(),
                None,
            )
            .unwrap();
            p.fbtype = fbtype;
            p
        };
        let periods = [
            mk(8, FbType::BusyTentative),
            mk(9, FbType::Busy),
            mk(10, FbType::Free),
            mk(11, FbType::BusyUnavailable),
            mk(12, FbType::Busy),
        ];
        let user = User::new("mailto:alice@example.com").unwrap();
        let out = vfreebusy(&user, &periods, None, None, t("20260101T000000Z"));
        let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("FREEBUSY")).collect();
        assert_eq!(
            lines,
            [
                "FREEBUSY;FBTYPE=BUSY:20260105T090000Z/20260105T100000Z",
                "FREEBUSY;FBTYPE=BUSY:20260105T120000Z/20260105T130000Z",
                "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T080000Z/20260105T090000Z",
                "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260105T110000Z/20260105T120000Z",
            ]
        );
    }
}
