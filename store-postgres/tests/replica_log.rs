//! The debug log names the server of every call, and a dead replica is left out with one
//! warning. Alone in its test binary: with a single scoped `tracing` subscriber, callsites first
//! reached on other threads (other tests) would be cached as uninteresting and never log here.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use std::sync::{Arc, Mutex};
use std::time::Duration;

use calstore::{Store, Uid, User};
use calstore_postgres::harness::replicated_or_skip;
use calstore_postgres::{ClusterOptions, PgOptions, PgStore};

fn uid(u: &str) -> Uid {
    Uid::new(u).unwrap()
}

fn event(u: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n\
         DTEND:20260105T100000Z\r\nSUMMARY:{u}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// Single-threaded, so that the subscriber set for this thread sees every call.
#[tokio::test]
async fn the_debug_log_names_the_server_of_every_call_and_warns_of_a_dead_replica() {
    let Some(pair) = replicated_or_skip("the_debug_log_names_the_server_of_every_call") else {
        return;
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = pair.fresh_database().await.unwrap();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("postgresql://postgres@127.0.0.1:{dead_port}/x?sslmode=disable");
    let mut options = ClusterOptions::new(PgOptions::new(db.primary_url()))
        .replica(&db.standby_url)
        .replica(&dead);
    options.replica_retry = Duration::from_secs(60);
    let store = PgStore::connect_cluster(&options).await.unwrap();
    let a = User::new("mailto:alice@example.com").unwrap();
    store
        .put_event(&a, &uid("e"), None, &event("e"))
        .await
        .unwrap();
    pair.wait_replayed().await.unwrap();
    // Replicas are tried in random order: in 40 reads the dead one comes first at least once
    // (all but certainly: 1 - 2^-40).
    for _ in 0..40 {
        assert!(store
            .get_event(&a, &uid("e"), None)
            .await
            .unwrap()
            .is_some());
    }
    let log = capture.text();
    let (primary, standby) = (
        pair.primary().private().unwrap().port(),
        pair.standby().port(),
    );
    let on_primary = format!("storing event e of user mailto:alice@example.com: on primary host 127.0.0.1 port {primary}");
    assert!(log.contains(&on_primary), "{log}");
    let on_standby = format!("reading event e of user mailto:alice@example.com: on replica host 127.0.0.1 port {standby}");
    assert_eq!(log.matches(&on_standby).count(), 40, "{log}");
    // The dead replica: left out with one warning, never serving.
    let warning =
        format!("replica host 127.0.0.1 port {dead_port} failed, reads go to other servers");
    assert_eq!(log.matches(&warning).count(), 1, "{log}");
    assert!(log.contains(" WARN "), "{log}");
    let s = store.pool().servers();
    assert_eq!((s[2].reads, s[2].available), (0, false));
    assert_eq!(s[1].reads, 40);
}
