//! Every iTIP method × the user's role (organiser, attendee, not named) × what the message is
//! about (the series, one instance of a stored series, an instance before its series), through
//! [`agent::receive`]: the decision's action and reason, the user's `freebusy` table equal to a
//! rebuild afterwards, the queue, and nothing written at all for a refusal.

use chrono::Duration;

use crate::agent::{Action, Reason};
use crate::{Journal, Store, Table};

use super::fixture::Fixture;
use super::itip::{agreed, base, deliver, msg, Ev, ALICE, BOB};
use super::support::*;

const DAVE: &str = "mailto:dave@example.com";
const METHODS: [&str; 8] = [
    "PUBLISH",
    "REQUEST",
    "ADD",
    "CANCEL",
    "REPLY",
    "COUNTER",
    "DECLINECOUNTER",
    "REFRESH",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Series,
    Instance,
    BeforeSeries,
}

/// What `method` should do for a user in `role` (0 organiser, 1 attendee, 2 not named).
fn expected(method: &str, role: usize, shape: Shape) -> (Action, Reason) {
    let stored = shape != Shape::BeforeSeries;
    let applied = if shape == Shape::BeforeSeries {
        Reason::BeforeSeries
    } else {
        Reason::Applied
    };
    let put = if shape == Shape::Series {
        Action::Updated
    } else {
        Action::Stored
    };
    let for_role = |wanted: usize| {
        if role == 2 {
            Reason::NotNamed
        } else if role != wanted {
            Reason::WrongRole
        } else {
            Reason::Applied
        }
    };
    match method {
        "PUBLISH" => (put, applied),
        "REQUEST" | "ADD" => match role {
            0 => (put, applied),
            1 => (Action::Queued, applied),
            _ => (Action::Refused, Reason::NotNamed),
        },
        "CANCEL" => (Action::Cancelled, applied),
        "REPLY" | "COUNTER" | "REFRESH" => match for_role(0) {
            Reason::Applied if !stored => (Action::Refused, Reason::UnknownEvent),
            Reason::Applied => (
                match method {
                    "REPLY" => Action::ReplyRecorded,
                    "COUNTER" => Action::CounterRecorded,
                    _ => Action::Resent,
                },
                Reason::Applied,
            ),
            r => (Action::Refused, r),
        },
        "DECLINECOUNTER" => match for_role(1) {
            Reason::Applied => (Action::CounterDeclined, Reason::Applied),
            r => (Action::Refused, r),
        },
        other => panic!("no expectation for {other}"),
    }
}

/// Every method × role × shape: 72 deliveries, each on an event of its own.
pub async fn every_method_role_and_shape<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let s = &f.store;
    let day = base();
    let second = day + Duration::weeks(1);
    let mut n = 0;
    for (role, who) in [ALICE, BOB, DAVE].into_iter().enumerate() {
        let u = user(who);
        for method in METHODS {
            for shape in [Shape::Series, Shape::Instance, Shape::BeforeSeries] {
                n += 1;
                let id: &'static str = Box::leak(format!("m{n}").into_boxed_str());
                if shape != Shape::BeforeSeries {
                    // The series as the user holds it: Alice's own, Bob's invitation, Dave's
                    // published copy.
                    let setup = if role == 2 { "PUBLISH" } else { "REQUEST" };
                    let series = Ev::new(id, 0, day).rule("FREQ=WEEKLY;COUNT=3");
                    deliver(s, &u, &msg(setup, &[series])).await;
                }
                let ev = match shape {
                    Shape::Series => Ev::new(id, 1, day).rule("FREQ=WEEKLY;COUNT=3"),
                    _ => Ev::new(id, 1, second + Duration::hours(2)).rid(second),
                };
                let ev = ev.with(&[(BOB, "ACCEPTED")]);
                let before = f.snapshot().await;
                let d = deliver(s, &u, &msg(method, &[ev])).await;
                let got: Vec<(Action, Reason)> = d
                    .items
                    .iter()
                    .map(|i| (i.action, i.reason.clone()))
                    .collect();
                let want = expected(method, role, shape);
                assert_eq!(
                    got,
                    std::slice::from_ref(&want),
                    "{method} to {who} about {shape:?}"
                );
                if matches!(
                    want.0,
                    Action::Refused | Action::CounterDeclined | Action::Resent
                ) {
                    assert_eq!(
                        f.snapshot().await,
                        before,
                        "{method} to {who} about {shape:?} wrote something"
                    );
                }
                agreed(s, &u).await;
                let queued = s
                    .requests(&u)
                    .await
                    .unwrap()
                    .iter()
                    .any(|r| r.uid.as_str() == id);
                // Bob's invitation stays queued unless the whole event is cancelled.
                let series_queued = role == 1
                    && shape != Shape::BeforeSeries
                    && !(method == "CANCEL" && shape == Shape::Series);
                let should_queue =
                    want.0 == Action::Queued || want.0 == Action::CounterRecorded || series_queued;
                assert_eq!(
                    queued, should_queue,
                    "{method} to {who} about {shape:?}: queue"
                );
                if want.0 == Action::ReplyRecorded {
                    let theirs = s
                        .freebusy(&u, &Table::Other(other(BOB)))
                        .await
                        .unwrap()
                        .value;
                    assert!(
                        theirs.iter().any(|p| p.uid.as_str() == id),
                        "{method} about {shape:?}: Bob's acceptance is in his table"
                    );
                }
            }
        }
    }
    assert_eq!(n, 72);
}
