//! A stored object: the exact iCalendar text plus what was parsed from it.
//!
//! PLACEHOLDER: the first version only reads UID and RECURRENCE-ID by line scanning; the real
//! parser replaces the internals, keeping this API.

use crate::error::{Error, Result};
use crate::id::{rid_text, Rid, Uid};

/// One event (a single VEVENT, optionally inside a VCALENDAR with VTIMEZONEs), kept byte for byte.
#[derive(Debug, Clone)]
pub struct EventObject {
    text: String,
    uid: Uid,
    rid: Option<Rid>,
}

impl EventObject {
    /// Parses the text of one event.
    ///
    /// # Errors
    ///
    /// Invalid input, naming the line, when the text is not iCalendar with exactly one VEVENT.
    pub fn parse(text: &str) -> Result<Self> {
        let mut uid = None;
        let mut rid = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("UID:") {
                uid = Some(Uid::new(v.trim_end())?);
            } else if let Some(rest) = line.strip_prefix("RECURRENCE-ID") {
                let (params, value) = rest
                    .split_once(':')
                    .ok_or_else(|| Error::invalid("bad RECURRENCE-ID"))?;
                let tzid = params.split(';').find_map(|p| p.strip_prefix("TZID="));
                rid = Some(Rid::normalise(value.trim_end(), tzid)?);
            }
        }
        let uid = uid.ok_or_else(|| Error::invalid("the event has no UID"))?;
        Ok(EventObject {
            text: text.to_owned(),
            uid,
            rid,
        })
    }

    /// Parses the text and checks that its UID and normalised RECURRENCE-ID are (uid, rid).
    ///
    /// # Errors
    ///
    /// Invalid input when the text does not parse or belongs to another key.
    pub fn parse_for_key(text: &str, uid: &Uid, rid: Option<&Rid>) -> Result<Self> {
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
}
