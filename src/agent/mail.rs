//! Reading what an agent is handed: iCalendar text, or a whole RFC 5322 mail whose text/calendar
//! parts are the scheduling messages (iMIP, RFC 6047). MIME is parsed by `mail-parser`; this
//! module only picks the parts and the sender.

use mail_parser::{MessageParser, MimeHeaders};

use crate::error::{Error, Result};

/// What one delivery holds: the calendars (one per text/calendar part, or the text itself) and
/// the mail's sender when it was a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The iCalendar texts, in the order they appear.
    pub calendars: Vec<String>,
    /// The mail's `From` address as `mailto:…` (or `Sender` when there is no `From`); `None`
    /// for bare iCalendar text.
    pub sender: Option<String>,
}

/// Whether `text` is iCalendar rather than a mail: its first non-blank line begins a VCALENDAR.
fn is_calendar(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .get(..15)
        .is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
}

/// Reads one delivery: iCalendar text as it is, or a mail (a leading mbox `From ` line is
/// skipped) whose `text/calendar` and `application/ics` parts are the calendars.
///
/// # Errors
///
/// Invalid input when the bytes are neither iCalendar nor a mail with a calendar part, or the
/// calendar is not UTF-8.
pub fn read_delivery(bytes: &[u8]) -> Result<Delivery> {
    let mut bytes = bytes;
    if bytes.starts_with(b"From ") {
        // An mbox separator line, as a local delivery agent writes it: not a header.
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes = &bytes[end..];
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if is_calendar(text) {
            return Ok(Delivery {
                calendars: vec![text.to_owned()],
                sender: None,
            });
        }
    }
    let Some(mail) = MessageParser::default().parse(bytes) else {
        return Err(Error::invalid(
            "the message is neither iCalendar nor a mail (no header could be read)",
        ));
    };
    let address = |a: Option<&mail_parser::Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(|a| format!("mailto:{a}"))
    };
    let sender = address(mail.from()).or_else(|| address(mail.sender()));
    let mut calendars = Vec::new();
    for part in &mail.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let kind = (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().map(str::to_ascii_lowercase),
        );
        let wanted = matches!(
            (kind.0.as_str(), kind.1.as_deref()),
            ("text", Some("calendar")) | ("application", Some("ics"))
        );
        if !wanted {
            continue;
        }
        let text = part
            .text_contents()
            .ok_or_else(|| Error::invalid("a text/calendar part of the mail is not UTF-8 text"))?;
        // Mail clients often send the same calendar as an inline part and as an attachment.
        if !calendars.iter().any(|c: &String| c == text) {
            calendars.push(text.to_owned());
        }
    }
    if calendars.is_empty() {
        return Err(Error::invalid(
            "the mail holds no text/calendar part: there is no scheduling message in it",
        ));
    }
    Ok(Delivery { calendars, sender })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    const CAL: &str = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\n\
        DTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn bare_calendar_is_taken_as_it_is() {
        let d = read_delivery(CAL.as_bytes()).unwrap();
        assert_eq!(d.calendars, vec![CAL.to_owned()]);
        assert_eq!(d.sender, None);
    }

    #[test]
    fn mail_with_mbox_line_gives_its_calendar_part_and_sender() {
        let mail = format!(
            "From bob@example.com Mon Jan  5 09:00:00 2026\r\n\
             From: Bob <Bob@Example.com>\r\nTo: alice@example.com\r\nSubject: re\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nAccepted\r\n\
             --b\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            base64(CAL.as_bytes())
        );
        let d = read_delivery(mail.as_bytes()).unwrap();
        assert_eq!(d.calendars.len(), 1);
        assert!(d.calendars[0].contains("METHOD:REPLY"));
        assert_eq!(d.sender.as_deref(), Some("mailto:Bob@Example.com"));
    }

    #[test]
    fn mail_without_calendar_is_refused() {
        let mail = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        let e = read_delivery(mail.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no text/calendar"), "{e}");
    }

    fn base64(data: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
