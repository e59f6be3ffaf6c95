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
