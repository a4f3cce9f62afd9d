//! Issue 21, item 1: a killed import never leaves free/busy stale. Fresh imports, re-imports of
//! changed events and cron runs (`make-freebusy`, with and without `--reset`) are killed with
//! SIGKILL at random instants, on both backends; after each kill the next `freebusy` (which
//! finishes an interrupted file-store batch) must equal a rebuild from the stored objects, before
//! any cron run repairs anything.
//!
//! Size: `CALSTORE_IMPORT_KILLS` kills per backend (default 12, a few seconds).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

#[path = "../../bench/src/torture/rng.rs"]
#[allow(dead_code)]
mod rng;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use calstore::period::Period;
use calstore::refresh::{self, Overrides};
use calstore::{Store, Table, User};
use support::*;

const ALICE: &str = "mailto:alice@example.com";
/// Two batches of the import (1,000 objects each) and a part of a third.
const EVENTS: usize = 2_300;

/// A calendar of `EVENTS` events: version `v` places each event `v` hours later; every 40th
/// recurs weekly without end, every 7th has a stored instance moved by an hour.
fn calendar(prefix: &str, v: u32) -> String {
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crash//EN\r\n");
    for i in 0..EVENTS {
        let day = 1 + (i % 28);
        let month = 1 + (i / 28) % 12;
        let hour = (8 + v as usize + i % 5) % 24;
        let start = format!("2027{month:02}{day:02}T{hour:02}0000Z");
        let end = format!("2027{month:02}{day:02}T{hour:02}4500Z");
        let rule = if i % 40 == 0 {
            "RRULE:FREQ=WEEKLY\r\n"
        } else if i % 7 == 0 {
            "RRULE:FREQ=DAILY;COUNT=3\r\n"
        } else {
            ""
        };
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{prefix}{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n\
             DTEND:{end}\r\nSUMMARY:v{v}\r\n{rule}END:VEVENT\r\n"
        ));
        if i % 7 == 0 && rule.starts_with("RRULE:FREQ=DAILY") {
            let next = format!("2027{month:02}{:02}T{hour:02}0000Z", day + 1);
            let moved = format!("2027{month:02}{:02}T{:02}0000Z", day + 1, (hour + 1) % 24);
            out.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:{prefix}{i}\r\nRECURRENCE-ID:{next}\r\n\
                 DTSTAMP:20260101T000000Z\r\nDTSTART:{moved}\r\nDURATION:PT30M\r\n\
                 SUMMARY:v{v} moved\r\nEND:VEVENT\r\n"
            ));
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// The rows before `horizon` (all rows when none), sorted, as comparable lines.
fn lines(periods: &[Period], horizon: Option<chrono::DateTime<chrono::Utc>>) -> Vec<String> {
    let mut v: Vec<String> = periods
        .iter()
        .filter(|p| horizon.is_none_or(|h| p.start < h))
        .map(|p| p.to_line(false))
        .collect();
    v.sort();
    v
}

/// After a kill: `freebusy` (the next reader) succeeds, and the table equals what the stored
/// objects expand to, up to the table's horizon.
fn table_matches_a_rebuild(place: &Place, what: &str) -> usize {
    let fb = place.calstore(&["freebusy", "--user", ALICE]);
    assert!(
        fb.status.success(),
        "{} {what}: freebusy failed: {}",
        place.name(),
        String::from_utf8_lossy(&fb.stderr)
    );
    let answered = String::from_utf8_lossy(&fb.stdout).lines().count();
    runtime().block_on(async {
        let opened = place.open(Duration::from_secs(10)).await;
        with_opened!(opened, s, _j => {
            let user = User::new(ALICE).unwrap();
            let table = s.freebusy(&user, &Table::FreeBusy).await.unwrap().value;
            assert_eq!(answered, table.len(), "{} {what}: freebusy printed the table", place.name());
            let horizon = s.providers(&user).await.unwrap().value.window_end;
            let settings = refresh::settings(&s, &user, &Overrides::default()).await.unwrap();
            let now = horizon.map_or_else(chrono::Utc::now, |h| {
                h - chrono::Duration::days(i64::from(settings.window_days))
            });
            let rebuilt = refresh::regenerate(&s, &user, &settings, now, true, true)
                .await
                .unwrap();
            assert!(rebuilt.skipped.is_empty(), "{:?}", rebuilt.skipped);
            let (have, want) = (lines(&table, horizon), lines(&rebuilt.table, horizon));
            if have != want {
                let extra: Vec<_> = have.iter().filter(|l| !want.contains(l)).take(5).collect();
                let missing: Vec<_> = want.iter().filter(|l| !have.contains(l)).take(5).collect();
                panic!(
                    "{} {what}: the table ({} rows) is not what the stored objects imply ({} rows)\n\
                     stale or extra: {extra:#?}\nmissing: {missing:#?}",
                    place.name(),
                    have.len(),
                    want.len()
                );
            }
            table.len()
        })
    })
}

fn command(place: &Place, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
    cmd.args(["--store", &place.store_arg()]).args(args);
    for var in [
        "CALSTORE_STORE",
        "CALSTORE_JOURNAL",
        "CALSTORE_PREFERENCES",
        "CALSTORE_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs the command and kills it after `delay` (if still running); whether it was killed.
fn kill_after(mut cmd: Command, delay: Duration) -> bool {
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    child.kill().ok(); // SIGKILL
    child.wait().unwrap();
    killed
}

fn killed_imports_leave_no_stale_rows(place: &Place) {
    let tmp = tempfile::tempdir().unwrap();
    let kills = env_number("CALSTORE_IMPORT_KILLS", 12);
    let mut rng = rng::Rng::new(0x2121 + kills as u64, 0);
    let path = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let versions: Vec<String> = (0..3)
        .map(|v| path(&format!("v{v}.ics"), &calendar("e", v)))
        .collect();
    // How long a whole import takes here: kills land anywhere within it.
    let started = Instant::now();
    let out = place.calstore(&["import", "--user", ALICE, &versions[0]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let span = started.elapsed().max(Duration::from_millis(50));
    table_matches_a_rebuild(place, "after a whole import");
    let (mut landed, mut fresh) = (0, 0);
    for k in 0..kills {
        let delay = Duration::from_micros(rng.below(span.as_micros() as u64 + 1));
        let (what, cmd) = match k % 4 {
            0 => {
                fresh += 1;
                let file = path(&format!("fresh{k}.ics"), &calendar(&format!("f{k}-"), 1));
                (
                    "fresh import",
                    command(place, &["import", "--user", ALICE, &file]),
                )
            }
            1 | 2 => {
                let file = &versions[1 + k % 2];
                (
                    "re-import of changed events",
                    command(place, &["import", "--user", ALICE, file]),
                )
            }
            _ => {
                let mut args = vec!["make-freebusy", ALICE];
                if k % 8 == 7 {
                    args.push("--reset");
                }
                ("cron run", command(place, &args))
            }
        };
        if kill_after(cmd, delay) {
            landed += 1;
        }
        table_matches_a_rebuild(place, &format!("kill {k} ({what}, after {delay:?})"));
    }
    figures(&format!(
        "import crash {}: {kills} runs, {landed} killed mid-run, {fresh} fresh imports, import span {span:?}",
        place.name()
    ));
    assert!(
        landed * 2 >= kills,
        "most runs must be killed mid-way: {landed} of {kills}"
    );
}

#[test]
fn file_store_killed_imports_leave_no_stale_rows() {
    killed_imports_leave_no_stale_rows(&Place::file());
}

#[test]
fn postgres_store_killed_imports_leave_no_stale_rows() {
    let Some(place) = Place::postgres("killed imports (postgres)") else {
        return;
    };
    killed_imports_leave_no_stale_rows(&place);
}
