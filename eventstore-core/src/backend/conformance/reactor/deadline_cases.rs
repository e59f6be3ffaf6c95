//! Deadlines under real runners: fired when the runner's clock reaches
//! them (it sleeps until then, it does not poll), and after a restart when
//! they came due while no runner ran.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::running::{Running, fast};
use crate::backend::conformance::approval::{Approval, ApprovalError, ApprovalEvent, requested};
use crate::backend::conformance::eventually::eventually;
use crate::reactor::{ReactorStore, Runner};
use crate::{
    DeadlineStore, EventStore, ManualClock, Options, Repository, SagaReactor, SharedClock, Tracker,
};

const WAIT: Duration = Duration::from_secs(15);

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

async fn timed_out<S: EventStore>(store: &S, id: &str) -> usize {
    let stored = store.load("Approval", id, 0).await.expect("load");
    stored
        .iter()
        .filter(|e| matches!(e.decode(), Ok(ApprovalEvent::TimedOut(_))))
        .count()
}

/// A runner over the approval saga on `clock`, polling only every minute:
/// anything it does within a test's seconds comes from a new event's
/// wake-up or from its clock.
fn runner<S>(store: &S, clock: &ManualClock, owner: &str) -> Running
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let clock: SharedClock = Arc::new(clock.clone());
    let saga =
        SagaReactor::<Approval, _>::new(Repository::new(store.clone())).clock(Arc::clone(&clock));
    let options = fast(owner).poll_interval(Duration::from_secs(60));
    Running::start(
        Runner::new(store.clone(), saga)
            .options(options)
            .clock(clock),
    )
}

/// Waits until the deadline of `id` is kept.
async fn kept<S: DeadlineStore>(store: &S, due: SystemTime) {
    eventually(
        WAIT,
        "the deadline is kept",
        async || store.next_deadline("Approval", None).await.expect("next"),
        |next| *next == Some(due),
    )
    .await;
}

async fn request<S: EventStore>(store: &S, id: &str, due: SystemTime) {
    let repo = Repository::new(store.clone());
    repo.execute(id, Options::default(), |_: &Approval| {
        Ok::<_, ApprovalError>(vec![requested(due, id)])
    })
    .await
    .and_then(crate::Outcome::into_result)
    .expect("request");
}

/// A day-long deadline fires as soon as the runner's clock is moved past
/// it, not before; one that came due while no runner ran fires when the
/// next runner starts; each once.
pub async fn a_runner_fires_deadlines_on_its_clock_and_after_a_restart<S>(store: S)
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let clock = ManualClock::starting_at(at(0));
    let running = runner(&store, &clock, "one");
    request(&store, "ap-1", at(86_400)).await;
    kept(&store, at(86_400)).await;
    clock.advance(Duration::from_secs(86_399));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(timed_out(&store, "ap-1").await, 0, "not a second early");
    clock.advance(Duration::from_secs(1));
    eventually(
        WAIT,
        "ap-1 timed out",
        async || timed_out(&store, "ap-1").await,
        |n| *n > 0,
    )
    .await;

    request(&store, "ap-2", at(90_000)).await;
    kept(&store, at(90_000)).await;
    running.stop().await;
    clock.set(at(100_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let saga = SagaReactor::<Approval, _>::new(Repository::new(store.clone()));
    let status = Runner::new(store.clone(), saga)
        .clock(shared)
        .status()
        .await
        .expect("status");
    let deadlines = status.deadlines.expect("a saga reports its deadlines");
    assert_eq!(
        (deadlines.pending, deadlines.next_due, deadlines.overdue),
        (1, Some(at(90_000)), 1),
        "one overdue while no runner runs"
    );
    assert_eq!(deadlines.most_overdue[0].saga_id.as_str(), "ap-2");
    let running = runner(&store, &clock, "two");
    eventually(
        WAIT,
        "ap-2 timed out",
        async || timed_out(&store, "ap-2").await,
        |n| *n > 0,
    )
    .await;
    eventually(
        WAIT,
        "nothing left pending",
        async || store.next_deadline("Approval", None).await.expect("next"),
        Option::is_none,
    )
    .await;
    running.stop().await;
    assert_eq!(
        (
            timed_out(&store, "ap-1").await,
            timed_out(&store, "ap-2").await
        ),
        (1, 1),
        "each fired once"
    );
}

/// A runner that takes a partition's lease asks the store what is due
/// there, even when its process asked a moment ago for the same partition
/// and learnt that nothing was pending: meanwhile another runner, since
/// stopped, held the partition and kept a deadline, which fires as soon as
/// the lease is taken back, not a minute of the clock later.
pub async fn a_runner_taking_a_lease_back_asks_what_is_due<S>(store: S)
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let clock = ManualClock::starting_at(at(0));
    let shared: SharedClock = Arc::new(clock.clone());
    let saga =
        SagaReactor::<Approval, _>::new(Repository::new(store.clone())).clock(Arc::clone(&shared));
    // this process held the partition and learnt that nothing is pending
    assert_eq!(
        saga.fire_due(None, at(0)).await.expect("nothing due"),
        Some(at(0) + crate::saga::DEADLINE_REFRESH)
    );
    // another process holds it, keeps a deadline due at 10 s, and stops
    let other = runner(&store, &clock, "other");
    request(&store, "ap-1", at(10)).await;
    kept(&store, at(10)).await;
    let probe = Runner::new(
        store.clone(),
        SagaReactor::<Approval, _>::new(Repository::new(store.clone())),
    );
    eventually(
        WAIT,
        "the other runner's checkpoint passes the request",
        async || probe.status().await.expect("status"),
        |status| status.partitions.iter().all(|p| p.lag_events == 0),
    )
    .await;
    other.stop().await;
    clock.set(at(20));
    // this process takes the partition back
    let options = fast("this").poll_interval(Duration::from_secs(60));
    let running = Running::start(
        Runner::new(store.clone(), saga)
            .options(options)
            .clock(shared),
    );
    eventually(
        WAIT,
        "ap-1 timed out when the lease was taken back",
        async || timed_out(&store, "ap-1").await,
        |n| *n > 0,
    )
    .await;
    running.stop().await;
    assert_eq!(timed_out(&store, "ap-1").await, 1, "once");
}
