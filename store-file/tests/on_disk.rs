//! The exact bytes and names calstore-file writes (FILE-STORE.md): each file kind compared with
//! literal text, keys encoded as one path component, no temporary files left behind, leftovers of
//! killed writes removed by age, and the configured modes regardless of the umask.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use calstore::{
    ErrorKind, FbType, Group, Journal, PrefName, Providers, QueueKind, Quota, Store, Table,
    UsageTable,
};
use calstore_file::{Leftovers, LEFTOVER_AGE};
use common::*;

#[tokio::test]
async fn every_file_kind_has_the_documented_bytes() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let bob = other("mailto:bob@example.com");
    let r = rid("20260112T090000Z");

    let parent = event_text("e1", None, "parent");
    let instance = event_text("e1", Some(r.as_str()), "instance");
    store
        .put_event(&a, &uid("e1"), None, &parent)
        .await
        .unwrap();
    store
        .put_event(&a, &uid("e1"), Some(&r), &instance)
        .await
        .unwrap();
    assert_eq!(env.read(env.user_path(ALICE, "objects/e1")), parent);
    assert_eq!(
        env.read(env.user_path(ALICE, "recurrences/e1/20260112T090000Z")),
        instance
    );
    store.cancel_event(&a, &uid("e1"), None).await.unwrap();
    store.cancel_event(&a, &uid("e1"), Some(&r)).await.unwrap();
    assert!(!env.user_path(ALICE, "objects/e1").exists());
    assert_eq!(
        env.read(env.user_path(ALICE, "cancellations/objects/e1")),
        parent
    );
    assert_eq!(
        env.read(env.user_path(ALICE, "cancellations/recurrences/e1/20260112T090000Z")),
        instance
    );

    store
        .put_counter(&a, &bob, &uid("e1"), None, &parent)
        .await
        .unwrap();
    store
        .put_counter(&a, &bob, &uid("e1"), Some(&r), &instance)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "counters/objects/e1/mailto:bob@example.com")),
        parent
    );
    assert_eq!(
        env.read(env.user_path(
            ALICE,
            "counters/recurrences/e1/20260112T090000Z/mailto:bob@example.com"
        )),
        instance
    );

    store
        .queue_request(&a, &uid("tab\there"), None, QueueKind::Request)
        .await
        .unwrap();
    store
        .queue_request(&a, &uid("e1"), Some(&r), QueueKind::Counter)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "requests")),
        "tab\\there\t\tREQUEST\ne1\t20260112T090000Z\tCOUNTER\n"
    );

    let mut detailed = period(
        "20260105T090000Z",
        "20260105T100000Z",
        "e1",
        Some("20260112T090000Z"),
    );
    detailed.summary = Some("Tab\there\\ and\nnewline".into());
    detailed.organiser = Some("mailto:bob@example.com".into());
    detailed.fbtype = FbType::Free;
    let plain = period("20260106T090000Z", "20260106T100000Z", "e2", None);
    store
        .set_freebusy(&a, &Table::FreeBusy, vec![plain.clone(), detailed], None)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy")),
        "20260105T090000Z\t20260105T100000Z\te1\tTRANSPARENT\t20260112T090000Z\tTab\\there\\\\ and\\nnewline\tmailto:bob@example.com\t\n\
         20260106T090000Z\t20260106T100000Z\te2\tOPAQUE\t\t\t\t\n"
    );
    let mut offer = plain.clone();
    offer.expiry = Some(t("20300101T000000Z"));
    store
        .set_freebusy(&a, &Table::Offers, vec![offer], None)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy-offers")),
        "20260106T090000Z\t20260106T100000Z\te2\tOPAQUE\t\t\t\t20300101T000000Z\n"
    );
    store
        .set_freebusy(&a, &Table::Other(bob.clone()), vec![plain.clone()], None)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy-other/mailto:bob@example.com")),
        "20260106T090000Z\t20260106T100000Z\te2\tOPAQUE\t\t\t\t\n"
    );

    let providers = Providers {
        window_end: Some(t("20260415T000000Z")),
        events: vec![
            (uid("weekly"), Some(rid("20260105T090000Z"))),
            (uid("daily"), None),
        ],
    };
    store.set_providers(&a, &providers, None).await.unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy-providers")),
        "20260415T000000Z\ndaily\t\nweekly\t20260105T090000Z\n"
    );
    store
        .set_providers(
            &a,
            &Providers {
                window_end: None,
                events: vec![(uid("x"), None)],
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy-providers")),
        "\nx\t\n"
    );

    store
        .set_preference(&a, &PrefName::new("TZID").unwrap(), Some("Europe/Oslo"))
        .await
        .unwrap();
    assert_eq!(
        env.read(env.root().join("preferences/mailto:alice@example.com/TZID")),
        "Europe/Oslo"
    );

    // The user directory holds exactly the documented names plus calstore's dot files.
    let names: Vec<String> = std::fs::read_dir(env.user_path(ALICE, ""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "cancellations",
            "counters",
            "freebusy",
            "freebusy-offers",
            "freebusy-other",
            "freebusy-providers",
            "objects",
            "recurrences",
            "requests"
        ]
    );
    assert!(env.user_path(ALICE, ".lock").is_file());
}

#[tokio::test]
async fn journal_files_have_the_documented_bytes() {
    let env = Env::new();
    let journal = env.journal();
    let q = Quota::new("mailto:rooms@example.com").unwrap();
    let dir = env.root().join("journal/mailto:rooms@example.com");
    let limits: BTreeMap<Group, String> = [
        (Group::new("staff").unwrap(), "P1D".to_owned()),
        (Group::new("*").unwrap(), "PT10H".to_owned()),
    ]
    .into();
    journal.set_limits(&q, &limits, None).await.unwrap();
    assert_eq!(env.read(dir.join("limits")), "*\tPT10H\nstaff\tP1D\n");
    journal
        .set_groups(&q, &[(user(ALICE), Group::new("staff").unwrap())].into())
        .await
        .unwrap();
    assert_eq!(
        env.read(dir.join("groups")),
        "mailto:alice@example.com\tstaff\n"
    );
    journal
        .set_delegates(
            &q,
            &[user("mailto:bob@example.com"), user(ALICE), user(ALICE)],
        )
        .await
        .unwrap();
    assert_eq!(
        env.read(dir.join("delegates")),
        "mailto:alice@example.com\nmailto:bob@example.com\n"
    );
    let mut booked = period("20260105T090000Z", "20260105T100000Z", "trip", None);
    booked.attendee = Some("mailto:car1@example.com".into());
    journal
        .set_usage(
            &q,
            &UsageTable::User(user(ALICE)),
            vec![booked.clone()],
            None,
        )
        .await
        .unwrap();
    journal
        .reserve_within_limit(&q, &Group::new("staff").unwrap(), vec![booked])
        .await
        .unwrap();
    let line =
        "20260105T090000Z\t20260105T100000Z\ttrip\tOPAQUE\t\t\t\t\tmailto:car1@example.com\n";
    assert_eq!(
        env.read(dir.join("freebusy/mailto:alice@example.com")),
        line
    );
    assert_eq!(env.read(dir.join("journal/staff")), line);
    let text = event_text("standup", None, "standup");
    journal
        .put_event(&q, &uid("standup"), None, &text)
        .await
        .unwrap();
    assert_eq!(env.read(dir.join("objects/standup")), text);
    journal
        .set_providers(
            &q,
            &Providers {
                window_end: Some(t("20260415T000000Z")),
                events: vec![(uid("standup"), None)],
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        env.read(dir.join("freebusy-providers")),
        "20260415T000000Z\nstandup\t\n"
    );
    assert!(dir.join(".lock").is_file());
}

#[tokio::test]
async fn keys_are_one_encoded_component_and_decode_back() {
    let env = Env::new();
    let store = env.store();
    let hostile = user("../../escape");
    let u = uid("a/b");
    store
        .put_event(&hostile, &u, None, &event_text("a/b", None, "x"))
        .await
        .unwrap();
    store
        .set_freebusy(
            &hostile,
            &Table::Other(other(".hidden")),
            vec![period("20260105T090000Z", "20260105T100000Z", "a/b", None)],
            None,
        )
        .await
        .unwrap();
    let root = env.store_root();
    assert!(root.join("%2E.%2F..%2Fescape/objects/a%2Fb").is_file());
    assert!(root
        .join("%2E.%2F..%2Fescape/freebusy-other/%2Ehidden")
        .is_file());
    assert_eq!(store.users().await.unwrap(), vec![hostile.clone()]);
    assert_eq!(store.list_events(&hostile).await.unwrap().active, vec![u]);
    assert_eq!(
        store.others(&hostile).await.unwrap(),
        vec![other(".hidden")]
    );
}

#[tokio::test]
async fn writes_leave_no_temporary_files_and_use_the_configured_modes() {
    let env = Env::new();
    let store = env.store();
    let journal = env.journal();
    let a = user(ALICE);
    for i in 0..5 {
        let u = format!("e{i}");
        store
            .put_event(&a, &uid(&u), None, &event_text(&u, None, "x"))
            .await
            .unwrap();
        store
            .replace_event_periods(
                &a,
                &Table::FreeBusy,
                &uid(&u),
                None,
                vec![period("20260105T090000Z", "20260105T100000Z", &u, None)],
                None,
            )
            .await
            .unwrap();
        store
            .queue_request(&a, &uid(&u), None, QueueKind::Request)
            .await
            .unwrap();
    }
    store.cancel_event(&a, &uid("e1"), None).await.unwrap();
    store
        .freebusy_in(
            &a,
            &Table::FreeBusy,
            t("20260105T000000Z"),
            t("20260106T000000Z"),
        )
        .await
        .unwrap();
    let q = Quota::new("rooms").unwrap();
    journal
        .set_delegates(&q, std::slice::from_ref(&a))
        .await
        .unwrap();
    let all = paths(env.root());
    assert!(
        all.iter().all(|p| !p.contains(".tmp")),
        "temporary files left: {all:?}"
    );
    // Default umask (usually 022) would take group write away: the modes are set explicitly.
    for p in &all {
        let path = env.root().join(p);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        if path.is_dir() {
            assert_eq!(mode, 0o2770, "{p}");
        } else {
            assert_eq!(mode, 0o660, "{p}");
        }
    }
    // Other modes when configured.
    let env2 = Env::new();
    let custom = calstore_file::FileStore::open(calstore_file::FileStoreOptions {
        dir_mode: 0o750,
        file_mode: 0o640,
        ..env2.options(false)
    })
    .unwrap();
    custom
        .queue_request(&a, &uid("x"), None, QueueKind::Request)
        .await
        .unwrap();
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(env2.user_path(ALICE, "")), 0o750);
    assert_eq!(mode(env2.user_path(ALICE, "requests")), 0o640);
    assert!(
        calstore_file::FileStore::open(calstore_file::FileStoreOptions {
            dir_mode: 0o600,
            ..env2.options(false)
        })
        .is_err()
    );
}

/// Writes `bytes` bytes to `path` and dates its modification `age` ago.
fn leftover(path: &std::path::Path, bytes: usize, age: Duration) {
    std::fs::write(path, vec![b'x'; bytes]).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// What a write killed between writing and renaming leaves (`.tmp-…` beside the file it was to
/// replace) is counted and removed once it is older than the age given; a younger one (a write
/// in flight) and every real file stay.
#[tokio::test]
async fn leftover_temporary_files_are_removed_by_age_only() {
    let env = Env::new();
    let (store, journal) = (env.store(), env.journal());
    let a = user(ALICE);
    let text = event_text("e1", None, "kept");
    store.put_event(&a, &uid("e1"), None, &text).await.unwrap();
    let busy = vec![period("20260105T090000Z", "20260105T100000Z", "e1", None)];
    let table = Table::FreeBusy;
    store
        .set_freebusy(&a, &table, busy.clone(), None)
        .await
        .unwrap();
    let room = Quota::new("room").unwrap();
    let limits = [(Group::new("*").unwrap(), "PT1H".to_owned())].into();
    journal.set_limits(&room, &limits, None).await.unwrap();
    let hours = |h: u64| Duration::from_secs(h * 3600);
    leftover(&env.user_path(ALICE, "objects/.tmp-killed1"), 100, hours(2));
    leftover(&env.user_path(ALICE, ".tmp-killed2"), 50, hours(30));
    leftover(
        &env.user_path(ALICE, "objects/.tmp-inflight"),
        10,
        Duration::ZERO,
    );
    leftover(&env.root().join("journal/room/.tmp-killed3"), 7, hours(2));
    let two = Leftovers {
        files: 2,
        bytes: 150,
    };

    assert_eq!(store.leftovers(LEFTOVER_AGE).await.unwrap(), two);
    assert_eq!(
        store.leftovers(Duration::ZERO).await.unwrap(),
        Leftovers {
            files: 3,
            bytes: 160
        }
    );
    let none = store.leftovers(Duration::MAX).await.unwrap();
    assert_eq!(
        none,
        Leftovers::default(),
        "nothing is older than the epoch"
    );
    let before = listing(env.root());
    let refused = env.ro_store().remove_leftovers(LEFTOVER_AGE).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(
        listing(env.root()),
        before,
        "a read-only store removed something"
    );

    assert_eq!(store.remove_leftovers(LEFTOVER_AGE).await.unwrap(), two);
    assert!(!env.user_path(ALICE, "objects/.tmp-killed1").exists());
    assert!(!env.user_path(ALICE, ".tmp-killed2").exists());
    assert!(env.user_path(ALICE, "objects/.tmp-inflight").exists());
    assert_eq!(
        store.leftovers(LEFTOVER_AGE).await.unwrap(),
        Leftovers::default()
    );
    let kept = store
        .get_event(&a, &uid("e1"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.text, text);
    assert_eq!(store.freebusy(&a, &table).await.unwrap().value, busy);

    let one = Leftovers { files: 1, bytes: 7 };
    assert_eq!(journal.leftovers(LEFTOVER_AGE).await.unwrap(), one);
    let refused = env.ro_journal().remove_leftovers(LEFTOVER_AGE).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::ReadOnly);
    assert_eq!(journal.remove_leftovers(LEFTOVER_AGE).await.unwrap(), one);
    assert!(!env.root().join("journal/room/.tmp-killed3").exists());
}

/// A table written before FBTYPEs were kept (OPAQUE and TRANSPARENT only) reads as BUSY and FREE
/// and is written back byte for byte; the new types are written by name in column 4.
#[tokio::test]
async fn fbtype_column_keeps_old_tables_byte_identical() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let old = "20260105T090000Z\t20260105T100000Z\te1\tTRANSPARENT\t\tFree\t\t\n\
               20260106T090000Z\t20260106T100000Z\te2\tOPAQUE\t\tBusy\tmailto:bob@example.com\t\n";
    // A first write creates the user's directory; then the old bytes replace the table.
    store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260105T090000Z", "20260105T100000Z", "e0", None)],
            None,
        )
        .await
        .unwrap();
    std::fs::write(env.user_path(ALICE, "freebusy"), old).unwrap();
    let read = store.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    let types: Vec<FbType> = read.iter().map(|p| p.fbtype).collect();
    assert_eq!(types, [FbType::Free, FbType::Busy]);
    store
        .set_freebusy(&a, &Table::FreeBusy, read.clone(), None)
        .await
        .unwrap();
    assert_eq!(env.read(env.user_path(ALICE, "freebusy")), old);

    let mut tentative = period("20260107T090000Z", "20260107T100000Z", "e3", None);
    tentative.fbtype = FbType::BusyTentative;
    let mut away = period("20260108T090000Z", "20260108T100000Z", "e4", None);
    away.fbtype = FbType::BusyUnavailable;
    let mut all = read;
    all.extend([tentative, away]);
    store
        .set_freebusy(&a, &Table::FreeBusy, all.clone(), None)
        .await
        .unwrap();
    assert_eq!(
        env.read(env.user_path(ALICE, "freebusy")),
        format!(
            "{old}20260107T090000Z\t20260107T100000Z\te3\tBUSY-TENTATIVE\t\t\t\t\n\
             20260108T090000Z\t20260108T100000Z\te4\tBUSY-UNAVAILABLE\t\t\t\t\n"
        )
    );
    let back = store.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert!(back.iter().zip(&all).all(|(x, y)| x.same_details(y)));
}
