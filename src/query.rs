//! Free/busy queries (`calstore freebusy`, and any agent answering a VFREEBUSY request) that never
//! answer "free" past what the store knows (issue 13, item 4).
//!
//! The user's own `freebusy` table holds the occurrences of events without end only up to the
//! window of the last regeneration (the providers table's window end). A query whose range ends
//! later expands those events (the providers) on demand for the range asked, as CalendarServer
//! extends its index, and merges them into the table's answer: the table itself is not written.
//! What cannot be vouched for (a provider that no longer expands, or an open-ended query) is
//! stated as the [`Answer::horizon`].

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Uid, User};
use crate::period::{self, format_instant, Period};
use crate::refresh::{attendee_periods, expand_family, settings, Overrides};
use crate::store::{Store, Table};

pub(crate) mod ical;
pub use ical::vfreebusy;

/// The periods of a query and how far they can be trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The periods overlapping the range, in table order.
    pub periods: Vec<Period>,
    /// When set, the answer is complete only before this instant: later, events without end may
    /// have occurrences that are not in [`Answer::periods`].
    pub horizon: Option<DateTime<Utc>>,
    /// Events without end that were expanded on demand for the range.
    pub expanded: usize,
    /// When events were expanded on demand: the table's horizon they were expanded past (the
    /// recorded window end, `None` when none is recorded).
    pub expanded_past: Option<DateTime<Utc>>,
    /// Events without end that could not be expanded, with the reason (the cause of a horizon).
    pub failed: Vec<(Uid, String)>,
}

impl Answer {
    /// The sentence that says the answer was expanded on demand past the table's horizon, for a
    /// note on the terminal (issue 21: a query past the horizon says so).
    pub fn expansion_note(&self, user: &User) -> Option<String> {
        (self.expanded > 0).then(|| {
            format!(
                "free/busy of {user} is stored up to {}; {} event(s) without end were expanded on demand for the range",
                self.expanded_past
                    .map_or_else(|| "no recorded horizon".to_owned(), format_instant),
                self.expanded
            )
        })
    }

    /// The sentence that states the horizon, for a warning on the terminal.
    pub fn horizon_warning(&self, user: &User) -> Option<String> {
        self.horizon.map(|h| {
            format!(
                "free/busy of {user} is known only before {}: events without end are not expanded past it{}",
                format_instant(h),
                if self.failed.is_empty() {
                    " (give --end to expand them for the range)".to_owned()
                } else {
                    format!(
                        " ({} could not be expanded: {})",
                        self.failed.len(),
                        self.failed
                            .iter()
                            .map(|(u, why)| format!("{:?}: {why}", u.as_str()))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }
            )
        })
    }
}

/// The periods of `user`'s `table` overlapping [`start`, `end`) (`None` is unbounded on that
/// side). For the user's own `freebusy` table, when `end` lies past the window of the last
/// regeneration, the events without end are expanded on demand up to `end` with the user's
/// settings and their occurrences in the range replace the table's rows of those events. A
/// `freebusy-other/<attendee>` table is extended the same way with the user's events without
/// end that name the attendee, as the attendee's answers in them make them; without `end`, the
/// answer states its horizon. The user's availability (BUSY-UNAVAILABLE rows of its VAVAILABILITY
/// uids) is extended past the horizon the same way.
///
/// # Errors
///
/// The store's errors; invalid input when a stored `TZID` or `window_size` does not parse.
pub async fn freebusy<S: Store>(
    store: &S,
    user: &User,
    table: &Table,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let mut answer = events_answer(store, user, table, start, end, now).await?;
    // The availability's BUSY-UNAVAILABLE rows stop at the table's horizon as the occurrences of
    // events without end do; past it they are computed from the preference, the same way.
    if let (Table::FreeBusy, Some(end)) = (table, end) {
        let known = store.providers(user).await?.value.window_end;
        let all = if known.is_none_or(|k| end > k) {
            crate::refresh::availability::load(store, user).await?
        } else {
            Vec::new()
        };
        if !all.is_empty() {
            let tz = settings(store, user, &Overrides::default()).await?.tz;
            let rows = crate::object::availability::rows(user, &all, end, tz)
                .map_err(|e| e.context(format!("preference availability of {user}")))?;
            let uids = crate::refresh::availability::uids(&all);
            let s = start.unwrap_or(DateTime::<Utc>::MIN_UTC);
            let fresh: Vec<Period> = rows.into_iter().filter(|p| p.overlaps(s, end)).collect();
            let periods = std::mem::take(&mut answer.periods);
            answer.periods = crate::refresh::availability::replace(periods, &uids, fresh);
        }
    }
    Ok(answer)
}

/// [`freebusy`] of the table and the events (without the availability past the horizon).
async fn events_answer<S: Store>(
    store: &S,
    user: &User,
    table: &Table,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let s = start.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let e = end.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut periods = if start.is_none() && end.is_none() {
        store.freebusy(user, table).await?.value
    } else {
        store.freebusy_in(user, table, s, e).await?.value
    };
    let mut answer = Answer::default();
    // Whose periods the table holds: the user's own, or (freebusy-other) what the user knows of
    // an attendee of the user's events, written by the agent as that attendee's answers make
    // them and extended here, past the window, the same way.
    let (expand_as, attendee) = match table {
        Table::FreeBusy => (user.clone(), false),
        Table::Other(o) => match User::new(o.as_str()) {
            Ok(u) => (u, true),
            Err(_) => {
                answer.periods = periods;
                return Ok(answer);
            }
        },
        Table::Offers => {
            answer.periods = periods;
            return Ok(answer);
        }
    };
    let providers = store.providers(user).await?.value;
    if providers.events.is_empty() {
        answer.periods = periods;
        return Ok(answer);
    }
    // What the table vouches for: its horizon, the shortest window any writer expanded to since
    // the last regeneration (`refresh::record_horizon`). None recorded (a table written before
    // horizons were): every query with an end expands the providers.
    let known = providers.window_end.unwrap_or(DateTime::<Utc>::MIN_UTC);
    // A query without range asks for the table as it is, which holds everything up to its
    // recorded horizon: it is answered from the table, silently.
    let whole_table = start.is_none() && end.is_none() && providers.window_end.is_some();
    if e <= known || whole_table {
        answer.periods = periods;
        return Ok(answer);
    }
    let Some(end) = end else {
        // Nothing can be expanded without end: say where knowledge stops (after imports only,
        // no window is recorded; the present is the most that is claimed).
        answer.periods = periods;
        answer.horizon = Some(providers.window_end.unwrap_or(now));
        return Ok(answer);
    };
    // An attendee's table is expanded with answers as they are (unanswered is free), by
    // `attendee_periods`, the rule of the agent and the cron job.
    let mut opts = settings(store, user, &Overrides::default())
        .await?
        .expand_options(now);
    opts.window_end = end;
    let uids: Vec<Uid> = providers.events.iter().map(|(u, _)| u.clone()).collect();
    let mut fresh = Vec::new();
    let mut replaced = HashSet::new();
    for chunk in uids.chunks(128) {
        let families = match store.load_events(user, chunk).await {
            Ok(f) => f,
            Err(err) => {
                for u in chunk {
                    answer.failed.push((u.clone(), err.message().to_owned()));
                }
                continue;
            }
        };
        for family in &families {
            let expanded = if attendee {
                if !crate::agent::names_attendee(family, expand_as.as_str()) {
                    continue;
                }
                attendee_periods(&expand_as, family, &opts)
            } else {
                expand_family(&expand_as, family, &opts)
            };
            match expanded {
                // At the occurrence cap the earliest are dropped: the range may miss some.
                Ok(exp) if exp.periods.len() >= crate::recurrence::MAX_OCCURRENCES => answer
                    .failed
                    .push((family.uid.clone(), "too many occurrences".to_owned())),
                Ok(exp) => {
                    answer.expanded += 1;
                    replaced.insert(family.uid.clone());
                    fresh.extend(exp.periods.into_iter().filter(|p| p.overlaps(s, end)));
                }
                Err(err) => answer
                    .failed
                    .push((family.uid.clone(), err.message().to_owned())),
            }
        }
    }
    answer.expanded_past = providers.window_end;
    periods.retain(|p| !replaced.contains(&p.uid));
    periods.extend(fresh);
    answer.periods = period::normalise(periods);
    if !answer.failed.is_empty() {
        answer.horizon = Some(providers.window_end.unwrap_or(now).max(s));
    }
    Ok(answer)
}
