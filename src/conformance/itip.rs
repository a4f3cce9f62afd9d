//! iTIP through [`agent::receive`] and [`agent::answer`]: each method for each role, for a
//! series, one instance and an instance before its series, delivered in and out of order. After
//! every message the user's `freebusy` table must equal a rebuild from the objects
//! ([`refresh::regenerate`] with reset, dry run).

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::{self, Action, Answer, Decision, Reason};
use crate::refresh::{self, Overrides};
use crate::{ErrorKind, EventStatus, Journal, Period, Store, Table, User};

use super::fixture::Fixture;
use super::support::*;

pub(crate) const ALICE: &str = "mailto:alice@example.com";
pub(crate) const BOB: &str = "mailto:bob@example.com";
pub(crate) const CAROL: &str = "mailto:carol@example.com";

/// Tomorrow 09:00 UTC.
pub(crate) fn base() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap() + Duration::days(1) + Duration::hours(9)
}

fn stamp(t: DateTime<Utc>) -> String {
    crate::period::format_instant(t)
}

/// One VEVENT of a test message.
#[derive(Clone)]
pub(crate) struct Ev {
    pub uid: &'static str,
    pub seq: u32,
    /// DTSTAMP as minutes after 2026-01-01.
    pub stamp: i64,
    pub start: DateTime<Utc>,
    pub rid: Option<DateTime<Utc>>,
    pub rrule: Option<&'static str>,
    pub future: bool,
    pub attendees: Vec<(&'static str, &'static str)>,
}

impl Ev {
    pub(crate) fn new(uid: &'static str, seq: u32, start: DateTime<Utc>) -> Ev {
        Ev {
            uid,
            seq,
            stamp: i64::from(seq),
            start,
            rid: None,
            rrule: None,
            future: false,
            attendees: vec![(BOB, "NEEDS-ACTION")],
        }
    }
    pub(crate) fn stamped(mut self, minutes: i64) -> Ev {
        self.stamp = minutes;
        self
    }
    pub(crate) fn rid(mut self, r: DateTime<Utc>) -> Ev {
        self.rid = Some(r);
        self
    }
    pub(crate) fn future(mut self) -> Ev {
        self.future = true;
        self
    }
    pub(crate) fn rule(mut self, r: &'static str) -> Ev {
        self.rrule = Some(r);
        self
    }
    pub(crate) fn with(mut self, a: &[(&'static str, &'static str)]) -> Ev {
        self.attendees = a.to_vec();
        self
    }
}

/// A message of `method` with the VEVENTs `evs`, organised by Alice.
pub(crate) fn msg(method: &str, evs: &[Ev]) -> String {
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//itip tests//EN\r\nMETHOD:{method}\r\n"
    );
    let epoch = t("20260101T000000Z");
    for e in evs {
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{}\r\nSEQUENCE:{}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n",
            e.uid,
            e.seq,
            stamp(epoch + Duration::minutes(e.stamp)),
            stamp(e.start),
            stamp(e.start + Duration::hours(1))
        ));
        if let Some(r) = e.rid {
            let range = if e.future { ";RANGE=THISANDFUTURE" } else { "" };
            out.push_str(&format!("RECURRENCE-ID{range}:{}\r\n", stamp(r)));
        }
        if let Some(r) = e.rrule {
            out.push_str(&format!("RRULE:{r}\r\n"));
        }
        out.push_str(&format!("SUMMARY:{}\r\nORGANIZER:{ALICE}\r\n", e.uid));
        for (who, ps) in &e.attendees {
            out.push_str(&format!("ATTENDEE;PARTSTAT={ps}:{who}\r\n"));
        }
        out.push_str("END:VEVENT\r\n");
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// Delivers, retrying a stale step as an agent does.
pub(crate) async fn deliver<S: Store>(s: &S, u: &User, text: &str) -> Decision {
    for _ in 0..50 {
        match agent::receive(s, u, text).await {
            Err(e) if e.kind() == ErrorKind::Stale => continue,
            r => return r.unwrap(),
        }
    }
    panic!("the step stayed stale 50 times");
}

pub(crate) fn actions(d: &Decision) -> Vec<(Action, Reason)> {
    d.items
        .iter()
        .map(|i| (i.action, i.reason.clone()))
        .collect()
}

/// The user's `freebusy` table, checked equal to a rebuild from the objects.
pub(crate) async fn agreed<S: Store>(s: &S, u: &User) -> Vec<Period> {
    let table = s.freebusy(u, &Table::FreeBusy).await.unwrap().value;
    let settings = refresh::settings(s, u, &Overrides::default())
        .await
        .unwrap();
    let rebuilt = refresh::regenerate(s, u, &settings, Utc::now(), true, true)
        .await
        .unwrap();
    assert_eq!(
        keys(&table),
        keys(&rebuilt.table),
        "the table disagrees with a rebuild from the objects"
    );
    table
}

async fn status<S: Store>(s: &S, u: &User, id: &str) -> Option<EventStatus> {
    s.get_event(u, &uid(id), None)
        .await
        .unwrap()
        .map(|e| e.status)
}

/// Out of order for an attendee: a newer REQUEST, the user's answer, then the original
/// invitation delivered late (ignored as older) and the newer one again (a duplicate that does
/// not un-accept).
pub async fn older_request_changes_nothing<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, b) = (&f.store, user(BOB));
    let day = base();
    let moved = msg("REQUEST", &[Ev::new("m", 2, day + Duration::hours(5))]);
    let d = deliver(s, &b, &moved).await;
    assert_eq!(actions(&d), [(Action::Queued, Reason::Applied)]);
    assert!(agreed(s, &b).await.is_empty(), "unanswered: free");
    let d = agent::answer(s, &b, &uid("m"), None, Answer::Accepted)
        .await
        .unwrap();
    assert_eq!(actions(&d), [(Action::Accepted, Reason::UserAnswer)]);
    assert!(d.reply.as_deref().unwrap().contains("METHOD:REPLY"));
    assert_eq!(d.added.len(), 1);
    let busy = agreed(s, &b).await;
    assert_eq!(busy.len(), 1);
    assert_eq!(busy[0].start, day + Duration::hours(5));
    assert!(s.requests(&b).await.unwrap().is_empty());

    let original = msg("REQUEST", &[Ev::new("m", 1, day)]);
    let d = deliver(s, &b, &original).await;
    assert_eq!(
        actions(&d),
        [(
            Action::IgnoredAsOlder,
            Reason::OlderSequence {
                stored: 2,
                message: 1
            }
        )]
    );
    assert!(d.step.is_empty());
    let d = deliver(s, &b, &moved).await;
    assert_eq!(actions(&d), [(Action::Duplicate, Reason::SameVersion)]);
    let busy = agreed(s, &b).await;
    assert_eq!(keys(&busy).len(), 1, "still accepted at the new time");
    assert_eq!(busy[0].start, day + Duration::hours(5));
    assert!(s.requests(&b).await.unwrap().is_empty(), "not queued again");
    // Same SEQUENCE, older DTSTAMP.
    let stale = msg("REQUEST", &[Ev::new("m", 2, day).stamped(1)]);
    let d = deliver(s, &b, &stale).await;
    assert_eq!(actions(&d), [(Action::IgnoredAsOlder, Reason::OlderStamp)]);
}

/// CANCEL older than the stored REQUEST changes nothing; a newer CANCEL cancels; a REQUEST older
/// than the cancellation does not bring the event back, also when the CANCEL came first.
pub async fn cancel_ordering<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (s, b) = (&f.store, user(BOB));
    let day = base();
    deliver(s, &b, &msg("REQUEST", &[Ev::new("c", 2, day)])).await;
    agent::answer(s, &b, &uid("c"), None, Answer::Tentative)
        .await
        .unwrap();
    assert_eq!(agreed(s, &b).await.len(), 1);
    let d = deliver(s, &b, &msg("CANCEL", &[Ev::new("c", 1, day)])).await;
    assert_eq!(d.items[0].action, Action::IgnoredAsOlder);
    assert_eq!(status(s, &b, "c").await, Some(EventStatus::Active));
    assert_eq!(agreed(s, &b).await.len(), 1);
    let d = deliver(s, &b, &msg("CANCEL", &[Ev::new("c", 3, day)])).await;
    assert_eq!(actions(&d), [(Action::Cancelled, Reason::Applied)]);
    assert_eq!(d.removed.len(), 1);
    assert_eq!(status(s, &b, "c").await, Some(EventStatus::Cancelled));
    assert!(agreed(s, &b).await.is_empty());
    let d = deliver(s, &b, &msg("REQUEST", &[Ev::new("c", 0, day)])).await;
    assert_eq!(d.items[0].action, Action::IgnoredAsOlder);
    assert_eq!(status(s, &b, "c").await, Some(EventStatus::Cancelled));
    assert!(s.requests(&b).await.unwrap().is_empty(), "not queued again");
    assert!(agreed(s, &b).await.is_empty());

    // The CANCEL before anything else.
    let d = deliver(s, &b, &msg("CANCEL", &[Ev::new("early", 3, day)])).await;
    assert_eq!(d.items[0].action, Action::Cancelled);
    let d = deliver(s, &b, &msg("REQUEST", &[Ev::new("early", 0, day)])).await;
    assert_eq!(d.items[0].action, Action::IgnoredAsOlder);
    assert!(s.requests(&b).await.unwrap().is_empty());
    assert!(agreed(s, &b).await.is_empty());
}

/// The organiser's side: replies recorded for the sender only, ordered per attendee, a reply to
/// an older SEQUENCE not counted for the newer one, and the attendee's table following the
/// stored answers.
pub async fn replies_are_ordered_per_attendee<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let both = [(BOB, "NEEDS-ACTION"), (CAROL, "NEEDS-ACTION")];
    let d = deliver(s, &a, &msg("REQUEST", &[Ev::new("r", 1, day).with(&both)])).await;
    assert_eq!(actions(&d), [(Action::Stored, Reason::Applied)]);
    assert_eq!(agreed(s, &a).await.len(), 1, "the organiser is busy");
    let bob_table = Table::Other(other(BOB));
    let reply = |seq: u32, minutes: i64, ps: &'static str| {
        msg(
            "REPLY",
            &[Ev::new("r", seq, day).stamped(minutes).with(&[(BOB, ps)])],
        )
    };
    let d = deliver(s, &a, &reply(1, 100, "ACCEPTED")).await;
    assert_eq!(actions(&d), [(Action::ReplyRecorded, Reason::Applied)]);
    let other_busy = s.freebusy(&a, &bob_table).await.unwrap().value;
    assert_eq!(other_busy.len(), 1);
    assert_eq!(other_busy[0].start, day);
    let stored = s.get_event(&a, &uid("r"), None).await.unwrap().unwrap();
    assert!(stored.text.contains("PARTSTAT=ACCEPTED"), "{}", stored.text);
    // An older reply of Bob's changes nothing; the same one again is a duplicate.
    let d = deliver(s, &a, &reply(1, 50, "DECLINED")).await;
    assert_eq!(actions(&d), [(Action::IgnoredAsOlder, Reason::OlderStamp)]);
    let d = deliver(s, &a, &reply(1, 100, "ACCEPTED")).await;
    assert_eq!(actions(&d), [(Action::Duplicate, Reason::SameVersion)]);
    assert_eq!(s.freebusy(&a, &bob_table).await.unwrap().value.len(), 1);

    // Alice moves it (SEQUENCE 2, answers reset): Bob's acceptance no longer counts.
    let moved = Ev::new("r", 2, day + Duration::hours(5)).with(&both);
    let d = deliver(s, &a, &msg("REQUEST", &[moved])).await;
    assert_eq!(actions(&d), [(Action::Updated, Reason::Applied)]);
    assert!(s.freebusy(&a, &bob_table).await.unwrap().value.is_empty());
    let d = deliver(s, &a, &reply(1, 200, "ACCEPTED")).await;
    assert_eq!(
        actions(&d),
        [(Action::Refused, Reason::ReplyToOlderVersion)]
    );
    assert!(s.freebusy(&a, &bob_table).await.unwrap().value.is_empty());
    let d = deliver(s, &a, &reply(2, 300, "ACCEPTED")).await;
    assert_eq!(d.items[0].action, Action::ReplyRecorded);
    let other_busy = s.freebusy(&a, &bob_table).await.unwrap().value;
    assert_eq!(other_busy[0].start, day + Duration::hours(5));

    // A reply naming two attendees without a sender is refused; from a mail, only the sender's
    // answer is taken.
    let two = msg(
        "REPLY",
        &[Ev::new("r", 2, day)
            .stamped(400)
            .with(&[(BOB, "DECLINED"), (CAROL, "ACCEPTED")])],
    );
    let d = deliver(s, &a, &two).await;
    assert_eq!(d.items[0].action, Action::Refused);
    let mail = format!(
        "From: Carol <carol@example.com>\r\nTo: alice@example.com\r\nSubject: Accepted\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n{two}"
    );
    let d = deliver(s, &a, &mail).await;
    assert_eq!(d.items[0].action, Action::ReplyRecorded);
    assert_eq!(
        s.freebusy(&a, &bob_table).await.unwrap().value.len(),
        1,
        "Bob's answer kept"
    );
    let carol = s
        .freebusy(&a, &Table::Other(other(CAROL)))
        .await
        .unwrap()
        .value;
    assert_eq!(carol.len(), 1);
    // Someone who is no attendee.
    let dave = msg(
        "REPLY",
        &[Ev::new("r", 2, day)
            .stamped(500)
            .with(&[("mailto:dave@example.com", "ACCEPTED")])],
    );
    let d = deliver(s, &a, &dave).await;
    assert_eq!(actions(&d), [(Action::Refused, Reason::NotAnAttendee)]);
    agreed(s, &a).await;
}

/// COUNTER and REPLY for a cancelled or unknown event are refused and store nothing.
pub async fn counter_and_reply_need_a_live_event<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let counter = msg(
        "COUNTER",
        &[Ev::new("k", 1, day + Duration::hours(1)).with(&[(BOB, "NEEDS-ACTION")])],
    );
    let d = deliver(s, &a, &counter).await;
    assert_eq!(actions(&d), [(Action::Refused, Reason::UnknownEvent)]);
    deliver(s, &a, &msg("REQUEST", &[Ev::new("k", 1, day)])).await;
    let d = deliver(s, &a, &counter).await;
    assert_eq!(actions(&d), [(Action::CounterRecorded, Reason::Applied)]);
    assert_eq!(s.requests(&a).await.unwrap().len(), 1);
    assert_eq!(s.freebusy(&a, &Table::Offers).await.unwrap().value.len(), 1);
    let d = deliver(s, &a, &msg("CANCEL", &[Ev::new("k", 2, day)])).await;
    assert_eq!(d.items[0].action, Action::Cancelled);
    let before = f.snapshot().await;
    let d = deliver(s, &a, &counter).await;
    assert_eq!(actions(&d), [(Action::Refused, Reason::EventCancelled)]);
    let d = deliver(
        s,
        &a,
        &msg("REPLY", &[Ev::new("k", 2, day).with(&[(BOB, "ACCEPTED")])]),
    )
    .await;
    assert_eq!(actions(&d), [(Action::Refused, Reason::EventCancelled)]);
    assert_eq!(f.snapshot().await, before, "refusals write nothing");
    agreed(s, &a).await;
}

/// The methods × roles that have no stored effect or are refused, and REFRESH.
pub async fn methods_by_role<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (s, a, b) = (&f.store, user(ALICE), user(BOB));
    let dave = user("mailto:dave@example.com");
    let day = base();
    let ev = Ev::new("p", 0, day);
    let d = deliver(s, &dave, &msg("PUBLISH", std::slice::from_ref(&ev))).await;
    assert_eq!(actions(&d), [(Action::Stored, Reason::Applied)]);
    assert_eq!(agreed(s, &dave).await.len(), 1, "a published event counts");
    let d = deliver(s, &dave, &msg("REQUEST", &[Ev::new("q", 0, day)])).await;
    assert_eq!(actions(&d), [(Action::Refused, Reason::NotNamed)]);
    let d = deliver(s, &b, &msg("REPLY", &[Ev::new("p", 0, day)])).await;
    assert_eq!(d.items[0].action, Action::Refused);
    let d = deliver(s, &b, &msg("DECLINECOUNTER", &[Ev::new("p", 0, day)])).await;
    assert_eq!(d.items[0].action, Action::CounterDeclined);
    deliver(s, &a, &msg("REQUEST", std::slice::from_ref(&ev))).await;
    let d = deliver(s, &a, &msg("REFRESH", std::slice::from_ref(&ev))).await;
    assert_eq!(actions(&d), [(Action::Resent, Reason::Applied)]);
    assert!(d.reply.unwrap().contains("METHOD:REQUEST"));
    let bad = msg("FROBNICATE", &[ev]);
    assert_eq!(
        kind(agent::receive(s, &a, &bad).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(agent::receive(s, &a, "hello, no calendar here").await),
        ErrorKind::InvalidInput
    );
}

/// Two steps for one event at once (an override and a series update) never leave a table that
/// disagrees with the objects: the later one fails as stale and is applied again.
pub async fn concurrent_steps_are_stale_not_wrong<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let a = user(ALICE);
    let day = base();
    let week = Duration::weeks(1);
    for round in 0..6u32 {
        let id: &'static str = Box::leak(format!("race{round}").into_boxed_str());
        let series = Ev::new(id, 0, day).rule("FREQ=WEEKLY;COUNT=3");
        deliver(&f.store, &a, &msg("REQUEST", &[series])).await;
        let over = msg(
            "REQUEST",
            &[Ev::new(id, 1, day + week + Duration::hours(4)).rid(day + week)],
        );
        let update = msg(
            "REQUEST",
            &[Ev::new(id, 1, day + Duration::hours(1)).rule("FREQ=WEEKLY;COUNT=3")],
        );
        let (s1, s2, a1, a2) = (f.store.clone(), f.store.clone(), a.clone(), a.clone());
        let t1 = tokio::spawn(async move { deliver(&s1, &a1, &over).await });
        let t2 = tokio::spawn(async move { deliver(&s2, &a2, &update).await });
        t1.await.unwrap();
        t2.await.unwrap();
        agreed(&f.store, &a).await;
    }
}

/// What the organiser knows of an attendee of a weekly event without end does not end at the
/// window: a query past it expands the event as the attendee's answer makes it; a query without
/// end states its horizon.
pub async fn attendee_tables_reach_past_the_window<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let weekly = Ev::new("open", 0, day).rule("FREQ=WEEKLY");
    deliver(s, &a, &msg("REQUEST", &[weekly])).await;
    let accepted = Ev::new("open", 0, day)
        .stamped(5)
        .with(&[(BOB, "ACCEPTED")]);
    deliver(s, &a, &msg("REPLY", &[accepted])).await;
    let bob = Table::Other(other(BOB));
    let (from, to) = (day + Duration::days(200), day + Duration::days(250));
    let stored = s.freebusy_in(&a, &bob, from, to).await.unwrap().value;
    assert!(stored.is_empty(), "the table itself stops at the window");
    let now = Utc::now();
    let far = crate::query::freebusy(s, &a, &bob, Some(from), Some(to), now)
        .await
        .unwrap();
    assert!(
        (7..=8).contains(&far.periods.len()),
        "{:?}",
        keys(&far.periods)
    );
    let open = crate::query::freebusy(s, &a, &bob, Some(day), None, now)
        .await
        .unwrap();
    assert!(
        open.horizon.is_some(),
        "an answer without end states its horizon"
    );
    // Carol never answered: nothing is made up for her.
    let carol = Table::Other(other(CAROL));
    let none = crate::query::freebusy(s, &a, &carol, Some(from), Some(to), now)
        .await
        .unwrap();
    assert!(none.periods.is_empty());
}
