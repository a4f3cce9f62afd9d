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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Other, PrefName, Rid, Uid, User};
use crate::period::Period;
use crate::store::{
    Applied, EventFamily, EventList, EventStatus, Providers, Request, Step, Store, StoredEvent,
    Table, Version, Versioned,
};

mod apply;
mod journal;
mod state;

pub use journal::MemoryJournal;
use state::{lock, writable, Kind, Objects, ProvidersData, TableData};

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

#[derive(Debug, Default, Clone)]
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
}

impl Store for MemoryStore {
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    async fn users(&self) -> Result<Vec<User>> {
        Ok(lock(&self.data, WHAT)?.users.keys().cloned().collect())
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        self.read(user, |u| u.objects.get(uid, rid))
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

    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        self.read(user, |u| u.counters.keys().cloned().collect())
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

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        self.read(user, |u| u.preferences.clone())
    }

    /// Every change under the one lock of the data; a step of several changes works on a copy
    /// of the user's data that replaces it only when every change succeeded.
    async fn apply_step(&self, user: &User, step: &Step) -> Result<Applied> {
        let doing = match step.single_write() {
            Some((change, _)) => change.name(),
            None => "applying a step",
        };
        writable(self.read_only, &format!("{WHAT}, user {user}"), doing)?;
        step.check()?;
        let now = Utc::now();
        let mut data = lock(&self.data, WHAT)?;
        let StoreData { users, versions } = &mut *data;
        let entry = users.entry(user.clone()).or_default();
        let before = (step.changes.len() > 1).then(|| (entry.clone(), versions.clone()));
        let mut outcomes = Vec::with_capacity(step.changes.len());
        let mut failed = None;
        for change in &step.changes {
            match entry.apply(versions, user, change, now) {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let (Some(_), Some((data, counter))) = (&failed, before) {
            // As if the step had never run: the data and the versions issued.
            *entry = data;
            *versions = counter;
        }
        if entry.is_empty() {
            users.remove(user);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(Applied { outcomes }),
        }
    }
}
