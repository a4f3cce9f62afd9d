//! The joint write on PostgreSQL (issue 20, "one transaction"): a store and a journal opened on
//! one database (each with its own pool) share transactions, on two databases they do not; and
//! a booking with a quota interrupted at any moment (its task aborted mid-flight, which drops
//! the transaction uncommitted) leaves the room's copy and rows and the quota's usage and copy
//! both or neither — with nothing pending for `recover`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use calstore::agent::resource::{self, Policy};
use calstore::journal::joint::shares_database;
use calstore::journal::{Limits, UsageTable};
use calstore::{Group, Journal, Quota, Store, Table, User};
use calstore_postgres::harness::server_or_skip;
use calstore_postgres::{PgJournal, PgOptions, PgStore};

const ROOM: &str = "mailto:room@example.com";
const ALICE: &str = "mailto:alice@example.com";

async fn database(test: &str) -> Option<String> {
    let server = server_or_skip(test)?;
    let db = server.fresh_database_async().await.unwrap();
    let url = db.url.clone();
    // Private-server databases live as long as the server; nothing to drop.
    std::mem::forget(db);
    Some(url)
}

fn request(u: &str, day: u32) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{u}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:209901{day:02}T090000Z\r\n\
DTEND:209901{day:02}T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:{u}\r\nORGANIZER:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_database_shares_two_do_not() {
    let (Some(a), Some(b)) = (
        database("joint (one database)").await,
        database("joint (two databases)").await,
    ) else {
        return;
    };
    let room = User::new(ROOM).unwrap();
    let q = Quota::new("rooms").unwrap();
    let store = PgStore::connect(&PgOptions::new(&a)).await.unwrap();
    let same = PgJournal::connect(&PgOptions::new(&a)).await.unwrap();
    let other = PgJournal::connect(&PgOptions::new(&b)).await.unwrap();
    assert!(shares_database(&store, &same, &room, &q).await.unwrap());
    assert!(!shares_database(&store, &other, &room, &q).await.unwrap());
    // One pool for both: shared too.
    let pooled = PgJournal::from_pool(store.pool(), false);
    assert!(shares_database(&store, &pooled, &room, &q).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_bookings_leave_both_or_neither() {
    let Some(url) = database("joint (interrupted bookings)").await else {
        return;
    };
    let store = PgStore::connect(&PgOptions::new(&url)).await.unwrap();
    let journal = PgJournal::connect(&PgOptions::new(&url)).await.unwrap();
    let room = User::new(ROOM).unwrap();
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), "PT100H".to_owned())].into();
    journal.set_limits(&q, &limits, None).await.unwrap();
    let policy = Policy {
        quota: Some(q.clone()),
        ..Policy::default()
    };
    let mut interrupted = 0;
    for i in 0..40u32 {
        let (s, j, p, r) = (store.clone(), journal.clone(), policy.clone(), room.clone());
        let text = request(&format!("b{i}"), 1 + i % 28);
        let task = tokio::spawn(async move { resource::book(&s, &j, &r, &text, &p).await });
        // Aborted after a delay that sweeps the booking's reads, its transaction and its commit.
        tokio::time::sleep(Duration::from_micros(u64::from(i) * 400)).await;
        task.abort();
        if task.await.is_err() {
            interrupted += 1;
        }
    }
    assert!(interrupted > 0, "no booking was interrupted");
    let rows = store.freebusy(&room, &Table::FreeBusy).await.unwrap().value;
    let held: BTreeSet<_> = rows.iter().map(|p| (p.uid.clone(), p.start)).collect();
    let group = UsageTable::Journal(Group::new(ALICE).unwrap());
    let used = journal.usage(&q, &group).await.unwrap().value;
    let charged: BTreeSet<_> = used.iter().map(|p| (p.uid.clone(), p.start)).collect();
    assert_eq!(
        held, charged,
        "the room's rows and the quota's usage are apart"
    );
    let copies = journal.list_events(&q).await.unwrap().active;
    let booked: BTreeSet<_> = rows.iter().map(|p| p.uid.clone()).collect();
    assert_eq!(copies.into_iter().collect::<BTreeSet<_>>(), booked);
    assert_eq!(
        resource::recover(&store, &journal, &q).await.unwrap(),
        resource::Recovered::default(),
        "something was left pending"
    );
}
