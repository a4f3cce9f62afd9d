//! Time zones named by TZID: IANA names through `chrono-tz`, other names through the calendar's own
//! VTIMEZONE (STANDARD/DAYLIGHT observances with DTSTART, TZOFFSETFROM, TZOFFSETTO, RRULE,
//! RDATE), and, when a calendar names a Windows zone without defining it, the IANA zone that
//! Windows name stands for.

use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::content::{line_error, Component};
use super::rule::{Rule, Until};
use crate::error::Result;
use crate::period::resolve_local;

/// A time zone an event's times are written in.
#[derive(Clone)]
pub struct Zone {
    name: String,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Iana(Tz),
    Custom(Arc<Custom>),
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Iana(tz) => write!(f, "Zone({:?} = IANA {})", self.name, tz.name()),
            Kind::Custom(_) => write!(f, "Zone({:?} from VTIMEZONE)", self.name),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && match (&self.kind, &other.kind) {
                (Kind::Iana(a), Kind::Iana(b)) => a == b,
                (Kind::Custom(a), Kind::Custom(b)) => {
                    Arc::ptr_eq(a, b) || a.observances == b.observances
                }
                _ => false,
            }
    }
}

impl Zone {
    /// An IANA zone.
    pub fn iana(tz: Tz) -> Self {
        Zone {
            name: tz.name().to_owned(),
            kind: Kind::Iana(tz),
        }
    }

    /// The TZID as written in the calendar.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The IANA zone used, or `None` when the zone comes from the calendar's VTIMEZONE.
    pub fn iana_zone(&self) -> Option<Tz> {
        match &self.kind {
            Kind::Iana(tz) => Some(*tz),
            Kind::Custom(_) => None,
        }
    }

    /// The instant of a local time in this zone, by RFC 5545's rules: a repeated local time is the
    /// first of the two instants; a local time in a gap is read with the offset in force before
    /// the gap (02:30 on a spring-forward night becomes 03:30 of the new offset).
    pub fn to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Iana(tz) => resolve_local(tz, local),
            Kind::Custom(c) => c.to_utc(local),
        }
    }

    /// Whether `local` is a wall-clock time this zone skips (a gap: clocks going forward).
    pub fn in_gap(&self, local: NaiveDateTime) -> bool {
        self.to_utc(local)
            .is_none_or(|instant| self.to_local(instant) != local)
    }

    /// The warning for a DTSTART or DTEND (`what`) written at `local`, a time in a gap of this
    /// zone: which reading was chosen (RFC 5545 §3.3.5, as §3.3.10 also says for recurrence
    /// instances: the offset in force before the gap), so a producer's slip does not pass
    /// silently, for instance a meeting from 02:30 to 03:30 on a spring-forward night, which
    /// becomes a period of no length that blocks nothing.
    pub fn gap_warning(&self, what: &str, local: NaiveDateTime) -> Option<String> {
        if !self.in_gap(local) {
            return None;
        }
        let instant = self.to_utc(local)?;
        Some(format!(
            "{what} {} does not exist in {} (the clocks go forward over it); read with the offset before the gap, as RFC 5545 §3.3.5 says: {} local, {}",
            local.format("%Y-%m-%d %H:%M:%S"),
            self.name(),
            self.to_local(instant).format("%H:%M:%S"),
            crate::period::format_instant(instant)
        ))
    }

    /// The local time of an instant in this zone.
    pub fn to_local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        match &self.kind {
            Kind::Iana(tz) => instant.with_timezone(tz).naive_local(),
            Kind::Custom(c) => {
                instant.naive_utc() + Duration::seconds(i64::from(c.offset_at(instant)))
            }
        }
    }
}

/// Resolves a TZID, in this order: an IANA name; a libical-style global TZID whose path ends in
/// an IANA name (`/freeassociation.sourceforge.net/Europe/Berlin`,
/// `/mozilla.org/20050126_1/Europe/Berlin`, as recurring-ical-events reads them); the calendar's
/// VTIMEZONE with that TZID — its observances, as libical and recurring-ical-events read them,
/// or, when those cannot be read, the IANA zone its `X-LIC-LOCATION` or its
/// `X-MICROSOFT-CDO-TZID` names; a Windows zone name. `line` is where the TZID was used.
///
/// # Errors
///
/// Invalid input naming the line when nothing resolves the zone (the caller then reads the time
/// as floating, with a warning).
pub(crate) fn resolve(tzid: &str, vtimezones: &[&Component], line: usize) -> Result<Zone> {
    resolve_noting(tzid, vtimezones, line).map(|(z, _)| z)
}

/// As [`resolve`], with a note when the zone was read leniently (a VTIMEZONE whose observances
/// cannot be read, named by its labels instead), for a warning.
///
/// # Errors
///
/// As [`resolve`].
pub(crate) fn resolve_noting(
    tzid: &str,
    vtimezones: &[&Component],
    line: usize,
) -> Result<(Zone, Option<String>)> {
    let named = |tz: Tz| Zone {
        name: tzid.to_owned(),
        kind: Kind::Iana(tz),
    };
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Ok((named(tz), None));
    }
    if let Some(tz) = global_tzid(tzid) {
        return Ok((named(tz), None));
    }
    let mut broken = None;
    for vtz in vtimezones {
        let defines = vtz
            .all("TZID")
            .next()
            .is_some_and(|p| p.value.trim() == tzid);
        if !defines {
            continue;
        }
        match Custom::parse(vtz) {
            Ok(custom) => {
                return Ok((
                    Zone {
                        name: tzid.to_owned(),
                        kind: Kind::Custom(Arc::new(custom)),
                    },
                    None,
                ))
            }
            Err(e) => {
                // Observances that cannot be read: the zone's own labels name it.
                let location = vtz.all("X-LIC-LOCATION").next().map(|p| p.value.trim());
                let cdo = vtz.all("X-MICROSOFT-CDO-TZID").next();
                let labelled = location
                    .and_then(|l| l.parse::<Tz>().ok().or_else(|| global_tzid(l)))
                    .or_else(|| cdo.and_then(|p| cdo_zone(p.value.trim())));
                if let Some(tz) = labelled {
                    let note = format!(
                        "the VTIMEZONE of TZID={tzid:?} cannot be read ({}); read as the IANA zone {} that its {} names",
                        e.message(),
                        tz.name(),
                        if location.is_some() { "X-LIC-LOCATION" } else { "X-MICROSOFT-CDO-TZID" }
                    );
                    return Ok((named(tz), Some(note)));
                }
                broken = Some(e);
            }
        }
    }
    if let Some(tz) = windows_zone(tzid) {
        return Ok((named(tz), None));
    }
    Err(match broken {
        Some(e) => line_error(
            line,
            format!("time zone TZID={tzid:?}: its VTIMEZONE cannot be read ({})", e.message()),
        ),
        None => line_error(
            line,
            format!(
                "unknown time zone TZID={tzid:?}: it is not an IANA name and no VTIMEZONE in the calendar defines it"
            ),
        ),
    })
}

/// The IANA zone at the end of a libical-style global TZID: a TZID starting with `/` whose path,
/// after one or more leading segments, is an IANA name.
fn global_tzid(tzid: &str) -> Option<Tz> {
    if !tzid.starts_with('/') {
        return None;
    }
    tzid.match_indices('/')
        .find_map(|(i, _)| tzid[i + 1..].parse::<Tz>().ok())
}

/// The IANA zone an Outlook `X-MICROSOFT-CDO-TZID` number (CDO's `CdoTimeZoneId`) stands for;
/// only the numbers whose region is one IANA zone.
fn cdo_zone(id: &str) -> Option<Tz> {
    let iana = match id.parse::<u32>().ok()? {
        0 => "Etc/UTC",
        1 => "Europe/London",
        2 => "Europe/Sarajevo",
        3 => "Europe/Paris",
        4 => "Europe/Berlin",
        6 => "Europe/Prague",
        7 => "Europe/Athens",
        8 => "America/Sao_Paulo",
        9 => "America/Halifax",
        10 => "America/New_York",
        11 => "America/Chicago",
        12 => "America/Denver",
        13 => "America/Los_Angeles",
        14 => "America/Anchorage",
        15 => "Pacific/Honolulu",
        17 => "Pacific/Auckland",
        18 => "Australia/Brisbane",
        19 => "Australia/Adelaide",
        20 => "Asia/Tokyo",
        21 => "Asia/Singapore",
        22 => "Asia/Bangkok",
        23 => "Asia/Kolkata",
        24 => "Asia/Dubai",
        25 => "Asia/Tehran",
        26 => "Asia/Baghdad",
        27 => "Asia/Jerusalem",
        28 => "America/St_Johns",
        29 => "Atlantic/Azores",
        31 => "Africa/Monrovia",
        32 => "America/Argentina/Buenos_Aires",
        33 => "America/Caracas",
        _ => return None,
    };
    iana.parse().ok()
}

/// One STANDARD or DAYLIGHT observance.
#[derive(Debug, Clone)]
struct Observance {
    /// DTSTART: the local time (in the `from` offset) of the first onset.
    start: NaiveDateTime,
    from: i32,
    to: i32,
    rule: Option<String>,
    until: Option<Until>,
    rdates: Vec<NaiveDateTime>,
    line: usize,
}

impl PartialEq for Observance {
    /// The same rules, wherever they were written.
    fn eq(&self, other: &Self) -> bool {
        (
            self.start,
            self.from,
            self.to,
            &self.rule,
            self.until,
            &self.rdates,
        ) == (
            other.start,
            other.from,
            other.to,
            &other.rule,
            other.until,
            &other.rdates,
        )
    }
}

/// A zone defined by a VTIMEZONE.
#[derive(Debug)]
struct Custom {
    observances: Vec<Observance>,
    /// (instant of the change, offset before, offset after), sorted; computed on first use.
    transitions: OnceLock<Vec<(DateTime<Utc>, i32, i32)>>,
}

/// Onsets are generated up to this year; after the last one the offset stays.
const LAST_YEAR: i32 = 2200;
/// At most this many onsets per observance.
const MAX_ONSETS: usize = 2_000;

/// The last local time an onset is looked for.
fn last_onset() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MAX)
}

impl Custom {
    fn parse(vtz: &Component) -> Result<Custom> {
        let mut observances = Vec::new();
        for obs in &vtz.children {
            if obs.name != "STANDARD" && obs.name != "DAYLIGHT" {
                continue;
            }
            let need = |name: &str| {
                obs.single(name)?.ok_or_else(|| {
                    line_error(obs.line, format!("{} of VTIMEZONE has no {name}", obs.name))
                })
            };
            let dtstart = need("DTSTART")?;
            let start = NaiveDateTime::parse_from_str(dtstart.value.trim(), "%Y%m%dT%H%M%S")
                .or_else(|e| {
                    // Some producers write the first onset as a DATE: midnight.
                    chrono::NaiveDate::parse_from_str(dtstart.value.trim(), "%Y%m%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN))
                        .map_err(|_| e)
                })
                .map_err(|_| {
                    line_error(
                        dtstart.line,
                        format!(
                            "DTSTART {:?} of a VTIMEZONE observance is not a local DATE-TIME",
                            dtstart.value
                        ),
                    )
                })?;
            let from_p = need("TZOFFSETFROM")?;
            let to_p = need("TZOFFSETTO")?;
            let from = parse_offset(&from_p.value).ok_or_else(|| {
                line_error(
                    from_p.line,
                    format!(
                        "TZOFFSETFROM {:?} is not an offset such as +0100",
                        from_p.value
                    ),
                )
            })?;
            let to = parse_offset(&to_p.value).ok_or_else(|| {
                line_error(
                    to_p.line,
                    format!("TZOFFSETTO {:?} is not an offset such as +0100", to_p.value),
                )
            })?;
            let (rule, until) = match obs.single("RRULE")? {
                Some(p) => {
                    let r = Rule::parse(&p.value, start, p.line)?;
                    (Some(p.value.clone()), r.until())
                }
                None => (None, None),
            };
            let mut rdates = Vec::new();
            for p in obs.all("RDATE") {
                for v in p.value.split(',') {
                    let v = v.trim();
                    let local = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| {
                        line_error(p.line, format!("RDATE {v:?} of a VTIMEZONE observance is not a local DATE-TIME"))
                    })?;
                    rdates.push(local);
                }
            }
            observances.push(Observance {
                start,
                from,
                to,
                rule,
                until,
                rdates,
                line: obs.line,
            });
        }
        if observances.is_empty() {
            return Err(line_error(
                vtz.line,
                "VTIMEZONE has neither a STANDARD nor a DAYLIGHT observance",
            ));
        }
        Ok(Custom {
            observances,
            transitions: OnceLock::new(),
        })
    }

    fn transitions(&self) -> &[(DateTime<Utc>, i32, i32)] {
        self.transitions.get_or_init(|| {
            let mut out = Vec::new();
            for obs in &self.observances {
                let mut onsets: Vec<NaiveDateTime> = vec![obs.start];
                if let Some(text) = &obs.rule {
                    if let Ok(rule) = Rule::parse(text, obs.start, obs.line) {
                        onsets.extend(
                            // Bounded at LAST_YEAR inside the expander too, so a rule that
                            // never matches costs no search beyond it (issue 13).
                            rule.wall_iter_until(obs.start, last_onset())
                                .take_while(|l| l.year() <= LAST_YEAR)
                                .take(MAX_ONSETS),
                        );
                    }
                }
                onsets.extend(obs.rdates.iter().copied());
                for local in onsets {
                    let at = (local - Duration::seconds(i64::from(obs.from))).and_utc();
                    let within = match obs.until {
                        None => true,
                        Some(Until::Utc(u)) => at <= u,
                        Some(Until::Floating(f)) => local <= f,
                        Some(Until::Date(d)) => local.date() <= d,
                    };
                    if within {
                        out.push((at, obs.from, obs.to));
                    }
                }
            }
            out.sort();
            out.dedup_by_key(|t| t.0);
            out
        })
    }

    /// The UTC offset (seconds) in force at an instant.
    fn offset_at(&self, instant: DateTime<Utc>) -> i32 {
        let t = self.transitions();
        let i = t.partition_point(|(at, _, _)| *at <= instant);
        if i == 0 {
            // Before the first onset: the offset the first onset changes from.
            t.first()
                .map_or_else(|| self.observances.first().map_or(0, |o| o.to), |f| f.1)
        } else {
            t[i - 1].2
        }
    }

    fn to_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let as_utc = local.and_utc();
        let before = self.offset_at(as_utc - Duration::days(1));
        let after = self.offset_at(as_utc + Duration::days(1));
        let mut valid: Vec<DateTime<Utc>> = [before, after]
            .into_iter()
            .map(|o| as_utc - Duration::seconds(i64::from(o)))
            .filter(|t| {
                let o = self.offset_at(*t);
                *t + Duration::seconds(i64::from(o)) == as_utc
            })
            .collect();
        valid.sort();
        match valid.first() {
            Some(t) => Some(*t),
            // A gap: read with the offset in force before it.
            None => Some(as_utc - Duration::seconds(i64::from(before))),
        }
    }
}

/// Parses `+HHMM`, `-HHMM` or `+HHMMSS` into seconds east of UTC.
fn parse_offset(text: &str) -> Option<i32> {
    let t = text.trim();
    let (sign, digits) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[0..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    let s: i32 = if digits.len() == 6 {
        digits[4..6].parse().ok()?
    } else {
        0
    };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + s))
}

/// Common Windows zone names and the IANA zone each stands for (CLDR windowsZones, territory
/// "001"). Used only when a calendar names such a zone without a VTIMEZONE.
fn windows_zone(name: &str) -> Option<Tz> {
    let iana = match name {
        "UTC" | "Coordinated Universal Time" => "Etc/UTC",
        "GMT Standard Time" => "Europe/London",
        "Greenwich Standard Time" => "Atlantic/Reykjavik",
        "W. Europe Standard Time" => "Europe/Berlin",
        "Central Europe Standard Time" => "Europe/Budapest",
        "Central European Standard Time" => "Europe/Warsaw",
        "Romance Standard Time" => "Europe/Paris",
        "E. Europe Standard Time" => "Europe/Chisinau",
        "FLE Standard Time" => "Europe/Kiev",
        "GTB Standard Time" => "Europe/Bucharest",
        "Russian Standard Time" => "Europe/Moscow",
        "Turkey Standard Time" => "Europe/Istanbul",
        "Israel Standard Time" => "Asia/Jerusalem",
        "South Africa Standard Time" => "Africa/Johannesburg",
        "Arabian Standard Time" => "Asia/Dubai",
        "India Standard Time" => "Asia/Kolkata",
        "China Standard Time" => "Asia/Shanghai",
        "Singapore Standard Time" => "Asia/Singapore",
        "Tokyo Standard Time" => "Asia/Tokyo",
        "Korea Standard Time" => "Asia/Seoul",
        "AUS Eastern Standard Time" => "Australia/Sydney",
        "New Zealand Standard Time" => "Pacific/Auckland",
        "Eastern Standard Time" => "America/New_York",
        "Central Standard Time" => "America/Chicago",
        "Mountain Standard Time" => "America/Denver",
        "US Mountain Standard Time" => "America/Phoenix",
        "Pacific Standard Time" => "America/Los_Angeles",
        "Alaskan Standard Time" => "America/Anchorage",
        "Hawaiian Standard Time" => "Pacific/Honolulu",
        "Atlantic Standard Time" => "America/Halifax",
        "E. South America Standard Time" => "America/Sao_Paulo",
        _ => return None,
    };
    iana.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::super::content::parse_components;
    use super::*;

    const OSLO_LIKE: &str = "BEGIN:VTIMEZONE\r\n\
TZID:/custom/Oslo\r\n\
BEGIN:STANDARD\r\n\
DTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
TZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\n\
END:STANDARD\r\n\
BEGIN:DAYLIGHT\r\n\
DTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
TZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\n\
END:DAYLIGHT\r\n\
END:VTIMEZONE\r\n";

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap()
    }

    #[test]
    fn a_vtimezone_agrees_with_the_iana_zone() {
        let comps = parse_components(OSLO_LIKE).unwrap();
        let refs: Vec<&Component> = comps.iter().collect();
        let custom = resolve("/custom/Oslo", &refs, 1).unwrap();
        assert!(custom.iana_zone().is_none());
        let oslo = Zone::iana(chrono_tz::Europe::Oslo);
        // Every hour of 2026 plus the edge cases of both changes.
        let mut local = at("20260101T000000");
        while local < at("20270101T000000") {
            assert_eq!(custom.to_utc(local), oslo.to_utc(local), "{local}");
            local += Duration::minutes(30);
        }
        let mut instant = at("20260101T000000").and_utc();
        while instant < at("20270101T000000").and_utc() {
            assert_eq!(
                custom.to_local(instant),
                oslo.to_local(instant),
                "{instant}"
            );
            instant += Duration::minutes(30);
        }
        // The gap and the repeated hour, as RFC 5545 reads them.
        assert_eq!(
            custom.to_utc(at("20260329T023000")).unwrap(),
            at("20260329T013000").and_utc()
        );
        assert_eq!(
            custom.to_utc(at("20261025T023000")).unwrap(),
            at("20261025T003000").and_utc()
        );
    }

    #[test]
    fn unknown_zones_are_refused_and_windows_names_mapped() {
        let e = resolve("Nowhere/Land", &[], 9).unwrap_err();
        assert!(e.message().starts_with("line 9: unknown time zone"), "{e}");
        let z = resolve("W. Europe Standard Time", &[], 1).unwrap();
        assert_eq!(z.iana_zone(), Some(chrono_tz::Europe::Berlin));
        assert_eq!(z.name(), "W. Europe Standard Time");
    }

    #[test]
    fn global_tzids_name_the_iana_zone_after_their_path() {
        for tzid in [
            "/freeassociation.sourceforge.net/Europe/Berlin",
            "/mozilla.org/20050126_1/Europe/Berlin",
            "/citadel.org/20190914_1/Europe/Berlin",
            "/Europe/Berlin",
        ] {
            let z = resolve(tzid, &[], 1).unwrap();
            assert_eq!(z.iana_zone(), Some(chrono_tz::Europe::Berlin), "{tzid}");
            assert_eq!(z.name(), tzid);
        }
        assert!(resolve("/custom/Oslo", &[], 1).is_err());
        assert!(resolve("Europe/Berlin/", &[], 1).is_err());
        assert_eq!(cdo_zone("4"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(cdo_zone("5"), None);
        assert_eq!(cdo_zone("x"), None);
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(parse_offset("+0100"), Some(3600));
        assert_eq!(parse_offset("-0430"), Some(-16200));
        assert_eq!(parse_offset("+013045"), Some(5445));
        assert_eq!(parse_offset("0100"), None);
        assert_eq!(parse_offset("+1"), None);
    }
}
