//! RRULE values: checked when an object is parsed, expanded in wall-clock time.
//!
//! calstore's own expander (the `expand` submodule) generates the occurrences, always in a
//! "wall-clock frame": the DTSTART's local date and time, so it never meets a DST change, a
//! floating time or the machine's zone. The caller turns each wall-clock occurrence into an
//! instant in the zone it controls (the event's TZID, or the user's zone for floating and all-day
//! events), with RFC 5545's rules for gaps and repeated hours. UNTIL is therefore applied by the
//! caller on real instants.

mod expand;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};

use super::content::line_error;
use crate::error::Result;
pub(crate) use expand::{WallIter, STEP_BUDGET};

/// The end of a rule given by UNTIL, in the form it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `UNTIL=YYYYMMDD`: occurrences on that date (in the event's own frame) are included.
    Date(NaiveDate),
    /// `UNTIL=YYYYMMDDTHHMMSS`: a floating limit, compared with the occurrence's wall-clock time.
    Floating(NaiveDateTime),
    /// `UNTIL=YYYYMMDDTHHMMSSZ`: an instant, compared with the occurrence's instant.
    Utc(DateTime<Utc>),
}

/// A parsed and checked RRULE.
#[derive(Debug, Clone)]
pub struct Rule {
    text: String,
    parts: Parts,
    count: Option<u32>,
    until: Option<Until>,
    warnings: Vec<String>,
}

/// FREQ, ordered from the shortest period to the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Freq {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Freq {
    fn parse(s: &str) -> Option<Freq> {
        Some(match s {
            "SECONDLY" => Freq::Secondly,
            "MINUTELY" => Freq::Minutely,
            "HOURLY" => Freq::Hourly,
            "DAILY" => Freq::Daily,
            "WEEKLY" => Freq::Weekly,
            "MONTHLY" => Freq::Monthly,
            "YEARLY" => Freq::Yearly,
            _ => return None,
        })
    }

    /// The length in seconds of a sub-daily period (1 day for the others).
    fn unit_seconds(self) -> i64 {
        match self {
            Freq::Secondly => 1,
            Freq::Minutely => 60,
            Freq::Hourly => 3600,
            _ => 86_400,
        }
    }
}

/// The rule parts that shape the occurrences (COUNT and UNTIL are applied by the caller).
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    freq: Freq,
    interval: u32,
    wkst: Weekday,
    by_second: Vec<u32>,
    by_minute: Vec<u32>,
    by_hour: Vec<u32>,
    /// (ordinal, weekday); ordinal 0 means every such weekday.
    by_day: Vec<(i32, Weekday)>,
    by_month_day: Vec<i32>,
    by_year_day: Vec<i32>,
    by_week_no: Vec<i32>,
    by_month: Vec<u32>,
    by_set_pos: Vec<i32>,
}

impl Parts {
    /// The parts with RFC 5545's defaults taken from DTSTART (§3.3.10: missing BYxxx parts of a
    /// longer period than FREQ come from DTSTART).
    fn filled(&self, dtstart: NaiveDateTime) -> Parts {
        let mut p = self.clone();
        if p.by_week_no.is_empty()
            && p.by_year_day.is_empty()
            && p.by_month_day.is_empty()
            && p.by_day.is_empty()
        {
            match p.freq {
                Freq::Yearly => {
                    if p.by_month.is_empty() {
                        p.by_month = vec![dtstart.month()];
                    }
                    p.by_month_day = vec![day_i32(dtstart.day())];
                }
                Freq::Monthly => p.by_month_day = vec![day_i32(dtstart.day())],
                Freq::Weekly => p.by_day = vec![(0, dtstart.weekday())],
                _ => {}
            }
        }
        if p.by_hour.is_empty() && p.freq > Freq::Hourly {
            p.by_hour = vec![dtstart.hour()];
        }
        if p.by_minute.is_empty() && p.freq > Freq::Minutely {
            p.by_minute = vec![dtstart.minute()];
        }
        if p.by_second.is_empty() && p.freq > Freq::Secondly {
            p.by_second = vec![dtstart.second()];
        }
        p
    }

    /// An upper bound of the days one period can hold after the day-level parts.
    fn max_days(&self) -> i64 {
        let months = if self.by_month.is_empty() {
            12
        } else {
            self.by_month.len() as i64
        };
        let plain = self.by_day.iter().filter(|(n, _)| *n == 0).count() as i64;
        let numbered = self.by_day.len() as i64 - plain;
        let mut bound: i64 = match self.freq {
            Freq::Yearly => 366,
            Freq::Monthly => 31,
            Freq::Weekly => 7,
            _ => 1,
        };
        let span_months = match self.freq {
            Freq::Yearly => months,
            _ => 1,
        };
        if !self.by_day.is_empty() {
            // How often one weekday, and one numbered weekday, can occur in a period.
            let (per_weekday, per_numbered) = match self.freq {
                Freq::Yearly if self.by_month.is_empty() => (53, 1),
                Freq::Yearly => (5 * months, months),
                Freq::Monthly => (5, 1),
                _ => (1, 0),
            };
            bound = bound.min(plain * per_weekday + numbered * per_numbered);
        }
        if !self.by_month_day.is_empty() {
            bound = bound.min(self.by_month_day.len() as i64 * span_months);
        }
        if !self.by_year_day.is_empty() {
            bound = bound.min(self.by_year_day.len() as i64);
        }
        bound
    }

    /// Whether a sub-daily rule's INTERVAL can reach any time of day its BYHOUR, BYMINUTE and
    /// BYSECOND allow (`FREQ=HOURLY;INTERVAL=24;BYHOUR=9` from 10:00 never can).
    fn times_reachable(&self, dtstart: NaiveDateTime) -> bool {
        if self.freq > Freq::Hourly {
            return true;
        }
        let step = self.freq.unit_seconds() * i64::from(self.interval);
        let g = gcd(step, 86_400);
        let t0 = i64::from(dtstart.num_seconds_from_midnight());
        let all = |v: &Vec<u32>, n: u32| -> Vec<u32> {
            if v.is_empty() {
                (0..n).collect()
            } else {
                v.clone()
            }
        };
        let seconds = match self.freq {
            Freq::Secondly => all(&self.by_second, 60),
            _ => vec![dtstart.second()],
        };
        let minutes = match self.freq {
            Freq::Hourly => vec![dtstart.minute()],
            _ => all(&self.by_minute, 60),
        };
        // (For HOURLY and MINUTELY, BYMINUTE/BYSECOND pick within a period and do not limit
        // which periods are reached.)
        let hours = all(&self.by_hour, 24);
        hours.iter().any(|h| {
            minutes.iter().any(|m| {
                seconds.iter().any(|s| {
                    let t = i64::from(h * 3600 + m * 60 + s);
                    (t - t0).rem_euclid(g) == 0
                })
            })
        })
    }

    /// Whether a day passes the day-level BYxxx parts.
    fn day_matches(&self, d: NaiveDate) -> bool {
        if !self.by_month.is_empty() && !self.by_month.contains(&d.month()) {
            return false;
        }
        if !self.by_week_no.is_empty() {
            let (w, n) = week_number(d, self.wkst);
            if !self.by_week_no.iter().any(|x| *x == w || *x == w - n - 1) {
                return false;
            }
        }
        if !self.by_year_day.is_empty() {
            let yd = day_i32(d.ordinal());
            let len = if d.leap_year() { 366 } else { 365 };
            if !self
                .by_year_day
                .iter()
                .any(|x| *x == yd || *x == yd - len - 1)
            {
                return false;
            }
        }
        if !self.by_month_day.is_empty() {
            let md = day_i32(d.day());
            let len = day_i32(expand::days_in_month(d.year(), d.month()));
            if !self
                .by_month_day
                .iter()
                .any(|x| *x == md || *x == md - len - 1)
            {
                return false;
            }
        }
        if !self.by_day.is_empty() {
            let wd = d.weekday();
            return self
                .by_day
                .iter()
                .any(|(n, w)| *w == wd && (*n == 0 || self.is_nth(d, *n)));
        }
        true
    }

    /// Whether `d` is the `n`th (from the end when negative) of its weekday in the month
    /// (MONTHLY, or YEARLY with BYMONTH) or the year.
    fn is_nth(&self, d: NaiveDate, n: i32) -> bool {
        let in_month = self.freq == Freq::Monthly || !self.by_month.is_empty();
        let (index, len) = if in_month {
            (
                day_i32(d.day()) - 1,
                day_i32(expand::days_in_month(d.year(), d.month())),
            )
        } else {
            (
                day_i32(d.ordinal()) - 1,
                if d.leap_year() { 366 } else { 365 },
            )
        };
        if n > 0 {
            index / 7 + 1 == n
        } else {
            (len - 1 - index) / 7 + 1 == -n
        }
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

fn day_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The week number of `d` and the number of weeks of its week-numbering year, weeks beginning
/// on `wkst` and week 1 being the first with at least four days of the year (RFC 5545 BYWEEKNO).
fn week_number(d: NaiveDate, wkst: Weekday) -> (i32, i32) {
    let week1 =
        |y: i32| NaiveDate::from_ymd_opt(y, 1, 4).map(|jan4| expand::week_start(jan4, wkst));
    let y = d.year();
    let (Some(this), Some(next)) = (week1(y), week1(y + 1)) else {
        return (0, 0);
    };
    let (start, end) = if d < this {
        (week1(y - 1).unwrap_or(this), this)
    } else if d >= next {
        (next, week1(y + 2).unwrap_or(next))
    } else {
        (this, next)
    };
    let w = (d - start).num_days() / 7 + 1;
    let n = (end - start).num_days() / 7;
    (i32::try_from(w).unwrap_or(0), i32::try_from(n).unwrap_or(0))
}

const KNOWN_PARTS: [&str; 14] = [
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// A comma-separated list of integers, each within one of `ranges` (0 is never allowed where a
/// negative value is).
fn int_list(key: &str, value: &str, lo: i32, hi: i32) -> std::result::Result<Vec<i32>, String> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        let n: i32 = item
            .strip_prefix('+')
            .unwrap_or(item)
            .parse()
            .map_err(|_| format!("{key} value {item:?} is not a number"))?;
        if n < lo || n > hi || (lo < 0 && n == 0) {
            return Err(format!("{key} value {n} is outside {lo}..{hi}"));
        }
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn uint_list(key: &str, value: &str, hi: i32) -> std::result::Result<Vec<u32>, String> {
    let lo = i32::from(key == "BYMONTH");
    Ok(int_list(key, value, lo, hi)?
        .into_iter()
        .filter_map(|n| u32::try_from(n).ok())
        .collect())
}

impl Rule {
    /// Parses an RRULE value and checks it against the wall-clock DTSTART.
    ///
    /// Every RFC 5545 rule part is understood; X- parts are ignored. An ordinal BYDAY (such as
    /// `1MO`) under a FREQ other than MONTHLY or YEARLY is read as the plain weekday, the way
    /// python-dateutil reads it, with a warning ([`Rule::warnings`]).
    ///
    /// # Errors
    ///
    /// Invalid input naming `line` when the rule does not parse, has both COUNT and UNTIL, a
    /// part twice, a value out of its RFC 5545 range, a part that RFC 5545 does not allow with
    /// its FREQ (BYWEEKNO other than YEARLY, BYYEARDAY with DAILY, WEEKLY or MONTHLY,
    /// BYMONTHDAY with WEEKLY), or an unsupported part (RSCALE, SKIP).
    pub(crate) fn parse(text: &str, dtstart: NaiveDateTime, line: usize) -> Result<Rule> {
        let _ = dtstart; // every rule is valid for every DTSTART; kept for the callers' symmetry
        let bad = |why: String| line_error(line, format!("RRULE {text:?}: {why}"));
        let mut seen: Vec<String> = Vec::new();
        let mut count = None;
        let mut until = None;
        let mut freq = None;
        let mut warnings = Vec::new();
        let mut parts = Parts {
            freq: Freq::Daily,
            interval: 1,
            wkst: Weekday::Mon,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
        };
        for part in text.trim().split(';').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("part {part:?} has no '='")))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            match key.as_str() {
                k if k.starts_with("X-") => continue,
                "RSCALE" | "SKIP" => {
                    return Err(bad(
                        "non-Gregorian rules (RFC 7529 RSCALE/SKIP) are not supported".into(),
                    ))
                }
                k if !KNOWN_PARTS.contains(&k) => {
                    return Err(bad(format!("unknown rule part {key}")))
                }
                _ => {}
            }
            if seen.contains(&key) {
                return Err(bad(format!("{key} appears twice")));
            }
            seen.push(key.clone());
            match key.as_str() {
                "UNTIL" => {
                    until =
                        Some(parse_until(&value).ok_or_else(|| {
                            bad(format!("UNTIL={value} is not a DATE or DATE-TIME"))
                        })?);
                }
                "COUNT" => {
                    count = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| {
                                bad(format!("COUNT={value} is not a positive number"))
                            })?,
                    );
                }
                "INTERVAL" => {
                    parts.interval = value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad(format!("INTERVAL={value} is not a positive number")))?;
                }
                "FREQ" => {
                    freq = Some(
                        Freq::parse(&value)
                            .ok_or_else(|| bad(format!("FREQ={value} is not a frequency")))?,
                    );
                }
                "WKST" => {
                    parts.wkst = weekday(&value)
                        .ok_or_else(|| bad(format!("WKST={value} is not a weekday")))?;
                }
                "BYSECOND" => parts.by_second = uint_list(&key, &value, 59).map_err(bad)?,
                "BYMINUTE" => parts.by_minute = uint_list(&key, &value, 59).map_err(bad)?,
                "BYHOUR" => parts.by_hour = uint_list(&key, &value, 23).map_err(bad)?,
                "BYMONTH" => parts.by_month = uint_list(&key, &value, 12).map_err(bad)?,
                "BYMONTHDAY" => {
                    parts.by_month_day = int_list(&key, &value, -31, 31).map_err(bad)?
                }
                "BYYEARDAY" => {
                    parts.by_year_day = int_list(&key, &value, -366, 366).map_err(bad)?
                }
                "BYWEEKNO" => parts.by_week_no = int_list(&key, &value, -53, 53).map_err(bad)?,
                "BYSETPOS" => parts.by_set_pos = int_list(&key, &value, -366, 366).map_err(bad)?,
                "BYDAY" => {
                    for item in value.split(',').map(str::trim) {
                        let split = item.len().saturating_sub(2);
                        let (n, day) = item.split_at(if item.is_char_boundary(split) {
                            split
                        } else {
                            0
                        });
                        let day = weekday(day)
                            .ok_or_else(|| bad(format!("BYDAY value {item:?} is not a weekday")))?;
                        let n = if n.is_empty() {
                            0
                        } else {
                            let k: i32 =
                                n.strip_prefix('+').unwrap_or(n).parse().map_err(|_| {
                                    bad(format!("BYDAY value {item:?} is not a weekday"))
                                })?;
                            if k == 0 || !(-53..=53).contains(&k) {
                                return Err(bad(format!("BYDAY value {item:?}: the number must be within -53..-1 or 1..53")));
                            }
                            k
                        };
                        parts.by_day.push((n, day));
                    }
                }
                _ => {}
            }
        }
        let freq = freq.ok_or_else(|| bad("FREQ is missing".into()))?;
        parts.freq = freq;
        if count.is_some() && until.is_some() {
            return Err(bad("COUNT and UNTIL must not both be given".into()));
        }
        if !parts.by_week_no.is_empty() && freq != Freq::Yearly {
            return Err(bad("BYWEEKNO is only allowed with FREQ=YEARLY".into()));
        }
        if !parts.by_year_day.is_empty()
            && matches!(freq, Freq::Daily | Freq::Weekly | Freq::Monthly)
        {
            return Err(bad(
                "BYYEARDAY is not allowed with FREQ=DAILY, WEEKLY or MONTHLY".into(),
            ));
        }
        if !parts.by_month_day.is_empty() && freq == Freq::Weekly {
            return Err(bad("BYMONTHDAY is not allowed with FREQ=WEEKLY".into()));
        }
        if freq < Freq::Monthly && parts.by_day.iter().any(|(n, _)| *n != 0) {
            // RFC 5545 forbids it; python-dateutil (recurring-ical-events, the icalendar
            // package) reads the plain weekday, and so does calstore.
            warnings.push(format!(
                "RRULE {text:?}: a numbered BYDAY (such as 1MO) is not allowed with FREQ other than MONTHLY or YEARLY; the number is ignored"
            ));
            for d in &mut parts.by_day {
                d.0 = 0;
            }
        }
        parts
            .by_day
            .sort_by_key(|(n, w)| (*n, w.num_days_from_monday()));
        parts.by_day.dedup();
        Ok(Rule {
            text: text.to_owned(),
            parts,
            count,
            until,
            warnings,
        })
    }

    /// The rule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// COUNT, if given.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// UNTIL, if given.
    pub fn until(&self) -> Option<Until> {
        self.until
    }

    /// Whether the rule has neither COUNT nor UNTIL.
    pub fn is_unbounded(&self) -> bool {
        self.count.is_none() && self.until.is_none()
    }

    /// What was read leniently in the rule (each message names the rule).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The rule's occurrences (COUNT applied, UNTIL not) in wall-clock time, in order, starting
    /// with the first one at or after `dtstart` that matches the rule. The iterator's
    /// `exhausted` flag tells when it ended because its work budget ran out.
    pub(crate) fn wall_iter(&self, dtstart: NaiveDateTime) -> WallIter {
        WallIter::new(&self.parts, dtstart, self.count, None)
    }

    /// Like [`Rule::wall_iter`], ending at the first period that begins after `limit` (so that
    /// a rule bounded by UNTIL or a window costs no search beyond it).
    pub(crate) fn wall_iter_until(&self, dtstart: NaiveDateTime, limit: NaiveDateTime) -> WallIter {
        WallIter::new(&self.parts, dtstart, self.count, Some(limit))
    }
}

fn parse_until(value: &str) -> Option<Until> {
    match value.len() {
        8 => NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()
            .map(Until::Date),
        15 => NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
            .ok()
            .map(Until::Floating),
        16 if value.ends_with(['Z', 'z']) => {
            NaiveDateTime::parse_from_str(&value[..15], "%Y%m%dT%H%M%S")
                .ok()
                .map(|n| Until::Utc(n.and_utc()))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap()
    }

    #[test]
    fn parses_and_strips_until() {
        let r = Rule::parse(
            "FREQ=WEEKLY;UNTIL=20260202T080000Z;BYDAY=MO;X-FOO=1",
            at("20260105T090000"),
            7,
        )
        .unwrap();
        assert_eq!(r.until(), Some(Until::Utc(at("20260202T080000").and_utc())));
        assert!(!r.is_unbounded());
        let first: Vec<_> = r.wall_iter(at("20260105T090000")).take(3).collect();
        assert_eq!(
            first,
            vec![
                at("20260105T090000"),
                at("20260112T090000"),
                at("20260119T090000")
            ]
        );
    }

    #[test]
    fn refuses_bad_rules_with_the_line() {
        for bad in [
            "FREQ=WEEKLY;COUNT=2;UNTIL=20260101",
            "COUNT=3",
            "FREQ=FORTNIGHTLY",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=x",
            "FREQ=DAILY;UNTIL=2026",
            "FREQ=DAILY;FOO=1",
            "RSCALE=HEBREW;FREQ=YEARLY",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=DAILY;INTERVAL=2;INTERVAL=3",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=MONTHLY;BYDAY=0MO",
            "FREQ=YEARLY;BYDAY=54MO",
            "FREQ=MONTHLY;BYDAY=-5XX",
            "FREQ=DAILY;BYSECOND=60",
            "FREQ=MONTHLY;BYWEEKNO=3",
            "FREQ=MONTHLY;BYYEARDAY=3",
            "FREQ=WEEKLY;BYMONTHDAY=3",
            "FREQ=WEEKLY;WKST=XX",
            "",
        ] {
            let e = Rule::parse(bad, at("20260105T090000"), 12).unwrap_err();
            assert!(e.message().starts_with("line 12: RRULE"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_rfc_5545_ordinal_and_wkst_is_accepted() {
        let d = at("20260302T100000");
        for ok in [
            "FREQ=MONTHLY;BYDAY=-5MO",
            "FREQ=MONTHLY;BYDAY=+5FR,-1SU",
            "FREQ=YEARLY;BYDAY=-53WE",
            "FREQ=YEARLY;BYDAY=53TH;WKST=SU",
            "FREQ=WEEKLY;UNTIL=20200204T151459Z;BYDAY=TU;WKST=SU",
            "FREQ=YEARLY;BYWEEKNO=-53,1;BYYEARDAY=-366,366;BYSETPOS=-366,366",
        ] {
            let r = Rule::parse(ok, d, 1).unwrap();
            assert!(r.warnings().is_empty(), "{ok}");
        }
        let first: Vec<_> = Rule::parse("FREQ=MONTHLY;BYDAY=-5MO;COUNT=2", d, 1)
            .unwrap()
            .wall_iter(d)
            .collect();
        assert_eq!(first, [d, at("20260601T100000")]);
    }

    #[test]
    fn an_ordinal_byday_under_weekly_is_read_plain_with_a_warning() {
        let d = at("20260105T090000");
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=1MO,2WE;COUNT=3", d, 4).unwrap();
        assert_eq!(r.warnings().len(), 1);
        let got: Vec<_> = r.wall_iter(d).collect();
        assert_eq!(got, [d, at("20260107T090000"), at("20260112T090000")]);
    }

    #[test]
    fn wkst_decides_the_weeks_of_an_interval() {
        // RFC 5545 §3.3.10's example, moved to 2026.
        let d = at("20260804T090000");
        let days = |rule: &str| -> Vec<u32> {
            Rule::parse(rule, d, 1)
                .unwrap()
                .wall_iter(d)
                .map(|t| t.day())
                .collect()
        };
        assert_eq!(
            days("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"),
            [4, 9, 18, 23]
        );
        assert_eq!(
            days("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"),
            [4, 16, 18, 30]
        );
    }

    #[test]
    fn a_rule_that_never_matches_ends() {
        let r = Rule::parse(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
            at("20260105T090000"),
            1,
        )
        .unwrap();
        assert_eq!(r.wall_iter(at("20260105T090000")).count(), 0);
    }
}
