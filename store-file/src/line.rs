//! A cheap view of one period line: the fields split at their TABs, start and end parsed, nothing
//! else allocated. Write paths and range reads use it to order, select and copy lines without
//! parsing whole periods ([`Period::from_line`] is used only for lines that are returned).

use std::borrow::Cow;
use std::cmp::Ordering;

use calstore::id::rid_text;
use calstore::period::{parse_instant, unescape};
use calstore::Period;
use chrono::{DateTime, NaiveDate, Utc};

/// The most fields a period line has (the ninth, the attendee, only in journal tables).
const MAX_FIELDS: usize = 9;

/// One period line, split into fields, with its start and end parsed.
#[derive(Debug)]
pub(crate) struct LineView<'a> {
    line: &'a str,
    bounds: [(usize, usize); MAX_FIELDS],
    count: usize,
    /// The start instant (field 1).
    pub start: DateTime<Utc>,
    /// The end instant (field 2).
    pub end: DateTime<Utc>,
}

impl<'a> LineView<'a> {
    /// Splits a line (without its newline) and parses start and end; checks that there are 2 to 9
    /// fields and a uid. Returns the problem as text for the caller to place (file and line).
    pub(crate) fn parse(line: &'a str) -> Result<Self, String> {
        let mut bounds = [(0, 0); MAX_FIELDS];
        let mut count = 0;
        let mut from = 0;
        for (i, b) in line.bytes().enumerate() {
            if b == b'\t' {
                if count == MAX_FIELDS - 1 {
                    return Err("more than 9 TAB-separated fields".to_owned());
                }
                bounds[count] = (from, i);
                count += 1;
                from = i + 1;
            }
        }
        bounds[count] = (from, line.len());
        count += 1;
        if count < 2 {
            return Err(format!(
                "expected 2 to 9 TAB-separated fields, found {count}"
            ));
        }
        let field = |i: usize| &line[bounds[i].0..bounds[i].1];
        let start =
            instant(field(0)).ok_or_else(|| format!("start {:?} is not an instant", field(0)))?;
        let end =
            instant(field(1)).ok_or_else(|| format!("end {:?} is not an instant", field(1)))?;
        let view = LineView {
            line,
            bounds,
            count,
            start,
            end,
        };
        if view.field(2).is_empty() {
            return Err("the period has no uid".to_owned());
        }
        Ok(view)
    }

    /// Field `i` (0-based) as written, empty when the line has fewer fields.
    pub(crate) fn field(&self, i: usize) -> &'a str {
        if i < self.count {
            &self.line[self.bounds[i].0..self.bounds[i].1]
        } else {
            ""
        }
    }

    /// Whether the uid field is `escaped_uid` (an escaped uid: escaping is one-to-one, so
    /// comparing escaped forms compares the uids).
    pub(crate) fn uid_is(&self, escaped_uid: &str) -> bool {
        self.field(2) == escaped_uid
    }

    /// The rid field (empty for a parent's period).
    pub(crate) fn rid(&self) -> &'a str {
        self.field(4)
    }

    /// The expiry, when the field holds one that parses.
    pub(crate) fn expiry(&self) -> Option<DateTime<Utc>> {
        match self.field(7) {
            "" => None,
            s => instant(s),
        }
    }

    /// The uid, unescaped (borrowed unless it holds an escape).
    fn uid(&self) -> Cow<'a, str> {
        let raw = self.field(2);
        if raw.contains('\\') {
            unescape(raw).map_or(Cow::Borrowed(raw), Cow::Owned)
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// Compares this line with a period in table order (start, end, uid, rid).
    pub(crate) fn cmp_period(&self, p: &Period) -> Ordering {
        self.start
            .cmp(&p.start)
            .then_with(|| self.end.cmp(&p.end))
            .then_with(|| self.uid().as_ref().cmp(p.uid.as_str()))
            .then_with(|| self.rid().cmp(rid_text(p.rid.as_ref())))
    }
}

/// Parses an instant: the fixed `YYYYMMDDTHHMMSSZ` form without going through a format string,
/// anything else through [`parse_instant`] (which also takes RFC 3339).
pub(crate) fn instant(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' {
        let digits = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let fast = (|| {
            let year = i32::try_from(digits(0, 4)?).ok()?;
            NaiveDate::from_ymd_opt(year, digits(4, 6)?, digits(6, 8)?)?
                .and_hms_opt(digits(9, 11)?, digits(11, 13)?, digits(13, 15)?)
                .map(|n| n.and_utc())
        })();
        if fast.is_some() {
            return fast;
        }
    }
    parse_instant(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calstore::{Rid, Uid};

    #[test]
    fn views_split_and_order_like_periods() {
        let mut p = Period::new(
            instant("20260105T090000Z").unwrap(),
            instant("20260105T100000Z").unwrap(),
            Uid::new("u\tid").unwrap(),
            Some(Rid::new("20260105T090000Z").unwrap()),
        )
        .unwrap();
        p.summary = Some("a\\b".into());
        let line = p.to_line(true);
        let v = LineView::parse(&line).unwrap();
        assert_eq!(v.start, p.start);
        assert_eq!(v.end, p.end);
        assert!(v.uid_is("u\\tid"));
        assert_eq!(v.rid(), "20260105T090000Z");
        assert_eq!(v.cmp_period(&p), Ordering::Equal);
        assert_eq!(v.field(8), "");
        assert!(LineView::parse("20260105T090000Z").is_err());
        assert!(LineView::parse("x\t20260105T090000Z\tu").is_err());
        assert!(LineView::parse("20260105T090000Z\t20260105T090000Z\t").is_err());
        assert!(LineView::parse(&format!("{line}\tx")).is_err());
        assert_eq!(
            instant("2026-01-05T10:00:00+01:00"),
            instant("20260105T090000Z")
        );
        assert_eq!(instant("20261305T090000Z"), None);
    }
}
