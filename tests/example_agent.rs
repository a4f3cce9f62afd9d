//! The example agent (`examples/agent.rs`) applied to the iTIP samples of `examples/itip/`: a
//! REQUEST, REPLY, COUNTER and CANCEL of a recurring event, as its organiser and as an attendee.
//! The example's own `run` is called, so its output is what `cargo run --example agent` prints.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../examples/agent.rs"]
mod example;

use calstore::{EventStatus, Other, QueueKind, Rid, Store, Table, Uid, User};

fn sample(name: &str) -> String {
    format!("{}/examples/itip/{name}.ics", env!("CARGO_MANIFEST_DIR"))
}

async fn run(dir: &std::path::Path, user: &str, samples: &[&str]) -> Result<String, String> {
    let mut args = vec![
        "--store".to_owned(),
        dir.display().to_string(),
        "--user".to_owned(),
        user.to_owned(),
    ];
    args.extend(samples.iter().map(|s| sample(s)));
    let mut out = Vec::new();
    example::run(&args, &mut out)
        .await
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap())
}

const UID: &str = "weekly-review@example.com";

#[tokio::test]
async fn the_organiser_records_request_reply_counter_and_cancel() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let out = run(
        &dir,
        "mailto:alice@example.com",
        &["request", "reply", "counter", "cancel"],
    )
    .await
    .unwrap();
    let want = [
        "request.ics: weekly-review@example.com: stored (applied)",
        "  stored \"weekly-review@example.com\"",
        "  providers: marked \"weekly-review@example.com\"",
        "reply.ics: weekly-review@example.com: reply-recorded (applied)",
        "  freebusy-other/mailto:bob@example.com: ",
        "counter.ics: weekly-review@example.com 20270111T090000Z: counter-recorded (applied)",
        "  stored the counter-proposal of mailto:bob@example.com for \"weekly-review@example.com\" rid 20270111T090000Z",
        "  queued COUNTER \"weekly-review@example.com\" rid 20270111T090000Z",
        "  freebusy-offers: 1 period(s) of \"weekly-review@example.com\" rid 20270111T090000Z",
        "cancel.ics: weekly-review@example.com 20270118T090000Z: cancelled (applied)",
        "  cancelled \"weekly-review@example.com\" rid 20270118T090000Z",
    ];
    for line in want {
        assert!(
            out.lines()
                .any(|l| l.ends_with(line) || l.starts_with(line)),
            "missing {line:?} in:\n{out}"
        );
    }
    // What the output says is what the store holds.
    let store = calstore_file::FileStore::open_dir(&dir).unwrap();
    let alice = User::new("mailto:alice@example.com").unwrap();
    let uid = Uid::new(UID).unwrap();
    let own = store
        .freebusy(&alice, &Table::FreeBusy)
        .await
        .unwrap()
        .value;
    assert!(!own.is_empty());
    let cancelled = calstore::period::parse_instant("20270118T090000Z").unwrap();
    assert!(
        !own.iter().any(|p| p.start == cancelled),
        "the cancelled week is free"
    );
    assert!(own
        .iter()
        .any(|p| p.start == cancelled - chrono::Duration::weeks(1)));
    assert_eq!(store.providers(&alice).await.unwrap().value.events.len(), 1);
    let bob = Other::new("mailto:bob@example.com").unwrap();
    let theirs = store
        .freebusy(&alice, &Table::Other(bob.clone()))
        .await
        .unwrap();
    assert!(!theirs.value.is_empty(), "Bob accepted: busy in his table");
    let rid = Rid::new("20270111T090000Z").unwrap();
    assert!(store
        .get_counter(&alice, &bob, &uid, Some(&rid))
        .await
        .unwrap()
        .is_some());
    assert!(store
        .have_request(&alice, &uid, Some(&rid), Some(QueueKind::Counter))
        .await
        .unwrap());
}

#[tokio::test]
async fn the_attendee_queues_the_request_and_applies_the_cancel() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let out = run(&dir, "mailto:bob@example.com", &["request", "cancel"])
        .await
        .unwrap();
    assert!(
        out.contains("request.ics: weekly-review@example.com: queued (applied)"),
        "{out}"
    );
    assert!(
        out.contains("  queued REQUEST \"weekly-review@example.com\""),
        "{out}"
    );
    assert!(
        out.contains("cancel.ics: weekly-review@example.com 20270118T090000Z: cancelled (applied)"),
        "{out}"
    );
    let store = calstore_file::FileStore::open_dir(&dir).unwrap();
    let bob = User::new("mailto:bob@example.com").unwrap();
    let uid = Uid::new(UID).unwrap();
    assert_eq!(
        store.requests(&bob).await.unwrap().len(),
        1,
        "still awaiting Bob's answer"
    );
    assert!(store
        .freebusy(&bob, &Table::FreeBusy)
        .await
        .unwrap()
        .value
        .is_empty());
    let inst = store.instances(&bob, &uid).await.unwrap();
    assert_eq!(
        inst,
        [(
            Rid::new("20270118T090000Z").unwrap(),
            EventStatus::Cancelled
        )]
    );
}

#[tokio::test]
async fn bad_use_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let e = run(&dir, "mailto:bob@example.com", &[]).await.unwrap_err();
    assert!(e.starts_with("usage:"), "{e}");
    let plain = tmp.path().join("plain.txt");
    std::fs::write(&plain, "Hello Bob, see you Monday.\n").unwrap();
    let mut out = Vec::new();
    let args: Vec<String> = [
        "--store",
        &dir.display().to_string(),
        "--user",
        "mailto:bob@example.com",
        &plain.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let e = example::run(&args, &mut out).await.unwrap_err().to_string();
    assert!(e.contains("neither iCalendar nor a mail"), "{e}");
}

/// Delivered out of order, the messages leave what in-order delivery leaves: the late original
/// invitation is reported as older and changes nothing.
#[tokio::test]
async fn a_late_original_is_ignored_as_older() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let newer = tmp.path().join("newer.ics");
    std::fs::write(
        &newer,
        std::fs::read_to_string(sample("request"))
            .unwrap()
            .replace("SEQUENCE:0", "SEQUENCE:2")
            .replace("T090000Z", "T140000Z")
            .replace("T100000Z", "T150000Z"),
    )
    .unwrap();
    let mut out = Vec::new();
    let args: Vec<String> = [
        "--store".to_owned(),
        dir.display().to_string(),
        "--user".to_owned(),
        "mailto:bob@example.com".to_owned(),
        newer.display().to_string(),
        sample("request"),
    ]
    .to_vec();
    example::run(&args, &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("request.ics: weekly-review@example.com: ignored-as-older (older-sequence"),
        "{out}"
    );
}
