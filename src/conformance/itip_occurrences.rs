//! iTIP occurrence by occurrence through [`agent::receive`]: instance messages change their
//! instance only, instances before their series, RANGE=THISANDFUTURE, a newer series dropping
//! older overrides, and Outlook's midnight RECURRENCE-ID for all-day series. After every message
//! the user's table must equal a rebuild from the objects.

use chrono::Duration;

use crate::agent::{self, Action, Answer, Reason};
use crate::{EventStatus, Journal, Store};

use super::fixture::Fixture;
use super::itip::{actions, agreed, base, deliver, msg, Ev, ALICE, BOB};
use super::support::*;

/// Instances: an instance CANCEL removes that occurrence only; one for no occurrence says so; an
/// instance REQUEST and its answer change that instance only.
pub async fn instances_change_only_themselves<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, b) = (&f.store, user(BOB));
    let day = base();
    let week = Duration::weeks(1);
    let series = Ev::new("w", 0, day).rule("FREQ=WEEKLY;COUNT=4");
    deliver(s, &b, &msg("REQUEST", &[series])).await;
    agent::answer(s, &b, &uid("w"), None, Answer::Accepted)
        .await
        .unwrap();
    assert_eq!(agreed(s, &b).await.len(), 4);
    let second = day + week;
    let d = deliver(
        s,
        &b,
        &msg("CANCEL", &[Ev::new("w", 0, second).rid(second).stamped(10)]),
    )
    .await;
    assert_eq!(actions(&d), [(Action::Cancelled, Reason::Applied)]);
    assert_eq!(d.removed.len(), 1);
    assert_eq!(agreed(s, &b).await.len(), 3);
    let nowhere = day + Duration::hours(3);
    let d = deliver(
        s,
        &b,
        &msg(
            "CANCEL",
            &[Ev::new("w", 0, nowhere).rid(nowhere).stamped(11)],
        ),
    )
    .await;
    assert_eq!(actions(&d), [(Action::Cancelled, Reason::NoSuchInstance)]);
    assert!(d.removed.is_empty(), "it changes nothing");
    let elsewhere = nowhere + Duration::days(1);
    let d = deliver(
        s,
        &b,
        &msg(
            "REQUEST",
            &[Ev::new("w", 0, elsewhere).rid(elsewhere).stamped(12)],
        ),
    )
    .await;
    assert_eq!(actions(&d), [(Action::Queued, Reason::NoSuchInstance)]);
    assert_eq!(agreed(s, &b).await.len(), 3);

    let third = day + week * 2;
    let moved = Ev::new("w", 1, third + Duration::hours(2)).rid(third);
    let d = deliver(s, &b, &msg("REQUEST", &[moved])).await;
    assert_eq!(actions(&d), [(Action::Queued, Reason::Applied)]);
    assert_eq!(
        agreed(s, &b).await.len(),
        2,
        "the unanswered instance is free"
    );
    let r = crate::Rid::from_utc(third);
    let d = agent::answer(s, &b, &uid("w"), Some(&r), Answer::Accepted)
        .await
        .unwrap();
    assert!(d.reply.unwrap().contains("RECURRENCE-ID"));
    let busy = agreed(s, &b).await;
    assert_eq!(busy.len(), 3);
    assert!(busy.iter().any(|p| p.start == third + Duration::hours(2)));
    // Declining the fourth occurrence alone (no copy of it was sent): that one becomes free.
    let fourth = crate::Rid::from_utc(day + week * 3);
    agent::answer(s, &b, &uid("w"), Some(&fourth), Answer::Declined)
        .await
        .unwrap();
    assert_eq!(agreed(s, &b).await.len(), 2);
}

/// An override and a cancelled instance that arrive before their series are kept and applied
/// when it comes.
pub async fn instances_before_their_series<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let week = Duration::weeks(1);
    let (second, third) = (day + week, day + week * 2);
    let over = Ev::new("e", 0, second + Duration::hours(3))
        .rid(second)
        .stamped(5);
    let d = deliver(s, &a, &msg("REQUEST", &[over])).await;
    assert_eq!(actions(&d), [(Action::Stored, Reason::BeforeSeries)]);
    assert_eq!(agreed(s, &a).await.len(), 1);
    let d = deliver(
        s,
        &a,
        &msg("CANCEL", &[Ev::new("e", 0, third).rid(third).stamped(6)]),
    )
    .await;
    assert_eq!(actions(&d), [(Action::Cancelled, Reason::BeforeSeries)]);
    let d = deliver(
        s,
        &a,
        &msg(
            "REQUEST",
            &[Ev::new("e", 0, day).rule("FREQ=WEEKLY;COUNT=4")],
        ),
    )
    .await;
    assert_eq!(d.items[0].action, Action::Stored);
    let busy = agreed(s, &a).await;
    let starts: Vec<_> = busy.iter().map(|p| p.start).collect();
    assert_eq!(
        starts,
        [day, second + Duration::hours(3), day + week * 3],
        "{:?}",
        keys(&busy)
    );
}

/// RANGE=THISANDFUTURE: a REQUEST moves this and every later occurrence; a CANCEL removes this
/// and every later one, stored instances after it included.
pub async fn this_and_future<S: Store + Clone + 'static, J: Journal + Clone + 'static>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let week = Duration::weeks(1);
    let series = Ev::new("tf", 0, day).rule("FREQ=WEEKLY;COUNT=6");
    deliver(s, &a, &msg("REQUEST", &[series])).await;
    let third = day + week * 2;
    let later = Ev::new("tf", 1, third + Duration::hours(2))
        .rid(third)
        .future();
    let d = deliver(s, &a, &msg("REQUEST", &[later])).await;
    assert_eq!(d.items[0].action, Action::Stored);
    let busy = agreed(s, &a).await;
    let starts: Vec<_> = busy.iter().map(|p| p.start).collect();
    let shifted = |n: i32| day + week * n + Duration::hours(2);
    assert_eq!(
        starts,
        [
            day,
            day + week,
            shifted(2),
            shifted(3),
            shifted(4),
            shifted(5)
        ]
    );
    // An override of the sixth, then a CANCEL of the fifth and all after it.
    let sixth = day + week * 5;
    deliver(
        s,
        &a,
        &msg(
            "REQUEST",
            &[Ev::new("tf", 1, sixth + Duration::hours(6))
                .rid(sixth)
                .stamped(20)],
        ),
    )
    .await;
    let fifth = day + week * 4;
    let d = deliver(
        s,
        &a,
        &msg("CANCEL", &[Ev::new("tf", 2, fifth).rid(fifth).future()]),
    )
    .await;
    assert_eq!(d.items[0].action, Action::Cancelled);
    let busy = agreed(s, &a).await;
    let starts: Vec<_> = busy.iter().map(|p| p.start).collect();
    assert_eq!(starts, [day, day + week, shifted(2), shifted(3)]);
    let sixth_rid = crate::Rid::from_utc(sixth);
    let stored = s
        .get_event(&a, &uid("tf"), Some(&sixth_rid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, EventStatus::Cancelled);
}

/// A newer series that no longer has an instance (an earlier end, an EXDATE) drops the older
/// override's busy time; an override as new as the series stays.
pub async fn newer_series_drops_older_overrides<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let week = Duration::weeks(1);
    deliver(
        s,
        &a,
        &msg(
            "REQUEST",
            &[Ev::new("d", 0, day).rule("FREQ=WEEKLY;COUNT=4")],
        ),
    )
    .await;
    let fourth = day + week * 3;
    let over = Ev::new("d", 0, fourth + Duration::hours(5))
        .rid(fourth)
        .stamped(9);
    deliver(s, &a, &msg("REQUEST", &[over])).await;
    assert_eq!(agreed(s, &a).await.len(), 4);
    let shorter = Ev::new("d", 1, day).rule("FREQ=WEEKLY;COUNT=3");
    deliver(s, &a, &msg("REQUEST", &[shorter])).await;
    let busy = agreed(s, &a).await;
    assert_eq!(busy.len(), 3, "{:?}", keys(&busy));
    assert!(busy.iter().all(|p| p.start < fourth), "{:?}", keys(&busy));
}

/// Outlook writes the RECURRENCE-ID of an instance of an all-day series as a midnight
/// DATE-TIME in its zone: it replaces that day's occurrence (not both days busy), for a user in
/// another zone too.
pub async fn outlook_midnight_rid_replaces_its_day<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let d0 = base().date_naive();
    let day = |n: i64| (d0 + Duration::days(n)).format("%Y%m%d").to_string();
    let head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\nMETHOD:REQUEST\r\n";
    let series = format!(
        "{head}BEGIN:VEVENT\r\nUID:allday\r\nSEQUENCE:0\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n\
         ORGANIZER:{ALICE}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        day(0),
        day(1)
    );
    let moved = format!(
        "{head}BEGIN:VEVENT\r\nUID:allday\r\nSEQUENCE:0\r\nDTSTAMP:20260101T000100Z\r\n\
         RECURRENCE-ID;TZID=Europe/Berlin:{}T000000\r\nDTSTART;VALUE=DATE:{}\r\n\
         DTEND;VALUE=DATE:{}\r\nORGANIZER:{ALICE}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        day(7),
        day(8),
        day(9)
    );
    deliver(s, &a, &series).await;
    let d = deliver(s, &a, &moved).await;
    assert_eq!(d.items[0].action, Action::Stored);
    let busy = agreed(s, &a).await;
    let days: Vec<String> = busy
        .iter()
        .map(|p| p.start.format("%Y%m%d").to_string())
        .collect();
    assert_eq!(days, [day(0), day(8), day(14)], "{:?}", keys(&busy));
}
