//! The providers table when an import marks events while the cron job writes it (issue 13,
//! item 2), made deterministic: a store wrapper runs the import's step (objects stored, periods
//! and providers written, as `calstore import` does in another process) at the instant the cron
//! job writes the providers table, after it has read it. The multi-process form of the same race
//! is cli/tests/providers_race.rs. On both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

use std::sync::{Arc, Mutex};

use calstore::conformance::wrap::{HookFuture, Probe};
use calstore::refresh::{self, Settings};
use calstore::{Providers, Store, Uid, User};
use chrono::{DateTime, Duration, Utc};

/// The import step to run: user, uid and the import's window end.
type Armed = (User, Uid, DateTime<Utc>);

/// `S` with a hook (calstore's test wrapper, [`Probe`]): the first `set_providers` after the
/// import is armed first runs the import's step on the inner store.
fn interleaved<S: Store + Clone + 'static>(inner: S, armed: Arc<Mutex<Option<Armed>>>) -> Probe<S> {
    let store = inner.clone();
    Probe::new(inner).with_hook(move |name| {
        if name != "set_providers" {
            return None;
        }
        let (user, uid, window_end) = armed.lock().unwrap().take()?;
        let store = store.clone();
        Some(Box::pin(async move {
            import(&store, &user, &uid, window_end).await;
        }) as HookFuture)
    })
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

fn providers_of(p: &Providers) -> Vec<&str> {
    p.events.iter().map(|(u, _)| u.as_str()).collect()
}

/// An import's event marked while the cron job writes the providers table stays there, whether
/// the cron job extends the window or rebuilds (`reset`).
async fn import_during_cron<S: Store + Clone + 'static>(store: S) {
    let armed = Arc::new(Mutex::new(None));
    let store = interleaved(store, Arc::clone(&armed));
    let arm = |user: &User, uid: &Uid, window_end| {
        *armed.lock().unwrap() = Some((user.clone(), uid.clone(), window_end));
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
        arm(&alice, &later, now + Duration::days(31));
        let next_day = now + Duration::days(1 + i as i64);
        refresh::regenerate(&store, &alice, &settings, next_day, reset, false)
            .await
            .unwrap();
        assert!(armed.lock().unwrap().is_none(), "the import ran");
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
