//! Integration tests that cross crates.
//!
//! [`suite`] holds the store behaviour tests, written once and generic over
//! the store; [`store_conformance_suite!`] turns them into `#[tokio::test]`s
//! for one backend. Every backend's test file calls it.

pub mod dice;
pub mod eventually;
pub mod faulty;
pub mod postgres;
pub mod reactor_suite;
pub mod sagas;
pub mod scenario;
pub mod suite;

/// Generates one test per [`suite`] case for the store that `$make_store`
/// (a future, evaluated once per test) yields.
///
/// ```text
/// eventstore_tests::store_conformance_suite!(async { eventstore_core::MemoryStore::new() });
/// ```
#[macro_export]
macro_rules! store_conformance_suite {
    ($make_store:expr) => {
        $crate::store_conformance_suite!(@cases $make_store;
            append_assigns_versions_positions_and_ids,
            load_returns_only_later_versions,
            streams_are_separate_by_kind_and_id,
            stale_expected_version_is_a_conflict,
            idempotency_key_writes_once_per_stream,
            racing_idempotency_keys_write_once,
            empty_append_writes_nothing,
            invalid_ids_are_refused_before_writing,
            ids_with_sql_are_stored_verbatim,
            a_bad_event_leaves_the_whole_append_unwritten,
            snapshots_keep_the_latest,
            unless_moved_appends_only_while_the_other_stream_has_not_moved,
            tracker_reads_in_order_with_filters_and_limits,
            tracker_reads_one_partition_and_says_where_it_ended,
            every_account_event_kind_round_trips,
            unknown_kind_is_a_typed_error_naming_the_row,
            undecodable_body_is_a_typed_error_naming_the_row,
            repository_retries_a_forced_conflict,
            repository_gives_up_after_max_attempts,
            idempotent_second_execute_is_already_applied,
            rejected_command_writes_nothing,
            concurrent_writers_lose_no_update,
            snapshots_are_taken_every_n_versions_and_load_the_same_state,
            unreadable_snapshots_are_ignored,
            expect_new_skips_the_load_and_falls_back_when_not_new,
            forget_erases_declared_personal_fields,
            forget_of_an_unknown_aggregate_changes_nothing,
            forget_takes_explicit_fields_as_data,
            a_snapshot_from_before_the_forget_is_not_stored,
            a_state_loaded_before_the_forget_is_not_snapshotted,
        );
    };
    (@cases $make_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $make_store.await;
                $crate::suite::$case(store).await;
            }
        )*
    };
}

/// Generates one test per [`reactor_suite`] case for the store that
/// `$make_store` (a future, evaluated once per test) yields. With
/// `paused:` first, each test runs on tokio's paused clock, which moves
/// only when every task waits: for a store that keeps time with tokio's
/// clock (the memory store), leases, backoffs and polls then take no real
/// time and every run is the same.
#[macro_export]
macro_rules! reactor_conformance_suite {
    (paused: $make_store:expr) => {
        $crate::reactor_conformance_suite!(@every (start_paused = true) $make_store);
    };
    ($make_store:expr) => {
        $crate::reactor_conformance_suite!(@every (flavor = "multi_thread", worker_threads = 4) $make_store);
    };
    (@every $runtime:tt $make_store:expr) => {
        $crate::reactor_conformance_suite!(@cases $runtime $make_store;
            a_runner_delivers_in_order_and_resumes_after_its_checkpoint,
            a_crash_between_handling_and_checkpoint_skips_nothing,
            one_runner_holds_a_partition_and_another_takes_over_when_it_dies,
            partitions_split_the_work_and_keep_each_aggregate_in_order,
            a_partition_checkpoint_moves_past_the_other_partitions_events,
            a_failing_handler_is_retried_with_backoff,
            events_failing_every_attempt_are_parked_and_can_be_retried_or_skipped,
            a_runner_started_at_the_end_sees_only_new_events,
            the_status_reports_lag_leases_and_parked_events,
            a_handler_slower_than_its_lease_keeps_the_partition,
            a_runner_started_later_gets_its_share_of_the_partitions,
            forget_reaches_parked_events_and_replayed_projections,
            a_panicking_handler_is_parked_and_the_partition_goes_on,
            a_partition_loop_that_dies_is_started_again,
            a_runner_that_loses_its_lease_stops_acting,
            fewer_partitions_skip_nothing,
            more_partitions_skip_nothing,
            a_checkpoint_from_the_future_stops_the_runner_until_reset,
            options_that_cannot_work_are_refused,
            a_runner_in_a_long_handler_still_refuses_another_count,
            a_reset_during_a_long_handler_is_refused,
            a_reset_to_the_beginning_replays_for_a_runner_started_at_the_end,
            a_crash_in_the_first_batch_of_a_runner_started_at_the_end_skips_nothing,
        );
    };
    (@cases $runtime:tt $make_store:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test $runtime]
            async fn $case() {
                let store = $make_store.await;
                $crate::reactor_suite::$case(store).await;
            }
        )*
    };
}

/// The Rust examples of the workspace README, compiled and run as doctests
/// so that the front door never shows code that does not work.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
