//! What a case runs on: a fresh, empty store and journal, read-only handles on the same data, and
//! a way to snapshot everything stored (to prove that a refused or read-only write changes
//! nothing). A backend's test builds one [`Fixture`] per case; [`memory`] is the in-memory one.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use crate::memory::{MemoryJournal, MemoryStore};
use crate::{Journal, Store};

type Snapshot = Box<dyn Fn() -> Pin<Box<dyn Future<Output = String> + Send>> + Send + Sync>;

/// A fresh backend for one case.
pub struct Fixture<S, J> {
    /// The writable store the case works on; empty at the start.
    pub store: S,
    /// The writable journal; empty at the start.
    pub journal: J,
    /// A read-only handle on the data of `store`.
    pub ro_store: S,
    /// A read-only handle on the data of `journal`.
    pub ro_journal: J,
    snapshot: Snapshot,
    guards: Vec<Box<dyn Any + Send + Sync>>,
}

impl<S: Store + Clone + 'static, J: Journal + Clone + 'static> Fixture<S, J> {
    /// A fixture of the given handles. `snapshot` returns everything stored (store and journal)
    /// as text that changes whenever any stored byte, row or version does: a file listing with
    /// contents and modification times, a dump of the database, [`MemoryStore::snapshot`].
    pub fn new<F, Fut>(store: S, journal: J, ro_store: S, ro_journal: J, snapshot: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        Fixture {
            store,
            journal,
            ro_store,
            ro_journal,
            snapshot: Box::new(move || Box::pin(snapshot())),
            guards: Vec::new(),
        }
    }

    /// Keeps `guard` (a temporary directory, a test database) alive as long as the fixture.
    #[must_use]
    pub fn keep(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guards.push(Box::new(guard));
        self
    }

    /// Everything stored, as text that changes whenever any byte or row does.
    pub async fn snapshot(&self) -> String {
        (self.snapshot)().await
    }
}

/// What [`conformance_suite!`](crate::conformance_suite) accepts from the constructor: a
/// fixture, or `None` when the backend cannot be had here (the constructor says so loudly; under
/// `CI=true` it should fail instead).
pub trait IntoFixture {
    /// The store type.
    type Store;
    /// The journal type.
    type Journal;
    /// The fixture, if any.
    fn into_fixture(self) -> Option<Fixture<Self::Store, Self::Journal>>;
}

impl<S, J> IntoFixture for Fixture<S, J> {
    type Store = S;
    type Journal = J;
    fn into_fixture(self) -> Option<Fixture<S, J>> {
        Some(self)
    }
}

impl<S, J> IntoFixture for Option<Fixture<S, J>> {
    type Store = S;
    type Journal = J;
    fn into_fixture(self) -> Option<Fixture<S, J>> {
        self
    }
}

/// [`MemoryStore`] and [`MemoryJournal`], fresh and empty.
pub async fn memory() -> Fixture<MemoryStore, MemoryJournal> {
    let (store, journal) = (MemoryStore::new(), MemoryJournal::new());
    let (ro_store, ro_journal) = (store.read_only(), journal.read_only());
    let (s, j) = (store.clone(), journal.clone());
    Fixture::new(store, journal, ro_store, ro_journal, move || {
        let text = format!(
            "{}\n{}",
            s.snapshot().expect("snapshot of the memory store"),
            j.snapshot().expect("snapshot of the memory journal")
        );
        async move { text }
    })
}
