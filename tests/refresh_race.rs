//! The providers table when an import marks events while the cron job writes it (issue 13,
//! item 2), made deterministic: a store wrapper runs the import's step (objects stored, periods
//! and providers written, as `calstore import` does in another process) at the instant the cron
//! job writes the providers table, after it has read it. The multi-process form of the same race
//! is cli/tests/providers_race.rs. On both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use calstore::refresh::{self, Settings};
use calstore::{
    EventFamily, EventList, EventStatus, Incoming, Other, Period, PrefName, Providers, QueueKind,
    Request, Result, Rid, Store, StoredEvent, Table, Uid, User, Version, Versioned,
};
use chrono::{DateTime, Duration, Utc};

/// The import step to run: user, uid and the import's window end.
type Armed = (User, Uid, DateTime<Utc>);

/// `S` with a hook: the first `set_providers` after [`Interleaved::arm`] first runs the import's
/// step on the inner store.
#[derive(Clone)]
struct Interleaved<S> {
    inner: S,
    armed: Arc<Mutex<Option<Armed>>>,
}

impl<S: Store> Interleaved<S> {
    fn arm(&self, user: &User, uid: &Uid, window_end: DateTime<Utc>) {
        *self.armed.lock().unwrap() = Some((user.clone(), uid.clone(), window_end));
    }

    async fn time<T>(&self, name: &'static str, f: impl Future<Output = T>) -> T {
        if name == "set_providers" {
            let armed = self.armed.lock().unwrap().take();
            if let Some((user, uid, window_end)) = armed {
                import(&self.inner, &user, &uid, window_end).await;
            }
        }
        f.await
    }
}

/// What `calstore import` does for one weekly event without end.
async fn import<S: Store>(store: &S, user: &User, uid: &Uid, window_end: DateTime<Utc>) {
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        uid.as_str()
    );
    store.put_event(user, uid, None, &text).await.unwrap();
    let opts = calstore::recurrence::ExpandOptions {
        tz: chrono_tz::Tz::UTC,
        window_end,
        needs_action: false,
    };
    let done = refresh::refresh_events(store, user, std::slice::from_ref(uid), &opts)
        .await
        .unwrap();
    assert!(done.failed.is_empty() && done.periods > 0);
}

impl<S: Store> Store for Interleaved<S> {
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

fn providers_of(p: &Providers) -> Vec<&str> {
    p.events.iter().map(|(u, _)| u.as_str()).collect()
}

/// An import's event marked while the cron job writes the providers table stays there, whether
/// the cron job extends the window or rebuilds (`reset`).
async fn import_during_cron<S: Store + Clone>(store: S) {
    let store = Interleaved {
        inner: store,
        armed: Arc::new(Mutex::new(None)),
    };
    let alice = User::new("mailto:alice@example.com").unwrap();
    let now = Utc::now();
    let settings = Settings {
        tz: chrono_tz::Tz::UTC,
        window_days: 30,
        needs_action: false,
    };
    let first = Uid::new("first").unwrap();
    import(&store, &alice, &first, now + Duration::days(30)).await;
    refresh::regenerate(&store, &alice, &settings, now, false, false)
        .await
        .unwrap();
    for (i, reset) in [false, true].into_iter().enumerate() {
        let later = Uid::new(format!("during-{i}")).unwrap();
        store.arm(&alice, &later, now + Duration::days(31));
        let next_day = now + Duration::days(1 + i as i64);
        refresh::regenerate(&store, &alice, &settings, next_day, reset, false)
            .await
            .unwrap();
        assert!(store.armed.lock().unwrap().is_none(), "the import ran");
        let p = store.providers(&alice).await.unwrap().value;
        assert!(
            providers_of(&p).contains(&later.as_str()),
            "reset={reset}: the event imported during the cron job lost its provider entry: {:?}",
            providers_of(&p)
        );
        assert!(
            providers_of(&p).contains(&"first"),
            "{:?}",
            providers_of(&p)
        );
        // The next cron run extends it.
        let far = now + Duration::days(200);
        let report = refresh::regenerate(&store, &alice, &settings, far, false, false)
            .await
            .unwrap();
        let late = report
            .table
            .iter()
            .filter(|p| p.uid == later && p.start > far)
            .count();
        assert!(
            late >= 4,
            "reset={reset}: {later:?} extended ({late} periods past day 200)"
        );
    }
}

#[tokio::test]
async fn file_store_keeps_a_provider_marked_during_the_cron_job() {
    let dir = tempfile::tempdir().unwrap();
    let store = calstore_file::FileStore::open(calstore_file::FileStoreOptions::new(
        dir.path().join("store"),
        dir.path().join("preferences"),
    ))
    .unwrap();
    import_during_cron(store).await;
}

#[tokio::test]
async fn postgres_store_keeps_a_provider_marked_during_the_cron_job() {
    use calstore_postgres::{harness, PgOptions, PgStore};
    let Some(server) = harness::server_or_skip("refresh_race (postgres)") else {
        return;
    };
    let db = server.fresh_database_async().await.unwrap();
    let store = PgStore::connect(&PgOptions::new(db.url())).await.unwrap();
    import_during_cron(store).await;
}
