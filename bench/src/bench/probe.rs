//! A store wrapper that times every trait call, so a scenario can say which store function its
//! time goes to (the "measured reason" of a missed target) without a profiler.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calstore::{
    EventFamily, EventList, EventStatus, Incoming, Other, Period, PrefName, Providers, QueueKind,
    Request, Result, Rid, Store, StoredEvent, Table, Uid, User, Version, Versioned,
};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Calls and time per store method.
pub type Tally = BTreeMap<&'static str, (u64, Duration)>;

/// `S` with every call timed. Clones share the tally.
#[derive(Clone)]
pub struct Timed<S> {
    inner: S,
    tally: Arc<Mutex<Tally>>,
}

impl<S> Timed<S> {
    /// Wraps a store.
    pub fn new(inner: S) -> Self {
        Timed {
            inner,
            tally: Arc::new(Mutex::new(Tally::new())),
        }
    }

    /// Takes the tally so far and starts a new one.
    pub fn take(&self) -> Tally {
        self.tally
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    async fn time<T>(&self, name: &'static str, f: impl Future<Output = T>) -> T {
        let t = Instant::now();
        let out = f.await;
        let spent = t.elapsed();
        if let Ok(mut tally) = self.tally.lock() {
            let e = tally.entry(name).or_default();
            e.0 += 1;
            e.1 += spent;
        }
        out
    }
}

/// The tally as text, biggest first: `replace_uid_periods 61% (1000 calls, 2.10 ms each), …`,
/// shares taken of `total`.
pub fn describe(tally: &Tally, total: Duration) -> String {
    let mut rows: Vec<_> = tally.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1 .1));
    rows.iter()
        .take(5)
        .map(|(name, (n, d))| {
            format!(
                "{name} {:.0}% ({n} calls, {:.3} ms each)",
                100.0 * d.as_secs_f64() / total.as_secs_f64().max(1e-9),
                d.as_secs_f64() * 1e3 / (*n).max(1) as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tally as JSON.
pub fn to_json(tally: &Tally) -> Value {
    tally
        .iter()
        .map(|(k, (n, d))| {
            (
                k.to_string(),
                json!({"calls": n, "ms": d.as_secs_f64() * 1e3}),
            )
        })
        .collect()
}

impl<S: Store> Store for Timed<S> {
    fn is_read_only(&self) -> bool {
        self.inner.is_read_only()
    }
    async fn users(&self) -> Result<Vec<User>> {
        self.time("users", self.inner.users()).await
    }
    async fn put_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>, text: &str) -> Result<()> {
        self.time("put_event", self.inner.put_event(user, uid, rid, text))
            .await
    }
    async fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<StoredEvent>> {
        self.time("get_event", self.inner.get_event(user, uid, rid))
            .await
    }
    async fn remove_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.time("remove_event", self.inner.remove_event(user, uid, rid))
            .await
    }
    async fn cancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        self.time("cancel_event", self.inner.cancel_event(user, uid, rid))
            .await
    }
    async fn uncancel_event(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<()> {
        self.time("uncancel_event", self.inner.uncancel_event(user, uid, rid))
            .await
    }
    async fn list_events(&self, user: &User) -> Result<EventList> {
        self.time("list_events", self.inner.list_events(user)).await
    }
    async fn instances(&self, user: &User, uid: &Uid) -> Result<Vec<(Rid, EventStatus)>> {
        self.time("instances", self.inner.instances(user, uid))
            .await
    }
    async fn load_events(&self, user: &User, uids: &[Uid]) -> Result<Vec<EventFamily>> {
        self.time("load_events", self.inner.load_events(user, uids))
            .await
    }
    async fn requests(&self, user: &User) -> Result<Vec<Request>> {
        self.time("requests", self.inner.requests(user)).await
    }
    async fn store_incoming(&self, user: &User, incoming: &Incoming) -> Result<Version> {
        self.time("store_incoming", self.inner.store_incoming(user, incoming))
            .await
    }
    async fn table_version(&self, user: &User, table: &Table) -> Result<Version> {
        self.time("table_version", self.inner.table_version(user, table))
            .await
    }
    async fn mark_provider(&self, user: &User, uid: &Uid, present: bool) -> Result<bool> {
        self.time(
            "mark_provider",
            self.inner.mark_provider(user, uid, present),
        )
        .await
    }
    async fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        self.time(
            "queue_request",
            self.inner.queue_request(user, uid, rid, method),
        )
        .await
    }
    async fn dequeue_request(&self, user: &User, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        self.time(
            "dequeue_request",
            self.inner.dequeue_request(user, uid, rid),
        )
        .await
    }
    async fn set_requests(&self, user: &User, requests: &[Request]) -> Result<()> {
        self.time("set_requests", self.inner.set_requests(user, requests))
            .await
    }
    async fn have_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<QueueKind>,
    ) -> Result<bool> {
        self.time(
            "have_request",
            self.inner.have_request(user, uid, rid, method),
        )
        .await
    }
    async fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> Result<()> {
        self.time(
            "put_counter",
            self.inner.put_counter(user, other, uid, rid, text),
        )
        .await
    }
    async fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Option<String>> {
        self.time("get_counter", self.inner.get_counter(user, other, uid, rid))
            .await
    }
    async fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<Vec<Other>> {
        self.time(
            "counter_proposers",
            self.inner.counter_proposers(user, uid, rid),
        )
        .await
    }
    async fn counter_rids(&self, user: &User, uid: &Uid) -> Result<Vec<Rid>> {
        self.time("counter_rids", self.inner.counter_rids(user, uid))
            .await
    }
    async fn counters(&self, user: &User) -> Result<Vec<(Uid, Option<Rid>, Other)>> {
        self.time("counters", self.inner.counters(user)).await
    }
    async fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> Result<bool> {
        self.time(
            "remove_counter",
            self.inner.remove_counter(user, other, uid, rid),
        )
        .await
    }
    async fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> Result<usize> {
        self.time(
            "remove_counters",
            self.inner.remove_counters(user, uid, rid, only),
        )
        .await
    }
    async fn freebusy(&self, user: &User, table: &Table) -> Result<Versioned<Vec<Period>>> {
        self.time("freebusy", self.inner.freebusy(user, table))
            .await
    }
    async fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Versioned<Vec<Period>>> {
        self.time(
            "freebusy_in",
            self.inner.freebusy_in(user, table, start, end),
        )
        .await
    }
    async fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "set_freebusy",
            self.inner.set_freebusy(user, table, periods, expect),
        )
        .await
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
        self.time(
            "replace_event_periods",
            self.inner
                .replace_event_periods(user, table, uid, rid, periods, expect),
        )
        .await
    }
    async fn replace_uid_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        periods: Vec<Period>,
    ) -> Result<Version> {
        self.time(
            "replace_uid_periods",
            self.inner.replace_uid_periods(user, table, uid, periods),
        )
        .await
    }
    async fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> Result<Version> {
        self.time(
            "replace_uids_periods",
            self.inner.replace_uids_periods(user, table, uids, periods),
        )
        .await
    }

    async fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "remove_event_periods",
            self.inner
                .remove_event_periods(user, table, uid, rid, expect),
        )
        .await
    }
    async fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "remove_additional_periods",
            self.inner
                .remove_additional_periods(user, table, uid, keep, expect),
        )
        .await
    }
    async fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "remove_affected_period",
            self.inner
                .remove_affected_period(user, table, uid, start, expect),
        )
        .await
    }
    async fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "reserve",
            self.inner.reserve(user, table, periods, capacity, expect),
        )
        .await
    }
    async fn others(&self, user: &User) -> Result<Vec<Other>> {
        self.time("others", self.inner.others(user)).await
    }
    async fn conflicts(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> Result<Vec<Period>> {
        self.time("conflicts", self.inner.conflicts(user, table, periods))
            .await
    }
    async fn can_schedule(&self, user: &User, table: &Table, periods: &[Period]) -> Result<bool> {
        self.time(
            "can_schedule",
            self.inner.can_schedule(user, table, periods),
        )
        .await
    }
    async fn providers(&self, user: &User) -> Result<Versioned<Providers>> {
        self.time("providers", self.inner.providers(user)).await
    }
    async fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> Result<Version> {
        self.time(
            "set_providers",
            self.inner.set_providers(user, providers, expect),
        )
        .await
    }
    async fn preferences(&self, user: &User) -> Result<BTreeMap<PrefName, String>> {
        self.time("preferences", self.inner.preferences(user)).await
    }
    async fn preference(&self, user: &User, name: &PrefName) -> Result<Option<String>> {
        self.time("preference", self.inner.preference(user, name))
            .await
    }
    async fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> Result<()> {
        self.time(
            "set_preference",
            self.inner.set_preference(user, name, value),
        )
        .await
    }
}
