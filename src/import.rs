//! The import path (`calstore import` and any other bulk load): objects are gathered into
//! batches, and each batch — its objects, their periods in the user's own `freebusy` table and
//! their places in the providers table, with the window end the import expanded to — is written
//! as one [`Step`] with [`Store::apply_step`]: one transaction on PostgreSQL, one redo record on
//! files. A process killed at any instant therefore leaves either the whole batch or none of it,
//! and the table always says what the stored objects imply (issue 21, item 1).
//!
//! Why batches: the agent's update after one object ([`crate::refresh::refresh_event`]) rewrites the
//! user's `freebusy` table, and in the file store that table is one file, so importing n objects
//! that way writes O(n²) bytes; and a durable write per object costs one fsync each. A batch is
//! written when [`BatchLimits::objects`] objects wait, when the oldest has waited
//! [`BatchLimits::age`], and at [`Importer::finish`]; it is durable when its step returns.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::id::{Rid, Uid, User};
use crate::object::EventObject;
use crate::period::Period;
use crate::recurrence::{self, ExpandOptions, Expansion};
use crate::store::{Change, EventFamily, EventStatus, Step, Store, Table};

/// When an [`Importer`] writes a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// At most this many objects wait before their batch is written.
    pub objects: usize,
    /// An object is written at most this long after it was given (checked when the next object
    /// is given, and at the end).
    pub age: Duration,
}

impl Default for BatchLimits {
    /// 1,000 objects or one second: the table write is then a small share of the import, and
    /// readers see an import that runs at disk speed about a second late.
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
    /// in the table are as they were before the import (`check` reports them, and the cron job
    /// keeps trying).
    pub failed: Vec<(Uid, Error)>,
}

/// Stores one user's objects in batches, each with its periods (see the module).
#[derive(Debug)]
pub struct Importer<'a, S> {
    store: &'a S,
    user: User,
    opts: ExpandOptions,
    limits: BatchLimits,
    /// Objects given since the last batch, in order.
    pending: Vec<EventObject>,
    /// When the first of them was given.
    oldest: Option<Instant>,
    done: Imported,
}

impl<'a, S: Store> Importer<'a, S> {
    /// An importer for `user`, expanding with `opts` (from [`crate::refresh::Settings::expand_options`]),
    /// with the default [`BatchLimits`].
    pub fn new(store: &'a S, user: User, opts: ExpandOptions) -> Self {
        Importer {
            store,
            user,
            opts,
            limits: BatchLimits::default(),
            pending: Vec::new(),
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

    /// Adds `object` (a parent or an instance) to the batch, and writes the batch if it is full
    /// or old enough. The object is stored, with its periods, when its batch is written.
    ///
    /// # Errors
    ///
    /// The store's errors writing the batch; its objects then stay waiting, so that a later
    /// [`Importer::flush`] or [`Importer::finish`] writes them.
    pub async fn put(&mut self, object: &EventObject) -> Result<()> {
        self.pending.push(object.clone());
        let oldest = *self.oldest.get_or_insert_with(Instant::now);
        if self.pending.len() >= self.limits.objects || oldest.elapsed() >= self.limits.age {
            self.flush().await?;
        }
        Ok(())
    }

    /// Objects given whose batch is not written yet.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// Writes the waiting objects now as one batch: one [`Store::apply_step`] holding every
    /// object, one replacement of their uids' periods and one providers change
    /// ([`batch_step`]).
    ///
    /// # Errors
    ///
    /// The store's errors; the objects then stay waiting (a lock that did not come in time may
    /// come next time). An event that does not expand is recorded in [`Imported::failed`].
    pub async fn flush(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let (step, report) =
                batch_step(self.store, &self.user, &self.pending, &self.opts).await?;
            self.store.apply_step(&self.user, &step).await?;
            self.done.objects += self.pending.len();
            self.done.periods += report.periods;
            self.done.failed.extend(report.failed);
            self.pending.clear();
        }
        self.oldest = None;
        Ok(())
    }

    /// Writes the waiting objects and reports the whole import.
    ///
    /// # Errors
    ///
    /// As [`Importer::flush`].
    pub async fn finish(mut self) -> Result<Imported> {
        self.flush().await?;
        Ok(self.done)
    }
}

/// How many uids one [`Store::load_events`] of [`batch_step`] reads.
const LOAD_CHUNK: usize = 256;

/// The step that stores `objects` for `user` together with what they imply: every object
/// ([`Change::PutEvent`], the last of a key winning), the periods of their uids expanded from
/// what is stored with the objects put over it ([`Change::ReplaceUidsPeriods`]), and the uids'
/// provider marks with the window end `opts` expands to ([`Change::MarkProviders`], which lowers
/// a later recorded end: [`crate::refresh::record_horizon`]). Also returns the periods written and the
/// events that did not expand (their objects are in the step, their rows are left as they are).
///
/// # Errors
///
/// The store's errors reading the stored objects of the uids.
pub async fn batch_step<S: Store>(
    store: &S,
    user: &User,
    objects: &[EventObject],
    opts: &ExpandOptions,
) -> Result<(Step, Imported)> {
    // The last object of each key wins, as storing them one after the other would leave.
    let mut latest: BTreeMap<(Uid, Option<Rid>), &EventObject> = BTreeMap::new();
    for o in objects {
        latest.insert((o.uid().clone(), o.rid().cloned()), o);
    }
    let uids: Vec<Uid> = latest
        .keys()
        .map(|(u, _)| u.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut report = Imported::default();
    let mut step = Step::default();
    for ((uid, rid), o) in &latest {
        step.push(Change::PutEvent {
            uid: uid.clone(),
            rid: rid.clone(),
            text: o.text().to_owned(),
        });
    }
    let mut written: Vec<Uid> = Vec::with_capacity(uids.len());
    let mut periods: Vec<Period> = Vec::new();
    let mut marks: Vec<(Uid, bool)> = Vec::with_capacity(uids.len());
    for chunk in uids.chunks(LOAD_CHUNK) {
        for family in load_families(store, user, chunk, &mut report).await? {
            match expand_overlaid(user, &family, &latest, opts) {
                Ok(exp) => {
                    marks.push((family.uid.clone(), exp.unbounded));
                    written.push(family.uid);
                    periods.extend(exp.periods);
                }
                Err(e) => report.failed.push((family.uid, e)),
            }
        }
    }
    report.periods = periods.len();
    if !written.is_empty() {
        step.push(Change::ReplaceUidsPeriods {
            table: Table::FreeBusy,
            uids: written,
            periods,
        });
    }
    step.push(Change::MarkProviders {
        marks,
        horizon: Some(opts.window_end),
    });
    Ok((step, report))
}

/// The stored families of `uids`; when the bulk read meets a damaged object, each uid is read on
/// its own and the damaged ones are reported (their new objects are still stored).
async fn load_families<S: Store>(
    store: &S,
    user: &User,
    uids: &[Uid],
    report: &mut Imported,
) -> Result<Vec<EventFamily>> {
    let skippable = |e: &Error| matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::InvalidInput);
    match store.load_events(user, uids).await {
        Ok(f) => Ok(f),
        Err(e) if skippable(&e) => {
            let mut out = Vec::with_capacity(uids.len());
            for uid in uids {
                match store.load_events(user, std::slice::from_ref(uid)).await {
                    Ok(f) => out.extend(f),
                    Err(e) if skippable(&e) => report.failed.push((uid.clone(), e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        Err(e) => Err(e),
    }
}

/// Expands `family` as it will be once the batch's objects of its uid are stored (as active):
/// the batch's objects are used as parsed, and only the stored objects they do not replace are
/// parsed (as [`crate::refresh::expand_family`] would).
fn expand_overlaid(
    user: &User,
    family: &EventFamily,
    latest: &BTreeMap<(Uid, Option<Rid>), &EventObject>,
    opts: &ExpandOptions,
) -> Result<Expansion> {
    let uid = &family.uid;
    let mut new_parent = None;
    let mut new_instances: BTreeMap<&Rid, &EventObject> = BTreeMap::new();
    for ((_, rid), o) in latest
        .range((uid.clone(), None)..)
        .take_while(|((u, _), _)| u == uid)
    {
        match rid {
            None => new_parent = Some(*o),
            Some(r) => {
                new_instances.insert(r, o);
            }
        }
    }
    let corrupt = |rid: Option<&Rid>, e: Error| {
        Error::corrupt(format!(
            "stored object of {user} uid {:?}{} does not parse: {}",
            uid.as_str(),
            rid.map(|r| format!(" rid {r}")).unwrap_or_default(),
            e.message()
        ))
    };
    let parent = match (new_parent, &family.parent) {
        (Some(o), _) => Some(o.clone()),
        (None, Some(stored)) if stored.status == EventStatus::Active => {
            Some(EventObject::parse(&stored.text).map_err(|e| corrupt(None, e))?)
        }
        // A cancelled parent contributes nothing, and neither do its instances.
        (None, Some(_)) => {
            return Ok(Expansion {
                periods: Vec::new(),
                unbounded: false,
            })
        }
        (None, None) => None,
    };
    let mut instances = Vec::with_capacity(family.instances.len() + new_instances.len());
    for (rid, stored) in &family.instances {
        if !new_instances.contains_key(rid) {
            let o = EventObject::parse(&stored.text).map_err(|e| corrupt(Some(rid), e))?;
            instances.push((o, stored.status));
        }
    }
    instances.extend(
        new_instances
            .values()
            .map(|o| ((*o).clone(), EventStatus::Active)),
    );
    // In recurrence-id order, as the store lists them.
    instances.sort_by(|a, b| a.0.rid().cmp(&b.0.rid()));
    recurrence::expand(user, parent.as_ref(), &instances, opts)
}
