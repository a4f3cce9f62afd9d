//! Hostile identifiers are data: stored and read back exactly, or refused as invalid input.

use crate::{
    ErrorKind, Group, Journal, Other, QueueKind, Quota, Store, Table, Uid, UsageTable, User,
};

use super::fixture::Fixture;
use super::support::*;

pub const HOSTILE: &[&str] = &[
    "../../escape",
    "..",
    ".",
    "a/b",
    ".hidden",
    "/absolute",
    "tab\there",
    "new\nline\r\n",
    "back\\slash",
    "percent%2F",
    "quote'\"; DROP TABLE objects; --",
    "é ü 中文 🙂",
    " spaces ",
    "*",
];

pub async fn hostile_keys_round_trip<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let long = "x".repeat(200);
    let keys_to_try: Vec<&str> = HOSTILE.iter().copied().chain([long.as_str()]).collect();
    for key in &keys_to_try {
        let (u, id, o) = (
            User::new(*key).unwrap(),
            Uid::new(*key).unwrap(),
            Other::new(*key).unwrap(),
        );
        // The UID property cannot hold a raw line break, so events use a fixed UID under hostile users.
        let event_uid = if key.contains(['\n', '\r']) {
            uid("plain")
        } else {
            id.clone()
        };
        let text = event_text(
            event_uid.as_str(),
            None,
            "20260105T090000Z",
            "20260105T100000Z",
            key,
        );
        f.store
            .put_event(&u, &event_uid, None, &text)
            .await
            .unwrap();
        assert_eq!(
            f.store
                .get_event(&u, &event_uid, None)
                .await
                .unwrap()
                .unwrap()
                .text,
            text,
            "{key:?}"
        );
        assert_eq!(
            f.store.list_events(&u).await.unwrap().active,
            vec![event_uid.clone()],
            "{key:?}"
        );
        f.store
            .queue_request(&u, &id, None, QueueKind::Request)
            .await
            .unwrap();
        assert_eq!(f.store.requests(&u).await.unwrap()[0].uid, id, "{key:?}");
        let mut p = crate::Period::new(
            t("20260105T090000Z"),
            t("20260105T100000Z"),
            id.clone(),
            None,
        )
        .unwrap();
        p.summary = Some((*key).to_owned());
        p.organiser = Some((*key).to_owned());
        f.store
            .set_freebusy(&u, &Table::Other(o.clone()), vec![p.clone()], None)
            .await
            .unwrap();
        let back = f
            .store
            .freebusy(&u, &Table::Other(o.clone()))
            .await
            .unwrap()
            .value;
        assert!(
            back.len() == 1 && back[0].same_details(&p),
            "{key:?}: {back:?}"
        );
        assert_eq!(
            f.store.others(&u).await.unwrap(),
            vec![o.clone()],
            "{key:?}"
        );
        let q = Quota::new(*key).unwrap();
        let g = Group::new(*key).unwrap();
        f.journal
            .set_groups(&q, &[(u.clone(), g.clone())].into())
            .await
            .unwrap();
        assert_eq!(f.journal.groups(&q).await.unwrap()[&u], g, "{key:?}");
        f.journal
            .set_usage(&q, &UsageTable::Journal(g.clone()), vec![p.clone()], None)
            .await
            .unwrap();
        assert!(
            f.journal
                .usage_tables(&q)
                .await
                .unwrap()
                .contains(&UsageTable::Journal(g)),
            "{key:?}"
        );
    }
    let users = f.store.users().await.unwrap();
    assert_eq!(
        users.len(),
        keys_to_try.len(),
        "every hostile user is listed, decoded: {users:?}"
    );
    for key in &keys_to_try {
        assert!(users.iter().any(|u| u.as_str() == *key), "{key:?} listed");
    }
}

pub async fn invalid_keys_are_refused<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    _f: &Fixture<S, J>,
) {
    for bad in [
        "".to_owned(),
        "nul\0byte".to_owned(),
        "y".repeat(300),
        "/".repeat(100),
        "z".repeat(4000),
    ] {
        assert_eq!(
            kind(User::new(bad.clone())),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
        assert_eq!(
            kind(Uid::new(bad.clone())),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
        assert_eq!(
            kind(Other::new(bad.clone())),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
        assert_eq!(
            kind(Quota::new(bad.clone())),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    assert_eq!(
        kind(crate::Rid::new("../20260105")),
        ErrorKind::InvalidInput
    );
}

/// Issue 13 item 7: a NUL character anywhere in an object (an X- property, a VALARM, a counter)
/// is refused by every backend alike, as invalid input naming the line, and nothing is stored.
/// (The file store used to keep it and PostgreSQL to fail with 22021.)
pub async fn nul_in_objects_is_refused_alike<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let u = User::new("mailto:nul@example.com").unwrap();
    let plain = event_text(
        "nul-1",
        None,
        "20260105T090000Z",
        "20260105T100000Z",
        "Plain",
    );
    let in_x = plain.replace("END:VEVENT", "X-CUSTOM:before\u{0}after\r\nEND:VEVENT");
    let in_alarm = plain.replace(
        "END:VEVENT",
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:ring\u{0}ring\r\nEND:VALARM\r\nEND:VEVENT",
    );
    for text in [&in_x, &in_alarm] {
        let e = f
            .store
            .put_event(&u, &uid("nul-1"), None, text)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e.message());
        assert!(e.message().contains("NUL"), "{}", e.message());
        let e = f
            .store
            .put_counter(
                &u,
                &Other::new("mailto:bob@example.com").unwrap(),
                &uid("nul-1"),
                None,
                text,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e.message());
        let q = Quota::new("nul-rooms").unwrap();
        let e = f
            .journal
            .put_event(&q, &uid("nul-1"), None, text)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e.message());
    }
    assert!(f
        .store
        .get_event(&u, &uid("nul-1"), None)
        .await
        .unwrap()
        .is_none());
    assert!(f.store.users().await.unwrap().iter().all(|x| x != &u));
    // The same object without the NUL is stored by every backend.
    f.store
        .put_event(&u, &uid("nul-1"), None, &plain)
        .await
        .unwrap();
}
