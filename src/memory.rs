//! [`MemoryStore`] and [`MemoryJournal`]: a complete [`Store`] and [`Journal`](crate::Journal) held in memory,
//! for the unit tests of code built on calstore (an iMIP agent's own steps, say).
//!
//! They behave as the file and PostgreSQL stores do — the same conformance suite
//! (`calstore::conformance`, feature `conformance`) runs on all three: events are checked
//! against their key and kept byte for byte, every method is atomic (one lock over the whole
//! store), tables carry versions and a write with a stale one fails as stale and changes
//! nothing, `reserve` never double-books, expired offers are never returned, and a read-only
//! handle ([`MemoryStore::read_only`]) refuses every write. Nothing is persisted: the data lives
//! as long as one of the handles sharing it.
//!
//! ```
//! use calstore::memory::MemoryStore;
//! use calstore::{Period, Store, Table, Uid, User};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> calstore::Result<()> {
//! let store = MemoryStore::new();
//! let alice = User::new("mailto:alice@example.com")?;
//! let uid = Uid::new("standup")?;
//! let start = calstore::period::parse_instant("20260105T090000Z")?;
//! let end = calstore::period::parse_instant("20260105T091500Z")?;
//! let read = store.freebusy(&alice, &Table::FreeBusy).await?;
//! let busy = vec![Period::new(start, end, uid.clone(), None)?];
//! store
//!     .replace_event_periods(&alice, &Table::FreeBusy, &uid, None, busy, Some(read.version))
//!     .await?;
//! assert_eq!(store.freebusy(&alice, &Table::FreeBusy).await?.value.len(), 1);
//!
//! // A write based on the version read before that change is refused and changes nothing.
//! let stale = store.set_freebusy(&alice, &Table::FreeBusy, vec![], Some(read.version)).await;
//! assert_eq!(stale.unwrap_err().kind(), calstore::ErrorKind::Stale);
//!
//! // A read-only handle on the same data reads it and refuses writes.
//! let reader = store.read_only();
//! assert_eq!(reader.freebusy(&alice, &Table::FreeBusy).await?.value.len(), 1);
//! let refused = reader.set_freebusy(&alice, &Table::FreeBusy, vec![], None).await;
//! assert_eq!(refused.unwrap_err().kind(), calstore::ErrorKind::ReadOnly);
//! # Ok(())
//! # }
//! ```
#![allow(clippy::significant_drop_tightening)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::id::{Other, PrefName, Rid, Uid, User};
use crate::object::EventObject;
use crate::period::{self, Period};
use crate::store::{
    EventFamily, EventList, EventStatus, Providers, QueueKind, Request, Store, StoredEvent, Table,
    Version, Versioned,
};

mod journal;
mod state;

pub use journal::MemoryJournal;
use state::{check_version, lock, refused, writable, Kind, Objects, ProvidersData, TableData};

const WHAT: &str = "memory store";

/// A [`Store`] in memory: see the [module documentation](self).
///
/// Cheap to clone; clones share the data (and the read-only flag). `Send` and `Sync`.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<StoreData>>,
    read_only: bool,
}

#[derive(Debug, Default)]
struct StoreData {
    users: BTreeMap<User, UserData>,
    versions: state::Versions,
}

#[derive(Debug, Default)]
struct UserData {
    objects: Objects,
    requests: Vec<Request>,
    counters: BTreeMap<(Uid, Option<Rid>, Other), String>,
    tables: BTreeMap<Table, TableData>,
    providers: ProvidersData,
    preferences: BTreeMap<PrefName, String>,
}

impl UserData {
    fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.requests.is_empty()
            && self.counters.is_empty()
            && self.tables.is_empty()
            && self.providers.version == Version(0)
            && self.preferences.is_empty()
    }
}

fn kind_of(table: &Table) -> Kind {
    Kind {
        offers: *table == Table::Offers,
    }
}

fn what_table(user: &User, table: &Table) -> String {
    format!("{WHAT}, user {user}, table {table}")
}

impl MemoryStore {
    /// A new, empty, writable store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the same data that refuses every write with
    /// [`ErrorKind::ReadOnly`](crate::ErrorKind::ReadOnly), as a store opened read-only does.
    #[must_use]
    pub fn read_only(&self) -> Self {
        MemoryStore {
            data: Arc::clone(&self.data),
            read_only: true,
        }
    }

    /// Everything stored (objects, queues, proposals, tables with their versions, providers,
    /// preferences), as text: two snapshots are equal exactly when nothing changed in between,
    /// which is what a test of "a refused step writes nothing" compares.
    ///
    /// # Errors
    ///
    /// Backend error when an earlier operation panicked while holding the data.
    pub fn snapshot(&self) -> Result<String> {
        Ok(format!("{:#?}", *lock(&self.data, WHAT)?))
    }

    /// Runs `read` on the user's data (empty when the user has none), under the lock.
    fn read<T>(&self, user: &User, read: impl FnOnce(&UserData) -> T) -> Result<T> {
        let data = lock(&self.data, WHAT)?;
        Ok(match data.users.get(user) {
            Some(u) => read(u),
            None => read(&UserData::default()),
        })
    }

    /// Runs `write` on the user's data and the version counter, under the lock, after refusing a
    /// read-only handle; a user left with nothing is dropped (no longer listed).
    fn write<T>(
        &self,
        user: &User,
        doing: &str,
        write: impl FnOnce(&mut UserData, &mut state::Versions) -> Result<T>,
    ) -> Result<T> {
        writable(self.read_only, &format!("{WHAT}, user {user}"), doing)?;
        let mut data = lock(&self.data, WHAT)?;
        let StoreData { users, versions } = &mut *data;
        let entry = users.entry(user.clone()).or_default();
        let result = write(entry, versions);
        if entry.is_empty() {
            users.remove(user);
        }
        result
    }

    /// A change of one free/busy table (see [`Kind::change`]).
    fn change_table(
        &self,
        user: &User,
        table: &Table,
        doing: &str,
        expect: Option<Version>,
        always: bool,
        change: impl FnOnce(&mut Vec<Period>),
    ) -> Result<(Version, usize)> {
        let what = what_table(user, table);
        self.write(user, doing, |u, versions| {
            kind_of(table).change(
                &mut u.tables,
                table,
                &what,
                versions,
                expect,
                always,
                change,
            )
        })
    }
}

impl Store for MemoryStore {
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    async fn users(&self) -> Result<Vec<User>> {
        Ok(lock(&self.data, WHAT)?.users.keys().cloned().collect())
    }

    async fn put_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        let what = format!("{WHAT}, user {user}");
        self.write(user, "storing an event", |u, _| {
            u.objects.put(&what, uid, rid, text)
        })
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        self.read(user, |u| u.objects.get(uid, rid))
    }

    async fn remove_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.write(user, "removing an event", |u, _| {
            Ok(u.objects.remove(uid, rid))
        })
    }

    async fn cancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let what = format!("{WHAT}, user {user}");
        self.write(user, "cancelling an event", |u, _| {
            u.objects.set_status(&what, uid, rid, true)
        })
    }

    async fn uncancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        let what = format!("{WHAT}, user {user}");
        self.write(user, "uncancelling an event", |u, _| {
            u.objects.set_status(&what, uid, rid, false)
        })
    }

    async fn list_events(&self, user: &User) -> Result<EventList> {
        self.read(user, |u| u.objects.list())
    }

    async fn instances(&self, user: &User, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        self.read(user, |u| u.objects.instances(uid))
    }

    async fn load_events(&self, user: &User, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        self.read(user, |u| {
            uids.iter().map(|id| u.objects.family(id)).collect()
        })
    }

    async fn requests(&self, user: &User) -> Result<Vec<Request>> {
        self.read(user, |u| u.requests.clone())
    }

    async fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        self.write(user, "queueing a request", |u, _| {
            Ok(queue(u, uid, rid, method))
        })
    }

    async fn dequeue_request(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.write(user, "dequeueing a request", |u, _| {
            let before = u.requests.len();
            u.requests
                .retain(|r| !(&r.uid == uid && r.rid.as_ref() == rid));
            Ok(u.requests.len() != before)
        })
    }

    async fn set_requests(&self, user: &User, requests: &[Request]) -> Result<()> {
        self.write(user, "replacing the request queue", |u, _| {
            let mut seen = HashSet::new();
            u.requests = requests
                .iter()
                .filter(|r| seen.insert(*r))
                .cloned()
                .collect();
            Ok(())
        })
    }

    async fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        self.write(user, "storing a counter-proposal", |u, _| {
            EventObject::parse_for_key(text, uid, rid).map_err(|e| {
                e.context(format!(
                    "{WHAT}, user {user}, counter-proposal for uid {:?} from {other}",
                    uid.as_str()
                ))
            })?;
            u.counters
                .insert((uid.clone(), rid.cloned(), other.clone()), text.to_owned());
            Ok(())
        })
    }

    async fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        self.read(user, |u| {
            u.counters
                .get(&(uid.clone(), rid.cloned(), other.clone()))
                .cloned()
        })
    }

    async fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        self.read(user, |u| {
            u.counters
                .keys()
                .filter(|(id, r, _)| id == uid && r.as_ref() == rid)
                .map(|(_, _, o)| o.clone())
                .collect()
        })
    }

    async fn counter_rids(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        self.read(user, |u| {
            let mut rids: Vec<Rid> = u
                .counters
                .keys()
                .filter(|(id, _, _)| id == uid)
                .filter_map(|(_, r, _)| r.clone())
                .collect();
            rids.dedup();
            rids
        })
    }

    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        self.read(user, |u| u.counters.keys().cloned().collect())
    }

    async fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        self.write(user, "removing a counter-proposal", |u, _| {
            Ok(u.counters
                .remove(&(uid.clone(), rid.cloned(), other.clone()))
                .is_some())
        })
    }

    async fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        self.write(user, "removing counter-proposals", |u, _| {
            let before = u.counters.len();
            u.counters.retain(|(id, r, o), _| {
                let event = id == uid && (rid.is_none() || r.as_ref() == rid);
                !(event && only.is_none_or(|only| only == o))
            });
            Ok(before - u.counters.len())
        })
    }

    async fn freebusy(&self, user: &User, table: &Table) -> Result<Versioned<Vec<Period>>> {
        let now = Utc::now();
        self.read(user, |u| {
            let t = u.tables.get(table);
            Versioned {
                value: kind_of(table).visible(t, now),
                version: t.map_or(Version(0), |t| t.version),
            }
        })
    }

    async fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        let now = Utc::now();
        self.read(user, |u| {
            let t = u.tables.get(table);
            Versioned {
                value: kind_of(table).visible_in(t, start, end, now),
                version: t.map_or(Version(0), |t| t.version),
            }
        })
    }

    async fn table_version(&self, user: &User, table: &Table) -> Result<Version> {
        self.read(user, |u| {
            u.tables.get(table).map_or(Version(0), |t| t.version)
        })
    }

    async fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        writable(
            self.read_only,
            &what_table(user, table),
            "replacing the table",
        )?;
        for p in &periods {
            p.validate()
                .map_err(|e| e.context(what_table(user, table)))?;
        }
        let periods = period::normalise(periods);
        let always = !periods.is_empty();
        self.change_table(user, table, "replacing the table", expect, always, |rows| {
            *rows = periods;
        })
        .map(|(v, _)| v)
    }

    async fn replace_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        writable(
            self.read_only,
            &what_table(user, table),
            "replacing an event's periods",
        )?;
        period::check_event(uid, rid, &periods).map_err(|e| e.context(what_table(user, table)))?;
        self.change_table(
            user,
            table,
            "replacing an event's periods",
            expect,
            false,
            |rows| {
                period::remove_event(rows, uid, rid);
                period::merge(rows, periods);
            },
        )
        .map(|(v, _)| v)
    }

    async fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> Result<Version> {
        let doing = "replacing the periods of events";
        writable(self.read_only, &what_table(user, table), doing)?;
        period::check_uids(uids, &periods).map_err(|e| e.context(what_table(user, table)))?;
        let uids: HashSet<&Uid> = uids.iter().collect();
        self.change_table(user, table, doing, None, false, |rows| {
            rows.retain(|p| !uids.contains(&p.uid));
            period::merge(rows, periods);
        })
        .map(|(v, _)| v)
    }

    async fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.change_table(
            user,
            table,
            "removing an event's periods",
            expect,
            false,
            |rows| {
                period::remove_event(rows, uid, rid);
            },
        )
        .map(|(v, _)| v)
    }

    async fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        self.change_table(
            user,
            table,
            "removing instance periods",
            expect,
            false,
            |rows| {
                period::remove_additional(rows, uid, keep);
            },
        )
        .map(|(v, _)| v)
    }

    async fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let doing = "removing a rule-generated period";
        self.change_table(user, table, doing, expect, false, |rows| {
            period::remove_affected(rows, uid, start);
        })
        .map(|(v, _)| v)
    }

    async fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = what_table(user, table);
        writable(self.read_only, &what, "reserving")?;
        let Some(first) = periods.first() else {
            // Without periods there is no event to reserve: nothing changes.
            let current = self.table_version(user, table).await?;
            check_version(expect, current, &what)?;
            return Ok(current);
        };
        let (uid, rid) = (first.uid.clone(), first.rid.clone());
        period::check_event(&uid, rid.as_ref(), &periods).map_err(|e| e.context(&what))?;
        let now = Utc::now();
        self.write(user, "reserving", |u, versions| {
            let kind = kind_of(table);
            let current = u.tables.get(table);
            check_version(expect, current.map_or(Version(0), |t| t.version), &what)?;
            let offending =
                period::capacity_conflicts(&kind.visible(current, now), &periods, capacity);
            if !offending.is_empty() {
                return Err(refused(format!(
                    "{what}: uid {:?} cannot be reserved: with capacity {} it would overlap {}; nothing was written",
                    uid.as_str(),
                    capacity.max(1),
                    offending.iter().take(3).map(ToString::to_string).collect::<Vec<_>>().join(", ")
                )));
            }
            kind.change(&mut u.tables, table, &what, versions, expect, false, |rows| {
                period::remove_event(rows, &uid, rid.as_ref());
                period::merge(rows, periods);
            })
            .map(|(v, _)| v)
        })
    }

    async fn others(&self, user: &User) -> Result<Vec<Other>> {
        self.read(user, |u| {
            u.tables
                .keys()
                .filter_map(|t| match t {
                    Table::Other(o) => Some(o.clone()),
                    _ => None,
                })
                .collect()
        })
    }

    async fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        self.read(user, |u| Versioned {
            value: u.providers.value.clone(),
            version: u.providers.version,
        })
    }

    async fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = format!("{WHAT}, user {user}, table freebusy-providers");
        self.write(user, "replacing the providers", |u, versions| {
            u.providers.set(versions, providers, expect, &what)
        })
    }

    async fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        let what = format!("{WHAT}, user {user}, table freebusy-providers");
        self.write(user, "marking a provider", |u, versions| {
            let next = u.providers.value.marked(uid, present);
            if next == u.providers.value {
                return Ok(false);
            }
            u.providers.set(versions, &next, None, &what).map(|_| true)
        })
    }

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        self.read(user, |u| u.preferences.clone())
    }

    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        self.read(user, |u| u.preferences.get(name).cloned())
    }

    async fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        self.write(user, "setting a preference", |u, _| {
            match value {
                Some(v) if v.contains('\0') => {
                    return Err(Error::invalid(format!(
                        "{WHAT}, user {user}, preference {name}: a value must not contain a NUL character"
                    )))
                }
                Some(v) => u.preferences.insert(name.clone(), v.to_owned()),
                None => u.preferences.remove(name),
            };
            Ok(())
        })
    }
}

/// Appends the request unless the same (uid, rid, method) is queued; returns whether it did.
fn queue(u: &mut UserData, uid: &Uid, rid: Option<&Rid>, method: QueueKind) -> bool {
    if u.requests
        .iter()
        .any(|r| &r.uid == uid && r.rid.as_ref() == rid && r.method == method)
    {
        return false;
    }
    u.requests.push(Request {
        uid: uid.clone(),
        rid: rid.cloned(),
        method,
    });
    true
}
