//! The group-event scenario of RFC 5546 §4.2 (our own messages, written after the RFC's: A
//! organises a monthly call with B, C and D; B accepts, C declines, A moves it, B counters, A
//! declines the counter, the request is forwarded to E, one instance and then the whole event
//! are cancelled, a late reply arrives, D asks for a refresh), applied with `agent::receive` for
//! the organiser and for an attendee, on MemoryStore and the file store. Dates are moved to the
//! future so that every occurrence lies inside the window.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use calstore::agent::{self, Action, Decision, Reason};
use calstore::memory::MemoryStore;
use calstore::{Other, QueueKind, Store, Table, User};

const A: &str = "mailto:a@example.com";
const B: &str = "mailto:b@example.com";

fn cal(method: &str, body: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nPRODID:-//Example/ExampleCalendarClient//EN\r\nMETHOD:{method}\r\n\
         VERSION:2.0\r\nBEGIN:VEVENT\r\nUID:guid-1@example.com\r\n{body}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

const ATTENDEES: &str = "ORGANIZER:mailto:a@example.com\r\n\
    ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:a@example.com\r\n\
    ATTENDEE;RSVP=TRUE:mailto:b@example.com\r\nATTENDEE;RSVP=TRUE:mailto:c@example.com\r\n\
    ATTENDEE;RSVP=TRUE:mailto:d@example.com\r\n";

fn request() -> String {
    cal(
        "REQUEST",
        &format!(
            "SEQUENCE:0\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20270902T000000Z\r\n{ATTENDEES}\
             SUMMARY:IETF Calendaring Working Group Meeting\r\nDTSTART:20270401T210000Z\r\n\
             DTEND:20270401T220000Z\r\nLOCATION:Conference Call\r\nDTSTAMP:20261126T083000Z\r\n\
             STATUS:CONFIRMED\r\n"
        ),
    )
}

fn update() -> String {
    request()
        .replace("SEQUENCE:0", "SEQUENCE:1")
        .replace(
            "T210000Z\r\nDTEND:20270401T220000Z",
            "T220000Z\r\nDTEND:20270401T230000Z",
        )
        .replace("DTSTAMP:20261126T083000Z", "DTSTAMP:20261127T083000Z")
}

fn reply(from: &str, partstat: &str, seq: u32, stamp: &str) -> String {
    cal(
        "REPLY",
        &format!(
            "SEQUENCE:{seq}\r\nORGANIZER:mailto:a@example.com\r\n\
             ATTENDEE;PARTSTAT={partstat}:{from}\r\nDTSTAMP:{stamp}\r\n\
             REQUEST-STATUS:2.0;Success\r\n"
        ),
    )
}

fn one(d: &Decision) -> (Action, Reason) {
    assert_eq!(d.items.len(), 1, "{d}");
    (d.items[0].action, d.items[0].reason.clone())
}

async fn scenario<S: Store>(s: &S) {
    let (a, b) = (User::new(A).unwrap(), User::new(B).unwrap());
    let e = User::new("mailto:e@example.com").unwrap();
    let busy = |u: User| async move { s.freebusy(&u, &Table::FreeBusy).await.unwrap().value };
    let other = |who: &str| Table::Other(Other::new(who).unwrap());

    // §4.2.1: the request; A holds it as organiser, B is asked.
    let d = agent::receive(s, &a, request()).await.unwrap();
    assert_eq!(one(&d), (Action::Stored, Reason::Applied));
    assert_eq!(busy(a.clone()).await.len(), 6, "April to September");
    let d = agent::receive(s, &b, request()).await.unwrap();
    assert_eq!(one(&d), (Action::Queued, Reason::Applied));
    assert!(busy(b.clone()).await.is_empty(), "unanswered: free");

    // §4.2.2: B accepts, C declines.
    let d = agent::receive(s, &a, reply(B, "ACCEPTED", 0, "20261126T090000Z"))
        .await
        .unwrap();
    assert_eq!(one(&d), (Action::ReplyRecorded, Reason::Applied));
    assert_eq!(s.freebusy(&a, &other(B)).await.unwrap().value.len(), 6);
    let c = reply("mailto:c@example.com", "DECLINED", 0, "20261126T091000Z");
    let d = agent::receive(s, &a, c).await.unwrap();
    assert_eq!(one(&d), (Action::ReplyRecorded, Reason::Applied));
    assert!(s
        .freebusy(&a, &other("mailto:c@example.com"))
        .await
        .unwrap()
        .value
        .is_empty());

    // §4.2.3: A moves it an hour later (SEQUENCE 1, answers reset).
    let d = agent::receive(s, &a, update()).await.unwrap();
    assert_eq!(one(&d), (Action::Updated, Reason::Applied));
    assert_eq!(d.added.len(), 6);
    assert_eq!(d.removed.len(), 6);
    assert!(s.freebusy(&a, &other(B)).await.unwrap().value.is_empty());
    let d = agent::receive(s, &b, update()).await.unwrap();
    assert_eq!(one(&d), (Action::Queued, Reason::Applied));
    // The original request, delivered again, changes nothing.
    let d = agent::receive(s, &b, request()).await.unwrap();
    assert_eq!(d.items[0].action, Action::IgnoredAsOlder);

    // §4.2.4–4.2.5: B counters; A declines the counter.
    let counter = cal(
        "COUNTER",
        "SEQUENCE:1\r\nORGANIZER:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\n\
         DTSTART:20270401T230000Z\r\nDTEND:20270402T000000Z\r\nDTSTAMP:20261128T090000Z\r\n\
         COMMENT:Later works better for me\r\n",
    );
    let d = agent::receive(s, &a, counter).await.unwrap();
    assert_eq!(one(&d), (Action::CounterRecorded, Reason::Applied));
    assert!(s
        .requests(&a)
        .await
        .unwrap()
        .iter()
        .any(|r| r.method == QueueKind::Counter));
    let decline = cal(
        "DECLINECOUNTER",
        "SEQUENCE:1\r\nORGANIZER:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\n\
         DTSTAMP:20261128T100000Z\r\n",
    );
    let d = agent::receive(s, &b, decline).await.unwrap();
    assert_eq!(one(&d), (Action::CounterDeclined, Reason::Applied));

    // §4.2.7: the request forwarded to E, who is not invited.
    let d = agent::receive(s, &e, update()).await.unwrap();
    assert_eq!(one(&d), (Action::Refused, Reason::NotNamed));

    // B accepts the new time (his answer) and A gets the reply.
    let d = agent::answer(
        s,
        &b,
        &calstore::Uid::new("guid-1@example.com").unwrap(),
        None,
        agent::Answer::Accepted,
    )
    .await
    .unwrap();
    assert_eq!(busy(b.clone()).await.len(), 6);
    let sent = d.reply.unwrap();
    let d = agent::receive(s, &a, &sent).await.unwrap();
    assert_eq!(one(&d), (Action::ReplyRecorded, Reason::Applied));
    assert_eq!(s.freebusy(&a, &other(B)).await.unwrap().value.len(), 6);

    // §4.2.8-like: one instance cancelled, then the whole event; a late reply is refused.
    let one_off = cal(
        "CANCEL",
        "SEQUENCE:2\r\nRECURRENCE-ID:20270601T220000Z\r\nORGANIZER:mailto:a@example.com\r\n\
         ATTENDEE:mailto:b@example.com\r\nDTSTAMP:20261201T080000Z\r\nSTATUS:CANCELLED\r\n",
    );
    for u in [&a, &b] {
        let d = agent::receive(s, u, &one_off).await.unwrap();
        assert_eq!(one(&d), (Action::Cancelled, Reason::Applied));
        assert_eq!(busy(u.clone()).await.len(), 5);
    }
    assert_eq!(s.freebusy(&a, &other(B)).await.unwrap().value.len(), 5);
    let all = cal(
        "CANCEL",
        "SEQUENCE:3\r\nORGANIZER:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\n\
         DTSTAMP:20261202T080000Z\r\nSTATUS:CANCELLED\r\n",
    );
    for u in [&a, &b] {
        let d = agent::receive(s, u, &all).await.unwrap();
        assert_eq!(one(&d), (Action::Cancelled, Reason::Applied));
        assert!(busy(u.clone()).await.is_empty());
    }
    let late = reply(B, "ACCEPTED", 1, "20261203T080000Z");
    let d = agent::receive(s, &a, late).await.unwrap();
    assert_eq!(one(&d), (Action::Refused, Reason::EventCancelled));
    // §4.5-like: D asks for the latest version; A's agent answers with the stored event.
    let refresh = cal(
        "REFRESH",
        "ORGANIZER:mailto:a@example.com\r\nATTENDEE:mailto:d@example.com\r\nDTSTAMP:20261203T090000Z\r\n",
    );
    let d = agent::receive(s, &a, refresh).await.unwrap();
    assert_eq!(one(&d), (Action::Refused, Reason::EventCancelled));
}

#[tokio::test]
async fn rfc5546_group_event_on_memory() {
    scenario(&MemoryStore::new()).await;
}

#[tokio::test]
async fn rfc5546_group_event_on_files() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&calstore_file::FileStore::open_dir(dir.path().join("store")).unwrap()).await;
}
