//! The organiser's steps on what attendees send back: a reply, a counter-proposal, and declining
//! a counter-proposal.

use chrono::{Duration, Utc};

use crate::duration::parse_duration;
use crate::error::{Error, Result};
use crate::id::{Other, PrefName, Rid, Uid, User};
use crate::object::{same_address, EventObject};
use crate::period::Period;
use crate::recurrence::{self, ExpandOptions};
use crate::store::{Change, EventStatus, QueueKind, Request, Step, Store, Table};

use super::{expand, options, read_message};

/// How long a counter-proposal's times are held in `freebusy-offers` when the user has no
/// `freebusy_offers` preference (imip-agent's name for it).
pub const DEFAULT_OFFER_HOLD_DAYS: i64 = 1;

/// The periods of one object of the message on its own, as an instance when it has a
/// RECURRENCE-ID.
fn expand_one(user: &User, o: &EventObject, opts: &ExpandOptions) -> Result<Vec<Period>> {
    let expansion = match o.rid() {
        None => recurrence::expand(user, Some(o), &[], opts)?,
        Some(_) => recurrence::expand(user, None, &[(o.clone(), EventStatus::Active)], opts)?,
    };
    Ok(expansion.periods)
}

/// Records attendees' answers (a REPLY) in the organiser's (`user`'s) tables: for each attendee
/// of each VEVENT other than the user, `freebusy-other/<attendee>` gets the event's periods when
/// the answer is ACCEPTED or TENTATIVE and loses them otherwise. The periods are those of the
/// event as the organiser stored it (the reply's own times for an instance, or when the
/// organiser has no copy). One [`Store::apply_step`].
///
/// # Errors
///
/// Invalid input, writing nothing, when the text is not a calendar of one event or names no
/// attendee; the store's errors.
pub async fn record_reply<S: Store>(store: &S, user: &User, text: &str) -> Result<Step> {
    let message = read_message(text)?;
    let opts = options(store, user, true).await?;
    let uid = &message.uid;
    let stored = store
        .load_events(user, std::slice::from_ref(uid))
        .await?
        .pop()
        .filter(|f| f.parent.is_some());
    let mut step = Step::default();
    for o in &message.objects {
        let periods = match (o.rid(), &stored) {
            (None, Some(family)) => expand(user, family, &opts)?.periods,
            _ => expand_one(user, o, &opts)?,
        };
        let mut answered = 0;
        for a in o.attendees() {
            if same_address(&a.address, user.as_str()) {
                continue;
            }
            answered += 1;
            let table = Table::Other(Other::new(a.address.clone())?);
            let busy = if a.partstat.counts(false) {
                periods.clone()
            } else {
                Vec::new()
            };
            step.push(match o.rid() {
                None => Change::ReplaceUidPeriods {
                    table,
                    uid: uid.clone(),
                    periods: busy,
                },
                Some(rid) => Change::ReplaceEventPeriods {
                    table,
                    uid: uid.clone(),
                    rid: Some(rid.clone()),
                    periods: busy.into_iter().filter(|p| p.rid.is_some()).collect(),
                },
            });
        }
        if answered == 0 {
            return Err(Error::invalid(format!(
                "the reply for uid {:?} names no attendee other than {user}",
                uid.as_str()
            )));
        }
    }
    store.apply_step(user, &step).await?;
    Ok(step)
}

/// The longest hold `freebusy_offers` may set: a year. Longer holds are refused when the
/// preference is read, so that no expiry overflows or lies past what every backend stores.
pub const MAX_OFFER_HOLD_DAYS: i64 = 366;

/// Parses and checks a `freebusy_offers` value: a positive duration of at most
/// [`MAX_OFFER_HOLD_DAYS`].
///
/// # Errors
///
/// Invalid input naming the value when it is not a duration, not positive, or too long.
pub fn parse_offer_hold(value: &str) -> Result<Duration> {
    let d = parse_duration(value.trim())
        .map_err(|e| e.context(format!("freebusy_offers {value:?}")))?;
    if d <= Duration::zero() || d > Duration::days(MAX_OFFER_HOLD_DAYS) {
        return Err(Error::invalid(format!(
            "freebusy_offers {value:?} must be a positive duration of at most {MAX_OFFER_HOLD_DAYS} days"
        )));
    }
    Ok(d)
}

/// How long the user holds offers: the `freebusy_offers` preference, else one day.
async fn offer_hold<S: Store>(store: &S, user: &User) -> Result<Duration> {
    let name = PrefName::new("freebusy_offers")?;
    match store.preference(user, &name).await? {
        Some(v) => parse_offer_hold(&v).map_err(|e| e.context(format!("preference of {user}"))),
        None => Ok(Duration::days(DEFAULT_OFFER_HOLD_DAYS)),
    }
}

/// When an offer made at `now` expires for `user` (checked: never overflows).
pub(super) async fn offer_expiry<S: Store>(
    store: &S,
    user: &User,
    now: chrono::DateTime<Utc>,
) -> Result<chrono::DateTime<Utc>> {
    let hold = offer_hold(store, user).await?;
    now.checked_add_signed(hold)
        .ok_or_else(|| Error::invalid(format!("the offer hold of {user} runs past any date")))
}

/// Records a counter-proposal (a COUNTER) sent to the organiser `user`: the proposal of its
/// attendee (the first ATTENDEE other than the user) is stored for each VEVENT, a COUNTER is
/// queued for the user's answer, and the proposed times are held in `freebusy-offers` until the
/// `freebusy_offers` preference (default one day) runs out. One [`Store::apply_step`].
///
/// # Errors
///
/// Invalid input, writing nothing, when the text is not a calendar of one event or names no
/// attendee other than the user; the store's errors.
pub async fn record_counter<S: Store>(store: &S, user: &User, text: &str) -> Result<Step> {
    let message = read_message(text)?;
    let opts = options(store, user, true).await?;
    let uid = &message.uid;
    let proposer = message
        .objects
        .iter()
        .flat_map(|o| o.attendees())
        .find(|a| !same_address(&a.address, user.as_str()))
        .ok_or_else(|| {
            Error::invalid(format!(
                "the counter-proposal for uid {:?} names no attendee other than {user}",
                uid.as_str()
            ))
        })?;
    let other = Other::new(proposer.address.clone())?;
    let expiry = offer_expiry(store, user, Utc::now()).await?;
    let mut step = Step::default();
    for o in &message.objects {
        step.push(Change::PutCounter {
            other: other.clone(),
            uid: uid.clone(),
            rid: o.rid().cloned(),
            text: o.text().to_owned(),
        });
    }
    for o in &message.objects {
        step.push(Change::Queue(Request {
            uid: uid.clone(),
            rid: o.rid().cloned(),
            method: QueueKind::Counter,
        }));
    }
    for o in &message.objects {
        let mut held = expand_one(user, o, &opts)?;
        held.iter_mut().for_each(|p| p.expiry = Some(expiry));
        step.push(Change::ReplaceEventPeriods {
            table: Table::Offers,
            uid: uid.clone(),
            rid: o.rid().cloned(),
            periods: held,
        });
    }
    store.apply_step(user, &step).await?;
    Ok(step)
}

/// Declines the counter-proposal of `other` for (uid, rid) (the organiser sends a
/// DECLINECOUNTER): the proposal is removed; when it was the last one for (uid, rid), the
/// queued COUNTER is removed and the held offer released. One [`Store::apply_step`].
///
/// # Errors
///
/// Not found, writing nothing, when `other` proposed nothing for (uid, rid); the store's
/// errors.
pub async fn decline_counter<S: Store>(
    store: &S,
    user: &User,
    uid: &Uid,
    rid: Option<&Rid>,
    other: &Other,
) -> Result<Step> {
    let proposers = store.counter_proposers(user, uid, rid).await?;
    if !proposers.contains(other) {
        return Err(Error::not_found(format!(
            "{other} proposed nothing for uid {:?}{} of {user}",
            uid.as_str(),
            rid.map(|r| format!(" rid {r}")).unwrap_or_default()
        )));
    }
    let mut step = Step::default();
    step.push(Change::RemoveCounters {
        uid: uid.clone(),
        rid: rid.cloned(),
        only: Some(other.clone()),
    });
    if proposers.len() == 1 {
        if store
            .have_request(user, uid, rid, Some(QueueKind::Counter))
            .await?
        {
            step.push(Change::Dequeue {
                uid: uid.clone(),
                rid: rid.cloned(),
            });
        }
        step.push(Change::ReplaceEventPeriods {
            table: Table::Offers,
            uid: uid.clone(),
            rid: rid.cloned(),
            periods: Vec::new(),
        });
    }
    store.apply_step(user, &step).await?;
    Ok(step)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    #[test]
    fn offer_holds_are_bounded() {
        assert_eq!(parse_offer_hold("PT2H").unwrap(), Duration::hours(2));
        assert_eq!(parse_offer_hold("P1D").unwrap(), Duration::days(1));
        for bad in ["P99999999W", "P3000000D", "PT0S", "-P1D", "soon"] {
            assert!(parse_offer_hold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_counter_with_a_huge_hold_is_an_error_not_a_panic() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = crate::memory::MemoryStore::new();
            let alice = User::new("mailto:alice@example.com").unwrap();
            store
                .set_preference(
                    &alice,
                    &PrefName::new("freebusy_offers").unwrap(),
                    Some("P99999999W"),
                )
                .await
                .unwrap();
            let counter = "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\nUID:k\r\n\
                DTSTART:20260105T090000Z\r\nORGANIZER:mailto:alice@example.com\r\n\
                ATTENDEE:mailto:bob@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
            let e = record_counter(&store, &alice, counter).await.unwrap_err();
            assert!(e.to_string().contains("freebusy_offers"), "{e}");
        });
    }
}
