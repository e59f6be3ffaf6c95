//! The store conformance suite against NATS JetStream (127.0.0.1:4222,
//! `scripts/ensure-nats`), each case with a stream and buckets of its own.
//!
//! For now from a copy of the suite's case list that leaves out what the
//! JetStream store cannot do yet: `forget` (crypto-shredding is being
//! built) and deadlines (`DeadlineStore`, which the saga cases need too).
//! Left out, so that they are not forgotten:
//! `key_cases::forget_erases_recorded_refusals`, every `forget_cases`,
//! `schema_cases::forget_erases_the_personal_fields_of_every_stored_version`,
//! `schema_cases::forget_spares_a_field_the_current_version_does_not_declare_personal`,
//! every `saga_cases` and every `deadline_cases`. Once both are there this
//! file becomes `store_conformance_suite!(eventstore_tests::nats::fresh_store())`.

eventstore_core::__conformance_cases!(store (flavor = "multi_thread", worker_threads = 4)
    eventstore_tests::nats::fresh_store();
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
    key_cases::unkeyed_refusals_record_nothing,
    key_cases::expect_new_records_only_refusals_of_the_loaded_state,
    key_cases::unrecordable_and_undecodable_refusals_are_typed_errors,
    page_cases::pages_are_read_in_version_order,
    page_cases::a_stream_longer_than_a_page_loads_whole,
    page_cases::decode_errors_in_a_later_page_name_their_row,
    schema_cases::rows_keep_the_schema_version_they_were_written_at,
    schema_cases::old_rows_load_and_are_delivered_as_current_events,
    schema_cases::a_snapshot_of_another_state_schema_is_upcast_or_replayed,
    schema_cases::an_unreadable_snapshot_at_the_head_is_replaced,
    schema_cases::an_earlier_snapshot_of_another_schema_does_not_replace_a_later_one,
);
