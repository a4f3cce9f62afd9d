//! Reading one VEVENT's properties into an [`EventObject`], and splitting a calendar file into
//! one object per event.

use chrono::{NaiveDate, NaiveDateTime};

use super::content::{self, line_error, unescape_text, Component, Property};
use super::{
    zone, Attendee, EventObject, NominalDuration, PartStat, PeriodEnd, RDate, Rule, Status,
    TimeValue, Zone,
};
use crate::error::Result;
use crate::id::Uid;
use crate::period::Transp;

impl EventObject {
    /// Reads the event `ev` (whose VTIMEZONEs are `zones`) and keeps `text` as its text.
    pub(super) fn from_component(
        text: String,
        ev: &Component,
        zones: &[&Component],
    ) -> Result<Self> {
        let mut cx = Context {
            vtimezones: zones,
            resolved: Vec::new(),
            warnings: Vec::new(),
        };
        let uid_prop = ev
            .single("UID")?
            .ok_or_else(|| line_error(ev.line, "the VEVENT has no UID"))?;
        let uid = Uid::new(uid_prop.value.as_str())
            .map_err(|e| line_error(uid_prop.line, e.message()))?;

        let recurrence_id_prop = ev.single("RECURRENCE-ID")?;
        let recurrence_id = match recurrence_id_prop {
            Some(p) => Some(cx.time(p, "RECURRENCE-ID")?),
            None => None,
        };
        // RANGE=THISANDFUTURE (RFC 5545 §3.2.13): the instance also reshapes every later
        // occurrence. THISANDPRIOR (RFC 2445 only) is not understood and read as a plain
        // instance, with a warning.
        let mut this_and_future = false;
        if let Some(p) = recurrence_id_prop {
            match p.param("RANGE").map(|r| r.trim().to_ascii_uppercase()) {
                Some(r) if r == "THISANDFUTURE" => this_and_future = true,
                Some(r) => cx.warnings.push(super::Warning {
                    line: p.line,
                    message: format!("RECURRENCE-ID;RANGE={r} is not understood (RFC 5545 allows only THISANDFUTURE); read as this instance only"),
                }),
                None => {}
            }
        }
        let rid = match &recurrence_id {
            Some(t) => Some(t.rid().map_err(|e| line_error(ev.line, e.message()))?),
            None => None,
        };

        let dtstart_prop = ev.single("DTSTART")?;
        let dtstart = match dtstart_prop {
            Some(p) => Some(cx.time(p, "DTSTART")?),
            None => None,
        };
        let dtend = match ev.single("DTEND")? {
            Some(p) => {
                let end = cx.time(p, "DTEND")?;
                let start = dtstart
                    .as_ref()
                    .ok_or_else(|| line_error(p.line, "DTEND without DTSTART"))?;
                if start.is_date() != end.is_date() {
                    return Err(line_error(
                        p.line,
                        format!(
                            "DTEND {end} and DTSTART {start} must both be dates or both date-times"
                        ),
                    ));
                }
                if compare_key(&end) < compare_key(start) {
                    return Err(line_error(
                        p.line,
                        format!("DTEND {end} is before DTSTART {start}"),
                    ));
                }
                Some(end)
            }
            None => None,
        };
        let duration = match ev.single("DURATION")? {
            Some(p) => {
                if dtend.is_some() {
                    return Err(line_error(
                        p.line,
                        "DTEND and DURATION must not both be given",
                    ));
                }
                let d = NominalDuration::parse(&p.value)
                    .map_err(|e| line_error(p.line, format!("DURATION: {}", e.message())))?;
                if d.is_negative() {
                    return Err(line_error(
                        p.line,
                        format!("DURATION {} is negative", p.value.trim()),
                    ));
                }
                Some(d)
            }
            None => None,
        };

        // RRULE: an empty one is ignored and several are united (RFC 2445 allowed several;
        // recurring-ical-events and python-dateutil read both so), each with a warning.
        let mut rules = Vec::new();
        let rrules: Vec<&Property> = ev.all("RRULE").collect();
        for p in &rrules {
            if p.value.trim().is_empty() {
                cx.warnings.push(super::Warning {
                    line: p.line,
                    message: "an empty RRULE is ignored".into(),
                });
                continue;
            }
            let start = dtstart
                .as_ref()
                .ok_or_else(|| line_error(p.line, "RRULE without DTSTART"))?;
            let rule = Rule::parse(&p.value, start.wall(), p.line)?;
            for w in rule.warnings() {
                cx.warnings.push(super::Warning {
                    line: p.line,
                    message: w.clone(),
                });
            }
            if !rules.is_empty() {
                cx.warnings.push(super::Warning {
                    line: p.line,
                    message: "a second RRULE (RFC 5545 allows one): the occurrences of all RRULEs are used, as RFC 2445 said".into(),
                });
            }
            rules.push(rule);
        }
        let mut rdates = Vec::new();
        for p in ev.all("RDATE") {
            rdates.extend(cx.rdates(p)?);
        }
        let mut exdates = Vec::new();
        for p in ev.all("EXDATE") {
            for v in cx.rdates(p)? {
                match v {
                    RDate::Time(t) => exdates.push(t),
                    RDate::Period { .. } => {
                        return Err(line_error(p.line, "EXDATE values cannot be periods"))
                    }
                }
            }
        }
        if (!rdates.is_empty() || !exdates.is_empty()) && dtstart.is_none() {
            return Err(line_error(ev.line, "RDATE or EXDATE without DTSTART"));
        }

        let transp = match ev.single("TRANSP")? {
            Some(p) => {
                Transp::parse(p.value.trim()).map_err(|e| line_error(p.line, e.message()))?
            }
            None => Transp::Opaque,
        };
        let status = ev.single("STATUS")?.map(|p| Status::parse(&p.value));
        let summary = ev
            .all("SUMMARY")
            .next()
            .map(|p| unescape_text(&p.value))
            .filter(|s| !s.is_empty());
        let organizer = ev
            .single("ORGANIZER")?
            .map(|p| p.value.trim().to_owned())
            .filter(|s| !s.is_empty());
        let attendees = ev
            .all("ATTENDEE")
            .map(|p| Attendee {
                address: p.value.trim().to_owned(),
                partstat: PartStat::parse(p.param("PARTSTAT")),
                delegated_to: p
                    .params
                    .iter()
                    .filter(|q| q.name == "DELEGATED-TO")
                    .flat_map(|q| q.values.iter().cloned())
                    .collect(),
            })
            .collect();
        let sequence = match ev.single("SEQUENCE")? {
            Some(p) => p.value.trim().parse::<u32>().map_err(|_| {
                line_error(
                    p.line,
                    format!("SEQUENCE {:?} is not a non-negative number", p.value),
                )
            })?,
            None => 0,
        };
        for (what, value) in [("SUMMARY", &summary), ("ORGANIZER", &organizer)] {
            if value.as_deref().is_some_and(|s| s.contains('\0')) {
                return Err(line_error(ev.line, format!("{what} holds a NUL character")));
            }
        }
        Ok(EventObject {
            text,
            uid,
            rid,
            recurrence_id,
            dtstart,
            dtend,
            duration,
            rules,
            this_and_future,
            rdates,
            exdates,
            transp,
            status,
            summary,
            organizer,
            attendees,
            sequence,
            warnings: cx.warnings,
        })
    }
}

/// Splits a calendar file with many VEVENTs (and any VTIMEZONEs) into one object per VEVENT, for
/// import. Each object's text is a VCALENDAR made of `BEGIN:VCALENDAR`, the file's own VERSION
/// and PRODID lines, the VTIMEZONE components whose TZID the event uses, the VEVENT's lines byte
/// for byte, and `END:VCALENDAR`, with the file's line endings. A bare top-level VEVENT is taken
/// as it is. Several VCALENDARs in one file are all read.
///
/// # Errors
///
/// Invalid input naming the line of the original file when any part of it does not parse: then
/// nothing is returned, so an import stores nothing of a bad file.
pub fn split_calendar(text: &str) -> Result<Vec<EventObject>> {
    let components = content::parse_components(text)?;
    let eol = match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => "\r\n",
    };
    let with_eol = |out: &mut String, bytes: &str| {
        out.push_str(bytes);
        if !bytes.ends_with('\n') {
            out.push_str(eol);
        }
    };
    let mut objects = Vec::new();
    for top in &components {
        match top.name.as_str() {
            "VEVENT" => {
                let own = text[top.span.clone()].to_owned();
                objects.push(EventObject::from_component(own, top, &[])?);
            }
            "VCALENDAR" => {
                let zones: Vec<&Component> = top
                    .children
                    .iter()
                    .filter(|c| c.name == "VTIMEZONE")
                    .collect();
                let header: Vec<&Property> = top
                    .properties
                    .iter()
                    .filter(|p| p.name == "VERSION" || p.name == "PRODID")
                    .collect();
                for ev in top.children.iter().filter(|c| c.name == "VEVENT") {
                    let mut out = String::with_capacity(ev.span.len() + 256);
                    out.push_str("BEGIN:VCALENDAR");
                    out.push_str(eol);
                    for p in &header {
                        with_eol(&mut out, &text[p.span.clone()]);
                    }
                    let used = used_tzids(ev);
                    for z in &zones {
                        let tzid = z.all("TZID").next().map(|p| p.value.trim());
                        if tzid.is_some_and(|t| used.iter().any(|u| u == t)) {
                            with_eol(&mut out, &text[z.span.clone()]);
                        }
                    }
                    with_eol(&mut out, &text[ev.span.clone()]);
                    out.push_str("END:VCALENDAR");
                    out.push_str(eol);
                    objects.push(EventObject::from_component(out, ev, &zones)?);
                }
            }
            other => {
                return Err(line_error(
                    top.line,
                    format!("expected BEGIN:VCALENDAR or BEGIN:VEVENT, found BEGIN:{other}"),
                ))
            }
        }
    }
    Ok(objects)
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

/// A value to order DTSTART and DTEND by, read in UTC when floating (both floating or both zoned
/// in practice).
fn compare_key(t: &TimeValue) -> NaiveDateTime {
    match t {
        TimeValue::Zoned(n, z) => z.to_utc(*n).map_or(*n, |u| u.naive_utc()),
        other => other.wall(),
    }
}

/// Zones resolved while one VEVENT is read (so a VTIMEZONE is compiled once).
struct Context<'a> {
    vtimezones: &'a [&'a Component],
    resolved: Vec<Zone>,
    /// What was read leniently so far.
    warnings: Vec<super::Warning>,
}

impl Context<'_> {
    fn zone(&mut self, tzid: &str, line: usize) -> Result<Zone> {
        if let Some(z) = self.resolved.iter().find(|z| z.name() == tzid) {
            return Ok(z.clone());
        }
        let z = zone::resolve(tzid, self.vtimezones, line)?;
        self.resolved.push(z.clone());
        Ok(z)
    }

    /// A property holding one DATE or DATE-TIME.
    fn time(&mut self, p: &Property, what: &str) -> Result<TimeValue> {
        let value_type = p.param("VALUE").map(str::to_ascii_uppercase);
        if let Some(v) = value_type.as_deref() {
            if v != "DATE" && v != "DATE-TIME" {
                return Err(line_error(
                    p.line,
                    format!("{what} with VALUE={v}: only DATE and DATE-TIME are allowed"),
                ));
            }
        }
        self.value(p, p.value.trim(), value_type.as_deref(), what)
    }

    fn value(
        &mut self,
        p: &Property,
        text: &str,
        value_type: Option<&str>,
        what: &str,
    ) -> Result<TimeValue> {
        let bad = |why: &str| line_error(p.line, format!("{what} value {text:?} {why}"));
        if text.len() == 8 && value_type != Some("DATE-TIME") {
            return NaiveDate::parse_from_str(text, "%Y%m%d")
                .map(TimeValue::Date)
                .map_err(|_| bad("is not a DATE (YYYYMMDD)"));
        }
        if value_type == Some("DATE") {
            return Err(bad("is not a DATE (YYYYMMDD) although VALUE=DATE"));
        }
        let (local, utc) = match text.len() {
            15 => (text, false),
            16 if text.ends_with(['Z', 'z']) => (&text[..15], true),
            _ => {
                return Err(bad(
                    "is not a DATE (YYYYMMDD) or DATE-TIME (YYYYMMDDTHHMMSS[Z])",
                ))
            }
        };
        let naive = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S")
            .map_err(|_| bad("is not a valid DATE-TIME (YYYYMMDDTHHMMSS[Z])"))?;
        if utc {
            return Ok(TimeValue::Utc(naive.and_utc()));
        }
        match p.param("TZID") {
            Some(tzid) => {
                let zone = self.zone(tzid.trim(), p.line)?;
                if zone.to_utc(naive).is_none() {
                    return Err(bad(&format!("has no instant in zone {tzid}")));
                }
                Ok(TimeValue::Zoned(naive, zone))
            }
            None => Ok(TimeValue::Floating(naive)),
        }
    }

    /// An RDATE or EXDATE property: comma-separated dates, date-times or periods.
    fn rdates(&mut self, p: &Property) -> Result<Vec<RDate>> {
        let value_type = p.param("VALUE").map(str::to_ascii_uppercase);
        let mut out = Vec::new();
        for item in p.value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some((start, end)) = item.split_once('/') {
                if value_type.as_deref().is_some_and(|v| v != "PERIOD") {
                    return Err(line_error(
                        p.line,
                        format!(
                            "{} value {item:?} is a period but VALUE is not PERIOD",
                            p.name
                        ),
                    ));
                }
                let start = self.value(p, start.trim(), Some("DATE-TIME"), &p.name)?;
                let end_text = end.trim();
                let end = if end_text.starts_with(['P', 'p', '+', '-']) {
                    let d = NominalDuration::parse(end_text).map_err(|e| {
                        line_error(
                            p.line,
                            format!("{} period {item:?}: {}", p.name, e.message()),
                        )
                    })?;
                    if d.is_negative() {
                        return Err(line_error(
                            p.line,
                            format!("{} period {item:?} has a negative duration", p.name),
                        ));
                    }
                    PeriodEnd::Duration(d)
                } else {
                    let e = self.value(p, end_text, Some("DATE-TIME"), &p.name)?;
                    if compare_key(&e) < compare_key(&start) {
                        return Err(line_error(
                            p.line,
                            format!("{} period {item:?} ends before it starts", p.name),
                        ));
                    }
                    PeriodEnd::Time(e)
                };
                out.push(RDate::Period { start, end });
            } else {
                if value_type.as_deref() == Some("PERIOD") {
                    return Err(line_error(
                        p.line,
                        format!(
                            "{} value {item:?} is not a period although VALUE=PERIOD",
                            p.name
                        ),
                    ));
                }
                out.push(RDate::Time(self.value(
                    p,
                    item,
                    value_type.as_deref(),
                    &p.name,
                )?));
            }
        }
        Ok(out)
    }
}
