//! One transaction for a store's step and a quota journal's changes, where the two share a
//! database ([`apply_together`]).
//!
//! A resource booking writes the resource's store (its copy, rows, queue) and the quota journal
//! (usage, the reservation's copy, providers). When both live in one PostgreSQL database they
//! are written in one transaction: [`Store::database`] names the database a store lives in, and
//! [`Journal::apply_with_step`] applies a store [`Step`] and a list of [`JournalChange`]s in one
//! transaction when the journal recognises that database as its own, taking the store user's
//! lock first and then the quota's (so that joint writers, which all take them in that order,
//! and single writers, which take one, never deadlock). Everything else — files, memory, two
//! databases — answers `None`, and the caller keeps the two together another way (the
//! resource code writes a redo record, see `agent::resource`).
//!
//! A joint write is all or nothing: a refusal of either part (a condition, a reservation over
//! capacity, a reservation over the quota's limit, a failed statement, a client killed before
//! the commit) keeps nothing of either. A refusal of the journal's part is told apart by
//! [`is_journal_refusal`], so that a booker can decline as over quota rather than as busy.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::id::{Quota, User};
use crate::store::{Applied, Outcome, Step, Store};

use super::{Journal, JournalChange};

/// An opaque handle on the database a store lives in ([`Store::database`]): what a journal of
/// the same backend recognises in [`Journal::apply_with_step`] (the backend puts in whatever it
/// needs to open a transaction there, typically the store itself). Cheap to clone.
#[derive(Clone)]
pub struct Database(Arc<dyn Any + Send + Sync>);

impl Database {
    /// A handle holding `inner` (for the backend's journal to [`Database::downcast_ref`]).
    pub fn new<T: Any + Send + Sync>(inner: T) -> Database {
        Database(Arc::new(inner))
    }

    /// What the handle holds, when it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Database(..)")
    }
}

/// What a joint write applied: the step's outcomes and one outcome per journal change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JointApplied {
    /// The store step's outcomes.
    pub step: Applied,
    /// The journal changes' outcomes, in order.
    pub journal: Vec<Outcome>,
}

/// The cause attached to an error of a joint write's journal part.
#[derive(Debug)]
struct JournalPart(Option<Box<dyn std::error::Error + Send + Sync>>);

impl fmt::Display for JournalPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused by the quota journal's part of a joint write")
    }
}

impl std::error::Error for JournalPart {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Marks `error` as a refusal of a joint write's journal part (what backends do with the
/// errors of the journal changes they apply in [`Journal::apply_with_step`]); its kind and
/// message stay, its cause is kept behind the mark.
#[must_use]
pub fn journal_refusal(error: Error) -> Error {
    let message = error.message().to_owned();
    let kind = error.kind();
    let inner: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
    Error::new(kind, message).with_source(JournalPart(Some(inner)))
}

/// Whether `error` came from the journal's part of a joint write ([`journal_refusal`]): for
/// example a [`JournalChange::ReserveWithinLimit`] over the limit, as opposed to the step's
/// [`Change::Reserve`](crate::Change::Reserve) over the capacity.
pub fn is_journal_refusal(error: &Error) -> bool {
    std::error::Error::source(error).is_some_and(|s| s.is::<JournalPart>())
}

/// Applies `step` to `user`'s store and `changes` to `quota` in one transaction when `store` and
/// `journal` share a database; `Ok(None)`, writing nothing, when they do not (the caller then
/// writes them apart, keeping them together its own way).
///
/// # Errors
///
/// Those of [`Store::apply_step`] for the step and of [`Journal::apply`] for the changes (the
/// latter marked, see [`is_journal_refusal`]); nothing of either is kept.
pub async fn apply_together<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    user: &User,
    step: &Step,
    quota: &Quota,
    changes: &[JournalChange],
) -> Result<Option<JointApplied>> {
    match store.database() {
        Some(db) => {
            journal
                .apply_with_step(&db, user, step, quota, changes)
                .await
        }
        None => Ok(None),
    }
}

/// Whether `store` and `journal` can be written in one transaction ([`apply_together`] would
/// not answer `None`): an empty joint write, which writes nothing.
///
/// # Errors
///
/// The common errors of opening the transaction.
pub async fn shares_database<S: Store, J: Journal>(
    store: &S,
    journal: &J,
    user: &User,
    quota: &Quota,
) -> Result<bool> {
    Ok(
        apply_together(store, journal, user, &Step::default(), quota, &[])
            .await?
            .is_some(),
    )
}
