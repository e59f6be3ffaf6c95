//! The reactor runtime's failure modes, tried as an attacker would: a
//! panicking handler, a stale runner, a changed partition count, a
//! checkpoint from a restored database, options that cannot work.

use std::collections::HashSet;
use std::time::Duration;

use crate::backend::Lease;
use crate::reactor::{ParkedEvent, ReactorStore, Runner, RunnerOptions, Start, partition_of};
use crate::{Checkpoint, Error, EventStore, Tracker};

use super::cases::{things, tick};
use super::recorder::{Handled, Recorder};
use super::running::{Running, STEADY_LEASE, fast, steady};
use crate::backend::conformance::eventually::eventually;

const WAIT: Duration = Duration::from_secs(15);

fn positions(handled: &[Handled]) -> HashSet<u64> {
    handled.iter().map(|h| h.event.position).collect()
}

/// A handler that panics is retried like a failing one, then parked with
/// the panic's message, and the partition goes on.
pub async fn a_panicking_handler_is_parked_and_the_partition_goes_on<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 3, 0).await;
    let recorder = Recorder::new("panics");
    recorder.panic_at(written[1].position);
    let runner = Runner::new(store.clone(), recorder.clone()).options(
        fast("p")
            .max_attempts(2)
            .backoff(Duration::from_millis(5), Duration::from_millis(5)),
    );
    let running = Running::start(runner.clone());
    recorder
        .wait_until(WAIT, "the event after the panicking one", |h| {
            positions(h).contains(&written[2].position)
        })
        .await;
    running.stop().await;
    let parked = runner.parked(0, 10).await.expect("parked");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].position, written[1].position);
    assert_eq!(parked[0].attempts, 2);
    assert!(
        parked[0].error.contains("handler panicked: told to panic"),
        "{}",
        parked[0].error
    );
}

/// A partition loop that panics outside any handler is started again, and
/// the reactor delivers every event.
pub async fn a_partition_loop_that_dies_is_started_again<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 4, 3, 0).await;
    let recorder = Recorder::new("revived");
    recorder.panic_in_filter(2);
    let running = Running::start(
        Runner::new(store.clone(), recorder.clone()).options(fast("r").partitions(2)),
    );
    let all: HashSet<u64> = written.iter().map(|e| e.position).collect();
    recorder
        .wait_until(WAIT, "every event, after the loops died", |h| {
            positions(h) == all
        })
        .await;
    running.stop().await;
}

/// A runner whose lease is taken while its handler runs cancels the
/// handler; and a runner that lost its lease can park nothing.
pub async fn a_runner_that_loses_its_lease_stops_acting<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 2, 0).await;
    let recorder = Recorder::new("stale");
    recorder.block_at(written[0].position);
    let running = Running::start(Runner::new(store.clone(), recorder.clone()).options(fast("a")));
    recorder.wait_blocked(WAIT, "the handler runs").await;
    // another runner takes the partition (as after a's lease ran out)
    let stale = Lease {
        reactor: "stale".into(),
        partition: 0,
        owner: "a".into(),
    };
    store.release_lease(&stale).await.expect("release");
    let thief = store
        .acquire_lease("stale", 0, 1, "thief", Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("taken");
    recorder
        .wait_cancelled(WAIT, "the stale runner cancels its handler")
        .await;
    running.stop().await;
    assert!(
        recorder.handled().is_empty(),
        "nothing handled after the loss"
    );

    let parked = ParkedEvent {
        reactor: "stale".into(),
        position: written[1].position,
        event: Some(written[1].clone()),
        error: "late".into(),
        attempts: 1,
        parked_at: std::time::SystemTime::now(),
    };
    assert!(
        !store.park(&stale, parked.clone()).await.expect("park"),
        "a lost lease parks nothing"
    );
    assert_eq!(store.parked_count("stale").await.expect("count"), 0);
    assert!(store.park(&thief, parked).await.expect("park"));
}

/// Waits until a runner holds partition 0 of `reactor`.
async fn lease_taken<S: ReactorStore>(store: &S, reactor: &str) {
    let holder = async || store.lease_holder(reactor, 0).await.expect("holder");
    eventually(WAIT, "the lease is taken", holder, Option::is_some).await;
}

/// An aggregate id in partition `old` of `from` and partition 0 of `to`.
fn moved_id(from: u32, to: u32) -> String {
    (0..)
        .map(|a| format!("slow-{a}"))
        .find(|id| partition_of(id, from) == 1 && partition_of(id, to) == 0)
        .expect("an id")
}

/// Restarting a reactor with another partition count skips nothing: while
/// a runner of the old count is live, the new one is refused naming both
/// counts; when none is, every new partition starts at the lowest old
/// checkpoint. Partition 1 is held back by a blocked handler while
/// partition 0 runs ahead, and the old runner dies.
async fn changing_the_partition_count_skips_nothing<S>(store: S, from: u32, to: u32)
where
    S: EventStore + Tracker + ReactorStore,
{
    let name = format!("repart-{from}-{to}");
    let slow = moved_id(from, to);
    let mut written = vec![tick(&store, &slow, 0).await];
    written.extend(things(&store, 8, 3, 0).await);
    let recorder = Recorder::new(&name);
    recorder.block_at(written[0].position);
    let old = Running::start(
        Runner::new(store.clone(), recorder.tag("old")).options(fast("old").partitions(from)),
    );
    recorder.wait_blocked(WAIT, "partition 1 blocks").await;
    // partition 1 waits behind its blocked first event; the others go on
    let others = written
        .iter()
        .filter(|e| partition_of(&e.aggregate_id, from) != 1)
        .count();
    recorder
        .wait_until(WAIT, "partition 0 runs ahead", |h| h.len() >= others)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let refused = Runner::new(store.clone(), recorder.tag("new"))
        .options(fast("new").partitions(to))
        .run(std::future::pending())
        .await;
    match refused {
        Err(Error::PartitionCountMismatch {
            running, requested, ..
        }) => assert_eq!((running, requested), (from, to)),
        other => panic!("a runner of another count must be refused: {other:?}"),
    }

    old.kill().await;
    recorder.unblock();
    tokio::time::sleep(Duration::from_millis(700)).await; // the old leases run out
    written.extend(things(&store, 8, 1, 3).await);
    let new = Running::start(
        Runner::new(store.clone(), recorder.tag("new")).options(fast("new").partitions(to)),
    );
    let all: HashSet<u64> = written.iter().map(|e| e.position).collect();
    recorder
        .wait_until(WAIT, "every event handled after the change", |h| {
            positions(h).is_superset(&all)
        })
        .await;
    new.stop().await;
}

/// Changing the partition count from 2 to 1 skips nothing.
pub async fn fewer_partitions_skip_nothing<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    changing_the_partition_count_skips_nothing(store, 2, 1).await;
}

/// Changing the partition count from 2 to 3 skips nothing.
pub async fn more_partitions_skip_nothing<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    changing_the_partition_count_skips_nothing(store, 2, 3).await;
}

/// A checkpoint ahead of anything the store handed out (a database
/// restored from a dump) stops the runner with a typed error; a reset lets
/// it run again from the first event.
pub async fn a_checkpoint_from_the_future_stops_the_runner_until_reset<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 2, 2, 0).await;
    let lease = store
        .acquire_lease("restored", 0, 1, "before", Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("free");
    let future = Checkpoint {
        tx: written[3].tx + 1_000_000_000,
        position: written[3].position,
    };
    assert!(store.save_checkpoint(&lease, future).await.expect("save"));
    store.release_lease(&lease).await.expect("release");
    let recorder = Recorder::new("restored");
    let runner = Runner::new(store.clone(), recorder.clone()).options(fast("r"));
    let ended = Running::start(runner.clone()).ended(WAIT).await;
    match ended {
        Err(Error::CheckpointAhead {
            partition,
            checkpoint_tx,
            next_tx,
            ..
        }) => {
            assert_eq!((partition, checkpoint_tx), (0, future.tx));
            assert!(next_tx <= future.tx);
        }
        other => panic!("a checkpoint ahead must stop the runner: {other:?}"),
    }
    runner.reset(Start::Beginning).await.expect("reset");
    let running = Running::start(runner);
    recorder
        .wait_until(WAIT, "every event after the reset", |h| h.len() >= 4)
        .await;
    running.stop().await;
}

/// Options that cannot work are refused before anything runs.
pub async fn options_that_cannot_work_are_refused<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let runner = Runner::new(store.clone(), Recorder::new("bad"))
        .options(RunnerOptions::default().lease_ttl(Duration::ZERO));
    match runner.run(std::future::pending()).await {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "lease_ttl"),
        other => panic!("a zero lease must be refused: {other:?}"),
    }
    assert_eq!(
        store
            .heartbeat("bad", "probe", 1, Duration::from_secs(1))
            .await
            .expect("beat"),
        1,
        "the refused runner never joined"
    );
}

// Found by an adversarial review of the changes above.

/// A runner whose only partition is in a handler longer than its
/// lease is live (its lease is renewed), so a runner of another partition
/// count must be refused meanwhile, not re-partition under it.
pub async fn a_runner_in_a_long_handler_still_refuses_another_count<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 1, 0).await;
    for attempt in 1..=LONG_HANDLER_ATTEMPTS {
        let name = format!("long{attempt}");
        let recorder = Recorder::new(&name);
        recorder.block_at(written[0].position);
        let old =
            Running::start(Runner::new(store.clone(), recorder.tag("old")).options(steady("old")));
        recorder.wait_blocked(WAIT, "the handler runs").await;
        // one and a half lease times: the handler still runs and its lease
        // is renewed
        tokio::time::sleep(STEADY_LEASE * 3 / 2).await;
        let holder = store.lease_holder(&name, 0).await.expect("holder");
        if holder.as_deref() != Some("old") {
            // a lease lost while its handler runs is a bug, unless the
            // runner itself found it could not renew in time (a machine
            // too loaded to keep a lease) and cancelled the handler
            let cancelled = tokio::time::timeout(STEADY_LEASE, async {
                recorder.wait_cancelled(WAIT, "cancelled").await;
            })
            .await
            .is_ok();
            old.kill().await;
            assert!(
                cancelled,
                "the old runner lost its lease ({holder:?} holds it) while its handler still runs"
            );
            eprintln!(
                "attempt {attempt}: the runner could not renew its lease in time on this \
                 machine and cancelled its handler; trying again"
            );
            continue;
        }
        assert!(!recorder.was_cancelled(), "the handler still runs");
        recorder.unblock(); // the new runner's handlers do not block
        let other = Runner::new(store.clone(), recorder.tag("new"))
            .options(fast("new").partitions(2))
            .run(tokio::time::sleep(Duration::from_millis(300)))
            .await;
        let old_fate = tokio::time::timeout(Duration::from_secs(2), async {
            recorder.wait_cancelled(WAIT, "cancelled").await;
        })
        .await
        .is_ok();
        old.kill().await;
        assert!(
            matches!(
                other,
                Err(Error::PartitionCountMismatch {
                    running: 1,
                    requested: 2,
                    ..
                })
            ),
            "a runner of 2 partitions joined while a live runner of 1 held its lease: {other:?} \
             (the live runner's handler was cancelled afterwards: {old_fate})"
        );
        return;
    }
    panic!(
        "in none of {LONG_HANDLER_ATTEMPTS} attempts did a runner keep its lease through a \
         handler longer than the lease"
    );
}

/// How many times [`a_runner_in_a_long_handler_still_refuses_another_count`]
/// sets its scene again when the machine was too loaded for the runner to
/// renew its lease in time (which the runner noticed and acted on).
const LONG_HANDLER_ATTEMPTS: u32 = 3;

/// A reset while a runner is live is refused, also while the runner is in
/// a handler longer than its lease (its heartbeat and lease still run).
/// Accepted, the runner's next renewal brought its lease back and its
/// checkpoint undid the reset.
pub async fn a_reset_during_a_long_handler_is_refused<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let first = things(&store, 1, 1, 0).await;
    let recorder = Recorder::new("resetlive");
    let runner = Runner::new(store.clone(), recorder.clone()).options(steady("a"));
    let running = Running::start(runner.clone());
    recorder
        .wait_until(WAIT, "the first event", |h| h.len() == 1)
        .await;
    eventually(
        WAIT,
        "the first checkpoint is stored",
        async || {
            store
                .load_checkpoint("resetlive", 0)
                .await
                .expect("checkpoint")
        },
        |c| *c == Some(first[0].checkpoint()),
    )
    .await;
    recorder.slow(STEADY_LEASE * 3);
    let second = things(&store, 1, 1, 1).await;
    recorder
        .wait_attempted(
            WAIT,
            second[0].position,
            "the second event's handler starts",
        )
        .await;
    recorder.slow(Duration::ZERO);
    // past the lease time: only renewals keep the runner live
    tokio::time::sleep(STEADY_LEASE * 3 / 2).await;
    let reset = runner.reset(Start::Beginning).await;
    running.stop().await;
    assert!(
        matches!(reset, Err(Error::RunnersLive { live: 1, .. })),
        "a reset under a live runner: {reset:?}"
    );
}

/// `reset(Start::Beginning)` delivers everything again, also for a
/// runner whose options start new partitions at the end.
pub async fn a_reset_to_the_beginning_replays_for_a_runner_started_at_the_end<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 3, 0).await;
    let recorder = Recorder::new("resetend");
    let runner = Runner::new(store.clone(), recorder.clone()).options(fast("a").start(Start::End));
    // first run: starts at the end, sees nothing
    let running = Running::start(runner.clone());
    lease_taken(&store, "resetend").await;
    running.stop().await;
    assert!(recorder.handled().is_empty());
    runner.reset(Start::Beginning).await.expect("reset");
    let running = Running::start(runner);
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.stop().await;
    assert_eq!(
        recorder.handled().len(),
        written.len(),
        "reset(Start::Beginning) must deliver every event again"
    );
}

/// a runner started at the end on an empty store stores the
/// beginning as its checkpoint; when it crashes in its first batch, the
/// restart must redo that batch, not jump to the end again.
pub async fn a_crash_in_the_first_batch_of_a_runner_started_at_the_end_skips_nothing<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let recorder = Recorder::new("endcrash");
    let options = fast("a").start(Start::End);
    let first =
        Running::start(Runner::new(store.clone(), recorder.clone()).options(options.clone()));
    // the lease is visible before the runner reads the head and stores it
    // as its start: an event written in between would come before it
    let start = async || {
        store
            .load_checkpoint("endcrash", 0)
            .await
            .expect("checkpoint")
    };
    eventually(WAIT, "the start is stored", start, Option::is_some).await;
    recorder.slow(Duration::from_secs(3));
    let written = things(&store, 1, 1, 0).await;
    recorder
        .wait_attempted(WAIT, written[0].position, "the handler starts")
        .await;
    first.kill().await; // a crash before the first checkpoint
    recorder.slow(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(700)).await; // the lease runs out
    let second =
        Running::start(Runner::new(store.clone(), recorder.clone()).options(options.owner("b")));
    tokio::time::sleep(Duration::from_secs(2)).await;
    second.stop().await;
    assert_eq!(
        recorder.handled().len(),
        1,
        "the event whose handling crashed is delivered after the restart"
    );
}
