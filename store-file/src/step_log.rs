//! The redo record of a step in progress, `STORE/<user>/.step`: what makes a step all or nothing
//! across a crash. A step first writes its whole list of changes there (atomically, durable),
//! then applies them, then removes the record. Whoever next touches the user finds a record left
//! by a killed process and applies it again before anything else: every change is idempotent
//! (a replacement, an upsert, a mark, a queue entry that is not repeated), so applying it twice
//! leaves what applying it once does. A record that does not parse is reported, never skipped.
//!
//! Format: a version line `calstore-step 1`, then per change a line with its number of fields,
//! then each field as a line with its length in bytes followed by the bytes and a newline.

use calstore::id::{parse_rid_text, rid_text};
use calstore::{Change, Error, Other, Period, QueueKind, Request, Result, Rid, Step, Table, Uid};

const HEADER: &str = "calstore-step 1\n";

fn table_text(t: &Table) -> String {
    t.to_string()
}

fn parse_table(s: &str) -> Result<Table> {
    match s {
        "freebusy" => Ok(Table::FreeBusy),
        "freebusy-offers" => Ok(Table::Offers),
        _ => match s.strip_prefix("freebusy-other/") {
            Some(o) => Ok(Table::Other(Other::new(o)?)),
            None => Err(Error::corrupt(format!("unknown table {s:?}"))),
        },
    }
}

fn periods_text(periods: &[Period]) -> String {
    periods.iter().map(|p| p.to_line(false) + "\n").collect()
}

fn parse_periods(s: &str) -> Result<Vec<Period>> {
    s.lines().map(Period::from_line).collect()
}

fn rid(r: Option<&Rid>) -> String {
    rid_text(r).to_owned()
}

fn fields(change: &Change) -> Vec<String> {
    match change {
        Change::Reserve {
            table,
            periods,
            capacity,
        } => vec![
            "reserve".into(),
            table_text(table),
            capacity.to_string(),
            periods_text(periods),
        ],
        Change::PutEvent { uid, rid: r, text } => {
            vec!["put".into(), uid.to_string(), rid(r.as_ref()), text.clone()]
        }
        Change::CancelEvent { uid, rid: r, text } => {
            vec![
                "cancel".into(),
                uid.to_string(),
                rid(r.as_ref()),
                text.clone(),
            ]
        }
        Change::ReplaceUidPeriods {
            table,
            uid,
            periods,
        } => vec![
            "uid-periods".into(),
            table_text(table),
            uid.to_string(),
            periods_text(periods),
        ],
        Change::ReplaceEventPeriods {
            table,
            uid,
            rid: r,
            periods,
        } => vec![
            "event-periods".into(),
            table_text(table),
            uid.to_string(),
            rid(r.as_ref()),
            periods_text(periods),
        ],
        Change::MarkProvider { uid, present } => vec![
            "mark".into(),
            uid.to_string(),
            if *present { "1" } else { "0" }.into(),
        ],
        Change::Queue(r) => vec![
            "queue".into(),
            r.uid.to_string(),
            rid(r.rid.as_ref()),
            r.method.as_str().into(),
        ],
        Change::Dequeue { uid, rid: r } => {
            vec!["dequeue".into(), uid.to_string(), rid(r.as_ref())]
        }
        Change::PutCounter {
            other,
            uid,
            rid: r,
            text,
        } => vec![
            "counter".into(),
            other.to_string(),
            uid.to_string(),
            rid(r.as_ref()),
            text.clone(),
        ],
        Change::RemoveCounters { uid, rid: r, only } => vec![
            "uncounter".into(),
            uid.to_string(),
            rid(r.as_ref()),
            only.as_ref().map(ToString::to_string).unwrap_or_default(),
        ],
        // A change this version does not know cannot be logged: the caller refuses the step.
        _ => vec!["unknown".into()],
    }
}

/// The record of a step.
pub(crate) fn encode(step: &Step) -> String {
    let mut out = String::from(HEADER);
    for change in &step.changes {
        let f = fields(change);
        out.push_str(&format!("{}\n", f.len()));
        for field in f {
            out.push_str(&format!("{}\n{field}\n", field.len()));
        }
    }
    out
}

/// Reads a record back.
///
/// # Errors
///
/// Corrupt data when the record does not parse.
pub(crate) fn decode(text: &str) -> Result<Step> {
    let bad = |m: &str| Error::corrupt(format!("interrupted step record: {m}"));
    let mut rest = text.strip_prefix(HEADER).ok_or_else(|| bad("no header"))?;
    let line = |rest: &mut &str| -> Result<usize> {
        let (n, tail) = rest.split_once('\n').ok_or_else(|| bad("truncated"))?;
        *rest = tail;
        n.parse().map_err(|_| bad("a length is not a number"))
    };
    let mut step = Step::default();
    while !rest.is_empty() {
        let count = line(&mut rest)?;
        let mut f = Vec::with_capacity(count.min(8));
        for _ in 0..count {
            let len = line(&mut rest)?;
            let field = rest.get(..len).ok_or_else(|| bad("truncated field"))?;
            rest = rest
                .get(len..)
                .and_then(|r| r.strip_prefix('\n'))
                .ok_or_else(|| bad("field without its newline"))?;
            f.push(field);
        }
        step.push(change_of(&f).map_err(|e| bad(e.message()))?);
    }
    Ok(step)
}

fn change_of(f: &[&str]) -> Result<Change> {
    let uid = |i: usize| Uid::new(f[i]);
    let r = |i: usize| parse_rid_text(f[i]);
    Ok(match f {
        ["reserve", table, cap, p] => Change::Reserve {
            table: parse_table(table)?,
            capacity: cap
                .parse()
                .map_err(|_| Error::corrupt("capacity is not a number"))?,
            periods: parse_periods(p)?,
        },
        ["put", _, _, text] => Change::PutEvent {
            uid: uid(1)?,
            rid: r(2)?,
            text: (*text).to_owned(),
        },
        ["cancel", _, _, text] => Change::CancelEvent {
            uid: uid(1)?,
            rid: r(2)?,
            text: (*text).to_owned(),
        },
        ["uid-periods", table, _, p] => Change::ReplaceUidPeriods {
            table: parse_table(table)?,
            uid: uid(2)?,
            periods: parse_periods(p)?,
        },
        ["event-periods", table, _, _, p] => Change::ReplaceEventPeriods {
            table: parse_table(table)?,
            uid: uid(2)?,
            rid: r(3)?,
            periods: parse_periods(p)?,
        },
        ["mark", _, present] => Change::MarkProvider {
            uid: uid(1)?,
            present: *present == "1",
        },
        ["queue", _, _, method] => Change::Queue(Request {
            uid: uid(1)?,
            rid: r(2)?,
            method: QueueKind::parse(method)?,
        }),
        ["dequeue", _, _] => Change::Dequeue {
            uid: uid(1)?,
            rid: r(2)?,
        },
        ["counter", other, _, _, text] => Change::PutCounter {
            other: Other::new(*other)?,
            uid: uid(2)?,
            rid: r(3)?,
            text: (*text).to_owned(),
        },
        ["uncounter", _, _, only] => Change::RemoveCounters {
            uid: uid(1)?,
            rid: r(2)?,
            only: if only.is_empty() {
                None
            } else {
                Some(Other::new(*only)?)
            },
        },
        _ => {
            return Err(Error::corrupt(format!(
                "unknown change {:?}",
                f.first().copied().unwrap_or("")
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_round_trips() {
        let u = Uid::new("a\tb").unwrap();
        let r = Some(Rid::new("20260105T090000Z").unwrap());
        let mut p = Period::new(
            calstore::period::parse_instant("20260105T090000Z").unwrap(),
            calstore::period::parse_instant("20260105T100000Z").unwrap(),
            u.clone(),
            r.clone(),
        )
        .unwrap();
        p.summary = Some("line\nbreak".into());
        let text = "BEGIN:VCALENDAR\r\n5\n3\nx\r\nEND:VCALENDAR\r\n".to_owned();
        let other = Other::new("mailto:bob@example.com").unwrap();
        let step = Step {
            changes: vec![
                Change::Reserve {
                    table: Table::FreeBusy,
                    periods: vec![p.clone()],
                    capacity: 2,
                },
                Change::PutEvent {
                    uid: u.clone(),
                    rid: None,
                    text: text.clone(),
                },
                Change::CancelEvent {
                    uid: u.clone(),
                    rid: r.clone(),
                    text: text.clone(),
                },
                Change::ReplaceUidPeriods {
                    table: Table::Other(other.clone()),
                    uid: u.clone(),
                    periods: vec![],
                },
                Change::ReplaceEventPeriods {
                    table: Table::Offers,
                    uid: u.clone(),
                    rid: r.clone(),
                    periods: vec![p],
                },
                Change::MarkProvider {
                    uid: u.clone(),
                    present: true,
                },
                Change::Queue(Request {
                    uid: u.clone(),
                    rid: None,
                    method: QueueKind::Counter,
                }),
                Change::Dequeue {
                    uid: u.clone(),
                    rid: r.clone(),
                },
                Change::PutCounter {
                    other: other.clone(),
                    uid: u.clone(),
                    rid: r.clone(),
                    text,
                },
                Change::RemoveCounters {
                    uid: u,
                    rid: None,
                    only: Some(other),
                },
            ],
        };
        let back = decode(&encode(&step)).unwrap();
        assert_eq!(back, step);
        let full = encode(&step);
        let err = decode(&full[..full.len() - 3]).unwrap_err();
        assert_eq!(err.kind(), calstore::ErrorKind::Corrupt, "{err}");
    }
}
