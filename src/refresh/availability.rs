//! A user's availability (the `availability` preference, VAVAILABILITY) as rows of the user's
//! own `freebusy` table: BUSY-UNAVAILABLE outside the available times, one uid per
//! VAVAILABILITY, up to the table's horizon. Written wherever the table is (re)built — the cron
//! job ([`super::regenerate`]), `set_availability` — and compared by the audit, so that the
//! table always equals the rebuild from objects, reservations and availability.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::{ErrorKind, Result};
use crate::id::{PrefName, Uid, User};
use crate::object::availability::{self, Availability};
use crate::period::{self, Period};
use crate::store::{Change, Step, Store, Table};

/// The preference that holds a user's VAVAILABILITY (the calendar text).
pub const PREFERENCE: &str = "availability";

/// The user's availabilities, read from the preference (none when it is unset).
///
/// # Errors
///
/// Invalid input naming the preference when it cannot be read; the store's errors.
pub async fn load<S: Store>(store: &S, user: &User) -> Result<Vec<Availability>> {
    let name = PrefName::new(PREFERENCE)?;
    match store.preference(user, &name).await? {
        None => Ok(Vec::new()),
        Some(text) => availability::parse(&text)
            .map_err(|e| e.context(format!("preference {PREFERENCE} of {user}"))),
    }
}

/// The uids the availabilities' rows carry.
pub fn uids(availabilities: &[Availability]) -> BTreeSet<Uid> {
    availabilities
        .iter()
        .filter_map(|a| Uid::new(a.uid()).ok())
        .collect()
}

/// The availability rows of `user` up to `until` with the zone `tz`, and their uids.
///
/// # Errors
///
/// As [`load`] and [`availability::rows`] (with the preference named).
pub async fn rows<S: Store>(
    store: &S,
    user: &User,
    until: DateTime<Utc>,
    tz: Tz,
) -> Result<(BTreeSet<Uid>, Vec<Period>)> {
    let all = load(store, user).await?;
    let rows = availability::rows(user, &all, until, tz)
        .map_err(|e| e.context(format!("preference {PREFERENCE} of {user}")))?;
    Ok((uids(&all), rows))
}

/// `rows` with the rows of `remove` (old and new availability uids) replaced by `add`, in table
/// order.
pub fn replace(rows: Vec<Period>, remove: &BTreeSet<Uid>, add: Vec<Period>) -> Vec<Period> {
    let mut out: Vec<Period> = rows
        .into_iter()
        .filter(|p| !remove.contains(&p.uid))
        .collect();
    out.extend(add);
    period::normalise(out)
}

/// Stores `text` as `user`'s availability (`None` removes it) and rewrites its rows in the
/// user's `freebusy` table up to the recorded horizon (the providers' window end; without one,
/// the user's window from now): the rows of the previous availability go, the new ones come.
/// The preference and the rows are one step: a process stopped at any moment leaves both or
/// neither.
///
/// # Errors
///
/// Invalid input, storing nothing, when the text holds no VAVAILABILITY or one cannot be read
/// (or its UID is no valid uid); the store's errors.
pub async fn set<S: Store>(
    store: &S,
    user: &User,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let new = match text {
        Some(t) => {
            let parsed = availability::parse(t)?;
            for a in &parsed {
                Uid::new(a.uid())?;
            }
            parsed
        }
        None => Vec::new(),
    };
    // The old rows are found by the old preference's uids; an unreadable old value has none.
    let old = load(store, user).await.unwrap_or_default();
    let name = PrefName::new(PREFERENCE)?;
    // Stored without its last line break, which the file store refuses at a value's end.
    let value = text.map(|t| t.trim_end_matches(['\r', '\n']).to_owned());
    let settings = super::settings(store, user, &super::Overrides::default()).await?;
    let until = match store.providers(user).await?.value.window_end {
        Some(end) => end,
        None => settings.expand_options(now).window_end,
    };
    let add = availability::rows(user, &new, until, settings.tz)?;
    let mut remove = uids(&old);
    remove.extend(uids(&new));
    // The preference and its rows in one step, so that the table never disagrees with the
    // stored availability; guarded by the table's version (an agent wrote it meanwhile: the
    // change is applied again to what it wrote).
    loop {
        let table = store.freebusy(user, &Table::FreeBusy).await?;
        let mut step = Step::default();
        step.push(Change::Expect {
            table: Table::FreeBusy,
            version: table.version,
        });
        step.push(Change::SetPreference {
            name: name.clone(),
            value: value.clone(),
        });
        if !add.is_empty() || table.value.iter().any(|p| remove.contains(&p.uid)) {
            step.push(Change::SetFreeBusy {
                table: Table::FreeBusy,
                periods: replace(table.value, &remove, add.clone()),
            });
        }
        match store.apply_step(user, &step).await {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            Err(e) => return Err(e),
            Ok(_) => return Ok(()),
        }
    }
}

/// Whether an availability's stored rows `got` are not what the preference gives (`want`,
/// computed up to `horizon`). Both are compared up to the shorter of the two reaches (the end of
/// the last stored row, or `horizon`): rows are cut where their writer's window ended, and one
/// written with a longer or shorter window than the audit's agrees with it before that.
pub(super) fn differs(want: &[Period], got: &[&Period], horizon: DateTime<Utc>) -> bool {
    let cut = got
        .iter()
        .map(|p| p.end)
        .max()
        .map_or(horizon, |e| e.min(horizon));
    let clip = |p: &Period| -> Option<Period> {
        (p.start < cut).then(|| {
            let mut p = p.clone();
            p.end = p.end.min(cut);
            p
        })
    };
    let want: Vec<Period> = want.iter().filter_map(clip).collect();
    let got: Vec<Period> = got.iter().copied().filter_map(clip).collect();
    want.len() != got.len() || want.iter().zip(&got).any(|(a, b)| !a.same_details(b))
}
