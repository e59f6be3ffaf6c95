//! The cases of [`reactor_conformance_suite!`](crate::backend::conformance::reactor_conformance_suite).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::backend::{AppendRequest, NewEvent};
use crate::reactor::{ReactorStore, RetryOutcome, Runner, Start, partition_of};
use crate::{EventStore, RecordedEvent, Tracker};

use super::recorder::{Handled, Recorder};
use super::running::{Running, STEADY_LEASE, fast, steady};
use crate::backend::conformance::eventually::eventually;

const WAIT: Duration = Duration::from_secs(15);

/// Appends `rounds` events to each of `aggregates` `Thing`s, round-robin so
/// that streams interleave in the log; returns them in commit order.
pub(super) async fn things<S: EventStore>(
    store: &S,
    aggregates: usize,
    rounds: u64,
    first_version: u64,
) -> Vec<RecordedEvent> {
    let mut written = Vec::new();
    for round in 0..rounds {
        for a in 0..aggregates {
            written.push(tick(store, &format!("thing-{a}"), first_version + round).await);
        }
    }
    written
}

/// Appends a `Tick` to the `Thing` `id` at `version`; returns it.
pub async fn tick<S: EventStore>(store: &S, id: &str, version: u64) -> RecordedEvent {
    let tick = NewEvent {
        kind: "Tick".into(),
        schema_version: 1,
        body: crate::backend::conformance::store::fixtures::body(
            &serde_json::json!({ "n": version }),
        ),
    };
    let request = AppendRequest::new("Thing", id.parse().unwrap(), version).event(tick);
    match store.append(request).await.expect("append") {
        crate::backend::AppendOutcome::Committed(mut events) => events.remove(0),
        crate::backend::AppendOutcome::AlreadyApplied
        | crate::backend::AppendOutcome::AlreadyRejected(_) => unreachable!("no keys"),
    }
}

/// [`things`], one round every 20 ms, while runners are already running.
async fn things_slowly<S: EventStore>(
    store: &S,
    aggregates: usize,
    rounds: u64,
    first_version: u64,
) -> Vec<RecordedEvent> {
    let mut written = Vec::new();
    for round in 0..rounds {
        written.extend(things(store, aggregates, 1, first_version + round).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    written
}

fn positions(handled: &[Handled]) -> Vec<u64> {
    handled.iter().map(|h| h.event.position).collect()
}

/// Every written event was handled exactly once, each aggregate in order.
fn assert_each_once_in_order(handled: &[Handled], written: &[RecordedEvent]) {
    let mut seen = positions(handled);
    seen.sort_unstable();
    assert_eq!(
        seen,
        written.iter().map(|e| e.position).collect::<Vec<_>>(),
        "every event exactly once"
    );
    assert_in_aggregate_order(handled);
}

/// Each aggregate's events were handled in version order, each version once
/// per pass (a redone batch starts a new pass at a lower version).
fn assert_in_aggregate_order(handled: &[Handled]) {
    let mut last: HashMap<&str, u64> = HashMap::new();
    for h in handled {
        let previous = last
            .insert(&h.event.aggregate_id, h.event.version)
            .unwrap_or(0);
        assert!(
            h.event.version == previous + 1 || h.event.version <= previous,
            "{}: version {} after {previous}",
            h.event.aggregate_id,
            h.event.version
        );
    }
}

/// Every event once, in commit order; a second runner resumes after the
/// stored checkpoint; a graceful stop stores it and releases the lease.
pub async fn a_runner_delivers_in_order_and_resumes_after_its_checkpoint<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let first = things(&store, 5, 30, 0).await;
    let recorder = Recorder::new("resume");
    let running = Running::start(
        Runner::new(store.clone(), recorder.clone()).options(fast("one").batch_size(40)),
    );
    recorder
        .wait_until(WAIT, "150 events handled", |h| h.len() >= 150)
        .await;
    running.stop().await;
    let handled = recorder.handled();
    assert_eq!(
        positions(&handled),
        first.iter().map(|e| e.position).collect::<Vec<_>>(),
        "each once, in commit order"
    );
    assert_eq!(
        store
            .load_checkpoint("resume", 0)
            .await
            .expect("checkpoint"),
        Some(first[149].checkpoint())
    );
    assert_eq!(
        store.lease_holder("resume", 0).await.expect("holder"),
        None,
        "released on stop"
    );

    let more = things(&store, 5, 2, 30).await;
    let running =
        Running::start(Runner::new(store.clone(), recorder.tag("b")).options(fast("two")));
    recorder
        .wait_until(WAIT, "10 more events handled", |h| h.len() >= 160)
        .await;
    running.stop().await;
    let resumed: Vec<u64> = recorder.handled()[150..]
        .iter()
        .map(|h| h.event.position)
        .collect();
    assert_eq!(
        resumed,
        more.iter().map(|e| e.position).collect::<Vec<_>>(),
        "only the new events"
    );
}

/// A runner killed while a batch is half handled: the next runner redoes
/// that batch and skips nothing.
///
/// With [`steady`] leases: a lease that lapsed under load in the middle of
/// a batch had part of an earlier batch redone too (as it may be), which
/// this case's exact count of redone events does not allow.
pub async fn a_crash_between_handling_and_checkpoint_skips_nothing<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 3, 40, 0).await;
    let recorder = Recorder::new("crash");
    recorder.block_at(written[69].position);
    let running = Running::start(
        Runner::new(store.clone(), recorder.clone()).options(steady("doomed").batch_size(25)),
    );
    recorder
        .wait_blocked(WAIT, "the runner reaches the 70th event")
        .await;
    running.kill().await;
    assert_eq!(
        store.load_checkpoint("crash", 0).await.expect("checkpoint"),
        Some(written[49].checkpoint()),
        "two whole batches were checkpointed, the third was not"
    );
    recorder.unblock();
    let running = Running::start(
        Runner::new(store.clone(), recorder.tag("heir")).options(steady("heir").batch_size(25)),
    );
    let all: HashSet<u64> = written.iter().map(|e| e.position).collect();
    recorder
        .wait_until(WAIT, "every event handled after the crash", |h| {
            positions(h).into_iter().collect::<HashSet<_>>() == all
        })
        .await;
    running.stop().await;
    let handled = recorder.handled();
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for p in positions(&handled) {
        *counts.entry(p).or_default() += 1;
    }
    let twice: Vec<u64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(p, _)| *p)
        .collect();
    let redone: Vec<u64> = written[50..69].iter().map(|e| e.position).collect();
    assert_eq!(twice, redone, "only the interrupted batch is handled twice");
    assert_in_aggregate_order(&handled);
}

/// Two runners of one reactor: one holds the lease and does the work; when
/// it dies the other takes over within the lease's time.
pub async fn one_runner_holds_a_partition_and_another_takes_over_when_it_dies<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let recorder = Recorder::new("lease");
    let a = Running::start(Runner::new(store.clone(), recorder.tag("a")).options(fast("a")));
    let b = Running::start(Runner::new(store.clone(), recorder.tag("b")).options(fast("b")));
    things_slowly(&store, 4, 15, 0).await;
    recorder
        .wait_until(WAIT, "60 events handled", |h| h.len() >= 60)
        .await;
    let tags: HashSet<String> = recorder.handled().iter().map(|h| h.tag.clone()).collect();
    assert_eq!(tags.len(), 1, "one runner did all the work: {tags:?}");
    let holder = store
        .lease_holder("lease", 0)
        .await
        .expect("holder")
        .expect("a holder");
    assert!(
        tags.contains(&holder),
        "the lease holder {holder} did the work"
    );
    let (dead, survivor) = if holder == "a" { (a, b) } else { (b, a) };
    dead.kill().await;
    let killed_at = Instant::now();
    things(&store, 4, 5, 15).await;
    recorder
        .wait_until(WAIT, "the survivor handles the new events", |h| {
            h.len() >= 80
        })
        .await;
    let took_over_after = killed_at.elapsed();
    survivor.stop().await;
    let handled = recorder.handled();
    assert!(
        handled[60..].iter().all(|h| h.tag != holder),
        "the new events went to the survivor"
    );
    assert!(
        took_over_after < Duration::from_secs(5),
        "take-over took {took_over_after:?} with a 500 ms lease"
    );
    assert_eq!(
        positions(&handled).len(),
        positions(&handled)
            .into_iter()
            .collect::<HashSet<_>>()
            .len(),
        "no event twice"
    );
}

/// Two runners of a reactor split into 4 partitions: every event handled
/// once, each aggregate in order.
pub async fn partitions_split_the_work_and_keep_each_aggregate_in_order<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let recorder = Recorder::new("parts");
    let a = Running::start(
        Runner::new(store.clone(), recorder.tag("a"))
            .options(fast("a").partitions(4).batch_size(16)),
    );
    let b = Running::start(
        Runner::new(store.clone(), recorder.tag("b"))
            .options(fast("b").partitions(4).batch_size(16)),
    );
    let written = things_slowly(&store, 12, 10, 0).await;
    recorder
        .wait_until(WAIT, "120 events handled", |h| h.len() >= 120)
        .await;
    a.stop().await;
    b.stop().await;
    let handled = recorder.handled();
    assert_each_once_in_order(&handled, &written);
    for partition in 0..4 {
        assert_eq!(
            store
                .lease_holder("parts", partition)
                .await
                .expect("holder"),
            None,
            "partition {partition} released"
        );
    }
}

/// A partition's checkpoint moves past the other partitions' events that
/// follow its own, which its reads looked at but did not return: a loop
/// does not scan them again.
pub async fn a_partition_checkpoint_moves_past_the_other_partitions_events<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let in_partition = |index| {
        (0..)
            .map(|a| format!("thing-{a}"))
            .find(|id| partition_of(id, 2) == index)
            .expect("some id in each partition")
    };
    let mut written = vec![tick(&store, &in_partition(0), 0).await];
    for version in 0..5 {
        written.push(tick(&store, &in_partition(1), version).await);
    }
    let recorder = Recorder::new("past");
    let runner = Runner::new(store.clone(), recorder.clone()).options(fast("p").partitions(2));
    let running = Running::start(runner.clone());
    recorder
        .wait_until(WAIT, "6 events handled", |h| h.len() >= 6)
        .await;
    running.stop().await;
    assert_each_once_in_order(&recorder.handled(), &written);
    let status = runner.status().await.expect("status");
    for p in &status.partitions {
        assert_eq!(
            p.checkpoint,
            written[5].checkpoint(),
            "partition {} stored the end of what it looked at",
            p.partition
        );
    }
}

/// A handler that fails twice is retried after growing waits and succeeds,
/// before the events after it.
pub async fn a_failing_handler_is_retried_with_backoff<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 3, 0).await;
    let recorder = Recorder::new("retry");
    recorder.fail(written[1].position, 2);
    let running = Running::start(
        Runner::new(store.clone(), recorder.clone()).options(fast("r").max_attempts(5)),
    );
    recorder
        .wait_until(WAIT, "3 events handled", |h| h.len() >= 3)
        .await;
    running.stop().await;
    assert_eq!(
        positions(&recorder.handled()),
        written.iter().map(|e| e.position).collect::<Vec<_>>(),
        "in order"
    );
    let attempts = recorder.attempts(written[1].position);
    assert_eq!(attempts.len(), 3, "two failures, then success");
    let waits: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        waits[0] >= Duration::from_millis(20) && waits[1] >= Duration::from_millis(40),
        "backoff 20 ms, then 40 ms: {waits:?}"
    );
    assert_eq!(store.parked_count("retry").await.expect("parked"), 0);
}

/// Events failing every attempt are parked and the reactor goes on; an
/// operator can list them, retry them and skip them.
pub async fn events_failing_every_attempt_are_parked_and_can_be_retried_or_skipped<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 4, 0).await;
    let (second, third) = (written[1].position, written[2].position);
    let recorder = Recorder::new("parking");
    recorder.fail(second, u32::MAX);
    recorder.fail(third, u32::MAX);
    let runner = Runner::new(store.clone(), recorder.clone()).options(
        fast("p")
            .max_attempts(3)
            .backoff(Duration::from_millis(5), Duration::from_millis(5)),
    );
    let running = Running::start(runner.clone());
    recorder
        .wait_until(WAIT, "the events around the failing ones handled", |h| {
            h.len() >= 2
        })
        .await;
    running.stop().await;
    assert_eq!(
        positions(&recorder.handled()),
        [written[0].position, written[3].position],
        "the reactor went on"
    );

    let parked = runner.parked(0, 100).await.expect("parked");
    assert_eq!(
        parked.iter().map(|p| p.position).collect::<Vec<_>>(),
        [second, third]
    );
    assert_eq!(parked[0].attempts, 3);
    assert_eq!(parked[0].error, format!("boom at position {second}"));
    assert_eq!(
        parked[0].event.as_ref(),
        Some(&written[1]),
        "the whole event comes back"
    );

    assert_eq!(
        runner.retry_parked(second).await.expect("retry"),
        RetryOutcome::FailedAgain {
            error: format!("boom at position {second}")
        }
    );
    assert_eq!(
        runner.parked(0, 100).await.expect("parked")[0].attempts,
        4,
        "still parked, one attempt more"
    );
    recorder.fail(second, 0);
    assert_eq!(
        runner.retry_parked(second).await.expect("retry"),
        RetryOutcome::Handled
    );
    assert_eq!(
        recorder.handled().last().map(|h| h.event.position),
        Some(second)
    );
    assert!(runner.skip_parked(third).await.expect("skip"));
    assert!(runner.parked(0, 100).await.expect("parked").is_empty());
    assert_eq!(
        runner.retry_parked(third).await.expect("retry"),
        RetryOutcome::NotParked,
        "nothing parked there any more"
    );
    assert!(!runner.skip_parked(third).await.expect("skip"));
}

/// A reactor started at the end sees only events appended after it first
/// ran.
pub async fn a_runner_started_at_the_end_sees_only_new_events<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    things(&store, 2, 5, 0).await;
    let recorder = Recorder::new("tail");
    let options = fast("t").start(Start::End);
    let running =
        Running::start(Runner::new(store.clone(), recorder.clone()).options(options.clone()));
    let stored = async || store.load_checkpoint("tail", 0).await.expect("checkpoint");
    // on an empty log the start is the beginning, stored as such
    let start = eventually(WAIT, "the runner stores its starting point", stored, |c| {
        c.is_some()
    })
    .await
    .expect("stored");
    let new = things(&store, 2, 2, 5).await;
    let wanted: HashSet<u64> = new.iter().map(|e| e.position).collect();
    recorder
        .wait_until(WAIT, "the 4 new events handled", |h| {
            positions(h)
                .into_iter()
                .collect::<HashSet<_>>()
                .is_superset(&wanted)
        })
        .await;
    running.stop().await;
    // On PostgreSQL the start is the last event readable then: an event
    // that committed but was held back by a transaction open elsewhere in
    // the cluster comes after it, and is delivered.
    let handled = recorder.handled();
    assert!(
        handled.iter().all(|h| h.event.checkpoint() > start),
        "only events after the start {start:?}: {:?}",
        positions(&handled)
    );
    let unique: HashSet<u64> = positions(&handled).into_iter().collect();
    assert_eq!(unique.len(), handled.len(), "each once");
}

/// The status call tells the checkpoint, lag, lease holder and parked
/// count of each partition, before, during and after a run.
pub async fn the_status_reports_lag_leases_and_parked_events<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let written = things(&store, 1, 10, 0).await;
    let recorder = Recorder::new("status");
    recorder.fail(written[4].position, u32::MAX);
    let runner = Runner::new(store.clone(), recorder.clone()).options(
        fast("s")
            .max_attempts(2)
            .backoff(Duration::from_millis(5), Duration::from_millis(5)),
    );
    // event ages are wall-clock time, which a paused tokio clock does not
    // move: nothing else runs yet, so the thread may sleep
    std::thread::sleep(Duration::from_millis(20));
    let before = runner.status().await.expect("status");
    assert_eq!(before.head, written[9].checkpoint());
    assert_eq!(before.partitions.len(), 1);
    let p = &before.partitions[0];
    assert_eq!(
        (p.checkpoint, p.lag_events, p.lease_holder.as_deref()),
        (crate::Checkpoint::BEGINNING, 10, None)
    );
    assert!(
        p.lag >= Duration::from_millis(20),
        "the oldest event waited {:?}",
        p.lag
    );

    let running = Running::start(runner.clone());
    recorder
        .wait_until(WAIT, "9 events handled", |h| h.len() >= 9)
        .await;
    let during = eventually(
        WAIT,
        "the checkpoint reaches the head",
        async || runner.status().await.expect("status"),
        |s| s.partitions[0].checkpoint == written[9].checkpoint(),
    )
    .await;
    assert_eq!(during.partitions[0].lease_holder.as_deref(), Some("s"));
    assert_eq!(
        (during.partitions[0].lag_events, during.partitions[0].lag),
        (0, Duration::ZERO)
    );
    assert_eq!(during.parked, 1);
    running.stop().await;
    assert_eq!(
        runner.status().await.expect("status").partitions[0].lease_holder,
        None
    );
}

/// A handler slower than the lease keeps its partition: the lease is
/// renewed while the handler runs, and a second runner never steps in.
pub async fn a_handler_slower_than_its_lease_keeps_the_partition<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let recorder = Recorder::new("slow");
    recorder.slow(STEADY_LEASE * 5 / 4);
    let a = Running::start(Runner::new(store.clone(), recorder.tag("a")).options(steady("a")));
    let holder = async || store.lease_holder("slow", 0).await.expect("holder");
    eventually(WAIT, "a takes the lease", holder, |h| {
        h.as_deref() == Some("a")
    })
    .await;
    let b = Running::start(Runner::new(store.clone(), recorder.tag("b")).options(steady("b")));
    let written = things(&store, 1, 3, 0).await;
    recorder
        .wait_until(WAIT, "3 slow events handled", |h| h.len() >= 3)
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.stop().await;
    b.stop().await;
    let handled = recorder.handled();
    assert_eq!(
        positions(&handled),
        written.iter().map(|e| e.position).collect::<Vec<_>>(),
        "each once, in order"
    );
    assert!(
        handled.iter().all(|h| h.tag == "a"),
        "b stepped in while a was handling: {:?}",
        handled.iter().map(|h| &h.tag).collect::<Vec<_>>()
    );
}

/// Who holds each of a reactor's `partitions` leases.
async fn holders<S: ReactorStore>(
    store: &S,
    reactor: &str,
    partitions: u32,
) -> Vec<Option<String>> {
    let mut holders = Vec::new();
    for partition in 0..partitions {
        holders.push(
            store
                .lease_holder(reactor, partition)
                .await
                .expect("holder"),
        );
    }
    holders
}

/// A runner started after another gets its share of the partitions, and
/// both handle events: each once, each aggregate in order.
pub async fn a_runner_started_later_gets_its_share_of_the_partitions<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let recorder = Recorder::new("share");
    let a = Running::start(
        Runner::new(store.clone(), recorder.tag("a")).options(fast("a").partitions(4)),
    );
    let holders_now = async || holders(&store, "share", 4).await;
    let held_by = |now: &Vec<Option<String>>, tag: &str| {
        now.iter().filter(|h| h.as_deref() == Some(tag)).count()
    };
    eventually(WAIT, "a holds every partition", holders_now, |now| {
        held_by(now, "a") == 4
    })
    .await;
    let b = Running::start(
        Runner::new(store.clone(), recorder.tag("b")).options(fast("b").partitions(4)),
    );
    let holders_now = async || holders(&store, "share", 4).await;
    eventually(WAIT, "the partitions are shared", holders_now, |now| {
        held_by(now, "a") == 2 && held_by(now, "b") == 2
    })
    .await;
    let written = things_slowly(&store, 12, 5, 0).await;
    recorder
        .wait_until(WAIT, "60 events handled", |h| h.len() >= 60)
        .await;
    a.stop().await;
    b.stop().await;
    let handled = recorder.handled();
    assert_each_once_in_order(&handled, &written);
    let tags: HashSet<&str> = handled.iter().map(|h| h.tag.as_str()).collect();
    assert_eq!(tags.len(), 2, "both runners handled events: {tags:?}");
}
