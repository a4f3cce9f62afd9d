//! Corrupt data: a line that does not parse is reported with its file and line number by every
//! reader, and no write path drops it.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use calstore::{ErrorKind, Journal, Method, Quota, Store, Table, UsageTable};
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
        .queue_request(&a, &uid("x"), None, Method::Request)
        .await
        .unwrap();
    let requests = env.user_path(ALICE, "requests");
    std::fs::write(&requests, "x\t\tREQUEST\ny\t\tPUBLISH\n").unwrap();
    assert_corrupt(store.requests(&a).await, &requests.display().to_string(), 2);
    assert_eq!(
        store
            .queue_request(&a, &uid("z"), None, Method::Request)
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
