//! [`Store::apply_step`](calstore::Store::apply_step) on files, the store's one write: each
//! [`Change`] is implemented once, in [`StoreInner::change`], on the same operations the
//! layout offers (objects, queue, counters, tables, providers, preferences).
//!
//! A step that is one write (with at most a condition on the table it writes) is that
//! operation alone: each is atomic under the user's lock and needs no record. A step of several
//! changes runs every change under the user's one exclusive lock, so that no other writer
//! (process or task) runs between them; the operations take the lock again, which the thread
//! already holds ([`crate::lock`] lets a thread re-enter its own exclusive lock). Its conditions
//! are checked under that lock before anything is written.
//!
//! Across a crash such a step is all or nothing through its redo record ([`crate::step_log`]):
//! written before the first change, removed after the last, and applied again by
//! [`StoreInner::recover`], which every call on the user runs first.

use std::path::PathBuf;

use calstore::{Applied, Change, Error, ErrorKind, Outcome, Result, Step, User, Version};

use crate::atomic;
use crate::layout::{self, LOCK_FILE};
use crate::lock;
use crate::prefs;
use crate::step_log;
use crate::users::StoreInner;
use crate::version;

/// The redo record's name in the user's directory.
const STEP_FILE: &str = ".step";

impl StoreInner {
    /// Applies a step: one write on its own (the operation checks its input, as it always
    /// has), several checked ([`Step::check`]) and then applied under the user's lock with a
    /// redo record.
    pub(crate) fn apply_step(&self, user: &User, step: &Step) -> Result<Applied> {
        if let Some((write, expect)) = step.single_write() {
            // A cancellation with its text is two operations: it needs the record.
            if !matches!(write, Change::CancelEvent { .. }) {
                let outcome = self.change(user, write, expect, false)?;
                return Ok(Applied::single(step, outcome));
            }
        }
        step.check()?;
        let what = format!("user {user}");
        self.store.writable(&what, "applying a scheduling step")?;
        if step.is_empty() {
            return Ok(Applied::default());
        }
        let dir = layout::user_dir(&self.store.root, user);
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        self.finish_interrupted(user, &what)?;
        let (conditions, writes): (Vec<&Change>, Vec<&Change>) =
            step.changes.iter().partition(|c| c.is_condition());
        for condition in conditions {
            self.check_condition(user, condition)?;
        }
        let writes = Step {
            changes: writes.into_iter().cloned().collect(),
        };
        for change in &writes.changes {
            refuse_in_record(user, change)?;
        }
        let record = dir.join(STEP_FILE);
        atomic::write_file(
            &record,
            step_log::encode(&writes)?.as_bytes(),
            None,
            self.store.modes,
            &what,
        )?;
        // The record is durable: the changes' own fsyncs wait for one sync of the file system
        // before the record goes (a crash before it replays the record).
        let deferred = atomic::Deferred::start(&dir);
        let applied = match self.apply_changes(user, &writes) {
            Ok(outcomes) => deferred
                .sync(&what)
                .map(|()| outcomes)
                .map_err(|e| (writes.changes.len(), e)),
            Err(e) => {
                drop(deferred);
                Err(e)
            }
        };
        match applied {
            // The first change refused (busy: the reservation comes first): nothing was written.
            Err((0, e)) if matches!(e.kind(), ErrorKind::Busy | ErrorKind::InvalidInput) => {
                atomic::remove_file(&record, &what)?;
                Err(e)
            }
            // Anything else may have stopped half-way: the record stays, and the next call on
            // the user finishes the step.
            Err((_, e)) => Err(e),
            Ok(mut outcomes) => {
                atomic::remove_file(&record, &what)?;
                // The conditions, which the record leaves out, answer nothing.
                let n = step.changes.len() - outcomes.len();
                outcomes.splice(0..0, std::iter::repeat_n(Outcome::Done, n));
                Ok(Applied { outcomes })
            }
        }
    }

    /// A condition, under the user's lock.
    ///
    /// # Errors
    ///
    /// Stale when the table is not at the version the condition names.
    fn check_condition(&self, user: &User, condition: &Change) -> Result<()> {
        match condition {
            Change::Expect { table, version } => {
                let current = self.table(user, table).version()?;
                version::check(
                    Some(*version),
                    current,
                    &format!("user {user}, table {table}"),
                )
            }
            Change::ExpectProviders(version) => {
                let current = self.providers(user)?.version;
                version::check(
                    Some(*version),
                    current,
                    &format!("user {user}, table freebusy-providers"),
                )
            }
            Change::ExpectEvent { family } => {
                let found = self
                    .owner(user)
                    .load_events(std::slice::from_ref(&family.uid))?
                    .pop();
                calstore::store::check_expected(user, family, found.as_ref())
            }
            _ => Ok(()),
        }
    }

    /// Applies the changes in order; on an error, which change failed.
    fn apply_changes(&self, user: &User, step: &Step) -> Result<Vec<Outcome>, (usize, Error)> {
        let mut outcomes = Vec::with_capacity(step.changes.len());
        for (i, change) in step.changes.iter().enumerate() {
            outcomes.push(self.change(user, change, None, true).map_err(|e| (i, e))?);
        }
        Ok(outcomes)
    }

    fn record_dir(&self, user: &User) -> PathBuf {
        layout::user_dir(&self.store.root, user)
    }

    fn record_path(&self, user: &User) -> PathBuf {
        layout::user_dir(&self.store.root, user).join(STEP_FILE)
    }

    /// Finishes a step that a killed process left half-done, before anything reads or writes the
    /// user's data: one `stat` when there is none.
    ///
    /// # Errors
    ///
    /// Read-only (naming the user) when a step is to be finished on a read-only handle: what it
    /// would read could be half a step; corrupt data when the record does not parse; the errors
    /// of applying it.
    pub(crate) fn recover(&self, user: &User) -> Result<()> {
        if !self.record_path(user).exists() {
            return Ok(());
        }
        let what = format!("user {user}");
        if self.store.read_only {
            return Err(Error::read_only(format!(
                "{what}: a scheduling step was interrupted and is not finished yet; open the \
                 store writable (any call finishes it) before reading this user"
            )));
        }
        let dir = layout::user_dir(&self.store.root, user);
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        self.finish_interrupted(user, &what)
    }

    /// [`StoreInner::recover`] for a caller holding the lock.
    fn finish_interrupted(&self, user: &User, what: &str) -> Result<()> {
        let record = self.record_path(user);
        let Some((text, _)) = atomic::read_optional(&record, what)? else {
            return Ok(());
        };
        let step = step_log::decode(&text)
            .map_err(|e| e.context(format!("{what}, {}", record.display())))?;
        let deferred = atomic::Deferred::start(&self.record_dir(user));
        let applied = self.apply_changes(user, &step);
        if applied.is_ok() {
            deferred.sync(what)?;
        } else {
            drop(deferred);
        }
        match applied {
            // The reservation was refused before anything else was applied: nothing to finish.
            Err((0, e)) if e.kind() == ErrorKind::Busy => {}
            Err((_, e)) => return Err(e.context(format!("{what}: finishing an interrupted step"))),
            Ok(_) => {}
        }
        atomic::remove_file(&record, what)?;
        Ok(())
    }

    /// One change: the only place the file store implements each write. `expect` is the
    /// version a one-write step's condition asks of the table written (the operation checks it
    /// under its lock); inside a step of several it is `None`, the conditions having been
    /// checked first.
    pub(crate) fn change(
        &self,
        user: &User,
        change: &Change,
        expect: Option<Version>,
        checked: bool,
    ) -> Result<Outcome> {
        let owner = self.owner(user);
        let table = |t| self.table(user, t);
        Ok(match change {
            Change::Reserve {
                table: t,
                periods,
                capacity,
            } => Outcome::Version(table(t).reserve(periods.clone(), *capacity, expect)?),
            // In a step of several, checked with the whole step before its record was written.
            Change::PutEvent { uid, rid, text } if checked => {
                owner.put_checked_event(uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            Change::PutEvent { uid, rid, text } => {
                owner.put_event(uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            Change::CancelEvent { uid, rid, text } => {
                owner.put_event(uid, rid.as_ref(), text)?;
                owner.move_event(uid, rid.as_ref(), true)?;
                Outcome::Done
            }
            Change::CancelStored { uid, rid } => {
                owner.move_event(uid, rid.as_ref(), true)?;
                Outcome::Done
            }
            Change::Uncancel { uid, rid } => {
                owner.move_event(uid, rid.as_ref(), false)?;
                Outcome::Done
            }
            Change::RemoveEvent { uid, rid } => {
                Outcome::Changed(owner.remove_event(uid, rid.as_ref())?)
            }
            Change::ReplaceUidPeriods {
                table: t,
                uid,
                periods,
            } => self.unconditional(user, t, expect, || {
                table(t).replace_uids(std::slice::from_ref(uid), periods.clone())
            })?,
            Change::ReplaceUidsPeriods {
                table: t,
                uids,
                periods,
            } => self.unconditional(user, t, expect, || {
                table(t).replace_uids(uids, periods.clone())
            })?,
            Change::ReplaceEventPeriods {
                table: t,
                uid,
                rid,
                periods,
            } => Outcome::Version(table(t).replace_event(
                uid,
                rid.as_ref(),
                periods.clone(),
                expect,
            )?),
            Change::SetFreeBusy { table: t, periods } => {
                Outcome::Version(table(t).set(periods.clone(), expect)?)
            }
            Change::RemoveEventPeriods { table: t, uid, rid } => {
                Outcome::Version(table(t).remove_event(uid, rid.as_ref(), expect)?)
            }
            Change::RemoveAdditionalPeriods {
                table: t,
                uid,
                keep,
            } => Outcome::Version(table(t).remove_additional(uid, keep, expect)?),
            Change::RemoveAffectedPeriod {
                table: t,
                uid,
                start,
            } => Outcome::Version(table(t).remove_affected(uid, *start, expect)?),
            Change::MarkProviders { marks, horizon } => {
                let dir = layout::user_dir(&self.store.root, user);
                crate::providers::change(
                    &dir.join("freebusy-providers"),
                    marks,
                    *horizon,
                    &self.store,
                    &format!("user {user}, table freebusy-providers"),
                )?;
                Outcome::Done
            }
            Change::MarkProvider { uid, present } => {
                Outcome::Changed(self.mark_provider(user, uid, *present)?)
            }
            Change::SetProviders(p) => Outcome::Version(self.set_providers(user, p, expect)?),
            Change::Queue(r) => {
                Outcome::Changed(owner.queue_request(&r.uid, r.rid.as_ref(), r.method)?)
            }
            Change::Dequeue { uid, rid } => {
                Outcome::Changed(owner.dequeue_request(uid, rid.as_ref())?)
            }
            Change::SetRequests(requests) => {
                owner.set_requests(requests)?;
                Outcome::Done
            }
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => {
                owner.put_counter(other, uid, rid.as_ref(), text)?;
                Outcome::Done
            }
            Change::RemoveCounter { other, uid, rid } => {
                Outcome::Changed(owner.remove_counter(other, uid, rid.as_ref())?)
            }
            Change::RemoveCounters { uid, rid, only } => {
                Outcome::Count(owner.remove_counters(uid, rid.as_ref(), only.as_ref())?)
            }
            Change::SetPreference { name, value } => {
                prefs::set(&self.prefs, user, name, value.as_deref())?;
                Outcome::Done
            }
            Change::Expect { .. } | Change::ExpectProviders(_) | Change::ExpectEvent { .. } => {
                self.check_condition(user, change)?;
                Outcome::Done
            }
            _ => {
                return Err(Error::invalid(format!(
                    "user {user}: the file store does not know the change {change}"
                )))
            }
        })
    }

    /// A table write whose operation takes no version: with one, the check and the write run
    /// under the user's lock.
    fn unconditional(
        &self,
        user: &User,
        table: &calstore::Table,
        expect: Option<Version>,
        write: impl FnOnce() -> Result<Version>,
    ) -> Result<Outcome> {
        let Some(version) = expect else {
            return write().map(Outcome::Version);
        };
        let what = format!("user {user}, table {table}");
        let dir = layout::user_dir(&self.store.root, user);
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        version::check(Some(version), self.table(user, table).version()?, &what)?;
        write().map(Outcome::Version)
    }
}

/// Refuses, before anything is written, a change that could fail half-way through a step of
/// several on what is stored, leaving a redo record that could never be finished: moving a copy
/// that may not be there (`CancelStored`, `Uncancel`; a step cancels with
/// [`Change::CancelEvent`], which carries the text) and a preference value the file cannot hold.
fn refuse_in_record(user: &User, change: &Change) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::invalid(format!(
            "user {user}: {change}: {why} in a step of several on the file store"
        )))
    };
    match change {
        Change::CancelStored { .. } | Change::Uncancel { .. } => {
            refuse("a move of a stored copy is a write of its own, not a change")
        }
        Change::SetPreference { value: Some(v), .. } if v.ends_with(['\n', '\r']) => {
            refuse("a preference value must not end with a line break")
        }
        _ => Ok(()),
    }
}
