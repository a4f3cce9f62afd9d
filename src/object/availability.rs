//! VAVAILABILITY (RFC 7953): when a user or resource is available. Outside the AVAILABLE times
//! within a VAVAILABILITY's bounds the user is busy (BUSY-UNAVAILABLE by default).
//!
//! Each AVAILABLE component is read as the VEVENT it resembles (DTSTART, DTEND or DURATION,
//! RRULE, RDATE, EXDATE), so the event reader and the recurrence expansion are reused rather than
//! written twice; the calendar's VTIMEZONEs go with it.

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::id::User;
use crate::recurrence::{self, ExpandOptions};

use super::EventObject;

/// One VAVAILABILITY: its bounds and its AVAILABLE times.
#[derive(Debug, Clone)]
pub struct Availability {
    /// The VAVAILABILITY's UID (RFC 7953 requires one; `vavailability-<n>` by position when
    /// missing): the uid of its rows in the user's `freebusy` table.
    uid: String,
    /// DTSTART/DTEND of the VAVAILABILITY, read as an event (its times), when given.
    bounds: Option<EventObject>,
    /// The AVAILABLE components, each read as an event.
    available: Vec<EventObject>,
}

fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ if line.is_empty() => {}
            _ => out.push(line.to_owned()),
        }
    }
    out
}

fn event(timezones: &[String], props: &[String], uid: &str) -> Result<EventObject> {
    let mut t =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//availability//EN\r\n");
    for l in timezones {
        t.push_str(l);
        t.push_str("\r\n");
    }
    t.push_str("BEGIN:VEVENT\r\n");
    if !props
        .iter()
        .any(|p| p.to_ascii_uppercase().starts_with("UID"))
    {
        t.push_str(&format!("UID:{uid}\r\n"));
    }
    for l in props {
        t.push_str(l);
        t.push_str("\r\n");
    }
    t.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    EventObject::parse(&t)
}

/// Whether `text` is a calendar of availability: it holds a VAVAILABILITY and no VEVENT (what
/// `calstore import` stores as the user's `availability` rather than as events).
pub fn is_availability_calendar(text: &str) -> bool {
    let mut vavailability = false;
    for l in lines(text) {
        let u = l.trim_end().to_ascii_uppercase();
        if u == "BEGIN:VEVENT" {
            return false;
        }
        vavailability |= u == "BEGIN:VAVAILABILITY";
    }
    vavailability
}

/// Reads every VAVAILABILITY of a calendar.
///
/// # Errors
///
/// Invalid input when the text holds no VAVAILABILITY, or an AVAILABLE has no DTSTART or
/// cannot be read.
pub fn parse(text: &str) -> Result<Vec<Availability>> {
    let all = lines(text);
    let mut timezones = Vec::new();
    let mut in_tz = 0usize;
    for l in &all {
        let u = l.to_ascii_uppercase();
        if u == "BEGIN:VTIMEZONE" {
            in_tz += 1;
        }
        if in_tz > 0 {
            timezones.push(l.clone());
        }
        if u == "END:VTIMEZONE" {
            in_tz = in_tz.saturating_sub(1);
        }
    }
    let mut out = Vec::new();
    let mut own: Option<Vec<String>> = None;
    let mut avail: Option<Vec<String>> = None;
    let mut current: Vec<Vec<String>> = Vec::new();
    for l in &all {
        let u = l.to_ascii_uppercase();
        match u.as_str() {
            "BEGIN:VAVAILABILITY" => {
                own = Some(Vec::new());
                current.clear();
            }
            "BEGIN:AVAILABLE" if own.is_some() => avail = Some(Vec::new()),
            "END:AVAILABLE" => {
                if let Some(a) = avail.take() {
                    current.push(a);
                }
            }
            "END:VAVAILABILITY" => {
                let props = own.take().unwrap_or_default();
                let bounds = props
                    .iter()
                    .any(|p| p.to_ascii_uppercase().starts_with("DTSTART"))
                    .then(|| event(&timezones, &props, "vavailability"))
                    .transpose()?;
                let uid = props
                    .iter()
                    .find_map(|p| {
                        let (name, value) = p.split_once(':')?;
                        name.eq_ignore_ascii_case("UID")
                            .then(|| value.trim().to_owned())
                    })
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| format!("vavailability-{}", out.len()));
                let mut available = Vec::new();
                for (i, a) in current.drain(..).enumerate() {
                    let e = event(&timezones, &a, &format!("available-{i}"))?;
                    if e.dtstart().is_none() {
                        return Err(Error::invalid("an AVAILABLE has no DTSTART"));
                    }
                    available.push(e);
                }
                out.push(Availability {
                    uid,
                    bounds,
                    available,
                });
            }
            _ => {
                if let Some(a) = avail.as_mut() {
                    a.push(l.clone());
                } else if let Some(o) = own.as_mut() {
                    let keep = ["DTSTART", "DTEND", "DURATION", "UID"];
                    let name = u.split([';', ':']).next().unwrap_or("");
                    if keep.contains(&name) {
                        o.push(l.clone());
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("the text holds no VAVAILABILITY"));
    }
    Ok(out)
}

/// The spans within `[start, end)` when `user` is unavailable: inside a VAVAILABILITY's bounds
/// (unbounded when it has none) and outside all of its AVAILABLE times. The answer for a range
/// is the union of the answers for its parts.
///
/// # Errors
///
/// Invalid input when a time cannot be placed or a rule expanded.
pub fn unavailable(
    user: &User,
    availabilities: &[Availability],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let opts = ExpandOptions {
        tz,
        window_end: end,
        needs_action: true,
    };
    let mut out = Vec::new();
    for a in availabilities {
        let (mut s, mut e) = (start, end);
        if let Some(b) = &a.bounds {
            let exp = recurrence::expand(user, Some(b), &[], &opts)?;
            if let Some(p) = exp.periods.first() {
                s = s.max(p.start);
                if b.dtend().is_some() || b.duration().is_some() {
                    e = e.min(p.end);
                }
            } else {
                continue;
            }
        }
        if s >= e {
            continue;
        }
        let mut free: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for av in &a.available {
            for p in recurrence::expand(user, Some(av), &[], &opts)?.periods {
                if p.end > s && p.start < e {
                    free.push((p.start.max(s), p.end.min(e)));
                }
            }
        }
        free.sort();
        let mut cursor = s;
        for (fs, fe) in free {
            if fs > cursor {
                out.push((cursor, fs));
            }
            cursor = cursor.max(fe);
        }
        if cursor < e {
            out.push((cursor, e));
        }
    }
    out.sort();
    Ok(out)
}

impl Availability {
    /// The VAVAILABILITY's UID (see the field).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Where its rows begin: the VAVAILABILITY's DTSTART, else the earliest DTSTART of its
    /// AVAILABLE times (before that the description says nothing a table could hold: the rows
    /// would reach back without end). `None` when neither has a time.
    fn origin(&self, tz: Tz) -> Option<DateTime<Utc>> {
        let start = |e: &EventObject| e.dtstart().and_then(|d| d.to_utc(&tz).ok());
        match &self.bounds {
            Some(b) => start(b),
            None => self.available.iter().filter_map(start).min(),
        }
    }
}

/// The rows the availabilities give `user`'s own `freebusy` table up to `until` (the table's
/// horizon): one BUSY-UNAVAILABLE period per unavailable span of each VAVAILABILITY, of uid its
/// UID and no rid, from its origin (see [`Availability`]) on, in table order. Like the
/// occurrences of an event without end, they stop at `until` and are extended with it.
///
/// # Errors
///
/// Invalid input when a time cannot be placed or a rule expanded; when a UID is not a valid uid.
pub fn rows(
    user: &User,
    availabilities: &[Availability],
    until: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<crate::Period>> {
    // Whole seconds, as every backend stores instants: a row cut at a window end of `now + n
    // days` must read back as written.
    let until = until.with_nanosecond(0).unwrap_or(until);
    let mut out = Vec::new();
    for a in availabilities {
        let Some(origin) = a.origin(tz) else { continue };
        if origin >= until {
            continue;
        }
        let uid = crate::Uid::new(a.uid.clone())?;
        for (s, e) in unavailable(user, std::slice::from_ref(a), origin, until, tz)? {
            let mut p = crate::Period::new(s, e, uid.clone(), None)?;
            p.fbtype = crate::FbType::BusyUnavailable;
            out.push(p);
        }
    }
    Ok(crate::period::normalise(out))
}

/// `vfreebusy` (a VCALENDAR with one VFREEBUSY, as `query::vfreebusy` writes it) with a
/// `FREEBUSY;FBTYPE=BUSY-UNAVAILABLE` line per span, before the VFREEBUSY's end.
pub fn with_unavailable(vfreebusy: &str, spans: &[(DateTime<Utc>, DateTime<Utc>)]) -> String {
    if spans.is_empty() {
        return vfreebusy.to_owned();
    }
    let lines: String = spans
        .iter()
        .map(|(s, e)| {
            format!(
                "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:{}/{}\r\n",
                crate::period::format_instant(*s),
                crate::period::format_instant(*e)
            )
        })
        .collect();
    match vfreebusy.find("END:VFREEBUSY") {
        Some(i) => format!("{}{lines}{}", &vfreebusy[..i], &vfreebusy[i..]),
        None => vfreebusy.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    /// RFC 7953 §3.1's shape: weekdays 08:00–17:00 New York, from a date on.
    const OFFICE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n\
BEGIN:VAVAILABILITY\r\nUID:office\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n\
BEGIN:AVAILABLE\r\nUID:weekdays\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=America/New_York:20260105T080000\r\n\
DTEND;TZID=America/New_York:20260105T170000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\n\
END:AVAILABLE\r\nEND:VAVAILABILITY\r\nEND:VCALENDAR\r\n";

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn outside_the_available_times_is_unavailable() {
        let a = parse(OFFICE).unwrap();
        let u = User::new("mailto:room@example.com").unwrap();
        // Tuesday 6 January 2026: available 13:00–22:00 UTC.
        let got = unavailable(
            &u,
            &a,
            t("2026-01-06T00:00:00Z"),
            t("2026-01-07T00:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (t("2026-01-06T00:00:00Z"), t("2026-01-06T13:00:00Z")),
                (t("2026-01-06T22:00:00Z"), t("2026-01-07T00:00:00Z"))
            ]
        );
        // Saturday: unavailable all day.
        let sat = unavailable(
            &u,
            &a,
            t("2026-01-10T00:00:00Z"),
            t("2026-01-11T00:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(
            sat,
            [(t("2026-01-10T00:00:00Z"), t("2026-01-11T00:00:00Z"))]
        );
        // Before DTSTART of the VAVAILABILITY: nothing is said.
        let before = unavailable(
            &u,
            &a,
            t("2025-12-01T00:00:00Z"),
            t("2025-12-02T00:00:00Z"),
            Tz::UTC,
        )
        .unwrap();
        assert!(before.is_empty());
    }

    #[test]
    fn splitting_the_window_changes_nothing() {
        let a = parse(OFFICE).unwrap();
        let u = User::new("mailto:room@example.com").unwrap();
        let (s, e) = (t("2026-01-05T00:00:00Z"), t("2026-01-19T00:00:00Z"));
        let whole = unavailable(&u, &a, s, e, Tz::UTC).unwrap();
        for hours in [1i64, 7, 13, 50, 100, 200] {
            let m = s + chrono::Duration::hours(hours);
            let mut parts = unavailable(&u, &a, s, m, Tz::UTC).unwrap();
            let right = unavailable(&u, &a, m, e, Tz::UTC).unwrap();
            // Join spans that meet at the split.
            for r in right {
                match parts.last_mut() {
                    Some(l) if l.1 == r.0 => l.1 = r.1,
                    _ => parts.push(r),
                }
            }
            assert_eq!(parts, whole, "split at {m}");
        }
    }

    #[test]
    fn vfreebusy_gets_busy_unavailable_lines() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let out = with_unavailable(
            text,
            &[(t("2026-01-10T00:00:00Z"), t("2026-01-11T00:00:00Z"))],
        );
        assert!(out.contains(
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260110T000000Z/20260111T000000Z\r\nEND:VFREEBUSY"
        ));
    }

    #[test]
    fn text_without_vavailability_is_refused() {
        assert!(parse("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").is_err());
    }
}
