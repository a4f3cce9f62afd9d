//! calstore's own RRULE expander, in wall-clock time.
//!
//! Why not the `rrule` crate (which calstore used before): its validation cannot be bypassed and
//! refuses ordinals RFC 5545 allows (`BYDAY=-5MO` under MONTHLY, `-53WE` under YEARLY: it computes
//! the range by integer division), and it materialises whole periods, so a 1 KB rule that repeats
//! every second of a year took 6.5 s and 1.5 GB. Here every period is a grid of candidate days ×
//! times of day that is walked lazily; BYSETPOS picks grid positions by arithmetic; and a step
//! budget bounds the work spent on periods that produce nothing (docs/recurrence.md).
//!
//! The semantics follow RFC 5545 §3.3.10 the way python-dateutil (and so recurring-ical-events
//! and the `icalendar` package) reads it: every BYxxx part limits the candidate days of a period,
//! ordinal BYDAY counts within the month (MONTHLY, or YEARLY with BYMONTH) or the year, BYWEEKNO
//! numbers weeks from WKST (week 1 has at least four days of the year), and WEEKLY periods begin
//! on WKST.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::{Freq, Parts};

/// Candidate days and periods examined before the expansion gives up (a rule that never or very
/// rarely matches: `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30` reaches year 9999 within it).
pub(crate) const STEP_BUDGET: u64 = 600_000;

/// No occurrence is generated after this year (beyond what iCalendar can write).
const LAST_YEAR: i32 = 9999;

/// The occurrences of one rule at or after DTSTART, in order, COUNT applied.
pub(crate) struct WallIter {
    parts: Parts,
    dtstart: NaiveDateTime,
    /// Times of day (seconds since midnight) of a day-or-longer period, sorted.
    times: Vec<u32>,
    /// Index of the current period (for sub-daily rules), or the current period's first day.
    period: Period,
    /// The current period's items.
    days: Vec<NaiveDate>,
    period_times: Vec<u32>,
    picks: Option<Vec<usize>>,
    cursor: usize,
    left: Option<u32>,
    limit: Option<NaiveDateTime>,
    steps: u64,
    budget: u64,
    /// Set when the budget ran out (the iterator then ends).
    pub(crate) exhausted: bool,
    done: bool,
}

#[derive(Debug, Clone, Copy)]
enum Period {
    Day(NaiveDate),
    Instant(NaiveDateTime),
}

impl WallIter {
    /// The iterator over `parts` from `dtstart`; it ends (without being `exhausted`) at the first
    /// period after `limit`.
    pub(crate) fn new(
        parts: &Parts,
        dtstart: NaiveDateTime,
        count: Option<u32>,
        limit: Option<NaiveDateTime>,
    ) -> WallIter {
        let parts = parts.filled(dtstart);
        let mut times = Vec::new();
        if parts.freq >= Freq::Daily {
            for h in &parts.by_hour {
                for m in &parts.by_minute {
                    for s in &parts.by_second {
                        times.push(h * 3600 + m * 60 + s);
                    }
                }
            }
            times.sort_unstable();
            times.dedup();
        }
        let d = dtstart.date();
        let period = match parts.freq {
            Freq::Yearly => Period::Day(NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)),
            Freq::Monthly => Period::Day(d.with_day(1).unwrap_or(d)),
            Freq::Weekly => Period::Day(week_start(d, parts.wkst)),
            Freq::Daily => Period::Day(d),
            _ => Period::Instant(truncate(dtstart, parts.freq)),
        };
        // BYSETPOS beyond the largest possible period never matches (DAILY;BYSETPOS=3): end
        // now instead of searching to year 9999.
        let max_days = parts.max_days();
        let max_times = match parts.freq {
            Freq::Hourly => parts.by_minute.len() * parts.by_second.len(),
            Freq::Minutely => parts.by_second.len(),
            Freq::Secondly => 1,
            _ => times.len(),
        };
        let max_items = max_days.saturating_mul(i64::try_from(max_times).unwrap_or(i64::MAX));
        let never = !parts.by_set_pos.is_empty()
            && parts
                .by_set_pos
                .iter()
                .all(|p| i64::from(p.unsigned_abs()) > max_items)
            || !parts.times_reachable(dtstart);
        WallIter {
            done: never,
            parts,
            dtstart,
            times,
            period,
            days: Vec::new(),
            period_times: Vec::new(),
            picks: None,
            cursor: 0,
            left: count,
            limit,
            steps: 0,
            budget: STEP_BUDGET,
            exhausted: false,
        }
    }

    /// The same iterator with a smaller step budget (what is left of an event's budget when it
    /// has several RRULEs).
    pub(crate) fn with_budget(mut self, budget: u64) -> WallIter {
        self.budget = budget.min(STEP_BUDGET);
        self
    }

    /// The steps spent so far.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    fn grid_len(&self) -> usize {
        self.days.len() * self.period_times.len()
    }

    /// The item at grid position `i` (day-major, so positions are in time order).
    fn at(&self, i: usize) -> NaiveDateTime {
        let t = self.period_times.len();
        let secs = self.period_times[i % t];
        self.days[i / t].and_time(NaiveTime::MIN) + Duration::seconds(i64::from(secs))
    }

    /// Fills `days`/`period_times` for the current period and moves `period` to the next one.
    /// Returns false when the end of time is reached.
    fn load_period(&mut self) -> bool {
        self.days.clear();
        self.cursor = 0;
        self.picks = None;
        match self.period {
            Period::Day(first) => {
                if first.year() > LAST_YEAR {
                    return false;
                }
                let interval = i64::from(self.parts.interval);
                let (candidates, next) = match self.parts.freq {
                    Freq::Yearly => {
                        let y = first.year();
                        let mut c = Vec::new();
                        for m in 1..=12u32 {
                            if self.parts.by_month.is_empty() || self.parts.by_month.contains(&m) {
                                c.extend(month_days(y, m));
                            }
                        }
                        (c, add_years(first, interval))
                    }
                    Freq::Monthly => {
                        let c = if self.parts.by_month.is_empty()
                            || self.parts.by_month.contains(&first.month())
                        {
                            month_days(first.year(), first.month())
                        } else {
                            Vec::new()
                        };
                        (c, add_months(first, interval))
                    }
                    Freq::Weekly => (
                        (0..7)
                            .filter_map(|i| first.checked_add_signed(Duration::days(i)))
                            .collect(),
                        first.checked_add_signed(Duration::weeks(interval)),
                    ),
                    _ => (
                        if self.parts.by_month.is_empty()
                            || self.parts.by_month.contains(&first.month())
                        {
                            vec![first]
                        } else {
                            Vec::new()
                        },
                        self.next_daily(first, interval),
                    ),
                };
                self.steps += 1 + candidates.len() as u64;
                self.days = candidates
                    .into_iter()
                    .filter(|d| self.parts.day_matches(*d))
                    .collect();
                self.period_times.clone_from(&self.times);
                match next {
                    Some(n) => self.period = Period::Day(n),
                    None => self.period = Period::Day(NaiveDate::MAX),
                }
            }
            Period::Instant(t) => {
                if t.year() > LAST_YEAR {
                    return false;
                }
                self.steps += 1;
                let unit = self.parts.freq.unit_seconds();
                let step = unit * i64::from(self.parts.interval);
                // The earliest instant that could match: skip whole days, hours or minutes
                // that a filter rules out instead of visiting each period in them.
                let skip_to = if !self.parts.day_matches(t.date()) {
                    Some(next_boundary(t, 86_400))
                } else if !self.parts.by_hour.is_empty()
                    && !self.parts.by_hour.contains(&t.hour_of())
                {
                    Some(next_boundary(t, 3600))
                } else if self.parts.freq <= Freq::Minutely
                    && !self.parts.by_minute.is_empty()
                    && !self.parts.by_minute.contains(&t.minute_of())
                {
                    Some(next_boundary(t, 60))
                } else if self.parts.freq == Freq::Secondly
                    && !self.parts.by_second.is_empty()
                    && !self.parts.by_second.contains(&t.second_of())
                {
                    Some(t + Duration::seconds(1))
                } else {
                    None
                };
                let next = match skip_to {
                    Some(target) => {
                        // The first period at or after `target`, keeping the rule's phase.
                        let gap = (target - t).num_seconds().max(1);
                        let periods = (gap + step - 1) / step;
                        t.checked_add_signed(Duration::seconds(periods.saturating_mul(step)))
                    }
                    None => {
                        let base = t.num_seconds_from_midnight_of();
                        self.days.push(t.date());
                        self.period_times = match self.parts.freq {
                            Freq::Hourly => {
                                let mut v = Vec::new();
                                for m in &self.parts.by_minute {
                                    for s in &self.parts.by_second {
                                        v.push(base + m * 60 + s);
                                    }
                                }
                                v
                            }
                            Freq::Minutely => {
                                self.parts.by_second.iter().map(|s| base + s).collect()
                            }
                            _ => vec![base],
                        };
                        self.period_times.sort_unstable();
                        self.period_times.dedup();
                        t.checked_add_signed(Duration::seconds(step))
                    }
                };
                self.period = Period::Instant(next.unwrap_or(NaiveDateTime::MAX));
            }
        }
        if !self.parts.by_set_pos.is_empty() && self.grid_len() > 0 {
            let n = self.grid_len() as i64;
            let mut picks: Vec<usize> = self
                .parts
                .by_set_pos
                .iter()
                .filter_map(|p| {
                    let i = if *p > 0 {
                        i64::from(*p) - 1
                    } else {
                        n + i64::from(*p)
                    };
                    (0..n).contains(&i).then_some(i as usize)
                })
                .collect();
            picks.sort_unstable();
            picks.dedup();
            self.picks = Some(picks);
        }
        true
    }

    /// The next DAILY period, skipping whole months that BYMONTH rules out.
    fn next_daily(&self, day: NaiveDate, interval: i64) -> Option<NaiveDate> {
        let mut next = day.checked_add_signed(Duration::days(interval))?;
        if !self.parts.by_month.is_empty() && !self.parts.by_month.contains(&next.month()) {
            let first_of_next = add_months(next.with_day(1)?, 1)?;
            let gap = (first_of_next - next).num_days();
            next = next
                .checked_add_signed(Duration::days((gap + interval - 1) / interval * interval))?;
        }
        Some(next)
    }

    /// The next item of the current period, if any.
    fn next_item(&mut self) -> Option<NaiveDateTime> {
        match &self.picks {
            Some(p) => {
                let i = *p.get(self.cursor)?;
                self.cursor += 1;
                Some(self.at(i))
            }
            None => {
                if self.cursor >= self.grid_len() {
                    return None;
                }
                let i = self.cursor;
                self.cursor += 1;
                Some(self.at(i))
            }
        }
    }
}

impl Iterator for WallIter {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        if self.done || self.left == Some(0) {
            return None;
        }
        loop {
            if let Some(item) = self.next_item() {
                if item.year() > LAST_YEAR {
                    self.done = true;
                    return None;
                }
                if item < self.dtstart {
                    continue;
                }
                if let Some(n) = &mut self.left {
                    *n -= 1;
                }
                return Some(item);
            }
            if self.steps > self.budget {
                self.exhausted = true;
                self.done = true;
                return None;
            }
            let period_start = match self.period {
                Period::Day(d) => d.and_time(NaiveTime::MIN),
                Period::Instant(t) => t,
            };
            if self.limit.is_some_and(|l| period_start > l) || !self.load_period() {
                self.done = true;
                return None;
            }
        }
    }
}

trait Clock {
    fn hour_of(&self) -> u32;
    fn minute_of(&self) -> u32;
    fn second_of(&self) -> u32;
    fn num_seconds_from_midnight_of(&self) -> u32;
}

impl Clock for NaiveDateTime {
    fn hour_of(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
    fn minute_of(&self) -> u32 {
        chrono::Timelike::minute(self)
    }
    fn second_of(&self) -> u32 {
        chrono::Timelike::second(self)
    }
    fn num_seconds_from_midnight_of(&self) -> u32 {
        chrono::Timelike::num_seconds_from_midnight(self)
    }
}

/// The start of the next whole `unit` (day, hour, minute) after `t`.
fn next_boundary(t: NaiveDateTime, unit: i64) -> NaiveDateTime {
    let secs = i64::from(t.num_seconds_from_midnight_of());
    t + Duration::seconds(unit - secs % unit)
}

fn truncate(t: NaiveDateTime, freq: Freq) -> NaiveDateTime {
    let unit = freq.unit_seconds();
    let secs = i64::from(t.num_seconds_from_midnight_of());
    t - Duration::seconds(secs % unit)
}

/// The WKST day on or before `d`.
pub(super) fn week_start(d: NaiveDate, wkst: Weekday) -> NaiveDate {
    let back = (7 + d.weekday().num_days_from_monday() - wkst.num_days_from_monday()) % 7;
    d.checked_sub_signed(Duration::days(i64::from(back)))
        .unwrap_or(d)
}

fn month_days(y: i32, m: u32) -> Vec<NaiveDate> {
    (1..=days_in_month(y, m))
        .filter_map(|d| NaiveDate::from_ymd_opt(y, m, d))
        .collect()
}

pub(super) fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    match (
        NaiveDate::from_ymd_opt(y, m, 1),
        NaiveDate::from_ymd_opt(ny, nm, 1),
    ) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(31),
        _ => 31,
    }
}

fn add_months(first: NaiveDate, n: i64) -> Option<NaiveDate> {
    let total = i64::from(first.year()) * 12 + i64::from(first.month0()) + n;
    let y = i32::try_from(total.div_euclid(12)).ok()?;
    let m = u32::try_from(total.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(y, m, 1)
}

fn add_years(first: NaiveDate, n: i64) -> Option<NaiveDate> {
    let y = i32::try_from(i64::from(first.year()) + n).ok()?;
    NaiveDate::from_ymd_opt(y, 1, 1)
}
