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
    ErrorKind, Group, Journal, Method, Other, Period, Quota, Rid, Store, Table, Transp, Uid,
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

/// Stores `key` as every kind of identifier and reads it back.
async fn keys_round_trip<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    key: &str,
) -> Result<(), TestCaseError> {
    let kinds = [
        User::new(key).map(|_| ()),
        Uid::new(key).map(|_| ()),
        Other::new(key).map(|_| ()),
        Quota::new(key).map(|_| ()),
        Group::new(key).map(|_| ()),
    ];
    for r in &kinds {
        match r {
            Ok(()) => prop_assert!(is_valid_key(key), "{key:?} accepted"),
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
                prop_assert!(!is_valid_key(key), "{key:?} refused: {e}");
            }
        }
    }
    if !is_valid_key(key) {
        return Ok(());
    }
    let (user, uid, other) = (
        User::new(key).unwrap(),
        Uid::new(key).unwrap(),
        Other::new(key).unwrap(),
    );
    let file_name = uid.file_name();
    prop_assert!(!file_name.contains('/') && !file_name.starts_with('.'));
    prop_assert_eq!(decode_component(&file_name).unwrap(), key);
    // An object under a hostile user (a UID property cannot hold a raw line break).
    let event_uid = if key.contains(['\r', '\n']) {
        Uid::new("plain").unwrap()
    } else {
        uid.clone()
    };
    let text = event_text(event_uid.as_str(), "hostile");
    match store.put_event(&user, &event_uid, None, &text).await {
        Ok(()) => {
            let back = store.get_event(&user, &event_uid, None).await.unwrap();
            prop_assert_eq!(back.map(|e| e.text), Some(text));
        }
        // The iCalendar parser may refuse a UID it cannot hold (leading spaces are folded away,
        // for example); then nothing was stored.
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert!(store
                .get_event(&user, &event_uid, None)
                .await
                .unwrap()
                .is_none());
        }
    }
    let alice = User::new("mailto:alice@example.com").unwrap();
    // (On a database shared by several cases the request may be queued already.)
    store
        .queue_request(&alice, &uid, None, Method::Request)
        .await
        .unwrap();
    prop_assert!(store
        .requests(&alice)
        .await
        .unwrap()
        .iter()
        .any(|r| r.uid == uid));
    let mut p = Period::new(
        instant("20300107T090000Z"),
        instant("20300107T100000Z"),
        uid.clone(),
        None,
    )
    .unwrap();
    p.summary = Some(key.to_owned());
    p.organiser = Some(key.to_owned());
    let table = Table::Other(other.clone());
    store
        .set_freebusy(&alice, &table, vec![p.clone()], None)
        .await
        .unwrap();
    let back = store.freebusy(&alice, &table).await.unwrap().value;
    prop_assert!(back.len() == 1 && back[0].same_details(&p), "{:?}", back);
    prop_assert!(store.others(&alice).await.unwrap().contains(&other));
    let (q, g) = (Quota::new(key).unwrap(), Group::new(key).unwrap());
    journal
        .set_groups(&q, &[(user.clone(), g.clone())].into())
        .await
        .unwrap();
    let groups = journal.groups(&q).await.unwrap();
    prop_assert_eq!(groups.get(&user), Some(&g));
    prop_assert!(journal.quotas().await.unwrap().contains(&q));
    Ok(())
}

proptest! {
    #![proptest_config(cases(48))]

    /// Identifiers are data: the file store stores every valid one in one path component inside
    /// its roots, reads it back exactly, and refuses the rest as invalid input.
    #[test]
    fn hostile_identifiers_stay_inside_the_file_store(keys in prop::collection::vec(hostile(), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let (store, journal) = file_store(dir.path());
        for key in &keys {
            runtime().block_on(keys_round_trip(&store, &journal, key))?;
        }
        nothing_outside(dir.path())?;
    }

    /// Percent-decoding any name never panics; encoding and decoding are inverse on keys.
    #[test]
    fn decoding_any_name_is_safe(name in "\\PC{0,40}|[%0-9A-Fa-fzZ]{0,12}", key in hostile()) {
        match decode_component(&name) {
            Ok(_) => {}
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidInput),
        }
        if !key.contains('\0') {
            prop_assert_eq!(decode_component(&encode_component(&key)).unwrap(), key);
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    /// A recurrence id is exactly one of the three normalised forms: it is written raw into file
    /// names and table lines, so nothing else may pass (found by the `period_line` fuzz target:
    /// chrono's parser skipped a CR between the digits).
    #[test]
    fn rids_are_only_the_normalised_forms(text in prop_oneof![
        "[0-9TZ \t\r\n\x0c+-]{8,16}",
        "[0-9]{8}(T[0-9]{6}Z?)?",
        // Short numbers padded with whitespace to the lengths of the three forms.
        "[0-9]{1,4}[ \r\n\x0c]{0,3}[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}(T[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}Z?)?"
            .prop_filter("a length of the three forms", |s: &String| [8, 15, 16].contains(&s.len())),
    ]) {
        let strict = |s: &str| {
            let b = s.as_bytes();
            let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
            match b.len() {
                8 => digits(0..8),
                15 => digits(0..8) && b[8] == b'T' && digits(9..15),
                16 => digits(0..8) && b[8] == b'T' && digits(9..15) && b[15] == b'Z',
                _ => false,
            }
        };
        if let Ok(rid) = Rid::new(text.clone()) {
            prop_assert!(strict(&text), "{:?} accepted", text);
            prop_assert_eq!(rid.file_name(), text);
        }
    }
}

/// A period whose text fields are hostile.
fn hostile_period() -> impl Strategy<Value = Period> {
    let text = prop_oneof![
        1 => Just(None),
        4 => prop::collection::vec(piece(), 0..6).prop_map(|v| Some(v.concat())),
    ];
    (
        0i64..100_000,
        0i64..10_000,
        hostile().prop_map(|k| {
            if is_valid_key(&k) {
                k
            } else {
                "plain".to_owned()
            }
        }),
        prop::option::of(0i64..1000),
        any::<bool>(),
        text.clone(),
        text.clone(),
        prop::option::of(0i64..1000),
        text,
    )
        .prop_map(
            |(start, len, uid, rid, transparent, summary, organiser, expiry, attendee)| {
                let base = Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap();
                let at = |m: i64| base + chrono::Duration::minutes(m);
                Period {
                    start: at(start),
                    end: at(start + len),
                    uid: Uid::new(uid).unwrap(),
                    rid: rid.map(|r| Rid::from_utc(at(r * 60))),
                    transp: if transparent {
                        Transp::Transparent
                    } else {
                        Transp::Opaque
                    },
                    summary: summary
                        .map(|s| s.replace('\0', ""))
                        .filter(|s| !s.is_empty()),
                    organiser: organiser
                        .map(|s| s.replace('\0', ""))
                        .filter(|s| !s.is_empty()),
                    expiry: expiry.map(|m| at(200_000 + m)),
                    attendee: attendee
                        .map(|s| s.replace('\0', ""))
                        .filter(|s| !s.is_empty()),
                }
            },
        )
}

/// Lines near the format: valid lines with a character inserted, removed or replaced.
fn mangled_line() -> impl Strategy<Value = String> {
    (
        hostile_period(),
        any::<bool>(),
        any::<prop::sample::Index>(),
        piece(),
        0..3u8,
    )
        .prop_map(|(p, attendee, at, with, how)| {
            let mut line: Vec<char> = p.to_line(attendee).chars().collect();
            let i = at.index(line.len() + 1);
            match how {
                0 => line.splice(i..i, with.chars()).for_each(drop),
                1 if i < line.len() => {
                    line.remove(i);
                }
                _ if i < line.len() => line.splice(i..=i, with.chars()).for_each(drop),
                _ => {}
            }
            line.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every field may hold TAB, CR, LF and backslash: a line stays one line of 8 (or 9) fields
    /// and reads back exactly.
    #[test]
    fn period_lines_round_trip(p in hostile_period(), attendee in any::<bool>()) {
        let line = p.to_line(attendee);
        prop_assert!(!line.contains(['\n', '\r']), "{line:?}");
        prop_assert_eq!(line.matches('\t').count(), if attendee { 8 } else { 7 });
        let back = Period::from_line(&line).unwrap();
        let mut want = p.clone();
        if !attendee {
            want.attendee = None;
        }
        prop_assert!(back.same_details(&want), "{:?} != {:?}", back, want);
    }

    /// Any line parses or is corrupt data, never a panic; what parses writes back to itself.
    #[test]
    fn any_line_parses_or_is_corrupt(line in prop_oneof![mangled_line(), "\\PC{0,80}", "[0-9TZ\t\\\\]{0,60}"]) {
        match Period::from_line(&line) {
            Ok(p) => {
                let again = Period::from_line(&p.to_line(true)).unwrap();
                prop_assert!(again.same_details(&p));
            }
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::Corrupt),
        }
    }
}

proptest! {
    #![proptest_config(cases(32))]

    /// Hostile periods survive a round trip through the file store, in the store and the journal.
    #[test]
    fn hostile_periods_round_trip_in_the_file_store(periods in prop::collection::vec(hostile_period(), 1..20)) {
        let dir = tempfile::tempdir().unwrap();
        let (store, journal) = file_store(dir.path());
        runtime().block_on(periods_round_trip(&store, &journal, periods))?;
        nothing_outside(dir.path())?;
    }

    /// Bytes on disk that are not what calstore wrote — not UTF-8, broken lines, names that do
    /// not decode — are corrupt data naming the file; a write over them fails and changes nothing.
    #[test]
    fn foreign_bytes_are_corrupt_data_and_never_overwritten(
        content in prop::collection::vec(any::<u8>(), 1..200),
        name in prop::collection::vec(any::<u8>().prop_filter("a name byte", |b| *b != b'/' && *b != 0), 1..40),
    ) {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = file_store(dir.path());
        let alice = User::new("mailto:alice@example.com").unwrap();
        let udir = dir.path().join("store").join(alice.file_name());
        std::fs::create_dir_all(udir.join("objects")).unwrap();
        std::fs::write(udir.join("freebusy"), &content).unwrap();
        let odd = udir.join("objects").join(std::ffi::OsStr::from_bytes(&name));
        std::fs::write(&odd, event_text("x", "x")).unwrap();
        runtime().block_on(async {
            match store.freebusy(&alice, &Table::FreeBusy).await {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::Corrupt);
                    prop_assert!(e.to_string().contains("freebusy"), "{}", e);
                    let p = Period::new(instant("20300107T090000Z"), instant("20300107T100000Z"), Uid::new("n").unwrap(), None).unwrap();
                    let w = store.replace_event_periods(&alice, &Table::FreeBusy, &Uid::new("n").unwrap(), None, vec![p], None).await;
                    prop_assert_eq!(w.map_err(|e| e.kind()).err(), Some(ErrorKind::Corrupt));
                    prop_assert_eq!(std::fs::read(udir.join("freebusy")).unwrap(), content.clone());
                }
            }
            match store.list_events(&alice).await {
                Ok(list) => prop_assert!(list.active.len() <= 1),
                Err(e) => prop_assert!(matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::InvalidInput), "{}", e),
            }
            Ok(())
        })?;
    }
}

async fn periods_round_trip<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    periods: Vec<Period>,
) -> Result<(), TestCaseError> {
    let alice = User::new("mailto:alice@example.com").unwrap();
    let mut want = calstore::period::normalise(periods.clone());
    for p in &mut want {
        p.attendee = None;
    }
    let store_side: Vec<Period> = periods
        .iter()
        .cloned()
        .map(|mut p| {
            p.attendee = None;
            p
        })
        .collect();
    store
        .set_freebusy(&alice, &Table::FreeBusy, store_side, None)
        .await
        .unwrap();
    let back = store
        .freebusy(&alice, &Table::FreeBusy)
        .await
        .unwrap()
        .value;
    prop_assert_eq!(back.len(), want.len());
    for (a, b) in back.iter().zip(&want) {
        prop_assert!(a.same_details(b), "{:?} != {:?}", a, b);
    }
    let q = Quota::new("mailto:rooms@example.com").unwrap();
    let usage = UsageTable::User(alice.clone());
    let want = calstore::period::normalise(periods.clone());
    journal.set_usage(&q, &usage, periods, None).await.unwrap();
    let back = journal.usage(&q, &usage).await.unwrap().value;
    prop_assert_eq!(back.len(), want.len());
    for (a, b) in back.iter().zip(&want) {
        prop_assert!(a.same_details(b), "{:?} != {:?}", a, b);
    }
    Ok(())
}

// --- iCalendar ----------------------------------------------------------------------------------

/// The test calendars and the example, as seeds for mangling.
fn calendars() -> &'static Vec<String> {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut all = Vec::new();
        for dir in [root.join("tests/data"), root.join("examples")] {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ics"))
                .collect();
            paths.sort();
            all.extend(paths.iter().map(|p| std::fs::read_to_string(p).unwrap()));
        }
        all
    })
}

/// Lines that break a calendar in the ways the issue lists.
const HOSTILE_LINES: &[&str] = &[
    "RRULE:FREQ=SECONDLY;COUNT=2147483647",
    "RRULE:FREQ=MINUTELY",
    "RRULE:FREQ=DAILY;COUNT=999999999",
    "RRULE:FREQ=SECONDLY;UNTIL=99991231T235959Z",
    "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "RRULE:FREQ=YEARLY;INTERVAL=65535;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "RRULE:FREQ=WEEKLY;BYDAY=1MO",
    "RRULE:FREQ=DAILY;COUNT=0",
    "RRULE:COUNT=3",
    "RDATE:19000101T000000Z,99991231T235959Z",
    "EXDATE:20260105T090000Z",
    "DTSTART:19000101T000000Z",
    "DTSTART;TZID=Mars/Olympus_Mons:20260105T090000",
    "DTEND:19700101T000000Z",
    "DTEND;VALUE=DATE:20260101",
    "DURATION:-P1D",
    "DURATION:P99999999W",
    "RECURRENCE-ID;TZID=Nowhere/Land:20260105T090000",
    "BEGIN:VEVENT",
    "END:VEVENT",
    "BEGIN:VALARM",
    "END:VCALENDAR",
    "UID:",
    "UID:second-uid",
    "SEQUENCE:not-a-number",
    "TRANSP:MAYBE",
    "X-\u{0}NUL:\u{0}",
    " continuation without a property",
    "no colon at all",
];

/// A calendar broken one way or several.
fn mangled_calendar() -> impl Strategy<Value = String> {
    let edit = (
        0..5u8,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..HOSTILE_LINES.len(),
    );
    (0..calendars().len(), prop::collection::vec(edit, 1..4)).prop_map(|(which, edits)| {
        let mut lines: Vec<String> = calendars()[which]
            .split_inclusive('\n')
            .map(str::to_owned)
            .collect();
        let mut truncate_at = None;
        for (how, a, b, h) in edits {
            let n = lines.len().max(1);
            match how {
                0 => {
                    let i = a.index(n + 1).min(lines.len());
                    lines.insert(i, format!("{}\r\n", HOSTILE_LINES[h]));
                }
                1 if !lines.is_empty() => {
                    lines.remove(a.index(n));
                }
                2 if !lines.is_empty() => {
                    let (i, j) = (a.index(n), b.index(n));
                    lines.swap(i, j);
                }
                3 if !lines.is_empty() => {
                    let i = a.index(n);
                    let copy = lines[i].clone();
                    lines.insert(b.index(n + 1).min(lines.len()), copy);
                }
                _ => truncate_at = Some(a),
            }
        }
        let mut text = lines.concat();
        if let Some(at) = truncate_at {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            text.truncate(i);
        }
        text
    })
}

/// Parses, expands and stores one calendar; checks the outcome is a faithful store or a clean
/// refusal, in bounded time and size.
async fn calendar_is_kept_or_refused(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let (store, _) = file_store(dir);
    let alice = User::new("mailto:alice@example.com").unwrap();
    let started = Instant::now();
    let events = match split_calendar(text) {
        Ok(events) => events,
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert!(
                e.message().starts_with("line "),
                "no line in {:?}",
                e.message()
            );
            return Ok(());
        }
    };
    let settings = calstore::refresh::Settings {
        tz: chrono_tz::Europe::Oslo,
        window_days: 100,
        needs_action: true,
    };
    let opts = settings.expand_options(Utc::now());
    for event in &events {
        let before = calstore_listing(dir);
        match store
            .put_event(&alice, event.uid(), event.rid(), event.text())
            .await
        {
            Ok(()) => {
                let back = store
                    .get_event(&alice, event.uid(), event.rid())
                    .await
                    .unwrap();
                prop_assert_eq!(back.map(|e| e.text), Some(event.text().to_owned()));
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
                prop_assert_eq!(
                    calstore_listing(dir),
                    before,
                    "a refused object left a trace"
                );
                continue;
            }
        }
        let expand_started = Instant::now();
        match calstore::refresh::refresh_event(&store, &alice, event.uid(), &opts).await {
            Ok(n) => {
                let limit = MAX_OCCURRENCES + event.rdates().len() + 64;
                prop_assert!(n <= limit, "{} periods from one event", n);
            }
            // Parents and instances stored under one uid may not belong together.
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e),
        }
        prop_assert!(
            expand_started.elapsed() < Duration::from_secs(60),
            "expansion took {:?}",
            expand_started.elapsed()
        );
    }
    prop_assert!(started.elapsed() < Duration::from_secs(120));
    nothing_outside(dir)?;
    Ok(())
}

/// Every name and content under `dir` (to prove a refused write left nothing).
fn calstore_listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                out.push((e.path().display().to_string(), Vec::new()));
            } else if !e.file_name().to_string_lossy().starts_with('.') {
                out.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(cases(64))]

    /// Truncated, wrongly nested and otherwise mangled calendars are stored byte for byte or
    /// refused with a line number; expansion is bounded.
    #[test]
    fn mangled_calendars_are_kept_exactly_or_refused(text in mangled_calendar()) {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(calendar_is_kept_or_refused(dir.path(), &text))?;
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn any_text_parses_or_is_refused(text in "\\PC{0,300}") {
        if let Err(e) = EventObject::parse(&text) {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
        if let Err(e) = split_calendar(&text) {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }
}

/// The rules that could make a store expand for ever, one by one: each is refused or expanded
/// to a bounded number of periods in bounded time.
#[test]
fn runaway_rules_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(dir.path());
    let alice = User::new("mailto:alice@example.com").unwrap();
    let rules = [
        ("19000101T000000Z", "FREQ=SECONDLY;COUNT=2147483647"),
        ("19000101T000000Z", "FREQ=MINUTELY"),
        ("20260105T090000Z", "FREQ=SECONDLY"),
        ("20260105T090000Z", "FREQ=DAILY;COUNT=999999999"),
        ("20260105T090000Z", "FREQ=SECONDLY;UNTIL=99991231T235959Z"),
        ("20260105T090000Z", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        (
            "20260105T090000Z",
            "FREQ=YEARLY;INTERVAL=65535;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
        ),
        ("99991231T230000Z", "FREQ=HOURLY;COUNT=100"),
    ];
    let opts = calstore::refresh::Settings {
        tz: chrono_tz::UTC,
        window_days: 36_500,
        needs_action: true,
    }
    .expand_options(Utc::now());
    let mut report = Vec::new();
    for (i, (start, rule)) in rules.iter().enumerate() {
        let uid = Uid::new(format!("rule-{i}")).unwrap();
        let text = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:{start}\r\n\
             DURATION:PT1S\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let started = Instant::now();
        let outcome = runtime().block_on(async {
            store.put_event(&alice, &uid, None, &text).await?;
            calstore::refresh::refresh_event(&store, &alice, &uid, &opts).await
        });
        let took = started.elapsed();
        match &outcome {
            Ok(n) => assert!(*n <= MAX_OCCURRENCES, "{rule}: {n} periods"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{rule}: {e}"),
        }
        assert!(took < Duration::from_secs(60), "{rule} took {took:?}");
        report.push(format!(
            "{rule}: {:?} in {:.2} s",
            outcome.map_err(|e| e.kind()),
            took.as_secs_f64()
        ));
    }
    let table = runtime()
        .block_on(store.freebusy(&alice, &Table::FreeBusy))
        .unwrap()
        .value;
    assert!(table.len() <= rules.len() * MAX_OCCURRENCES);
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "FIGURES runaway rules: {}",
        report.join("; ")
    );
}

// --- PostgreSQL ------------------------------------------------------------------------------

fn pg() -> Option<(calstore_postgres::PgStore, calstore_postgres::PgJournal)> {
    static DB: OnceLock<Option<calstore_postgres::harness::TestDatabase>> = OnceLock::new();
    let db = DB
        .get_or_init(|| {
            let server = calstore_postgres::harness::server_or_skip("hostile input (postgres)")?;
            Some(server.fresh_database().expect("a fresh database"))
        })
        .as_ref()?;
    Some(
        runtime()
            .block_on(db.store_and_journal(false))
            .expect("connect"),
    )
}

proptest! {
    #![proptest_config(cases(24))]

    /// The same identifiers and periods on PostgreSQL: stored exactly or refused.
    #[test]
    fn hostile_identifiers_and_periods_in_postgres(
        keys in prop::collection::vec(hostile(), 1..4),
        periods in prop::collection::vec(hostile_period(), 1..10),
    ) {
        let Some((store, journal)) = pg() else { return Ok(()) };
        for key in &keys {
            runtime().block_on(keys_round_trip(&store, &journal, key))?;
        }
        let alice = User::new("mailto:alice@example.com").unwrap();
        runtime().block_on(async {
            // Each case starts from empty tables of its own.
            store.set_freebusy(&alice, &Table::FreeBusy, Vec::new(), None).await.unwrap();
            periods_round_trip(&store, &journal, periods).await
        })?;
    }
}
