//! The import path (`calstore import` and any other bulk load): objects are stored one at a time,
//! each durable before the next, and the user's own free/busy follows in batches.
//!
//! Why batches: the agent's update after one object ([`refresh::refresh_event`]) rewrites the
//! user's `freebusy` table, and in the file store that table is one file, so importing n objects
//! that way writes O(n²) bytes and spends most of its time on the table (docs/performance.md,
//! `ingest`). Periods are derived from the stored objects, so they are written for many objects
//! at once: when [`BatchLimits::objects`] objects wait, when the oldest has waited
//! [`BatchLimits::age`], and at [`Importer::finish`].
//!
//! If the process dies between an object's store and the next batch, the object is stored but
//! its periods are not in the table yet; importing the same files again, or
//! `make-freebusy --reset`, puts them there (both are idempotent).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::id::{Uid, User};
use crate::object::EventObject;
use crate::recurrence::ExpandOptions;
use crate::refresh;
use crate::store::Store;

/// When an [`Importer`] writes the periods of the objects stored so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// At most this many objects are stored before their periods are written.
    pub objects: usize,
    /// The periods of an object are written at most this long after it was stored (checked
    /// when the next object is stored, and at the end).
    pub age: Duration,
}

impl Default for BatchLimits {
    /// 1,000 objects or one second: the table write is then a small share of the import, and
    /// readers see the periods of an import that runs at disk speed about a second late.
    fn default() -> Self {
        BatchLimits {
            objects: 1000,
            age: Duration::from_secs(1),
        }
    }
}

/// What an import stored and wrote.
#[derive(Debug, Default)]
pub struct Imported {
    /// Objects stored.
    pub objects: usize,
    /// Periods written to the user's `freebusy` table.
    pub periods: usize,
    /// Events that could not be expanded, with the reason. Their objects are stored; their rows
    /// in the table are as they were before the import.
    pub failed: Vec<(Uid, Error)>,
}

/// Stores one user's objects and keeps their free/busy following in batches (see the module).
#[derive(Debug)]
pub struct Importer<'a, S> {
    store: &'a S,
    user: User,
    opts: ExpandOptions,
    limits: BatchLimits,
    /// Uids stored since the last batch.
    pending: BTreeSet<Uid>,
    /// Objects stored since the last batch (an event's instances count one each).
    waiting: usize,
    /// When the first of them was stored.
    oldest: Option<Instant>,
    done: Imported,
}

impl<'a, S: Store> Importer<'a, S> {
    /// An importer for `user`, expanding with `opts` (from [`refresh::Settings::expand_options`]),
    /// with the default [`BatchLimits`].
    pub fn new(store: &'a S, user: User, opts: ExpandOptions) -> Self {
        Importer {
            store,
            user,
            opts,
            limits: BatchLimits::default(),
            pending: BTreeSet::new(),
            waiting: 0,
            oldest: None,
            done: Imported::default(),
        }
    }

    /// The same importer with other batch limits (an `objects` of 0 counts as 1: every object
    /// is its own batch).
    #[must_use]
    pub fn with_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Stores `object` (durable when this returns) as a parent or an instance under the user,
    /// then writes the periods of the waiting objects if the batch is full or old enough.
    ///
    /// # Errors
    ///
    /// The store's errors for the object (nothing of it is stored) or for the batch's table
    /// write.
    pub async fn put(&mut self, object: &EventObject) -> Result<()> {
        self.store
            .put_event(&self.user, object.uid(), object.rid(), object.text())
            .await?;
        self.done.objects += 1;
        self.waiting += 1;
        self.pending.insert(object.uid().clone());
        let oldest = *self.oldest.get_or_insert_with(Instant::now);
        if self.waiting >= self.limits.objects || oldest.elapsed() >= self.limits.age {
            self.flush().await?;
        }
        Ok(())
    }

    /// Objects stored whose periods are not written yet.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Writes the periods of every waiting object now: one table write and at most one
    /// providers write ([`refresh::refresh_events`]).
    ///
    /// # Errors
    ///
    /// The store's errors; the objects then stay waiting, so that a later `flush` or
    /// [`Importer::finish`] writes their periods (a lock that did not come in time may come
    /// next time). An event that does not expand is recorded in [`Imported::failed`].
    pub async fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let uids: Vec<Uid> = self.pending.iter().cloned().collect();
            let r = refresh::refresh_events(self.store, &self.user, &uids, &self.opts).await?;
            self.pending.clear();
            self.done.periods += r.periods;
            self.done.failed.extend(r.failed);
        }
        self.waiting = 0;
        self.oldest = None;
        Ok(())
    }

    /// Writes the periods of the waiting objects and reports the whole import.
    ///
    /// # Errors
    ///
    /// As [`Importer::flush`].
    pub async fn finish(mut self) -> Result<Imported> {
        self.flush().await?;
        Ok(self.done)
    }
}
