//! The seeded corpus of BENCHMARKS.md: real iCalendar text for many users, reproducible byte for
//! byte from a seed, and the import path that stores it (`split_calendar` → `put_event` →
//! `refresh::refresh_event`), the same one `calstore import` and an agent use.
//!
//! The mix per user: 70 % single events, 20 % finite recurrences (daily/weekly/monthly with COUNT
//! or UNTIL, some with EXDATEs and an overridden instance), 10 % rules without end; times in five
//! IANA zones (with their VTIMEZONE, as mail clients send them), floating or all-day.
//!
//! Dates are placed around a fixed [`ANCHOR`] rather than "now", so that the same seed gives the
//! same bytes on any day (rules without end then yield a few more periods as time passes).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use calstore::import::Importer;
use calstore::object::split_calendar;
use calstore::recurrence::ExpandOptions;
use calstore::{Store, User};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

pub use crate::rng::{random_periods, Rng};

/// The seed of every corpus unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 0x00ca_1570_4e00_2026;

/// The Monday around which events are placed (days −60 … +300).
pub const ANCHOR: (i32, u32, u32) = (2026, 9, 7);

/// The five zones, each with the VTIMEZONE a client would send for it.
pub const ZONES: [(&str, &str); 5] = [
    (
        "Europe/Oslo",
        "+0100:+0200:CET:CEST:-1SU:3:-1SU:10:0200:0300",
    ),
    (
        "America/New_York",
        "-0500:-0400:EST:EDT:2SU:3:1SU:11:0200:0200",
    ),
    ("Asia/Tokyo", "+0900:+0900:JST::::::0000:"),
    (
        "Australia/Sydney",
        "+1000:+1100:AEST:AEDT:1SU:10:1SU:4:0200:0300",
    ),
    ("America/Sao_Paulo", "-0300:-0300:-03::::::0000:"),
];

pub(crate) const WORDS: [&str; 16] = [
    "Planning",
    "Review",
    "Standup",
    "Lunch",
    "Budget",
    "Design",
    "Retro",
    "Interview",
    "Training",
    "Sync",
    "Board",
    "Workshop",
    "Demo",
    "Dentist",
    "Call",
    "Offsite",
];

/// The calendar address of user `i`.
pub fn user_address(i: usize) -> String {
    format!("mailto:user{i:05}@bench.example.org")
}

/// The validated user `i`.
///
/// # Errors
///
/// Never in practice (the address is a valid key).
pub fn user(i: usize) -> Result<User> {
    Ok(User::new(user_address(i))?)
}

/// How the event's times are written.
#[derive(Debug, Clone, Copy)]
enum TimeKind {
    Zoned(usize),
    Floating,
    AllDay,
}

/// A calendar file: one VCALENDAR holding `events` events of user `index` (plus the overridden
/// instances of some recurrences, as separate VEVENTs with RECURRENCE-ID) and the VTIMEZONEs used.
/// Returns the text and the number of VEVENTs (objects) in it.
pub fn user_calendar(seed: u64, index: usize, events: usize) -> (String, usize) {
    let mut rng = Rng::stream(seed, index as u64);
    let me = user_address(index);
    let mut body = String::with_capacity(events * 700);
    let mut zones_used = [false; ZONES.len()];
    let mut objects = 0;
    for n in 0..events {
        objects += event(&mut rng, &me, index, n, &mut zones_used, &mut body);
    }
    let mut out = String::with_capacity(body.len() + 2048);
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calstore//bench corpus//EN\r\n");
    for (z, used) in ZONES.iter().zip(zones_used) {
        if used {
            vtimezone(z.0, z.1, &mut out);
        }
    }
    out.push_str(&body);
    out.push_str("END:VCALENDAR\r\n");
    (out, objects)
}

/// Writes one event (and maybe an overridden instance) to `out`; returns how many VEVENTs.
fn event(
    rng: &mut Rng,
    me: &str,
    user: usize,
    n: usize,
    zones: &mut [bool],
    out: &mut String,
) -> usize {
    let (y, m, d) = ANCHOR;
    let anchor = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let kind = match rng.below(100) {
        0..70 => TimeKind::Zoned(rng.below(ZONES.len() as u64) as usize),
        70..85 => TimeKind::Floating,
        _ => TimeKind::AllDay,
    };
    if let TimeKind::Zoned(z) = kind {
        zones[z] = true;
    }
    let day = anchor + Duration::days(rng.range(-60, 300));
    let time = NaiveTime::from_hms_opt(rng.range(7, 19) as u32, 15 * rng.range(0, 4) as u32, 0)
        .unwrap_or_default();
    let start = day.and_time(time);
    let minutes = *rng.pick(&[30, 45, 60, 60, 90, 120]);
    let uid = format!(
        "{user:05}-{n:05}-{:08x}@bench.example.org",
        rng.next_u64() as u32
    );
    let shape = rng.below(100);
    let rule = match shape {
        0..70 => None,
        70..90 => Some(finite_rule(rng, kind, start)),
        _ => Some(endless_rule(rng)),
    };
    let summary = format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS));
    let (organiser, attendees) = people(rng, me, user);
    let transparent = rng.percent(5);

    let mut ev = String::with_capacity(700);
    ev.push_str("BEGIN:VEVENT\r\n");
    line(&mut ev, &format!("UID:{uid}"));
    line(&mut ev, "DTSTAMP:20260801T120000Z");
    line(&mut ev, &format!("SEQUENCE:{}", rng.below(3)));
    line(&mut ev, &format!("SUMMARY:{summary}"));
    line(&mut ev, &format!("DTSTART{}", when(kind, start)));
    match kind {
        TimeKind::AllDay => {
            let days = if rng.percent(80) { 1 } else { rng.range(2, 4) };
            line(
                &mut ev,
                &format!("DTEND{}", when(kind, start + Duration::days(days))),
            );
        }
        _ if rng.percent(25) => line(&mut ev, &format!("DURATION:PT{minutes}M")),
        _ => line(
            &mut ev,
            &format!("DTEND{}", when(kind, start + Duration::minutes(minutes))),
        ),
    }
    if let Some(r) = &rule {
        line(&mut ev, &format!("RRULE:{}", r.text));
        if !r.exdates.is_empty() {
            let list: Vec<String> = r
                .exdates
                .iter()
                .map(|&k| value_of(kind, start + r.step * k))
                .collect();
            line(
                &mut ev,
                &format!("EXDATE{}:{}", params_of(kind), list.join(",")),
            );
        }
    }
    if transparent {
        line(&mut ev, "TRANSP:TRANSPARENT");
    }
    line(&mut ev, "STATUS:CONFIRMED");
    if let Some(o) = &organiser {
        line(&mut ev, &format!("ORGANIZER;CN=Organiser:{o}"));
    }
    for (who, partstat) in &attendees {
        line(
            &mut ev,
            &format!("ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=TRUE:{who}"),
        );
    }
    ev.push_str("END:VEVENT\r\n");
    out.push_str(&ev);

    // An overridden instance: the second occurrence, moved by an hour, as its own VEVENT.
    match &rule {
        Some(r) if r.override_second && !matches!(kind, TimeKind::AllDay) => {
            let original = start + r.step;
            let moved = original + Duration::hours(1);
            let mut inst = String::with_capacity(512);
            inst.push_str("BEGIN:VEVENT\r\n");
            line(&mut inst, &format!("UID:{uid}"));
            line(&mut inst, &format!("RECURRENCE-ID{}", when(kind, original)));
            line(&mut inst, "DTSTAMP:20260801T120000Z");
            line(&mut inst, &format!("SUMMARY:{summary} (moved)"));
            line(&mut inst, &format!("DTSTART{}", when(kind, moved)));
            line(
                &mut inst,
                &format!("DTEND{}", when(kind, moved + Duration::minutes(minutes))),
            );
            if let Some(o) = &organiser {
                line(&mut inst, &format!("ORGANIZER;CN=Organiser:{o}"));
            }
            for (who, partstat) in &attendees {
                line(&mut inst, &format!("ATTENDEE;PARTSTAT={partstat}:{who}"));
            }
            inst.push_str("END:VEVENT\r\n");
            out.push_str(&inst);
            2
        }
        _ => 1,
    }
}

/// A recurrence rule and what goes with it.
struct RuleShape {
    text: String,
    /// The distance between occurrences (for EXDATEs and the override; months count as 28 days
    /// only for monthly rules, which get no EXDATE or override).
    step: Duration,
    exdates: Vec<i32>,
    override_second: bool,
}

fn finite_rule(rng: &mut Rng, kind: TimeKind, start: NaiveDateTime) -> RuleShape {
    let (freq, step) = *rng.pick(&[("DAILY", 1), ("WEEKLY", 7), ("WEEKLY", 7), ("MONTHLY", 0)]);
    let count = rng.range(4, 31);
    let end = if rng.percent(50) {
        format!("COUNT={count}")
    } else {
        let days = if step == 0 { 30 * count } else { step * count };
        let until = start + Duration::days(days - 1);
        match kind {
            TimeKind::AllDay => format!("UNTIL={}", until.format("%Y%m%d")),
            TimeKind::Floating => format!("UNTIL={}", until.format("%Y%m%dT%H%M%S")),
            // A zoned rule's UNTIL is UTC; the end of that local day is late enough in any zone.
            TimeKind::Zoned(_) => format!(
                "UNTIL={}",
                (until + Duration::hours(14)).format("%Y%m%dT%H%M%SZ")
            ),
        }
    };
    let fixed_step = step > 0;
    let mut exdates = Vec::new();
    if fixed_step && rng.percent(50) {
        exdates.push(rng.range(2, 4) as i32);
        if rng.percent(30) {
            exdates.push(4);
        }
    }
    RuleShape {
        text: format!("FREQ={freq};{end}"),
        step: Duration::days(step),
        exdates,
        override_second: fixed_step && rng.percent(30),
    }
}

fn endless_rule(rng: &mut Rng) -> RuleShape {
    let text = *rng.pick(&[
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=MONTHLY",
    ]);
    RuleShape {
        text: text.to_owned(),
        step: Duration::days(1),
        exdates: Vec::new(),
        override_second: false,
    }
}

/// Organiser and attendees: half the events are organised by the user, a third by someone else
/// who invited the user (mostly accepted), the rest are personal entries without either.
fn people(rng: &mut Rng, me: &str, user: usize) -> (Option<String>, Vec<(String, &'static str)>) {
    let other = |rng: &mut Rng| user_address((user + 1 + rng.below(997) as usize) % 100_000);
    match rng.below(6) {
        0..3 => {
            let mut list = vec![(me.to_owned(), "ACCEPTED")];
            for _ in 0..rng.below(4) {
                list.push((
                    other(rng),
                    *rng.pick(&["ACCEPTED", "TENTATIVE", "NEEDS-ACTION"]),
                ));
            }
            (Some(me.to_owned()), list)
        }
        3..5 => {
            let mine = *rng.pick(&[
                "ACCEPTED",
                "ACCEPTED",
                "ACCEPTED",
                "TENTATIVE",
                "NEEDS-ACTION",
                "DECLINED",
            ]);
            (
                Some(other(rng)),
                vec![(me.to_owned(), mine), (other(rng), "ACCEPTED")],
            )
        }
        _ => (None, Vec::new()),
    }
}

fn params_of(kind: TimeKind) -> String {
    match kind {
        TimeKind::Zoned(z) => format!(";TZID={}", ZONES[z].0),
        TimeKind::Floating => String::new(),
        TimeKind::AllDay => ";VALUE=DATE".to_owned(),
    }
}

fn value_of(kind: TimeKind, t: NaiveDateTime) -> String {
    match kind {
        TimeKind::AllDay => t.format("%Y%m%d").to_string(),
        _ => t.format("%Y%m%dT%H%M%S").to_string(),
    }
}

/// `;PARAMS:VALUE` for DTSTART, DTEND, RECURRENCE-ID.
fn when(kind: TimeKind, t: NaiveDateTime) -> String {
    format!("{}:{}", params_of(kind), value_of(kind, t))
}

/// Appends a content line folded at 75 octets (RFC 5545 §3.1), with CRLF.
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A VTIMEZONE from the compact description `std:dst:STDNAME:DSTNAME:dstday:dstmonth:stdday:stdmonth:dsttime:stdtime`.
fn vtimezone(tzid: &str, spec: &str, out: &mut String) {
    let f: Vec<&str> = spec.split(':').collect();
    let (std_off, dst_off, std_name, dst_name) = (f[0], f[1], f[2], f[3]);
    let _ = write!(out, "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n");
    if dst_name.is_empty() {
        let _ = write!(
            out,
            "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:{std_off}\r\nTZOFFSETTO:{std_off}\r\nTZNAME:{std_name}\r\nEND:STANDARD\r\n"
        );
    } else {
        let (dst_day, dst_month, std_day, std_month, dst_time, std_time) =
            (f[4], f[5], f[6], f[7], f[8], f[9]);
        let _ = write!(
            out,
            "BEGIN:DAYLIGHT\r\nDTSTART:19700101T{dst_time}00\r\nTZOFFSETFROM:{std_off}\r\nTZOFFSETTO:{dst_off}\r\nTZNAME:{dst_name}\r\nRRULE:FREQ=YEARLY;BYMONTH={dst_month};BYDAY={dst_day}\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:19700101T{std_time}00\r\nTZOFFSETFROM:{dst_off}\r\nTZOFFSETTO:{std_off}\r\nTZNAME:{std_name}\r\nRRULE:FREQ=YEARLY;BYMONTH={std_month};BYDAY={std_day}\r\nEND:STANDARD\r\n"
        );
    }
    out.push_str("END:VTIMEZONE\r\n");
}

/// Midnight UTC at the start of [`ANCHOR`].
pub fn anchor_utc() -> chrono::DateTime<chrono::Utc> {
    let (y, m, d) = ANCHOR;
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
        .and_utc()
}

/// What the import of one calendar did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Imported {
    /// Objects stored (parents and instances).
    pub objects: usize,
    /// Periods written by the refreshes.
    pub periods: usize,
}

/// The import path of `calstore import` for one calendar text: split it, then store every object
/// through [`Importer`], which writes the periods of the whole calendar in one batch at the end.
///
/// # Errors
///
/// A parse error of the text, an event that does not expand (a bug in this generator), or the
/// store's errors.
pub async fn import<S: Store>(
    store: &S,
    user: &User,
    text: &str,
    opts: &ExpandOptions,
) -> Result<Imported> {
    let objects = split_calendar(text).context("splitting a corpus calendar")?;
    let mut importer = Importer::new(store, user.clone(), *opts);
    for obj in &objects {
        importer
            .put(obj)
            .await
            .with_context(|| format!("storing uid {} for {user}", obj.uid()))?;
    }
    let done = importer
        .finish()
        .await
        .with_context(|| format!("writing the free/busy of {user}"))?;
    if let Some((uid, e)) = done.failed.into_iter().next() {
        return Err(anyhow::Error::new(e).context(format!("expanding uid {uid} of {user}")));
    }
    Ok(Imported {
        objects: done.objects,
        periods: done.periods,
    })
}

/// One calendar per object of user `index`, for ingesting objects one at a time: the overridden
/// instances come as calendars of their own, after their parent.
///
/// # Errors
///
/// A parse error of the generated text (a bug in this generator).
pub fn object_calendars(seed: u64, index: usize, events: usize) -> Result<Vec<String>> {
    let (text, _) = user_calendar(seed, index, events);
    let objects = split_calendar(&text).context("splitting the generated corpus")?;
    Ok(objects.into_iter().map(|o| o.text().to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_parseable() {
        let (a, n) = user_calendar(7, 3, 200);
        let (b, _) = user_calendar(7, 3, 200);
        assert_eq!(a, b);
        let objects = split_calendar(&a).expect("the corpus parses");
        assert_eq!(objects.len(), n);
        assert!(n >= 200);
        let (c, _) = user_calendar(8, 3, 200);
        assert_ne!(a, c);
    }

    #[test]
    fn the_mix_of_benchmarks_md() {
        let (text, _) = user_calendar(DEFAULT_SEED, 1, 2000);
        let parents: Vec<_> = split_calendar(&text)
            .expect("the corpus parses")
            .into_iter()
            .filter(|o| o.rid().is_none())
            .collect();
        let count = |f: &dyn Fn(&calstore::object::EventObject) -> bool| {
            parents.iter().filter(|o| f(o)).count()
        };
        let single = count(&|o| o.rrule().is_none());
        let finite = count(&|o| {
            o.rrule()
                .is_some_and(|r| r.contains("COUNT") || r.contains("UNTIL"))
        });
        let endless = parents.len() - single - finite;
        assert!(
            (1300..1500).contains(&single),
            "{single} single events of 2000"
        );
        assert!(
            (320..480).contains(&finite),
            "{finite} finite recurrences of 2000"
        );
        assert!(
            (140..260).contains(&endless),
            "{endless} recurrences without end of 2000"
        );
        assert!(
            text.contains("EXDATE") && text.contains("RECURRENCE-ID") && text.contains("UNTIL=")
        );
        assert!(text.contains("DTSTART;VALUE=DATE:") && text.contains("\r\nDTSTART:2"));
        for (zone, _) in ZONES {
            assert!(text.contains(&format!("DTSTART;TZID={zone}:")), "{zone}");
        }
    }
}
