//! The import path (`crate::import::Importer`): objects stored one at a time, periods written
//! in batches. The batches must give exactly the tables the agent's per-event update gives.

use std::time::Duration;

use crate::import::{BatchLimits, Importer};
use crate::object::split_calendar;
use crate::recurrence::ExpandOptions;
use crate::refresh;
use crate::{Journal, Store, Table};

use super::fixture::Fixture;
use super::support::*;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";
const CAROL: &str = "mailto:carol@example.com";

/// Fixed options, so both users' expansions are the same whatever the date.
fn opts() -> ExpandOptions {
    ExpandOptions {
        tz: chrono_tz::Europe::Oslo,
        window_end: t("20270601T000000Z"),
        needs_action: false,
    }
}

/// Every valid calendar of tests/data, in name order ([`super::data::CALENDARS`]).
fn data_calendars() -> Vec<String> {
    let calendars = super::data::CALENDARS;
    assert!(calendars.len() >= 10, "tests/data holds the test calendars");
    calendars
        .iter()
        .map(|(_, text)| (*text).to_owned())
        .collect()
}

/// The same calendars imported for bob the agent's way (every object, then `refresh_event` per
/// uid) and for carol in batches of three objects give the same tables, including an event that
/// moves (stored twice) and a cancelled one. (Neither user is an attendee of the test calendars,
/// so their expansions do not depend on who they are.)
pub async fn import_batches_match_per_event_refresh<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, b) = (user(BOB), user(CAROL));
    let s = &f.store;
    let mut calendars = data_calendars();
    // A second round: one event moved (same uid), one cancelled.
    calendars.push(event_text(
        "moved",
        None,
        "20260110T090000Z",
        "20260110T100000Z",
        "first",
    ));
    calendars.push(event_text(
        "moved",
        None,
        "20260111T090000Z",
        "20260111T110000Z",
        "second",
    ));
    calendars.push(
        event_text("gone", None, "20260112T090000Z", "20260112T100000Z", "x")
            .replace("SUMMARY:x", "SUMMARY:x\r\nSTATUS:CANCELLED"),
    );
    let limits = BatchLimits {
        objects: 3,
        age: Duration::from_secs(3600),
    };
    let mut importer = Importer::new(s, b.clone(), opts()).with_limits(limits);
    let mut objects = 0;
    for text in &calendars {
        let parsed = split_calendar(text).unwrap();
        for obj in &parsed {
            s.put_event(&a, obj.uid(), obj.rid(), obj.text())
                .await
                .unwrap();
            importer.put(obj).await.unwrap();
            objects += 1;
            assert!(importer.waiting() < 3, "a full batch is written at once");
        }
        for obj in &parsed {
            refresh::refresh_event(s, &a, obj.uid(), &opts())
                .await
                .unwrap();
        }
    }
    let done = importer.finish().await.unwrap();
    assert_eq!(done.objects, objects);
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let (ta, tb) = (
        s.freebusy(&a, &Table::FreeBusy).await.unwrap().value,
        s.freebusy(&b, &Table::FreeBusy).await.unwrap().value,
    );
    assert!(ta.len() > 50, "the calendars give periods: {}", ta.len());
    assert_eq!(keys(&tb), keys(&ta));
    assert!(keys(&tb).iter().any(|k| k.starts_with("20260111T090000Z")));
    assert!(!keys(&tb).iter().any(|k| k.starts_with("20260110T090000Z")));
    assert!(!keys(&tb).iter().any(|k| k.contains(" gone")));
    let (pa, pb) = (
        s.providers(&a).await.unwrap().value,
        s.providers(&b).await.unwrap().value,
    );
    assert!(
        !pb.events.is_empty(),
        "the unbounded calendar is a provider"
    );
    assert_eq!(pb, pa);
}

/// Periods wait for a full batch or an old one; a later import of the same uid replaces them.
/// (An event that no longer expands is tested with the file store, which can damage an object
/// between its store and its batch: store-file/tests/corrupt.rs.)
pub async fn import_batch_limits<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    let obj = |u: &str, day: &str| {
        split_calendar(&event_text(
            u,
            None,
            &format!("202601{day}T090000Z"),
            &format!("202601{day}T100000Z"),
            u,
        ))
        .unwrap()
        .remove(0)
    };
    let table = || async { keys(&s.freebusy(&a, &Table::FreeBusy).await.unwrap().value) };
    let limits = BatchLimits {
        objects: 2,
        age: Duration::from_secs(3600),
    };
    let mut importer = Importer::new(s, a.clone(), opts()).with_limits(limits);
    importer.put(&obj("one", "05")).await.unwrap();
    assert_eq!(importer.waiting(), 1);
    // Objects and periods land together (issue 21): neither is written before the batch.
    assert!(
        s.get_event(&a, &uid("one"), None).await.unwrap().is_none(),
        "the object waits for its batch"
    );
    assert!(table().await.is_empty(), "its periods wait for the batch");
    importer.put(&obj("two", "06")).await.unwrap();
    assert_eq!(importer.waiting(), 0);
    assert_eq!(
        table().await,
        [
            "20260105T090000Z/20260105T100000Z one",
            "20260106T090000Z/20260106T100000Z two"
        ]
    );

    // "two" moves; "three" is new; both are written by finish.
    importer.put(&obj("two", "07")).await.unwrap();
    importer.put(&obj("three", "08")).await.unwrap();
    assert_eq!(
        importer.waiting(),
        0,
        "the third and fourth objects are a batch"
    );
    let done = importer.finish().await.unwrap();
    assert_eq!(done.objects, 4);
    assert!(done.failed.is_empty());
    assert_eq!(
        table().await,
        [
            "20260105T090000Z/20260105T100000Z one",
            "20260107T090000Z/20260107T100000Z two",
            "20260108T090000Z/20260108T100000Z three"
        ]
    );

    // With no time to wait, every object is its own batch.
    let limits = BatchLimits {
        objects: 1000,
        age: Duration::ZERO,
    };
    let mut importer = Importer::new(s, a.clone(), opts()).with_limits(limits);
    importer.put(&obj("four", "09")).await.unwrap();
    assert_eq!(importer.waiting(), 0);
    assert!(table()
        .await
        .contains(&"20260109T090000Z/20260109T100000Z four".to_owned()));
}

/// The cron job's nightly run (`regenerate` without `--reset`) writes a user's table only when a
/// row changes: with every event bounded the table keeps its version, so an agent's write based
/// on that version still succeeds; an event without end adds its next occurrence and the version
/// moves.
pub async fn extending_the_window_writes_only_what_changes<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (a, s) = (user(ALICE), &f.store);
    let settings = refresh::Settings {
        tz: chrono_tz::UTC,
        window_days: 30,
        needs_action: false,
    };
    let day = chrono::Duration::days(1);
    let now = t("20260105T000000Z");
    let once = event_text("once", None, "20260110T090000Z", "20260110T100000Z", "x");
    s.put_event(&a, &uid("once"), None, &once).await.unwrap();
    let regen = |at| refresh::regenerate(s, &a, &settings, at, false, false);
    assert!(
        regen(now).await.unwrap().full,
        "the first run builds the table"
    );
    let v1 = s.table_version(&a, &Table::FreeBusy).await.unwrap();

    let report = regen(now + day).await.unwrap();
    assert!(!report.full && report.periods == 1);
    let v2 = s.table_version(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(
        v2, v1,
        "a table whose rows did not change was written again"
    );

    let weekly = event_text("weekly", None, "20260106T090000Z", "20260106T100000Z", "w")
        .replace("SUMMARY:w", "SUMMARY:w\r\nRRULE:FREQ=WEEKLY");
    s.put_event(&a, &uid("weekly"), None, &weekly)
        .await
        .unwrap();
    let agent = settings.expand_options(now + day);
    refresh::refresh_event(s, &a, &uid("weekly"), &agent)
        .await
        .unwrap();
    let v3 = s.table_version(&a, &Table::FreeBusy).await.unwrap();
    // Weekly from January 6 up to February 5: five occurrences, and the bounded event.
    assert_eq!(
        s.freebusy(&a, &Table::FreeBusy).await.unwrap().value.len(),
        6
    );

    let report = regen(now + day * 8).await.unwrap();
    assert!(!report.full);
    let table = s.freebusy(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(table.value.len(), 7, "February 10 joins the window");
    assert_ne!(table.version, v3, "the changed table kept its version");
}
