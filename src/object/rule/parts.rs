//! The rule parts that shape the occurrences, and the day-level tests on them.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};

use super::expand;

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
    pub(crate) fn parse(s: &str) -> Option<Freq> {
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
    pub(crate) fn unit_seconds(self) -> i64 {
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
    pub(crate) freq: Freq,
    pub(crate) interval: u32,
    pub(crate) wkst: Weekday,
    pub(crate) by_second: Vec<u32>,
    pub(crate) by_minute: Vec<u32>,
    pub(crate) by_hour: Vec<u32>,
    /// (ordinal, weekday); ordinal 0 means every such weekday.
    pub(crate) by_day: Vec<(i32, Weekday)>,
    pub(crate) by_month_day: Vec<i32>,
    pub(crate) by_year_day: Vec<i32>,
    pub(crate) by_week_no: Vec<i32>,
    pub(crate) by_month: Vec<u32>,
    pub(crate) by_set_pos: Vec<i32>,
}

impl Parts {
    /// The parts with RFC 5545's defaults taken from DTSTART (§3.3.10: missing BYxxx parts of a
    /// longer period than FREQ come from DTSTART).
    pub(crate) fn filled(&self, dtstart: NaiveDateTime) -> Parts {
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
    pub(crate) fn max_days(&self) -> i64 {
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
    pub(crate) fn times_reachable(&self, dtstart: NaiveDateTime) -> bool {
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
    pub(crate) fn day_matches(&self, d: NaiveDate) -> bool {
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
