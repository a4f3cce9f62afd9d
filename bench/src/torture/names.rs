//! The names, instants and texts that the torture workloads write and the tests in `cli/tests/`
//! check. The tests include this file with `#[path]`, so both sides agree by construction.

#![allow(dead_code)]

use calstore::{Group, Other, Period, Quota, Uid, User};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// The user whose queue, own free/busy table and objects the workloads share.
pub const ALICE: &str = "mailto:alice@example.com";
/// A resource booked with capacity 1 (half the attempts collide).
pub const ROOM: &str = "mailto:room@example.com";
/// A resource booked with capacity 2.
pub const DESKS: &str = "mailto:desks@example.com";
/// The other participant whose table is written with versioned read-modify-write cycles.
pub const SHARED_OTHER: &str = "mailto:shared@example.com";
/// The other participant whose table the crash workload replaces whole.
pub const BULK_OTHER: &str = "mailto:bulk@example.com";
/// The quota group of the contention and crash workloads.
pub const QUOTA: &str = "mailto:rooms@example.com";
/// The group whose usage is limited in the contention workload.
pub const TEAM: &str = "team";
/// The group whose usage the crash workload replaces.
pub const CRASH_GROUP: &str = "crash";
/// The limit of [`TEAM`] in hours (set by the `setup` workload).
pub const TEAM_LIMIT_HOURS: i64 = 40;
/// Background periods in alice's `freebusy` (crash setup): every change copies them.
pub const BG_PERIODS: usize = 3000;
/// Background entries in alice's queue (crash setup).
pub const BG_REQUESTS: usize = 300;
/// Background periods in the crash group's usage table (crash setup).
pub const BG_USAGE: usize = 1000;
/// Periods written by one whole-table replacement in the crash workload.
pub const BULK_PERIODS: usize = 1500;
/// Keys per kind that the crash workload cycles through.
pub const CRASH_KEYS: usize = 8;

/// The first instant the workloads use: Monday 7 January 2030, 00:00 UTC (far enough ahead that
/// nothing expires during a run).
pub fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A user key (the names above are valid keys).
pub fn user(name: &str) -> User {
    User::new(name).unwrap_or_else(|e| panic!("bad user {name:?}: {e}"))
}

/// A uid key.
pub fn uid(name: &str) -> Uid {
    Uid::new(name).unwrap_or_else(|e| panic!("bad uid {name:?}: {e}"))
}

/// An other-participant key.
pub fn other(name: &str) -> Other {
    Other::new(name).unwrap_or_else(|e| panic!("bad other {name:?}: {e}"))
}

/// A quota key.
pub fn quota(name: &str) -> Quota {
    Quota::new(name).unwrap_or_else(|e| panic!("bad quota {name:?}: {e}"))
}

/// A group key.
pub fn group(name: &str) -> Group {
    Group::new(name).unwrap_or_else(|e| panic!("bad group {name:?}: {e}"))
}

/// A busy period of the parent event `uid` from `start` for `minutes`, with `summary`.
pub fn period(uid_text: &str, start: DateTime<Utc>, minutes: i64, summary: &str) -> Period {
    let mut p = Period::new(
        start,
        start + Duration::minutes(minutes),
        uid(uid_text),
        None,
    )
    .unwrap_or_else(|e| panic!("bad period: {e}"));
    p.summary = Some(summary.to_owned());
    p
}

/// The room reservation of slot `s`: one hour from `base + s × 30 min`, so neighbouring slots
/// overlap by half an hour.
pub fn room_slot(uid_text: &str, s: u64) -> Period {
    let start = base() + Duration::minutes(30 * i64::try_from(s).unwrap_or(0));
    period(uid_text, start, 60, uid_text)
}

/// The desk reservation of slot `s`: the hour `base + s h`.
pub fn desk_slot(uid_text: &str, s: u64) -> Period {
    let start = base() + Duration::hours(i64::try_from(s).unwrap_or(0));
    period(uid_text, start, 60, uid_text)
}

/// The `n`-th of `count` periods written with `tag` for the event `uid` (spread over days so the
/// lines sort among the background lines).
pub fn tagged_period(uid_text: &str, tag: &str, n: usize) -> Period {
    let start = base() + Duration::hours(i64::try_from(n * 37 % 2000).unwrap_or(0));
    period(uid_text, start, 45, tag)
}

/// Background period `i` (crash setup).
pub fn bg_period(i: usize) -> Period {
    let start = base() + Duration::minutes(i64::try_from(i * 20).unwrap_or(0));
    let mut p = period("bg", start, 15, &format!("background {i}"));
    p.organiser = Some("mailto:organiser@example.com".to_owned());
    p
}

/// An iCalendar object with one VEVENT of `uid` whose SUMMARY is `summary`.
pub fn event_text(uid_text: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//torture//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid_text}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300107T090000Z\r\n\
         DTEND:20300107T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}
