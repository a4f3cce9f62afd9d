//! `Store` and `Journal` for [`AnyStore`] and [`AnyJournal`]: every method passes the call to
//! the backend inside, so backends that override a default keep their override.
//!
//! Written out (not a macro) so that rustdoc and error messages show real signatures. When the
//! traits gain a required method the compiler names the missing delegation; a new *default*
//! method must be added here by hand, or a backend's override of it is bypassed.

use std::collections::BTreeMap;

use calstore::store::{EventFamily, Incoming};
use calstore::{
    EventList, EventStatus, Group, Journal, Limits, Other, Period, PrefName, Providers, QueueKind,
    Quota, Request, Result, Rid, Store, StoredEvent, Table, Uid, UsageTable, User, Version,
    Versioned,
};
use chrono::{DateTime, Utc};

use crate::{AnyJournal, AnyStore};

impl Store for AnyStore {
    fn is_read_only(&self) -> bool {
        match self {
            AnyStore::File(s) => s.is_read_only(),
            AnyStore::Postgres(s) => s.is_read_only(),
        }
    }

    async fn users(&self) -> Result<Vec<User>> {
        match self {
            AnyStore::File(s) => s.users().await,
            AnyStore::Postgres(s) => s.users().await,
        }
    }

    async fn unlisted_users(&self) -> Result<Vec<calstore::Error>> {
        match self {
            AnyStore::File(s) => s.unlisted_users().await,
            AnyStore::Postgres(s) => s.unlisted_users().await,
        }
    }

    async fn put_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        match self {
            AnyStore::File(s) => s.put_event(user, uid, rid, text).await,
            AnyStore::Postgres(s) => s.put_event(user, uid, rid, text).await,
        }
    }

    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        match self {
            AnyStore::File(s) => s.get_event(user, uid, rid).await,
            AnyStore::Postgres(s) => s.get_event(user, uid, rid).await,
        }
    }

    async fn remove_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.remove_event(user, uid, rid).await,
            AnyStore::Postgres(s) => s.remove_event(user, uid, rid).await,
        }
    }

    async fn cancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        match self {
            AnyStore::File(s) => s.cancel_event(user, uid, rid).await,
            AnyStore::Postgres(s) => s.cancel_event(user, uid, rid).await,
        }
    }

    async fn uncancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        match self {
            AnyStore::File(s) => s.uncancel_event(user, uid, rid).await,
            AnyStore::Postgres(s) => s.uncancel_event(user, uid, rid).await,
        }
    }

    async fn list_events(&self, user: &User) -> Result<EventList> {
        match self {
            AnyStore::File(s) => s.list_events(user).await,
            AnyStore::Postgres(s) => s.list_events(user).await,
        }
    }

    async fn instances(&self, user: &User, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        match self {
            AnyStore::File(s) => s.instances(user, uid).await,
            AnyStore::Postgres(s) => s.instances(user, uid).await,
        }
    }

    async fn load_events(&self, user: &User, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        match self {
            AnyStore::File(s) => s.load_events(user, uids).await,
            AnyStore::Postgres(s) => s.load_events(user, uids).await,
        }
    }

    async fn requests(&self, user: &User) -> Result<Vec<Request>> {
        match self {
            AnyStore::File(s) => s.requests(user).await,
            AnyStore::Postgres(s) => s.requests(user).await,
        }
    }

    async fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.queue_request(user, uid, rid, method).await,
            AnyStore::Postgres(s) => s.queue_request(user, uid, rid, method).await,
        }
    }

    async fn store_incoming(&self, user: &User, incoming: &Incoming) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.store_incoming(user, incoming).await,
            AnyStore::Postgres(s) => s.store_incoming(user, incoming).await,
        }
    }

    // Delegated, never the trait's default: each backend makes a step atomic its own way.
    async fn apply_step(&self, user: &User, step: &calstore::store::Step) -> Result<()> {
        match self {
            AnyStore::File(s) => s.apply_step(user, step).await,
            AnyStore::Postgres(s) => s.apply_step(user, step).await,
        }
    }

    async fn dequeue_request(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.dequeue_request(user, uid, rid).await,
            AnyStore::Postgres(s) => s.dequeue_request(user, uid, rid).await,
        }
    }

    async fn set_requests(&self, user: &User, requests: &[Request]) -> Result<()> {
        match self {
            AnyStore::File(s) => s.set_requests(user, requests).await,
            AnyStore::Postgres(s) => s.set_requests(user, requests).await,
        }
    }

    async fn have_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<QueueKind>,
    ) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.have_request(user, uid, rid, method).await,
            AnyStore::Postgres(s) => s.have_request(user, uid, rid, method).await,
        }
    }

    async fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        match self {
            AnyStore::File(s) => s.put_counter(user, other, uid, rid, text).await,
            AnyStore::Postgres(s) => s.put_counter(user, other, uid, rid, text).await,
        }
    }

    async fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        match self {
            AnyStore::File(s) => s.get_counter(user, other, uid, rid).await,
            AnyStore::Postgres(s) => s.get_counter(user, other, uid, rid).await,
        }
    }

    async fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        match self {
            AnyStore::File(s) => s.counter_proposers(user, uid, rid).await,
            AnyStore::Postgres(s) => s.counter_proposers(user, uid, rid).await,
        }
    }

    async fn counter_rids(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        match self {
            AnyStore::File(s) => s.counter_rids(user, uid).await,
            AnyStore::Postgres(s) => s.counter_rids(user, uid).await,
        }
    }

    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        match self {
            AnyStore::File(s) => s.counters(user).await,
            AnyStore::Postgres(s) => s.counters(user).await,
        }
    }

    async fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.remove_counter(user, other, uid, rid).await,
            AnyStore::Postgres(s) => s.remove_counter(user, other, uid, rid).await,
        }
    }

    async fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        match self {
            AnyStore::File(s) => s.remove_counters(user, uid, rid, only).await,
            AnyStore::Postgres(s) => s.remove_counters(user, uid, rid, only).await,
        }
    }

    async fn freebusy(&self, user: &User, table: &Table) -> Result<Versioned<Vec<Period>>> {
        match self {
            AnyStore::File(s) => s.freebusy(user, table).await,
            AnyStore::Postgres(s) => s.freebusy(user, table).await,
        }
    }

    async fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        match self {
            AnyStore::File(s) => s.freebusy_in(user, table, start, end).await,
            AnyStore::Postgres(s) => s.freebusy_in(user, table, start, end).await,
        }
    }

    async fn table_version(&self, user: &User, table: &Table) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.table_version(user, table).await,
            AnyStore::Postgres(s) => s.table_version(user, table).await,
        }
    }

    async fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.set_freebusy(user, table, periods, expect).await,
            AnyStore::Postgres(s) => s.set_freebusy(user, table, periods, expect).await,
        }
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
        match self {
            AnyStore::File(s) => {
                s.replace_event_periods(user, table, uid, rid, periods, expect)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.replace_event_periods(user, table, uid, rid, periods, expect)
                    .await
            }
        }
    }

    async fn replace_uid_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        periods: Vec<Period>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.replace_uid_periods(user, table, uid, periods).await,
            AnyStore::Postgres(s) => s.replace_uid_periods(user, table, uid, periods).await,
        }
    }

    async fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.replace_uids_periods(user, table, uids, periods).await,
            AnyStore::Postgres(s) => s.replace_uids_periods(user, table, uids, periods).await,
        }
    }

    async fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.remove_event_periods(user, table, uid, rid, expect).await,
            AnyStore::Postgres(s) => s.remove_event_periods(user, table, uid, rid, expect).await,
        }
    }

    async fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => {
                s.remove_additional_periods(user, table, uid, keep, expect)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.remove_additional_periods(user, table, uid, keep, expect)
                    .await
            }
        }
    }

    async fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => {
                s.remove_affected_period(user, table, uid, start, expect)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.remove_affected_period(user, table, uid, start, expect)
                    .await
            }
        }
    }

    async fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.reserve(user, table, periods, capacity, expect).await,
            AnyStore::Postgres(s) => s.reserve(user, table, periods, capacity, expect).await,
        }
    }

    async fn others(&self, user: &User) -> Result<Vec<Other>> {
        match self {
            AnyStore::File(s) => s.others(user).await,
            AnyStore::Postgres(s) => s.others(user).await,
        }
    }

    async fn conflicts(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> Result<Vec<Period>> {
        match self {
            AnyStore::File(s) => s.conflicts(user, table, periods).await,
            AnyStore::Postgres(s) => s.conflicts(user, table, periods).await,
        }
    }

    async fn can_schedule(&self, user: &User, table: &Table, periods: &[Period]) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.can_schedule(user, table, periods).await,
            AnyStore::Postgres(s) => s.can_schedule(user, table, periods).await,
        }
    }

    async fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        match self {
            AnyStore::File(s) => s.providers(user).await,
            AnyStore::Postgres(s) => s.providers(user).await,
        }
    }

    async fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyStore::File(s) => s.set_providers(user, providers, expect).await,
            AnyStore::Postgres(s) => s.set_providers(user, providers, expect).await,
        }
    }

    async fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        match self {
            AnyStore::File(s) => s.mark_provider(user, uid, present).await,
            AnyStore::Postgres(s) => s.mark_provider(user, uid, present).await,
        }
    }

    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        match self {
            AnyStore::File(s) => s.preferences(user).await,
            AnyStore::Postgres(s) => s.preferences(user).await,
        }
    }

    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        match self {
            AnyStore::File(s) => s.preference(user, name).await,
            AnyStore::Postgres(s) => s.preference(user, name).await,
        }
    }

    async fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        match self {
            AnyStore::File(s) => s.set_preference(user, name, value).await,
            AnyStore::Postgres(s) => s.set_preference(user, name, value).await,
        }
    }
}

impl Journal for AnyJournal {
    fn is_read_only(&self) -> bool {
        match self {
            AnyJournal::File(s) => s.is_read_only(),
            AnyJournal::Postgres(s) => s.is_read_only(),
        }
    }

    async fn quotas(&self) -> Result<Vec<Quota>> {
        match self {
            AnyJournal::File(s) => s.quotas().await,
            AnyJournal::Postgres(s) => s.quotas().await,
        }
    }

    async fn unlisted_quotas(&self) -> Result<Vec<calstore::Error>> {
        match self {
            AnyJournal::File(s) => s.unlisted_quotas().await,
            AnyJournal::Postgres(s) => s.unlisted_quotas().await,
        }
    }

    async fn limits(&self, quota: &Quota) -> Result<Versioned<Limits>> {
        match self {
            AnyJournal::File(s) => s.limits(quota).await,
            AnyJournal::Postgres(s) => s.limits(quota).await,
        }
    }

    async fn set_limits(
        &self,
        quota: &Quota,
        limits: &Limits,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyJournal::File(s) => s.set_limits(quota, limits, expect).await,
            AnyJournal::Postgres(s) => s.set_limits(quota, limits, expect).await,
        }
    }

    async fn groups(&self, quota: &Quota) -> Result<BTreeMap<User, Group>> {
        match self {
            AnyJournal::File(s) => s.groups(quota).await,
            AnyJournal::Postgres(s) => s.groups(quota).await,
        }
    }

    async fn set_groups(&self, quota: &Quota, groups: &BTreeMap<User, Group>) -> Result<()> {
        match self {
            AnyJournal::File(s) => s.set_groups(quota, groups).await,
            AnyJournal::Postgres(s) => s.set_groups(quota, groups).await,
        }
    }

    async fn delegates(&self, quota: &Quota) -> Result<Vec<User>> {
        match self {
            AnyJournal::File(s) => s.delegates(quota).await,
            AnyJournal::Postgres(s) => s.delegates(quota).await,
        }
    }

    async fn set_delegates(&self, quota: &Quota, delegates: &[User]) -> Result<()> {
        match self {
            AnyJournal::File(s) => s.set_delegates(quota, delegates).await,
            AnyJournal::Postgres(s) => s.set_delegates(quota, delegates).await,
        }
    }

    async fn usage_tables(&self, quota: &Quota) -> Result<Vec<UsageTable>> {
        match self {
            AnyJournal::File(s) => s.usage_tables(quota).await,
            AnyJournal::Postgres(s) => s.usage_tables(quota).await,
        }
    }

    async fn usage(&self, quota: &Quota, table: &UsageTable) -> Result<Versioned<Vec<Period>>> {
        match self {
            AnyJournal::File(s) => s.usage(quota, table).await,
            AnyJournal::Postgres(s) => s.usage(quota, table).await,
        }
    }

    async fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        match self {
            AnyJournal::File(s) => s.usage_in(quota, table, start, end).await,
            AnyJournal::Postgres(s) => s.usage_in(quota, table, start, end).await,
        }
    }

    async fn set_usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyJournal::File(s) => s.set_usage(quota, table, periods, expect).await,
            AnyJournal::Postgres(s) => s.set_usage(quota, table, periods, expect).await,
        }
    }

    async fn replace_usage_periods(
        &self,
        quota: &Quota,
        table: &UsageTable,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyJournal::File(s) => {
                s.replace_usage_periods(quota, table, uid, rid, periods, expect)
                    .await
            }
            AnyJournal::Postgres(s) => {
                s.replace_usage_periods(quota, table, uid, rid, periods, expect)
                    .await
            }
        }
    }

    async fn reserve_within_limit(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> Result<Version> {
        match self {
            AnyJournal::File(s) => s.reserve_within_limit(quota, group, periods).await,
            AnyJournal::Postgres(s) => s.reserve_within_limit(quota, group, periods).await,
        }
    }

    async fn expire(&self, quota: &Quota, before: DateTime<Utc>) -> Result<usize> {
        match self {
            AnyJournal::File(s) => s.expire(quota, before).await,
            AnyJournal::Postgres(s) => s.expire(quota, before).await,
        }
    }

    async fn providers(&self, quota: &Quota) -> Result<Versioned<Providers>> {
        match self {
            AnyJournal::File(s) => s.providers(quota).await,
            AnyJournal::Postgres(s) => s.providers(quota).await,
        }
    }

    async fn set_providers(
        &self,
        quota: &Quota,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        match self {
            AnyJournal::File(s) => s.set_providers(quota, providers, expect).await,
            AnyJournal::Postgres(s) => s.set_providers(quota, providers, expect).await,
        }
    }

    async fn put_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        match self {
            AnyJournal::File(s) => s.put_event(quota, uid, rid, text).await,
            AnyJournal::Postgres(s) => s.put_event(quota, uid, rid, text).await,
        }
    }

    async fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        match self {
            AnyJournal::File(s) => s.get_event(quota, uid, rid).await,
            AnyJournal::Postgres(s) => s.get_event(quota, uid, rid).await,
        }
    }

    async fn remove_event(&self, quota: &Quota, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        match self {
            AnyJournal::File(s) => s.remove_event(quota, uid, rid).await,
            AnyJournal::Postgres(s) => s.remove_event(quota, uid, rid).await,
        }
    }

    async fn list_events(&self, quota: &Quota) -> Result<EventList> {
        match self {
            AnyJournal::File(s) => s.list_events(quota).await,
            AnyJournal::Postgres(s) => s.list_events(quota).await,
        }
    }

    async fn load_events(&self, quota: &Quota, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        match self {
            AnyJournal::File(s) => s.load_events(quota, uids).await,
            AnyJournal::Postgres(s) => s.load_events(quota, uids).await,
        }
    }
}
