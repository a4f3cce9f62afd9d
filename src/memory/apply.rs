//! Every [`Change`] on a [`MemoryStore`](super::MemoryStore) user's data: the one place each
//! write of the store is implemented, called by its `apply_step` under the store's lock.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Rid, Uid, User};
use crate::period::{self, Period};
use crate::store::{Change, Outcome, QueueKind, Request, Table, Version};

use super::state::{check_version, refused, Versions};
use super::{kind_of, what_table, UserData, WHAT};

/// How a table write changes the table's rows.
type Edit<'a> = Box<dyn FnOnce(&mut Vec<Period>) + 'a>;

impl UserData {
    /// Applies one change; on an error the caller restores the data as it was before the step.
    pub(super) fn apply(
        &mut self,
        versions: &mut Versions,
        user: &User,
        change: &Change,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let what = format!("{WHAT}, user {user}");
        Ok(match change {
            Change::Expect { table, version } => {
                let current = self.tables.get(table).map_or(Version(0), |t| t.version);
                check_version(Some(*version), current, &what_table(user, table))?;
                Outcome::Done
            }
            Change::ExpectProviders(version) => {
                let what = format!("{what}, table freebusy-providers");
                check_version(Some(*version), self.providers.version, &what)?;
                Outcome::Done
            }
            Change::ExpectEvent { family } => {
                let found = self.objects.family(&family.uid);
                crate::store::check_expected(user, family, Some(&found))?;
                Outcome::Done
            }
            Change::PutEvent { uid, rid, text } => {
                self.objects.put(&what, uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            Change::CancelEvent { uid, rid, text } => {
                self.objects.put(&what, uid, rid.as_ref(), text)?;
                self.objects.set_status(&what, uid, rid.as_ref(), true)?;
                Outcome::Done
            }
            Change::CancelStored { uid, rid } => {
                self.objects.set_status(&what, uid, rid.as_ref(), true)?;
                Outcome::Done
            }
            Change::Uncancel { uid, rid } => {
                self.objects.set_status(&what, uid, rid.as_ref(), false)?;
                Outcome::Done
            }
            Change::RemoveEvent { uid, rid } => {
                Outcome::Changed(self.objects.remove(uid, rid.as_ref()))
            }
            Change::Queue(r) => Outcome::Changed(self.queue(&r.uid, r.rid.as_ref(), r.method)),
            Change::Dequeue { uid, rid } => {
                let before = self.requests.len();
                self.requests
                    .retain(|r| !(&r.uid == uid && r.rid.as_ref() == rid.as_ref()));
                Outcome::Changed(self.requests.len() != before)
            }
            Change::SetRequests(requests) => {
                let mut seen = HashSet::new();
                self.requests = requests
                    .iter()
                    .filter(|r| seen.insert(*r))
                    .cloned()
                    .collect();
                Outcome::Done
            }
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => {
                crate::object::EventObject::parse_for_key(text, uid, rid.as_ref()).map_err(
                    |e| {
                        e.context(format!(
                            "{what}, counter-proposal for uid {:?} from {other}",
                            uid.as_str()
                        ))
                    },
                )?;
                self.counters
                    .insert((uid.clone(), rid.clone(), other.clone()), text.clone());
                Outcome::Done
            }
            Change::RemoveCounter { other, uid, rid } => Outcome::Changed(
                self.counters
                    .remove(&(uid.clone(), rid.clone(), other.clone()))
                    .is_some(),
            ),
            Change::RemoveCounters { uid, rid, only } => {
                let before = self.counters.len();
                self.counters.retain(|(id, r, o), _| {
                    let event = id == uid && (rid.is_none() || r == rid);
                    !(event && only.as_ref().is_none_or(|only| only == o))
                });
                Outcome::Count(before - self.counters.len())
            }
            Change::SetPreference { name, value } => {
                match value {
                    Some(v) => self.preferences.insert(name.clone(), v.clone()),
                    None => self.preferences.remove(name),
                };
                Outcome::Done
            }
            Change::MarkProvider { uid, present } => {
                let next = self.providers.value.marked(uid, *present);
                if next == self.providers.value {
                    return Ok(Outcome::Changed(false));
                }
                let what = format!("{what}, table freebusy-providers");
                self.providers.set(versions, &next, None, &what)?;
                Outcome::Changed(true)
            }
            Change::MarkProviders { marks, horizon } => {
                let next = crate::store::providers_after(&self.providers.value, marks, *horizon);
                if next != self.providers.value {
                    let what = format!("{what}, table freebusy-providers");
                    self.providers.set(versions, &next, None, &what)?;
                }
                Outcome::Done
            }
            Change::SetProviders(p) => {
                let what = format!("{what}, table freebusy-providers");
                Outcome::Version(self.providers.set(versions, p, None, &what)?)
            }
            Change::Reserve {
                table,
                periods,
                capacity,
            } => Outcome::Version(self.reserve(versions, user, table, periods, *capacity, now)?),
            _ => Outcome::Version(self.change_periods(versions, user, change)?),
        })
    }

    /// Appends the request unless the same (uid, rid, method) is queued; returns whether it did.
    fn queue(&mut self, uid: &Uid, rid: Option<&Rid>, method: QueueKind) -> bool {
        if self
            .requests
            .iter()
            .any(|r| &r.uid == uid && r.rid.as_ref() == rid && r.method == method)
        {
            return false;
        }
        self.requests.push(Request {
            uid: uid.clone(),
            rid: rid.cloned(),
            method,
        });
        true
    }

    /// The table writes other than a reservation.
    fn change_periods(
        &mut self,
        versions: &mut Versions,
        user: &User,
        change: &Change,
    ) -> Result<Version> {
        let Some(table) = change.table() else {
            return Err(crate::Error::invalid(format!(
                "{WHAT}, user {user}: the memory store does not know the change {change}"
            )));
        };
        let what = what_table(user, table);
        let (always, edit): (bool, Edit<'_>) = match change {
            Change::SetFreeBusy { periods, .. } => {
                let periods = period::normalise(periods.clone());
                (!periods.is_empty(), Box::new(move |rows| *rows = periods))
            }
            Change::ReplaceEventPeriods {
                uid, rid, periods, ..
            } => (
                false,
                Box::new(move |rows| {
                    period::remove_event(rows, uid, rid.as_ref());
                    period::merge(rows, periods.clone());
                }),
            ),
            // As the whole-table write these were before: a new version even when unchanged.
            Change::ReplaceUidPeriods { uid, periods, .. } => (
                true,
                Box::new(move |rows| {
                    rows.retain(|p| &p.uid != uid);
                    period::merge(rows, periods.clone());
                }),
            ),
            Change::ReplaceUidsPeriods { uids, periods, .. } => {
                let uids: HashSet<&Uid> = uids.iter().collect();
                (
                    true,
                    Box::new(move |rows| {
                        rows.retain(|p| !uids.contains(&p.uid));
                        period::merge(rows, periods.clone());
                    }),
                )
            }
            Change::RemoveEventPeriods { uid, rid, .. } => (
                false,
                Box::new(move |rows| {
                    period::remove_event(rows, uid, rid.as_ref());
                }),
            ),
            Change::RemoveAdditionalPeriods { uid, keep, .. } => (
                false,
                Box::new(move |rows| {
                    period::remove_additional(rows, uid, keep);
                }),
            ),
            Change::RemoveAffectedPeriod { uid, start, .. } => (
                false,
                Box::new(move |rows| {
                    period::remove_affected(rows, uid, *start);
                }),
            ),
            _ => {
                return Err(crate::Error::invalid(format!(
                    "{what}: the memory store does not know the change {change}"
                )))
            }
        };
        kind_of(table)
            .change(&mut self.tables, table, &what, versions, None, always, edit)
            .map(|(v, _)| v)
    }

    /// [`Change::Reserve`]: the capacity check, then the event's periods replaced.
    fn reserve(
        &mut self,
        versions: &mut Versions,
        user: &User,
        table: &Table,
        periods: &[Period],
        capacity: usize,
        now: DateTime<Utc>,
    ) -> Result<Version> {
        let what = what_table(user, table);
        let current = self.tables.get(table);
        let Some(first) = periods.first() else {
            // Without periods there is no event to reserve: nothing changes.
            return Ok(current.map_or(Version(0), |t| t.version));
        };
        let (uid, rid) = (first.uid.clone(), first.rid.clone());
        let kind = kind_of(table);
        let offending = period::capacity_conflicts(&kind.visible(current, now), periods, capacity);
        if !offending.is_empty() {
            return Err(refused(format!(
                "{what}: uid {:?} cannot be reserved: with capacity {} it would overlap {}; nothing was written",
                uid.as_str(),
                capacity.max(1),
                offending.iter().take(3).map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )));
        }
        kind.change(
            &mut self.tables,
            table,
            &what,
            versions,
            None,
            false,
            |rows| {
                period::remove_event(rows, &uid, rid.as_ref());
                period::merge(rows, periods.to_vec());
            },
        )
        .map(|(v, _)| v)
    }
}
