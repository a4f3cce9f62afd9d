//! Random sequences of iTIP messages — shuffled, duplicated, instance-level, cancels before
//! their series, the attendee's replies for the series and for single instances — applied with
//! `agent::receive` on MemoryStore, the file store and PostgreSQL: after every sequence all
//! three hold the same `freebusy` table, equal to a rebuild from the final objects, and the same
//! `freebusy-other` table of the attendee, which `check` finds equal to a rebuild; delivering
//! the same messages in SEQUENCE order gives the same tables. A reply is delivered only after
//! the organiser's own version it answers (the organiser stores a version before sending it).
//!
//! 200 sequences by default; `CALSTORE_ITIP_SEQUENCES=N` runs N (scripts/test runs the
//! default). Each sequence is reproducible from its number (printed on failure).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::agent;
use calstore::memory::MemoryStore;
use calstore::refresh::{self, Overrides};
use calstore::{ErrorKind, Store, Table, User};
use calstore_file::FileStore;
use chrono::{DateTime, Duration, DurationRound, Utc};

/// A small deterministic generator (xorshift64*): a failing sequence is replayed from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One message and its version, for delivering in order.
#[derive(Clone)]
struct Msg {
    text: String,
    /// (SEQUENCE, DTSTAMP minutes): the order RFC 5546 applies.
    version: (u32, i64),
    /// For a REPLY: the SEQUENCE it answers.
    answers: Option<u32>,
    /// The occurrence (week number) of an instance's message.
    week: Option<i32>,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The pool of messages about one weekly event of `organiser`: three versions of the series
/// (moved, shortened — which drops the fourth occurrence —, with an EXDATE), overrides and
/// instance cancellations of the second and fourth occurrence in three versions each, a
/// cancellation of the whole event, and Bob's replies to each version of the series, for the
/// series and for the second and fourth occurrence on their own.
fn pool(organiser: &str, base: DateTime<Utc>) -> Vec<Msg> {
    let week = Duration::weeks(1);
    let epoch = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let partstat = |seq: u32| ["TENTATIVE", "ACCEPTED", "DECLINED"][seq as usize % 3];
    let one = |method: &str,
               seq: u32,
               minutes: i64,
               start: DateTime<Utc>,
               rid: Option<DateTime<Utc>>,
               extra: &str| {
        Msg {
        text: format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//property//EN\r\nMETHOD:{method}\r\n\
             BEGIN:VEVENT\r\nUID:prop\r\nSEQUENCE:{seq}\r\nDTSTAMP:{}\r\n{}DTSTART:{}\r\nDTEND:{}\r\n\
             {extra}SUMMARY:prop\r\nORGANIZER:{organiser}\r\n\
             ATTENDEE;PARTSTAT={}:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            stamp(epoch + Duration::minutes(minutes)),
            rid.map(|r| format!("RECURRENCE-ID:{}\r\n", stamp(r)))
                .unwrap_or_default(),
            stamp(start),
            stamp(start + Duration::hours(1)),
            if method == "REPLY" { partstat(seq) } else { "NEEDS-ACTION" },
        ),
        version: (seq, minutes),
        answers: (method == "REPLY").then_some(seq),
        week: rid.map(|r| ((r - base).num_days() / 7) as i32),
    }
    };
    let mut out = vec![
        one("REQUEST", 0, 0, base, None, "RRULE:FREQ=WEEKLY;COUNT=5\r\n"),
        one(
            "REQUEST",
            1,
            10,
            base,
            None,
            "RRULE:FREQ=WEEKLY;COUNT=3\r\n",
        ),
        one(
            "REQUEST",
            2,
            20,
            base,
            None,
            &format!(
                "RRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE:{}\r\n",
                stamp(base + week * 2)
            ),
        ),
        one("CANCEL", 3, 30, base, None, ""),
    ];
    for k in [1, 3] {
        let occ = base + week * k;
        for seq in 0..3u32 {
            let minutes = i64::from(seq) * 10 + 1 + i64::from(k);
            let moved = occ + Duration::hours(i64::from(seq) + 2);
            out.push(one("REQUEST", seq, minutes, moved, Some(occ), ""));
            out.push(one("CANCEL", seq, minutes + 5, occ, Some(occ), ""));
            // Bob answers that occurrence of the series' version `seq` on its own.
            out.push(one("REPLY", seq, minutes + 7, occ, Some(occ), ""));
        }
    }
    for seq in 0..3u32 {
        let minutes = i64::from(seq) * 10 + 9;
        out.push(one("REPLY", seq, minutes, base, None, ""));
    }
    out
}

async fn deliver<S: Store>(s: &S, u: &User, text: &str) {
    for _ in 0..20 {
        match agent::receive(s, u, text).await {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            r => {
                r.unwrap();
                return;
            }
        }
    }
    panic!("stale 20 times");
}

/// The table as text, checked equal to a rebuild from the objects.
async fn table<S: Store>(s: &S, u: &User, what: &str, seed: u64) -> Vec<String> {
    let lines =
        |ps: &[calstore::Period]| -> Vec<String> { ps.iter().map(|p| p.to_line(false)).collect() };
    let stored = s.freebusy(u, &Table::FreeBusy).await.unwrap().value;
    let settings = refresh::settings(s, u, &Overrides::default())
        .await
        .unwrap();
    let rebuilt = refresh::regenerate(s, u, &settings, Utc::now(), true, true)
        .await
        .unwrap();
    assert_eq!(
        lines(&stored),
        lines(&rebuilt.table),
        "sequence {seed} on {what}: the table disagrees with a rebuild"
    );
    lines(&stored)
}

/// Bob's `freebusy-other` table as text; `check` finds every table of `u` equal to a rebuild.
async fn bobs<S: Store>(s: &S, u: &User, what: &str, seed: u64) -> Vec<String> {
    let bob = Table::Other(calstore::Other::new("mailto:bob@example.com").unwrap());
    let rows = s.freebusy(u, &bob).await.unwrap().value;
    let audit = refresh::audit(s, u, Utc::now()).await.unwrap();
    assert!(
        audit.findings.is_empty(),
        "sequence {seed} on {what}: {:?}",
        audit.findings
    );
    rows.iter().map(|p| p.to_line(false)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_message_sequences_agree_everywhere() {
    let count: u64 = std::env::var("CALSTORE_ITIP_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let base = Utc::now().duration_trunc(Duration::days(1)).unwrap()
        + Duration::days(1)
        + Duration::hours(9);
    let dir = tempfile::tempdir().unwrap();
    let file = FileStore::open_dir(dir.path().join("store")).unwrap();
    let memory = MemoryStore::new();
    let pg = match calstore_postgres::harness::server_or_skip("itip property test") {
        None => None,
        Some(server) => {
            let db = server
                .fresh_database_async()
                .await
                .expect("a test database");
            let store =
                calstore_postgres::PgStore::connect(&calstore_postgres::PgOptions::new(db.url()))
                    .await
                    .expect("connect");
            Some((db, store))
        }
    };
    for seed in 0..count {
        let mut rng = Rng::new(seed + 1);
        let user = User::new(format!("mailto:alice{seed}@example.com")).unwrap();
        let ordered_user = User::new(format!("mailto:alice{seed}@example.org")).unwrap();
        let all = pool(user.as_str(), base);
        let n = 3 + rng.below(8);
        let mut picked: Vec<Msg> = Vec::with_capacity(n);
        for _ in 0..n {
            let m = &all[rng.below(all.len())];
            // A reply comes after the organiser's version it answers: the series REQUEST of
            // that SEQUENCE when it has the occurrence (version 1 ends after the third week),
            // or the organiser's own REQUEST for that instance and SEQUENCE.
            let sent = |seq: u32| {
                picked.iter().any(|p| {
                    p.answers.is_none()
                        && p.version.0 == seq
                        && p.text.contains("METHOD:REQUEST")
                        && match (p.week, m.week) {
                            (None, None) => true,
                            (None, Some(w)) => seq != 1 || w < 3,
                            (Some(a), Some(b)) => a == b,
                            (Some(_), None) => false,
                        }
                })
            };
            if m.answers.is_none_or(sent) {
                picked.push(m.clone());
            }
        }
        if std::env::var_os("ITIP_SHOW").is_some() && seed + 1 == count {
            for m in &picked {
                eprintln!(
                    "{:?} {}",
                    m.version,
                    m.text
                        .lines()
                        .filter(|l| l.starts_with("METHOD")
                            || l.starts_with("RECURRENCE")
                            || l.starts_with("RRULE")
                            || l.starts_with("DTSTART"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
            }
        }
        for m in &picked {
            deliver(&memory, &user, &m.text).await;
            deliver(&file, &user, &m.text).await;
            if let Some((_, pg)) = &pg {
                deliver(pg, &user, &m.text).await;
            }
        }
        let on_memory = table(&memory, &user, "memory", seed).await;
        assert_eq!(
            on_memory,
            table(&file, &user, "files", seed).await,
            "sequence {seed}: memory and files differ"
        );
        let bob_on_memory = bobs(&memory, &user, "memory", seed).await;
        assert_eq!(
            bob_on_memory,
            bobs(&file, &user, "files", seed).await,
            "sequence {seed}: Bob's table differs between memory and files"
        );
        if let Some((_, pg)) = &pg {
            assert_eq!(
                on_memory,
                table(pg, &user, "postgres", seed).await,
                "sequence {seed}: memory and PostgreSQL differ"
            );
            assert_eq!(
                bob_on_memory,
                bobs(pg, &user, "postgres", seed).await,
                "sequence {seed}: Bob's table differs between memory and PostgreSQL"
            );
        }
        // The same messages in SEQUENCE (then DTSTAMP) order give the same table.
        let mut in_order = picked.clone();
        in_order.sort_by_key(|m| m.version);
        let org = ordered_user.as_str();
        for m in &in_order {
            let text = m.text.replace(user.as_str(), org);
            deliver(&memory, &ordered_user, &text).await;
        }
        let ordered = table(&memory, &ordered_user, "memory, in order", seed).await;
        let rename = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .map(|l| l.replace(user.as_str(), org))
                .collect()
        };
        assert_eq!(
            rename(on_memory),
            ordered,
            "sequence {seed}: delivery order changed the result where SEQUENCE decides"
        );
        assert_eq!(
            rename(bob_on_memory),
            bobs(&memory, &ordered_user, "memory, in order", seed).await,
            "sequence {seed}: delivery order changed Bob's table where SEQUENCE decides"
        );
    }
}
