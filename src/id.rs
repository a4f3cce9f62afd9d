//! Validated identifiers: user, uid, rid (normalised), other, quota, group, preference name.
//!
//! Identifiers are data, never paths or SQL. Each one is refused as invalid input when it is empty,
//! holds a NUL character (PostgreSQL text cannot hold one, and both backends must agree), or would
//! encode to a file name longer than 255 bytes (the limit of the file store, applied everywhere so
//! that both backends accept exactly the same keys).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::error::{Error, Result};

/// The longest encoded file name a key may have (bytes), the common file-system limit.
pub const MAX_ENCODED_LEN: usize = 255;

/// Encodes a key as one path component: `%`, `/`, NUL and control characters become `%XX`, and so
/// does a leading `.`; every other character is kept (FILE-STORE.md, "Keys as file names").
pub fn encode_component(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, c) in key.char_indices() {
        if escaped(i, c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether [`encode_component`] writes `c` at byte `i` as `%XX`.
fn escaped(i: usize, c: char) -> bool {
    c == '%' || c == '/' || c.is_control() && (c as u32) < 0x80 || (i == 0 && c == '.')
}

/// The length of [`encode_component`]'s result, without building it (every key read from a
/// store is checked against the limit, so this runs once per row).
pub fn encoded_len(key: &str) -> usize {
    key.char_indices()
        .map(|(i, c)| if escaped(i, c) { 3 } else { c.len_utf8() })
        .sum()
}

/// Decodes a path component written by [`encode_component`].
///
/// # Errors
///
/// Invalid input when a `%` is not followed by two hexadecimal digits or the result is not UTF-8.
pub fn decode_component(name: &str) -> Result<String> {
    if !name.contains('%') {
        return Ok(name.to_owned());
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::invalid(format!("bad percent-encoding in file name {name:?}"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid(format!("file name {name:?} does not decode to UTF-8")))
}

fn validate_key(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} must not be empty")));
    }
    if value.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} must not contain a NUL character"
        )));
    }
    let encoded = encoded_len(value);
    if encoded > MAX_ENCODED_LEN {
        return Err(Error::invalid(format!(
            "{what} is too long ({} bytes, {encoded} encoded; at most {MAX_ENCODED_LEN} encoded)",
            value.len()
        )));
    }
    Ok(())
}

mod address;
pub use address::normalise_address;

/// The identity normalisation of keys that are compared exactly.
fn as_given(value: String) -> String {
    value
}

use address::address_key;

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        key_type!($(#[$doc])* $name, $what, as_given);
    };
    ($(#[$doc:meta])* $name:ident, $what:literal, $normalise:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps a key.
            ///
            /// # Errors
            ///
            /// Invalid input when the value is empty, holds a NUL, or encodes to more than 255 bytes.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                Self::stored($normalise(value.into()))
            }

            /// Validates and wraps a key exactly as a store holds it, without normalising it:
            /// for reading keys back (a store written before normalisation may hold another
            /// spelling, which `check` reports).
            ///
            /// # Errors
            ///
            /// Invalid input when the value is empty, holds a NUL, or encodes to more than 255 bytes.
            pub fn stored(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                validate_key($what, &value)?;
                Ok($name(value))
            }

            /// Whether the key is spelled as [`Self::new`] would spell it.
            pub fn is_normal(&self) -> bool {
                $normalise(self.0.clone()) == self.0
            }

            /// The key as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The key as one path component (see [`encode_component`]).
            pub fn file_name(&self) -> String {
                encode_component(&self.0)
            }

            /// Decodes a path component back into a key.
            ///
            /// # Errors
            ///
            /// Invalid input when the name is not a valid encoding of a valid key.
            pub fn from_file_name(name: &str) -> Result<Self> {
                Self::stored(decode_component(name)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
    };
}

key_type!(
    /// A store owner's calendar address, such as `mailto:alice@example.com`, in the one
    /// spelling of [`normalise_address`]: `User::new("Alice@Example.com")` is
    /// `mailto:alice@example.com`, so every spelling of one address finds the same data.
    User, "user", address_key
);
key_type!(
    /// The iCalendar UID of an event: arbitrary text.
    Uid, "uid"
);
key_type!(
    /// Another participant's address (attendee or organiser).
    Other, "other participant"
);
key_type!(
    /// The name of a quota group in the journal.
    Quota, "quota"
);
key_type!(
    /// A user group inside a quota, or a user, or `*` (a key of the limits table).
    Group, "group"
);
key_type!(
    /// The name of a per-user preference such as `TZID` or `window_size`.
    PrefName, "preference name"
);

/// A normalised RECURRENCE-ID: `YYYYMMDDTHHMMSSZ` (UTC), `YYYYMMDDTHHMMSS` (floating date-time) or
/// `YYYYMMDD` (floating date). Ordered as text, which is chronological within one form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rid(String);

/// The three forms of a normalised recurrence identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidValue {
    /// A UTC instant.
    Utc(DateTime<Utc>),
    /// A floating date-time (an instant only in the user's time zone).
    Floating(NaiveDateTime),
    /// A floating date.
    Date(NaiveDate),
}

impl Rid {
    /// Parses an already normalised recurrence identifier.
    ///
    /// # Errors
    ///
    /// Invalid input when the text is not one of the three normalised forms or not a real date.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        Self::parse_value(&value)?;
        Ok(Rid(value))
    }

    fn parse_value(s: &str) -> Result<RidValue> {
        let bad = || {
            Error::invalid(format!(
                "recurrence id {s:?} is not YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ"
            ))
        };
        // Exactly the digits of the form: chrono's parser would also take whitespace (a CR, a
        // line feed) between the fields, and a rid is written raw into file names and lines.
        let shape = s.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
        if !shape {
            return Err(bad());
        }
        match s.len() {
            8 => NaiveDate::parse_from_str(s, "%Y%m%d")
                .map(RidValue::Date)
                .map_err(|_| bad()),
            15 => NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S")
                .map(RidValue::Floating)
                .map_err(|_| bad()),
            16 if s.ends_with('Z') => NaiveDateTime::parse_from_str(&s[..15], "%Y%m%dT%H%M%S")
                .map(|n| RidValue::Utc(n.and_utc()))
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// The identifier of a UTC instant.
    pub fn from_utc(instant: DateTime<Utc>) -> Self {
        Rid(crate::period::format_instant(instant))
    }

    /// The identifier of a floating date-time.
    pub fn from_floating(value: NaiveDateTime) -> Self {
        Rid(value.format("%Y%m%dT%H%M%S").to_string())
    }

    /// The identifier of a floating date.
    pub fn from_date(value: NaiveDate) -> Self {
        Rid(value.format("%Y%m%d").to_string())
    }

    /// Normalises a RECURRENCE-ID value with its optional TZID parameter (an IANA zone name):
    /// a zoned value becomes UTC, a UTC value is kept, floating values stay floating.
    ///
    /// # Errors
    ///
    /// Invalid input when the value does not parse or the zone is unknown.
    pub fn normalise(value: &str, tzid: Option<&str>) -> Result<Self> {
        let parsed = Self::parse_value(value)?;
        match (parsed, tzid) {
            (RidValue::Floating(naive), Some(tzid)) => {
                let tz: chrono_tz::Tz = tzid.parse().map_err(|_| {
                    Error::invalid(format!("unknown time zone {tzid:?} in RECURRENCE-ID"))
                })?;
                let instant = crate::period::resolve_local(&tz, naive).ok_or_else(|| {
                    Error::invalid(format!("RECURRENCE-ID {value} does not exist in {tzid}"))
                })?;
                Ok(Self::from_utc(instant))
            }
            (parsed, _) => Ok(match parsed {
                RidValue::Utc(t) => Self::from_utc(t),
                RidValue::Floating(n) => Self::from_floating(n),
                RidValue::Date(d) => Self::from_date(d),
            }),
        }
    }

    /// What the identifier denotes.
    pub fn value(&self) -> RidValue {
        // The text was validated on construction.
        Self::parse_value(&self.0).unwrap_or(RidValue::Date(NaiveDate::MIN))
    }

    /// The instant of the identifier; floating values are read in the time zone `tz`.
    pub fn instant<Z: TimeZone>(&self, tz: &Z) -> DateTime<Utc> {
        match self.value() {
            RidValue::Utc(t) => t,
            RidValue::Floating(n) => {
                crate::period::resolve_local(tz, n).unwrap_or_else(|| n.and_utc())
            }
            RidValue::Date(d) => {
                crate::period::resolve_local(tz, d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            }
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier as one path component (its text needs no encoding).
    pub fn file_name(&self) -> String {
        self.0.clone()
    }

    /// Parses a path component written by [`Rid::file_name`].
    ///
    /// # Errors
    ///
    /// Invalid input when the name is not a normalised recurrence identifier.
    pub fn from_file_name(name: &str) -> Result<Self> {
        Self::new(name)
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Rid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// Formats an optional rid as the text used in tables: empty for the parent.
pub fn rid_text(rid: Option<&Rid>) -> &str {
    rid.map_or("", Rid::as_str)
}

/// Parses the table text of an optional rid: empty means the parent.
///
/// # Errors
///
/// Invalid input when the text is neither empty nor a normalised recurrence identifier.
pub fn parse_rid_text(text: &str) -> Result<Option<Rid>> {
    if text.is_empty() {
        Ok(None)
    } else {
        Rid::new(text).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_is_the_length_of_the_encoding() {
        for key in [
            "mailto:alice@example.com",
            ".hidden",
            "a/b%c",
            "tab\there\0nul\x7f del",
            "ø日本\u{1F600}.x",
            "..",
            "",
            "%%%%",
        ] {
            assert_eq!(encoded_len(key), encode_component(key).len(), "{key:?}");
        }
    }

    #[test]
    fn encoding_keeps_addresses_readable_and_escapes_paths() {
        assert_eq!(
            encode_component("mailto:alice@example.com"),
            "mailto:alice@example.com"
        );
        assert_eq!(
            encode_component("../../etc/passwd"),
            "%2E.%2F..%2Fetc%2Fpasswd"
        );
        assert_eq!(encode_component("a%b\tc\n"), "a%25b%09c%0A");
        for key in [
            "../../etc/passwd",
            ".hidden",
            "a/b",
            "x%y",
            "tab\there",
            "é/ü",
        ] {
            assert_eq!(decode_component(&encode_component(key)).unwrap(), key);
        }
    }

    #[test]
    fn keys_are_validated() {
        assert!(Uid::new("").is_err());
        assert!(Uid::new("a\0b").is_err());
        assert!(Uid::new("x".repeat(255)).is_ok());
        assert!(Uid::new("x".repeat(256)).is_err());
        assert!(Uid::new("/".repeat(100)).is_err()); // 300 bytes once encoded
        assert_eq!(Uid::new("../x").unwrap().file_name(), "%2E.%2Fx");
    }

    #[test]
    fn rids_normalise_as_the_spec_says() {
        assert_eq!(
            Rid::normalise("20141114T000000", Some("Europe/Oslo"))
                .unwrap()
                .as_str(),
            "20141113T230000Z"
        );
        assert_eq!(
            Rid::normalise("20141114T000000Z", None).unwrap().as_str(),
            "20141114T000000Z"
        );
        assert_eq!(
            Rid::normalise("20141114T000000", None).unwrap().as_str(),
            "20141114T000000"
        );
        assert_eq!(
            Rid::normalise("20141114", None).unwrap().as_str(),
            "20141114"
        );
        assert!(Rid::new("2014111").is_err());
        // Whitespace between the digits (chrono would skip it) is refused: a rid is written raw.
        for bad in [
            "2014 1114",
            "2014\r1114",
            "20141114T00\n0000Z",
            "0\x0c\x0c1\x0c\x0c01T0\x0c\x0c1\r1Z",
        ] {
            assert!(Rid::new(bad).is_err(), "{bad:?}");
        }
        assert!(Rid::new("20141314").is_err());
        assert!(Rid::normalise("20141114T000000", Some("Nowhere/Land")).is_err());
    }
}
