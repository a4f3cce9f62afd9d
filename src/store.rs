//! The `Store` trait: per-user objects, recurrences, cancellations, the request queue,
//! counter-proposals, free/busy tables, providers and preferences (STORE.md).
//!
//! The contract is **reads plus one write**: a backend writes the required reads of each concern
//! and [`Store::apply_step`], which applies a [`Step`] of [`Change`]s as one unit. Every other
//! write is a provided method that builds a one-change step ([`change`] describes them all), so
//! each mutation is written once per backend, inside `apply_step`, and is atomic for free. The
//! provided reads are built on the required ones; a backend may override them where it is
//! faster, and the conformance suite holds an override to the default's answers.
//!
//! | concern | required reads | provided reads | provided writes (one [`Change`] each) |
//! | --- | --- | --- | --- |
//! | users | `users` | `unlisted_users` | — |
//! | objects | `get_event`, `list_events`, `instances` | `load_events` | `put_event`, `cancel_event`, `uncancel_event`, `remove_event` |
//! | request queue | `requests` | `have_request` | `queue_request`, `dequeue_request`, `set_requests`, `store_incoming` (a step of four) |
//! | counter-proposals | `get_counter`, `counters` | `counter_proposers`, `counter_rids` | `put_counter`, `remove_counter`, `remove_counters` |
//! | free/busy tables | `freebusy`, `others` | `freebusy_in`, `table_version`, `conflicts`, `can_schedule` | `set_freebusy`, `replace_event_periods`, `replace_uid_periods`, `replace_uids_periods`, `remove_event_periods`, `remove_additional_periods`, `remove_affected_period`, `reserve` |
//! | providers | `providers` | — | `set_providers`, `mark_provider` |
//! | preferences | `preferences` | `preference` | `set_preference` |

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::{Other, PrefName, Rid, Uid, User};
use crate::period::Period;

pub mod change;
mod defaults;
pub mod forward;
pub(crate) use defaults::change_providers;
mod step;
mod types;

pub use change::Change;
pub use step::{check_expected, providers_after, Applied, Outcome, Step};

#[allow(deprecated)] // the old name, kept for callers; it warns them
pub use types::Method;
pub use types::{
    EventFamily, EventList, EventStatus, Incoming, Providers, QueueKind, Request, StoredEvent,
    Table, Version, Versioned,
};

use defaults::{guarded, write};

/// An instant in UTC, as the range reads take it (a name the forwarding lists of [`forward`] can
/// spell without a path to `chrono`).
pub type Instant = DateTime<Utc>;

/// Storage of one or many users' calendar data. Every method is atomic on its own; the writes
/// that change a table take an optional `expect` version and fail with
/// [`ErrorKind::Stale`](crate::ErrorKind::Stale), changing nothing, when the table has
/// changed since that version was read (a [`Change::Expect`] before the write). Without a
/// version, writes are applied to the latest state under the backend's lock or transaction.
///
/// A backend implements the required methods: the reads and [`Store::apply_step`] (see the
/// [module documentation](self) for the shape of the contract).
///
/// Errors common to every method: [`ErrorKind::ReadOnly`](crate::ErrorKind::ReadOnly) for a write
/// on a read-only store, [`ErrorKind::Locked`](crate::ErrorKind::Locked) when the lock did not come
/// in time, [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when the backend cannot be
/// reached, [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt) when stored data does not parse,
/// [`ErrorKind::Backend`](crate::ErrorKind::Backend) for other I/O or database failures.
pub trait Store: Send + Sync {
    // === required: the reads ===================================================================

    /// Whether the store refuses writes.
    fn is_read_only(&self) -> bool;

    /// Every user that has anything stored, sorted.
    ///
    /// # Errors
    ///
    /// The common errors (see the trait).
    fn users(&self) -> impl Future<Output = Result<Vec<User>>> + Send;

    /// The stored event (active or cancelled), or `None`.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn get_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<StoredEvent>>> + Send;

    /// Every object of the user, by kind.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn list_events(&self, user: &User) -> impl Future<Output = Result<EventList>> + Send;

    /// The separately stored instances of one event with their status, sorted by rid.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn instances(
        &self,
        user: &User,
        uid: &Uid,
    ) -> impl Future<Output = Result<Vec<(Rid, EventStatus)>>> + Send;

    /// The queue in order.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn requests(&self, user: &User) -> impl Future<Output = Result<Vec<Request>>> + Send;

    /// What `other` proposed, or `None`.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn get_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Every proposal of the user as (uid, rid, other), sorted: what `copy`, `list` and `check`
    /// walk.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn counters(
        &self,
        user: &User,
    ) -> impl Future<Output = Result<Vec<(Uid, Option<Rid>, Other)>>> + Send;

    /// The whole table in order (for offers: only unexpired periods).
    ///
    /// # Errors
    ///
    /// The common errors.
    fn freebusy(
        &self,
        user: &User,
        table: &Table,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send;

    /// The other participants that have a `freebusy-other` table, sorted.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn others(&self, user: &User) -> impl Future<Output = Result<Vec<Other>>> + Send;

    /// The providers table.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn providers(&self, user: &User) -> impl Future<Output = Result<Versioned<Providers>>> + Send;

    /// Every preference of the user.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn preferences(
        &self,
        user: &User,
    ) -> impl Future<Output = Result<BTreeMap<PrefName, String>>> + Send;

    // === required: the one write ===============================================================

    /// Applies every change of `step` for `user` as one unit: either all of them or, on an
    /// error, none (one transaction in PostgreSQL, one lock and a redo record in the file
    /// store), and answers one [`Outcome`] per change. Conditions ([`Change::Expect`]) are
    /// checked first; a [`Change::Reserve`] refuses the whole step with
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) when the slot is taken. The effect of each
    /// change is described once, in [`change`]; every provided write is this method with one.
    ///
    /// # Errors
    ///
    /// Invalid input, writing nothing, when [`Step::check`] fails; stale when a condition
    /// fails; busy as above; not found for [`Change::CancelStored`] and [`Change::Uncancel`]
    /// without the copy to move; the common errors.
    fn apply_step(&self, user: &User, step: &Step) -> impl Future<Output = Result<Applied>> + Send;

    /// The database this store lives in, for a journal of the same backend to write a step and
    /// its own changes in one transaction ([`crate::journal::apply_together`]); `None` (the
    /// default) for a backend that cannot.
    fn database(&self) -> Option<crate::journal::Database> {
        None
    }

    // === provided reads (a backend may override them where it is faster) =======================

    /// What [`Store::users`] leaves out because it is not a user as the backend keeps users:
    /// for the file store an entry of the root that is a symbolic link, a file, or a name that
    /// does not decode or is not the canonical encoding of a user. One error each (corrupt
    /// data, naming the place). A program that works on every user (the cron job, copy, check)
    /// must report these and say so in its outcome: a listing never skips an entry silently. The
    /// default, for backends whose listing cannot skip anything, is none.
    ///
    /// # Errors
    ///
    /// The common errors (the listing itself failed).
    fn unlisted_users(&self) -> impl Future<Output = Result<Vec<crate::Error>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// The stored objects of each of `uids` (one [`EventFamily`] per uid, in the order given,
    /// with neither parent nor instances for an unknown uid), read together: the cron job's bulk
    /// read. The default calls `get_event` and `instances`; backends read under one lock or in
    /// one statement.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn load_events(
        &self,
        user: &User,
        uids: &[Uid],
    ) -> impl Future<Output = Result<Vec<EventFamily>>> + Send {
        defaults::load_events(self, user, uids)
    }

    /// Whether (uid, rid) is queued, with `method` when given.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn have_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: Option<QueueKind>,
    ) -> impl Future<Output = Result<bool>> + Send {
        async move {
            let queue = self.requests(user).await?;
            Ok(queue.iter().any(|r| {
                &r.uid == uid && r.rid.as_ref() == rid && method.is_none_or(|m| m == r.method)
            }))
        }
    }

    /// The participants with a proposal for (uid, rid), sorted. The default filters
    /// [`Store::counters`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn counter_proposers(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<Vec<Other>>> + Send {
        async move {
            let all = self.counters(user).await?;
            let mut out: Vec<Other> = all
                .into_iter()
                .filter(|(u, r, _)| u == uid && r.as_ref() == rid)
                .map(|(_, _, o)| o)
                .collect();
            out.sort();
            out.dedup();
            Ok(out)
        }
    }

    /// The instance rids of `uid` that have proposals, sorted. The default filters
    /// [`Store::counters`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn counter_rids(
        &self,
        user: &User,
        uid: &Uid,
    ) -> impl Future<Output = Result<Vec<Rid>>> + Send {
        async move {
            let all = self.counters(user).await?;
            let mut out: Vec<Rid> = all
                .into_iter()
                .filter(|(u, _, _)| u == uid)
                .filter_map(|(_, r, _)| r)
                .collect();
            out.sort();
            out.dedup();
            Ok(out)
        }
    }

    /// The periods overlapping [start, end), in order. The default filters the whole table;
    /// backends answer in O(log n + k).
    ///
    /// # Errors
    ///
    /// The common errors.
    fn freebusy_in(
        &self,
        user: &User,
        table: &Table,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<Versioned<Vec<Period>>>> + Send {
        async move {
            let mut all = self.freebusy(user, table).await?;
            all.value.retain(|p| p.overlaps(start, end));
            Ok(all)
        }
    }

    /// The table's current version alone (`Version(0)` for an absent table), without reading
    /// its periods. The default reads the table.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn table_version(
        &self,
        user: &User,
        table: &Table,
    ) -> impl Future<Output = Result<Version>> + Send {
        async move { Ok(self.freebusy(user, table).await?.version) }
    }

    /// The busy periods of other events overlapping `periods`.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn conflicts(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> impl Future<Output = Result<Vec<Period>>> + Send {
        async move {
            let mut found = Vec::new();
            for p in periods {
                let near = self.freebusy_in(user, table, p.start, p.end).await?.value;
                found.extend(crate::period::conflicts(&near, std::slice::from_ref(p)));
            }
            Ok(crate::period::normalise(found))
        }
    }

    /// Whether none of `periods` conflicts.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn can_schedule(
        &self,
        user: &User,
        table: &Table,
        periods: &[Period],
    ) -> impl Future<Output = Result<bool>> + Send {
        async move { Ok(self.conflicts(user, table, periods).await?.is_empty()) }
    }

    /// One preference, or `None`. The default reads them all.
    ///
    /// # Errors
    ///
    /// The common errors.
    fn preference(
        &self,
        user: &User,
        name: &PrefName,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async move { Ok(self.preferences(user).await?.remove(name)) }
    }

    // === provided writes: one step each ========================================================

    /// Stores an event (parent when `rid` is `None`) as active, replacing any active or cancelled
    /// copy. The text is kept byte for byte. [`Change::PutEvent`].
    ///
    /// # Errors
    ///
    /// Invalid input when the text is not iCalendar with exactly one VEVENT, or its UID or
    /// normalised RECURRENCE-ID differs from (uid, rid); nothing is written then.
    fn put_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::PutEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
            text: text.to_owned(),
        };
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }

    /// Removes an event, active or cancelled; removing a parent removes its instances too.
    /// Returns whether anything was removed. [`Change::RemoveEvent`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn remove_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = Change::RemoveEvent {
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { Ok(write(self, user, change.into()).await?.changed()) }
    }

    /// Moves an active event aside as cancelled, keeping its text. [`Change::CancelStored`].
    ///
    /// # Errors
    ///
    /// Not found when there is no active copy.
    fn cancel_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::CancelStored {
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }

    /// Brings a cancelled event back as active. [`Change::Uncancel`].
    ///
    /// # Errors
    ///
    /// Not found when there is no cancelled copy.
    fn uncancel_event(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::Uncancel {
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }

    /// Appends a request unless an entry for (uid, rid) with the same method is queued; returns
    /// whether it was added. Atomic: two agents queueing the same request leave one entry.
    /// [`Change::Queue`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn queue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = Change::Queue(step::request(uid, rid, method));
        async move { Ok(write(self, user, change.into()).await?.changed()) }
    }

    /// Removes every entry for (uid, rid); returns whether any was there. [`Change::Dequeue`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn dequeue_request(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = Change::Dequeue {
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { Ok(write(self, user, change.into()).await?.changed()) }
    }

    /// Replaces the whole queue (repeated entries are kept once, at their first place).
    /// [`Change::SetRequests`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn set_requests(
        &self,
        user: &User,
        requests: &[Request],
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::SetRequests(requests.to_vec());
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }

    /// One incoming request with its periods already computed: stores the object (as active),
    /// replaces the event's periods in the user's own `freebusy` table, marks or unmarks the
    /// event in the providers table (a parent whose rule has no end and that has periods is
    /// marked, so that the cron job extends it), and queues the request — one [`Step`]
    /// ([`Step::for_incoming`]) applied with [`Store::apply_step`], so atomic as that is.
    /// Returns the new version of `freebusy`. The agent's own steps ([`crate::agent`]) compute
    /// the periods themselves.
    ///
    /// # Errors
    ///
    /// Invalid input, writing nothing, when a period belongs to another event than (uid, rid) or
    /// the text is not one VEVENT of (uid, rid) (as [`Store::put_event`]); the common errors.
    fn store_incoming(
        &self,
        user: &User,
        incoming: &Incoming,
    ) -> impl Future<Output = Result<Version>> + Send {
        defaults::store_incoming(self, user, incoming)
    }

    /// Stores or replaces what `other` proposed for (uid, rid). [`Change::PutCounter`].
    ///
    /// # Errors
    ///
    /// Invalid input when the text is not iCalendar with one VEVENT of that UID.
    fn put_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
        text: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::PutCounter {
            other: other.clone(),
            uid: uid.clone(),
            rid: rid.cloned(),
            text: text.to_owned(),
        };
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }

    /// Removes one proposal; returns whether it was there. [`Change::RemoveCounter`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn remove_counter(
        &self,
        user: &User,
        other: &Other,
        uid: &Uid,
        rid: Option<&Rid>,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = Change::RemoveCounter {
            other: other.clone(),
            uid: uid.clone(),
            rid: rid.cloned(),
        };
        async move { Ok(write(self, user, change.into()).await?.changed()) }
    }

    /// Removes the proposals for (uid, rid) — for the parent also those of every instance — or only
    /// `only`'s; returns how many were removed. [`Change::RemoveCounters`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn remove_counters(
        &self,
        user: &User,
        uid: &Uid,
        rid: Option<&Rid>,
        only: Option<&Other>,
    ) -> impl Future<Output = Result<usize>> + Send {
        let change = Change::RemoveCounters {
            uid: uid.clone(),
            rid: rid.cloned(),
            only: only.cloned(),
        };
        async move { Ok(write(self, user, change.into()).await?.count()) }
    }

    /// Replaces the whole table (an empty list removes it). [`Change::SetFreeBusy`].
    ///
    /// # Errors
    ///
    /// Invalid input for an invalid period; stale when `expect` is stale.
    fn set_freebusy(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::SetFreeBusy {
                table: table.clone(),
                periods,
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Removes every period of (uid, rid) and inserts `periods`, atomically: the everyday update.
    /// [`Change::ReplaceEventPeriods`].
    ///
    /// # Errors
    ///
    /// Invalid input when a period belongs to another event; stale when `expect` is stale.
    fn replace_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        periods: Vec<Period>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::ReplaceEventPeriods {
                table: table.clone(),
                uid: uid.clone(),
                rid: rid.cloned(),
                periods,
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Removes every period of `uid` (the parent's and every instance's) and inserts `periods`
    /// (all of that uid), atomically: the update after an event and its instances were expanded.
    /// [`Change::ReplaceUidPeriods`].
    ///
    /// # Errors
    ///
    /// Invalid input when a period belongs to another uid.
    fn replace_uid_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = Change::ReplaceUidPeriods {
            table: table.clone(),
            uid: uid.clone(),
            periods,
        };
        async move { Ok(write(self, user, change.into()).await?.version()) }
    }

    /// Removes every period of each uid in `uids` and inserts `periods` (all of those uids),
    /// atomically: [`Store::replace_uid_periods`] for many events at once (the import's batches,
    /// [`crate::refresh::refresh_events`]). [`Change::ReplaceUidsPeriods`].
    ///
    /// # Errors
    ///
    /// Invalid input when a period belongs to none of `uids`.
    fn replace_uids_periods(
        &self,
        user: &User,
        table: &Table,
        uids: &[Uid],
        periods: Vec<Period>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let change = Change::ReplaceUidsPeriods {
            table: table.clone(),
            uids: uids.to_vec(),
            periods,
        };
        async move { Ok(write(self, user, change.into()).await?.version()) }
    }

    /// Removes the periods of (uid, rid); returns the new version. [`Change::RemoveEventPeriods`].
    ///
    /// # Errors
    ///
    /// Stale when `expect` is stale.
    fn remove_event_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        rid: Option<&Rid>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::RemoveEventPeriods {
                table: table.clone(),
                uid: uid.clone(),
                rid: rid.cloned(),
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Removes the instance periods of `uid` whose rid is not in `keep`.
    /// [`Change::RemoveAdditionalPeriods`].
    ///
    /// # Errors
    ///
    /// Stale when `expect` is stale.
    fn remove_additional_periods(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        keep: &[Rid],
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::RemoveAdditionalPeriods {
                table: table.clone(),
                uid: uid.clone(),
                keep: keep.to_vec(),
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Removes the parent's period of `uid` that starts at `start` (replaced by a stored
    /// instance). [`Change::RemoveAffectedPeriod`].
    ///
    /// # Errors
    ///
    /// Stale when `expect` is stale.
    fn remove_affected_period(
        &self,
        user: &User,
        table: &Table,
        uid: &Uid,
        start: DateTime<Utc>,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::RemoveAffectedPeriod {
                table: table.clone(),
                uid: uid.clone(),
                start,
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Checks that `periods` (all of one event) leave at most `capacity` simultaneous busy periods
    /// of other events, and replaces the event's periods with them, in one atomic step.
    /// [`Change::Reserve`].
    ///
    /// # Errors
    ///
    /// Busy, changing nothing, when they would not fit; stale when `expect` is stale; invalid input
    /// when the periods are not of one event.
    fn reserve(
        &self,
        user: &User,
        table: &Table,
        periods: Vec<Period>,
        capacity: usize,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let step = guarded(
            table,
            expect,
            Change::Reserve {
                table: table.clone(),
                periods,
                capacity,
            },
        );
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Replaces the providers table. [`Change::SetProviders`].
    ///
    /// # Errors
    ///
    /// Stale when `expect` is stale.
    fn set_providers(
        &self,
        user: &User,
        providers: &Providers,
        expect: Option<Version>,
    ) -> impl Future<Output = Result<Version>> + Send {
        let mut step = Step::default();
        if let Some(v) = expect {
            step.push(Change::ExpectProviders(v));
        }
        step.push(Change::SetProviders(providers.clone()));
        async move { Ok(write(self, user, step).await?.version()) }
    }

    /// Adds `uid` (the parent) to the providers table when `present`, else removes every entry of
    /// `uid`; writes nothing and keeps the version when nothing changes. Returns whether the table
    /// changed. [`Change::MarkProvider`].
    ///
    /// # Errors
    ///
    /// The common errors.
    fn mark_provider(
        &self,
        user: &User,
        uid: &Uid,
        present: bool,
    ) -> impl Future<Output = Result<bool>> + Send {
        let change = Change::MarkProvider {
            uid: uid.clone(),
            present,
        };
        async move { Ok(write(self, user, change.into()).await?.changed()) }
    }

    /// Sets (`Some`) or removes (`None`) one preference. [`Change::SetPreference`].
    ///
    /// # Errors
    ///
    /// Invalid input for a value with a NUL character.
    fn set_preference(
        &self,
        user: &User,
        name: &PrefName,
        value: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send {
        let change = Change::SetPreference {
            name: name.clone(),
            value: value.map(str::to_owned),
        };
        async move { write(self, user, change.into()).await.map(|_| ()) }
    }
}
