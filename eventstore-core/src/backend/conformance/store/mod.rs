//! The store behaviour tests, generic over the store. Each case gets a
//! fresh, empty store and panics with a message naming what broke.

pub(crate) mod fixtures;
mod forget_cases;
mod repository_cases;
mod store_cases;
mod tracker_cases;

pub use forget_cases::{
    a_snapshot_from_before_the_forget_is_not_stored,
    a_state_loaded_before_the_forget_is_not_snapshotted, forget_erases_declared_personal_fields,
    forget_of_an_unknown_aggregate_changes_nothing, forget_takes_explicit_fields_as_data,
};
pub use repository_cases::{
    concurrent_writers, concurrent_writers_lose_no_update, every_account_event_kind_round_trips,
    expect_new_skips_the_load_and_falls_back_when_not_new,
    idempotent_second_execute_is_already_applied, rejected_command_writes_nothing,
    repository_gives_up_after_max_attempts, repository_retries_a_forced_conflict,
    snapshots_are_taken_every_n_versions_and_load_the_same_state,
    undecodable_body_is_a_typed_error_naming_the_row, unknown_kind_is_a_typed_error_naming_the_row,
    unreadable_snapshots_are_ignored,
};
pub use store_cases::{
    a_bad_event_leaves_the_whole_append_unwritten, append_assigns_versions_positions_and_ids,
    empty_append_writes_nothing, idempotency_key_writes_once_per_stream,
    ids_with_sql_are_stored_verbatim, invalid_ids_are_refused_before_writing,
    load_returns_only_later_versions, racing_idempotency_keys_write_once,
    snapshots_keep_the_latest, stale_expected_version_is_a_conflict,
    streams_are_separate_by_kind_and_id,
    unless_moved_appends_only_while_the_other_stream_has_not_moved,
};
pub use tracker_cases::{
    tracker_reads_in_order_with_filters_and_limits,
    tracker_reads_one_partition_and_says_where_it_ended,
};
