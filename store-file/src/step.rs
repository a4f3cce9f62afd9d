//! [`Store::apply_step`](calstore::Store::apply_step) on files: every change of the step under
//! the user's one exclusive lock, so that no other writer (process or task) runs between them.
//! The changes are the same operations as the single calls; they take the lock again, which the
//! thread already holds ([`crate::lock`] lets a thread re-enter its own exclusive lock).
//!
//! Across a crash the step is all or nothing through its redo record ([`crate::step_log`]):
//! written before the first change, removed after the last, and applied again by
//! [`StoreInner::recover`], which every call on the user runs first.

use std::path::PathBuf;

use calstore::{Change, Error, ErrorKind, Result, Step, User};

use crate::atomic;
use crate::layout::{self, LOCK_FILE};
use crate::lock;
use crate::step_log;
use crate::users::StoreInner;

/// The redo record's name in the user's directory.
const STEP_FILE: &str = ".step";

impl StoreInner {
    /// Applies a checked step under the user's lock.
    pub(crate) fn apply_step(&self, user: &User, step: &Step) -> Result<()> {
        let what = format!("user {user}");
        self.store.writable(&what, "applying a scheduling step")?;
        if step.is_empty() {
            return Ok(());
        }
        let dir = layout::user_dir(&self.store.root, user);
        let _guard = lock::exclusive(&dir.join(LOCK_FILE), &self.store, &what)?;
        self.finish_interrupted(user, &what)?;
        // Expectations are checked under the lock before anything is written, and are not part
        // of the redo record: a step finished after a crash must not fail on what it changed.
        let mut writes = Step::default();
        for change in &step.changes {
            match change {
                Change::Expect { family } => {
                    let found = self
                        .owner(user)
                        .load_events(std::slice::from_ref(&family.uid))?
                        .pop();
                    calstore::store::check_expected(user, family, found.as_ref())?;
                }
                other => writes.push(other.clone()),
            }
        }
        let step = &writes;
        if step.is_empty() {
            return Ok(());
        }
        let record = dir.join(STEP_FILE);
        atomic::write_file(
            &record,
            step_log::encode(step).as_bytes(),
            None,
            self.store.modes,
            &what,
        )?;
        match self.apply_changes(user, step) {
            // The first change refused (busy: the reservation comes first): nothing was written.
            Err((0, e)) if matches!(e.kind(), ErrorKind::Busy | ErrorKind::InvalidInput) => {
                atomic::remove_file(&record, &what)?;
                Err(e)
            }
            // Anything else may have stopped half-way: the record stays, and the next call on
            // the user finishes the step.
            Err((_, e)) => Err(e),
            Ok(()) => {
                atomic::remove_file(&record, &what)?;
                Ok(())
            }
        }
    }

    /// Applies the changes in order; on an error, which change failed.
    fn apply_changes(&self, user: &User, step: &Step) -> Result<(), (usize, Error)> {
        for (i, change) in step.changes.iter().enumerate() {
            self.apply_change(user, change).map_err(|e| (i, e))?;
        }
        Ok(())
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
        match self.apply_changes(user, &step) {
            // The reservation was refused before anything else was applied: nothing to finish.
            Err((0, e)) if e.kind() == ErrorKind::Busy => {}
            Err((_, e)) => return Err(e.context(format!("{what}: finishing an interrupted step"))),
            Ok(()) => {}
        }
        atomic::remove_file(&record, what)?;
        Ok(())
    }

    fn apply_change(&self, user: &User, change: &Change) -> Result<()> {
        let owner = self.owner(user);
        match change {
            Change::Reserve {
                table,
                periods,
                capacity,
            } => {
                self.table(user, table)
                    .reserve(periods.clone(), *capacity, None)?;
            }
            Change::PutEvent { uid, rid, text } => owner.put_event(uid, rid.as_ref(), text)?,
            Change::CancelEvent { uid, rid, text } => {
                owner.put_event(uid, rid.as_ref(), text)?;
                owner.move_event(uid, rid.as_ref(), true)?;
            }
            Change::ReplaceUidPeriods {
                table,
                uid,
                periods,
            } => {
                self.table(user, table)
                    .replace_uids(std::slice::from_ref(uid), periods.clone())?;
            }
            Change::ReplaceEventPeriods {
                table,
                uid,
                rid,
                periods,
            } => {
                self.table(user, table)
                    .replace_event(uid, rid.as_ref(), periods.clone(), None)?;
            }
            Change::MarkProvider { uid, present } => {
                self.mark_provider(user, uid, *present)?;
            }
            Change::Queue(r) => {
                owner.queue_request(&r.uid, r.rid.as_ref(), r.method)?;
            }
            Change::Dequeue { uid, rid } => {
                owner.dequeue_request(uid, rid.as_ref())?;
            }
            Change::PutCounter {
                other,
                uid,
                rid,
                text,
            } => owner.put_counter(other, uid, rid.as_ref(), text)?,
            Change::RemoveCounters { uid, rid, only } => {
                owner.remove_counters(uid, rid.as_ref(), only.as_ref())?;
            }
            _ => {
                return Err(calstore::Error::invalid(format!(
                    "user {user}: the file store does not know the change {change}"
                )))
            }
        }
        Ok(())
    }
}
