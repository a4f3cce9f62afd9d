//! The value types read from an event: times, durations, RDATEs, STATUS, PARTSTAT, attendees.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::Zone;
use crate::error::{Error, Result};
use crate::id::Rid;
use crate::period::resolve_local;

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
    pub(super) fn parse(value: &str) -> Status {
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
    pub(super) fn parse(value: Option<&str>) -> PartStat {
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

/// Whether two calendar addresses are the same: their [`normalise_address`](crate::id::normalise_address)
/// spellings are equal (the scheme is compared case-insensitively, and a `mailto:` address, or a
/// bare `user@host`, wholly so; other schemes exactly). User keys are spelled the same way.
pub fn same_address(a: &str, b: &str) -> bool {
    crate::id::normalise_address(a) == crate::id::normalise_address(b)
}
