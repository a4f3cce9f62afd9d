//! `Store` and `Journal` for [`AnyStore`] and [`AnyJournal`]: every method passes the call to
//! the backend inside, so backends that override a default keep their override.
//!
//! Written out (not a macro) so that rustdoc and error messages show real signatures; when the
//! traits gain a method, the compiler names the missing delegation.

use std::collections::BTreeMap;
use std::future::Future;

use calstore::store::{EventFamily, Incoming};
use calstore::{
    EventList, EventStatus, Group, Journal, Limits, Method, Other, Period, PrefName, Providers,
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

    fn users(&self) -> impl Future<Output = Result<Vec<User>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.users().await,
                AnyStore::Postgres(s) => s.users().await,
            }
        }
    }

    fn unlisted_users(&self) -> impl Future<Output = Result<Vec<calstore::Error>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.unlisted_users().await,
                AnyStore::Postgres(s) => s.unlisted_users().await,
            }
        }
    }

    fn put_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.put_event(user, uid, rid, text).await,
                AnyStore::Postgres(s) => s.put_event(user, uid, rid, text).await,
            }
        }
    }

    fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<StoredEvent>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.get_event(user, uid, rid).await,
                AnyStore::Postgres(s) => s.get_event(user, uid, rid).await,
            }
        }
    }

    fn remove_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.remove_event(user, uid, rid).await,
                AnyStore::Postgres(s) => s.remove_event(user, uid, rid).await,
            }
        }
    }

    fn cancel_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.cancel_event(user, uid, rid).await,
                AnyStore::Postgres(s) => s.cancel_event(user, uid, rid).await,
            }
        }
    }

    fn uncancel_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.uncancel_event(user, uid, rid).await,
                AnyStore::Postgres(s) => s.uncancel_event(user, uid, rid).await,
            }
        }
    }

    fn list_events(&self, user: &User) -> impl Future<Output = Result<EventList>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.list_events(user).await,
                AnyStore::Postgres(s) => s.list_events(user).await,
            }
        }
    }

    fn instances(
        &self,
        user: &User,
        uid: &Uid,
    ) -> impl Future<Output = Result<Vec<(Rid, EventStatus)>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.instances(user, uid).await,
                AnyStore::Postgres(s) => s.instances(user, uid).await,
            }
        }
    }

    fn load_events(
        &self,
        user: &User,
        uids: &[Uid],
    ) -> impl Future<Output = Result<Vec<EventFamily>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.load_events(user, uids).await,
                AnyStore::Postgres(s) => s.load_events(user, uids).await,
            }
        }
    }

    fn requests(&self, user: &User) -> impl Future<Output = Result<Vec<Request>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.requests(user).await,
                AnyStore::Postgres(s) => s.requests(user).await,
            }
        }
    }

    fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Method,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.queue_request(user, uid, rid, method).await,
                AnyStore::Postgres(s) => s.queue_request(user, uid, rid, method).await,
            }
        }
    }

    fn store_incoming(
        &self,
        user: &User,
        incoming: &Incoming,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.store_incoming(user, incoming).await,
                AnyStore::Postgres(s) => s.store_incoming(user, incoming).await,
            }
        }
    }

    fn apply_step(
        &self,
        user: &User,
        step: &calstore::store::Step,
    ) -> impl Future<Output = Result<()>> + Send {
        // Delegated, never the trait's default: each backend makes a step atomic its own way.
        async move {
            match self {
                AnyStore::File(s) => s.apply_step(user, step).await,
                AnyStore::Postgres(s) => s.apply_step(user, step).await,
            }
        }
    }

    fn dequeue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.dequeue_request(user, uid, rid).await,
                AnyStore::Postgres(s) => s.dequeue_request(user, uid, rid).await,
            }
        }
    }

    fn set_requests(
        &self,
        user: &User,
        requests: &[Request],
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.set_requests(user, requests).await,
                AnyStore::Postgres(s) => s.set_requests(user, requests).await,
            }
        }
    }

    fn have_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<Method>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.have_request(user, uid, rid, method).await,
                AnyStore::Postgres(s) => s.have_request(user, uid, rid, method).await,
            }
        }
    }

    fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.put_counter(user, other, uid, rid, text).await,
                AnyStore::Postgres(s) => s.put_counter(user, other, uid, rid, text).await,
            }
        }
    }

    fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.get_counter(user, other, uid, rid).await,
                AnyStore::Postgres(s) => s.get_counter(user, other, uid, rid).await,
            }
        }
    }

    fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Vec<Other>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.counter_proposers(user, uid, rid).await,
                AnyStore::Postgres(s) => s.counter_proposers(user, uid, rid).await,
            }
        }
    }

    fn counter_rids(
        &self,
        user: &User,
        uid: &Uid,
    ) -> impl Future<Output = Result<Vec<Rid>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.counter_rids(user, uid).await,
                AnyStore::Postgres(s) => s.counter_rids(user, uid).await,
            }
        }
    }

    fn counters(
        &self,
        user: &User,
    ) -> impl Future<Output = Result<Vec<(Uid, Option<Rid>, Other)>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.counters(user).await,
                AnyStore::Postgres(s) => s.counters(user).await,
            }
        }
    }

    fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.remove_counter(user, other, uid, rid).await,
                AnyStore::Postgres(s) => s.remove_counter(user, other, uid, rid).await,
            }
        }
    }

    fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.remove_counters(user, uid, rid, only).await,
                AnyStore::Postgres(s) => s.remove_counters(user, uid, rid, only).await,
            }
        }
    }

    fn freebusy(
        &self,
        user: &User,
        table: &Table,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.freebusy(user, table).await,
                AnyStore::Postgres(s) => s.freebusy(user, table).await,
            }
        }
    }

    fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.freebusy_in(user, table, start, end).await,
                AnyStore::Postgres(s) => s.freebusy_in(user, table, start, end).await,
            }
        }
    }

    fn table_version(
        &self,
        user: &User,
        table: &Table,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.table_version(user, table).await,
                AnyStore::Postgres(s) => s.table_version(user, table).await,
            }
        }
    }

    fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.set_freebusy(user, table, periods, expect).await,
                AnyStore::Postgres(s) => s.set_freebusy(user, table, periods, expect).await,
            }
        }
    }

    fn replace_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
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
    }

    fn replace_uid_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.replace_uid_periods(user, table, uid, periods).await,
                AnyStore::Postgres(s) => s.replace_uid_periods(user, table, uid, periods).await,
            }
        }
    }

    fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.replace_uids_periods(user, table, uids, periods).await,
                AnyStore::Postgres(s) => s.replace_uids_periods(user, table, uids, periods).await,
            }
        }
    }

    fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.remove_event_periods(user, table, uid, rid, expect).await,
                AnyStore::Postgres(s) => {
                    s.remove_event_periods(user, table, uid, rid, expect).await
                }
            }
        }
    }

    fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
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
    }

    fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
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
    }

    fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.reserve(user, table, periods, capacity, expect).await,
                AnyStore::Postgres(s) => s.reserve(user, table, periods, capacity, expect).await,
            }
        }
    }

    fn others(&self, user: &User) -> impl Future<Output = Result<Vec<Other>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.others(user).await,
                AnyStore::Postgres(s) => s.others(user).await,
            }
        }
    }

    fn conflicts(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> impl Future<Output = Result<Vec<Period>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.conflicts(user, table, periods).await,
                AnyStore::Postgres(s) => s.conflicts(user, table, periods).await,
            }
        }
    }

    fn can_schedule(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.can_schedule(user, table, periods).await,
                AnyStore::Postgres(s) => s.can_schedule(user, table, periods).await,
            }
        }
    }

    fn providers(&self, user: &User) -> impl Future<Output = Result<Versioned<Providers>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.providers(user).await,
                AnyStore::Postgres(s) => s.providers(user).await,
            }
        }
    }

    fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.set_providers(user, providers, expect).await,
                AnyStore::Postgres(s) => s.set_providers(user, providers, expect).await,
            }
        }
    }

    fn mark_provider(
        &self,
        user: &User,
        uid: &Uid,
        present: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.mark_provider(user, uid, present).await,
                AnyStore::Postgres(s) => s.mark_provider(user, uid, present).await,
            }
        }
    }

    fn preferences(
        &self,
        user: &User,
    ) -> impl Future<Output = Result<BTreeMap<PrefName, String>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.preferences(user).await,
                AnyStore::Postgres(s) => s.preferences(user).await,
            }
        }
    }

    fn preference(
        &self,
        user: &User,
        name: &PrefName,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.preference(user, name).await,
                AnyStore::Postgres(s) => s.preference(user, name).await,
            }
        }
    }

    fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyStore::File(s) => s.set_preference(user, name, value).await,
                AnyStore::Postgres(s) => s.set_preference(user, name, value).await,
            }
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

    fn quotas(&self) -> impl Future<Output = Result<Vec<Quota>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.quotas().await,
                AnyJournal::Postgres(s) => s.quotas().await,
            }
        }
    }

    fn unlisted_quotas(&self) -> impl Future<Output = Result<Vec<calstore::Error>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.unlisted_quotas().await,
                AnyJournal::Postgres(s) => s.unlisted_quotas().await,
            }
        }
    }

    fn limits(&self, quota: &Quota) -> impl Future<Output = Result<Versioned<Limits>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.limits(quota).await,
                AnyJournal::Postgres(s) => s.limits(quota).await,
            }
        }
    }

    fn set_limits(
        &self,
        quota: &Quota,
        limits: &Limits,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.set_limits(quota, limits, expect).await,
                AnyJournal::Postgres(s) => s.set_limits(quota, limits, expect).await,
            }
        }
    }

    fn groups(&self, quota: &Quota) -> impl Future<Output = Result<BTreeMap<User, Group>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.groups(quota).await,
                AnyJournal::Postgres(s) => s.groups(quota).await,
            }
        }
    }

    fn set_groups(
        &self,
        quota: &Quota,
        groups: &BTreeMap<User, Group>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.set_groups(quota, groups).await,
                AnyJournal::Postgres(s) => s.set_groups(quota, groups).await,
            }
        }
    }

    fn delegates(&self, quota: &Quota) -> impl Future<Output = Result<Vec<User>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.delegates(quota).await,
                AnyJournal::Postgres(s) => s.delegates(quota).await,
            }
        }
    }

    fn set_delegates(
        &self,
        quota: &Quota,
        delegates: &[User],
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.set_delegates(quota, delegates).await,
                AnyJournal::Postgres(s) => s.set_delegates(quota, delegates).await,
            }
        }
    }

    fn usage_tables(&self, quota: &Quota) -> impl Future<Output = Result<Vec<UsageTable>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.usage_tables(quota).await,
                AnyJournal::Postgres(s) => s.usage_tables(quota).await,
            }
        }
    }

    fn usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.usage(quota, table).await,
                AnyJournal::Postgres(s) => s.usage(quota, table).await,
            }
        }
    }

    fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.usage_in(quota, table, start, end).await,
                AnyJournal::Postgres(s) => s.usage_in(quota, table, start, end).await,
            }
        }
    }

    fn set_usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.set_usage(quota, table, periods, expect).await,
                AnyJournal::Postgres(s) => s.set_usage(quota, table, periods, expect).await,
            }
        }
    }

    fn replace_usage_periods(
        &self,
        quota: &Quota,
        table: &UsageTable,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
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
    }

    fn reserve_within_limit(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.reserve_within_limit(quota, group, periods).await,
                AnyJournal::Postgres(s) => s.reserve_within_limit(quota, group, periods).await,
            }
        }
    }

    fn expire(
        &self,
        quota: &Quota,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.expire(quota, before).await,
                AnyJournal::Postgres(s) => s.expire(quota, before).await,
            }
        }
    }

    fn providers(
        &self,
        quota: &Quota,
    ) -> impl Future<Output = Result<Versioned<Providers>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.providers(quota).await,
                AnyJournal::Postgres(s) => s.providers(quota).await,
            }
        }
    }

    fn set_providers(
        &self,
        quota: &Quota,
        providers: &Providers,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.set_providers(quota, providers, expect).await,
                AnyJournal::Postgres(s) => s.set_providers(quota, providers, expect).await,
            }
        }
    }

    fn put_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.put_event(quota, uid, rid, text).await,
                AnyJournal::Postgres(s) => s.put_event(quota, uid, rid, text).await,
            }
        }
    }

    fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<StoredEvent>>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.get_event(quota, uid, rid).await,
                AnyJournal::Postgres(s) => s.get_event(quota, uid, rid).await,
            }
        }
    }

    fn remove_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.remove_event(quota, uid, rid).await,
                AnyJournal::Postgres(s) => s.remove_event(quota, uid, rid).await,
            }
        }
    }

    fn list_events(&self, quota: &Quota) -> impl Future<Output = Result<EventList>> + Send {
        async move {
            match self {
                AnyJournal::File(s) => s.list_events(quota).await,
                AnyJournal::Postgres(s) => s.list_events(quota).await,
            }
        }
    }
}
