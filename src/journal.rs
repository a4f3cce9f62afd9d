//! The `Journal` trait: quota groups for shared resources — limits, user groups, delegates, usage
//! tables, providers and the reservations that recur without end (STORE.md, "Journal").

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Group, Quota, Rid, Uid, User};
use crate::period::Period;
use crate::store::{
    EventFamily, EventList, Outcome, Providers, Step, StoredEvent, Version, Versioned,
};

mod change;
pub mod joint;
mod settings;
pub use change::JournalChange;
pub use joint::{apply_together, Database, JointApplied};
pub use settings::{delegates_from, groups_from, limits_from};

/// Which usage table of a quota.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageTable {
    /// `freebusy/<user>`: the periods reserved by one user.
    User(User),
    /// `journal/<user-or-group>`: usage consolidated per user or group, counted against limits.
    Journal(Group),
}

impl fmt::Display for UsageTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageTable::User(u) => write!(f, "freebusy/{u}"),
            UsageTable::Journal(g) => write!(f, "journal/{g}"),
        }
    }
}

/// Quota limits: user or group (or `*`, everyone else) → an iCalendar duration such as `PT10H`.
pub type Limits = BTreeMap<Group, String>;

/// The quota journal. Same conventions as [`Store`](crate::Store): atomic methods, optional
/// `expect` versions, and the common errors (read-only, locked, unavailable, corrupt, backend).
/// The same shape too: a backend writes the required reads and [`Journal::apply`], the one
/// write; every other write is a provided method applying one [`JournalChange`].
pub trait Journal: Send + Sync {
    // === required: the reads ===================================================================

    /// Whether the journal refuses writes.
    fn is_read_only(&self) -> bool;

    /// Every quota group, sorted.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn quotas(&self) -> impl Future<Output = Result<Vec<Quota>>> + Send;

    /// The limits of a quota (empty when none).
    ///
    /// # Errors
    ///
    /// The common errors.
    fn limits(&self, quota: &Quota) -> impl Future<Output = Result<Versioned<Limits>>> + Send;

    /// The user → group mapping.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn groups(&self, quota: &Quota) -> impl Future<Output = Result<BTreeMap<User, Group>>> + Send;

    /// The delegates (identities that share the quota), sorted.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn delegates(&self, quota: &Quota) -> impl Future<Output = Result<Vec<User>>> + Send;

    /// The usage tables of a quota that exist, sorted (users first, then journals).
    ///
    /// # Errors
    ///
    /// The common errors.
    fn usage_tables(&self, quota: &Quota) -> impl Future<Output = Result<Vec<UsageTable>>> + Send;

    /// A whole usage table in order.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send;

    /// The quota's providers table.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn providers(&self, quota: &Quota)
        -> impl Future<Output = Result<Versioned<Providers>>> + Send;

    /// A reservation object, or `None`.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn get_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<StoredEvent>>> + Send;

    /// The reservation objects of a quota (only the active lists are used).
    ///
    /// # Errors
    ///
    /// The common errors.
    fn list_events(&self, quota: &Quota) -> impl Future<Output = Result<EventList>> + Send;

    // === required: the one write ===============================================================

    /// Applies one change to the quota, atomically (per quota), and answers its outcome (see
    /// [`JournalChange`] for what each change does and answers).
    ///
    /// # Errors
    ///
    /// Invalid input for bad periods, texts or durations; stale on a stale `expect`; busy when a
    /// reservation exceeds its limit; the common errors.
    fn apply(
        &self,
        quota: &Quota,
        change: &JournalChange,
    ) -> impl Future<Output = Result<Outcome>> + Send;

    // === provided reads ========================================================================

    /// What [`Journal::quotas`] leaves out because it is not a quota as the backend keeps them
    /// (see [`Store::unlisted_users`](crate::Store::unlisted_users)); the default is none.
    ///
    /// # Errors
    ///
    /// The common errors (the listing itself failed).
    fn unlisted_quotas(&self) -> impl Future<Output = Result<Vec<crate::Error>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// The periods of a usage table overlapping [start, end). The default filters the whole
    /// table; backends answer from an index.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn usage_in(
        &self,
        quota: &Quota,
        table: &UsageTable,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            let mut all = self.usage(quota, table).await?;
            all.value.retain(|p| p.overlaps(start, end));
            Ok(all)
        }
    }

    /// Every stored object of each of `uids` (the parent and its instances, active and
    /// cancelled), in one read where the backend can (as [`crate::Store::load_events`]): the
    /// quotas' regeneration reads its reservations in chunks with it instead of one object at a
    /// time. A uid with nothing stored gives a family with no parent and no instances.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn load_events(
        &self,
        quota: &Quota,
        uids: &[Uid],
    ) -> impl Future<Output = Result<Vec<EventFamily>>> + Send {
        async move {
            let list = self.list_events(quota).await?;
            let mut out = Vec::with_capacity(uids.len());
            for uid in uids {
                let parent = self.get_event(quota, uid, None).await?;
                let mut instances = Vec::new();
                for (u, rid) in list
                    .active_instances
                    .iter()
                    .chain(&list.cancelled_instances)
                {
                    if u == uid {
                        if let Some(stored) = self.get_event(quota, uid, Some(rid)).await? {
                            instances.push((rid.clone(), stored));
                        }
                    }
                }
                instances.sort_by(|a, b| a.0.cmp(&b.0));
                out.push(EventFamily {
                    uid: uid.clone(),
                    parent,
                    instances,
                });
            }
            Ok(out)
        }
    }

    // === provided writes =======================================================================

    /// Applies `step` to `user` in the store that `store` names ([`Store::database`]) and
    /// `changes` to `quota`, in one transaction, when this journal lives in that same database;
    /// `Ok(None)`, writing nothing, when it does not — the default, for backends that cannot
    /// (see [`joint`]). The store user's lock is taken before the quota's; the step is applied
    /// first, then the changes in order; an error of either keeps nothing of both, and an
    /// error of the changes is marked ([`joint::is_journal_refusal`]).
    ///
    /// [`Store::database`]: crate::Store::database
    ///
    /// # Errors
    ///
    /// As [`Store::apply_step`](crate::Store::apply_step) for the step and [`Journal::apply`]
    /// for the changes; invalid input, writing nothing, for a change the backend does not
    /// apply inside a joint write.
    fn apply_with_step(
        &self,
        store: &Database,
        user: &User,
        step: &Step,
        quota: &Quota,
        changes: &[JournalChange],
    ) -> impl Future<Output = Result<Option<JointApplied>>> + Send {
        let _ = (store, user, step, quota, changes);
        async { Ok(None) }
    }

    // === provided writes: one change each ======================================================

    /// Replaces the limits. [`JournalChange::SetLimits`].
    ///
    /// # Errors
    ///
    /// Invalid input when a value is not an iCalendar duration; stale on a stale `expect`.
    fn set_limits(
        &self,
        quota: &Quota,
        limits: &Limits,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = JournalChange::SetLimits {
            limits: limits.clone(),
            expect,
        };
        async move { Ok(self.apply(quota, &change).await?.version()) }
    }

    /// Replaces the user → group mapping. [`JournalChange::SetGroups`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn set_groups(
        &self,
        quota: &Quota,
        groups: &BTreeMap<User, Group>,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = JournalChange::SetGroups(groups.clone());
        async move { self.apply(quota, &change).await.map(|_| ()) }
    }

    /// Replaces the delegates. [`JournalChange::SetDelegates`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn set_delegates(
        &self,
        quota: &Quota,
        delegates: &[User],
    ) -> impl Future<Output = Result<()>> + Send {
        let change = JournalChange::SetDelegates(delegates.to_vec());
        async move { self.apply(quota, &change).await.map(|_| ()) }
    }

    /// Replaces a whole usage table (empty removes it). [`JournalChange::SetUsage`].
    ///
    /// # Errors
    ///
    /// Stale on a stale `expect`.
    fn set_usage(
        &self,
        quota: &Quota,
        table: &UsageTable,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = JournalChange::SetUsage {
            table: table.clone(),
            periods,
            expect,
        };
        async move { Ok(self.apply(quota, &change).await?.version()) }
    }

    /// Removes the periods of (uid, rid) and inserts `periods`, atomically.
    /// [`JournalChange::ReplaceUsagePeriods`].
    ///
    /// # Errors
    ///
    /// Invalid input when a period belongs to another event; stale on a stale `expect`.
    fn replace_usage_periods(
        &self,
        quota: &Quota,
        table: &UsageTable,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = JournalChange::ReplaceUsagePeriods {
            table: table.clone(),
            uid: uid.clone(),
            rid: rid.cloned(),
            periods,
            expect,
        };
        async move { Ok(self.apply(quota, &change).await?.version()) }
    }

    /// Inserts the periods of one event into `journal/<group>` only while the table's total busy
    /// duration (other events' periods plus these) stays within the limit that applies to `group`
    /// (its own, else `*`; no limit means unlimited), in one atomic step; the event's earlier
    /// periods in that table are replaced. [`JournalChange::ReserveWithinLimit`].
    ///
    /// # Errors
    ///
    /// Busy, changing nothing, when the limit would be exceeded.
    fn reserve_within_limit(
        &self,
        quota: &Quota,
        group: &Group,
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = JournalChange::ReserveWithinLimit {
            group: group.clone(),
            periods,
        };
        async move { Ok(self.apply(quota, &change).await?.version()) }
    }

    /// Removes, in every usage table of the quota, the periods that ended at or before `before`;
    /// atomic per quota. Returns how many were removed. [`JournalChange::Expire`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn expire(
        &self,
        quota: &Quota,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize>> + Send {
        let change = JournalChange::Expire { before };
        async move { Ok(self.apply(quota, &change).await?.count()) }
    }

    /// Replaces the quota's providers table. [`JournalChange::SetProviders`].
    ///
    /// # Errors
    ///
    /// Stale on a stale `expect`.
    fn set_providers(
        &self,
        quota: &Quota,
        providers: &Providers,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = JournalChange::SetProviders {
            providers: providers.clone(),
            expect,
        };
        async move { Ok(self.apply(quota, &change).await?.version()) }
    }

    /// Stores a reservation object (one that recurs without end), as in the store.
    /// [`JournalChange::PutEvent`].
    ///
    /// # Errors
    ///
    /// Invalid input as for [`Store::put_event`](crate::Store::put_event).
    fn put_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = JournalChange::PutEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
            text: text.to_owned(),
        };
        async move { self.apply(quota, &change).await.map(|_| ()) }
    }

    /// Removes a reservation object (a parent with its instances); returns whether it was there.
    /// [`JournalChange::RemoveEvent`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn remove_event(
        &self,
        quota: &Quota,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = JournalChange::RemoveEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { Ok(self.apply(quota, &change).await?.changed()) }
    }
}
