//! The providers table under contention between processes (issue 13, item 2): `calstore import`
//! of weekly events without end runs while `make-freebusy --all` runs again and again in other
//! processes. Every imported event must stay in the providers table (else the cron job stops
//! extending it and the user looks free once the window passes) and have its periods.
//!
//! Each round runs on a fresh store. Size: `CALSTORE_RACE_ROUNDS` (default 4) rounds of
//! `CALSTORE_RACE_EVENTS` (default 150) events, per backend. `CALSTORE_RACE_ROUNDS=50` is the
//! issue's run (about five seconds a round here).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::*;

const ALICE: &str = "mailto:alice@example.com";

/// Cron processes running at once (two runs at once also make each other rebuild: a run that
/// reads the later window end of the other rebuilds the whole table).
const CRONS: usize = 3;

fn calstore(place: &Place, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_calstore"));
    cmd.args(["--store", &place.store_arg()]).args(args);
    for var in [
        "CALSTORE_STORE",
        "CALSTORE_JOURNAL",
        "CALSTORE_PREFERENCES",
        "CALSTORE_CONFIG",
        "CALSTORE_INSTANCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `n` weekly events without end, each its own UID `r<round>-e<i>`, starting yesterday (few
/// occurrences, so that each cron run is short and many runs meet the import).
fn weekly_events(round: usize, n: usize) -> String {
    let day = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y%m%d");
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//race//EN\r\n");
    for i in 0..n {
        text.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:r{round}-e{i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{day}T{:02}{:02}00Z\r\nDURATION:PT15M\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:weekly {round}/{i}\r\nEND:VEVENT\r\n",
            6 + i % 12,
            (i / 12 % 4) * 15
        ));
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

/// The uids in the providers table.
fn providers(place: &Place) -> BTreeSet<String> {
    let out = place.calstore(&["list", "--user", ALICE, "freebusy-providers"]);
    succeeded("list freebusy-providers", &out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect()
}

/// One round on a fresh store: a seed event and a first cron run (so that the later runs extend
/// the window, the providers-only path), then an import of `events` weekly events without end
/// while [`CRONS`] processes run `make-freebusy --all` again and again until it is done. Returns
/// the imported events that are not providers, and those without periods, afterwards.
fn round(place: &Place, round: usize, events: usize) -> (Vec<String>, Vec<String>, usize) {
    let files = tempfile::tempdir().unwrap();
    let seed = files.path().join("seed.ics");
    std::fs::write(&seed, weekly_events(999, 1)).unwrap();
    succeeded(
        "seed import",
        &place.calstore(&[
            "import",
            "--user",
            ALICE,
            "--window-days",
            "14",
            seed.to_str().unwrap(),
        ]),
    );
    succeeded("first cron", &place.calstore(&["make-freebusy", "--all"]));
    let path = files.path().join(format!("round-{round}.ics"));
    std::fs::write(&path, weekly_events(round, events)).unwrap();
    let import = calstore(place, &["import", "--user", ALICE, path.to_str().unwrap()])
        .spawn()
        .expect("spawn import");
    let stop = Arc::new(AtomicBool::new(false));
    let crons: Vec<_> = (0..CRONS)
        .map(|_| {
            let stop = Arc::clone(&stop);
            let mut cmd = calstore(place, &["make-freebusy", "--all"]);
            std::thread::spawn(move || {
                let mut runs = 0;
                // At least once, until the import is done.
                loop {
                    let out = cmd.output().expect("run make-freebusy");
                    succeeded("make-freebusy --all", &out);
                    runs += 1;
                    if stop.load(Ordering::SeqCst) {
                        return runs;
                    }
                }
            })
        })
        .collect();
    let imported = import.wait_with_output().expect("import output");
    stop.store(true, Ordering::SeqCst);
    let cron_runs = crons
        .into_iter()
        .map(|c| c.join().expect("cron thread"))
        .sum();
    succeeded("import", &imported);
    let mut expected: BTreeSet<String> = (0..events).map(|i| format!("r{round}-e{i}")).collect();
    expected.insert("r999-e0".to_owned());
    let missing = expected.difference(&providers(place)).cloned().collect();
    let table = place.calstore(&["freebusy", "--user", ALICE]);
    succeeded("freebusy", &table);
    let table = String::from_utf8_lossy(&table.stdout);
    let with_rows: BTreeSet<&str> = table.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    let without = expected
        .iter()
        .filter(|u| !with_rows.contains(u.as_str()))
        .cloned()
        .collect();
    succeeded("check", &place.calstore(&["check"]));
    (missing, without, cron_runs)
}

fn race(mut place: impl FnMut() -> Option<Place>) {
    let rounds = env_number("CALSTORE_RACE_ROUNDS", 4);
    let events = env_number("CALSTORE_RACE_EVENTS", 150);
    let mut losses = Vec::new();
    let mut cron_runs = 0;
    let mut name = "";
    for r in 0..rounds {
        let Some(place) = place() else { return };
        name = place.name();
        let (missing, without, runs) = round(&place, r, events);
        cron_runs += runs;
        if !missing.is_empty() || !without.is_empty() {
            losses.push(format!(
                "round {r}: {} providers lost (first {:?}), {} events without periods",
                missing.len(),
                missing.first(),
                without.len()
            ));
        }
    }
    figures(&format!(
        "providers race ({name}): {rounds} rounds of {events} events, {cron_runs} cron runs, {} rounds with losses",
        losses.len()
    ));
    assert!(losses.is_empty(), "{}", losses.join("\n"));
}

#[test]
fn file_store_keeps_every_provider_while_the_cron_job_runs() {
    race(|| Some(Place::file()));
}

#[test]
fn postgres_store_keeps_every_provider_while_the_cron_job_runs() {
    race(|| Place::postgres("providers race (postgres)"));
}
