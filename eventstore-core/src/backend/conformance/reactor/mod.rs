//! The reactor suite: the reactor runtime over the store's
//! [`ReactorStore`](crate::reactor::ReactorStore), with real runners in the
//! background: resuming, crashing, lease take-over, partitions, retries and
//! parking. Each case takes a fresh, empty store and panics with a message
//! naming what broke.

pub mod cases;
pub mod deadline_cases;
pub mod failure_cases;
pub mod forget_cases;
pub mod recorder;
pub mod running;

pub use cases::tick;

/// Generates one `#[tokio::test]` per case of the [reactor
/// suite](crate::backend::conformance::reactor) for the store that
/// `$make_store` (a future, evaluated once per test) yields; see
/// [`conformance`](crate::backend::conformance) for what the calling crate
/// needs.
///
/// With `paused:` first, each test runs on tokio's paused clock, which
/// moves only when every task waits: for a store that keeps time with
/// tokio's clock (as the memory store does), leases, backoffs and polls
/// then take no real time and every run is the same.
///
/// ```text
/// eventstore_core::backend::conformance::reactor_conformance_suite!(async { MyStore::new() });
/// eventstore_core::backend::conformance::reactor_conformance_suite!(paused: async { MyStore::new() });
/// ```
///
/// A new case is a public `async fn(store)` in one of the case modules and
/// one line in the list below, its path from [`reactor`](self).
#[doc(hidden)]
#[macro_export]
macro_rules! __reactor_conformance_suite {
    (paused: $make_store:expr) => {
        $crate::__reactor_conformance_suite!(@every (start_paused = true) $make_store);
    };
    ($make_store:expr) => {
        $crate::__reactor_conformance_suite!(@every (flavor = "multi_thread", worker_threads = 4) $make_store);
    };
    (@every ($($runtime:tt)*) $make_store:expr) => {
        $crate::__conformance_cases!(reactor ($($runtime)*) $make_store;
            cases::a_runner_delivers_in_order_and_resumes_after_its_checkpoint,
            cases::a_crash_between_handling_and_checkpoint_skips_nothing,
            cases::one_runner_holds_a_partition_and_another_takes_over_when_it_dies,
            cases::partitions_split_the_work_and_keep_each_aggregate_in_order,
            cases::a_partition_checkpoint_moves_past_the_other_partitions_events,
            cases::a_failing_handler_is_retried_with_backoff,
            cases::events_failing_every_attempt_are_parked_and_can_be_retried_or_skipped,
            cases::a_runner_started_at_the_end_sees_only_new_events,
            cases::the_status_reports_lag_leases_and_parked_events,
            cases::a_handler_slower_than_its_lease_keeps_the_partition,
            cases::a_runner_started_later_gets_its_share_of_the_partitions,
            forget_cases::forget_reaches_parked_events_and_replayed_projections,
            failure_cases::a_panicking_handler_is_parked_and_the_partition_goes_on,
            failure_cases::a_partition_loop_that_dies_is_started_again,
            failure_cases::a_runner_that_loses_its_lease_stops_acting,
            failure_cases::fewer_partitions_skip_nothing,
            failure_cases::more_partitions_skip_nothing,
            deadline_cases::a_runner_fires_deadlines_on_its_clock_and_after_a_restart,
            deadline_cases::a_runner_taking_a_lease_back_asks_what_is_due,
            failure_cases::a_checkpoint_from_the_future_stops_the_runner_until_reset,
            failure_cases::options_that_cannot_work_are_refused,
            failure_cases::a_runner_in_a_long_handler_still_refuses_another_count,
            failure_cases::a_reset_during_a_long_handler_is_refused,
            failure_cases::a_reset_to_the_beginning_replays_for_a_runner_started_at_the_end,
            failure_cases::a_crash_in_the_first_batch_of_a_runner_started_at_the_end_skips_nothing,
        );
    };
}
