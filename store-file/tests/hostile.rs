//! Hostile keys stay data: each becomes exactly one path component inside its root, is listed
//! back decoded, and nothing is ever created outside the roots.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use calstore::{
    ErrorKind, Group, Journal, Other, Period, PrefName, QueueKind, Quota, Store, Table, Uid,
    UsageTable, User,
};
use common::*;

const HOSTILE: &[&str] = &[
    "../../escape",
    "..",
    ".",
    "a/b",
    "/absolute",
    ".hidden",
    ".lock",
    ".tmp-x",
    "tab\there",
    "new\nline\r\n",
    "back\\slash",
    "percent%2F",
    "nul-free \u{7f} del",
    "é ü 中文 🙂",
    "*",
];

#[tokio::test]
async fn hostile_keys_stay_inside_the_roots() {
    let env = Env::new();
    // Everything lives one level down, so an escape would show up beside the roots.
    let (store, journal) = (env.store(), env.journal());
    let long = "x".repeat(255);
    let keys: Vec<&str> = HOSTILE.iter().copied().chain([long.as_str()]).collect();
    for key in &keys {
        let (u, id, o) = (
            User::new(*key).unwrap(),
            Uid::new(*key).unwrap(),
            Other::new(*key).unwrap(),
        );
        // An event's UID cannot hold a raw line break; it is stored under a plain uid then.
        let event_uid = if key.contains(['\n', '\r']) {
            uid("plain")
        } else {
            id.clone()
        };
        let text = event_text(event_uid.as_str(), None, "x");
        store.put_event(&u, &event_uid, None, &text).await.unwrap();
        store.cancel_event(&u, &event_uid, None).await.unwrap();
        store
            .put_counter(&u, &o, &event_uid, None, &text)
            .await
            .unwrap();
        store
            .queue_request(&u, &id, None, QueueKind::Counter)
            .await
            .unwrap();
        let p = Period::new(
            t("20260105T090000Z"),
            t("20260105T100000Z"),
            id.clone(),
            None,
        )
        .unwrap();
        store
            .set_freebusy(&u, &Table::Other(o.clone()), vec![p.clone()], None)
            .await
            .unwrap();
        let value = format!("{key}.");
        store
            .set_preference(&u, &PrefName::new(*key).unwrap(), Some(&value))
            .await
            .unwrap();
        let (q, g) = (Quota::new(*key).unwrap(), Group::new(*key).unwrap());
        journal
            .set_usage(&q, &UsageTable::Journal(g.clone()), vec![p.clone()], None)
            .await
            .unwrap();
        journal
            .set_usage(&q, &UsageTable::User(u.clone()), vec![p], None)
            .await
            .unwrap();
        journal
            .set_groups(&q, &[(u.clone(), g.clone())].into())
            .await
            .unwrap();

        assert_eq!(
            store.list_events(&u).await.unwrap().cancelled,
            vec![event_uid.clone()],
            "{key:?}"
        );
        assert_eq!(
            store.counter_proposers(&u, &event_uid, None).await.unwrap(),
            vec![o.clone()]
        );
        assert_eq!(store.requests(&u).await.unwrap()[0].uid, id);
        assert_eq!(store.others(&u).await.unwrap(), vec![o.clone()]);
        assert_eq!(
            store
                .preference(&u, &PrefName::new(*key).unwrap())
                .await
                .unwrap()
                .as_deref(),
            Some(value.as_str())
        );
        assert_eq!(
            journal.usage_tables(&q).await.unwrap(),
            vec![UsageTable::User(u.clone()), UsageTable::Journal(g.clone())]
        );
        assert_eq!(journal.groups(&q).await.unwrap()[&u], g);
    }
    let mut users: Vec<String> = store
        .users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.as_str().to_owned())
        .collect();
    users.sort();
    let mut want: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    want.sort();
    assert_eq!(users, want);
    assert_eq!(journal.quotas().await.unwrap().len(), keys.len());
    // Nothing beside the three roots, and every user, quota and preference directory is one
    // component directly below its root.
    let mut top: Vec<String> = std::fs::read_dir(env.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    top.sort();
    assert_eq!(top, ["journal", "preferences", "store"]);
    for root in ["store", "preferences", "journal"] {
        let names: Vec<String> = std::fs::read_dir(env.root().join(root))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), keys.len(), "{root}: {names:?}");
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with('.') && !n.contains('/')),
            "{names:?}"
        );
    }
    for path in paths(env.root()) {
        let p = std::path::Path::new(&path);
        assert!(
            p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
            "{path}"
        );
    }
}

#[test]
fn keys_that_cannot_be_names_are_refused() {
    for bad in [
        String::new(),
        "nul\0".to_owned(),
        "x".repeat(256),
        "/".repeat(86),
    ] {
        assert_eq!(
            User::new(bad.clone()).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert_eq!(
        calstore::Rid::new("../20260105").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}
