//! The `writes` workload: attempts every kind of write of the store and the journal once, after a
//! few reads, on data the `setup-crash` workload wrote (object and counter `e0`, request `bg-0`,
//! background periods `bg`), so that each write would change something. Run against a read-only store (or one
//! the process may not write), every write must be refused and nothing may change; the parent
//! compares the whole tree or database before and after.
//!
//! Prints `ack read-NAME` / `refused read-NAME KIND` for the reads and `ack NAME` /
//! `refused NAME KIND` for the writes.

use calstore::{
    Journal, PrefName, Providers, QueueKind, Request, Result, Store, Table, UsageTable, Version,
};

use crate::names::*;
use crate::report::Reporter;

fn report<T>(out: &mut Reporter, name: &str, r: Result<T>) {
    match r {
        Ok(_) => out.ack(name, &[]),
        Err(e) => out.refused(name, &e, &[]),
    }
}

/// Runs the workload.
pub async fn run<S: Store, J: Journal>(store: &S, journal: &J, out: &mut Reporter) {
    let (a, b) = (user(ALICE), user("mailto:new-user@example.com"));
    let (e, o) = (uid("e0"), other("mailto:bob@example.com"));
    let (q, g) = (quota(QUOTA), group(TEAM));
    let text = event_text("e0", "attempted");
    let p = || vec![tagged_period("e0", "attempted", 1)];
    let fb = Table::FreeBusy;
    let providers = Providers {
        window_end: Some(base()),
        events: vec![(uid("bg"), None)],
    };

    // Reads must work.
    report(out, "read-users", store.users().await);
    report(out, "read-list", store.list_events(&a).await);
    report(out, "read-event", store.get_event(&a, &e, None).await);
    report(out, "read-requests", store.requests(&a).await);
    report(out, "read-freebusy", store.freebusy(&a, &fb).await);
    report(out, "read-limits", journal.limits(&q).await);
    report(out, "read-usage", journal.usage_tables(&q).await);

    report(out, "put_event", store.put_event(&a, &e, None, &text).await);
    report(
        out,
        "put_event-new-user",
        store.put_event(&b, &e, None, &text).await,
    );
    report(out, "remove_event", store.remove_event(&a, &e, None).await);
    report(out, "cancel_event", store.cancel_event(&a, &e, None).await);
    report(
        out,
        "uncancel_event",
        store.uncancel_event(&a, &e, None).await,
    );
    report(
        out,
        "queue_request",
        store
            .queue_request(&a, &uid("new"), None, QueueKind::Request)
            .await,
    );
    report(
        out,
        "queue_request-new-user",
        store.queue_request(&b, &e, None, QueueKind::Request).await,
    );
    report(
        out,
        "dequeue_request",
        store.dequeue_request(&a, &uid("bg-0"), None).await,
    );
    report(
        out,
        "set_requests",
        store
            .set_requests(
                &a,
                &[Request {
                    uid: e.clone(),
                    rid: None,
                    method: QueueKind::Counter,
                }],
            )
            .await,
    );
    report(
        out,
        "put_counter",
        store.put_counter(&a, &o, &e, None, &text).await,
    );
    report(
        out,
        "remove_counter",
        store.remove_counter(&a, &o, &e, None).await,
    );
    report(
        out,
        "remove_counters",
        store.remove_counters(&a, &e, None, None).await,
    );
    report(
        out,
        "set_freebusy",
        store.set_freebusy(&a, &fb, p(), None).await,
    );
    report(
        out,
        "set_freebusy-empty",
        store.set_freebusy(&a, &fb, Vec::new(), None).await,
    );
    report(
        out,
        "set_freebusy-other",
        store
            .set_freebusy(&a, &Table::Other(o.clone()), p(), None)
            .await,
    );
    report(
        out,
        "replace_event_periods",
        store
            .replace_event_periods(&a, &fb, &e, None, p(), None)
            .await,
    );
    report(
        out,
        "replace_uid_periods",
        store.replace_uid_periods(&a, &fb, &e, p()).await,
    );
    let bg = uid("bg");
    report(
        out,
        "remove_event_periods",
        store.remove_event_periods(&a, &fb, &bg, None, None).await,
    );
    report(
        out,
        "remove_additional_periods",
        store
            .remove_additional_periods(&a, &fb, &bg, &[], None)
            .await,
    );
    report(
        out,
        "remove_affected_period",
        store
            .remove_affected_period(&a, &fb, &bg, bg_period(0).start, None)
            .await,
    );
    report(out, "reserve", store.reserve(&a, &fb, p(), 1, None).await);
    report(
        out,
        "reserve-offers",
        store
            .reserve(&a, &Table::Offers, p(), 1, Some(Version(0)))
            .await,
    );
    report(
        out,
        "set_providers",
        store.set_providers(&a, &providers, None).await,
    );
    let tzid = PrefName::new("TZID").unwrap_or_else(|_| unreachable!("a valid name"));
    report(
        out,
        "set_preference",
        store.set_preference(&a, &tzid, Some("Europe/Oslo")).await,
    );
    let note = PrefName::new("note").unwrap_or_else(|_| unreachable!("a valid name"));
    report(
        out,
        "remove_preference",
        store.set_preference(&a, &note, None).await,
    );
    report(
        out,
        "set_limits",
        journal.set_limits(&q, &Default::default(), None).await,
    );
    report(
        out,
        "set_groups",
        journal
            .set_groups(&q, &[(a.clone(), g.clone())].into())
            .await,
    );
    report(
        out,
        "set_delegates",
        journal.set_delegates(&q, std::slice::from_ref(&a)).await,
    );
    report(
        out,
        "set_usage",
        journal
            .set_usage(&q, &UsageTable::User(a.clone()), p(), None)
            .await,
    );
    report(
        out,
        "replace_usage_periods",
        journal
            .replace_usage_periods(&q, &UsageTable::Journal(g.clone()), &e, None, p(), None)
            .await,
    );
    report(
        out,
        "reserve_within_limit",
        journal.reserve_within_limit(&q, &g, p()).await,
    );
    report(
        out,
        "expire",
        journal
            .expire(&q, base() + chrono::Duration::days(3650))
            .await,
    );
    report(
        out,
        "set_journal_providers",
        journal.set_providers(&q, &providers, None).await,
    );
    report(
        out,
        "put_journal_event",
        journal.put_event(&q, &e, None, &text).await,
    );
    report(
        out,
        "remove_journal_event",
        journal.remove_event(&q, &e, None).await,
    );
}
