//! Rooms driven from the command line: days counted from today (the rooms' window starts
//! today, so fixed dates would fall out of it), the REQUEST an organiser sends a room, a
//! blocking event in a room's own calendar, and the `preferences`, `import`, `deliver` and
//! `freebusy` calls the room tests make.

use std::path::{Path, PathBuf};

use super::{ok, Place};

/// The organiser of every request.
pub const ALICE: &str = "mailto:alice@example.com";

/// The day `offset` days after today (UTC), as YYYYMMDD.
pub fn day_from_today(offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(offset))
        .format("%Y%m%d")
        .to_string()
}

/// A REQUEST from Alice (ACCEPTED) naming `room` as every client does (CUTYPE=ROOM, RSVP,
/// NEEDS-ACTION), 09:00–10:00 UTC on `day`, repeated by `rrule` when given.
pub fn room_request(
    room: &str,
    uid: &str,
    day: &str,
    rrule: Option<&str>,
    summary: &str,
) -> String {
    let rule = rrule.map(|r| format!("RRULE:{r}\r\n")).unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n{rule}\
SUMMARY:{summary}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;CUTYPE=ROOM;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:{room}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// An event with uid `blocker` for a room's own calendar (no method, no attendees), 09:00–10:00
/// UTC on `day`; `rules` (whole content lines) may repeat or exclude it.
pub fn blocker(day: &str, rules: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:blocker\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n{rules}\
SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// `calstore preferences --user USER NAME VALUE`, which must succeed.
pub fn set_preference(place: &Place, user: &str, name: &str, value: &str) {
    ok(&place.calstore(&["preferences", "--user", user, name, value]));
}

/// Sets `room`'s `scheduling_function` to `delegate_to_free QUOTA`: when busy, the room hands a
/// request to a free delegate of the quota.
pub fn delegate_to_free(place: &Place, room: &str, quota: &str) {
    let function = format!("delegate_to_free {quota}");
    set_preference(place, room, "scheduling_function", &function);
}

/// `calstore import --user USER FILE`, which must succeed.
pub fn import(place: &Place, user: &str, file: &Path) {
    ok(&place.calstore(&["import", "--user", user, file.to_str().unwrap()]));
}

/// `calstore deliver --user USER --format json [--reply REPLY] FILE`, which must succeed; its
/// standard output.
pub fn deliver_json(place: &Place, user: &str, file: &Path, reply: Option<&Path>) -> String {
    let mut args = vec!["deliver", "--user", user, "--format", "json"];
    if let Some(reply) = reply {
        args.extend(["--reply", reply.to_str().unwrap()]);
    }
    args.push(file.to_str().unwrap());
    ok(&place.calstore(&args))
}

/// The uids `freebusy` lists for `user` (TAB-separated lines, the uid third): all of them, or
/// those on `day` (YYYYMMDD, UTC).
pub fn busy_uids(place: &Place, user: &str, day: Option<&str>) -> Vec<String> {
    let range = day.map(|d| [format!("{d}T000000Z"), format!("{d}T235959Z")]);
    let mut args = vec!["freebusy", "--user", user];
    if let Some([start, end]) = &range {
        args.extend(["--start", start, "--end", end]);
    }
    ok(&place.calstore(&args))
        .lines()
        .filter_map(|l| l.split('\t').nth(2).map(str::to_owned))
        .collect()
}
