//! The store suite: [`EventStore`](crate::EventStore) and
//! [`Tracker`](crate::Tracker) behaviour, through the store and through a
//! [`Repository`](crate::Repository). Each case takes a fresh, empty store
//! and panics with a message naming what broke.

pub mod deadline_cases;
pub(crate) mod fixtures;
pub mod forget_cases;
pub mod key_cases;
pub mod page_cases;
pub mod repository_cases;
pub mod saga_cases;
pub mod schema_cases;
pub mod store_cases;
pub mod tracker_cases;

/// Generates one `#[tokio::test]` per case of the [store
/// suite](crate::backend::conformance::store) for the store that
/// `$make_store` (a future, evaluated once per test) yields; see
/// [`conformance`](crate::backend::conformance) for what the calling crate
/// needs.
///
/// ```text
/// eventstore_core::backend::conformance::store_conformance_suite!(async { MyStore::new() });
/// ```
///
/// A new case is a public `async fn(store)` in one of the case modules and
/// one line in the list below, its path from [`store`](self).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_suite {
    ($make_store:expr) => {
        $crate::__conformance_cases!(store (flavor = "multi_thread", worker_threads = 4) $make_store;
            store_cases::append_assigns_versions_positions_and_ids,
            store_cases::load_returns_only_later_versions,
            store_cases::streams_are_separate_by_kind_and_id,
            store_cases::stale_expected_version_is_a_conflict,
            store_cases::idempotency_key_writes_once_per_stream,
            store_cases::racing_idempotency_keys_write_once,
            store_cases::empty_append_writes_nothing,
            store_cases::invalid_ids_are_refused_before_writing,
            store_cases::ids_with_sql_are_stored_verbatim,
            store_cases::a_bad_event_leaves_the_whole_append_unwritten,
            store_cases::snapshots_keep_the_latest,
            store_cases::unless_moved_appends_only_while_the_other_stream_has_not_moved,
            store_cases::every_combination_of_checks_commits_or_refuses_as_typed,
            tracker_cases::tracker_reads_in_order_with_filters_and_limits,
            tracker_cases::tracker_reads_one_partition_and_says_where_it_ended,
            repository_cases::every_account_event_kind_round_trips,
            repository_cases::unknown_kind_is_a_typed_error_naming_the_row,
            repository_cases::undecodable_body_is_a_typed_error_naming_the_row,
            repository_cases::repository_retries_a_forced_conflict,
            repository_cases::repository_gives_up_after_max_attempts,
            repository_cases::idempotent_second_execute_is_already_applied,
            repository_cases::rejected_command_writes_nothing,
            repository_cases::concurrent_writers_lose_no_update,
            repository_cases::snapshots_are_taken_every_n_versions_and_load_the_same_state,
            repository_cases::unreadable_snapshots_are_ignored,
            repository_cases::expect_new_skips_the_load_and_falls_back_when_not_new,
            repository_cases::execute_from_reads_only_when_the_held_state_moved,
            repository_cases::execute_from_leaves_a_state_the_stream_had_when_it_fails,
            repository_cases::execute_from_meets_a_refusal_recorded_at_the_held_version,
            key_cases::a_recorded_refusal_is_given_back_undecided,
            key_cases::a_refusal_of_a_moved_stream_is_decided_again,
            key_cases::a_refusal_after_the_key_was_applied_is_already_applied,
            key_cases::a_keyed_refusal_whose_guard_moved_records_nothing,
            key_cases::a_refusal_not_final_is_decided_again,
            key_cases::forget_erases_recorded_refusals,
            key_cases::unkeyed_refusals_record_nothing,
            key_cases::expect_new_records_only_refusals_of_the_loaded_state,
            key_cases::unrecordable_and_undecodable_refusals_are_typed_errors,
            page_cases::pages_are_read_in_version_order,
            page_cases::a_stream_longer_than_a_page_loads_whole,
            page_cases::decode_errors_in_a_later_page_name_their_row,
            forget_cases::forget_erases_declared_personal_fields,
            forget_cases::forget_of_an_unknown_aggregate_changes_nothing,
            forget_cases::forget_takes_explicit_fields_as_data,
            forget_cases::a_snapshot_from_before_the_forget_is_not_stored,
            forget_cases::a_state_loaded_before_the_forget_is_not_snapshotted,
            schema_cases::rows_keep_the_schema_version_they_were_written_at,
            schema_cases::old_rows_load_and_are_delivered_as_current_events,
            schema_cases::forget_erases_the_personal_fields_of_every_stored_version,
            schema_cases::forget_spares_a_field_the_current_version_does_not_declare_personal,
            schema_cases::a_snapshot_of_another_state_schema_is_upcast_or_replayed,
            schema_cases::an_unreadable_snapshot_at_the_head_is_replaced,
            schema_cases::an_earlier_snapshot_of_another_schema_does_not_replace_a_later_one,
            saga_cases::a_saga_takes_its_step_once_and_records_it,
            saga_cases::a_refused_step_delivered_again_keeps_its_recorded_outcome,
            saga_cases::overlapping_reconciles_take_and_record_each_step_once,
            saga_cases::a_stale_delivery_does_not_act_after_the_saga_moved_on,
            saga_cases::a_stale_delivery_does_not_take_a_step_after_a_cancel,
            saga_cases::a_stale_delivery_does_not_refuse_a_step_after_a_cancel,
            saga_cases::a_saga_that_does_not_move_is_reported,
            saga_cases::a_step_no_longer_wanted_after_an_outcome_is_not_taken,
            saga_cases::an_input_event_is_recorded_once_on_its_saga,
            saga_cases::a_saga_that_never_ends_is_stopped_after_the_round_limit,
            saga_cases::an_operator_event_after_a_rest_is_reconciled,
            deadline_cases::kept_deadlines_are_found_by_due_time_in_firing_order,
            deadline_cases::a_sync_replaces_a_sagas_deadlines_unless_a_later_version_was_kept,
            deadline_cases::a_deadline_fires_once_when_due,
            deadline_cases::a_cancelled_or_moved_deadline_does_not_fire_at_its_old_time,
            deadline_cases::an_approval_racing_the_deadline_ends_one_way,
            deadline_cases::deadlines_that_cannot_be_kept_or_fired_are_reported,
            deadline_cases::deadlines_are_rebuilt_from_the_saga_streams,
            deadline_cases::a_deadline_that_records_nothing_is_reported_and_stays,
            deadline_cases::a_deadline_that_cannot_fire_does_not_hold_up_the_others,
            deadline_cases::a_clock_set_back_asks_the_store_again,
            deadline_cases::a_saga_stuck_on_a_failing_step_keeps_its_deadline,
            deadline_cases::the_latest_due_time_is_kept_by_every_store_and_later_refused,
            deadline_cases::a_deadline_listed_again_after_it_fired_is_reported,
            deadline_cases::asking_while_nothing_is_due_costs_one_read,
        );
    };
}
