//! The data behind [`MemoryStore`](super::MemoryStore) and [`MemoryJournal`](super::MemoryJournal):
//! stored objects and versioned free/busy tables, with the rules the file and PostgreSQL stores
//! follow (STORE.md): a table's version changes on every write that changes it, an absent or
//! empty table is `Version(0)`, a stale `expect` fails as stale and changes nothing, and
//! expired offers are never returned.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::error::{Error, ErrorKind, Result};
use crate::id::{Rid, Uid};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::store::{EventFamily, EventList, EventStatus, Providers, StoredEvent, Version};

/// Takes the lock of the shared data. Every operation does all its work under it, so each is
/// atomic; a poisoned lock (a panic inside an operation, which would be a bug) is reported rather
/// than read, since the data may be half changed.
pub(super) fn lock<'a, T>(data: &'a Mutex<T>, what: &str) -> Result<MutexGuard<'a, T>> {
    data.lock().map_err(|_| {
        Error::new(
            ErrorKind::Backend,
            format!("{what}: an earlier operation panicked while changing the data"),
        )
    })
}

/// Refuses a write on a read-only handle.
pub(super) fn writable(read_only: bool, what: &str, doing: &str) -> Result<()> {
    if read_only {
        return Err(Error::read_only(format!(
            "{what}: {doing} refused: the handle is read-only"
        )));
    }
    Ok(())
}

/// Fails when `expect` is given and differs from `current`.
pub(super) fn check_version(expect: Option<Version>, current: Version, what: &str) -> Result<()> {
    match expect {
        Some(v) if v != current => Err(Error::stale(format!(
            "{what}: changed since it was read (expected {v}, found {current}); nothing was written"
        ))),
        _ => Ok(()),
    }
}

/// A reservation that does not fit (double booking, capacity or quota exceeded). One place, so
/// that a separate error kind for refused bookings changes one line.
pub(super) fn refused(message: String) -> Error {
    Error::busy(message)
}

/// The source of versions: one counter per store, so that a version is never issued twice (a
/// table removed and written again does not get its old version back).
#[derive(Debug, Default, Clone)]
pub(super) struct Versions(u64);

impl Versions {
    pub(super) fn next(&mut self) -> Version {
        self.0 += 1;
        Version(self.0)
    }
}

/// One free/busy or usage table: periods in table order, and the version of the last write.
#[derive(Debug, Default, Clone)]
pub(super) struct TableData {
    pub periods: Vec<Period>,
    pub version: Version,
}

/// Whether an offer's expiry has passed at `now`.
fn expired(p: &Period, now: DateTime<Utc>) -> bool {
    p.expiry.is_some_and(|e| e <= now)
}

/// How a table is read and written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kind {
    /// The offers table: expired periods are never returned, and are dropped on writes.
    pub offers: bool,
}

impl Kind {
    /// The periods a reader sees.
    pub(super) fn visible(self, table: Option<&TableData>, now: DateTime<Utc>) -> Vec<Period> {
        let Some(table) = table else {
            return Vec::new();
        };
        table
            .periods
            .iter()
            .filter(|p| !(self.offers && expired(p, now)))
            .cloned()
            .collect()
    }

    /// The periods overlapping [start, end) that a reader sees.
    pub(super) fn visible_in(
        self,
        table: Option<&TableData>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Period> {
        let Some(table) = table else {
            return Vec::new();
        };
        let longest = period::max_duration(&table.periods);
        period::overlapping(&table.periods, start, end, longest)
            .into_iter()
            .filter(|p| !(self.offers && expired(p, now)))
            .collect()
    }

    /// Applies `change` to the table `key` of `map` after checking `expect`: the table's version
    /// is kept when nothing changed, is `Version(0)` when the table ends empty (it is removed),
    /// and is new otherwise (`always` counts every call as a change, as a whole-table write
    /// does). Returns the version and how many periods were removed.
    // Every caller passes all of these; a parameter struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn change<K: Ord + Clone>(
        self,
        map: &mut BTreeMap<K, TableData>,
        key: &K,
        what: &str,
        versions: &mut Versions,
        expect: Option<Version>,
        always: bool,
        change: impl FnOnce(&mut Vec<Period>),
    ) -> Result<(Version, usize)> {
        let now = Utc::now();
        let (old, current) = match map.get(key) {
            Some(t) => (t.periods.as_slice(), t.version),
            None => (&[][..], Version(0)),
        };
        check_version(expect, current, what)?;
        let mut rows = old.to_vec();
        change(&mut rows);
        if self.offers {
            rows.retain(|p| !expired(p, now));
        }
        let changed = always
            || rows.len() != old.len()
            || rows.iter().zip(old).any(|(a, b)| !a.same_details(b));
        let removed = old.len().saturating_sub(rows.len());
        if !changed {
            return Ok((current, 0));
        }
        if rows.is_empty() {
            map.remove(key);
            return Ok((Version(0), removed));
        }
        let version = versions.next();
        map.insert(
            key.clone(),
            TableData {
                periods: rows,
                version,
            },
        );
        Ok((version, removed))
    }
}

/// The stored objects of one owner (a user, or a quota's reservations): text and status by
/// (uid, rid), `None` being the parent.
#[derive(Debug, Default, Clone)]
pub(super) struct Objects {
    map: BTreeMap<(Uid, Option<Rid>), StoredEvent>,
}

fn describe(what: &str, uid: &Uid, rid: Option<&Rid>) -> String {
    match rid {
        None => format!("{what}, uid {:?}", uid.as_str()),
        Some(rid) => format!("{what}, uid {:?} rid {rid}", uid.as_str()),
    }
}

impl Objects {
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Stores the text as the active copy, replacing any active or cancelled one.
    pub(super) fn put(
        &mut self,
        what: &str,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        EventObject::parse_for_key(text, uid, rid)
            .map_err(|e| e.context(describe(what, uid, rid)))?;
        self.map.insert(
            (uid.clone(), rid.cloned()),
            StoredEvent {
                text: text.to_owned(),
                status: EventStatus::Active,
            },
        );
        Ok(())
    }

    pub(super) fn get(&self, uid: &Uid, rid: Option<&Rid>) -> Option<StoredEvent> {
        self.map.get(&(uid.clone(), rid.cloned())).cloned()
    }

    /// Removes (uid, rid), and for a parent every instance too.
    pub(super) fn remove(&mut self, uid: &Uid, rid: Option<&Rid>) -> bool {
        let before = self.map.len();
        match rid {
            Some(_) => {
                self.map.remove(&(uid.clone(), rid.cloned()));
            }
            None => self.map.retain(|(u, _), _| u != uid),
        }
        self.map.len() != before
    }

    /// Cancels (`cancel`) or uncancels the copy, which must be in the other state.
    pub(super) fn set_status(
        &mut self,
        what: &str,
        uid: &Uid,
        rid: Option<&Rid>,
        cancel: bool,
    ) -> Result<()> {
        let (from, to) = if cancel {
            (EventStatus::Active, EventStatus::Cancelled)
        } else {
            (EventStatus::Cancelled, EventStatus::Active)
        };
        match self.map.get_mut(&(uid.clone(), rid.cloned())) {
            Some(stored) if stored.status == from => {
                stored.status = to;
                Ok(())
            }
            _ => Err(Error::not_found(format!(
                "{}: there is no {} copy to {}",
                describe(what, uid, rid),
                if cancel { "active" } else { "cancelled" },
                if cancel { "cancel" } else { "uncancel" },
            ))),
        }
    }

    /// Every object, by kind, each list sorted.
    pub(super) fn list(&self) -> EventList {
        let mut list = EventList::default();
        for ((uid, rid), stored) in &self.map {
            match (rid, stored.status) {
                (None, EventStatus::Active) => list.active.push(uid.clone()),
                (None, EventStatus::Cancelled) => list.cancelled.push(uid.clone()),
                (Some(r), EventStatus::Active) => {
                    list.active_instances.push((uid.clone(), r.clone()));
                }
                (Some(r), EventStatus::Cancelled) => {
                    list.cancelled_instances.push((uid.clone(), r.clone()));
                }
            }
        }
        list
    }

    fn instance_entries<'a>(
        &'a self,
        uid: &'a Uid,
    ) -> impl Iterator<Item = (&'a Rid, &'a StoredEvent)> + 'a {
        self.map
            .range((uid.clone(), None)..)
            .take_while(move |((u, _), _)| u == uid)
            .filter_map(|((_, rid), stored)| rid.as_ref().map(|r| (r, stored)))
    }

    /// The instances of `uid` with their status, sorted by rid.
    pub(super) fn instances(&self, uid: &Uid) -> Vec<(Rid, EventStatus)> {
        self.instance_entries(uid)
            .map(|(r, s)| (r.clone(), s.status))
            .collect()
    }

    /// The parent and instances of `uid`.
    pub(super) fn family(&self, uid: &Uid) -> EventFamily {
        EventFamily {
            uid: uid.clone(),
            parent: self.get(uid, None),
            instances: self
                .instance_entries(uid)
                .map(|(r, s)| (r.clone(), s.clone()))
                .collect(),
        }
    }
}

/// A providers table with its version (`Version(0)` when absent).
#[derive(Debug, Clone, Default)]
pub(super) struct ProvidersData {
    pub value: Providers,
    pub version: Version,
}

impl ProvidersData {
    /// Replaces the table (an empty one is removed, `Version(0)`), after checking `expect`.
    pub(super) fn set(
        &mut self,
        versions: &mut Versions,
        value: &Providers,
        expect: Option<Version>,
        what: &str,
    ) -> Result<Version> {
        check_version(expect, self.version, what)?;
        let mut value = value.clone();
        value.events.sort();
        value.events.dedup();
        if value.window_end.is_none() && value.events.is_empty() {
            *self = ProvidersData::default();
        } else {
            *self = ProvidersData {
                value,
                version: versions.next(),
            };
        }
        Ok(self.version)
    }
}
