//! RRULE values: checked when an object is parsed, expanded in wall-clock time.
//!
//! calstore's own expander (the `expand` submodule) generates the occurrences, always in a
//! "wall-clock frame": the DTSTART's local date and time, so it never meets a DST change, a
//! floating time or the machine's zone. The caller turns each wall-clock occurrence into an
//! instant in the zone it controls (the event's TZID, or the user's zone for floating and all-day
//! events), with RFC 5545's rules for gaps and repeated hours. UNTIL is therefore applied by the
//! caller on real instants.

mod expand;
mod parts;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc, Weekday};

use super::content::line_error;
use crate::error::Result;
pub(crate) use expand::{WallIter, STEP_BUDGET};
use parts::{Freq, Parts};

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
        let mut bad_count: Option<String> = None;
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
                "COUNT" => match value.parse::<u32>().ok().filter(|n| *n > 0) {
                    Some(n) => count = Some(n),
                    // Beside an UNTIL, a COUNT that is not positive is a producer's slip that
                    // the Python readers ignore; alone it leaves no rule.
                    None if value.parse::<i64>().is_ok_and(|n| n <= 0) => {
                        bad_count = Some(value.clone());
                    }
                    None => return Err(bad(format!("COUNT={value} is not a positive number"))),
                },
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
        if let Some(value) = bad_count {
            if until.is_none() {
                return Err(bad(format!("COUNT={value} is not a positive number")));
            }
            warnings.push(format!(
                "COUNT={value} is not a positive number; it is ignored beside UNTIL, which bounds the rule"
            ));
        }
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
    use chrono::Datelike;

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
