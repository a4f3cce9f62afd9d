//! The table-driven command checks of `bad_inputs.rs` and `store_layouts.rs`: one small event,
//! and an exit code with a message looked for in standard output or error.

use std::path::Path;
use std::process::Output;

use super::run;

/// One event, 2026-01-05 09:00–10:00 UTC, with no attendees.
pub fn ics(uid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Standard output followed by standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts the exit code and that stdout or stderr holds `message`.
pub fn expect(out: &Output, code: i32, message: &str, what: &str) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(code), "{what}: {all}");
    assert!(
        all.contains(message),
        "{what}: wanted {message:?} in: {all}"
    );
}

/// Runs calstore in `dir` and checks code and message.
pub fn case(dir: &Path, args: &[&str], code: i32, message: &str) {
    let out = run(dir, args);
    expect(&out, code, message, &format!("{args:?}"));
}
