//! The first decision for an idempotency key wins on PostgreSQL, under
//! real concurrent writers: half of them decide to accept the command,
//! half to refuse it, all with the same key on one aggregate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventstore_core::backend::RecordedOutcome;
use eventstore_core::backend::conformance::account::{Account, AccountError};
use eventstore_core::backend::conformance::faulty::Faulty;
use eventstore_core::{EventStore, Options, Outcome, Repository};
use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::fresh_store_with;
use tokio::sync::Barrier;

/// Tasks racing in each round, half accepting and half refusing.
const TASKS: usize = 16;

/// Rounds of the race, each on an aggregate of its own.
const ROUNDS: usize = 25;

/// The most a race may take, all rounds together.
const TIME_LIMIT: Duration = Duration::from_secs(120);

const KEY: &str = "t-1/step";

/// What the tasks of one round got.
#[derive(Debug, Default)]
struct Round {
    done: usize,
    already_applied: usize,
    rejected: usize,
    already_rejected: usize,
}

impl Round {
    /// Whether every task's outcome agrees with one decision: one done and
    /// the rest already applied, or one rejected and the rest already
    /// rejected.
    fn agrees(&self) -> bool {
        let applied = (
            self.done,
            self.already_applied,
            self.rejected,
            self.already_rejected,
        ) == (1, TASKS - 1, 0, 0);
        let refused = (
            self.done,
            self.already_applied,
            self.rejected,
            self.already_rejected,
        ) == (0, 0, 1, TASKS - 1);
        applied || refused
    }
}

/// The refusal the refusing tasks decide.
fn refused() -> AccountError {
    AccountError::InsufficientFunds {
        balance: 100,
        requested: 1_000,
    }
}

/// One round on the account `id`: `TASKS` tasks released together by a
/// barrier, each executing the command with `KEY`, even tasks accepting
/// (a deposit), odd ones refusing.
async fn race<S: EventStore>(repo: &Arc<Repository<S>>, id: &str) -> Round {
    let opened = repo
        .execute(id, Options::default(), |a: &Account| a.open("Ada", 100))
        .await
        .expect("open");
    assert!(matches!(opened, Outcome::Done(_)), "{opened:?}");
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (repo, barrier, id) = (Arc::clone(repo), Arc::clone(&barrier), id.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                repo.execute(&id, Options::idempotent(KEY), |a: &Account| {
                    if i % 2 == 0 {
                        a.deposit(1, "t-1")
                    } else {
                        Err(refused())
                    }
                })
                .await
            })
        })
        .collect();
    let mut round = Round::default();
    for task in tasks {
        match task.await.expect("task").expect("execute") {
            Outcome::Done(_) => round.done += 1,
            Outcome::AlreadyApplied => round.already_applied += 1,
            Outcome::Rejected(error) => {
                assert_eq!(error, refused());
                round.rejected += 1;
            }
            Outcome::AlreadyRejected(error) => {
                assert_eq!(error, Some(refused()), "the recorded refusal, in full");
                round.already_rejected += 1;
            }
        }
    }
    round
}

/// How many events of the stream carry the key.
async fn events_with_key(store: &PgEventStore, id: &str) -> i64 {
    let statement = format!(
        "SELECT count(*) FROM \"{}\".events WHERE aggregate_kind = 'Account' \
         AND aggregate_id = $1 AND idempotency_key = $2",
        store.schema()
    );
    sqlx::query_scalar(&statement)
        .bind(id)
        .bind(KEY)
        .fetch_one(store.pool())
        .await
        .expect("count the key's events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_accepts_and_refusals_of_one_key_agree_on_the_first_decision() {
    let store = fresh_store_with(TASKS as u32 + 4).await;
    let repo = Arc::new(Repository::new(store.clone()).max_attempts(100));
    let started = Instant::now();
    let (mut accepted, mut refusals) = (0, 0);
    for n in 0..ROUNDS {
        assert!(started.elapsed() < TIME_LIMIT, "the race took too long");
        let id = format!("a-{n}");
        let round = race(&repo, &id).await;
        assert!(round.agrees(), "round {n}: the tasks disagree: {round:?}");
        let recorded = store
            .idempotency_key_outcome("Account", &id, KEY)
            .await
            .expect("key outcome");
        let with_key = events_with_key(&store, &id).await;
        if round.done == 1 {
            accepted += 1;
            assert_eq!(recorded, Some(RecordedOutcome::Applied), "round {n}");
            assert_eq!(with_key, 1, "round {n}: one event carries the key");
        } else {
            refusals += 1;
            let error = serde_json::to_value(refused()).expect("encode");
            let stored = match recorded {
                Some(RecordedOutcome::Rejected(Some(json))) => json.to_value().expect("json"),
                other => panic!("round {n}: the refusal is recorded, got {other:?}"),
            };
            assert_eq!(stored, error, "round {n}");
            assert_eq!(with_key, 0, "round {n}: no event carries the key");
        }
        let account = repo.load::<Account>(&id).await.expect("load");
        assert_eq!(
            account.state.balance,
            100 + u64::from(round.done == 1),
            "round {n}: the deposit happened as the decision says"
        );
    }
    eprintln!("{ROUNDS} rounds: the accept won {accepted}, the refusal {refusals}");
}

/// The negative control: the same race on a store that records no refusal
/// (as before refusals were recorded under their keys) lets the tasks
/// disagree: some are refused while another one's deposit is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_recorded_refusals_the_same_race_disagrees() {
    let store = fresh_store_with(TASKS as u32 + 4).await;
    let unrecorded = Faulty::new(store).unrecorded_refusals();
    let repo = Arc::new(Repository::new(unrecorded).max_attempts(100));
    let started = Instant::now();
    let mut disagreed = Vec::new();
    for n in 0..ROUNDS {
        assert!(started.elapsed() < TIME_LIMIT, "the race took too long");
        let round = race(&repo, &format!("a-{n}")).await;
        if !round.agrees() {
            disagreed.push(round);
        }
    }
    eprintln!(
        "{} of {ROUNDS} rounds disagreed without recorded refusals, first {:?}",
        disagreed.len(),
        disagreed.first()
    );
    assert!(
        disagreed.iter().any(|r| r.done == 1 && r.rejected > 0),
        "a deposit done and a refusal of the same key, in some round"
    );
}
