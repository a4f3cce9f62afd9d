//! The steps on the user's own events: record one, queue an incoming request, cancel.

use crate::error::Result;
use crate::id::User;
use crate::store::{Change, EventStatus, QueueKind, Request, Step, Store, Table};

use super::{dequeue_queued, expand, family_with, options, read_message};

/// Records an event the user organises or has accepted (a REQUEST or PUBLISH the user organises,
/// or the user's own answer to one): every VEVENT of the message is stored as active, the uid's
/// periods in the user's `freebusy` table are recomputed from everything stored of the event
/// (so occurrences replaced by a stored instance are left out), the event is marked in the
/// providers table when its rule has no end (else unmarked), and a queued request for it is
/// removed. One [`Store::apply_step`]. Returns the step applied.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use calstore::{agent, Store, Table, User};
/// let dir = tempfile::tempdir()?;
/// let store = calstore_file::FileStore::open_dir(dir.path().join("store"))?;
/// let bob = User::new("mailto:bob@example.com")?;
/// let accepted = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:review\r\n\
///     DTSTART:20260105T140000Z\r\nDTEND:20260105T150000Z\r\n\
///     ORGANIZER:mailto:alice@example.com\r\n\
///     ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
/// agent::record_event(&store, &bob, accepted).await?;
/// let busy = store.freebusy(&bob, &Table::FreeBusy).await?.value;
/// assert_eq!(busy.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// Invalid input, writing nothing, when the text is not a calendar of one event; corrupt data
/// when a stored object of the event no longer parses; the store's errors.
pub async fn record_event<S: Store>(store: &S, user: &User, text: &str) -> Result<Step> {
    let message = read_message(text)?;
    let opts = options(store, user, false).await?;
    let family = family_with(store, user, &message, EventStatus::Active).await?;
    let expansion = expand(user, &family, &opts)?;
    let uid = &message.uid;
    let mut step = Step::default();
    for o in &message.objects {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: expansion.periods,
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: expansion.unbounded,
    });
    let rids = message.objects.iter().map(|o| o.rid().cloned());
    dequeue_queued(store, user, uid, rids, &mut step).await?;
    store.apply_step(user, &step).await?;
    Ok(step)
}

/// Queues an incoming request that awaits the user's answer (a REQUEST to the user as attendee):
/// every VEVENT of the message is stored as active and queued as a REQUEST. The user's own
/// `freebusy` table and the providers are not touched until the user answers (then
/// [`record_event`] records the answer), as imip-agent does. One [`Store::apply_step`].
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use calstore::{agent, Store, Table, User};
/// let dir = tempfile::tempdir()?;
/// let store = calstore_file::FileStore::open_dir(dir.path().join("store"))?;
/// let bob = User::new("mailto:bob@example.com")?;
/// let request = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:review\r\n\
///     DTSTART:20260105T140000Z\r\nDTEND:20260105T150000Z\r\n\
///     ORGANIZER:mailto:alice@example.com\r\n\
///     ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
/// agent::queue_request(&store, &bob, request).await?;
/// assert_eq!(store.requests(&bob).await?.len(), 1);
/// assert!(store.freebusy(&bob, &Table::FreeBusy).await?.value.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
///
/// # Errors
///
/// Invalid input, writing nothing, when the text is not a calendar of one event; the store's
/// errors.
pub async fn queue_request<S: Store>(store: &S, user: &User, text: &str) -> Result<Step> {
    let message = read_message(text)?;
    let uid = &message.uid;
    let mut step = Step::default();
    for o in &message.objects {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    for o in &message.objects {
        step.push(Change::Queue(Request {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            method: QueueKind::Request,
        }));
    }
    store.apply_step(user, &step).await?;
    Ok(step)
}

/// Cancels an event or some of its instances (a CANCEL): every VEVENT of the message is stored
/// as the cancelled copy of its key, the uid's periods in `freebusy` are recomputed (a cancelled
/// parent leaves none, a cancelled instance removes its occurrence), the providers entry follows,
/// and a queued request for a cancelled key is removed. One [`Store::apply_step`].
///
/// # Errors
///
/// As [`record_event`].
pub async fn cancel<S: Store>(store: &S, user: &User, text: &str) -> Result<Step> {
    let message = read_message(text)?;
    let opts = options(store, user, false).await?;
    let family = family_with(store, user, &message, EventStatus::Cancelled).await?;
    let expansion = expand(user, &family, &opts)?;
    let uid = &message.uid;
    let mut step = Step::default();
    for o in &message.objects {
        step.push(Change::CancelEvent {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    step.push(Change::ReplaceUidPeriods {
        table: Table::FreeBusy,
        uid: uid.clone(),
        periods: expansion.periods,
    });
    step.push(Change::MarkProvider {
        uid: uid.clone(),
        present: expansion.unbounded,
    });
    let rids = message.objects.iter().map(|o| o.rid().cloned());
    dequeue_queued(store, user, uid, rids, &mut step).await?;
    store.apply_step(user, &step).await?;
    Ok(step)
}
