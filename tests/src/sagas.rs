//! Running the transfer saga over a [`Scenario`]: many runners, replays.

use std::time::{Duration, Instant};

use eventstore_core::backend::conformance::reactor::running::Running;
use eventstore_core::reactor::{ReactorStore, Runner, RunnerOptions};
use eventstore_core::{DeadlineStore, EventStore, Repository, Tracker};
use sagas_examples::saga::TransferSaga;

use crate::scenario::Scenario;

/// Starts the scenario, runs `runners` sagas over `partitions` until every
/// transfer has settled, and checks the books.
///
/// # Panics
/// When the transfers do not settle within a minute or the books are off.
pub async fn run_transfers<S>(store: S, scenario: &Scenario, runners: usize, partitions: u32)
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let repo = Repository::new(store.clone()).max_attempts(100);
    scenario.start(&repo).await.expect("scenario starts");
    let running: Vec<Running> = (0..runners)
        .map(|r| {
            let options = RunnerOptions::default()
                .owner(format!("runner-{r}"))
                .partitions(partitions)
                .poll_interval(Duration::from_millis(20))
                .lease_ttl(Duration::from_secs(1));
            Running::start(
                Runner::new(store.clone(), TransferSaga::new(repo.clone())).options(options),
            )
        })
        .collect();
    scenario
        .wait_settled(&repo, Duration::from_secs(60))
        .await
        .expect("settled");
    for runner in running {
        runner.stop().await;
    }
    scenario.check(&repo).await.expect("the books add up");
}

/// Delivers the whole log again to a second saga (as after a crash that
/// lost every checkpoint): every transfer is settled, so wants no step,
/// and the books do not change.
///
/// # Panics
/// When the replay does not catch up within a minute or the books change.
pub async fn replay_everything<S>(store: S, scenario: &Scenario)
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let repo = Repository::new(store.clone()).max_attempts(100);
    let events_before = store
        .read_after(
            eventstore_core::Checkpoint::BEGINNING,
            &eventstore_core::EventFilter::all(),
            1_000_000,
        )
        .await
        .expect("read")
        .len();
    let runner = Runner::new(
        store.clone(),
        TransferSaga::new(repo.clone()).named("transfer-saga-replay"),
    )
    .options(
        RunnerOptions::default()
            .owner("replayer")
            .poll_interval(Duration::from_millis(20)),
    );
    let running = Running::start(runner.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = runner.status().await.expect("status");
        if status.partitions[0].checkpoint == status.head {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replay did not catch up: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop().await;
    let events_after = store
        .read_after(
            eventstore_core::Checkpoint::BEGINNING,
            &eventstore_core::EventFilter::all(),
            1_000_000,
        )
        .await
        .expect("read")
        .len();
    assert_eq!(events_after, events_before, "a replay wrote nothing");
    scenario.check(&repo).await.expect("the books add up");
}
