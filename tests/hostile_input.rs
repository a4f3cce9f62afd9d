//! Hostile input, as property tests: identifiers (path separators, `..`, leading dots, NUL,
//! control characters, very long), free/busy lines (every field holding TAB, CR, LF,
//! backslash), file names and table bytes that are not UTF-8, and iCalendar text (truncated,
//! wrongly nested, huge or never-matching RRULEs, unknown TZIDs, DTEND before DTSTART). Each
//! input is stored and read back exactly, or refused with invalid input (corrupt data for bytes
//! found on disk); nothing panics, nothing is written outside the store's roots, a refused write
//! leaves no trace, and expansion stays bounded in time and size.
//!
//! Case counts are modest (`PROPTEST_CASES` raises them); the PostgreSQL cases skip loudly where
//! no server can be had (and fail under `CI=true`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use calstore::id::{decode_component, encode_component, MAX_ENCODED_LEN};
use calstore::object::{split_calendar, EventObject};
use calstore::recurrence::MAX_OCCURRENCES;
use calstore::{
    ErrorKind, FbType, Group, Journal, Other, Period, QueueKind, Quota, Rid, Store, Table, Uid,
    UsageTable, User,
};
use calstore_file::{FileJournal, FileJournalOptions, FileStore, FileStoreOptions};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn cases(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        ..ProptestConfig::default()
    }
}

/// A file store, journal and preferences under `dir` (which holds nothing else).
fn file_store(dir: &Path) -> (FileStore, FileJournal) {
    let store = FileStore::open(FileStoreOptions::new(
        dir.join("store"),
        dir.join("preferences"),
    ))
    .unwrap();
    let journal = FileJournal::open(FileJournalOptions::new(dir.join("journal"))).unwrap();
    (store, journal)
}

/// Fails when anything but the three roots appeared in `dir`, or a name under them is not one
/// path component calstore could have made.
fn nothing_outside(dir: &Path) -> Result<(), TestCaseError> {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        prop_assert!(
            ["store", "journal", "preferences"].contains(&name.as_str()),
            "{name:?} appeared beside the roots"
        );
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let name = e.file_name();
            let name = name.to_str().expect("calstore writes UTF-8 names");
            prop_assert!(name.len() <= MAX_ENCODED_LEN && name != ".." && !name.is_empty());
            if !name.starts_with('.') {
                prop_assert!(decode_component(name).is_ok(), "{name:?} does not decode");
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok(())
}

/// Pieces that hostile identifiers and fields are made of.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("\0".to_owned()),
        Just("%".to_owned()),
        Just("%2F".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\\".to_owned()),
        Just("\\t".to_owned()),
        Just(" ".to_owned()),
        Just("*".to_owned()),
        Just("'; DROP TABLE objects; --".to_owned()),
        Just("\u{7f}\u{1b}".to_owned()),
        Just("\u{85}\u{2028}\u{feff}".to_owned()),
        Just("é🙂中".to_owned()),
        "[a-z]{1,8}",
        any::<char>().prop_map(String::from),
    ]
}

/// Hostile identifiers: pieces glued together, or one piece repeated up to far past 255 bytes.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(piece(), 0..10).prop_map(|v| v.concat()),
        1 => (piece(), 1..400usize).prop_map(|(p, n)| p.repeat(n)),
        1 => (230..270usize).prop_map(|n| "x".repeat(n)),
    ]
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && !key.contains('\0') && encode_component(key).len() <= MAX_ENCODED_LEN
}

fn event_text(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//hostile//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTART:20300107T090000Z\r\nDTEND:20300107T100000Z\r\nSUMMARY:{summary}\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn instant(s: &str) -> DateTime<Utc> {
    calstore::period::parse_instant(s).unwrap()
}

mod hostile_input {
    pub mod calendars;
    pub mod costly;
    pub mod keys;
    pub mod periods;
    pub mod postgres;
}
