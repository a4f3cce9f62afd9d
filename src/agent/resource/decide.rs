//! The decision per occurrence, from the policy and what holds the resource's time: pure, so
//! every combination is tested without a store.
//!
//! The order (docs/resources.md, "Which setting wins"): `auto_schedule_mode = none` leaves
//! everything for a person; then the identity controls decline everything (`NotPermitted`);
//! then `accept-always` / `decline-always` decide without looking; then series allowed, each
//! occurrence's limits (booking window, maximum duration, permitted times, availability) and
//! capacity make an occurrence "not free" with its reason; `max_conflicts` turns every
//! occurrence of a series with too many busy ones "not free" (`TooManyConflicts`); last, the
//! mode maps free and not-free occurrences to accepted, declined or left for a person.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::agent::decision::{Action, Reason};
use crate::id::Rid;
use crate::object::{EventObject, TimeValue};
use crate::period::{capacity_conflicts, Period};

use super::policy::{Mode, Policy};

/// One occurrence of the requested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Its RECURRENCE-ID; `None` for a single event.
    pub rid: Option<Rid>,
    /// Its busy period (uid and rid of the request).
    pub period: Period,
}

/// What the decision looks at besides the occurrences.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Whether the organiser may book the resource.
    pub permitted: bool,
    /// Whether the request is a recurring event.
    pub series: bool,
    /// The other events' busy periods at the resource (any order).
    pub others: &'a [Period],
    /// The resource's unavailable periods (VAVAILABILITY, BUSY-UNAVAILABLE).
    pub unavailable: &'a [Period],
    /// The resource's time zone (for `permitted_times`).
    pub tz: Tz,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The RECURRENCE-ID of a master's occurrence starting at `start`, in the master's DTSTART form
/// (a date, a floating time in `tz`, or UTC).
pub fn occurrence_rid(dtstart: Option<&TimeValue>, start: DateTime<Utc>, tz: &Tz) -> Rid {
    match dtstart {
        Some(TimeValue::Date(_)) => Rid::from_date(start.with_timezone(tz).date_naive()),
        Some(TimeValue::Floating(_)) => Rid::from_floating(start.with_timezone(tz).naive_local()),
        _ => Rid::from_utc(start),
    }
}

/// The occurrences of a request from its expanded `periods`: an instance keeps its own
/// RECURRENCE-ID; an occurrence of a `series` gets the one its start has in `master`'s DTSTART
/// form; a single event has none.
pub fn occurrences(
    periods: &[Period],
    master: Option<&EventObject>,
    series: bool,
    tz: &Tz,
) -> Vec<Occurrence> {
    periods
        .iter()
        .map(|p| Occurrence {
            rid: match &p.rid {
                Some(r) => Some(r.clone()),
                None if series => Some(occurrence_rid(
                    master.and_then(|m| m.dtstart()),
                    p.start,
                    tz,
                )),
                None => None,
            },
            period: p.clone(),
        })
        .collect()
}

/// Why an occurrence cannot simply be taken, or `None` when it is free.
fn obstacle(ctx: &Context<'_>, occ: &Occurrence) -> Option<Reason> {
    let p = &occ.period;
    let policy = ctx.policy;
    if ctx.series && !policy.allow_recurring {
        return Some(Reason::SeriesNotAllowed);
    }
    if let Some(w) = policy.booking_window {
        if p.start > ctx.now + w {
            return Some(Reason::OutsideBookingWindow);
        }
    }
    if let Some(max) = policy.max_duration {
        if p.end - p.start > max {
            return Some(Reason::TooLong);
        }
    }
    if let Some((from, to)) = policy.permitted_times {
        let s = p.start.with_timezone(&ctx.tz);
        let e = p.end.with_timezone(&ctx.tz);
        let same_day = s.date_naive() == e.date_naive()
            || (e.time() == chrono::NaiveTime::MIN && e - s <= Duration::days(1));
        let end_time = if e.time() == chrono::NaiveTime::MIN && e.date_naive() != s.date_naive() {
            chrono::NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(chrono::NaiveTime::MIN)
        } else {
            e.time()
        };
        if !same_day || s.time() < from || end_time > to {
            return Some(Reason::OutsideAvailability);
        }
    }
    if ctx
        .unavailable
        .iter()
        .any(|u| u.is_busy() && u.overlaps(p.start, p.end))
    {
        return Some(Reason::OutsideAvailability);
    }
    let held = capacity_conflicts(ctx.others, std::slice::from_ref(p), policy.capacity);
    held.first().map(|h| Reason::Busy { uid: h.uid.clone() })
}

/// The action and reason for each occurrence, in the order given.
pub fn decide(ctx: &Context<'_>, occurrences: &[Occurrence]) -> Vec<(Action, Reason)> {
    let mode = ctx.policy.mode;
    let all = |a: Action, r: Reason| vec![(a, r); occurrences.len()];
    if mode == Mode::None {
        return all(Action::LeftForPerson, Reason::Mode);
    }
    if !ctx.permitted {
        return all(Action::Declined, Reason::NotPermitted);
    }
    match mode {
        Mode::AcceptAlways => return all(Action::Accepted, Reason::Mode),
        Mode::DeclineAlways => return all(Action::Declined, Reason::Mode),
        _ => {}
    }
    let mut obstacles: Vec<Option<Reason>> = occurrences.iter().map(|o| obstacle(ctx, o)).collect();
    if let Some(max) = ctx.policy.max_conflicts {
        let busy = obstacles.iter().filter(|o| o.is_some()).count();
        if ctx.series && busy > max {
            for o in &mut obstacles {
                if !matches!(o, Some(Reason::Busy { .. })) {
                    *o = Some(Reason::TooManyConflicts);
                }
            }
        }
    }
    obstacles.into_iter().map(|o| verdict(mode, o)).collect()
}

/// What `mode` does with one occurrence: free (`obstacle` `None`) or not free for the reason
/// given (CalendarServer's table in docs/resources.md). The one mapping every path uses: the
/// decision, the quota's refusal (`OverQuota`), the cron job's settlement (`Busy`).
pub fn verdict(mode: Mode, obstacle: Option<Reason>) -> (Action, Reason) {
    match (mode, obstacle) {
        (Mode::None, _) => (Action::LeftForPerson, Reason::Mode),
        (Mode::AcceptAlways, _) => (Action::Accepted, Reason::Mode),
        (Mode::DeclineAlways, _) => (Action::Declined, Reason::Mode),
        (Mode::AcceptIfFree | Mode::Automatic, None) => (Action::Accepted, Reason::Applied),
        (Mode::DeclineIfBusy, None) => (Action::LeftForPerson, Reason::Applied),
        (Mode::AcceptIfFree, Some(r)) => (Action::LeftForPerson, r),
        (Mode::Automatic | Mode::DeclineIfBusy, Some(r)) => (Action::Declined, r),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;
    use crate::id::Uid;

    fn period(uid: &str, day: u32, hour: u32) -> Period {
        let start: DateTime<Utc> = format!("2026-01-{day:02}T{hour:02}:00:00Z")
            .parse()
            .unwrap();
        Period::new(
            start,
            start + Duration::hours(1),
            Uid::new(uid).unwrap(),
            None,
        )
        .unwrap()
    }

    /// A daily series of three, the second day busy (the issue's "daily series with one busy
    /// day"), under every mode: CalendarServer's PARTSTAT per occurrence.
    #[test]
    fn six_modes_on_a_series_with_one_busy_day() {
        let occ: Vec<Occurrence> = (5..8)
            .map(|d| Occurrence {
                rid: Some(Rid::from_utc(period("req", d, 9).start)),
                period: period("req", d, 9),
            })
            .collect();
        let others = vec![period("blocker", 6, 9)];
        let busy = Reason::Busy {
            uid: Uid::new("blocker").unwrap(),
        };
        use Action::*;
        let expect = [
            (Mode::None, [LeftForPerson, LeftForPerson, LeftForPerson]),
            (Mode::AcceptAlways, [Accepted, Accepted, Accepted]),
            (Mode::DeclineAlways, [Declined, Declined, Declined]),
            (Mode::AcceptIfFree, [Accepted, LeftForPerson, Accepted]),
            (
                Mode::DeclineIfBusy,
                [LeftForPerson, Declined, LeftForPerson],
            ),
            (Mode::Automatic, [Accepted, Declined, Accepted]),
        ];
        for (mode, actions) in expect {
            let policy = Policy {
                mode,
                ..Policy::default()
            };
            let ctx = Context {
                policy: &policy,
                permitted: true,
                series: true,
                others: &others,
                unavailable: &[],
                tz: Tz::UTC,
                now: "2026-01-01T00:00:00Z".parse().unwrap(),
            };
            let got = decide(&ctx, &occ);
            let got_actions: Vec<Action> = got.iter().map(|g| g.0).collect();
            assert_eq!(got_actions, actions, "{mode:?}");
            if matches!(
                mode,
                Mode::Automatic | Mode::AcceptIfFree | Mode::DeclineIfBusy
            ) {
                assert_eq!(got[1].1, busy, "{mode:?}");
            }
        }
    }

    /// The quota's refusal and the cron job's settlement use the same table as the decision.
    #[test]
    fn verdict_maps_every_mode() {
        use Action::*;
        let over = Some(Reason::OverQuota);
        let got: Vec<Action> = [
            Mode::None,
            Mode::AcceptAlways,
            Mode::DeclineAlways,
            Mode::AcceptIfFree,
            Mode::DeclineIfBusy,
            Mode::Automatic,
        ]
        .into_iter()
        .map(|m| verdict(m, over.clone()).0)
        .collect();
        assert_eq!(
            got,
            [
                LeftForPerson,
                Accepted,
                Declined,
                LeftForPerson,
                Declined,
                Declined
            ]
        );
        assert_eq!(
            verdict(Mode::Automatic, over.clone()),
            (Declined, Reason::OverQuota)
        );
        assert_eq!(
            verdict(Mode::DeclineIfBusy, None),
            (LeftForPerson, Reason::Applied)
        );
    }

    #[test]
    fn capacity_limits_window_and_conflicts() {
        let occ = vec![Occurrence {
            rid: None,
            period: period("req", 5, 9),
        }];
        let others = vec![period("a", 5, 9), period("b", 5, 9)];
        let one = |policy: Policy, permitted: bool| {
            let ctx = Context {
                policy: &policy,
                permitted,
                series: false,
                others: &others,
                unavailable: &[],
                tz: Tz::UTC,
                now: "2026-01-01T00:00:00Z".parse().unwrap(),
            };
            decide(&ctx, &occ).remove(0)
        };
        let three = Policy {
            capacity: 3,
            ..Policy::default()
        };
        assert_eq!(one(three.clone(), true).0, Action::Accepted);
        let two = Policy {
            capacity: 2,
            ..Policy::default()
        };
        assert!(matches!(one(two, true).1, Reason::Busy { .. }));
        let window = Policy {
            booking_window: Some(Duration::days(2)),
            ..three.clone()
        };
        assert_eq!(
            one(window, true),
            (Action::Declined, Reason::OutsideBookingWindow)
        );
        let short = Policy {
            max_duration: Some(Duration::minutes(30)),
            ..three.clone()
        };
        assert_eq!(one(short, true).1, Reason::TooLong);
        let times = Policy {
            permitted_times: Some((
                chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            )),
            ..three.clone()
        };
        assert_eq!(one(times, true).1, Reason::OutsideAvailability);
        assert_eq!(one(three, false).1, Reason::NotPermitted);
    }

    #[test]
    fn too_many_conflicts_refuse_the_series() {
        let occ: Vec<Occurrence> = (5..9)
            .map(|d| Occurrence {
                rid: Some(Rid::from_utc(period("req", d, 9).start)),
                period: period("req", d, 9),
            })
            .collect();
        let others = vec![period("x", 6, 9), period("y", 7, 9)];
        let policy = Policy {
            max_conflicts: Some(1),
            ..Policy::default()
        };
        let ctx = Context {
            policy: &policy,
            permitted: true,
            series: true,
            others: &others,
            unavailable: &[],
            tz: Tz::UTC,
            now: "2026-01-01T00:00:00Z".parse().unwrap(),
        };
        let got = decide(&ctx, &occ);
        assert!(got.iter().all(|g| g.0 == Action::Declined));
        assert_eq!(got[0].1, Reason::TooManyConflicts);
    }
}
