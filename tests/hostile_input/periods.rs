//! Free/busy lines whose fields hold TAB, CR, LF and backslash, and lines near the format.

use crate::*;

/// A period whose text fields are hostile.
pub(crate) fn hostile_period() -> impl Strategy<Value = Period> {
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
        prop::sample::select(vec![
            FbType::Free,
            FbType::BusyTentative,
            FbType::Busy,
            FbType::BusyUnavailable,
        ]),
        text.clone(),
        text.clone(),
        prop::option::of(0i64..1000),
        text,
    )
        .prop_map(
            |(start, len, uid, rid, fbtype, summary, organiser, expiry, attendee)| {
                let base = Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0).unwrap();
                let at = |m: i64| base + chrono::Duration::minutes(m);
                Period {
                    start: at(start),
                    end: at(start + len),
                    uid: Uid::new(uid).unwrap(),
                    rid: rid.map(|r| Rid::from_utc(at(r * 60))),
                    fbtype,
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

pub(crate) async fn periods_round_trip<S: Store, J: Journal>(
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
