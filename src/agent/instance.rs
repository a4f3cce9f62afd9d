//! One occurrence of a stored series as an object of its own: what the user's answer for one
//! instance stores when the organiser sent no copy of that instance.

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};
use crate::id::{Rid, User};
use crate::object::{EventObject, TimeValue};
use crate::recurrence::{self, ExpandOptions};

use super::order::{line_name, unfolded};

/// The occurrence `rid` of the series `parent_text` as an instance object (RECURRENCE-ID and
/// DTSTART/DTEND at that occurrence, without the rule), or `None` when the series has no such
/// occurrence.
///
/// # Errors
///
/// Corrupt data when the series does not parse; invalid input when it cannot be expanded.
pub(super) fn instance_of(parent_text: &str, rid: &Rid) -> Result<Option<String>> {
    let parent = EventObject::parse(parent_text)
        .map_err(|e| Error::corrupt(format!("the stored series does not parse: {e}")))?;
    let Some(start) = parent.dtstart() else {
        return Ok(None);
    };
    let tz = chrono_tz::UTC;
    let probe = User::new("mailto:calstore-probe@invalid")?;
    let horizon = match rid.value() {
        crate::id::RidValue::Utc(t) => t,
        crate::id::RidValue::Floating(n) => n.and_utc(),
        crate::id::RidValue::Date(d) => d.and_time(chrono::NaiveTime::MIN).and_utc(),
    };
    let Some(window_end) = horizon.checked_add_signed(Duration::days(2)) else {
        return Ok(None);
    };
    let opts = ExpandOptions {
        tz,
        window_end,
        needs_action: true,
    };
    let e = recurrence::expand(&probe, Some(&parent), &[], &opts)?;
    let Some(p) = e
        .periods
        .iter()
        .find(|p| &occurrence_rid(start, p.start) == rid)
    else {
        return Ok(None);
    };
    let eol = if parent_text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let has_duration = parent.duration().is_some();
    let mut out = String::new();
    let mut in_event = false;
    for line in unfolded(parent_text) {
        let name = line_name(&line);
        let value = super::order::line_value(&line).trim().to_ascii_uppercase();
        if name == "BEGIN" && value == "VEVENT" {
            in_event = true;
            out.push_str(&line);
            out.push_str(eol);
            continue;
        }
        if name == "END" && value == "VEVENT" {
            in_event = false;
        }
        if in_event {
            match name.as_str() {
                "RRULE" | "RDATE" | "EXDATE" | "EXRULE" | "RECURRENCE-ID" | "DTEND" => continue,
                "DTSTART" => {
                    out.push_str(&prop("RECURRENCE-ID", start, p.start));
                    out.push_str(eol);
                    out.push_str(&prop("DTSTART", start, p.start));
                    out.push_str(eol);
                    if !has_duration {
                        out.push_str(&prop("DTEND", start, p.end));
                        out.push_str(eol);
                    }
                    continue;
                }
                _ => {}
            }
        }
        if !line.is_empty() {
            out.push_str(&line);
            out.push_str(eol);
        }
    }
    Ok(Some(out))
}

/// The normalised RECURRENCE-ID of the occurrence starting at `at` (expanded in UTC) of a
/// series whose DTSTART is `start`.
fn occurrence_rid(start: &TimeValue, at: DateTime<Utc>) -> Rid {
    match start {
        TimeValue::Date(_) => Rid::from_date(at.date_naive()),
        TimeValue::Floating(_) => Rid::from_floating(at.naive_utc()),
        TimeValue::Utc(_) | TimeValue::Zoned(..) => Rid::from_utc(at),
    }
}

/// A date or date-time property in the form of `like`, at `at` (expanded in UTC).
fn prop(name: &str, like: &TimeValue, at: DateTime<Utc>) -> String {
    match like {
        TimeValue::Date(_) => format!("{name};VALUE=DATE:{}", at.format("%Y%m%d")),
        TimeValue::Floating(_) => format!("{name}:{}", at.format("%Y%m%dT%H%M%S")),
        TimeValue::Utc(_) => format!("{name}:{}", at.format("%Y%m%dT%H%M%SZ")),
        TimeValue::Zoned(_, z) => format!(
            "{name};TZID={}:{}",
            z.name(),
            z.to_local(at).format("%Y%m%dT%H%M%S")
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn an_occurrence_becomes_an_instance() {
        let series = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTART:20260105T090000Z\r\n\
            DTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE:20260112T090000Z\r\n\
            END:VEVENT\r\nEND:VCALENDAR\r\n";
        let rid = Rid::new("20260119T090000Z").unwrap();
        let text = instance_of(series, &rid).unwrap().unwrap();
        let o = EventObject::parse(&text).unwrap();
        assert_eq!(o.rid(), Some(&rid));
        assert!(o.rule().is_none());
        assert!(text.contains("DTEND:20260119T100000Z"), "{text}");
        let gone = Rid::new("20260112T090000Z").unwrap();
        assert!(instance_of(series, &gone).unwrap().is_none());
    }
}
