//! [`MemoryJournal`]: the quota [`Journal`] in memory, with the rules of the file journal and
//! PostgreSQL (STORE.md, "Journal").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::state::{self, check_version, lock, refused, writable, Kind, Objects, ProvidersData};
use crate::duration::{format_duration, parse_duration};
use crate::error::{Error, Result};
use crate::id::{Group, Quota, Rid, Uid, User};
use crate::journal::{Journal, JournalChange, Limits, UsageTable};
use crate::period::{self, Period};
use crate::store::{EventList, Outcome, Providers, StoredEvent, Version, Versioned};

const WHAT: &str = "memory journal";
const USAGE: Kind = Kind { offers: false };

/// A [`Journal`] in memory, the companion of [`MemoryStore`](super::MemoryStore).
///
/// Cheap to clone; clones share the data. [`MemoryJournal::read_only`] gives a handle that
/// refuses every write.
#[derive(Debug, Clone, Default)]
pub struct MemoryJournal {
    data: Arc<Mutex<JournalData>>,
    read_only: bool,
}

#[derive(Debug, Default)]
struct JournalData {
    quotas: BTreeMap<Quota, QuotaData>,
    versions: state::Versions,
}

#[derive(Debug, Default)]
struct QuotaData {
    limits: Limits,
    limits_version: Version,
    groups: BTreeMap<User, Group>,
    delegates: Vec<User>,
    usage: BTreeMap<UsageTable, state::TableData>,
    providers: ProvidersData,
    objects: Objects,
}

impl QuotaData {
    fn is_empty(&self) -> bool {
        self.limits.is_empty()
            && self.groups.is_empty()
            && self.delegates.is_empty()
            && self.usage.is_empty()
            && self.providers.version == Version(0)
            && self.objects.is_empty()
    }
}

fn what_quota(quota: &Quota) -> String {
    format!("{WHAT}, quota {quota}")
}

fn what_usage(quota: &Quota, table: &UsageTable) -> String {
    format!("{WHAT}, quota {quota}, table {table}")
}

/// The limit that applies to `group`: its own, else `*`'s; `None` is unlimited.
fn limit_of(limits: &Limits, group: &Group) -> Option<Duration> {
    let value = limits
        .get(group)
        .or_else(|| Group::new("*").ok().and_then(|star| limits.get(&star)))?;
    parse_duration(value).ok()
}

fn busy_time<'a>(periods: impl Iterator<Item = &'a Period>) -> Duration {
    periods
        .filter(|p| p.is_busy())
        .fold(Duration::zero(), |sum, p| sum + (p.end - p.start))
}

impl MemoryJournal {
    /// A new, empty, writable journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on the same data that refuses every write with
    /// [`ErrorKind::ReadOnly`](crate::ErrorKind::ReadOnly).
    #[must_use]
    pub fn read_only(&self) -> Self {
        MemoryJournal {
            data: Arc::clone(&self.data),
            read_only: true,
        }
    }

    /// Everything stored, as text: equal snapshots mean nothing changed (see
    /// [`MemoryStore::snapshot`](super::MemoryStore::snapshot)).
    ///
    /// # Errors
    ///
    /// Backend error when an earlier operation panicked while holding the data.
    pub fn snapshot(&self) -> Result<String> {
        Ok(format!("{:#?}", *lock(&self.data, WHAT)?))
    }

    fn read<T>(&self, quota: &Quota, read: impl FnOnce(&QuotaData) -> T) -> Result<T> {
        let data = lock(&self.data, WHAT)?;
        Ok(match data.quotas.get(quota) {
            Some(q) => read(q),
            None => read(&QuotaData::default()),
        })
    }

    fn write<T>(
        &self,
        quota: &Quota,
        doing: &str,
        write: impl FnOnce(&mut QuotaData, &mut state::Versions) -> Result<T>,
    ) -> Result<T> {
        writable(self.read_only, &what_quota(quota), doing)?;
        let mut data = lock(&self.data, WHAT)?;
        let JournalData { quotas, versions } = &mut *data;
        let entry = quotas.entry(quota.clone()).or_default();
        let result = write(entry, versions);
        if entry.is_empty() {
            quotas.remove(quota);
        }
        result
    }

    fn change_usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
        doing: &str,
        expect: Option<Version>,
        always: bool,
        change: impl FnOnce(&mut Vec<Period>),
    ) -> Result<Version> {
        let what = what_usage(quota, table);
        self.write(quota, doing, |q, versions| {
            USAGE
                .change(&mut q.usage, table, &what, versions, expect, always, change)
                .map(|(v, _)| v)
        })
    }
}

impl Journal for MemoryJournal {
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    async fn quotas(&self) -> Result<Vec<Quota>> {
        Ok(lock(&self.data, WHAT)?.quotas.keys().cloned().collect())
    }

    async fn limits(&self, quota: &Quota) -> Result<Versioned<Limits>> {
        self.read(quota, |q| Versioned {
            value: q.limits.clone(),
            version: q.limits_version,
        })
    }

    async fn groups(&self, quota: &Quota) -> Result<BTreeMap<User, Group>> {
        self.read(quota, |q| q.groups.clone())
    }

    async fn delegates(&self, quota: &Quota) -> Result<Vec<User>> {
        self.read(quota, |q| q.delegates.clone())
    }

    async fn usage_tables(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        self.read(quota, |q| q.usage.keys().cloned().collect())
    }

    async fn usage(&self, quota: &Quota, table: &UsageTable) -> Result<Versioned<Vec<Period>>> {
        let now = Utc::now();
        self.read(quota, |q| {
            let t = q.usage.get(table);
            Versioned {
                value: USAGE.visible(t, now),
                version: t.map_or(Version(0), |t| t.version),
            }
        })
    }

    async fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        let now = Utc::now();
        self.read(quota, |q| {
            let t = q.usage.get(table);
            Versioned {
                value: USAGE.visible_in(t, start, end, now),
                version: t.map_or(Version(0), |t| t.version),
            }
        })
    }

    async fn providers(&self, quota: &Quota) -> Result<Versioned<Providers>> {
        self.read(quota, |q| Versioned {
            value: q.providers.value.clone(),
            version: q.providers.version,
        })
    }

    async fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        self.read(quota, |q| q.objects.get(uid, rid))
    }

    async fn list_events(&self, quota: &Quota) -> Result<EventList> {
        self.read(quota, |q| q.objects.list())
    }
    async fn apply(&self, quota: &Quota, change: &JournalChange) -> Result<Outcome> {
        Ok(match change {
            JournalChange::SetLimits { limits, expect } => {
                Outcome::Version(self.set_limits_impl(quota, limits, *expect)?)
            }
            JournalChange::SetGroups(groups) => {
                self.set_groups_impl(quota, groups)?;
                Outcome::Done
            }
            JournalChange::SetDelegates(delegates) => {
                self.set_delegates_impl(quota, delegates)?;
                Outcome::Done
            }
            JournalChange::SetUsage {
                table,
                periods,
                expect,
            } => Outcome::Version(self.set_usage_impl(quota, table, periods.clone(), *expect)?),
            JournalChange::ReplaceUsagePeriods {
                table,
                uid,
                rid,
                periods,
                expect,
            } => Outcome::Version(self.replace_usage_periods_impl(
                quota,
                table,
                uid,
                rid.as_ref(),
                periods.clone(),
                *expect,
            )?),
            JournalChange::ReserveWithinLimit { group, periods } => {
                Outcome::Version(self.reserve_within_limit_impl(quota, group, periods.clone())?)
            }
            JournalChange::Expire { before } => Outcome::Count(self.expire_impl(quota, *before)?),
            JournalChange::SetProviders { providers, expect } => {
                Outcome::Version(self.set_providers_impl(quota, providers, *expect)?)
            }
            JournalChange::PutEvent { uid, rid, text } => {
                self.put_event_impl(quota, uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            JournalChange::RemoveEvent { uid, rid } => {
                Outcome::Changed(self.remove_event_impl(quota, uid, rid.as_ref())?)
            }
        })
    }
}

/// Each write of the journal, once: what [`Journal::apply`] runs.
impl MemoryJournal {
    fn set_limits_impl(
        &self,
        quota: &Quota,
        limits: &Limits,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = format!("{}, limits", what_quota(quota));
        self.write(quota, "replacing the limits", |q, versions| {
            for (group, value) in limits {
                if value.contains(['\t', '\n', '\r']) || parse_duration(value).is_err() {
                    return Err(Error::invalid(format!(
                        "{what}: the limit of {group} ({value:?}) is not an iCalendar duration such as PT10H"
                    )));
                }
            }
            check_version(expect, q.limits_version, &what)?;
            q.limits = limits.clone();
            q.limits_version = if limits.is_empty() {
                Version(0)
            } else {
                versions.next()
            };
            Ok(q.limits_version)
        })
    }

    fn set_groups_impl(&self, quota: &Quota, groups: &BTreeMap<User, Group>) -> Result<()> {
        self.write(quota, "replacing the groups", |q, _| {
            q.groups = groups.clone();
            Ok(())
        })
    }

    fn set_delegates_impl(&self, quota: &Quota, delegates: &[User]) -> Result<()> {
        self.write(quota, "replacing the delegates", |q, _| {
            let mut sorted = delegates.to_vec();
            sorted.sort();
            sorted.dedup();
            q.delegates = sorted;
            Ok(())
        })
    }

    fn set_usage_impl(
        &self,
        quota: &Quota,
        table: &UsageTable,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        writable(
            self.read_only,
            &what_quota(quota),
            "replacing a usage table",
        )?;
        for p in &periods {
            p.validate()
                .map_err(|e| e.context(what_usage(quota, table)))?;
        }
        let periods = period::normalise(periods);
        let always = !periods.is_empty();
        self.change_usage(
            quota,
            table,
            "replacing a usage table",
            expect,
            always,
            |rows| {
                *rows = periods;
            },
        )
    }

    fn replace_usage_periods_impl(
        &self,
        quota: &Quota,
        table: &UsageTable,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        let doing = "replacing an event's usage";
        writable(self.read_only, &what_quota(quota), doing)?;
        period::check_event(uid, rid, &periods).map_err(|e| e.context(what_usage(quota, table)))?;
        self.change_usage(quota, table, doing, expect, false, |rows| {
            period::remove_event(rows, uid, rid);
            period::merge(rows, periods);
        })
    }

    fn reserve_within_limit_impl(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> Result<Version> {
        let table = UsageTable::Journal(group.clone());
        let what = what_usage(quota, &table);
        self.write(quota, "reserving within the limit", |q, versions| {
            let Some(first) = periods.first() else {
                return Ok(q.usage.get(&table).map_or(Version(0), |t| t.version));
            };
            let (uid, rid) = (first.uid.clone(), first.rid.clone());
            period::check_event(&uid, rid.as_ref(), &periods).map_err(|e| e.context(&what))?;
            if let Some(limit) = limit_of(&q.limits, group) {
                let current = q.usage.get(&table).map_or(&[][..], |t| &t.periods[..]);
                let used = busy_time(current.iter().filter(|p| !p.is_event(&uid, rid.as_ref())));
                let wanted = busy_time(periods.iter());
                if used + wanted > limit {
                    return Err(refused(format!(
                        "{what}: reserving uid {:?} needs {} but only {} of the limit {} is left; nothing was written",
                        uid.as_str(),
                        format_duration(wanted),
                        format_duration((limit - used).max(Duration::zero())),
                        format_duration(limit)
                    )));
                }
            }
            USAGE
                .change(&mut q.usage, &table, &what, versions, None, false, |rows| {
                    period::remove_event(rows, &uid, rid.as_ref());
                    period::merge(rows, periods);
                })
                .map(|(v, _)| v)
        })
    }

    fn expire_impl(&self, quota: &Quota, before: DateTime<Utc>) -> Result<usize> {
        self.write(quota, "expiring usage", |q, versions| {
            let tables: Vec<UsageTable> = q.usage.keys().cloned().collect();
            let mut removed = 0;
            for table in tables {
                let what = what_usage(quota, &table);
                removed += USAGE
                    .change(&mut q.usage, &table, &what, versions, None, false, |rows| {
                        rows.retain(|p| p.end > before);
                    })?
                    .1;
            }
            Ok(removed)
        })
    }

    fn set_providers_impl(
        &self,
        quota: &Quota,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        let what = format!("{}, table freebusy-providers", what_quota(quota));
        self.write(quota, "replacing the providers", |q, versions| {
            q.providers.set(versions, providers, expect, &what)
        })
    }

    fn put_event_impl(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        let what = what_quota(quota);
        self.write(quota, "storing a reservation", |q, _| {
            q.objects.put(&what, uid, rid, text)
        })
    }

    fn remove_event_impl(&self, quota: &Quota, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.write(quota, "removing a reservation", |q, _| {
            Ok(q.objects.remove(uid, rid))
        })
    }
}
