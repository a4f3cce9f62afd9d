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
use super::delegation::{delegate_policy, earlier_delegate};
use super::{book, cancel_booking, cancel_delivered, is_resource, Policy};

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
            ItipMethod::Cancel if resource && effective.delegate.is_some() => {
                // A request this resource delegated: the resource's copy (which holds nothing)
                // is cancelled, and the delegate's booking with it, its quota given back.
                match earlier_delegate(store, user, text).await? {
                    Some(d) => {
                        let theirs = delegate_policy(store, &d, &effective).await?;
                        let mut own = super::super::receive::receive_calendar(
                            store,
                            user,
                            text,
                            delivery.sender.as_deref(),
                        )
                        .await?;
                        let at_delegate = cancel_booking(store, journal, &d, text, &theirs).await?;
                        own.step.changes.extend(at_delegate.step.changes);
                        own
                    }
                    None => {
                        cancel(
                            store,
                            journal,
                            user,
                            text,
                            &effective,
                            delivery.sender.as_deref(),
                        )
                        .await?
                    }
                }
            }
            ItipMethod::Cancel if resource => {
                cancel(
                    store,
                    journal,
                    user,
                    text,
                    &effective,
                    delivery.sender.as_deref(),
                )
                .await?
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

/// A resource's CANCEL: applied as for anyone, and the quota the booking held given back (in
/// one transaction where the store and the journal share a database, else with the redo record).
async fn cancel<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    user: &User,
    text: &str,
    effective: &Policy,
    sender: Option<&str>,
) -> Result<Decision> {
    cancel_delivered(store, journal, user, text, sender, effective).await
}
