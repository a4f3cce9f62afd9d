//! calstore-any as a library user sees it: a plan from locations, stores opened as one type,
//! copy with verification and check.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::config::Location;
use calstore::{ErrorKind, User};
use calstore_any::{check, copy, CopyOptions, CopyProgress, Locations, Plan};

fn event(uid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn plan(dir: &std::path::Path) -> Plan {
    Plan::resolve(&Locations {
        store: Some(Location::File(dir.join("store"))),
        ..Locations::default()
    })
    .unwrap()
}

#[test]
fn a_plan_puts_journal_and_preferences_beside_the_store() {
    let plan = plan(std::path::Path::new("/srv/cal"));
    assert_eq!(plan.journal, Location::File("/srv/cal/journal".into()));
    assert_eq!(
        plan.preferences,
        Location::File("/srv/cal/preferences".into())
    );
    assert!(plan.preferences_mismatch().is_none());
    let e = Plan::resolve(&Locations {
        instance: Some("prod".into()),
        ..Locations::default()
    })
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn copy_verifies_reports_and_check_agrees() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&a, &b] {
        for sub in ["store", "journal", "preferences"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
    }
    let (pa, pb) = (plan(a.path()), plan(b.path()));
    let (src, src_j) = (
        pa.open_store(false).await.unwrap(),
        pa.open_journal(false).await.unwrap(),
    );
    let (dst, dst_j) = (
        pb.open_store(false).await.unwrap(),
        pb.open_journal(false).await.unwrap(),
    );
    let alice = User::new("mailto:alice@example.com").unwrap();
    // Recorded as the agent records them (object, periods, providers): check then finds the
    // periods it expects for every object.
    for uid in ["e1", "e2"] {
        calstore::agent::record_event(&src, &alice, &event(uid))
            .await
            .unwrap();
    }
    let mut users = 0;
    let report = copy(&src, &dst, &src_j, &dst_j, CopyOptions::default(), |p| {
        if let CopyProgress::UserDone(_) = p {
            users += 1;
        }
    })
    .await
    .unwrap();
    assert!(report.verified(), "{:?}", report.problems);
    assert_eq!(
        (report.counts.users, report.counts.objects, users),
        (1, 2, 1)
    );
    // A target that is not empty is refused without --force, and nothing changes.
    let e = copy(&src, &dst, &src_j, &dst_j, CopyOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(check(&dst, &dst_j).await.sound());

    // A user directory that is a link is a problem for copy and for check.
    std::os::unix::fs::symlink(b.path(), a.path().join("store/mailto:bob@example.com")).unwrap();
    let report = copy(
        &src,
        &dst,
        &src_j,
        &dst_j,
        CopyOptions { force: true },
        |_| {},
    )
    .await
    .unwrap();
    assert!(!report.verified());
    assert!(report.problems[0].message().contains("symbolic link"));
    let findings = check(&src, &src_j).await;
    assert!(!findings.sound());
    assert!(
        findings.problems.iter().any(|p| p.contains("bob")),
        "{findings:?}"
    );
}
