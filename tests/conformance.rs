//! The conformance suite: the same cases, stamped for every backend (object_store style).
//!
//! Each case is a generic async function over `Store + Journal` in `conformance/<area>.rs`; the
//! `all_cases!` macro stamps every case once per backend as a `#[tokio::test]`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod conformance {
    pub mod agent_steps;
    pub mod booking;
    pub mod bulk;
    pub mod fixture;
    pub mod freebusy;
    pub mod hostile;
    pub mod import;
    pub mod journal;
    pub mod model;
    pub mod objects;
    pub mod queue;
    pub mod read_only;
    pub mod support;
}

macro_rules! all_cases {
    ($backend:ident, $fixture:path) => {
        mod $backend {
            all_cases!(@stamp $fixture;
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
                    expire_usage, journal_providers_and_events
                }
                bulk {
                    load_events_matches_single_reads, table_version_follows_writes, mark_provider_changes_one_entry,
                    store_incoming_is_the_agents_step, replace_uids_periods_replaces_exactly_those_uids
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
            );
        }
    };
    (@stamp $fixture:path; $($module:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let Some(f) = $fixture().await else { return };
                        crate::conformance::$module::$case(&f).await;
                    }
                )*
            }
        )*
    };
}

all_cases!(file, crate::conformance::fixture::file);
all_cases!(postgres, crate::conformance::fixture::postgres);
all_cases!(replicated, crate::conformance::fixture::replicated);
