//! The conformance suite, exported (feature `conformance`) as object_store exports its
//! integration tests: every case the workspace's three backends (file, PostgreSQL, memory) pass,
//! as a generic async function over `Store + Journal`, and [`conformance_suite!`](crate::conformance_suite)
//! to stamp them all as tests for a backend of your own:
//!
//! ```
//! // tests/conformance.rs of a backend crate; dev-dependencies: calstore with feature
//! // "conformance", and tokio with features "macros" and "rt-multi-thread". The backend here is
//! // calstore's own MemoryStore; yours gives a fresh, empty store of its own per case.
//! use calstore::conformance::Fixture;
//! use calstore::memory::{MemoryJournal, MemoryStore};
//!
//! async fn fixture() -> Fixture<MemoryStore, MemoryJournal> {
//!     let (store, journal) = (MemoryStore::new(), MemoryJournal::new());
//!     let (ro_store, ro_journal) = (store.read_only(), journal.read_only());
//!     let (s, j) = (store.clone(), journal.clone());
//!     Fixture::new(store, journal, ro_store, ro_journal, move || {
//!         // Everything stored, as text that changes whenever anything stored does.
//!         let text = format!("{:?} {:?}", s.snapshot(), j.snapshot());
//!         async move { text }
//!     })
//! }
//!
//! calstore::conformance_suite!(my_backend, fixture());
//! # fn main() {}
//! ```
//!
//! Each case gets a fresh fixture (the expression is evaluated once per case). The cases, by
//! area, are the public modules below; [`support`] holds their helpers. docs/testing.md says how
//! a case is added.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod agent_steps;
pub mod availability;
pub mod booking;
pub mod bulk;
pub mod contract;
pub mod data;
pub mod fbtype;
pub mod fixture;
pub mod freebusy;
pub mod hostile;
pub mod import;
pub mod itip;
pub mod itip_matrix;
pub mod itip_occurrences;
pub mod itip_other;
pub mod joint;
pub mod journal;
pub mod model;
pub mod objects;
pub mod queue;
pub mod read_only;
pub mod resource;
pub mod resource_delegation;
pub mod resource_extension;
pub mod support;
pub mod wrap;

pub use fixture::{Fixture, IntoFixture};

/// Stamps every case of the suite as a `#[tokio::test]` (multi-threaded, two workers) in a module
/// `$name`, each running on a fresh fixture from `$fixture`: an expression of a future whose
/// output is a [`Fixture`] or an `Option<Fixture>` (`None` ends the case early, for a backend
/// that is not available; its constructor must say so loudly, and fail under `CI=true`). Paths in
/// `$fixture` resolve as at the call site. The calling crate needs `tokio` (features `macros`,
/// `rt-multi-thread`) among its dev-dependencies.
///
/// A new file of cases is one line here: its module and case names in the list below (and its
/// `pub mod` above).
#[macro_export]
macro_rules! conformance_suite {
    ($name:ident, $fixture:expr) => {
        $crate::conformance_suite!(@stamp $name, $fixture;
            objects {
                put_get_keeps_exact_text, put_refuses_bad_text_and_mismatched_keys, instances_and_listing,
                cancel_and_uncancel_keep_text, remove_parent_removes_instances, put_replaces_cancelled_copy,
                users_are_listed, counters
            }
            queue { queue_keeps_order_and_one_entry, dequeue_and_replace, concurrent_queueing_leaves_one_entry }
            freebusy {
                tables_keep_order_and_identity, replace_and_remove_event_periods, remove_additional_and_affected,
                range_queries_find_overlaps, other_tables_are_separate, providers_round_trip, preferences_round_trip,
                concurrent_replacements_lose_nothing
            }
            booking {
                versions_detect_conflicts, reserve_refuses_double_booking, reserve_with_capacity, offers_expire,
                conflicts_and_can_schedule, concurrent_reservations_never_double_book
            }
            journal {
                limits_groups_delegates, usage_tables, reserve_within_limit, concurrent_quota_reservations,
                expire_usage, journal_providers_and_events, journal_load_events_matches_single_reads
            }
            bulk {
                load_events_matches_single_reads, table_version_follows_writes, mark_provider_changes_one_entry,
                store_incoming_is_the_agents_step, replace_uids_periods_replaces_exactly_those_uids
            }
            contract {
                provided_reads_answer_as_the_defaults, a_step_does_what_its_changes_do_one_by_one,
                a_failed_step_writes_nothing
            }
            import { import_batches_match_per_event_refresh, import_batch_limits, extending_the_window_writes_only_what_changes }
            hostile { hostile_keys_round_trip, invalid_keys_are_refused, nul_in_objects_is_refused_alike }
            read_only { read_only_refuses_every_write }
            model { model_based_operations }
            agent_steps {
                record_event_stores_periods_and_marks_providers, bad_messages_change_nothing,
                queue_request_leaves_the_own_table, cancel_removes_periods_and_queue_entries,
                reply_records_the_attendees_answer, counter_is_recorded_and_declined,
                booking_respects_the_slot_and_the_quota, recorded_events_without_end_are_extended
            }
            resource {
                bookings_survive_the_cron_job, reset_keeps_reservations_without_objects,
                series_are_decided_per_occurrence, standing_bookings_are_checked_far_ahead,
                quotas_are_given_back_and_extended, concurrent_bookers_never_exceed_capacity,
                delivery_books_and_cancels, interrupted_bookings_are_recovered,
                availability_is_used_by_the_decision, a_series_and_a_one_off_at_once,
                extension_conflicts_are_reported
            }
            resource_delegation {
                busy_requests_go_to_a_free_delegate, series_go_whole_or_not_at_all, over_quota_requests_are_delegated,
                concurrent_delegations_never_double_book
            }
            resource_extension {
                extension_conflicts_are_declined, extension_conflicts_are_left_for_a_person, own_events_hold_their_time
            }
            itip {
                older_request_changes_nothing, cancel_ordering, replies_are_ordered_per_attendee,
                counter_and_reply_need_a_live_event, methods_by_role, concurrent_steps_are_stale_not_wrong,
                attendee_tables_reach_past_the_window
            }
            itip_occurrences {
                instances_change_only_themselves, instances_before_their_series, this_and_future,
                newer_series_drops_older_overrides, outlook_midnight_rid_replaces_its_day
            }
            itip_matrix { every_method_role_and_shape }
            joint { joint_writes_are_all_or_nothing, concurrent_bookings_keep_store_and_quota_together }
            fbtype { the_tables_keep_the_busy_rules_fbtype }
            availability { availability_is_rows_of_the_table }
            itip_other { cron_extends_attendee_tables, instance_reply_then_series_moves, reply_counts_for_its_sender_only, attendee_instance_answer_then_series_changes }
        );
    };
    (@stamp $name:ident, $fixture:expr; $($module:ident { $($case:ident),* $(,)? })*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                mod $module {
                    #[allow(unused_imports)]
                    use super::*;
                    $(
                        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                        async fn $case() {
                            let fixture = $crate::conformance::IntoFixture::into_fixture($fixture.await);
                            let Some(f) = fixture else { return };
                            $crate::conformance::$module::$case(&f).await;
                        }
                    )*
                }
            )*
        }
    };
}
