//! An agent step killed midway leaves all of it or nothing, on the file store and PostgreSQL.
//!
//! A child process (this test binary again, running `crash_child`) records events without end
//! with [`agent::record_event`] — object, periods in a `freebusy` table that carries thousands
//! of background lines (so each step is a long rewrite and kills land inside it), provider mark —
//! printing `try K` before and `ack K` after each. The parent kills it with SIGKILL at a random
//! moment, again and again, and after each kill opens the store as the next caller would and
//! checks every event: object, periods and provider all there, or none of them; every
//! acknowledged event all there; the background intact.
//!
//! Size: `CALSTORE_AGENT_KILLS` kills per backend (default 10).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use calstore::{agent, Period, PrefName, Store, Table, Uid, User};
use chrono::{DurationRound, Utc};

const ALICE: &str = "mailto:alice@example.com";
const BACKGROUND: usize = 10_000;
const CHILD_ENV: &str = "CALSTORE_AGENT_CRASH_CHILD";

fn alice() -> User {
    User::new(ALICE).unwrap()
}

fn message(k: usize) -> String {
    let start = Utc::now()
        .duration_trunc(chrono::Duration::days(1))
        .unwrap()
        + chrono::Duration::days(1)
        + chrono::Duration::minutes(k as i64 % 600);
    let at = calstore::period::format_instant(start);
    let end = calstore::period::format_instant(start + chrono::Duration::minutes(30));
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//crash//EN\r\nMETHOD:REQUEST\r\n\
         BEGIN:VEVENT\r\nUID:e{k}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{at}\r\nDTEND:{end}\r\n\
         RRULE:FREQ=DAILY\r\nSUMMARY:e{k}\r\nORGANIZER:{ALICE}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn background() -> Vec<Period> {
    let base = calstore::period::parse_instant("20200101T000000Z").unwrap();
    (0..BACKGROUND)
        .map(|i| {
            let s = base + chrono::Duration::hours(i as i64);
            Period::new(
                s,
                s + chrono::Duration::minutes(30),
                Uid::new("bg").unwrap(),
                None,
            )
            .unwrap()
        })
        .collect()
}

/// What each event has in the store: (object, periods, provider), read once.
struct Seen {
    objects: Vec<Uid>,
    table: Vec<Period>,
    providers: Vec<Uid>,
}

impl Seen {
    async fn read<S: Store>(store: &S) -> Seen {
        let a = alice();
        Seen {
            objects: store.list_events(&a).await.unwrap().active,
            table: store.freebusy(&a, &Table::FreeBusy).await.unwrap().value,
            providers: store
                .providers(&a)
                .await
                .unwrap()
                .value
                .events
                .into_iter()
                .map(|(u, _)| u)
                .collect(),
        }
    }

    fn of(&self, k: usize) -> (bool, usize, bool) {
        let uid = Uid::new(format!("e{k}")).unwrap();
        (
            self.objects.contains(&uid),
            self.table.iter().filter(|p| p.uid == uid).count(),
            self.providers.contains(&uid),
        )
    }
}

/// The child: records events from `from` on until killed.
async fn child_loop<S: Store>(store: S, from: usize) {
    for k in from.. {
        println!("try {k}");
        agent::record_event(&store, &alice(), &message(k))
            .await
            .unwrap();
        println!("ack {k}");
    }
}

#[tokio::test]
async fn crash_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return; // run as a test on its own: nothing to do
    };
    let from: usize = std::env::var("CALSTORE_AGENT_FROM")
        .unwrap()
        .parse()
        .unwrap();
    if let Some(dir) = target.strip_prefix("file:") {
        child_loop(calstore_file::FileStore::open_dir(dir).unwrap(), from).await;
    } else if let Some(url) = target.strip_prefix("postgres:") {
        let store = calstore_postgres::PgStore::connect(&calstore_postgres::PgOptions::new(url))
            .await
            .unwrap();
        child_loop(store, from).await;
    }
}

/// A small generator for kill delays (no dependency for one number).
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

/// Kills the child `kills` times and checks the store after each; `open` opens it as the next
/// caller would. Returns how many kills found a step in flight.
async fn torture<S: Store, F, Fut>(target: &str, kills: usize, open: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut seed = Instant::now().elapsed().as_nanos() as u64 ^ 0x9e37_79b9;
    let mut from = 0usize;
    let mut in_flight = 0;
    let mut acknowledged = std::collections::BTreeSet::new();
    for round in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, target)
            .env("CALSTORE_AGENT_FROM", from.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it finish a few steps, then kill it some milliseconds into the next one.
        let steps = 1 + next(&mut seed) % 3;
        let (mut acked, mut tried) = (None, None);
        let mut started = Instant::now();
        while let Some(Ok(line)) = lines.next() {
            if let Some(k) = line.strip_prefix("try ") {
                tried = Some(k.parse::<usize>().unwrap());
                started = Instant::now();
                if tried.unwrap() >= from + steps as usize {
                    break;
                }
            } else if let Some(k) = line.strip_prefix("ack ") {
                acked = Some(k.parse::<usize>().unwrap());
                acknowledged.insert(k.parse::<usize>().unwrap());
            }
        }
        let wait = Duration::from_micros(next(&mut seed) % 60_000);
        std::thread::sleep(wait.saturating_sub(started.elapsed()));
        child.kill().unwrap();
        child.wait().unwrap();
        // Drain what it printed before dying.
        for line in lines.map_while(Result::ok) {
            if let Some(k) = line.strip_prefix("ack ") {
                acked = Some(k.parse::<usize>().unwrap());
                acknowledged.insert(k.parse::<usize>().unwrap());
            }
        }
        let tried = tried.expect("the child started a step");
        let store = open().await;
        let seen = Seen::read(&store).await;
        for k in 0..=tried {
            let (object, periods, provider) = seen.of(k);
            let all = object && periods > 0 && provider;
            let none = !object && periods == 0 && !provider;
            assert!(
                all || none,
                "{target}, round {round}: event e{k} is half there: object {object}, {periods} \
                 periods, provider {provider}"
            );
            if acknowledged.contains(&k) {
                assert!(
                    all,
                    "{target}, round {round}: acknowledged e{k} is not all there: object \
                     {object}, {periods} periods, provider {provider}; from {from}, tried \
                     {tried}, acked {acked:?}"
                );
            }
            if k == tried && acked.is_none_or(|a| a < tried) && all {
                in_flight += 1;
            }
        }
        let table = store
            .freebusy(&alice(), &Table::FreeBusy)
            .await
            .unwrap()
            .value;
        let bg = table.iter().filter(|p| p.uid.as_str() == "bg").count();
        assert_eq!(bg, BACKGROUND, "{target}, round {round}: background lost");
        from = tried + 1;
    }
    in_flight
}

async fn prepare<S: Store>(store: &S) {
    store
        .set_preference(&alice(), &PrefName::new("window_size").unwrap(), Some("30"))
        .await
        .unwrap();
    store
        .set_freebusy(&alice(), &Table::FreeBusy, background(), None)
        .await
        .unwrap();
}

fn kills() -> usize {
    std::env::var("CALSTORE_AGENT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_steps_are_all_or_nothing_across_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    prepare(&calstore_file::FileStore::open_dir(&dir).unwrap()).await;
    let target = format!("file:{}", dir.display());
    let open = || async { calstore_file::FileStore::open_dir(&dir).unwrap() };
    let finished = torture(&target, kills(), open).await;
    eprintln!("file store: {finished} killed steps were found complete after the kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_steps_are_all_or_nothing_across_kills() {
    use calstore_postgres::{harness, PgOptions, PgStore};
    let Some(server) = harness::server_or_skip("agent crash (postgres)") else {
        return;
    };
    let db = server.fresh_database_async().await.unwrap();
    let url = db.url().to_owned();
    let open = || async { PgStore::connect(&PgOptions::new(&url)).await.unwrap() };
    prepare(&open().await).await;
    let target = format!("postgres:{url}");
    let finished = torture(&target, kills(), open).await;
    eprintln!("postgres: {finished} killed steps were found committed after the kill");
}
