//! A stored object: the exact iCalendar text plus what was parsed from it.
//!
//! The text is read by calstore's own content-line parser (the private `object::content` module;
//! `docs/recurrence.md` says why not the `icalendar` crate's): it unfolds lines, reads parameters
//! with quoted values, checks the nesting of components, and names the physical line of every
//! error (`line 7: …`). Only what the store needs is interpreted (STORE.md, "Objects"): UID,
//! RECURRENCE-ID, DTSTART/DTEND/DURATION, RRULE/RDATE/EXDATE, TRANSP, STATUS, SUMMARY, ORGANIZER,
//! ATTENDEE/PARTSTAT, SEQUENCE and X-MICROSOFT-CDO-BUSYSTATUS. Times with a TZID are read in the IANA zone of that name (also
//! after a libical-style path), or in the calendar's own VTIMEZONE when the name is not an IANA
//! one; a TZID nothing resolves is read as floating, with a [`Warning`]. What producers write
//! leniently is read the way the widely used implementations read it, each time with a warning
//! (docs/compatibility.md).

pub mod availability;
mod content;
mod read;
mod rule;
mod split;
mod values;
mod zone;

use crate::agent::busy_type;
use crate::error::{Error, Result};
use crate::id::{rid_text, Rid, Uid, User};
use crate::period::{FbType, Transp};
use content::{line_error, Component};
pub(crate) use rule::STEP_BUDGET;
pub use rule::{Rule, Until};
pub use split::{derived_uid, split_calendar, split_families, Rejected, Split};
pub use values::{
    same_address, Attendee, NominalDuration, PartStat, PeriodEnd, RDate, Status, TimeValue,
};
pub use zone::Zone;

/// One event (a single VEVENT, optionally inside a VCALENDAR with VTIMEZONEs), kept byte for byte,
/// with the properties the store needs.
#[derive(Debug, Clone)]
pub struct EventObject {
    text: String,
    uid: Uid,
    rid: Option<Rid>,
    recurrence_id: Option<TimeValue>,
    dtstart: Option<TimeValue>,
    dtend: Option<TimeValue>,
    duration: Option<NominalDuration>,
    rules: Vec<Rule>,
    this_and_future: bool,
    rdates: Vec<RDate>,
    exdates: Vec<TimeValue>,
    transp: Transp,
    status: Option<Status>,
    cdo_busy_status: Option<String>,
    summary: Option<String>,
    organizer: Option<String>,
    attendees: Vec<Attendee>,
    sequence: u32,
    warnings: Vec<Warning>,
}

/// Something a producer wrote that is not strictly RFC 5545 but was read the way the widely used
/// implementations read it (docs/compatibility.md). Importers print these with the file name and
/// the UID; `check` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The physical line (1-based) of the text the object was read from (for a split file, the
    /// line in that file).
    pub line: usize,
    /// What was read leniently, and how.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Refuses text that holds a NUL character (U+0000) anywhere, in an X- property or a VALARM as
/// much as in SUMMARY. No iCalendar value may hold one (RFC 5545 3.1), PostgreSQL cannot store
/// one in text, and every backend must accept exactly the same objects, so the one check that
/// every write of an object goes through ([`EventObject::parse_for_key`]) refuses it for all.
/// Reading stays lenient ([`EventObject::parse`]): an object an older version stored is still
/// read, and `check` and `copy` name it.
///
/// # Errors
///
/// Invalid input naming the line of the first NUL.
pub fn refuse_nul(text: &str) -> Result<()> {
    match text.find('\0') {
        None => Ok(()),
        Some(at) => Err(line_error(
            text[..at].matches('\n').count() + 1,
            "a NUL character (U+0000): no iCalendar value may hold one and PostgreSQL cannot store one, so no backend stores it".to_owned(),
        )),
    }
}

impl EventObject {
    /// Parses the text of one event: a VCALENDAR with exactly one VEVENT (and any VTIMEZONEs), or
    /// a bare VEVENT. The text is kept exactly.
    ///
    /// # Errors
    ///
    /// Invalid input naming the line (`line 7: …`) when the text is not iCalendar (a malformed
    /// line, a missing END, wrong nesting), holds no VEVENT or more than one, or an interpreted
    /// property cannot be read in any sensible way: no UID, a DTSTART that is no date, a bad
    /// RRULE. What producers write leniently (DTEND before DTSTART, DTEND with DURATION, a TZID
    /// nothing resolves, …) is read with a [`Warning`] instead (docs/compatibility.md).
    pub fn parse(text: &str) -> Result<Self> {
        let components = content::parse_components(text)?;
        if let Some(second) = components.get(1) {
            return Err(line_error(
                second.line,
                format!(
                    "a second top-level component BEGIN:{} (the first began at line {}); one object is one VCALENDAR or one VEVENT",
                    second.name, components[0].line
                ),
            ));
        }
        let top = &components[0];
        let (events, zones): (Vec<&Component>, Vec<&Component>) = match top.name.as_str() {
            "VCALENDAR" => (
                top.children.iter().filter(|c| c.name == "VEVENT").collect(),
                top.children
                    .iter()
                    .filter(|c| c.name == "VTIMEZONE")
                    .collect(),
            ),
            "VEVENT" => (vec![top], Vec::new()),
            other => {
                return Err(line_error(
                    top.line,
                    format!("expected BEGIN:VCALENDAR or BEGIN:VEVENT, found BEGIN:{other}"),
                ))
            }
        };
        match events.as_slice() {
            [event] => Self::from_component(
                text.to_owned(),
                event,
                read::Surroundings {
                    wr_timezone: if top.name == "VCALENDAR" {
                        top.all("X-WR-TIMEZONE").next()
                    } else {
                        None
                    },
                    zones,
                    uid: None,
                    warnings: split::outer_warnings(top),
                },
            ),
            [] => Err(line_error(top.line, "the calendar holds no VEVENT")),
            [first, second, ..] => Err(line_error(
                second.line,
                format!(
                    "a second VEVENT (the first began at line {}); an object holds one event (split a file of many events with split_calendar)",
                    first.line
                ),
            )),
        }
    }

    /// Parses the text and checks that its UID and normalised RECURRENCE-ID are (uid, rid).
    ///
    /// # Errors
    ///
    /// Invalid input when the text does not parse or belongs to another key.
    pub fn parse_for_key(text: &str, uid: &Uid, rid: Option<&Rid>) -> Result<Self> {
        refuse_nul(text)?;
        let obj = Self::parse(text)?;
        if &obj.uid != uid || obj.rid.as_ref() != rid {
            return Err(Error::invalid(format!(
                "the object's UID {:?} and RECURRENCE-ID {:?} do not match the key (uid {:?}, rid {:?})",
                obj.uid.as_str(),
                rid_text(obj.rid.as_ref()),
                uid.as_str(),
                rid_text(rid)
            )));
        }
        Ok(obj)
    }

    /// The exact text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The UID.
    pub fn uid(&self) -> &Uid {
        &self.uid
    }

    /// The normalised RECURRENCE-ID, `None` for a parent.
    pub fn rid(&self) -> Option<&Rid> {
        self.rid.as_ref()
    }

    /// The RECURRENCE-ID as written (its zone resolved), `None` for a parent.
    pub fn recurrence_id(&self) -> Option<&TimeValue> {
        self.recurrence_id.as_ref()
    }

    /// DTSTART, if given (RFC 5546 allows a cancellation without it).
    pub fn dtstart(&self) -> Option<&TimeValue> {
        self.dtstart.as_ref()
    }

    /// DTEND, if given (never together with DURATION; never before DTSTART).
    pub fn dtend(&self) -> Option<&TimeValue> {
        self.dtend.as_ref()
    }

    /// DURATION, if given (never negative).
    pub fn duration(&self) -> Option<NominalDuration> {
        self.duration
    }

    /// The (first) RRULE value as written.
    pub fn rrule(&self) -> Option<&str> {
        self.rules.first().map(Rule::text)
    }

    /// The (first) parsed RRULE.
    pub fn rule(&self) -> Option<&Rule> {
        self.rules.first()
    }

    /// Every RRULE (an empty one left out). RFC 5545 allows one; RFC 2445 allowed several, whose
    /// occurrences are united.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether the RECURRENCE-ID has `RANGE=THISANDFUTURE`: this instance's change (its start
    /// offset and duration) applies to every later occurrence too (RFC 5545 §3.8.4.4).
    pub fn is_this_and_future(&self) -> bool {
        self.this_and_future
    }

    /// Every RDATE value, of every RDATE line, in order.
    pub fn rdates(&self) -> &[RDate] {
        &self.rdates
    }

    /// Every EXDATE value, of every EXDATE line, in order.
    pub fn exdates(&self) -> &[TimeValue] {
        &self.exdates
    }

    /// TRANSP (opaque when missing).
    pub fn transp(&self) -> Transp {
        self.transp
    }

    /// STATUS, if given.
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// `X-MICROSOFT-CDO-BUSYSTATUS` (Outlook's "show as": FREE, TENTATIVE, BUSY, OOF,
    /// WORKINGELSEWHERE), trimmed; `None` when missing or empty.
    pub fn cdo_busy_status(&self) -> Option<&str> {
        self.cdo_busy_status.as_deref()
    }

    /// The user's own answer: `None` when the user organises the event or is not an attendee;
    /// otherwise the PARTSTAT of the user's ATTENDEE entry, the most committed one when the user
    /// is named more than once (ACCEPTED before TENTATIVE before NEEDS-ACTION, then the first),
    /// as [`EventObject::counts_for`] counts the event when any entry counts.
    pub fn own_partstat(&self, user: &User) -> Option<&PartStat> {
        let me = user.as_str();
        if self
            .organizer
            .as_deref()
            .is_some_and(|o| same_address(o, me))
        {
            return None;
        }
        let rank = |p: &PartStat| match p {
            PartStat::Accepted => 0,
            PartStat::Tentative => 1,
            PartStat::NeedsAction | PartStat::Other(_) => 2,
            _ => 3,
        };
        self.attendees
            .iter()
            .filter(|a| same_address(&a.address, me))
            .map(|a| &a.partstat)
            .min_by_key(|p| rank(p))
    }

    /// How the event counts in `user`'s free/busy ([`busy_type`] of its TRANSP, STATUS, the
    /// user's own PARTSTAT and its CDO busy status). Whether it is recorded at all is
    /// [`EventObject::counts_for`].
    pub fn fbtype_for(&self, user: &User, needs_action: bool) -> FbType {
        busy_type(
            self.transp,
            self.status.as_ref(),
            self.own_partstat(user),
            self.cdo_busy_status(),
            needs_action,
        )
    }

    /// Whether STATUS is CANCELLED.
    pub fn is_cancelled(&self) -> bool {
        self.status == Some(Status::Cancelled)
    }

    /// SUMMARY, unescaped; `None` when missing or empty.
    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// The ORGANIZER's address as written (`mailto:…`).
    pub fn organizer(&self) -> Option<&str> {
        self.organizer.as_deref()
    }

    /// The attendees in order.
    pub fn attendees(&self) -> &[Attendee] {
        &self.attendees
    }

    /// SEQUENCE (0 when missing).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// What was read leniently (empty for a strictly valid event), in line order.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Whether the event counts for `user`'s own free/busy (STORE.md): never when STATUS is
    /// CANCELLED; always when the user organises it or appears neither as organiser nor as
    /// attendee; otherwise when one of the user's ATTENDEE entries says ACCEPTED or TENTATIVE, or
    /// (only with `needs_action`) NEEDS-ACTION, which is also the default when PARTSTAT is
    /// missing. DECLINED and DELEGATED never count. Addresses are compared with
    /// [`same_address`].
    pub fn counts_for(&self, user: &User, needs_action: bool) -> bool {
        if self.is_cancelled() {
            return false;
        }
        let me = user.as_str();
        if self
            .organizer
            .as_deref()
            .is_some_and(|o| same_address(o, me))
        {
            return true;
        }
        let mut mine = self
            .attendees
            .iter()
            .filter(|a| same_address(&a.address, me))
            .peekable();
        if mine.peek().is_none() {
            return true;
        }
        mine.any(|a| a.partstat.counts(needs_action))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests;
