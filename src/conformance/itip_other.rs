//! What the organiser knows of attendees (issue 19, items 2, 3 and 5): `freebusy-other` tables
//! extended by the cron job to the window it records, equal to a rebuild after every run;
//! replies for one instance against a series the organiser moves afterwards, in either order;
//! and a REPLY taken only for the attendee who sent it, at the cost of one table.

use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::agent::{Action, Reason};
use crate::refresh::{self, Overrides};
use crate::{Journal, Period, Store, Table, User};

use super::fixture::Fixture;
use super::itip::{actions, agreed, base, deliver, msg, Ev, ALICE, BOB, CAROL};
use super::support::*;

/// Every `freebusy-other` table of `u`, by attendee.
async fn other_tables<S: Store>(s: &S, u: &User) -> Vec<(String, Vec<Period>)> {
    let mut out = Vec::new();
    for o in s.others(u).await.unwrap() {
        let rows = s.freebusy(u, &Table::Other(o.clone())).await.unwrap().value;
        out.push((o.as_str().to_owned(), rows));
    }
    out
}

/// Full text of rows (every field), for comparisons that must see a changed end or summary.
fn details(rows: &[Period]) -> Vec<String> {
    rows.iter().map(|p| p.to_line(false)).collect()
}

fn all_details(tables: &[(String, Vec<Period>)]) -> Vec<(String, Vec<String>)> {
    tables
        .iter()
        .map(|(o, rows)| (o.clone(), details(rows)))
        .collect()
}

/// `check`'s comparison of every table of `u` with the objects: no finding.
async fn sound<S: Store>(s: &S, u: &User, now: DateTime<Utc>) {
    let audit = refresh::audit(s, u, now).await.unwrap();
    assert!(audit.findings.is_empty(), "{:?}", audit.findings);
}

/// The cron job for `u` at `now`.
async fn cron<S: Store>(s: &S, u: &User, now: DateTime<Utc>, reset: bool) -> refresh::Regenerated {
    let settings = refresh::settings(s, u, &Overrides::default())
        .await
        .unwrap();
    refresh::regenerate(s, u, &settings, now, reset, false)
        .await
        .unwrap()
}

/// The organiser invites Bob and Carol to a weekly event without end, Bob accepts, and the cron
/// job runs month after month: Bob's table reaches each new window end, the recorded horizon
/// covers it, it equals a `--reset` rebuild at the same instant, and `check` finds nothing;
/// Carol, who never answered, gets nothing. A table made to differ is reported by `check` and
/// rebuilt by `--reset`.
pub async fn cron_extends_attendee_tables<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    let both = [(BOB, "NEEDS-ACTION"), (CAROL, "NEEDS-ACTION")];
    let weekly = Ev::new("open", 0, day).rule("FREQ=WEEKLY").with(&both);
    deliver(s, &a, &msg("REQUEST", &[weekly])).await;
    // A bounded event Bob accepts too: the cron job never needs to touch its rows.
    let once = Ev::new("once", 0, day + Duration::hours(3)).with(&both);
    deliver(s, &a, &msg("REQUEST", &[once])).await;
    for (u, seq) in [("open", 0), ("once", 0)] {
        let accepted = Ev::new(u, seq, day).stamped(5).with(&[(BOB, "ACCEPTED")]);
        let d = deliver(s, &a, &msg("REPLY", &[accepted])).await;
        assert_eq!(d.items[0].action, Action::ReplyRecorded, "{u}");
    }
    let bob = Table::Other(other(BOB));
    // Whole seconds, as every backend stores the horizon.
    let start = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    cron(s, &a, start, false).await;
    sound(s, &a, start).await;
    for month in 1..=7 {
        let now = start + Duration::days(30 * month);
        let done = cron(s, &a, now, false).await;
        assert!(!done.full, "month {month}: an extension, not a rebuild");
        assert_eq!(done.others, 1, "month {month}: Bob's table only");
        let horizon = s.providers(&a).await.unwrap().value.window_end.unwrap();
        assert_eq!(horizon, now + Duration::days(100));
        let rows = s.freebusy(&a, &bob).await.unwrap().value;
        let last = rows.iter().map(|p| p.start).max().unwrap();
        assert!(
            last > horizon - Duration::days(7) && last < horizon,
            "month {month}: Bob's last row {last} is not in the last week before {horizon}"
        );
        let weekly_rows = rows.iter().filter(|p| p.uid.as_str() == "open").count();
        let expected = (0..)
            .map(|k| day + Duration::weeks(k))
            .take_while(|t| *t < horizon)
            .count();
        assert_eq!(
            weekly_rows, expected,
            "month {month}: every week up to the window"
        );
        assert_eq!(
            rows.iter().filter(|p| p.uid.as_str() == "once").count(),
            1,
            "the bounded event's row stays"
        );
        sound(s, &a, now).await;
        // The query past the horizon agrees with the table before it.
        let q = crate::query::freebusy(s, &a, &bob, Some(day), Some(horizon), now)
            .await
            .unwrap();
        assert_eq!(details(&q.periods), details(&rows));
        // A rebuild at the same instant writes exactly the same tables.
        let before = all_details(&other_tables(s, &a).await);
        let rebuilt = cron(s, &a, now, true).await;
        assert!(rebuilt.full);
        assert_eq!(
            before,
            all_details(&other_tables(s, &a).await),
            "month {month}"
        );
        assert!(s
            .freebusy(&a, &Table::Other(other(CAROL)))
            .await
            .unwrap()
            .value
            .is_empty());
    }
    // A run that changes nothing writes nothing.
    let now = start + Duration::days(210);
    let version = s.table_version(&a, &bob).await.unwrap();
    assert_eq!(cron(s, &a, now, false).await.others, 0);
    assert_eq!(s.table_version(&a, &bob).await.unwrap(), version);

    // A table that lost rows (a hand edit, a damaged copy) is reported, and `--reset` rebuilds it.
    let mut rows = s.freebusy(&a, &bob).await.unwrap().value;
    rows.retain(|p| p.uid.as_str() == "open");
    rows.truncate(3);
    s.set_freebusy(&a, &bob, rows, None).await.unwrap();
    let audit = refresh::audit(s, &a, now).await.unwrap();
    let reported: Vec<String> = audit.findings.iter().map(ToString::to_string).collect();
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(
        reported.iter().all(|r| r.contains("freebusy-other/")),
        "{reported:?}"
    );
    cron(s, &a, now, true).await;
    sound(s, &a, now).await;
    // And a row for an event Bob is not named in is reported too.
    let mut rows = s.freebusy(&a, &bob).await.unwrap().value;
    let mut stray = rows[0].clone();
    stray.uid = uid("once");
    stray.start += Duration::hours(1);
    stray.end += Duration::hours(1);
    rows.push(stray);
    s.set_freebusy(&a, &bob, crate::period::normalise(rows), None)
        .await
        .unwrap();
    assert_eq!(refresh::audit(s, &a, now).await.unwrap().findings.len(), 1);
    cron(s, &a, now, true).await;
    sound(s, &a, now).await;
}

/// A REPLY for one instance the organiser never sent on its own, then the organiser moves the
/// series (a newer SEQUENCE): the instance follows the new series in the organiser's own table
/// and in the attendee's, whichever of the two arrives first; the tables equal a rebuild.
pub async fn instance_reply_then_series_moves<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let s = &f.store;
    let day = base();
    let second = day + Duration::weeks(1);
    let series = Ev::new("w", 0, day).rule("FREQ=WEEKLY;COUNT=4");
    let reply = msg(
        "REPLY",
        &[Ev::new("w", 0, second)
            .rid(second)
            .stamped(10)
            .with(&[(BOB, "ACCEPTED")])],
    );
    // Moved by five hours: every instant, and so every RECURRENCE-ID, changes.
    let moved = msg(
        "REQUEST",
        &[Ev::new("w", 1, day + Duration::hours(5)).rule("FREQ=WEEKLY;COUNT=4")],
    );
    // Made longer: the instants stay, the ends change.
    let longer = msg("REQUEST", &[series.clone().stamped(20)])
        .replace("SEQUENCE:0", "SEQUENCE:1")
        .replace(
            &format!(
                "DTEND:{}",
                crate::period::format_instant(day + Duration::hours(1))
            ),
            &format!(
                "DTEND:{}",
                crate::period::format_instant(day + Duration::hours(2))
            ),
        );
    for (name, update, hours) in [("moved", &moved, 5), ("longer", &longer, 0)] {
        let mut seen = Vec::new();
        for (k, order) in [[&reply, update], [update, &reply]].iter().enumerate() {
            let a = user(&format!("mailto:alice{k}-{name}@example.com"));
            let invite = msg("REQUEST", std::slice::from_ref(&series)).replace(ALICE, a.as_str());
            deliver(s, &a, &invite).await;
            for m in order {
                deliver(s, &a, &m.replace(ALICE, a.as_str())).await;
            }
            let own = agreed(s, &a).await;
            assert_eq!(own.len(), 4, "{name} order {k}: {:?}", keys(&own));
            let at = second + Duration::hours(hours);
            let inst = own
                .iter()
                .find(|p| p.start.date_naive() == second.date_naive())
                .unwrap();
            assert_eq!(inst.start, at, "{name} order {k}: {:?}", keys(&own));
            assert_eq!(
                inst.end - inst.start,
                Duration::hours(if name == "longer" { 2 } else { 1 }),
                "{name} order {k}: the instance keeps the old end: {:?}",
                keys(&own)
            );
            // Bob answered the old version: his answer does not count for the new one.
            let bob = s
                .freebusy(&a, &Table::Other(other(BOB)))
                .await
                .unwrap()
                .value;
            assert!(bob.is_empty(), "{name} order {k}: {:?}", keys(&bob));
            sound(s, &a, Utc::now()).await;
            // Bob now accepts the new version of that instance: counted, at the new time.
            let again = msg(
                "REPLY",
                &[Ev::new("w", 1, at)
                    .rid(at)
                    .stamped(30)
                    .with(&[(BOB, "ACCEPTED")])],
            )
            .replace(ALICE, a.as_str());
            let d = deliver(s, &a, &again).await;
            assert_eq!(
                actions(&d),
                [(Action::ReplyRecorded, Reason::Applied)],
                "{name} order {k}"
            );
            let bob = s
                .freebusy(&a, &Table::Other(other(BOB)))
                .await
                .unwrap()
                .value;
            assert_eq!(keys(&bob).len(), 1, "{name} order {k}");
            assert_eq!(bob[0].start, at);
            assert_eq!(bob[0].end, inst.end);
            agreed(s, &a).await;
            sound(s, &a, Utc::now()).await;
            let anonymous = |rows: &[Period]| -> Vec<String> {
                details(rows)
                    .into_iter()
                    .map(|l| l.replace(a.as_str(), "ALICE"))
                    .collect()
            };
            seen.push((anonymous(&agreed(s, &a).await), anonymous(&bob)));
        }
        assert_eq!(
            seen[0], seen[1],
            "{name}: the order of delivery changed the tables"
        );
    }
}

/// A REPLY listing several attendees, from a mail whose sender is one of them, changes only the
/// sender's PARTSTAT and table; with 5,000 attendees (most of whom accepted earlier) it writes
/// one table, in bounded time.
pub async fn reply_counts_for_its_sender_only<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, a) = (&f.store, user(ALICE));
    let day = base();
    const N: usize = 5_000;
    let addresses: Vec<&'static str> = (0..N)
        .map(|i| &*Box::leak(format!("mailto:a{i}@example.com").into_boxed_str()))
        .collect();
    let invited: Vec<(&'static str, &'static str)> =
        addresses.iter().map(|a| (*a, "NEEDS-ACTION")).collect();
    let started = Instant::now();
    let ev = Ev::new("big", 0, day).rule("FREQ=WEEKLY").with(&invited);
    deliver(s, &a, &msg("REQUEST", &[ev])).await;
    let invite = started.elapsed();
    // Three attendees answer from their own mail, each reply listing everybody as accepted.
    let everyone: Vec<(&'static str, &'static str)> =
        addresses.iter().map(|a| (*a, "ACCEPTED")).collect();
    let mut slowest = std::time::Duration::ZERO;
    for (k, who) in [0usize, 1, 2].into_iter().enumerate() {
        let text = msg(
            "REPLY",
            &[Ev::new("big", 0, day)
                .rule("FREQ=WEEKLY")
                .stamped(10 + k as i64)
                .with(&everyone)],
        );
        let mail = format!(
            "From: <a{who}@example.com>\r\nTo: alice@example.com\r\nSubject: Accepted\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n{text}"
        );
        let t = Instant::now();
        let d = deliver(s, &a, &mail).await;
        slowest = slowest.max(t.elapsed());
        assert_eq!(actions(&d), [(Action::ReplyRecorded, Reason::Applied)]);
        let tables: Vec<String> = d
            .step
            .changes
            .iter()
            .filter_map(|c| match c {
                crate::Change::ReplaceUidPeriods {
                    table: Table::Other(o),
                    ..
                }
                | crate::Change::ReplaceUidsPeriods {
                    table: Table::Other(o),
                    ..
                }
                | crate::Change::ReplaceEventPeriods {
                    table: Table::Other(o),
                    ..
                }
                | crate::Change::SetFreeBusy {
                    table: Table::Other(o),
                    ..
                } => Some(o.as_str().to_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(
            tables,
            [addresses[who]],
            "reply {k} writes the sender's table only"
        );
    }
    let others: Vec<String> = s
        .others(&a)
        .await
        .unwrap()
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    assert_eq!(others, addresses[..3]);
    let stored = s.get_event(&a, &uid("big"), None).await.unwrap().unwrap();
    let accepted = stored.text.matches("PARTSTAT=ACCEPTED").count();
    assert_eq!(accepted, 3, "only the senders' answers are recorded");
    // Bounded: a reply costs no more than a few times the invitation itself (which writes no
    // attendee table), however many attendees the stored event names.
    assert!(
        slowest < invite * 4 + std::time::Duration::from_secs(2),
        "a reply took {slowest:?}, the invitation {invite:?}"
    );
    eprintln!("5,000 attendees: invitation {invite:?}, slowest reply {slowest:?}");
    sound(s, &a, Utc::now()).await;
}

/// The attendee's side of an answer for one instance: Bob accepts one occurrence of a series he
/// has not answered, then the organiser lengthens the series (a newer SEQUENCE). The old answer
/// is for the old version: the occurrence follows the new series (asked again, so free), and
/// Bob's new answer for that occurrence counts at the new length.
pub async fn attendee_instance_answer_then_series_changes<
    S: Store + Clone + 'static,
    J: Journal + Clone + 'static,
>(
    f: &Fixture<S, J>,
) {
    let (s, b) = (&f.store, user(BOB));
    let day = base();
    let second = day + Duration::weeks(1);
    let series = Ev::new("w", 0, day).rule("FREQ=WEEKLY;COUNT=4");
    deliver(s, &b, &msg("REQUEST", std::slice::from_ref(&series))).await;
    let d = crate::agent::answer(
        s,
        &b,
        &uid("w"),
        Some(&crate::Rid::from_utc(second)),
        crate::agent::Answer::Accepted,
    )
    .await
    .unwrap();
    assert_eq!(d.added.len(), 1);
    let longer = msg("REQUEST", &[series.stamped(20)])
        .replace("SEQUENCE:0", "SEQUENCE:1")
        .replace(
            &format!(
                "DTEND:{}",
                crate::period::format_instant(day + Duration::hours(1))
            ),
            &format!(
                "DTEND:{}",
                crate::period::format_instant(day + Duration::hours(2))
            ),
        );
    let d = deliver(s, &b, &longer).await;
    assert_eq!(d.items[0].action, Action::Queued);
    let own = agreed(s, &b).await;
    assert!(own.is_empty(), "the old answer counts: {:?}", keys(&own));
    crate::agent::answer(
        s,
        &b,
        &uid("w"),
        Some(&crate::Rid::from_utc(second)),
        crate::agent::Answer::Accepted,
    )
    .await
    .unwrap();
    let own = agreed(s, &b).await;
    assert_eq!(keys(&own).len(), 1, "{:?}", keys(&own));
    assert_eq!(own[0].end - own[0].start, Duration::hours(2));
}
