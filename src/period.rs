//! Free/busy periods: ordering and identity, the line format, and the sorted table operations
//! that both backends share.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};

use crate::error::{Error, Result};
use crate::id::{parse_rid_text, rid_text, Rid, Uid};

mod table;
pub use table::{
    capacity_conflicts, check_event, check_uids, coalesce, conflicts, insert, invert, max_duration,
    merge, normalise, overlapping, remove_additional, remove_affected, remove_event, replace_event,
};

/// Whether a period blocks time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Transp {
    /// Busy (the default).
    #[default]
    Opaque,
    /// Recorded but never busy.
    Transparent,
}

impl Transp {
    /// `OPAQUE` or `TRANSPARENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transp::Opaque => "OPAQUE",
            Transp::Transparent => "TRANSPARENT",
        }
    }

    /// Parses `OPAQUE`, `TRANSPARENT` or an empty field (opaque), case-insensitively.
    ///
    /// # Errors
    ///
    /// Invalid input for any other text.
    pub fn parse(text: &str) -> Result<Self> {
        if text.is_empty() || text.eq_ignore_ascii_case("OPAQUE") {
            Ok(Transp::Opaque)
        } else if text.eq_ignore_ascii_case("TRANSPARENT") {
            Ok(Transp::Transparent)
        } else {
            Err(Error::invalid(format!(
                "transparency {text:?} is neither OPAQUE nor TRANSPARENT"
            )))
        }
    }
}

/// How a period counts in free/busy: an RFC 5545 FBTYPE, or free (recorded but never busy).
///
/// Ordered from least to most busy, so that `min` caps a type (a tentative answer is never
/// more than [`FbType::BusyTentative`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum FbType {
    /// Not busy at all: recorded, never written in VFREEBUSY, never a conflict.
    Free,
    /// `BUSY-TENTATIVE`.
    BusyTentative,
    /// `BUSY` (the default).
    #[default]
    Busy,
    /// `BUSY-UNAVAILABLE` (out of office, or outside the user's availability).
    BusyUnavailable,
}

impl FbType {
    /// The FBTYPE value (`FREE` for free).
    pub fn as_str(self) -> &'static str {
        match self {
            FbType::Free => "FREE",
            FbType::BusyTentative => "BUSY-TENTATIVE",
            FbType::Busy => "BUSY",
            FbType::BusyUnavailable => "BUSY-UNAVAILABLE",
        }
    }

    /// The value stored in a table's transparency column (the fourth field of a file line, the
    /// `transp` column in PostgreSQL): `OPAQUE` for busy and `TRANSPARENT` for free, as
    /// imip-agent writes them, so that tables without the new types stay byte-identical;
    /// `BUSY-TENTATIVE` and `BUSY-UNAVAILABLE` for the others.
    pub fn table_str(self) -> &'static str {
        match self {
            FbType::Free => "TRANSPARENT",
            FbType::Busy => "OPAQUE",
            other => other.as_str(),
        }
    }

    /// Parses a table's transparency field: `OPAQUE`, `BUSY` or empty (busy), `TRANSPARENT` or
    /// `FREE` (free), `BUSY-TENTATIVE`, `BUSY-UNAVAILABLE`; case-insensitively.
    ///
    /// # Errors
    ///
    /// Invalid input for any other text.
    pub fn parse(text: &str) -> Result<Self> {
        const ALL: [(&str, FbType); 6] = [
            ("OPAQUE", FbType::Busy),
            ("BUSY", FbType::Busy),
            ("TRANSPARENT", FbType::Free),
            ("FREE", FbType::Free),
            ("BUSY-TENTATIVE", FbType::BusyTentative),
            ("BUSY-UNAVAILABLE", FbType::BusyUnavailable),
        ];
        if text.is_empty() {
            return Ok(FbType::Busy);
        }
        ALL.iter()
            .find(|(name, _)| text.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "transparency {text:?} is none of OPAQUE, TRANSPARENT, BUSY, FREE, \
                     BUSY-TENTATIVE, BUSY-UNAVAILABLE"
                ))
            })
    }

    /// Whether the type blocks time (every type but free; tentative included).
    pub fn is_busy(self) -> bool {
        self != FbType::Free
    }

    /// `OPAQUE` for a busy type, `TRANSPARENT` for free: the answer to "busy or not".
    pub fn transp(self) -> Transp {
        if self.is_busy() {
            Transp::Opaque
        } else {
            Transp::Transparent
        }
    }
}

impl From<Transp> for FbType {
    fn from(t: Transp) -> Self {
        match t {
            Transp::Opaque => FbType::Busy,
            Transp::Transparent => FbType::Free,
        }
    }
}

impl fmt::Display for FbType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest SUMMARY or ORGANIZER, in bytes, that a period built from an object carries
/// ([`cap_period_text`]). A period line is read by every range query of the table, so an
/// object's 50 MB SUMMARY must not become a 50 MB line; the object itself keeps its text.
pub const MAX_PERIOD_TEXT: usize = 1024;

/// `text` cut to at most [`MAX_PERIOD_TEXT`] bytes on a character boundary, ending in `…` when
/// it was cut (so a reader sees it is not the whole text).
pub fn cap_period_text(text: &str) -> String {
    if text.len() <= MAX_PERIOD_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_PERIOD_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// One free/busy period: a half-open UTC interval with what it belongs to.
///
/// Periods are ordered by (start, end, uid, rid), and two periods with the same four values are
/// the same period: the other fields take no part in identity.
#[derive(Debug, Clone)]
pub struct Period {
    /// Start (inclusive), UTC.
    pub start: DateTime<Utc>,
    /// End (exclusive), UTC; never before `start`.
    pub end: DateTime<Utc>,
    /// The event's UID.
    pub uid: Uid,
    /// The normalised recurrence id of a separately stored instance; `None` for the parent's periods.
    pub rid: Option<Rid>,
    /// How the period counts: [`FbType::Free`] is recorded but never busy (as imip-agent's
    /// `TRANSPARENT`); every other type is busy.
    pub fbtype: FbType,
    /// The event's SUMMARY.
    pub summary: Option<String>,
    /// The event's ORGANIZER address.
    pub organiser: Option<String>,
    /// When an offer expires (offers table only).
    pub expiry: Option<DateTime<Utc>>,
    /// The attendee (resource) booked; journal tables only.
    pub attendee: Option<String>,
}

impl Period {
    /// A busy period of the parent event `uid`, with no other details.
    ///
    /// # Errors
    ///
    /// Invalid input when `end` is before `start`.
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        uid: Uid,
        rid: Option<Rid>,
    ) -> Result<Self> {
        let p = Period {
            start,
            end,
            uid,
            rid,
            fbtype: FbType::Busy,
            summary: None,
            organiser: None,
            expiry: None,
            attendee: None,
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks what the types cannot: end not before start, no NUL in text fields.
    ///
    /// # Errors
    ///
    /// Invalid input naming the bad field.
    pub fn validate(&self) -> Result<()> {
        if self.end < self.start {
            return Err(Error::invalid(format!(
                "period of uid {:?} ends ({}) before it starts ({})",
                self.uid.as_str(),
                format_instant(self.end),
                format_instant(self.start)
            )));
        }
        for (name, v) in [
            ("summary", &self.summary),
            ("organiser", &self.organiser),
            ("attendee", &self.attendee),
        ] {
            if v.as_deref().is_some_and(|s| s.contains('\0')) {
                return Err(Error::invalid(format!(
                    "period {name} must not contain a NUL character"
                )));
            }
        }
        Ok(())
    }

    /// The identity key (start, end, uid, rid).
    pub fn key(&self) -> (DateTime<Utc>, DateTime<Utc>, &str, &str) {
        (
            self.start,
            self.end,
            self.uid.as_str(),
            rid_text(self.rid.as_ref()),
        )
    }

    /// Whether this period blocks time: of any busy type (tentative and unavailable included),
    /// and not of zero length (an instant occupies no time, so it can neither cause nor suffer a
    /// conflict).
    pub fn is_busy(&self) -> bool {
        self.fbtype.is_busy() && self.start < self.end
    }

    /// Whether the half-open intervals overlap (periods that only touch do not).
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start < end && start < self.end
            || self.start == self.end && start <= self.start && self.start < end
    }

    /// Whether this period belongs to the event (uid, rid).
    pub fn is_event(&self, uid: &Uid, rid: Option<&Rid>) -> bool {
        &self.uid == uid && self.rid.as_ref() == rid
    }

    /// Whether every field, not only the identity, is equal.
    pub fn same_details(&self, other: &Period) -> bool {
        self == other
            && self.fbtype == other.fbtype
            && self.summary == other.summary
            && self.organiser == other.organiser
            && self.expiry == other.expiry
            && self.attendee == other.attendee
    }

    /// Writes the period as one table line without the final newline: eight fields, or nine with
    /// the attendee for journal tables; TAB, CR, LF and backslash inside values are escaped.
    pub fn to_line(&self, with_attendee: bool) -> String {
        let mut line = String::with_capacity(96);
        push_instant(&mut line, self.start);
        line.push('\t');
        push_instant(&mut line, self.end);
        line.push('\t');
        escape_into(&mut line, self.uid.as_str());
        line.push('\t');
        line.push_str(self.fbtype.table_str());
        line.push('\t');
        line.push_str(rid_text(self.rid.as_ref()));
        line.push('\t');
        escape_into(&mut line, self.summary.as_deref().unwrap_or(""));
        line.push('\t');
        escape_into(&mut line, self.organiser.as_deref().unwrap_or(""));
        line.push('\t');
        if let Some(e) = self.expiry {
            push_instant(&mut line, e);
        }
        if with_attendee {
            line.push('\t');
            escape_into(&mut line, self.attendee.as_deref().unwrap_or(""));
        }
        line
    }

    /// Parses one table line (2 to 9 fields, without its newline).
    ///
    /// # Errors
    ///
    /// Corrupt data naming the field that does not parse; the caller adds file and line number.
    pub fn from_line(line: &str) -> Result<Self> {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 2 || fields.len() > 9 {
            return Err(Error::corrupt(format!(
                "expected 2 to 9 TAB-separated fields, found {}",
                fields.len()
            )));
        }
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        let text = |i: usize| -> Result<Option<String>> {
            let v = unescape(field(i))?;
            Ok(if v.is_empty() { None } else { Some(v) })
        };
        let start = parse_instant(field(0))
            .map_err(|e| Error::corrupt(format!("start: {}", e.message())))?;
        let end =
            parse_instant(field(1)).map_err(|e| Error::corrupt(format!("end: {}", e.message())))?;
        // Two-field lines (imip-agent's oldest format) have no uid; such periods cannot be stored
        // by calstore, so they are reported rather than invented.
        let uid = Uid::new(unescape(field(2))?)
            .map_err(|e| Error::corrupt(format!("uid: {}", e.message())))?;
        let fbtype = FbType::parse(field(3)).map_err(|e| Error::corrupt(e.message().to_owned()))?;
        let rid = parse_rid_text(field(4))
            .map_err(|e| Error::corrupt(format!("rid: {}", e.message())))?;
        let expiry = match field(7) {
            "" => None,
            s => Some(
                parse_instant(s).map_err(|e| Error::corrupt(format!("expiry: {}", e.message())))?,
            ),
        };
        let p = Period {
            start,
            end,
            uid,
            rid,
            fbtype,
            summary: text(5)?,
            organiser: text(6)?,
            expiry,
            attendee: text(8)?,
        };
        p.validate()
            .map_err(|e| Error::corrupt(e.message().to_owned()))?;
        Ok(p)
    }
}

impl PartialEq for Period {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Period {}
impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Period {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {}",
            format_instant(self.start),
            format_instant(self.end),
            self.uid
        )?;
        if let Some(rid) = &self.rid {
            write!(f, " ({rid})")?;
        }
        Ok(())
    }
}

/// Formats an instant as iCalendar UTC, `YYYYMMDDTHHMMSSZ` (sub-second parts are dropped).
pub fn format_instant(t: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(16);
    push_instant(&mut out, t);
    out
}

/// Appends `YYYYMMDDTHHMMSSZ` to `out`. Digits are written directly: `chrono`'s `format`
/// re-parses its pattern on every call, which was 7 % of a whole regeneration.
pub fn push_instant(out: &mut String, t: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&t.format("%Y%m%dT%H%M%SZ").to_string());
        return;
    }
    fn push(out: &mut String, n: u32, width: u32) {
        for i in (0..width).rev() {
            let digit = (n / 10u32.pow(i)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    }
    push(out, year.unsigned_abs(), 4);
    push(out, t.month(), 2);
    push(out, t.day(), 2);
    out.push('T');
    push(out, t.hour(), 2);
    push(out, t.minute(), 2);
    push(out, t.second(), 2);
    out.push('Z');
}

/// Parses `YYYYMMDDTHHMMSSZ` or RFC 3339 (`2026-01-05T09:00:00Z`, any offset).
///
/// # Errors
///
/// Invalid input when the text is neither form.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    if text.len() == 16 && text.ends_with('Z') {
        if let Ok(n) = NaiveDateTime::parse_from_str(&text[..15], "%Y%m%dT%H%M%S") {
            return Ok(n.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::invalid(format!(
                "{text:?} is not an instant (YYYYMMDDTHHMMSSZ or RFC 3339)"
            ))
        })
}

/// Turns a local time in `tz` into UTC as RFC 5545 says: an ambiguous time (clocks going back) is
/// the first occurrence; a time in a gap (clocks going forward) is read with the offset in force
/// before the gap, so 02:30 on a spring-forward night becomes 03:30 of the new offset.
pub fn resolve_local<Z: TimeZone>(tz: &Z, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::offset::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => {
            // Gaps are at most a few hours; the offset a day earlier is the one before the gap.
            let before = tz
                .from_local_datetime(&(local - Duration::days(1)))
                .earliest()?;
            let offset = before.offset().fix();
            Some((local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc())
        }
    }
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
}

/// Escapes TAB, CR, LF and backslash as `\t`, `\r`, `\n`, `\\` for a TAB-separated field.
pub fn escape_field(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_into(&mut out, value);
    out
}

/// Reverses [`escape_field`].
///
/// # Errors
///
/// Corrupt data on a backslash followed by anything else (or nothing).
pub fn unescape(field: &str) -> Result<String> {
    if !field.contains('\\') {
        return Ok(field.to_owned());
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                other => {
                    return Err(Error::corrupt(format!(
                        "bad escape \\{} in field",
                        other.map(String::from).unwrap_or_default()
                    )))
                }
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
