//! Resources that schedule themselves: a room, a car or a projector answers a REQUEST by its
//! policy ([`Policy`], read from its preferences), occurrence by occurrence, and keeps what it
//! accepted busy through every path.
//!
//! [`book`] is the one entry point: it expands the request (every occurrence up to the
//! resource's horizon, and as far as the latest booking it holds, so that a series is checked
//! against one-off bookings far ahead), reads what holds the resource's time (its table, and its
//! standing bookings without end expanded as far as the request goes), decides per occurrence
//! ([`decide()`]), charges the accepted occurrences to the quota, and writes the resource's copy
//! carrying its own PARTSTAT (ACCEPTED on the series, an override per occurrence answered
//! otherwise) so that the cron job, which counts only what the resource accepted, keeps the
//! booking. The returned [`Decision`](crate::agent::Decision) says, per occurrence, what was done and why, and holds the
//! REPLY to send.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use calstore::agent::{resource, Action, Reason};
//! use calstore::memory::{MemoryJournal, MemoryStore};
//! use calstore::{Uid, User};
//! let (store, journal) = (MemoryStore::new(), MemoryJournal::new());
//! let room = User::new("mailto:room@example.com")?;
//! let request = |uid: &str, rule: &str| format!(
//!     "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
//!      DTSTAMP:20260101T000000Z\r\nDTSTART:20990105T090000Z\r\nDTEND:20990105T100000Z\r\n{rule}\
//!      ORGANIZER:mailto:alice@example.com\r\n\
//!      ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:room@example.com\r\n\
//!      END:VEVENT\r\nEND:VCALENDAR\r\n");
//! let policy = resource::Policy::default(); // accept if free, decline if busy
//! let first = resource::book(&store, &journal, &room, &request("a", ""), &policy).await?;
//! assert_eq!(first.items[0].action, Action::Accepted);
//! // A daily series of three over the same first hour: that day declined, the others accepted.
//! let series = request("b", "RRULE:FREQ=DAILY;COUNT=3\r\n");
//! let d = resource::book(&store, &journal, &room, &series, &policy).await?;
//! let actions: Vec<Action> = d.items.iter().map(|i| i.action).collect();
//! assert_eq!(actions, [Action::Declined, Action::Accepted, Action::Accepted]);
//! assert_eq!(d.items[0].reason, Reason::Busy { uid: Uid::new("a")? });
//! assert!(d.reply.unwrap().contains("RECURRENCE-ID:20990105T090000Z"));
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::id::{Uid, User};
use crate::object::same_address;
use crate::period::{self, Period};
use crate::store::{Store, Table};

mod assess;
mod booking;
mod cancel;
pub mod decide;
pub mod delegation;
mod dispatch;
pub mod extension;
mod joint;
pub mod policy;
mod quota;
mod step;
pub mod text;

pub use assess::{assess, Assessment};
pub use decide::{decide, Context, Occurrence};
pub use dispatch::receive;
pub use extension::{settle_extension, Settlement};
pub use policy::{Mode, Policy};
pub use text::PartStat;

pub use booking::{book, book_at};
pub use cancel::cancel_booking;
use cancel::cancel_delivered;
use quota::{group_of, mark_pending, settle, settled};
pub use quota::{recover, release, Recovered};
use step::{build, charged, Shape};

/// Whether `user` acts as a resource for `message`: it has resource settings (a `policy` was
/// read), or the message names it with `CUTYPE=RESOURCE` or `ROOM`.
pub fn is_resource(user: &User, message: &str, policy: Option<&Policy>) -> bool {
    if policy.is_some() {
        return true;
    }
    let Ok(objects) = crate::object::split_calendar(message) else {
        return false;
    };
    objects.iter().any(|o| {
        let text = o.text();
        text.split("\r\n").chain(text.split('\n')).any(|l| {
            let upper = l.to_ascii_uppercase();
            upper.starts_with("ATTENDEE")
                && (upper.contains("CUTYPE=RESOURCE") || upper.contains("CUTYPE=ROOM"))
                && l.rsplit(':').next().is_some_and(|a| {
                    same_address(&format!("mailto:{a}"), user.as_str())
                        || same_address(a, user.as_str())
                })
        })
    })
}

/// The preference that holds a user's VAVAILABILITY (the calendar text).
pub const AVAILABILITY: &str = "availability";

/// Stores `text` (a calendar with one or more VAVAILABILITY, RFC 7953) as `user`'s availability,
/// after reading it, and rewrites its BUSY-UNAVAILABLE rows in the user's `freebusy` table
/// ([`crate::refresh::availability::set`]); `None` removes both.
///
/// # Errors
///
/// Invalid input, storing nothing, when the text holds no VAVAILABILITY or one cannot be read;
/// the store's errors.
pub async fn set_availability<S: Store>(store: &S, user: &User, text: Option<&str>) -> Result<()> {
    crate::refresh::availability::set(store, user, text, Utc::now()).await
}

/// `user`'s unavailable periods in `[start, end)` from its stored VAVAILABILITY (none when it
/// has none), as busy periods of the uid `unavailable`.
///
/// # Errors
///
/// Invalid input naming the preference when the stored availability cannot be read; the
/// store's errors.
pub async fn unavailable<S: Store>(
    store: &S,
    user: &User,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Vec<Period>> {
    let name = crate::id::PrefName::new(AVAILABILITY)?;
    let Some(text) = store.preference(user, &name).await? else {
        return Ok(Vec::new());
    };
    let ctx = |e: Error| e.context(format!("preference {AVAILABILITY} of {user}"));
    let parsed = crate::object::availability::parse(&text).map_err(ctx)?;
    let spans =
        crate::object::availability::unavailable(user, &parsed, start, end, tz).map_err(ctx)?;
    let uid = Uid::new("unavailable")?;
    spans
        .into_iter()
        .map(|(s, e)| Period::new(s, e, uid.clone(), None))
        .collect()
}

/// The rows of `resource`'s table held beyond its capacity: busy periods of different events
/// that overlap more than `policy.capacity` at once. A booking never writes such a state (its
/// step checks the capacity), but two standing bookings without end that were each checked up
/// to their horizon can meet further on, when the cron job extends them; the cron job reports
/// them (`make-freebusy` warns and exits 65) rather than holding them silently. Empty for
/// `accept-always`, which overbooks on purpose.
///
/// # Errors
///
/// The store's errors.
pub async fn overbooked<S: Store>(
    store: &S,
    resource: &User,
    policy: &Policy,
) -> Result<Vec<Period>> {
    if policy.mode == Mode::AcceptAlways {
        return Ok(Vec::new());
    }
    // The availability's own rows hold no capacity: a booking made before the availability
    // changed is not "overbooked" by it.
    let availability = crate::refresh::availability::uids(
        &crate::refresh::availability::load(store, resource).await?,
    );
    let rows: Vec<Period> = store
        .freebusy(resource, &Table::FreeBusy)
        .await?
        .value
        .into_iter()
        .filter(|p| !availability.contains(&p.uid))
        .collect();
    let mut out = Vec::new();
    for row in rows.iter().filter(|p| p.is_busy()) {
        let others = period::capacity_conflicts(&rows, std::slice::from_ref(row), policy.capacity);
        if !others.is_empty() {
            out.push(row.clone());
        }
    }
    Ok(out)
}
