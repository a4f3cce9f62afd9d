//! Splitting a calendar file into one object per VEVENT, per event family (one UID): a family
//! that cannot be read is set aside with its line and UID, and every other is kept.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::content::{self, Component, Property};
use super::read::Surroundings;
use super::{EventObject, Warning};
use crate::error::{Error, Result};
use crate::id::Uid;

/// A calendar file split into objects, family by family.
#[derive(Debug, Default)]
pub struct Split {
    /// The objects of every family that could be read, in file order.
    pub objects: Vec<EventObject>,
    /// The families that could not be read (none of their objects is in `objects`), in file
    /// order.
    pub rejected: Vec<Rejected>,
    /// What was read leniently outside any event (the calendar's own lines, its VTIMEZONEs, a
    /// byte-order mark); each object's own warnings are in [`EventObject::warnings`].
    pub warnings: Vec<Warning>,
}

/// An event family (one UID: the parent and its changed instances) left out of a [`Split`].
#[derive(Debug)]
pub struct Rejected {
    /// The UID as written, `None` when the VEVENT has none.
    pub uid: Option<String>,
    /// The physical line (1-based) in the file of the first error.
    pub line: usize,
    /// Why (its message starts with `line N:`).
    pub error: Error,
}

/// Splits a calendar file with many VEVENTs (and any VTIMEZONEs) into one object per VEVENT,
/// family by family: when one VEVENT of a UID cannot be read, that UID's family is left out and
/// reported in [`Split::rejected`], and every other family is kept.
///
/// Each object's text is a VCALENDAR made of `BEGIN:VCALENDAR`, the file's own VERSION, PRODID
/// and X-WR-TIMEZONE lines, the VTIMEZONE components whose TZID the event uses, the VEVENT's
/// lines byte for byte, and `END:VCALENDAR`, with the file's line endings. A bare top-level
/// VEVENT is taken as it is. Several VCALENDARs in one file are all read; the VEVENTs of another
/// top-level component are read as if it were a VCALENDAR, with a warning.
///
/// A VEVENT without UID gets one derived from its bytes (see [`derived_uid`]), and the line
/// `UID:…` is added to its text right after its `BEGIN:VEVENT` line, so that importing the same
/// file twice stores it once.
///
/// # Errors
///
/// Invalid input naming the line when the text as a whole is not iCalendar: a malformed line
/// that cannot be mended, wrong nesting, a component that is never closed.
pub fn split_families(text: &str) -> Result<Split> {
    let components = content::parse_components(text)?;
    let eol = match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => "\r\n",
    };
    let mut split = Split::default();
    // (family key, line of the VEVENT, result) in file order.
    let mut read: Vec<(Option<String>, usize, Result<EventObject>)> = Vec::new();
    for top in &components {
        if top.name == "VEVENT" {
            let (own, uid) = with_uid(text, top, eol);
            let around = Surroundings {
                zones: Vec::new(),
                wr_timezone: None,
                uid,
                warnings: Vec::new(),
            };
            read.push((
                raw_uid(top),
                top.line,
                EventObject::from_component(own, top, around),
            ));
            continue;
        }
        split.warnings.extend(outer_warnings(top));
        if top.name != "VCALENDAR" {
            split.warnings.push(Warning {
                line: top.line,
                message: format!(
                    "a top-level BEGIN:{} where BEGIN:VCALENDAR belongs: its VEVENTs are read as a calendar's",
                    top.name
                ),
            });
        }
        let zones: Vec<&Component> = top
            .children
            .iter()
            .filter(|c| c.name == "VTIMEZONE")
            .collect();
        let header: Vec<&Property> = top
            .properties
            .iter()
            .filter(|p| matches!(p.name.as_str(), "VERSION" | "PRODID" | "X-WR-TIMEZONE"))
            .collect();
        for ev in top.children.iter().filter(|c| c.name == "VEVENT") {
            let mut out = String::with_capacity(ev.span.len() + 256);
            out.push_str("BEGIN:VCALENDAR");
            out.push_str(eol);
            for p in &header {
                with_eol(&mut out, &text[p.span.clone()], eol);
            }
            let used = used_tzids(ev);
            for z in &zones {
                let tzid = z.all("TZID").next().map(|p| p.value.trim());
                if tzid.is_some_and(|t| used.iter().any(|u| u == t)) {
                    with_eol(&mut out, &text[z.span.clone()], eol);
                }
            }
            let (own, uid) = with_uid(text, ev, eol);
            with_eol(&mut out, &own, eol);
            out.push_str("END:VCALENDAR");
            out.push_str(eol);
            let around = Surroundings {
                zones: zones.clone(),
                wr_timezone: top.all("X-WR-TIMEZONE").next(),
                uid,
                warnings: Vec::new(),
            };
            read.push((
                raw_uid(ev),
                ev.line,
                EventObject::from_component(out, ev, around),
            ));
        }
    }
    // A family with one unreadable VEVENT is left out whole: storing its parent without the
    // changed instance (or the reverse) would give wrong times.
    let mut bad: BTreeMap<String, ()> = BTreeMap::new();
    for (key, _, result) in &read {
        if let (Some(k), Err(_)) = (key, result) {
            bad.insert(k.clone(), ());
        }
    }
    // Copies of one (UID, RECURRENCE-ID) in one file: the newer by SEQUENCE, then DTSTAMP, is
    // kept (the later one on a tie), as the agent orders messages, and the other is named.
    let mut kept: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for (key, line, result) in read {
        match result {
            Ok(obj) if key.as_ref().is_none_or(|k| !bad.contains_key(k)) => {
                let id = (
                    obj.uid().as_str().to_owned(),
                    crate::id::rid_text(obj.rid()).to_owned(),
                );
                match kept.get(&id).copied() {
                    None => {
                        kept.insert(id, (split.objects.len(), line));
                        split.objects.push(obj);
                    }
                    Some((at, first_line)) => {
                        let newer = crate::agent::order::newer(&obj, &split.objects[at])
                            != std::cmp::Ordering::Less;
                        let (kept_line, dropped_line) = if newer {
                            (line, first_line)
                        } else {
                            (first_line, line)
                        };
                        split.warnings.push(Warning {
                            line: dropped_line,
                            message: format!(
                                "a second copy of UID {:?}{} (the other at line {kept_line}); the newer by SEQUENCE, then DTSTAMP, is kept",
                                id.0,
                                if id.1.is_empty() { String::new() } else { format!(" RECURRENCE-ID {}", id.1) }
                            ),
                        });
                        if newer {
                            split.objects[at] = obj;
                            kept.insert(id, (at, line));
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(error) => {
                let line = error_line(&error).unwrap_or(line);
                split.rejected.push(Rejected {
                    uid: key,
                    line,
                    error,
                });
            }
        }
    }
    Ok(split)
}

/// Splits a calendar file into one object per VEVENT, all or nothing (`import --strict`): as
/// [`split_families`], but any family that cannot be read fails the whole file.
///
/// # Errors
///
/// Invalid input naming the line of the original file when the text is not iCalendar or any
/// event in it cannot be read: then nothing is returned, so an import stores nothing of a bad
/// file.
pub fn split_calendar(text: &str) -> Result<Vec<EventObject>> {
    let split = split_families(text)?;
    match split.rejected.into_iter().next() {
        Some(r) => Err(r.error),
        None => Ok(split.objects),
    }
}

/// The UID given to a VEVENT that has none: `calstore-` and the first 32 hexadecimal digits of
/// the SHA-256 of the VEVENT's bytes (from its `BEGIN:VEVENT` to its `END:VEVENT` line, every
/// `\r\n` read as `\n`, so that the same event saved with other line endings gets the same UID).
pub fn derived_uid(vevent: &str) -> String {
    let digest = Sha256::digest(vevent.replace("\r\n", "\n").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("calstore-{}", &hex[..32])
}

/// The warnings of a top-level component that are not inside one of its VEVENTs.
pub(super) fn outer_warnings(top: &Component) -> Vec<Warning> {
    if top.name == "VEVENT" {
        return Vec::new();
    }
    let mut out = top.warnings.clone();
    for c in top.children.iter().filter(|c| c.name != "VEVENT") {
        out.extend(c.all_warnings());
    }
    out.sort_by_key(|w| w.line);
    out
}

/// The VEVENT's bytes, with a `UID:` line added after its BEGIN line when it has no UID, and
/// that UID.
fn with_uid(text: &str, ev: &Component, eol: &str) -> (String, Option<Uid>) {
    let own = &text[ev.span.clone()];
    if ev.all("UID").next().is_some() {
        return (own.to_owned(), None);
    }
    let uid = derived_uid(own);
    let Ok(valid) = Uid::new(uid.as_str()) else {
        return (own.to_owned(), None);
    };
    let cut = own.find('\n').map_or(own.len(), |i| i + 1);
    let mut out = String::with_capacity(own.len() + uid.len() + 8);
    out.push_str(&own[..cut]);
    if cut == own.len() && !own.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str("UID:");
    out.push_str(&uid);
    out.push_str(eol);
    out.push_str(&own[cut..]);
    (out, Some(valid))
}

/// The UID as written (the family key), `None` when there is none.
fn raw_uid(ev: &Component) -> Option<String> {
    ev.all("UID").next().map(|p| p.value.clone())
}

/// The line an error names (`line N: …`).
fn error_line(e: &Error) -> Option<usize> {
    e.message()
        .strip_prefix("line ")?
        .split_once(':')?
        .0
        .parse()
        .ok()
}

fn with_eol(out: &mut String, bytes: &str, eol: &str) {
    out.push_str(bytes);
    if !bytes.ends_with('\n') {
        out.push_str(eol);
    }
}

/// The TZIDs the event's own properties use.
fn used_tzids(ev: &Component) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &ev.properties {
        if let Some(t) = p.param("TZID") {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::ErrorKind;

    const FILE: &str = "BEGIN:VCALENDAR\nVERSION:2.0\nX-WR-TIMEZONE:America/New_York\n\
BEGIN:VEVENT\nUID:family\nDTSTART:20260105T090000\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:family\nRECURRENCE-ID:20260106T090000\nDTSTART:2026-01-06\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:fine\nDTSTART:20260105T120000\nEND:VEVENT\n\
BEGIN:VEVENT\nDTSTART:nonsense\nEND:VEVENT\n\
BEGIN:VEVENT\nSUMMARY:no uid\nDTSTART:20260107T120000Z\nEND:VEVENT\n\
END:VCALENDAR\n";

    #[test]
    fn a_family_with_one_unreadable_event_is_left_out_whole() {
        let split = split_families(FILE).unwrap();
        let uids: Vec<&str> = split.objects.iter().map(|o| o.uid().as_str()).collect();
        assert_eq!(uids.len(), 2, "{uids:?}");
        assert_eq!(uids[0], "fine");
        assert!(uids[1].starts_with("calstore-"), "{uids:?}");
        // The parent of "family" is readable but left out with its broken instance.
        let rejected: Vec<(Option<&str>, usize)> = split
            .rejected
            .iter()
            .map(|r| (r.uid.as_deref(), r.line))
            .collect();
        assert_eq!(rejected, [(Some("family"), 12), (None, 19)]);
        assert!(split.rejected[0].error.message().contains("DTSTART value"));
        // The strict form refuses the file with the first error.
        let e = split_calendar(FILE).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().starts_with("line 12:"), "{e}");
    }

    #[test]
    fn the_calendars_floating_zone_travels_with_each_object() {
        let split = split_families(FILE).unwrap();
        let fine = &split.objects[0];
        assert!(fine.text().contains("\nX-WR-TIMEZONE:America/New_York\n"));
        let zone = |o: &EventObject| match o.dtstart() {
            Some(super::super::TimeValue::Zoned(_, z)) => z.name().to_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(zone(fine), "America/New_York");
        let again = EventObject::parse(fine.text()).unwrap();
        assert_eq!(again.dtstart(), fine.dtstart());
        // The same warning, at the line of the object's own text (16 in the file).
        assert_eq!(fine.warnings()[0].line, 16);
        assert_eq!(again.warnings().len(), 1);
        assert_eq!(again.warnings()[0].line, 6);
        assert_eq!(again.warnings()[0].message, fine.warnings()[0].message);
    }

    #[test]
    fn a_derived_uid_is_added_after_begin_and_is_stable() {
        let split = split_families(FILE).unwrap();
        let nameless = &split.objects[1];
        let uid = nameless.uid().as_str();
        let bytes = "BEGIN:VEVENT\nSUMMARY:no uid\nDTSTART:20260107T120000Z\nEND:VEVENT\n";
        assert_eq!(uid, derived_uid(bytes));
        assert_eq!(uid, derived_uid(&bytes.replace('\n', "\r\n")));
        assert!(nameless
            .text()
            .contains(&format!("BEGIN:VEVENT\nUID:{uid}\nSUMMARY:no uid\n")));
        assert_eq!(
            EventObject::parse(nameless.text()).unwrap().uid().as_str(),
            uid
        );
    }

    #[test]
    fn a_period_of_dates_spans_its_days_in_the_tzid() {
        use super::super::{RDate, TimeValue};
        let text = "BEGIN:VEVENT\nUID:1\nDTSTART;TZID=America/New_York:19970101T180000\n\
RDATE;TZID=America/New_York;VALUE=PERIOD:19970101/19970102\nRDATE;VALUE=PERIOD:19970103/P1D\nEND:VEVENT\n";
        let ev = &split_calendar(text).unwrap()[0];
        let midnight = chrono::NaiveDate::from_ymd_opt(1997, 1, 1)
            .unwrap()
            .and_time(chrono::NaiveTime::MIN);
        match &ev.rdates()[0] {
            RDate::Period {
                start: TimeValue::Zoned(at, z),
                end: super::super::PeriodEnd::Time(TimeValue::Zoned(_, _)),
            } => {
                assert_eq!((*at, z.name()), (midnight, "America/New_York"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &ev.rdates()[1],
            RDate::Period {
                start: TimeValue::Date(_),
                ..
            }
        ));
        assert_eq!(ev.warnings().len(), 2, "{:?}", ev.warnings());
    }

    #[test]
    fn a_file_that_is_not_icalendar_fails_whole() {
        for text in [
            "hello",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VCALENDAR\n",
        ] {
            assert!(split_families(text).is_err(), "{text:?}");
        }
    }
}
