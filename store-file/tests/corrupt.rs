//! Corrupt data: a line that does not parse is reported with its file and line number by every
//! reader, and no write path drops it.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use calstore::import::{BatchLimits, Importer};
use calstore::object::split_calendar;
use calstore::recurrence::ExpandOptions;
use calstore::{ErrorKind, Journal, QueueKind, Quota, Store, Table, UsageTable};
use common::*;

const GOOD_1: &str = "20260105T090000Z\t20260105T100000Z\ta\tOPAQUE\t\t\t\t\n";
const GOOD_2: &str = "20260107T090000Z\t20260107T100000Z\tc\tOPAQUE\t\t\t\t\n";

fn assert_corrupt<T: std::fmt::Debug>(result: calstore::Result<T>, path: &str, line: usize) {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("{path}:{line}:")),
        "{message} should name {path}:{line}"
    );
}

#[tokio::test]
async fn a_bad_line_is_reported_with_file_and_line_and_never_dropped() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260106T090000Z", "20260106T100000Z", "b", None)],
            None,
        )
        .await
        .unwrap();
    let path = env.user_path(ALICE, "freebusy");
    let shown = path.display().to_string();
    for (bad, what) in [
        (
            "20260106T090000Z\tnot-an-instant\tb\tOPAQUE\t\t\t\t\n",
            "end",
        ),
        (
            "20260106T090000Z\t20260106T100000Z\tb\tOPAQUE\tnot-a-rid\t\t\t\n",
            "rid",
        ),
        (
            "20260106T090000Z\t20260106T100000Z\tb\tSOMETIMES\t\t\t\t\n",
            "transparency",
        ),
        ("garbage\n", "fields"),
    ] {
        let content = format!("{GOOD_1}{bad}{GOOD_2}");
        std::fs::write(&path, &content).unwrap();
        assert_corrupt(store.freebusy(&a, &Table::FreeBusy).await, &shown, 2);
        // Range reads report it too when they reach it (the scan that builds the range cache
        // reads only start and end, so it catches the structural damage; the others are caught
        // when the line is returned).
        assert_corrupt(
            store
                .freebusy_in(
                    &a,
                    &Table::FreeBusy,
                    t("20260106T000000Z"),
                    t("20260107T000000Z"),
                )
                .await,
            &shown,
            2,
        );
        // Write paths read every line they keep: structural damage stops them, and whatever they
        // cannot interpret is copied byte for byte, never dropped.
        let written = store
            .replace_event_periods(
                &a,
                &Table::FreeBusy,
                &uid("new"),
                None,
                vec![period("20260108T090000Z", "20260108T100000Z", "new", None)],
                None,
            )
            .await;
        let now = env.read(&path);
        match written {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Corrupt, "{what}: {e}");
                assert!(e.to_string().contains(&format!("{shown}:2:")), "{e}");
                assert_eq!(now, content, "{what}: a refused write changes nothing");
            }
            Ok(_) => assert!(
                now.contains(bad),
                "{what}: the line the writer could not read is kept: {now}"
            ),
        }
        assert!(
            matches!(what, "rid" | "transparency") || now == content,
            "{what}: {now}"
        );
    }
}

#[tokio::test]
async fn other_files_report_corruption_with_their_place() {
    let env = Env::new();
    let store = env.store();
    let journal = env.journal();
    let a = user(ALICE);
    store
        .queue_request(&a, &uid("x"), None, QueueKind::Request)
        .await
        .unwrap();
    let requests = env.user_path(ALICE, "requests");
    std::fs::write(&requests, "x\t\tREQUEST\ny\t\tPUBLISH\n").unwrap();
    assert_corrupt(store.requests(&a).await, &requests.display().to_string(), 2);
    assert_eq!(
        store
            .queue_request(&a, &uid("z"), None, QueueKind::Request)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Corrupt
    );
    assert_eq!(
        env.read(&requests),
        "x\t\tREQUEST\ny\t\tPUBLISH\n",
        "the queue was not rewritten"
    );

    let providers = env.user_path(ALICE, "freebusy-providers");
    std::fs::write(&providers, "20260415T000000Z\nok\t\nbad\tnot-a-rid\n").unwrap();
    assert_corrupt(
        store.providers(&a).await,
        &providers.display().to_string(),
        3,
    );

    let q = Quota::new("rooms").unwrap();
    journal
        .set_delegates(&q, std::slice::from_ref(&a))
        .await
        .unwrap();
    let limits = env.root().join("journal/rooms/limits");
    std::fs::write(&limits, "*\tPT10H\nstaff\tten hours\n").unwrap();
    assert_corrupt(journal.limits(&q).await, &limits.display().to_string(), 2);
    let usage = env.root().join("journal/rooms/journal/staff");
    std::fs::create_dir_all(usage.parent().unwrap()).unwrap();
    std::fs::write(&usage, "20260105T090000Z\t20260105T100000Z\n").unwrap();
    assert_corrupt(
        journal
            .usage(
                &q,
                &UsageTable::Journal(calstore::Group::new("staff").unwrap()),
            )
            .await,
        &usage.display().to_string(),
        1,
    );

    let object = env.user_path(ALICE, "objects/bin");
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, b"BEGIN:VCALENDAR\n\xff\xfe\n").unwrap();
    assert_corrupt(
        store.get_event(&a, &uid("bin"), None).await,
        &object.display().to_string(),
        2,
    );
}

#[tokio::test]
async fn foreign_lines_and_order_are_handled_without_loss() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    store
        .set_freebusy(
            &a,
            &Table::FreeBusy,
            vec![period("20260106T090000Z", "20260106T100000Z", "b", None)],
            None,
        )
        .await
        .unwrap();
    let path = env.user_path(ALICE, "freebusy");
    // imip-agent's shorter lines (no expiry field), kept byte for byte by a streaming change.
    let short =
        "20260105T090000Z\t20260105T100000Z\tshort\tOPAQUE\t\tSummary\tmailto:o@example.com\n";
    std::fs::write(&path, format!("{short}{GOOD_2}")).unwrap();
    store
        .replace_event_periods(
            &a,
            &Table::FreeBusy,
            &uid("b"),
            None,
            vec![period("20260106T090000Z", "20260106T100000Z", "b", None)],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        env.read(&path),
        format!("{short}20260106T090000Z\t20260106T100000Z\tb\tOPAQUE\t\t\t\t\n{GOOD_2}")
    );
    // A file out of order (edited by hand) is read in order, range-read correctly, and written
    // back sorted by the next change.
    std::fs::write(&path, format!("{GOOD_2}{GOOD_1}")).unwrap();
    let all = store.freebusy(&a, &Table::FreeBusy).await.unwrap().value;
    assert_eq!(
        all.iter().map(|p| p.uid.as_str()).collect::<Vec<_>>(),
        ["a", "c"]
    );
    let ranged = store
        .freebusy_in(
            &a,
            &Table::FreeBusy,
            t("20260105T093000Z"),
            t("20260105T094000Z"),
        )
        .await
        .unwrap();
    assert_eq!(ranged.value.len(), 1);
    store
        .remove_event_periods(&a, &Table::FreeBusy, &uid("zzz"), None, None)
        .await
        .unwrap();
    assert_eq!(env.read(&path), format!("{GOOD_1}{GOOD_2}"));
}

/// Expansion options for the importer tests: UTC, a window to 2027.
fn import_options() -> ExpandOptions {
    ExpandOptions {
        tz: calstore::refresh::parse_tz("UTC").unwrap(),
        window_end: t("20270101T000000Z"),
        needs_action: false,
    }
}

/// The importer writes periods in batches; an object damaged on disk between its store and its
/// batch is reported with its uid, keeps the rows it had, and does not hold back the rest.
#[tokio::test]
async fn an_object_damaged_before_its_batch_keeps_its_rows_and_is_reported() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let opts = import_options();
    let obj = |u: &str, day: &str| {
        let text = event_text(u, None, u).replace("20260105", &format!("202601{day}"));
        split_calendar(&text).unwrap().remove(0)
    };
    let table = || async {
        store
            .freebusy(&a, &Table::FreeBusy)
            .await
            .unwrap()
            .value
            .iter()
            .map(|p| format!("{} {}", calstore::period::format_instant(p.start), p.uid))
            .collect::<Vec<_>>()
    };
    let mut importer = Importer::new(&store, a.clone(), opts);
    importer.put(&obj("one", "05")).await.unwrap();
    importer.put(&obj("two", "05")).await.unwrap();
    assert!(importer.finish().await.unwrap().failed.is_empty());
    assert_eq!(
        table().await,
        ["20260105T090000Z one", "20260105T090000Z two"]
    );

    let limits = BatchLimits {
        objects: 10,
        age: std::time::Duration::from_secs(3600),
    };
    let mut importer = Importer::new(&store, a.clone(), opts).with_limits(limits);
    importer.put(&obj("one", "06")).await.unwrap();
    importer.put(&obj("two", "07")).await.unwrap();
    std::fs::write(
        env.user_path(ALICE, "objects/two"),
        "BEGIN:VCALENDAR\r\ngarbage\r\n",
    )
    .unwrap();
    let done = importer.finish().await.unwrap();
    assert_eq!(done.objects, 2);
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert_eq!(done.failed[0].0, uid("two"));
    assert_eq!(done.failed[0].1.kind(), ErrorKind::Corrupt);
    assert_eq!(
        table().await,
        ["20260105T090000Z two", "20260106T090000Z one"],
        "one moved; two kept the rows it had"
    );
}

/// A batch whose table write fails (here: the table holds a line that does not parse, which no
/// write drops) keeps its objects waiting: once the table is repaired, the next flush writes
/// their periods, and nothing is counted twice.
#[tokio::test]
async fn a_failed_batch_write_keeps_its_objects_waiting_for_the_next_flush() {
    let env = Env::new();
    let store = env.store();
    let a = user(ALICE);
    let opts = import_options();
    let first = period("20260105T090000Z", "20260105T100000Z", "a", None);
    store
        .set_freebusy(&a, &Table::FreeBusy, vec![first], None)
        .await
        .unwrap();
    let path = env.user_path(ALICE, "freebusy");
    std::fs::write(&path, format!("{GOOD_1}not a period\n")).unwrap();
    let limits = BatchLimits {
        objects: 2,
        age: std::time::Duration::from_secs(3600),
    };
    let mut importer = Importer::new(&store, a.clone(), opts).with_limits(limits);
    for u in ["one", "two"] {
        let obj = split_calendar(&event_text(u, None, u)).unwrap().remove(0);
        let stored = importer.put(&obj).await;
        if u == "two" {
            assert_eq!(
                stored.unwrap_err().kind(),
                ErrorKind::Corrupt,
                "the batch write fails"
            );
        } else {
            stored.unwrap();
        }
    }
    assert_eq!(
        env.read(&path),
        format!("{GOOD_1}not a period\n"),
        "nothing written"
    );
    assert_eq!(
        importer.waiting(),
        2,
        "both objects still wait for their periods"
    );

    std::fs::write(&path, GOOD_1).unwrap();
    let done = importer.finish().await.unwrap();
    assert_eq!((done.objects, done.periods), (2, 2));
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let uids: Vec<String> = store
        .freebusy(&a, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .iter()
        .map(|p| p.uid.as_str().to_owned())
        .collect();
    assert_eq!(uids, ["a", "one", "two"]);
}
