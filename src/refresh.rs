//! Keeping a user's own free/busy table in step with the stored objects: the agent's update after
//! one event changed, and the cron job's regeneration (windows and providers, STORE.md).
//!
//! All of it is generic over [`Store`], so both backends produce the same periods.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::error::{Error, ErrorKind, Result};
use crate::id::{PrefName, Rid, Uid, User};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::recurrence::{self, ExpandOptions, Expansion};
use crate::store::{EventStatus, Providers, Store, Table};

/// The default window for rules without end, in days.
pub const DEFAULT_WINDOW_DAYS: u32 = 100;

/// The settings that shape one user's free/busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The user's time zone, for floating and all-day times.
    pub tz: Tz,
    /// The window for rules without end, in days.
    pub window_days: u32,
    /// Whether events awaiting the user's answer (NEEDS-ACTION) count as busy.
    pub needs_action: bool,
}

/// Overrides for one run (`import --tz`, `--window-days`, `--needs-action`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Replaces the user's `TZID`.
    pub tz: Option<Tz>,
    /// Replaces the user's `window_size`.
    pub window_days: Option<u32>,
    /// Counts NEEDS-ACTION events.
    pub needs_action: bool,
}

/// Parses a `TZID` preference value.
///
/// # Errors
///
/// Invalid input when the name is not a known IANA zone.
pub fn parse_tz(value: &str) -> Result<Tz> {
    value.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "{value:?} is not a known time zone (IANA name such as Europe/Oslo)"
        ))
    })
}

/// Parses a `window_size` preference value (a positive number of days).
///
/// # Errors
///
/// Invalid input when the value is not a positive whole number of at most 36,500.
pub fn parse_window_days(value: &str) -> Result<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=36_500).contains(&n) => Ok(n),
        _ => Err(Error::invalid(format!(
            "window size {value:?} is not a positive number of days (1 to 36500)"
        ))),
    }
}

/// Reads the user's settings from the preferences, with the run's overrides applied.
///
/// # Errors
///
/// Invalid input when a stored `TZID` or `window_size` does not parse (naming the user); the
/// store's errors.
pub async fn settings<S: Store>(store: &S, user: &User, overrides: &Overrides) -> Result<Settings> {
    let tz = match overrides.tz {
        Some(tz) => tz,
        None => match store.preference(user, &pref("TZID")).await? {
            Some(v) => parse_tz(&v).map_err(|e| e.context(format!("preference TZID of {user}")))?,
            None => Tz::UTC,
        },
    };
    let window_days = match overrides.window_days {
        Some(n) => n,
        None => match store.preference(user, &pref("window_size")).await? {
            Some(v) => parse_window_days(&v)
                .map_err(|e| e.context(format!("preference window_size of {user}")))?,
            None => DEFAULT_WINDOW_DAYS,
        },
    };
    Ok(Settings {
        tz,
        window_days,
        needs_action: overrides.needs_action,
    })
}

fn pref(name: &str) -> PrefName {
    // The two names are constants and valid keys.
    PrefName::new(name).unwrap_or_else(|_| unreachable!("constant preference name"))
}

impl Settings {
    /// The expansion options for a window ending `window_days` after `now`.
    pub fn expand_options(&self, now: DateTime<Utc>) -> ExpandOptions {
        ExpandOptions {
            tz: self.tz,
            window_end: now + Duration::days(i64::from(self.window_days)),
            needs_action: self.needs_action,
        }
    }
}

/// Expands one stored event (its parent, if any, and its separately stored instances) for `user`.
///
/// # Errors
///
/// Corrupt data when a stored object no longer parses (naming user and uid); the store's errors.
pub async fn expand_stored<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    opts: &ExpandOptions,
) -> Result<Expansion> {
    let corrupt = |rid: Option<&Rid>, e: Error| {
        Error::corrupt(format!(
            "stored object of {user} uid {:?}{} does not parse: {}",
            uid.as_str(),
            rid.map(|r| format!(" rid {r}")).unwrap_or_default(),
            e.message()
        ))
    };
    let parent = match store.get_event(user, uid, None).await? {
        Some(stored) if stored.status == EventStatus::Active => {
            Some(EventObject::parse(&stored.text).map_err(|e| corrupt(None, e))?)
        }
        // A cancelled parent contributes nothing, and neither do its instances.
        Some(_) => {
            return Ok(Expansion {
                periods: Vec::new(),
                unbounded: false,
            })
        }
        None => None,
    };
    let mut instances = Vec::new();
    for (rid, status) in store.instances(user, uid).await? {
        if let Some(stored) = store.get_event(user, uid, Some(&rid)).await? {
            instances.push((
                EventObject::parse(&stored.text).map_err(|e| corrupt(Some(&rid), e))?,
                status,
            ));
        }
    }
    recurrence::expand(user, parent.as_ref(), &instances, opts)
}

/// The agent's update after an event changed: recomputes the event's periods in the user's own
/// `freebusy` table (one atomic replacement for the uid) and its place in the providers table.
/// Returns the number of periods written.
///
/// # Errors
///
/// As [`expand_stored`], and the store's write errors.
pub async fn refresh_event<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    opts: &ExpandOptions,
) -> Result<usize> {
    let expansion = expand_stored(store, user, uid, opts).await?;
    let count = expansion.periods.len();
    store
        .replace_uid_periods(user, &Table::FreeBusy, uid, expansion.periods)
        .await?;
    set_provider(store, user, uid, expansion.unbounded, None).await?;
    Ok(count)
}

/// Adds or removes `uid` in the providers table (and sets the window end when given), with a
/// versioned write retried on conflict; writes nothing when nothing changes.
async fn set_provider<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    present: bool,
    window_end: Option<DateTime<Utc>>,
) -> Result<()> {
    loop {
        let current = store.providers(user).await?;
        let mut next = current.value.clone();
        next.events.retain(|(u, _)| u != uid);
        if present {
            next.events.push((uid.clone(), None));
            next.events.sort();
            if next.window_end.is_none() {
                next.window_end = window_end;
            }
        }
        if next == current.value {
            return Ok(());
        }
        match store
            .set_providers(user, &next, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Conflict => continue,
            other => return other.map(|_| ()),
        }
    }
}

/// How [`regenerate`] went for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regenerated {
    /// Whether every object was expanded (rather than only the providers).
    pub full: bool,
    /// Events expanded.
    pub events: usize,
    /// Periods written.
    pub periods: usize,
    /// Objects that could not be expanded: (uid, reason). They are left out, never half-written.
    pub skipped: Vec<(Uid, String)>,
    /// The periods of the table after the run (for `--dry-run` and `--publish`).
    pub table: Vec<Period>,
}

/// The cron job for one user: extends the window of the events without end by re-expanding only
/// the providers, or rebuilds the whole table from every object when `reset` is asked, when there
/// are no providers, or when their recorded window end is later than the new one.
/// With `dry_run`, computes the result and writes nothing.
///
/// # Errors
///
/// The store's errors; a corrupt object is reported in [`Regenerated::skipped`] instead.
pub async fn regenerate<S: Store>(
    store: &S,
    user: &User,
    settings: &Settings,
    now: DateTime<Utc>,
    reset: bool,
    dry_run: bool,
) -> Result<Regenerated> {
    let opts = settings.expand_options(now);
    let providers = store.providers(user).await?;
    let full = reset
        || providers.value.window_end.is_none()
        || providers
            .value
            .window_end
            .is_some_and(|end| end > opts.window_end);
    loop {
        let table = store.freebusy(user, &Table::FreeBusy).await?;
        let mut report = Regenerated {
            full,
            ..Regenerated::default()
        };
        let (uids, mut rows) = if full {
            (all_uids(store, user).await?, Vec::new())
        } else {
            let uids: Vec<Uid> = providers
                .value
                .events
                .iter()
                .map(|(u, _)| u.clone())
                .collect();
            let mut rows = table.value.clone();
            rows.retain(|p| !uids.contains(&p.uid));
            (uids, rows)
        };
        let mut unbounded = Vec::new();
        for uid in uids {
            match expand_stored(store, user, &uid, &opts).await {
                Ok(exp) => {
                    report.events += 1;
                    if exp.unbounded {
                        unbounded.push((uid, None));
                    }
                    rows.extend(exp.periods);
                }
                Err(e) if e.kind() == ErrorKind::Corrupt || e.kind() == ErrorKind::InvalidInput => {
                    if !full {
                        // Keep what the table had for an event we cannot read now.
                        rows.extend(table.value.iter().filter(|p| p.uid == uid).cloned());
                        unbounded.push((uid.clone(), None));
                    }
                    report.skipped.push((uid, e.message().to_owned()));
                }
                Err(e) => return Err(e),
            }
        }
        let rows = period::normalise(rows);
        report.periods = rows.len();
        if dry_run {
            report.table = rows;
            return Ok(report);
        }
        let next = Providers {
            window_end: Some(opts.window_end),
            events: unbounded,
        };
        match store
            .set_freebusy(user, &Table::FreeBusy, rows.clone(), Some(table.version))
            .await
        {
            // An agent changed the table while we computed: start again from what it wrote.
            Err(e) if e.kind() == ErrorKind::Conflict => continue,
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        store
            .set_providers(
                user,
                &merge_providers(next, &store.providers(user).await?.value, full),
                None,
            )
            .await?;
        purge_offers(store, user).await?;
        report.table = rows;
        return Ok(report);
    }
}

/// Keeps providers an agent added meanwhile (events imported during the run) when only the
/// providers were re-expanded.
fn merge_providers(mut next: Providers, current: &Providers, full: bool) -> Providers {
    if !full {
        for e in &current.events {
            if !next.events.contains(e) {
                next.events.push(e.clone());
            }
        }
    }
    next.events.sort();
    next.events.dedup();
    next
}

/// Every uid with an active parent or an active instance.
async fn all_uids<S: Store>(store: &S, user: &User) -> Result<Vec<Uid>> {
    let list = store.list_events(user).await?;
    let mut uids: Vec<Uid> = list.active;
    uids.extend(list.active_instances.into_iter().map(|(u, _)| u));
    uids.sort();
    uids.dedup();
    Ok(uids)
}

/// Drops expired holds from `freebusy-offers`: reading never returns them, and writing back what
/// was read (with its version, so a concurrent offer is not lost) removes them from storage.
async fn purge_offers<S: Store>(store: &S, user: &User) -> Result<()> {
    let offers = store.freebusy(user, &Table::Offers).await?;
    if offers.version == crate::store::Version(0) {
        return Ok(());
    }
    match store
        .set_freebusy(user, &Table::Offers, offers.value, Some(offers.version))
        .await
    {
        // Someone wrote the table meanwhile, and that write purged it.
        Err(e) if e.kind() == ErrorKind::Conflict => Ok(()),
        other => other.map(|_| ()),
    }
}
