//! A delivery to a user that may be a resource: REQUESTs are booked by the resource's policy,
//! CANCELs applied as for anyone and the quota they held given back; everything else is
//! [`receive`](crate::agent::receive)'s.

use crate::error::Result;
use crate::id::User;
use crate::journal::Journal;
use crate::store::Store;

use super::super::decision::Decision;
use super::super::method::ItipMethod;
use super::super::read_delivery;
use super::{book, cancel_delivered, is_resource, Policy};

/// Applies one delivery (iCalendar text or a mail) for `user`, who acts as a resource when it
/// has resource settings ([`Policy::read`]), when the message names it with `CUTYPE=RESOURCE`
/// or `ROOM`, or when `force` is set (`calstore deliver --resource`, as imip-agent's separate
/// resource handler). A resource without settings has the default policy (accept if free,
/// decline if busy).
///
/// # Errors
///
/// As [`crate::agent::receive`] and [`book`]; invalid input when the resource's settings do not
/// parse (naming the preference).
pub async fn receive<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    user: &User,
    message: &[u8],
    force: bool,
) -> Result<Decision> {
    let delivery = read_delivery(message)?;
    let policy = Policy::read(store, user).await?;
    let mut whole = Decision::default();
    for text in &delivery.calendars {
        let method = ItipMethod::of(text)?;
        let resource = force || is_resource(user, text, policy.as_ref());
        let effective = policy.clone().unwrap_or_default();
        let d = match method {
            ItipMethod::Request if resource => book(store, journal, user, text, &effective).await?,
            ItipMethod::Cancel if resource => {
                let sender = delivery.sender.as_deref();
                cancel_delivered(store, journal, user, text, sender, &effective).await?
            }
            _ => {
                super::super::receive::receive_calendar(
                    store,
                    user,
                    text,
                    delivery.sender.as_deref(),
                )
                .await?
            }
        };
        whole.items.extend(d.items);
        whole.added.extend(d.added);
        whole.removed.extend(d.removed);
        if d.reply.is_some() {
            whole.reply = d.reply;
        }
        whole.step.changes.extend(d.step.changes);
    }
    Ok(whole)
}
