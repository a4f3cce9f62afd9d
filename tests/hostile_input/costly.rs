//! Small inputs that used to cost a great deal (issue 13, items 1 and 6), each read and expanded
//! in a child process (this test binary run again for `child_reads_and_expands`) under a
//! virtual-memory limit (`ulimit -v` through `sh`, as the crate forbids unsafe code), with its
//! wall time measured and its peak resident memory (VmHWM) reported by the child itself.

use std::process::Command;
use std::time::{Duration, Instant};

use calstore::object::split_calendar;
use calstore::recurrence::{expand, ExpandOptions};
use calstore::{EventStatus, User};

/// The child's address-space limit: the costly rule took 1.5 GB before the fix.
const ADDRESS_SPACE_KB: u64 = 1024 * 1024;
/// Peak resident memory the child may reach (the test binary itself takes about 10 MB).
const PEAK_RSS_KB: u64 = 48 * 1024;
/// Wall time the child may take (a debug build on a shared machine; the slowest input takes
/// under 2 s there, and a release build is several times faster).
const WALL: Duration = Duration::from_secs(5);

fn event(body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\nBEGIN:VEVENT\r\nUID:hostile-7\r\n\
         DTSTAMP:20260101T000000Z\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A VTIMEZONE whose observances repeat every second, or never match.
fn zone_calendar() -> String {
    let obs = |kind: &str, rule: &str| {
        format!(
            "BEGIN:{kind}\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
             RRULE:{rule}\r\nEND:{kind}\r\n"
        )
    };
    let mut zone = String::from("BEGIN:VTIMEZONE\r\nTZID:Hostile\r\n");
    for rule in [
        "FREQ=SECONDLY",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYSETPOS=-1",
    ] {
        zone.push_str(&obs("DAYLIGHT", rule));
    }
    zone.push_str("END:VTIMEZONE\r\n");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n{zone}BEGIN:VEVENT\r\n\
         UID:hostile-7\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Hostile:20260105T090000\r\n\
         DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn all(n: u32) -> String {
    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

fn inputs() -> Vec<(&'static str, String)> {
    vec![
        (
            "every second of the year (issue 13.6)",
            event(&format!(
                "DTSTART:20260105T090000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=YEARLY;BYMONTH={};\
                 BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}\r\n",
                (1..=12)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                all(24),
                all(60),
                all(60)
            )),
        ),
        (
            "every second, the last of each year (BYSETPOS)",
            event(&format!(
                "DTSTART:20260105T090000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=YEARLY;BYDAY=MO,TU,WE,TH,\
                 FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={};BYSETPOS=-1,1\r\n",
                all(24),
                all(60),
                all(60)
            )),
        ),
        (
            "a never-matching SECONDLY rule",
            event("DTSTART:20260105T090000Z\r\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n"),
        ),
        (
            "DURATION:P99999999W (issue 13.1)",
            event(
                "DTSTART:20260105T090000Z\r\nDURATION:P99999999W\r\nRRULE:FREQ=DAILY;COUNT=3\r\n",
            ),
        ),
        (
            "DURATION:PT9999999999999S (issue 13.1)",
            event("DTSTART:20260105T090000Z\r\nDURATION:PT9999999999999S\r\n"),
        ),
        (
            "an all-day DURATION:P99999999W",
            event("DTSTART;VALUE=DATE:20260105\r\nDURATION:P99999999W\r\nRRULE:FREQ=WEEKLY\r\n"),
        ),
        (
            "an RDATE period of P99999999W",
            event("DTSTART:20260105T090000Z\r\nRDATE;VALUE=PERIOD:20260106T090000Z/P99999999W\r\n"),
        ),
        (
            "VTIMEZONE observances that never end or never match",
            zone_calendar(),
        ),
        (
            "twenty RRULEs that never match",
            event(&format!(
                "DTSTART:20260105T090000Z\r\n{}",
                "RRULE:FREQ=DAILY;COUNT=2;BYMONTH=2;BYMONTHDAY=30\r\n".repeat(20)
            )),
        ),
        (
            "twenty dense RRULEs",
            event(&format!(
                "DTSTART:20260105T090000Z\r\n{}",
                (1..=20)
                    .map(|i| format!("RRULE:FREQ=MINUTELY;INTERVAL={i}\r\n"))
                    .collect::<String>()
            )),
        ),
    ]
}

/// What the child does: read the calendar in `HOSTILE_INPUT`, expand every event as the cron
/// job would (a year's window), print the outcome and its peak resident memory. Run only as a
/// child of `costly_inputs_are_bounded_in_a_child_process`.
#[test]
fn child_reads_and_expands() {
    let Ok(text) = std::env::var("HOSTILE_INPUT") else {
        return; // not run as the child
    };
    let opts = ExpandOptions {
        tz: chrono_tz::Europe::Oslo,
        window_end: calstore::period::parse_instant("20270105T000000Z").unwrap(),
        needs_action: true,
    };
    let user = User::new("mailto:alice@example.com").unwrap();
    let outcome = match split_calendar(&text) {
        Err(e) => format!("refused: {e}"),
        Ok(objects) => {
            let instances: Vec<(calstore::EventObject, EventStatus)> = Vec::new();
            match expand(&user, objects.first(), &instances, &opts) {
                Ok(e) => format!("{} periods", e.periods.len()),
                Err(e) => format!("refused: {e}"),
            }
        }
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("\nOUTCOME {outcome}");
    println!("PEAK_KB {peak}");
}

#[test]
fn costly_inputs_are_bounded_in_a_child_process() {
    let me = std::env::current_exe().unwrap();
    let mut report = Vec::new();
    for (what, text) in inputs() {
        assert!(text.len() < 2048, "{what}: the input should be small");
        let started = Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""
            ))
            .arg(&me)
            .args([
                "--exact",
                "hostile_input::costly::child_reads_and_expands",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("HOSTILE_INPUT", &text)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{what}: the child failed ({:?}; a panic or the memory limit):\n{stdout}\n{stderr}",
            out.status
        );
        let outcome = stdout
            .lines()
            .find_map(|l| l.strip_prefix("OUTCOME "))
            .unwrap_or_else(|| panic!("{what}: the child did not run the expansion:\n{stdout}"));
        let peak: u64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PEAK_KB "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(took < WALL, "{what}: took {took:?} ({outcome})");
        assert!(
            peak < PEAK_RSS_KB,
            "{what}: peak memory {peak} kB ({outcome})"
        );
        if outcome.starts_with("refused") {
            assert!(
                outcome.contains("hostile-7"),
                "{what}: the refusal names no UID: {outcome}"
            );
        }
        report.push(format!("{what}: {outcome} in {took:.2?}, peak {peak} kB"));
    }
    eprintln!("FIGURES costly inputs:\n  {}", report.join("\n  "));
}
