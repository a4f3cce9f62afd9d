//! Keeping a user's own free/busy table in step with the stored objects: the agent's update after
//! one event changed, and the cron job's regeneration (windows and providers, STORE.md).
//!
//! All of it is generic over [`Store`], so both backends produce the same periods.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::error::{Error, ErrorKind, Result};
use crate::id::{PrefName, Rid, Uid, User};
use crate::object::EventObject;
use crate::period::Period;
use crate::recurrence::{self, ExpandOptions, Expansion};
use crate::store::{
    change_providers, Change, EventFamily, EventStatus, Providers, Step, Store, Table,
};

mod audit;
pub mod availability;
mod batch;
mod cron;
mod other;
mod quota;
pub use audit::{audit, Audit, Finding};
pub use batch::{refresh_events, Refreshed};
pub use cron::{cron_users, regenerate_users, CronOptions, CronUsers, UserJob};
pub use other::{attendee_periods, audit as audit_others, OtherFinding};
pub use quota::{regenerate_quota, QuotaOptions, QuotaRegenerated};

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

/// The settings of an import (`import --tz`, `--window-days`), made the user's own so that the
/// cron job computes what the import wrote (issue 13, item 3: what a table holds never depends on
/// which command wrote it last). A `tz` or `window_days` override is recorded as the user's
/// `TZID` or `window_size` preference when the user has none; a `tz` that differs from a stored
/// `TZID` is refused, since the import and the next `make-freebusy` would place floating and
/// all-day events differently. A window that differs from a stored `window_size` is used for this
/// run only: the window decides how far ahead the table is written, never what a query answers
/// ([`crate::query`] expands past it).
///
/// # Errors
///
/// Invalid input, changing nothing, when `tz` differs from the stored `TZID`; as [`settings`];
/// the store's errors writing a preference.
pub async fn import_settings<S: Store>(
    store: &S,
    user: &User,
    overrides: &Overrides,
) -> Result<Settings> {
    let stored_tz = store.preference(user, &pref("TZID")).await?;
    if let (Some(tz), Some(stored)) = (overrides.tz, &stored_tz) {
        let stored_tz =
            parse_tz(stored).map_err(|e| e.context(format!("preference TZID of {user}")))?;
        if stored_tz != tz {
            return Err(Error::invalid(format!(
                "--tz {tz} differs from the TZID preference {stored_tz} of {user}: the import and the cron job would place floating and all-day times differently; change the preference (calstore preferences --user USER TZID ZONE) or leave out --tz"
            )));
        }
    }
    let settings = settings(store, user, overrides).await?;
    if store.is_read_only() {
        return Ok(settings);
    }
    if let (Some(tz), None) = (overrides.tz, &stored_tz) {
        store
            .set_preference(user, &pref("TZID"), Some(tz.name()))
            .await?;
    }
    if let Some(days) = overrides.window_days {
        if store
            .preference(user, &pref("window_size"))
            .await?
            .is_none()
        {
            store
                .set_preference(user, &pref("window_size"), Some(&days.to_string()))
                .await?;
        }
    }
    Ok(settings)
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
    let families = store.load_events(user, std::slice::from_ref(uid)).await?;
    match families.first() {
        Some(family) => expand_family(user, family, opts),
        None => Ok(Expansion {
            periods: Vec::new(),
            unbounded: false,
        }),
    }
}

/// Expands one event as read by [`Store::load_events`].
///
/// # Errors
///
/// Corrupt data when a stored object no longer parses (naming user and uid); invalid input when
/// its rule cannot be expanded.
pub fn expand_family(user: &User, family: &EventFamily, opts: &ExpandOptions) -> Result<Expansion> {
    let uid = &family.uid;
    let corrupt = |rid: Option<&Rid>, e: Error| {
        Error::corrupt(format!(
            "stored object of {user} uid {:?}{} does not parse: {}",
            uid.as_str(),
            rid.map(|r| format!(" rid {r}")).unwrap_or_default(),
            e.message()
        ))
    };
    let parent = match &family.parent {
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
    let mut instances = Vec::with_capacity(family.instances.len());
    for (rid, stored) in &family.instances {
        instances.push((
            EventObject::parse(&stored.text).map_err(|e| corrupt(Some(rid), e))?,
            stored.status,
        ));
    }
    recurrence::expand(user, parent.as_ref(), &instances, opts)
}

/// The agent's update after an event changed: recomputes the event's periods in the user's own
/// `freebusy` table and its place in the providers table, recording the window (see
/// [`record_horizon`]), in one [`Store::apply_step`].
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
    // Periods, mark and horizon in one step: all or none of them across a crash.
    let mut step = Step::default();
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: expansion.periods,
    });
    step.push(Change::MarkProviders {
        marks: vec![(uid.clone(), expansion.unbounded)],
        horizon: Some(opts.window_end),
    });
    store.apply_step(user, &step).await?;
    Ok(count)
}

/// Records in `step` how far its writer expanded the user's events without end: the providers
/// table's window end (the table's horizon, which [`crate::query::freebusy`] trusts) becomes
/// `opts.window_end` when none is recorded or the recorded one is later. A writer with a shorter
/// window thus lowers the horizon, and queries past it expand on demand instead of answering
/// "free" (issue 21, item 3); only the cron job ([`regenerate`]) raises it, since it expands
/// every provider to its window. Every writer of the user's own `freebusy` table that expands
/// events calls this in its step: the import's batches, the agent's steps ([`crate::agent`]).
pub fn record_horizon(step: &mut Step, opts: &ExpandOptions) {
    step.push(Change::MarkProviders {
        marks: Vec::new(),
        horizon: Some(opts.window_end),
    });
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
    /// `freebusy-other` tables (what the user, as organiser, knows of attendees) the run
    /// extended or rebuilt.
    pub others: usize,
}

/// The cron job for one user: extends the window of the events without end by re-expanding only
/// the providers (and the events whose rows disagree with their objects, see [`audit`]), or
/// rebuilds the whole table from every object when `reset` is asked, when there are no
/// providers, or when their recorded window end is later than the new one. The providers table
/// is written with its version, so an entry an import adds meanwhile is kept.
/// With `dry_run`, computes the result and writes nothing.
///
/// # Errors
///
/// The store's errors; a corrupt object is reported in [`Regenerated::skipped`] instead.
///
/// # Examples
///
/// The nightly run for one user, here on the in-memory store: a weekly meeting without end,
/// recorded when its window was 30 days, is extended to the user's 100-day window.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use calstore::memory::MemoryStore;
/// use calstore::refresh::{self, Overrides};
/// use calstore::{agent, PrefName, Store, Table, User};
/// let store = MemoryStore::new();
/// let alice = User::new("mailto:alice@example.com")?;
/// let window = PrefName::new("window_size")?;
/// store.set_preference(&alice, &window, Some("30")).await?;
/// let weekly = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:weekly\r\n\
///     DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY\r\n\
///     END:VEVENT\r\nEND:VCALENDAR\r\n";
/// agent::record_event(&store, &alice, weekly).await?;
/// let before = store.freebusy(&alice, &Table::FreeBusy).await?.value.len();
/// store.set_preference(&alice, &window, Some("100")).await?;
/// let settings = refresh::settings(&store, &alice, &Overrides::default()).await?;
/// let done = refresh::regenerate(&store, &alice, &settings, chrono::Utc::now(), false, false)
///     .await?;
/// assert!(done.skipped.is_empty());
/// let after = store.freebusy(&alice, &Table::FreeBusy).await?.value.len();
/// assert!(after > before, "{before} periods became {after}");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
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
        // A full rebuild needs only the version to detect an agent's write meanwhile; extending
        // the window keeps the rows of every other event, so it reads the table.
        let (version, kept) = if full {
            // Rows of uids with no stored object at all are reservations made with
            // `Store::reserve` (a resource's booking without its event): no object can rebuild
            // them, so a full rebuild keeps them (issue 20: `--reset` and the first run
            // deleted them and their slots were booked again).
            let table = match store.freebusy(user, &Table::FreeBusy).await {
                Ok(t) => t,
                // A damaged table holds nothing to keep: rebuilt from the objects, as before.
                Err(e) if e.kind() == ErrorKind::Corrupt => crate::store::Versioned {
                    value: Vec::new(),
                    version: store.table_version(user, &Table::FreeBusy).await?,
                },
                Err(e) => return Err(e),
            };
            let list = store.list_events(user).await?;
            let stored: std::collections::HashSet<&Uid> = list
                .active
                .iter()
                .chain(&list.cancelled)
                .chain(list.active_instances.iter().map(|(u, _)| u))
                .chain(list.cancelled_instances.iter().map(|(u, _)| u))
                .collect();
            let reserved: Vec<Period> = table
                .value
                .into_iter()
                .filter(|p| !stored.contains(&p.uid))
                .collect();
            (table.version, reserved)
        } else {
            let table = store.freebusy(user, &Table::FreeBusy).await?;
            (table.version, table.value)
        };
        let mut report = Regenerated {
            full,
            ..Regenerated::default()
        };
        let uids = if full {
            all_uids(store, user).await?
        } else {
            // The providers, and the events whose rows disagree with their objects (an import
            // killed before its periods were written, a cancel that did not finish): repaired
            // without `reset` (issue 13, item 8).
            let list = store.list_events(user).await?;
            let gaps = audit::gaps(&list, &kept);
            // Rows of another version of an object than the stored one (issue 21, item 2),
            // compared up to the table's horizon.
            let mut horizon = opts;
            horizon.window_end = providers.value.window_end.unwrap_or(opts.window_end);
            let (stale, _) = audit::stale(store, user, &list, &kept, &horizon).await?;
            let mut uids: BTreeSet<Uid> = providers
                .value
                .events
                .iter()
                .map(|(u, _)| u.clone())
                .collect();
            uids.extend(gaps.without_rows);
            uids.extend(gaps.cancelled_with_rows.into_iter().map(|(u, _)| u));
            uids.extend(stale.into_iter().filter_map(|f| match f {
                audit::Finding::StalePeriods { uid, .. }
                | audit::Finding::MissingPeriods { uid, .. } => Some(uid),
                audit::Finding::CancelledWithPeriods { .. }
                | audit::Finding::StaleAvailability { .. }
                | audit::Finding::Other(_) => None,
            }));
            uids.into_iter().collect()
        };
        let redone: std::collections::HashSet<&Uid> = uids.iter().collect();
        let mut rows: Vec<Period> = kept
            .iter()
            .filter(|p| !redone.contains(&p.uid))
            .cloned()
            .collect();
        let mut unbounded = Vec::new();
        for chunk in uids.chunks(LOAD_CHUNK) {
            for (uid, expanded) in expand_chunk(store, user, chunk, &opts).await? {
                match expanded {
                    Ok(exp) => {
                        report.events += 1;
                        if exp.unbounded {
                            unbounded.push((uid, None));
                        }
                        rows.extend(exp.periods);
                    }
                    Err(e) => {
                        if !full {
                            // Keep what the table had for an event we cannot read now.
                            rows.extend(kept.iter().filter(|p| p.uid == uid).cloned());
                            if providers.value.events.iter().any(|(u, _)| *u == uid) {
                                unbounded.push((uid.clone(), None));
                            }
                        }
                        report.skipped.push((uid, e.message().to_owned()));
                    }
                }
            }
        }
        // The availability's rows are rebuilt on every run, up to the new window.
        let (avail_uids, avail_rows) =
            availability::rows(store, user, opts.window_end, opts.tz).await?;
        let rows = availability::replace(rows, &avail_uids, avail_rows);
        report.periods = rows.len();
        if dry_run {
            report.table = rows;
            return Ok(report);
        }
        // Extending the window of a user whose events all end changes no row. Writing the same
        // table again would cost a durable rewrite each night and bump its version, so that an
        // agent's write based on the version it read would fail for nothing.
        let unchanged = !full
            && rows.len() == kept.len()
            && rows.iter().zip(&kept).all(|(a, b)| a.same_details(b));
        let written = if unchanged {
            version
        } else {
            match store
                .set_freebusy(user, &Table::FreeBusy, rows.clone(), Some(version))
                .await
            {
                // An agent changed the table while we computed: start again from what it wrote.
                Err(e) if e.kind() == ErrorKind::Stale => continue,
                Err(e) => return Err(e),
                Ok(v) => v,
            }
        };
        // The attendees' tables reach the same window end before it is recorded as the
        // horizon, so that the horizon never vouches for rows not yet written.
        report.others = other::regenerate_others(store, user, &uids, full, &opts).await?;
        let decided = Decided {
            window_end: opts.window_end,
            read_end: providers.value.window_end,
            expanded: uids.iter().cloned().collect(),
            unbounded,
            stale: if full {
                providers
                    .value
                    .events
                    .iter()
                    .map(|(u, _)| u.clone())
                    .collect()
            } else {
                BTreeSet::new()
            },
        };
        update_providers(store, user, &decided, written).await?;
        purge_offers(store, user).await?;
        report.table = rows;
        return Ok(report);
    }
}

/// What one run of [`regenerate`] decided about the providers table.
struct Decided {
    window_end: DateTime<Utc>,
    /// The window end the run read: another writer that lowered it meanwhile expanded its
    /// events only that far, so the lower end is kept.
    read_end: Option<DateTime<Utc>>,
    /// The uids the run expanded: their entries are the run's to decide.
    expanded: BTreeSet<Uid>,
    /// The entries the run found without end.
    unbounded: Vec<(Uid, Option<Rid>)>,
    /// Entries of the table the run started from that a full rebuild found no object for:
    /// dropped. Entries another writer added during the run are kept.
    stale: BTreeSet<Uid>,
}

impl Decided {
    /// The table after the run, from what it holds `now` (an import may have marked events
    /// meanwhile: those entries are kept).
    fn apply(&self, now: &Providers) -> (Providers, Vec<(Uid, Option<Rid>)>) {
        let (mut events, removed): (Vec<_>, Vec<_>) = now
            .events
            .iter()
            .cloned()
            .partition(|(u, _)| !self.expanded.contains(u) && !self.stale.contains(u));
        events.extend(self.unbounded.iter().cloned());
        events.sort();
        events.dedup();
        let removed = removed
            .into_iter()
            .filter(|e| !events.contains(e))
            .collect();
        (
            Providers {
                window_end: Some(match now.window_end {
                    Some(lowered) if now.window_end != self.read_end => {
                        lowered.min(self.window_end)
                    }
                    _ => self.window_end,
                }),
                events,
            },
            removed,
        )
    }
}

/// Writes the run's providers decision with a versioned read-modify-write (retried on
/// conflict), so that an entry an import marked meanwhile is never overwritten (issue 13, item
/// 2). An entry the run removed is put back when the `freebusy` table changed after the run's
/// own write (`written`): the writer of that change may have marked the entry before our write
/// landed, and a provider too many costs one needless expansion next night, a provider lost
/// stops an event from being extended.
async fn update_providers<S: Store>(
    store: &S,
    user: &User,
    decided: &Decided,
    written: crate::store::Version,
) -> Result<()> {
    let removed = loop {
        let current = store.providers(user).await?;
        let (next, removed) = decided.apply(&current.value);
        if next == current.value {
            break removed;
        }
        match store
            .set_providers(user, &next, Some(current.version))
            .await
        {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            Err(e) => return Err(e),
            Ok(_) => break removed,
        }
    };
    if removed.is_empty() || store.table_version(user, &Table::FreeBusy).await? == written {
        return Ok(());
    }
    change_providers(store, user, |p| {
        let mut next = p.clone();
        next.events.extend(removed.iter().cloned());
        next.events.sort();
        next.events.dedup();
        next
    })
    .await?;
    Ok(())
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

/// How many events [`regenerate`] reads with one [`Store::load_events`] call: few round trips,
/// and memory bounded by the chunk rather than by the user's collection.
const LOAD_CHUNK: usize = 128;

type Expanded = (Uid, std::result::Result<Expansion, Error>);

/// Reads and expands a chunk of events. An object that does not parse or expand is reported
/// with its uid; when the bulk read itself finds corrupt data, each uid is read on its own so
/// that only the damaged event is skipped.
async fn expand_chunk<S: Store>(
    store: &S,
    user: &User,
    uids: &[Uid],
    opts: &ExpandOptions,
) -> Result<Vec<Expanded>> {
    let skippable =
        |e: &Error| e.kind() == ErrorKind::Corrupt || e.kind() == ErrorKind::InvalidInput;
    let mut out: Vec<Expanded> = match store.load_events(user, uids).await {
        Ok(families) => families
            .iter()
            .map(|f| (f.uid.clone(), expand_family(user, f, opts)))
            .collect(),
        Err(e) if skippable(&e) => {
            let mut out = Vec::with_capacity(uids.len());
            for uid in uids {
                out.push((uid.clone(), expand_stored(store, user, uid, opts).await));
            }
            out
        }
        Err(e) => return Err(e),
    };
    // Anything but bad data (the store failing meanwhile) fails the user, as before.
    if let Some(i) = out
        .iter()
        .position(|(_, r)| r.as_ref().is_err_and(|e| !skippable(e)))
    {
        if let (_, Err(e)) = out.swap_remove(i) {
            return Err(e);
        }
    }
    Ok(out)
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
        Err(e) if e.kind() == ErrorKind::Stale => Ok(()),
        other => other.map(|_| ()),
    }
}
