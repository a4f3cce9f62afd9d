//! [`Probe`]: a [`Store`] and [`Journal`] wrapper that counts and times every call by name and
//! can run a hook before chosen calls (to delay them, or to interleave another writer at an
//! exact instant). For backend authors' race tests and for the benchmark's measured reasons;
//! it forwards what [`store_forwarding`](crate::store_forwarding) and
//! [`journal_forwarding`](crate::journal_forwarding) list, so the backend's fast reads stay in
//! use, and names a one-write step by the method that writes it (`set_providers`, …).
//!
//! ```
//! use calstore::conformance::wrap::Probe;
//! use calstore::memory::MemoryStore;
//! use calstore::{Store, Table, User};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> calstore::Result<()> {
//! let store = Probe::new(MemoryStore::new());
//! let alice = User::new("mailto:alice@example.com")?;
//! store.set_freebusy(&alice, &Table::FreeBusy, Vec::new(), None).await?;
//! store.freebusy(&alice, &Table::FreeBusy).await?;
//! let tally = store.take();
//! assert_eq!(tally["set_freebusy"].0, 1);
//! assert_eq!(tally["freebusy"].0, 1);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Change, Journal, JournalChange, Step, Store};

/// Calls and time spent per method name.
pub type Tally = BTreeMap<&'static str, (u64, Duration)>;

/// What a hook returns: work to run before the call, or `None`.
pub type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

type Hook = Arc<dyn Fn(&'static str) -> Option<HookFuture> + Send + Sync>;

/// `S` with every forwarded call counted and timed under its name. Clones share the tally and
/// the hook.
#[derive(Clone)]
pub struct Probe<S> {
    inner: S,
    tally: Arc<Mutex<Tally>>,
    hook: Option<Hook>,
}

impl<S> Probe<S> {
    /// Wraps a store or journal.
    pub fn new(inner: S) -> Self {
        Probe {
            inner,
            tally: Arc::new(Mutex::new(Tally::new())),
            hook: None,
        }
    }

    /// Runs `hook(name)` before every call; the future it returns, if any, is awaited first
    /// (outside the call's time).
    #[must_use]
    pub fn with_hook(
        mut self,
        hook: impl Fn(&'static str) -> Option<HookFuture> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Delays every call named `name` by `delay` before it starts.
    #[must_use]
    pub fn with_delay(self, name: &'static str, delay: Duration) -> Self {
        self.with_hook(move |called| {
            (called == name).then(|| Box::pin(tokio::time::sleep(delay)) as HookFuture)
        })
    }

    /// The wrapped store or journal.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Takes the tally so far and starts a new one.
    pub fn take(&self) -> Tally {
        self.tally
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }

    async fn call<T>(&self, name: &'static str, f: impl Future<Output = T>) -> T {
        if let Some(work) = self.hook.as_ref().and_then(|h| h(name)) {
            work.await;
        }
        let t = Instant::now();
        let out = f.await;
        let spent = t.elapsed();
        if let Ok(mut tally) = self.tally.lock() {
            let e = tally.entry(name).or_default();
            e.0 += 1;
            e.1 += spent;
        }
        out
    }
}

/// The name a step is counted under: the method of its one write, else `apply_step`.
fn step_name(step: &Step) -> &'static str {
    step.single_write()
        .map_or("apply_step", |(c, _)| Change::name(c))
}

/// One forwarded [`Store`] method, counted under its name (a step under [`step_name`]).
macro_rules! probe_store {
    (apply_step($user:ident: $ut:ty, $step:ident: $st:ty) -> $out:ty) => {
        async fn apply_step(&self, $user: $ut, $step: $st) -> $crate::Result<$out> {
            self.call(step_name($step), self.inner.apply_step($user, $step)).await
        }
    };
    ($name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        async fn $name(&self, $($arg: $ty),*) -> $crate::Result<$out> {
            self.call(stringify!($name), Store::$name(&self.inner, $($arg),*)).await
        }
    };
}

/// One forwarded [`Journal`] method, counted under its name (a change under its method's).
macro_rules! probe_journal {
    (apply($quota:ident: $qt:ty, $change:ident: $ct:ty) -> $out:ty) => {
        async fn apply(&self, $quota: $qt, $change: $ct) -> $crate::Result<$out> {
            self.call(JournalChange::name($change), self.inner.apply($quota, $change)).await
        }
    };
    ($name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        async fn $name(&self, $($arg: $ty),*) -> $crate::Result<$out> {
            self.call(stringify!($name), Journal::$name(&self.inner, $($arg),*)).await
        }
    };
}

impl<S: Store> Store for Probe<S> {
    fn is_read_only(&self) -> bool {
        Store::is_read_only(&self.inner)
    }

    fn database(&self) -> Option<crate::journal::Database> {
        self.inner.database()
    }

    crate::store_forwarding!(probe_store);
}

impl<J: Journal> Journal for Probe<J> {
    fn is_read_only(&self) -> bool {
        Journal::is_read_only(&self.inner)
    }

    crate::journal_forwarding!(probe_journal);
}

/// `S` with only its required methods: every provided method of `Defaults(s)` is the trait's
/// default built on `s`'s reads and `apply_step`, so a backend's override can be compared with
/// it (what [`contract`](super::contract) does).
#[derive(Clone)]
pub struct Defaults<S>(pub S);

/// One forwarded required method.
macro_rules! required {
    ($name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        async fn $name(&self, $($arg: $ty),*) -> $crate::Result<$out> {
            self.0.$name($($arg),*).await
        }
    };
}

impl<S: Store> Store for Defaults<S> {
    fn is_read_only(&self) -> bool {
        Store::is_read_only(&self.0)
    }

    crate::store_forwarding!(required, required);
}

impl<J: Journal> Journal for Defaults<J> {
    fn is_read_only(&self) -> bool {
        Journal::is_read_only(&self.0)
    }

    crate::journal_forwarding!(required, required);
}
