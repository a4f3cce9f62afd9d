//! `bookings`: a worker books a room by its policy (`agent::resource::book`), mixing one-off
//! and recurring requests over a small pool of slots so that workers collide, cancels some of
//! its accepted bookings, and runs the room's cron job (incremental or `--reset`) now and then.
//! `setup-bookings` writes the room's policy (capacity, quota) and the quota's limit.
//!
//! Lines: `ack book UID START…` (the accepted occurrences' starts, after `book` returned, so the
//! booking is durable), `try cancel UID` then `ack cancel UID` (after the cancellation
//! returned), `ack cron RESET`.
//! The parent checks the room's table against them (no instant held more than the capacity, no
//! accepted booking lost) and the journal against the store after `resource::recover`.

use calstore::agent::resource::{self, Policy};
use calstore::agent::Action;
use calstore::id::{Group, PrefName, Quota};
use calstore::journal::Limits;
use calstore::refresh::{self, Overrides};
use calstore::{Journal, Store, User};
use chrono::{DateTime, Duration, Utc};

use crate::report::Reporter;
use crate::rng::Rng;

/// The room every worker books.
pub const ROOM: &str = "mailto:torture-room@example.com";
/// The quota the room checks.
pub const QUOTA: &str = "torture-rooms";

/// The first slot: midnight UTC a week from the epoch day the setup chose (a fixed instant far
/// enough ahead to be within every window, so runs on different days compare alike).
fn first_slot() -> DateTime<Utc> {
    let now = Utc::now();
    let day = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    day + Duration::days(2)
}

/// Writes the room's policy: capacity `capacity`, quota `QUOTA` with a generous limit per
/// organiser (so the quota is exercised without refusing most bookings).
///
/// # Errors
///
/// The store's and journal's errors.
pub async fn setup<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    capacity: u64,
) -> calstore::Result<()> {
    let room = User::new(ROOM)?;
    let f = format!("schedule_in_freebusy {capacity}\ncheck_quota {QUOTA}");
    store
        .set_preference(&room, &PrefName::new("scheduling_function")?, Some(&f))
        .await?;
    let limits: Limits = [(Group::new("*")?, "P20D".to_owned())].into();
    journal
        .set_limits(&Quota::new(QUOTA)?, &limits, None)
        .await?;
    Ok(())
}

/// The parameters of one worker.
pub struct Params {
    /// The worker's number (its UIDs are `w<worker>-<n>`).
    pub worker: u64,
    /// The random seed.
    pub seed: u64,
    /// How many operations.
    pub ops: u64,
    /// How many hour slots the requests choose from.
    pub slots: u64,
}

fn request(uid: &str, organiser: &str, start: DateTime<Utc>, weekly: bool) -> String {
    let rule = if weekly {
        "RRULE:FREQ=DAILY;INTERVAL=3;COUNT=4\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//torture//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n\
UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\n{rule}ORGANIZER:{organiser}\r\n\
ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        calstore::period::format_instant(start),
        calstore::period::format_instant(start + Duration::minutes(90)),
    )
}

fn cancel(uid: &str, organiser: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//torture//EN\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\n\
UID:{uid}\r\nDTSTAMP:20260102T000000Z\r\nSEQUENCE:1\r\nSTATUS:CANCELLED\r\nORGANIZER:{organiser}\r\n\
ATTENDEE:{ROOM}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Runs one worker; every failure is a line (`error …`), never a panic.
pub async fn run<S: Store, J: Journal>(store: &S, journal: &J, p: &Params, out: &mut Reporter) {
    let mut rng = Rng::new(p.seed, p.worker);
    let room = match User::new(ROOM) {
        Ok(r) => r,
        Err(e) => return out.error("setup", &e),
    };
    let policy = match Policy::read(store, &room).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return out.error("policy", &e),
    };
    let organiser = format!("mailto:organiser{}@example.com", p.worker % 3);
    let mut accepted: Vec<String> = Vec::new();
    for n in 0..p.ops {
        match rng.weighted(&[70, 15, 15]) {
            0 => {
                let uid = format!("w{}-{n}", p.worker);
                let start =
                    first_slot() + Duration::hours(i64::try_from(rng.below(p.slots)).unwrap_or(0));
                let weekly = rng.below(3) == 0;
                let text = request(&uid, &organiser, start, weekly);
                match resource::book(store, journal, &room, &text, &policy).await {
                    Ok(d) => {
                        // A one-off's item has no RECURRENCE-ID: its start is the request's.
                        let starts: Vec<String> = d
                            .items
                            .iter()
                            .filter(|i| i.action == Action::Accepted)
                            .map(|i| match &i.rid {
                                Some(r) => r.as_str().to_owned(),
                                None => calstore::period::format_instant(start),
                            })
                            .collect();
                        if !starts.is_empty() {
                            accepted.push(uid.clone());
                        }
                        let mut fields = vec![uid.as_str()];
                        fields.extend(starts.iter().map(String::as_str));
                        out.ack("book", &fields);
                    }
                    Err(e) => out.refused("book", &e, &[&uid]),
                }
            }
            1 if !accepted.is_empty() => {
                let uid = accepted.swap_remove(rng.index(accepted.len()));
                // Said before: a worker killed mid-cancel leaves either state, both correct.
                out.attempt("cancel", &[&uid]);
                match resource::receive(
                    store,
                    journal,
                    &room,
                    cancel(&uid, &organiser).as_bytes(),
                    true,
                )
                .await
                {
                    Ok(_) => out.ack("cancel", &[&uid]),
                    Err(e) => out.refused("cancel", &e, &[&uid]),
                }
            }
            _ => {
                let reset = rng.below(2) == 0;
                let settings = match refresh::settings(store, &room, &Overrides::default()).await {
                    Ok(s) => s,
                    Err(e) => {
                        out.error("cron", &e);
                        continue;
                    }
                };
                match refresh::regenerate(store, &room, &settings, Utc::now(), reset, false).await {
                    Ok(_) => out.ack("cron", &[if reset { "reset" } else { "incremental" }]),
                    Err(e) => out.refused("cron", &e, &[]),
                }
            }
        }
    }
}
