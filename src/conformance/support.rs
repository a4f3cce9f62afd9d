//! Small helpers shared by the cases.

use crate::id::{Group, Quota};
use crate::journal::Limits;
use crate::{Journal, Other, Period, Rid, Uid, User};
use chrono::{DateTime, Duration, DurationRound, Utc};

pub fn t(s: &str) -> DateTime<Utc> {
    crate::period::parse_instant(s).expect("test instant")
}

/// Tomorrow at 09:00 UTC: resource cases work relative to now, as the rooms' windows do.
pub fn tomorrow_at_nine() -> DateTime<Utc> {
    let day = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    day + Duration::days(1) + Duration::hours(9)
}

/// The quota `rooms`, its one limit (for every group, `*`) set to `limit`.
pub async fn rooms_quota<J: Journal>(j: &J, limit: &str) -> Quota {
    let q = Quota::new("rooms").unwrap();
    let limits: Limits = [(Group::new("*").unwrap(), limit.to_owned())].into();
    j.set_limits(&q, &limits, None).await.unwrap();
    q
}

pub fn user(s: &str) -> User {
    User::new(s).expect("test user")
}

pub fn uid(s: &str) -> Uid {
    Uid::new(s).expect("test uid")
}

pub fn rid(s: &str) -> Rid {
    Rid::new(s).expect("test rid")
}

pub fn other(s: &str) -> Other {
    Other::new(s).expect("test other")
}

/// A busy period of (uid, rid) from `start` to `end` (iCalendar UTC).
pub fn period(start: &str, end: &str, u: &str, r: Option<&str>) -> Period {
    Period::new(t(start), t(end), uid(u), r.map(rid)).expect("test period")
}

/// The (start, end, uid, rid) text of periods, for readable assertions.
pub fn keys(periods: &[Period]) -> Vec<String> {
    periods
        .iter()
        .map(|p| {
            format!(
                "{}/{} {} {}",
                crate::period::format_instant(p.start),
                crate::period::format_instant(p.end),
                p.uid,
                crate::id::rid_text(p.rid.as_ref())
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}

/// A minimal valid event text (the summary is escaped as iCalendar TEXT).
pub fn event_text(u: &str, r: Option<&str>, start: &str, end: &str, summary: &str) -> String {
    let summary = summary
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\r', "")
        .replace('\n', "\\n");
    let rid_line = r
        .map(|r| format!("RECURRENCE-ID:{r}\r\n"))
        .unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//tests//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\n{rid_line}DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\nORGANIZER:mailto:alice@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        fold_uid(u)
    )
}

// Keeps test UIDs on one content line (they contain no line breaks in these cases).
fn fold_uid(u: &str) -> String {
    u.to_owned()
}

pub fn kind<T: std::fmt::Debug>(r: crate::Result<T>) -> crate::ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.kind(),
    }
}
