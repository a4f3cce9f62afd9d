//! The contract's shape itself: a backend's overrides of the provided reads answer as the
//! trait's defaults do, a step of several changes does what its changes do one by one, and a
//! step that fails (a condition, a change refused on what is stored) writes nothing.

use crate::store::{Applied, Outcome};
use crate::{
    Change, ErrorKind, Journal, PrefName, Providers, QueueKind, Request, Step, Store, Table,
};
use crate::{Rid, Uid, UsageTable, User};

use super::fixture::Fixture;
use super::support::*;
use super::wrap::Defaults;

const ALICE: &str = "mailto:alice@example.com";
const BOB: &str = "mailto:bob@example.com";

/// Events (one with two instances, one cancelled), proposals, a queue, tables, providers and a
/// preference for `who`.
async fn populate<S: Store>(s: &S, who: &User) {
    let at = |d: &str| format!("202601{d}T090000Z");
    let end = |d: &str| format!("202601{d}T100000Z");
    let bob = other(BOB);
    for (u, d) in [("one", "05"), ("two", "06"), ("three", "07")] {
        let text = event_text(u, None, &at(d), &end(d), u);
        s.put_event(who, &uid(u), None, &text).await.unwrap();
    }
    for d in ["12", "19"] {
        let text = event_text("one", Some(&at(d)), &at(d), &end(d), "moved");
        s.put_event(who, &uid("one"), Some(&rid(&at(d))), &text)
            .await
            .unwrap();
        let text = event_text("one", Some(&at(d)), &at(d), &end(d), "counter");
        s.put_counter(who, &bob, &uid("one"), Some(&rid(&at(d))), &text)
            .await
            .unwrap();
    }
    s.cancel_event(who, &uid("three"), None).await.unwrap();
    let text = event_text("one", None, &at("05"), &end("05"), "counter");
    s.put_counter(who, &bob, &uid("one"), None, &text)
        .await
        .unwrap();
    for u in ["one", "two"] {
        s.queue_request(who, &uid(u), None, QueueKind::Request)
            .await
            .unwrap();
    }
    let mut periods = vec![
        period(&at("05"), &end("05"), "one", None),
        period(&at("12"), &end("12"), "one", Some(&at("12"))),
        period(&at("19"), &end("19"), "one", Some(&at("19"))),
        period(&at("26"), &end("26"), "one", None),
        period(&at("06"), &end("06"), "two", None),
    ];
    periods.sort_by_key(|p| p.start);
    s.set_freebusy(who, &Table::FreeBusy, periods, None)
        .await
        .unwrap();
    let theirs = vec![period(&at("08"), &end("08"), "theirs", None)];
    s.set_freebusy(who, &Table::Other(bob), theirs, None)
        .await
        .unwrap();
    s.mark_provider(who, &uid("one"), true).await.unwrap();
    let tz = PrefName::new("TZID").unwrap();
    s.set_preference(who, &tz, Some("Europe/Berlin"))
        .await
        .unwrap();
}

pub async fn provided_reads_answer_as_the_defaults<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let s = &f.store;
    populate(s, &a).await;
    let d = Defaults(s.clone());
    let uids = [uid("three"), uid("none"), uid("one"), uid("two")];
    assert_eq!(
        s.load_events(&a, &uids).await.unwrap(),
        d.load_events(&a, &uids).await.unwrap()
    );
    assert_eq!(
        s.unlisted_users().await.unwrap().len(),
        d.unlisted_users().await.unwrap().len()
    );
    let bob = other(BOB);
    for u in [uid("one"), uid("two"), uid("none")] {
        assert_eq!(
            s.counter_rids(&a, &u).await.unwrap(),
            d.counter_rids(&a, &u).await.unwrap()
        );
        for r in [None, Some(rid("20260112T090000Z"))] {
            assert_eq!(
                s.counter_proposers(&a, &u, r.as_ref()).await.unwrap(),
                d.counter_proposers(&a, &u, r.as_ref()).await.unwrap()
            );
            for m in [None, Some(QueueKind::Request), Some(QueueKind::Counter)] {
                assert_eq!(
                    s.have_request(&a, &u, r.as_ref(), m).await.unwrap(),
                    d.have_request(&a, &u, r.as_ref(), m).await.unwrap()
                );
            }
        }
    }
    for table in [Table::FreeBusy, Table::Offers, Table::Other(bob)] {
        assert_eq!(
            s.table_version(&a, &table).await.unwrap(),
            d.table_version(&a, &table).await.unwrap()
        );
        for (from, to) in [("20260101", "20260131"), ("20260106", "20260113")] {
            let (from, to) = (t(&format!("{from}T093000Z")), t(&format!("{to}T093000Z")));
            let got = s.freebusy_in(&a, &table, from, to).await.unwrap();
            let want = d.freebusy_in(&a, &table, from, to).await.unwrap();
            assert_eq!(keys(&got.value), keys(&want.value), "{table} {from}..{to}");
            assert_eq!(got.version, want.version);
        }
        let asked = [period("20260112T093000Z", "20260119T093000Z", "new", None)];
        assert_eq!(
            keys(&s.conflicts(&a, &table, &asked).await.unwrap()),
            keys(&d.conflicts(&a, &table, &asked).await.unwrap())
        );
    }
    for name in ["TZID", "absent"] {
        let name = PrefName::new(name).unwrap();
        assert_eq!(
            s.preference(&a, &name).await.unwrap(),
            d.preference(&a, &name).await.unwrap()
        );
    }
    // The journal's range read and bulk read.
    let (j, dj) = (&f.journal, Defaults(f.journal.clone()));
    let q = crate::Quota::new("rooms").unwrap();
    let table = UsageTable::User(a.clone());
    let usage = vec![
        period("20260105T090000Z", "20260105T100000Z", "one", None),
        period("20260107T090000Z", "20260107T100000Z", "two", None),
    ];
    j.set_usage(&q, &table, usage, None).await.unwrap();
    let (from, to) = (t("20260106T000000Z"), t("20260108T000000Z"));
    assert_eq!(
        keys(&j.usage_in(&q, &table, from, to).await.unwrap().value),
        keys(&dj.usage_in(&q, &table, from, to).await.unwrap().value)
    );
    let text = event_text("one", None, "20260105T090000Z", "20260105T100000Z", "r");
    j.put_event(&q, &uid("one"), None, &text).await.unwrap();
    let asked = [uid("one"), uid("none")];
    assert_eq!(
        j.load_events(&q, &asked).await.unwrap(),
        dj.load_events(&q, &asked).await.unwrap()
    );
}

/// Every change a step of several can hold, on the data of [`populate`].
fn changes() -> Vec<Change> {
    let bob = other(BOB);
    let r12 = rid("20260112T090000Z");
    let text4 = event_text("four", None, "20260109T090000Z", "20260109T100000Z", "4");
    let counter4 = event_text("four", None, "20260109T100000Z", "20260109T110000Z", "c");
    vec![
        Change::PutEvent {
            uid: uid("four"),
            rid: None,
            text: text4,
        },
        Change::RemoveEvent {
            uid: uid("two"),
            rid: None,
        },
        Change::Queue(Request {
            uid: uid("four"),
            rid: None,
            method: QueueKind::Counter,
        }),
        Change::Dequeue {
            uid: uid("one"),
            rid: None,
        },
        Change::PutCounter {
            other: bob.clone(),
            uid: uid("four"),
            rid: None,
            text: counter4,
        },
        Change::RemoveCounter {
            other: bob.clone(),
            uid: uid("one"),
            rid: None,
        },
        Change::RemoveCounters {
            uid: uid("one"),
            rid: Some(r12),
            only: None,
        },
        Change::SetFreeBusy {
            table: Table::Other(bob),
            periods: Vec::new(),
        },
        Change::ReplaceEventPeriods {
            table: Table::FreeBusy,
            uid: uid("four"),
            rid: None,
            periods: vec![period("20260109T090000Z", "20260109T100000Z", "four", None)],
        },
        Change::RemoveEventPeriods {
            table: Table::FreeBusy,
            uid: uid("two"),
            rid: None,
        },
        Change::RemoveAdditionalPeriods {
            table: Table::FreeBusy,
            uid: uid("one"),
            keep: vec![rid("20260119T090000Z")],
        },
        Change::RemoveAffectedPeriod {
            table: Table::FreeBusy,
            uid: uid("one"),
            start: t("20260126T090000Z"),
        },
        Change::ReplaceUidsPeriods {
            table: Table::Offers,
            uids: vec![uid("four")],
            periods: vec![period("20260110T090000Z", "20260110T100000Z", "four", None)],
        },
        Change::SetProviders(Providers {
            window_end: Some(t("20260301T000000Z")),
            events: vec![(uid("one"), None)],
        }),
        Change::MarkProvider {
            uid: uid("four"),
            present: true,
        },
        Change::SetRequests(vec![Request {
            uid: uid("one"),
            rid: None,
            method: QueueKind::Request,
        }]),
        Change::SetPreference {
            name: PrefName::new("TZID").unwrap(),
            value: Some("Europe/Paris".into()),
        },
    ]
}

/// Everything a user has, as text (versions left out: they differ between users).
async fn state<S: Store>(s: &S, who: &User) -> String {
    let list = s.list_events(who).await.unwrap();
    let mut out = format!("{list:?}\n{:?}\n", s.requests(who).await.unwrap());
    let mut keys_of: Vec<(Uid, Option<Rid>)> = Vec::new();
    keys_of.extend(
        list.active
            .iter()
            .chain(&list.cancelled)
            .map(|u| (u.clone(), None)),
    );
    keys_of.extend(
        list.active_instances
            .iter()
            .chain(&list.cancelled_instances)
            .map(|(u, r)| (u.clone(), Some(r.clone()))),
    );
    for (u, r) in keys_of {
        out += &format!("{:?}\n", s.get_event(who, &u, r.as_ref()).await.unwrap());
    }
    for (u, r, o) in s.counters(who).await.unwrap() {
        let text = s.get_counter(who, &o, &u, r.as_ref()).await.unwrap();
        out += &format!("{u} {r:?} {o}: {text:?}\n");
    }
    let mut tables = vec![Table::FreeBusy, Table::Offers];
    tables.extend(s.others(who).await.unwrap().into_iter().map(Table::Other));
    for table in tables {
        let periods = s.freebusy(who, &table).await.unwrap().value;
        out += &format!("{table}: {:?}\n", keys(&periods));
    }
    out += &format!("{:?}\n", s.providers(who).await.unwrap().value);
    out += &format!("{:?}\n", s.preferences(who).await.unwrap());
    out
}

fn without_versions(applied: &Applied) -> Vec<Outcome> {
    let blank = |o: &Outcome| match o {
        Outcome::Version(_) => Outcome::Version(crate::Version(0)),
        other => *other,
    };
    applied.outcomes.iter().map(blank).collect()
}

pub async fn a_step_does_what_its_changes_do_one_by_one<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let s = &f.store;
    let (a, b) = (user(ALICE), user("mailto:carol@example.com"));
    populate(s, &a).await;
    populate(s, &b).await;
    assert_eq!(state(s, &a).await, state(s, &b).await);
    let step = Step { changes: changes() };
    let together = s.apply_step(&a, &step).await.unwrap();
    assert_eq!(together.outcomes.len(), step.changes.len());
    let mut alone = Applied::default();
    for change in changes() {
        let one = s.apply_step(&b, &Step::from(change)).await.unwrap();
        alone.outcomes.extend(one.outcomes);
    }
    assert_eq!(without_versions(&together), without_versions(&alone));
    assert_eq!(
        together.outcomes[1],
        Outcome::Changed(true),
        "the removal reports what it removed"
    );
    assert_eq!(state(s, &a).await, state(s, &b).await);
    // The version outcome of a table write is the table's version after the step.
    let v = s.table_version(&a, &Table::FreeBusy).await.unwrap();
    assert_eq!(together.outcomes[11], Outcome::Version(v));
}

pub async fn a_failed_step_writes_nothing<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let s = &f.store;
    let a = user(ALICE);
    populate(s, &a).await;
    let before = f.snapshot().await;
    let fb = s.table_version(&a, &Table::FreeBusy).await.unwrap();
    let stale = crate::Version(fb.0 + 1000);
    // A failed condition, on a table or on the providers.
    for condition in [
        Change::Expect {
            table: Table::FreeBusy,
            version: stale,
        },
        Change::ExpectProviders(stale),
    ] {
        let mut step = Step::from(condition);
        step.changes.extend(changes());
        let e = s.apply_step(&a, &step).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Stale, "{e}");
        assert_eq!(f.snapshot().await, before, "a stale step wrote something");
    }
    // A condition after a write is refused as bad input.
    let mut step = Step::from(changes().remove(0));
    step.push(Change::Expect {
        table: Table::FreeBusy,
        version: fb,
    });
    assert_eq!(kind(s.apply_step(&a, &step).await), ErrorKind::InvalidInput);
    // A change refused on what is stored (no cancelled copy to bring back) at the end.
    let mut step = Step { changes: changes() };
    step.push(Change::Uncancel {
        uid: uid("one"),
        rid: None,
    });
    assert!(s.apply_step(&a, &step).await.is_err());
    assert_eq!(f.snapshot().await, before, "a refused step wrote something");
    // A passing condition lets the step through.
    let step = Step {
        changes: vec![
            Change::Expect {
                table: Table::FreeBusy,
                version: fb,
            },
            Change::RemoveEventPeriods {
                table: Table::FreeBusy,
                uid: uid("two"),
                rid: None,
            },
        ],
    };
    let applied = s.apply_step(&a, &step).await.unwrap();
    assert_eq!(applied.outcomes[0], Outcome::Done);
    assert_ne!(applied.outcomes[1], Outcome::Version(fb));
}
