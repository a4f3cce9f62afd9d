//! Reading one VEVENT's properties into an [`EventObject`]. What real producers write that is not
//! strictly RFC 5545 is read the way recurring-ical-events, libical and the `icalendar` package
//! read it, each time with a [`Warning`] (docs/compatibility.md).

use chrono::{NaiveDate, NaiveDateTime};

use super::content::{line_error, unescape_text, Component, Property};
use super::{
    zone, Attendee, EventObject, NominalDuration, PartStat, PeriodEnd, RDate, Rule, Status,
    TimeValue, Warning, Zone,
};
use crate::error::Result;
use crate::id::Uid;
use crate::period::Transp;

/// What an event is read with besides its own lines.
pub(super) struct Surroundings<'a> {
    /// The VTIMEZONEs of its calendar.
    pub zones: Vec<&'a Component>,
    /// The calendar's `X-WR-TIMEZONE`, for its floating times.
    pub wr_timezone: Option<&'a Property>,
    /// The UID to use when the VEVENT has none (derived by the importer); `None` refuses such an
    /// event.
    pub uid: Option<Uid>,
    /// Warnings about the lines around the event that belong to its object.
    pub warnings: Vec<Warning>,
}

/// The warning for a zoned time in a gap of its zone ([`Zone::gap_warning`]).
fn gap_warning(what: &str, value: &TimeValue, line: usize) -> Option<Warning> {
    match value {
        TimeValue::Zoned(local, zone) => zone.gap_warning(what, *local).map(|m| warn(line, m)),
        _ => None,
    }
}

fn warn(line: usize, message: impl Into<String>) -> Warning {
    Warning {
        line,
        message: message.into(),
    }
}

/// The first property named `name`; a repeat is ignored with a warning (the first wins, as
/// libical and recurring-ical-events' callers read a repeated DTSTART).
fn first<'a>(
    ev: &'a Component,
    name: &'a str,
    warnings: &mut Vec<Warning>,
) -> Option<&'a Property> {
    let mut found = ev.all(name);
    let first = found.next();
    for again in found {
        warnings.push(warn(
            again.line,
            format!(
                "{name} appears more than once in {} (first at line {}); this one is ignored",
                ev.name,
                first.map_or(0, |p| p.line)
            ),
        ));
    }
    first
}

impl EventObject {
    /// Reads the event `ev` with what surrounds it and keeps `text` as its text.
    pub(super) fn from_component(
        text: String,
        ev: &Component,
        around: Surroundings<'_>,
    ) -> Result<Self> {
        let mut warnings = around.warnings;
        warnings.extend(ev.all_warnings());
        let mut cx = Context {
            vtimezones: &around.zones,
            resolved: Vec::new(),
            unresolved: Vec::new(),
            floating_zone: None,
            floating_used: false,
            warnings,
        };
        if let Some(p) = around.wr_timezone {
            let name = p.value.trim();
            match zone::resolve(name, &around.zones, p.line) {
                Ok(z) => cx.floating_zone = Some((z, p.line)),
                Err(e) => cx.warnings.push(warn(
                    p.line,
                    format!(
                        "X-WR-TIMEZONE {name:?} is not a known zone; floating times stay floating ({})",
                        e.message()
                    ),
                )),
            }
        }
        let uid = match ev.single("UID")? {
            Some(p) => Uid::new(p.value.as_str()).map_err(|e| line_error(p.line, e.message()))?,
            None => {
                let uid = around
                    .uid
                    .ok_or_else(|| line_error(ev.line, "the VEVENT has no UID"))?;
                cx.warnings.push(warn(
                    ev.line,
                    format!(
                        "the VEVENT has no UID: UID:{uid} (derived from its bytes) is added to the stored text"
                    ),
                ));
                uid
            }
        };

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

        let mut dtstart = match first(ev, "DTSTART", &mut cx.warnings) {
            Some(p) => Some(cx.time(p, "DTSTART")?),
            None => None,
        };
        // A zoned DTSTART/DTEND in a DST gap is read by RFC 5545's rule, with a warning.
        if let (Some(value), Some(p)) = (&dtstart, first(ev, "DTSTART", &mut Vec::new())) {
            cx.warnings.extend(gap_warning("DTSTART", value, p.line));
        }
        let mut duration = match first(ev, "DURATION", &mut cx.warnings) {
            Some(p) => {
                let d = NominalDuration::parse(&p.value)
                    .map_err(|e| line_error(p.line, format!("DURATION: {}", e.message())))?;
                if d.is_negative() {
                    return Err(line_error(
                        p.line,
                        format!("DURATION {} is negative", p.value.trim()),
                    ));
                }
                Some((d, p.line))
            }
            None => None,
        };
        let dtend = match first(ev, "DTEND", &mut cx.warnings) {
            Some(p) => {
                let end = cx.time(p, "DTEND")?;
                cx.warnings.extend(gap_warning("DTEND", &end, p.line));
                let start = dtstart
                    .clone()
                    .ok_or_else(|| line_error(p.line, "DTEND without DTSTART"))?;
                if let Some((_, line)) = duration.take() {
                    cx.warnings.push(warn(
                        line,
                        "DTEND and DURATION are both given: DTEND is used, DURATION ignored (as recurring-ical-events reads it)",
                    ));
                }
                cx.end(p.line, start, end, &mut dtstart)
            }
            None => None,
        };
        let duration = duration.map(|(d, _)| d);

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
        // Outlook's "show as"; a repeated line is read leniently (the first wins), as the value
        // only refines how busy the event is.
        let cdo_busy_status = ev
            .all("X-MICROSOFT-CDO-BUSYSTATUS")
            .next()
            .map(|p| p.value.trim().to_owned())
            .filter(|s| !s.is_empty());
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
            cdo_busy_status,
            summary,
            organizer,
            attendees,
            sequence,
            warnings: {
                let mut w = cx.warnings;
                w.sort_by_key(|w| w.line);
                w
            },
        })
    }
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
    /// TZIDs nothing resolves (each warned about once).
    unresolved: Vec<String>,
    /// The calendar's X-WR-TIMEZONE and its line: floating times are read in it.
    floating_zone: Option<(Zone, usize)>,
    /// Whether a floating time was read in it (warned about once).
    floating_used: bool,
    /// What was read leniently so far.
    warnings: Vec<Warning>,
}

impl Context<'_> {
    /// The zone of a TZID, or `None` (with one warning per TZID) when nothing resolves it: the
    /// time is then read as floating, that is in the user's zone.
    fn zone(&mut self, tzid: &str, line: usize) -> Option<Zone> {
        if let Some(z) = self.resolved.iter().find(|z| z.name() == tzid) {
            return Some(z.clone());
        }
        if self.unresolved.iter().any(|u| u == tzid) {
            return None;
        }
        match zone::resolve_noting(tzid, self.vtimezones, line) {
            Ok((z, note)) => {
                if let Some(note) = note {
                    self.warnings.push(warn(line, note));
                }
                self.resolved.push(z.clone());
                Some(z)
            }
            Err(e) => {
                self.unresolved.push(tzid.to_owned());
                self.warnings.push(warn(
                    line,
                    format!(
                        "{}; its times are read as floating, in the user's zone",
                        e.message().split_once(": ").map_or(e.message(), |(_, m)| m)
                    ),
                ));
                None
            }
        }
    }

    /// Settles DTEND against DTSTART the way recurring-ical-events does: a DATE end of a
    /// DATE-TIME start is midnight of that date in the start's frame; a DATE start with a
    /// DATE-TIME end becomes midnight of that date in the end's frame; an end before the start is
    /// swapped with it. Each with a warning. Returns the DTEND to keep.
    fn end(
        &mut self,
        line: usize,
        mut start: TimeValue,
        end: TimeValue,
        dtstart: &mut Option<TimeValue>,
    ) -> Option<TimeValue> {
        let mut end = end;
        match (&start, &end) {
            (TimeValue::Date(_), TimeValue::Date(_)) => {}
            (_, TimeValue::Date(d)) => {
                let moved = start.with_wall(d.and_time(chrono::NaiveTime::MIN));
                self.warnings.push(warn(
                    line,
                    format!(
                        "DTEND {end} is a DATE but DTSTART {start} a DATE-TIME: the end is read as midnight, {moved}"
                    ),
                ));
                end = moved;
            }
            (TimeValue::Date(d), _) => {
                let from = end.with_wall(d.and_time(chrono::NaiveTime::MIN));
                self.warnings.push(warn(
                    line,
                    format!(
                        "DTSTART {start} is a DATE but DTEND {end} a DATE-TIME: the start is read as midnight, {from}"
                    ),
                ));
                *dtstart = Some(from.clone());
                start = from;
            }
            _ => {}
        }
        if compare_key(&end) < compare_key(&start) {
            self.warnings.push(warn(
                line,
                format!(
                    "DTEND {end} is before DTSTART {start}: the two are swapped (as recurring-ical-events reads them)"
                ),
            ));
            *dtstart = Some(end);
            return Some(start);
        }
        Some(end)
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
            Some(tzid) => match self.zone(tzid.trim(), p.line) {
                Some(zone) => {
                    if zone.to_utc(naive).is_none() {
                        return Err(bad(&format!("has no instant in zone {tzid}")));
                    }
                    Ok(TimeValue::Zoned(naive, zone))
                }
                None => Ok(TimeValue::Floating(naive)),
            },
            None => match &self.floating_zone {
                Some((zone, line)) if zone.to_utc(naive).is_some() => {
                    if !self.floating_used {
                        self.floating_used = true;
                        self.warnings.push(warn(
                            p.line,
                            format!(
                                "floating times are read in the calendar's X-WR-TIMEZONE {} (line {line})",
                                zone.name()
                            ),
                        ));
                    }
                    Ok(TimeValue::Zoned(naive, zone.clone()))
                }
                _ => Ok(TimeValue::Floating(naive)),
            },
        }
    }

    /// A DATE of a period in a property with a TZID: midnight in that zone (other values as
    /// they are).
    fn in_tzid(&mut self, p: &Property, value: TimeValue) -> TimeValue {
        match (&value, p.param("TZID")) {
            (TimeValue::Date(d), Some(tzid)) => match self.zone(tzid.trim(), p.line) {
                Some(z) => TimeValue::Zoned(d.and_time(chrono::NaiveTime::MIN), z),
                None => value,
            },
            _ => value,
        }
    }

    /// An RDATE or EXDATE property: comma-separated dates, date-times or periods.
    fn rdates(&mut self, p: &Property) -> Result<Vec<RDate>> {
        let value_type = p.param("VALUE").map(str::to_ascii_uppercase);
        if let Some(v) = value_type.as_deref() {
            if !matches!(v, "DATE" | "DATE-TIME" | "PERIOD") {
                self.warnings.push(warn(
                    p.line,
                    format!(
                        "{} with VALUE={v} (RFC 5545 allows DATE, DATE-TIME and PERIOD) is ignored",
                        p.name
                    ),
                ));
                return Ok(Vec::new());
            }
        }
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
                // A period of dates (`19970101/19970102`) is not RFC 5545, but
                // recurring-ical-events reads it as the days it spans (from midnight in the
                // property's TZID when it has one).
                let kind = if start.trim().len() == 8 {
                    self.warnings.push(warn(
                        p.line,
                        format!(
                            "{} period {item:?} is made of DATEs; read as the days it spans",
                            p.name
                        ),
                    ));
                    None
                } else {
                    Some("DATE-TIME")
                };
                let start = self.value(p, start.trim(), kind, &p.name)?;
                let start = self.in_tzid(p, start);
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
                    let e = self.value(p, end_text, kind, &p.name)?;
                    let e = self.in_tzid(p, e);
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
