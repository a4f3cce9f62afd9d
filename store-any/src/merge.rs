//! Merging a user held under another spelling into its normal key (`calstore merge-user`): a
//! store written before user keys were normalised, or by a program that kept a mail header's
//! spelling, may hold `MAILTO:Alice@Example.com` beside `mailto:alice@example.com`, and every
//! query for one misses the other's data (`calstore check` reports it, see
//! [`user_spellings`](crate::user_spellings)).
//!
//! What the target already holds wins: an object, counter, request or setting both keys hold is
//! kept as the target has it and the source's copy dropped. Period tables are united (rows of
//! the same (start, end, uid, rid) once); the busy time derived from objects is rebuilt
//! afterwards with `make-freebusy --reset` on the target. The source ends with nothing.

use std::collections::BTreeSet;

use calstore::{Error, EventStatus, Providers, Result, Store, Table, User};

/// What [`merge_user`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Objects moved to the target.
    pub objects: usize,
    /// Objects the target already held (the source's copy dropped).
    pub kept: usize,
    /// Counter-proposals moved.
    pub counters: usize,
    /// Queued requests moved.
    pub requests: usize,
    /// Period rows added to the target's tables.
    pub periods: usize,
    /// Settings moved.
    pub preferences: usize,
}

/// Moves everything `store` holds under `from` to `into` and leaves `from` empty.
///
/// # Errors
///
/// Invalid input when the two keys are the same; the store's errors (the merge stops at the
/// first; run it again to finish: every step is idempotent).
pub async fn merge_user<S: Store>(store: &S, from: &User, into: &User) -> Result<MergeReport> {
    if from == into {
        return Err(Error::invalid(format!(
            "{from} is already spelled that way: nothing to merge"
        )));
    }
    let mut report = MergeReport::default();
    let list = store.list_events(from).await?;
    // Instances after their parents when putting, before them when removing.
    let keys: Vec<_> = list
        .active
        .iter()
        .chain(&list.cancelled)
        .map(|u| (u.clone(), None))
        .chain(
            list.active_instances
                .iter()
                .chain(&list.cancelled_instances)
                .map(|(u, r)| (u.clone(), Some(r.clone()))),
        )
        .collect();
    for (uid, rid) in &keys {
        if store.get_event(into, uid, rid.as_ref()).await?.is_some() {
            report.kept += 1;
            continue;
        }
        let Some(event) = store.get_event(from, uid, rid.as_ref()).await? else {
            continue;
        };
        store
            .put_event(into, uid, rid.as_ref(), &event.text)
            .await?;
        if event.status == EventStatus::Cancelled {
            store.cancel_event(into, uid, rid.as_ref()).await?;
        }
        report.objects += 1;
    }
    for (uid, rid, other) in store.counters(from).await? {
        let have = store.get_counter(into, &other, &uid, rid.as_ref()).await?;
        if have.is_none() {
            if let Some(text) = store.get_counter(from, &other, &uid, rid.as_ref()).await? {
                store
                    .put_counter(into, &other, &uid, rid.as_ref(), &text)
                    .await?;
                report.counters += 1;
            }
        }
        store
            .remove_counter(from, &other, &uid, rid.as_ref())
            .await?;
    }
    let mut requests = store.requests(into).await?;
    for r in store.requests(from).await? {
        if !requests.contains(&r) {
            requests.push(r);
            report.requests += 1;
        }
    }
    if report.requests > 0 {
        store.set_requests(into, &requests).await?;
    }
    store.set_requests(from, &[]).await?;
    let mut tables = vec![Table::FreeBusy, Table::Offers];
    tables.extend(store.others(from).await?.into_iter().map(Table::Other));
    for table in &tables {
        let theirs = store.freebusy(from, table).await?.value;
        if theirs.is_empty() {
            continue;
        }
        let mine = store.freebusy(into, table).await?;
        let mut rows: BTreeSet<_> = mine.value.into_iter().collect();
        let before = rows.len();
        rows.extend(theirs);
        report.periods += rows.len() - before;
        store
            .set_freebusy(into, table, rows.into_iter().collect(), Some(mine.version))
            .await?;
        store.set_freebusy(from, table, Vec::new(), None).await?;
    }
    let theirs = store.providers(from).await?.value;
    if theirs != Providers::default() {
        let mine = store.providers(into).await?;
        let mut events: BTreeSet<_> = mine.value.events.iter().cloned().collect();
        events.extend(theirs.events);
        let merged = Providers {
            window_end: mine.value.window_end.or(theirs.window_end),
            events: events.into_iter().collect(),
        };
        store
            .set_providers(into, &merged, Some(mine.version))
            .await?;
        store
            .set_providers(from, &Providers::default(), None)
            .await?;
    }
    let settings = store.preferences(into).await?;
    for (name, value) in store.preferences(from).await? {
        if !settings.contains_key(&name) {
            store.set_preference(into, &name, Some(&value)).await?;
            report.preferences += 1;
        }
        store.set_preference(from, &name, None).await?;
    }
    for (uid, rid) in keys.iter().rev() {
        store.remove_event(from, uid, rid.as_ref()).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use calstore::memory::MemoryStore;
    use calstore::{PrefName, Uid};

    fn ics(uid: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    }

    #[tokio::test]
    async fn a_second_spelling_is_merged_and_emptied() {
        let store = MemoryStore::new();
        let normal = User::new("mailto:alice@example.com").unwrap();
        let odd = User::stored("MAILTO:Alice@Example.com").unwrap();
        let (a, b) = (Uid::new("a").unwrap(), Uid::new("b").unwrap());
        store.put_event(&normal, &a, None, &ics("a")).await.unwrap();
        store.put_event(&odd, &a, None, &ics("a")).await.unwrap();
        store.put_event(&odd, &b, None, &ics("b")).await.unwrap();
        let tz = PrefName::new("TZID").unwrap();
        store
            .set_preference(&odd, &tz, Some("Europe/Oslo"))
            .await
            .unwrap();
        assert_eq!(crate::user_spellings(&store).await.unwrap().len(), 1);
        let report = merge_user(&store, &odd, &normal).await.unwrap();
        assert_eq!((report.objects, report.kept, report.preferences), (1, 1, 1));
        assert!(store.get_event(&normal, &b, None).await.unwrap().is_some());
        assert_eq!(
            store.preference(&normal, &tz).await.unwrap().as_deref(),
            Some("Europe/Oslo")
        );
        assert_eq!(store.users().await.unwrap(), vec![normal.clone()]);
        assert!(crate::user_spellings(&store).await.unwrap().is_empty());
        assert!(merge_user(&store, &normal, &normal).await.is_err());
    }
}
