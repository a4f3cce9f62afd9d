//! [`Store::apply_step`](calstore::Store::apply_step) on files: every change of the step under
//! the user's one exclusive lock, so that no other writer (process or task) runs between them
//! and readers that take the lock see the step whole or not at all. The changes are the same
//! operations as the single calls; they take the lock again, which the thread already holds
//! ([`crate::lock`] lets a thread re-enter its own exclusive lock).

use calstore::{Change, Result, Step, User};

use crate::layout::{self, LOCK_FILE};
use crate::lock;
use crate::users::StoreInner;

impl StoreInner {
    /// Applies a checked step under the user's lock.
    pub(crate) fn apply_step(&self, user: &User, step: &Step) -> Result<()> {
        let what = format!("user {user}");
        self.store.writable(&what, "applying a scheduling step")?;
        if step.is_empty() {
            return Ok(());
        }
        let lock_path = layout::user_dir(&self.store.root, user).join(LOCK_FILE);
        let _guard = lock::exclusive(&lock_path, &self.store, &what)?;
        for change in &step.changes {
            self.apply_change(user, change)?;
        }
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
