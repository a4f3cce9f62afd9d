//! [`Journal::apply`](calstore::Journal::apply) on files: each [`JournalChange`] implemented
//! once, on the journal's files, each atomic under the quota's lock.

use calstore::{JournalChange, Outcome, Quota, Result};

use super::{quota, JournalInner};

impl JournalInner {
    /// One change of a quota.
    pub(super) fn change(&self, q: &Quota, change: &JournalChange) -> Result<Outcome> {
        Ok(match change {
            JournalChange::SetLimits { limits, expect } => {
                let what = format!("quota {q}, limits");
                self.settings.writable(&what, "replacing the limits")?;
                quota::check_limits(limits, &what)?;
                Outcome::Version(self.write_file(
                    q,
                    "limits",
                    &quota::format_limits(limits),
                    *expect,
                )?)
            }
            JournalChange::SetGroups(groups) => {
                self.settings
                    .writable(&format!("quota {q}, groups"), "replacing the groups")?;
                self.write_file(q, "groups", &quota::format_groups(groups), None)?;
                Outcome::Done
            }
            JournalChange::SetDelegates(delegates) => {
                self.settings
                    .writable(&format!("quota {q}, delegates"), "replacing the delegates")?;
                self.write_file(q, "delegates", &quota::format_delegates(delegates), None)?;
                Outcome::Done
            }
            JournalChange::SetUsage {
                table,
                periods,
                expect,
            } => Outcome::Version(self.table(q, table).set(periods.clone(), *expect)?),
            JournalChange::ReplaceUsagePeriods {
                table,
                uid,
                rid,
                periods,
                expect,
            } => Outcome::Version(self.table(q, table).replace_event(
                uid,
                rid.as_ref(),
                periods.clone(),
                *expect,
            )?),
            JournalChange::ReserveWithinLimit { group, periods } => {
                Outcome::Version(self.reserve_within_limit(q, group, periods.clone())?)
            }
            JournalChange::Expire { before } => Outcome::Count(self.expire(q, *before)?),
            JournalChange::SetProviders { providers, expect } => {
                Outcome::Version(self.set_providers(q, providers, *expect)?)
            }
            JournalChange::PutEvent { uid, rid, text } => {
                self.owner(q).put_event(uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            JournalChange::RemoveEvent { uid, rid } => {
                Outcome::Changed(self.owner(q).remove_event(uid, rid.as_ref())?)
            }
            _ => {
                return Err(calstore::Error::invalid(format!(
                    "quota {q}: the file journal does not know the change {change}"
                )))
            }
        })
    }
}
