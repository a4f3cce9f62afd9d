//! iCalendar text broken in many ways, and rules that could expand for ever.

use crate::*;

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
