//! RRULE values: checked when an object is parsed, expanded in wall-clock time.
//!
//! The `rrule` crate generates the occurrences, always in a "wall-clock frame": the DTSTART's
//! local date and time are handed to it as if they were UTC, so it never meets a DST change, a
//! floating time or the machine's zone. The caller turns each wall-clock occurrence into an
//! instant in the zone it controls (the event's TZID, or the user's zone for floating and all-day
//! events), with RFC 5545's rules for gaps and repeated hours. UNTIL is therefore removed before
//! the rule reaches the crate and applied by the caller on real instants.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rrule::{RRule, RRuleSet, Unvalidated};

use super::content::line_error;
use crate::error::Result;

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
    /// The rule as handed to the `rrule` crate: without UNTIL and without X- parts.
    stripped: String,
    count: Option<u32>,
    until: Option<Until>,
}

const KNOWN_PARTS: [&str; 13] = [
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
];

impl Rule {
    /// Parses an RRULE value and checks it against the wall-clock DTSTART.
    ///
    /// # Errors
    ///
    /// Invalid input naming `line` when the rule does not parse, has both COUNT and UNTIL, uses
    /// an unsupported part (RSCALE, SKIP), or the `rrule` crate refuses it.
    pub(crate) fn parse(text: &str, dtstart: NaiveDateTime, line: usize) -> Result<Rule> {
        let bad = |why: String| line_error(line, format!("RRULE {text:?}: {why}"));
        let mut kept: Vec<String> = Vec::new();
        let mut count = None;
        let mut until = None;
        let mut freq = None;
        let mut byday_ordinal = false;
        for part in text.trim().split(';').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("part {part:?} has no '='")))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim();
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
            if kept.iter().any(|k| k.starts_with(&format!("{key}=")))
                || (key == "UNTIL" && until.is_some())
            {
                return Err(bad(format!("{key} appears twice")));
            }
            match key.as_str() {
                "UNTIL" => {
                    until =
                        Some(parse_until(value).ok_or_else(|| {
                            bad(format!("UNTIL={value} is not a DATE or DATE-TIME"))
                        })?);
                    continue;
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
                "FREQ" => freq = Some(value.to_ascii_uppercase()),
                "BYDAY" => {
                    byday_ordinal = value.split(',').any(|d| {
                        d.trim()
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_digit() || c == '+' || c == '-')
                    })
                }
                _ => {}
            }
            kept.push(format!("{key}={value}"));
        }
        let freq = freq.ok_or_else(|| bad("FREQ is missing".into()))?;
        if count.is_some() && until.is_some() {
            return Err(bad("COUNT and UNTIL must not both be given".into()));
        }
        if byday_ordinal && freq != "MONTHLY" && freq != "YEARLY" {
            return Err(bad(format!(
                "BYDAY with a number (such as 1MO) is only allowed with FREQ=MONTHLY or YEARLY, not {freq}"
            )));
        }
        let rule = Rule {
            text: text.to_owned(),
            stripped: kept.join(";"),
            count,
            until,
        };
        rule.build(dtstart).map_err(|e| bad(e.to_string()))?;
        Ok(rule)
    }

    fn build(&self, dtstart: NaiveDateTime) -> std::result::Result<RRuleSet, rrule::RRuleError> {
        let start = rrule::Tz::UTC.from_utc_datetime(&dtstart);
        let unvalidated: RRule<Unvalidated> = self.stripped.parse()?;
        let validated = unvalidated.validate(start)?;
        // `limit` makes the crate give up after 100,000 loops without a match, so a rule that
        // never matches (BYMONTHDAY=31;BYMONTH=2) ends.
        Ok(RRuleSet::new(start).rrule(validated).limit())
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

    /// The rule's occurrences (COUNT applied, UNTIL not) in wall-clock time, in order, starting
    /// with the first one at or after `dtstart` that matches the rule.
    pub(crate) fn wall_iter(&self, dtstart: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> {
        // The rule was checked with the same DTSTART when it was parsed; should building fail
        // anyway, there are no occurrences.
        self.build(dtstart)
            .ok()
            .into_iter()
            .flat_map(|set| set.into_iter().map(|d| d.naive_utc()))
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
        assert_eq!(r.stripped, "FREQ=WEEKLY;BYDAY=MO");
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
            "FREQ=WEEKLY;BYDAY=1MO",
            "COUNT=3",
            "FREQ=FORTNIGHTLY",
            "FREQ=DAILY;COUNT=0",
            "FREQ=DAILY;COUNT=x",
            "FREQ=DAILY;UNTIL=2026",
            "FREQ=DAILY;FOO=1",
            "RSCALE=HEBREW;FREQ=YEARLY",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=DAILY;INTERVAL=2;INTERVAL=3",
        ] {
            let e = Rule::parse(bad, at("20260105T090000"), 12).unwrap_err();
            assert!(e.message().starts_with("line 12: RRULE"), "{bad}: {e}");
        }
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
