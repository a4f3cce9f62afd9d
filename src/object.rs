//! A stored object: the exact iCalendar text plus what was parsed from it.
//!
//! The text is read by calstore's own content-line parser (the private `object::content` module;
//! `docs/recurrence.md` says why not the `icalendar` crate's): it unfolds lines, reads parameters
//! with quoted values, checks the nesting of components, and names the physical line of every
//! error (`line 7: …`). Only what the store needs is interpreted (STORE.md, "Objects"): UID,
//! RECURRENCE-ID, DTSTART/DTEND/DURATION, RRULE/RDATE/EXDATE, TRANSP, STATUS, SUMMARY, ORGANIZER,
//! ATTENDEE/PARTSTAT and SEQUENCE. Times with a TZID are read in the IANA zone of that name, or in
//! the calendar's own VTIMEZONE when the name is not an IANA one.

mod content;
mod rule;
mod zone;

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::id::{rid_text, Rid, Uid, User};
use crate::period::{resolve_local, Transp};
use content::{line_error, unescape_text, Component, Property};
pub use rule::{Rule, Until};
pub use zone::Zone;

/// A DATE or DATE-TIME value in one of its four forms.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeValue {
    /// A DATE (all-day): an instant only in the user's zone.
    Date(NaiveDate),
    /// A floating DATE-TIME (no TZID, no `Z`): an instant only in the user's zone.
    Floating(NaiveDateTime),
    /// A UTC DATE-TIME (`…Z`).
    Utc(DateTime<Utc>),
    /// A DATE-TIME with a TZID: the local time and the zone.
    Zoned(NaiveDateTime, Zone),
}

impl TimeValue {
    /// Whether this is a DATE.
    pub fn is_date(&self) -> bool {
        matches!(self, TimeValue::Date(_))
    }

    /// The wall-clock time in the value's own frame: midnight for a date, the local time for a
    /// floating or zoned value, the UTC time for a UTC value.
    pub fn wall(&self) -> NaiveDateTime {
        match self {
            TimeValue::Date(d) => d.and_time(chrono::NaiveTime::MIN),
            TimeValue::Floating(n) | TimeValue::Zoned(n, _) => *n,
            TimeValue::Utc(t) => t.naive_utc(),
        }
    }

    /// The same kind of value (same zone) at another wall-clock time; a date keeps only the date.
    pub fn with_wall(&self, wall: NaiveDateTime) -> TimeValue {
        match self {
            TimeValue::Date(_) => TimeValue::Date(wall.date()),
            TimeValue::Floating(_) => TimeValue::Floating(wall),
            TimeValue::Utc(_) => TimeValue::Utc(wall.and_utc()),
            TimeValue::Zoned(_, z) => TimeValue::Zoned(wall, z.clone()),
        }
    }

    /// The instant: dates (at midnight) and floating times are read in `tz`, the user's zone;
    /// zoned times in their zone. Local times in a gap or repeated by a DST change follow RFC 5545
    /// ([`resolve_local`]).
    ///
    /// # Errors
    ///
    /// Invalid input when the local time cannot be placed in its zone at all (not seen with real
    /// zones: gaps are read with the offset before them).
    pub fn to_utc(&self, tz: &Tz) -> Result<DateTime<Utc>> {
        let placed = match self {
            TimeValue::Utc(t) => Some(*t),
            TimeValue::Date(_) | TimeValue::Floating(_) => resolve_local(tz, self.wall()),
            TimeValue::Zoned(n, z) => z.to_utc(*n),
        };
        placed.ok_or_else(|| Error::invalid(format!("the local time {self} has no instant")))
    }

    /// The normalised RECURRENCE-ID form (STORE.md): UTC for zoned and UTC values, floating for
    /// floating values and dates.
    ///
    /// # Errors
    ///
    /// As [`TimeValue::to_utc`].
    pub fn rid(&self) -> Result<Rid> {
        Ok(match self {
            TimeValue::Date(d) => Rid::from_date(*d),
            TimeValue::Floating(n) => Rid::from_floating(*n),
            TimeValue::Utc(t) => Rid::from_utc(*t),
            TimeValue::Zoned(n, z) => {
                Rid::from_utc(z.to_utc(*n).ok_or_else(|| {
                    Error::invalid(format!("the local time {self} has no instant"))
                })?)
            }
        })
    }
}

impl fmt::Display for TimeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeValue::Date(d) => write!(f, "{}", d.format("%Y%m%d")),
            TimeValue::Floating(n) => write!(f, "{}", n.format("%Y%m%dT%H%M%S")),
            TimeValue::Utc(t) => f.write_str(&crate::period::format_instant(*t)),
            TimeValue::Zoned(n, z) => write!(f, "TZID={}:{}", z.name(), n.format("%Y%m%dT%H%M%S")),
        }
    }
}

/// An iCalendar duration kept as written: whole days (weeks count as seven) are nominal — they
/// move the wall-clock date and keep the local time across DST changes — and the rest is exact
/// (RFC 5545 §3.3.6). Both parts have the same sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NominalDuration {
    /// Nominal days.
    pub days: i64,
    /// Exact seconds.
    pub seconds: i64,
}

impl NominalDuration {
    /// Parses `P1D`, `PT1H30M`, `P2W`, `-PT15M`, `P1DT12H`.
    ///
    /// # Errors
    ///
    /// Invalid input when the text is not an iCalendar duration.
    pub fn parse(text: &str) -> Result<Self> {
        // Validates the whole syntax and rejects overflow.
        crate::duration::parse_duration(text)?;
        let t = text.trim();
        let (sign, body) = match t.as_bytes().first() {
            Some(b'-') => (-1, &t[1..]),
            Some(b'+') => (1, &t[1..]),
            _ => (1, t),
        };
        let body = &body[1..]; // the 'P', checked above
        let (date_part, time_part) = match body.find(['T', 't']) {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, ""),
        };
        let mut days = 0i64;
        let mut number = String::new();
        for c in date_part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else {
                let n: i64 = number.parse().unwrap_or(0);
                number.clear();
                days += if c.eq_ignore_ascii_case(&'W') {
                    n * 7
                } else {
                    n
                };
            }
        }
        let seconds = if time_part.is_empty() {
            0
        } else {
            crate::duration::parse_duration(&format!("PT{time_part}"))?.num_seconds()
        };
        Ok(NominalDuration {
            days: sign * days,
            seconds: sign * seconds,
        })
    }

    /// The exact length, counting a day as 24 hours.
    pub fn exact(&self) -> Duration {
        Duration::days(self.days) + Duration::seconds(self.seconds)
    }

    /// Whether the duration is negative.
    pub fn is_negative(&self) -> bool {
        self.days < 0 || self.seconds < 0
    }
}

/// The end of an RDATE period.
#[derive(Debug, Clone, PartialEq)]
pub enum PeriodEnd {
    /// `start/end`.
    Time(TimeValue),
    /// `start/duration`.
    Duration(NominalDuration),
}

/// One RDATE value.
#[derive(Debug, Clone, PartialEq)]
pub enum RDate {
    /// A DATE or DATE-TIME: an extra occurrence with the event's own duration.
    Time(TimeValue),
    /// A PERIOD: an extra occurrence with its own end.
    Period {
        /// The start.
        start: TimeValue,
        /// The end or the duration.
        end: PeriodEnd,
    },
}

impl RDate {
    /// The start of the extra occurrence.
    pub fn start(&self) -> &TimeValue {
        match self {
            RDate::Time(t) | RDate::Period { start: t, .. } => t,
        }
    }
}

/// The STATUS of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `TENTATIVE`.
    Tentative,
    /// `CONFIRMED`.
    Confirmed,
    /// `CANCELLED`: the event never counts.
    Cancelled,
    /// Any other value, as written.
    Other(String),
}

impl Status {
    fn parse(value: &str) -> Status {
        let v = value.trim();
        match v.to_ascii_uppercase().as_str() {
            "TENTATIVE" => Status::Tentative,
            "CONFIRMED" => Status::Confirmed,
            "CANCELLED" => Status::Cancelled,
            _ => Status::Other(v.to_owned()),
        }
    }
}

/// A participant's answer (PARTSTAT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartStat {
    /// `NEEDS-ACTION`, also when PARTSTAT is missing (RFC 5545's default).
    NeedsAction,
    /// `ACCEPTED`.
    Accepted,
    /// `DECLINED`.
    Declined,
    /// `TENTATIVE`.
    Tentative,
    /// `DELEGATED`.
    Delegated,
    /// Any other value, as written; treated like NEEDS-ACTION as RFC 5545 §3.2.12 asks.
    Other(String),
}

impl PartStat {
    fn parse(value: Option<&str>) -> PartStat {
        let Some(v) = value.map(str::trim) else {
            return PartStat::NeedsAction;
        };
        match v.to_ascii_uppercase().as_str() {
            "NEEDS-ACTION" => PartStat::NeedsAction,
            "ACCEPTED" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" => PartStat::Tentative,
            "DELEGATED" => PartStat::Delegated,
            _ => PartStat::Other(v.to_owned()),
        }
    }

    /// Whether this answer makes the event count for free/busy (NEEDS-ACTION and unknown values
    /// only when `needs_action`).
    pub fn counts(&self, needs_action: bool) -> bool {
        match self {
            PartStat::Accepted | PartStat::Tentative => true,
            PartStat::NeedsAction | PartStat::Other(_) => needs_action,
            PartStat::Declined | PartStat::Delegated => false,
        }
    }
}

/// One ATTENDEE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// The calendar address as written (`mailto:bob@example.com`).
    pub address: String,
    /// The answer; `NeedsAction` when PARTSTAT is missing.
    pub partstat: PartStat,
    /// The DELEGATED-TO addresses (informational: a delegated attendee does not count).
    pub delegated_to: Vec<String>,
}

/// Whether two calendar addresses are the same: the scheme is compared case-insensitively, and a
/// `mailto:` address (or a bare `user@host`) wholly so; other schemes exactly.
pub fn same_address(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        let s = s.trim();
        match s.split_once(':') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mailto") => {
                format!("mailto:{}", rest.trim().to_lowercase())
            }
            Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('@') => {
                format!("{}:{rest}", scheme.to_ascii_lowercase())
            }
            _ if s.contains('@') => format!("mailto:{}", s.to_lowercase()),
            _ => s.to_owned(),
        }
    }
    norm(a) == norm(b)
}

/// One event (a single VEVENT, optionally inside a VCALENDAR with VTIMEZONEs), kept byte for byte,
/// with the properties the store needs.
#[derive(Debug, Clone)]
pub struct EventObject {
    text: String,
    uid: Uid,
    rid: Option<Rid>,
    recurrence_id: Option<TimeValue>,
    dtstart: Option<TimeValue>,
    dtend: Option<TimeValue>,
    duration: Option<NominalDuration>,
    rule: Option<Rule>,
    rdates: Vec<RDate>,
    exdates: Vec<TimeValue>,
    transp: Transp,
    status: Option<Status>,
    summary: Option<String>,
    organizer: Option<String>,
    attendees: Vec<Attendee>,
    sequence: u32,
}

impl EventObject {
    /// Parses the text of one event: a VCALENDAR with exactly one VEVENT (and any VTIMEZONEs), or
    /// a bare VEVENT. The text is kept exactly.
    ///
    /// # Errors
    ///
    /// Invalid input naming the line (`line 7: …`) when the text is not iCalendar (a malformed
    /// line, a missing END, wrong nesting), holds no VEVENT or more than one, or an interpreted
    /// property is wrong: no UID, a bad DTSTART, DTEND before DTSTART, DTEND together with
    /// DURATION, a bad RRULE, a TZID that is neither an IANA zone nor defined by a VTIMEZONE.
    pub fn parse(text: &str) -> Result<Self> {
        let components = content::parse_components(text)?;
        if let Some(second) = components.get(1) {
            return Err(line_error(
                second.line,
                format!(
                    "a second top-level component BEGIN:{} (the first began at line {}); one object is one VCALENDAR or one VEVENT",
                    second.name, components[0].line
                ),
            ));
        }
        let top = &components[0];
        let (events, zones): (Vec<&Component>, Vec<&Component>) = match top.name.as_str() {
            "VCALENDAR" => (
                top.children.iter().filter(|c| c.name == "VEVENT").collect(),
                top.children
                    .iter()
                    .filter(|c| c.name == "VTIMEZONE")
                    .collect(),
            ),
            "VEVENT" => (vec![top], Vec::new()),
            other => {
                return Err(line_error(
                    top.line,
                    format!("expected BEGIN:VCALENDAR or BEGIN:VEVENT, found BEGIN:{other}"),
                ))
            }
        };
        match events.as_slice() {
            [event] => Self::from_component(text.to_owned(), event, &zones),
            [] => Err(line_error(top.line, "the calendar holds no VEVENT")),
            [first, second, ..] => Err(line_error(
                second.line,
                format!(
                    "a second VEVENT (the first began at line {}); an object holds one event (split a file of many events with split_calendar)",
                    first.line
                ),
            )),
        }
    }

    /// Parses the text and checks that its UID and normalised RECURRENCE-ID are (uid, rid).
    ///
    /// # Errors
    ///
    /// Invalid input when the text does not parse or belongs to another key.
    pub fn parse_for_key(text: &str, uid: &Uid, rid: Option<&Rid>) -> Result<Self> {
        let obj = Self::parse(text)?;
        if &obj.uid != uid || obj.rid.as_ref() != rid {
            return Err(Error::invalid(format!(
                "the object's UID {:?} and RECURRENCE-ID {:?} do not match the key (uid {:?}, rid {:?})",
                obj.uid.as_str(),
                rid_text(obj.rid.as_ref()),
                uid.as_str(),
                rid_text(rid)
            )));
        }
        Ok(obj)
    }

    fn from_component(text: String, ev: &Component, zones: &[&Component]) -> Result<Self> {
        let mut cx = Context {
            vtimezones: zones,
            resolved: Vec::new(),
        };
        let uid_prop = ev
            .single("UID")?
            .ok_or_else(|| line_error(ev.line, "the VEVENT has no UID"))?;
        let uid = Uid::new(uid_prop.value.as_str())
            .map_err(|e| line_error(uid_prop.line, e.message()))?;

        let recurrence_id = match ev.single("RECURRENCE-ID")? {
            Some(p) => Some(cx.time(p, "RECURRENCE-ID")?),
            None => None,
        };
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

        let rule = match ev.single("RRULE")? {
            Some(p) => {
                let start = dtstart
                    .as_ref()
                    .ok_or_else(|| line_error(p.line, "RRULE without DTSTART"))?;
                Some(Rule::parse(&p.value, start.wall(), p.line)?)
            }
            None => None,
        };
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
            rule,
            rdates,
            exdates,
            transp,
            status,
            summary,
            organizer,
            attendees,
            sequence,
        })
    }

    /// The exact text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The UID.
    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    /// The normalised RECURRENCE-ID, `None` for a parent.
    pub fn rid(&self) -> Option<&Rid> {
        self.rid.as_ref()
    }

    /// The RECURRENCE-ID as written (its zone resolved), `None` for a parent.
    pub fn recurrence_id(&self) -> Option<&TimeValue> {
        self.recurrence_id.as_ref()
    }

    /// DTSTART, if given (RFC 5546 allows a cancellation without it).
    pub fn dtstart(&self) -> Option<&TimeValue> {
        self.dtstart.as_ref()
    }

    /// DTEND, if given (never together with DURATION; never before DTSTART).
    pub fn dtend(&self) -> Option<&TimeValue> {
        self.dtend.as_ref()
    }

    /// DURATION, if given (never negative).
    pub fn duration(&self) -> Option<NominalDuration> {
        self.duration
    }

    /// The RRULE value as written.
    pub fn rrule(&self) -> Option<&str> {
        self.rule.as_ref().map(Rule::text)
    }

    /// The parsed RRULE.
    pub fn rule(&self) -> Option<&Rule> {
        self.rule.as_ref()
    }

    /// Every RDATE value, of every RDATE line, in order.
    pub fn rdates(&self) -> &[RDate] {
        &self.rdates
    }

    /// Every EXDATE value, of every EXDATE line, in order.
    pub fn exdates(&self) -> &[TimeValue] {
        &self.exdates
    }

    /// TRANSP (opaque when missing).
    pub fn transp(&self) -> Transp {
        self.transp
    }

    /// STATUS, if given.
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// Whether STATUS is CANCELLED.
    pub fn is_cancelled(&self) -> bool {
        self.status == Some(Status::Cancelled)
    }

    /// SUMMARY, unescaped; `None` when missing or empty.
    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// The ORGANIZER's address as written (`mailto:…`).
    pub fn organizer(&self) -> Option<&str> {
        self.organizer.as_deref()
    }

    /// The attendees in order.
    pub fn attendees(&self) -> &[Attendee] {
        &self.attendees
    }

    /// SEQUENCE (0 when missing).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Whether the event counts for `user`'s own free/busy (STORE.md): never when STATUS is
    /// CANCELLED; always when the user organises it or appears neither as organiser nor as
    /// attendee; otherwise when one of the user's ATTENDEE entries says ACCEPTED or TENTATIVE, or
    /// (only with `needs_action`) NEEDS-ACTION, which is also the default when PARTSTAT is
    /// missing. DECLINED and DELEGATED never count. Addresses are compared with
    /// [`same_address`].
    pub fn counts_for(&self, user: &User, needs_action: bool) -> bool {
        if self.is_cancelled() {
            return false;
        }
        let me = user.as_str();
        if self
            .organizer
            .as_deref()
            .is_some_and(|o| same_address(o, me))
        {
            return true;
        }
        let mut mine = self
            .attendees
            .iter()
            .filter(|a| same_address(&a.address, me))
            .peekable();
        if mine.peek().is_none() {
            return true;
        }
        mine.any(|a| a.partstat.counts(needs_action))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests;
