//! The agent: [`receive`] applies one scheduling message (iCalendar or a whole mail) for a user
//! — METHOD and the user's role decide the effect, SEQUENCE then DTSTAMP order it against what is
//! stored, one atomic step applies it — and returns a [`Decision`]; [`answer`] records the
//! user's answer to a queued request and returns the REPLY to send. Both are generic over
//! [`Store`] (and [`Journal`](crate::Journal) for a resource's quota, [`receive_with_journal`]).
//!
//! The steps below are the building blocks `receive` is made of, kept for callers that already
//! decided what a message means. Each reads the user's settings itself (`TZID`, `window_size`:
//! [`refresh::settings`]), reads what is stored of the event, computes every change — objects,
//! periods, providers, queue, counter-proposals — as one [`Step`], and applies it with
//! [`Store::apply_step`]: one transaction in PostgreSQL, one lock in the file store. The step is
//! returned; its changes, printed one per line, say what the call changed. They do not order
//! messages (an older message overwrites a newer one) and do not guard against a concurrent step:
//! use [`receive`], whose steps start with a [`Change::Expect`](crate::Change::Expect) of the
//! objects they were computed from and fail as stale when another step changed them.
//!
//! | step | objects | user's tables | queue |
//! |---|---|---|---|
//! | [`record_event`] | stored active | `freebusy` (the uid's periods recomputed), providers | entry removed |
//! | [`queue_request`] | stored active | unchanged until answered | REQUEST queued |
//! | [`cancel`] | stored as cancelled | `freebusy` recomputed (periods removed), providers | entry removed |
//! | [`record_reply`] | — | `freebusy-other/<attendee>` | — |
//! | [`record_counter`] | counter stored | `freebusy-offers` (held) | COUNTER queued |
//! | [`decline_counter`] | counter removed | `freebusy-offers` released | entry removed |
//! | [`book_resource`] | stored active | `freebusy` reserved (busy if taken), providers; journal usage | entry removed |
//! | [`resource::book`] | the resource's copy with its own PARTSTAT per occurrence | `freebusy` reserved within capacity, providers; quota usage and reservation | left-for-person occurrences queued |
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use calstore::{agent, Store, Table, User};
//! let dir = tempfile::tempdir()?;
//! let store = calstore_file::FileStore::open_dir(dir.path().join("store"))?;
//! let alice = User::new("mailto:alice@example.com")?;
//! let request = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:standup\r\n\
//!     DTSTART:20260105T090000Z\r\nDTEND:20260105T091500Z\r\nRRULE:FREQ=DAILY\r\n\
//!     ORGANIZER:mailto:alice@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! // Alice organises it: it is hers, busy in her own table and extended by the cron job.
//! let step = agent::record_event(&store, &alice, request).await?;
//! for change in &step.changes {
//!     println!("{change}");
//! }
//! assert!(!store.freebusy(&alice, &Table::FreeBusy).await?.value.is_empty());
//! assert_eq!(store.providers(&alice).await?.value.events.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

use chrono::Utc;

use crate::error::{Error, Result};
use crate::id::{Rid, Uid, User};
use crate::object::{split_calendar, EventObject};
use crate::recurrence::{ExpandOptions, Expansion};
use crate::refresh::{self, Overrides};
use crate::store::{EventFamily, EventStatus, Step, Store, StoredEvent};

mod answer;
mod answers;
mod attendance;
mod booking;
pub mod busy;
pub mod decision;
mod effects;
mod events;
mod instance;
mod mail;
mod method;
pub mod order;
mod receive;
mod replies;
pub mod resource;

pub use answer::{answer, Answer};
pub use answers::{
    decline_counter, parse_offer_hold, record_counter, record_reply, MAX_OFFER_HOLD_DAYS,
};
pub use booking::book_resource;
pub use busy::{busy_type, FbType};
pub use decision::{Action, Decision, Item, Reason};
pub use events::{cancel, queue_request, record_event};
pub use mail::{read_delivery, Delivery};
pub use method::{ItipMethod, Role};
pub use receive::{names_attendee, receive, receive_with_journal};

/// The VEVENTs of one message, all of one UID.
struct Message {
    uid: Uid,
    objects: Vec<EventObject>,
}

/// Splits a message into its VEVENTs (each with the VTIMEZONEs it uses).
///
/// # Errors
///
/// Invalid input when the text does not parse, holds no VEVENT, holds VEVENTs of several UIDs,
/// or the same instance twice.
fn read_message(text: &str) -> Result<Message> {
    let objects = split_calendar(text)?;
    let Some(first) = objects.first() else {
        return Err(Error::invalid("the message holds no VEVENT"));
    };
    let uid = first.uid().clone();
    let mut keys = Vec::with_capacity(objects.len());
    for o in &objects {
        if o.uid() != &uid {
            return Err(Error::invalid(format!(
                "the message holds VEVENTs of two UIDs ({:?} and {:?}); one step is about one event",
                uid.as_str(),
                o.uid().as_str()
            )));
        }
        if keys.contains(&o.rid()) {
            return Err(Error::invalid(format!(
                "the message holds the same VEVENT of uid {:?} twice",
                uid.as_str()
            )));
        }
        keys.push(o.rid());
    }
    Ok(Message { uid, objects })
}

/// The expansion options from the user's stored settings.
async fn options<S: Store>(store: &S, user: &User, needs_action: bool) -> Result<ExpandOptions> {
    let overrides = Overrides {
        needs_action,
        ..Overrides::default()
    };
    let settings = refresh::settings(store, user, &overrides).await?;
    Ok(settings.expand_options(Utc::now()))
}

/// The event as stored, with `objects` put over it with `status`.
async fn family_with<S: Store>(
    store: &S,
    user: &User,
    message: &Message,
    status: EventStatus,
) -> Result<EventFamily> {
    let mut family = store
        .load_events(user, std::slice::from_ref(&message.uid))
        .await?
        .pop()
        .unwrap_or_else(|| EventFamily {
            uid: message.uid.clone(),
            parent: None,
            instances: Vec::new(),
        });
    for o in &message.objects {
        let stored = StoredEvent {
            text: o.text().to_owned(),
            status,
        };
        match o.rid() {
            None => family.parent = Some(stored),
            Some(rid) => {
                family.instances.retain(|(r, _)| r != rid);
                family.instances.push((rid.clone(), stored));
                family.instances.sort_by(|a, b| a.0.cmp(&b.0));
            }
        }
    }
    Ok(family)
}

/// Expands the family for `user`.
fn expand(user: &User, family: &EventFamily, opts: &ExpandOptions) -> Result<Expansion> {
    refresh::expand_family(user, family, opts)
}

/// The queue entries of the message's keys that are there, as dequeue changes.
async fn dequeue_queued<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    rids: impl Iterator<Item = Option<Rid>>,
    step: &mut Step,
) -> Result<()> {
    for rid in rids {
        if store.have_request(user, uid, rid.as_ref(), None).await? {
            step.push(crate::store::Change::Dequeue {
                uid: uid.clone(),
                rid,
            });
        }
    }
    Ok(())
}
