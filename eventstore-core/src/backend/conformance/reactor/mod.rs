//! The reactor runtime's behaviour tests, generic over the store, with real
//! runners in the background: resuming, crashing, lease take-over,
//! partitions, retries and parking.

mod cases;
mod failure_cases;
mod forget_cases;
pub mod recorder;
pub mod running;

pub use cases::{
    a_crash_between_handling_and_checkpoint_skips_nothing,
    a_failing_handler_is_retried_with_backoff, a_handler_slower_than_its_lease_keeps_the_partition,
    a_partition_checkpoint_moves_past_the_other_partitions_events,
    a_runner_delivers_in_order_and_resumes_after_its_checkpoint,
    a_runner_started_at_the_end_sees_only_new_events,
    a_runner_started_later_gets_its_share_of_the_partitions,
    events_failing_every_attempt_are_parked_and_can_be_retried_or_skipped,
    one_runner_holds_a_partition_and_another_takes_over_when_it_dies,
    partitions_split_the_work_and_keep_each_aggregate_in_order,
    the_status_reports_lag_leases_and_parked_events, tick,
};
pub use failure_cases::{
    a_checkpoint_from_the_future_stops_the_runner_until_reset,
    a_crash_in_the_first_batch_of_a_runner_started_at_the_end_skips_nothing,
    a_panicking_handler_is_parked_and_the_partition_goes_on,
    a_partition_loop_that_dies_is_started_again, a_reset_during_a_long_handler_is_refused,
    a_reset_to_the_beginning_replays_for_a_runner_started_at_the_end,
    a_runner_in_a_long_handler_still_refuses_another_count,
    a_runner_that_loses_its_lease_stops_acting, fewer_partitions_skip_nothing,
    more_partitions_skip_nothing, options_that_cannot_work_are_refused,
};
pub use forget_cases::forget_reaches_parked_events_and_replayed_projections;
