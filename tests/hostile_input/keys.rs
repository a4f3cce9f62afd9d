//! Hostile identifiers: every kind of key stored and read back exactly, or refused.

use crate::*;

/// Stores `key` as every kind of identifier and reads it back.
pub(crate) async fn keys_round_trip<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    key: &str,
) -> Result<(), TestCaseError> {
    let kinds = [
        User::new(key).map(|_| ()),
        Uid::new(key).map(|_| ()),
        Other::new(key).map(|_| ()),
        Quota::new(key).map(|_| ()),
        Group::new(key).map(|_| ()),
    ];
    for r in &kinds {
        match r {
            Ok(()) => prop_assert!(is_valid_key(key), "{key:?} accepted"),
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
                prop_assert!(!is_valid_key(key), "{key:?} refused: {e}");
            }
        }
    }
    if !is_valid_key(key) {
        return Ok(());
    }
    let (user, uid, other) = (
        User::new(key).unwrap(),
        Uid::new(key).unwrap(),
        Other::new(key).unwrap(),
    );
    let file_name = uid.file_name();
    prop_assert!(!file_name.contains('/') && !file_name.starts_with('.'));
    prop_assert_eq!(decode_component(&file_name).unwrap(), key);
    // An object under a hostile user (a UID property cannot hold a raw line break).
    let event_uid = if key.contains(['\r', '\n']) {
        Uid::new("plain").unwrap()
    } else {
        uid.clone()
    };
    let text = event_text(event_uid.as_str(), "hostile");
    match store.put_event(&user, &event_uid, None, &text).await {
        Ok(()) => {
            let back = store.get_event(&user, &event_uid, None).await.unwrap();
            prop_assert_eq!(back.map(|e| e.text), Some(text));
        }
        // The iCalendar parser may refuse a UID it cannot hold (leading spaces are folded away,
        // for example); then nothing was stored.
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
            prop_assert!(store
                .get_event(&user, &event_uid, None)
                .await
                .unwrap()
                .is_none());
        }
    }
    let alice = User::new("mailto:alice@example.com").unwrap();
    // (On a database shared by several cases the request may be queued already.)
    store
        .queue_request(&alice, &uid, None, QueueKind::Request)
        .await
        .unwrap();
    prop_assert!(store
        .requests(&alice)
        .await
        .unwrap()
        .iter()
        .any(|r| r.uid == uid));
    let mut p = Period::new(
        instant("20300107T090000Z"),
        instant("20300107T100000Z"),
        uid.clone(),
        None,
    )
    .unwrap();
    p.summary = Some(key.to_owned());
    p.organiser = Some(key.to_owned());
    let table = Table::Other(other.clone());
    store
        .set_freebusy(&alice, &table, vec![p.clone()], None)
        .await
        .unwrap();
    let back = store.freebusy(&alice, &table).await.unwrap().value;
    prop_assert!(back.len() == 1 && back[0].same_details(&p), "{:?}", back);
    prop_assert!(store.others(&alice).await.unwrap().contains(&other));
    let (q, g) = (Quota::new(key).unwrap(), Group::new(key).unwrap());
    journal
        .set_groups(&q, &[(user.clone(), g.clone())].into())
        .await
        .unwrap();
    let groups = journal.groups(&q).await.unwrap();
    prop_assert_eq!(groups.get(&user), Some(&g));
    prop_assert!(journal.quotas().await.unwrap().contains(&q));
    Ok(())
}

proptest! {
    #![proptest_config(cases(48))]

    /// Identifiers are data: the file store stores every valid one in one path component inside
    /// its roots, reads it back exactly, and refuses the rest as invalid input.
    #[test]
    fn hostile_identifiers_stay_inside_the_file_store(keys in prop::collection::vec(hostile(), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let (store, journal) = file_store(dir.path());
        for key in &keys {
            runtime().block_on(keys_round_trip(&store, &journal, key))?;
        }
        nothing_outside(dir.path())?;
    }

    /// Percent-decoding any name never panics; encoding and decoding are inverse on keys.
    #[test]
    fn decoding_any_name_is_safe(name in "\\PC{0,40}|[%0-9A-Fa-fzZ]{0,12}", key in hostile()) {
        match decode_component(&name) {
            Ok(_) => {}
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidInput),
        }
        if !key.contains('\0') {
            prop_assert_eq!(decode_component(&encode_component(&key)).unwrap(), key);
        }
    }
}

proptest! {
    #![proptest_config(cases(512))]

    /// A recurrence id is exactly one of the three normalised forms: it is written raw into file
    /// names and table lines, so nothing else may pass (found by the `period_line` fuzz target:
    /// chrono's parser skipped a CR between the digits).
    #[test]
    fn rids_are_only_the_normalised_forms(text in prop_oneof![
        "[0-9TZ \t\r\n\x0c+-]{8,16}",
        "[0-9]{8}(T[0-9]{6}Z?)?",
        // Short numbers padded with whitespace to the lengths of the three forms.
        "[0-9]{1,4}[ \r\n\x0c]{0,3}[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}(T[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}[ \r\n\x0c]{0,2}[0-9]{1,2}Z?)?"
            .prop_filter("a length of the three forms", |s: &String| [8, 15, 16].contains(&s.len())),
    ]) {
        let strict = |s: &str| {
            let b = s.as_bytes();
            let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
            match b.len() {
                8 => digits(0..8),
                15 => digits(0..8) && b[8] == b'T' && digits(9..15),
                16 => digits(0..8) && b[8] == b'T' && digits(9..15) && b[15] == b'Z',
                _ => false,
            }
        };
        if let Ok(rid) = Rid::new(text.clone()) {
            prop_assert!(strict(&text), "{:?} accepted", text);
            prop_assert_eq!(rid.file_name(), text);
        }
    }
}
