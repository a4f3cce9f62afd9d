//! `Store` and `Journal` for [`AnyStore`] and [`AnyJournal`]: the methods listed by
//! [`calstore::store_forwarding`] and [`calstore::journal_forwarding`] (the required reads,
//! the one write, and the provided reads backends answer faster) pass to the backend inside.
//! Every provided write is the trait's own: it builds a step and calls `apply_step`, which the
//! backend applies its own way. A new write is a new `Change`, so nothing here changes for it.

use crate::{AnyJournal, AnyStore};

/// `$call` (an expression on `$s`) on the backend inside `$self`, awaited.
macro_rules! dispatch {
    ($self:ident, $any:ident, $s:ident => $call:expr) => {
        match $self {
            $any::File($s) => $call,
            $any::Postgres($s) => $call,
        }
    };
}

/// One forwarded [`calstore::Store`] method.
macro_rules! any_store {
    ($name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        async fn $name(&self, $($arg: $ty),*) -> calstore::Result<$out> {
            dispatch!(self, AnyStore, s => s.$name($($arg),*).await)
        }
    };
}

/// One forwarded [`calstore::Journal`] method.
macro_rules! any_journal {
    ($name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        async fn $name(&self, $($arg: $ty),*) -> calstore::Result<$out> {
            dispatch!(self, AnyJournal, j => j.$name($($arg),*).await)
        }
    };
}

impl calstore::Store for AnyStore {
    fn is_read_only(&self) -> bool {
        dispatch!(self, AnyStore, s => s.is_read_only())
    }

    fn database(&self) -> Option<calstore::journal::Database> {
        dispatch!(self, AnyStore, s => calstore::Store::database(s))
    }

    calstore::store_forwarding!(any_store);
}

impl calstore::Journal for AnyJournal {
    fn is_read_only(&self) -> bool {
        dispatch!(self, AnyJournal, j => j.is_read_only())
    }

    calstore::journal_forwarding!(any_journal);
}
