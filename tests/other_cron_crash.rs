//! The cron job killed while it extends the organiser's `freebusy-other` tables (issue 19,
//! item 5), on the file store: `check` afterwards is either sound, and then every table truly
//! reaches the recorded horizon and equals what the objects expand to, or it reports the table;
//! never silent.
//!
//! A child process (this test binary again, running `cron_child`) runs
//! [`refresh::regenerate`] for an organiser whose weekly events without end were accepted by
//! many attendees, each run a week later than the last (so every run rewrites every attendee's
//! table), printing `try K` before and `ack K` after each. The parent kills it with SIGKILL at a
//! random moment, again and again, and after each kill opens the store as the next caller would.
//!
//! Size: `CALSTORE_OTHER_KILLS` kills (default 12).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use calstore::recurrence::ExpandOptions;
use calstore::refresh::{self, Finding, Overrides};
use calstore::{agent, PrefName, Store, Table, User};
use chrono::{DateTime, Duration, DurationRound, Utc};

const ALICE: &str = "mailto:alice@example.com";
const CHILD_ENV: &str = "CALSTORE_OTHER_CRASH_CHILD";
const ATTENDEES: usize = 30;
const EVENTS: usize = 6;

fn alice() -> User {
    User::new(ALICE).unwrap()
}

fn attendee(i: usize) -> String {
    format!("mailto:a{i}@example.com")
}

fn day() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap() + Duration::days(1)
}

/// Event `e` as the organiser sends it (`method` REQUEST), or attendee `who`'s acceptance.
fn message(e: usize, who: Option<usize>) -> String {
    let start = day() + Duration::hours(8 + e as i64);
    let at = calstore::period::format_instant(start);
    let end = calstore::period::format_instant(start + Duration::minutes(45));
    let (method, attendees) = match who {
        None => (
            "REQUEST",
            (0..ATTENDEES)
                .map(|i| format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{}\r\n", attendee(i)))
                .collect::<String>(),
        ),
        Some(i) => (
            "REPLY",
            format!("ATTENDEE;PARTSTAT=ACCEPTED:{}\r\n", attendee(i)),
        ),
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//crash//EN\r\nMETHOD:{method}\r\n\
         BEGIN:VEVENT\r\nUID:e{e}\r\nSEQUENCE:0\r\nDTSTAMP:20260101T00{:02}00Z\r\n\
         DTSTART:{at}\r\nDTEND:{end}\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:e{e}\r\n\
         ORGANIZER:{ALICE}\r\n{attendees}END:VEVENT\r\nEND:VCALENDAR\r\n",
        who.map_or(0, |i| i % 50 + 1)
    )
}

/// The instant the cron run `k` counts its window from: a week later each run.
fn run_now(base: DateTime<Utc>, k: usize) -> DateTime<Utc> {
    base + Duration::weeks(k as i64)
}

async fn child_loop(store: calstore_file::FileStore, base: DateTime<Utc>, from: usize) {
    let settings = refresh::settings(&store, &alice(), &Overrides::default())
        .await
        .unwrap();
    for k in from.. {
        println!("try {k}");
        refresh::regenerate(&store, &alice(), &settings, run_now(base, k), false, false)
            .await
            .unwrap();
        println!("ack {k}");
    }
}

#[tokio::test]
async fn cron_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // run as a test on its own: nothing to do
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let base = calstore::period::parse_instant(&var("CALSTORE_OTHER_BASE")).unwrap();
    let from: usize = var("CALSTORE_OTHER_FROM").parse().unwrap();
    child_loop(calstore_file::FileStore::open_dir(dir).unwrap(), base, from).await;
}

/// A small generator for kill delays (no dependency for one number).
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

/// What the store says after a kill, checked against an expansion made here: returns whether
/// `check`'s comparison found anything. Panics when it found nothing although a table is wrong.
async fn verify(store: &calstore_file::FileStore, round: usize) -> bool {
    let a = alice();
    let providers = store.providers(&a).await.unwrap().value;
    let horizon = providers.window_end.expect("a horizon is recorded");
    let audit = refresh::audit(store, &a, Utc::now()).await.unwrap();
    let reported = audit
        .findings
        .iter()
        .any(|f| matches!(f, Finding::Other(_)));
    let opts = ExpandOptions {
        tz: chrono_tz::UTC,
        window_end: horizon,
        needs_action: false,
    };
    let uids: Vec<calstore::Uid> = (0..EVENTS)
        .map(|e| calstore::Uid::new(format!("e{e}")).unwrap())
        .collect();
    let families = store.load_events(&a, &uids).await.unwrap();
    let mut wrong = Vec::new();
    for i in 0..ATTENDEES {
        let who = User::new(attendee(i)).unwrap();
        let table = Table::Other(calstore::Other::new(attendee(i)).unwrap());
        let mut have: Vec<String> = store
            .freebusy(&a, &table)
            .await
            .unwrap()
            .value
            .into_iter()
            .filter(|p| p.start < horizon)
            .map(|p| p.to_line(false))
            .collect();
        let mut want: Vec<String> = Vec::new();
        for f in &families {
            let exp = refresh::expand_family(&who, f, &opts).unwrap();
            want.extend(exp.periods.into_iter().map(|p| p.to_line(false)));
        }
        have.sort();
        want.sort();
        if have != want {
            wrong.push(format!(
                "{}: {} rows before the horizon, {} expected",
                attendee(i),
                have.len(),
                want.len()
            ));
        }
    }
    assert!(
        wrong.is_empty() || reported,
        "round {round}: check says sound although tables are wrong: {wrong:?}"
    );
    reported
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_cron_killed_while_extending_attendee_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let a = alice();
    {
        let store = calstore_file::FileStore::open_dir(&dir).unwrap();
        store
            .set_preference(&a, &PrefName::new("window_size").unwrap(), Some("60"))
            .await
            .unwrap();
        for e in 0..EVENTS {
            agent::receive(&store, &a, message(e, None)).await.unwrap();
            // Every attendee accepts every other event.
            for i in (e % 2..ATTENDEES).step_by(2) {
                let d = agent::receive(&store, &a, message(e, Some(i)))
                    .await
                    .unwrap();
                assert_eq!(d.items[0].action, agent::Action::ReplyRecorded);
            }
        }
    }
    let base = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let kills: usize = std::env::var("CALSTORE_OTHER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut seed = Instant::now().elapsed().as_nanos() as u64 ^ 0x51_7cc1_b727_220a;
    let (mut from, mut longest, mut reported) = (0usize, StdDuration::from_millis(20), 0);
    for round in 0..kills {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["cron_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &dir)
            .env(
                "CALSTORE_OTHER_BASE",
                calstore::period::format_instant(base),
            )
            .env("CALSTORE_OTHER_FROM", from.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it finish a run or two (timing them), then kill it somewhere inside the next.
        let runs = 1 + next(&mut seed) % 2;
        let mut tried = None;
        let mut started = Instant::now();
        while let Some(Ok(line)) = lines.next() {
            if let Some(k) = line.strip_prefix("try ") {
                tried = Some(k.parse::<usize>().unwrap());
                started = Instant::now();
                if tried.unwrap() >= from + runs as usize {
                    break;
                }
            } else if line.starts_with("ack ") {
                longest = longest.max(started.elapsed());
            }
        }
        let wait = StdDuration::from_micros(next(&mut seed) % (longest.as_micros() as u64 + 1));
        std::thread::sleep(wait);
        child.kill().unwrap();
        child.wait().unwrap();
        let tried = tried.expect("the child started a run");
        let store = calstore_file::FileStore::open_dir(&dir).unwrap();
        if verify(&store, round).await {
            reported += 1;
        }
        from = tried + 1;
    }
    // The run after the last kill leaves everything sound.
    let store = calstore_file::FileStore::open_dir(&dir).unwrap();
    let settings = refresh::settings(&store, &a, &Overrides::default())
        .await
        .unwrap();
    let done = refresh::regenerate(&store, &a, &settings, run_now(base, from), false, false)
        .await
        .unwrap();
    assert_eq!(done.others, ATTENDEES);
    assert!(!verify(&store, kills).await, "sound after a full run");
    eprintln!("{kills} kills, runs up to {longest:?}; {reported} left a table that check reported");
}
