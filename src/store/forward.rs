//! The methods a wrapper forwards to the store or journal inside it, listed once: the required
//! methods (the reads and the one write), the provided reads that backends answer faster
//! than the default, and the journal's joint write (`apply_with_step`, which only a backend
//! can do). [`AnyStore`](https://docs.rs/calstore-any) and the test wrapper
//! ([`crate::conformance::wrap`]) generate their forwarding from these lists, so a new required
//! read is one line here; a new write is a [`Change`](super::Change) and needs no forwarding.
//!
//! Each macro calls `$forward!(name(arg: Type, …) -> Output)` once per async method, `Output`
//! being what the method's `Result` holds; `is_read_only` (not async) is left to the wrapper.
//! `store_forwarding!(m, required)` lists only the required methods (what a backend must
//! write, and what [`Defaults`](crate::conformance::wrap::Defaults) forwards so that every
//! provided method is the trait's default), `store_forwarding!(m, faster)` only the provided
//! reads a backend may override.

/// Calls `$forward!(name(arg: Type, …) -> Output)` for every async [`Store`](crate::Store)
/// method a wrapper forwards (see the [module](crate::store::forward)).
#[macro_export]
macro_rules! store_forwarding {
    ($forward:ident) => {
        $crate::store_forwarding!($forward, required);
        $crate::store_forwarding!($forward, faster);
    };
    ($forward:ident, required) => {
        $forward!(users() -> ::std::vec::Vec<$crate::User>);
        $forward!(get_event(user: &$crate::User, uid: &$crate::Uid, rid: ::std::option::Option<&$crate::Rid>) -> ::std::option::Option<$crate::StoredEvent>);
        $forward!(list_events(user: &$crate::User) -> $crate::EventList);
        $forward!(instances(user: &$crate::User, uid: &$crate::Uid) -> ::std::vec::Vec<($crate::Rid, $crate::EventStatus)>);
        $forward!(requests(user: &$crate::User) -> ::std::vec::Vec<$crate::Request>);
        $forward!(get_counter(user: &$crate::User, other: &$crate::Other, uid: &$crate::Uid, rid: ::std::option::Option<&$crate::Rid>) -> ::std::option::Option<::std::string::String>);
        $forward!(counters(user: &$crate::User) -> ::std::vec::Vec<($crate::Uid, ::std::option::Option<$crate::Rid>, $crate::Other)>);
        $forward!(freebusy(user: &$crate::User, table: &$crate::Table) -> $crate::Versioned<::std::vec::Vec<$crate::Period>>);
        $forward!(others(user: &$crate::User) -> ::std::vec::Vec<$crate::Other>);
        $forward!(providers(user: &$crate::User) -> $crate::Versioned<$crate::Providers>);
        $forward!(preferences(user: &$crate::User) -> ::std::collections::BTreeMap<$crate::PrefName, ::std::string::String>);
        $forward!(apply_step(user: &$crate::User, step: &$crate::Step) -> $crate::Applied);
    };
    ($forward:ident, faster) => {
        $forward!(unlisted_users() -> ::std::vec::Vec<$crate::Error>);
        $forward!(load_events(user: &$crate::User, uids: &[$crate::Uid]) -> ::std::vec::Vec<$crate::EventFamily>);
        $forward!(have_request(user: &$crate::User, uid: &$crate::Uid, rid: ::std::option::Option<&$crate::Rid>, method: ::std::option::Option<$crate::QueueKind>) -> bool);
        $forward!(counter_proposers(user: &$crate::User, uid: &$crate::Uid, rid: ::std::option::Option<&$crate::Rid>) -> ::std::vec::Vec<$crate::Other>);
        $forward!(counter_rids(user: &$crate::User, uid: &$crate::Uid) -> ::std::vec::Vec<$crate::Rid>);
        $forward!(freebusy_in(user: &$crate::User, table: &$crate::Table, start: $crate::store::Instant, end: $crate::store::Instant) -> $crate::Versioned<::std::vec::Vec<$crate::Period>>);
        $forward!(table_version(user: &$crate::User, table: &$crate::Table) -> $crate::Version);
        $forward!(conflicts(user: &$crate::User, table: &$crate::Table, periods: &[$crate::Period]) -> ::std::vec::Vec<$crate::Period>);
        $forward!(preference(user: &$crate::User, name: &$crate::PrefName) -> ::std::option::Option<::std::string::String>);
    };
}

/// Calls `$forward!(name(arg: Type, …) -> Output)` for every async [`Journal`](crate::Journal)
/// method a wrapper forwards (see the [module](crate::store::forward)).
#[macro_export]
macro_rules! journal_forwarding {
    ($forward:ident) => {
        $crate::journal_forwarding!($forward, required);
        $crate::journal_forwarding!($forward, faster);
    };
    ($forward:ident, required) => {
        $forward!(quotas() -> ::std::vec::Vec<$crate::Quota>);
        $forward!(limits(quota: &$crate::Quota) -> $crate::Versioned<$crate::Limits>);
        $forward!(groups(quota: &$crate::Quota) -> ::std::collections::BTreeMap<$crate::User, $crate::Group>);
        $forward!(delegates(quota: &$crate::Quota) -> ::std::vec::Vec<$crate::User>);
        $forward!(usage_tables(quota: &$crate::Quota) -> ::std::vec::Vec<$crate::UsageTable>);
        $forward!(usage(quota: &$crate::Quota, table: &$crate::UsageTable) -> $crate::Versioned<::std::vec::Vec<$crate::Period>>);
        $forward!(providers(quota: &$crate::Quota) -> $crate::Versioned<$crate::Providers>);
        $forward!(get_event(quota: &$crate::Quota, uid: &$crate::Uid, rid: ::std::option::Option<&$crate::Rid>) -> ::std::option::Option<$crate::StoredEvent>);
        $forward!(list_events(quota: &$crate::Quota) -> $crate::EventList);
        $forward!(apply(quota: &$crate::Quota, change: &$crate::JournalChange) -> $crate::Outcome);
    };
    ($forward:ident, faster) => {
        $forward!(unlisted_quotas() -> ::std::vec::Vec<$crate::Error>);
        $forward!(usage_in(quota: &$crate::Quota, table: &$crate::UsageTable, start: $crate::store::Instant, end: $crate::store::Instant) -> $crate::Versioned<::std::vec::Vec<$crate::Period>>);
        $forward!(load_events(quota: &$crate::Quota, uids: &[$crate::Uid]) -> ::std::vec::Vec<$crate::EventFamily>);
        $forward!(apply_with_step(store: &$crate::journal::Database, user: &$crate::User, step: &$crate::Step, quota: &$crate::Quota, changes: &[$crate::JournalChange]) -> ::std::option::Option<$crate::journal::JointApplied>);
    };
}
