//! Money-transfer scenarios for the transfer saga, and the checks that no
//! money is made, lost or moved twice.
#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eventstore_core::reactor::{ReactorStore, Runner, RunnerOptions};
use eventstore_core::{Aggregate, EventStore, Options, Outcome, Repository, Tracker};
use sagas_examples::account::{Account, AccountEvent};
use sagas_examples::saga::TransferSaga;
use sagas_examples::transfer::{Transfer, TransferStatus};

use crate::reactor_suite::running::Running;

/// A set of accounts and transfers among them: some overdraw, some go to
/// frozen accounts.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Account ids, with their opening balances.
    pub accounts: Vec<(String, u64)>,
    /// Accounts frozen before the transfers start.
    pub frozen: Vec<String>,
    /// Transfer id, from, to, amount.
    pub transfers: Vec<(String, String, String, u64)>,
}

impl Scenario {
    /// `accounts` accounts of 100.00 (every fifth frozen) and `transfers`
    /// transfers, one in four for more than an account holds.
    pub fn new(accounts: usize, transfers: usize) -> Self {
        let ids: Vec<String> = (0..accounts).map(|a| format!("acc-{a}")).collect();
        Self {
            accounts: ids.iter().map(|id| (id.clone(), 100_00)).collect(),
            frozen: ids.iter().step_by(5).cloned().collect(),
            transfers: (0..transfers)
                .map(|t| {
                    let from = ids[(t * 7 + 1) % accounts].clone();
                    let mut to = ids[(t * 3 + 2) % accounts].clone();
                    if to == from {
                        to = ids[(t * 3 + 3) % accounts].clone();
                    }
                    let amount = if t % 4 == 0 {
                        150_00
                    } else {
                        10_00 + (t as u64 % 7) * 100
                    };
                    (format!("tx-{t}"), from, to, amount)
                })
                .collect(),
        }
    }

    /// The money in all accounts before any transfer.
    pub fn total(&self) -> u64 {
        self.accounts.iter().map(|(_, b)| b).sum()
    }

    /// Opens, freezes and starts everything.
    ///
    /// # Panics
    /// When a command fails.
    pub async fn start<S: EventStore>(&self, repo: &Repository<S>) {
        for (id, balance) in &self.accounts {
            let outcome = repo
                .execute(id, Options::default(), |a: &Account| {
                    a.open("Owner", *balance)
                })
                .await;
            assert!(
                matches!(outcome, Ok(Outcome::Done(_))),
                "open {id}: {outcome:?}"
            );
        }
        for id in &self.frozen {
            let _ = repo
                .execute(id, Options::default(), |a: &Account| a.freeze("test"))
                .await
                .expect("freeze");
        }
        for (tx, from, to, amount) in &self.transfers {
            let outcome = repo
                .execute(tx, Options::default(), |t: &Transfer| {
                    t.start(from, to, *amount)
                })
                .await;
            assert!(
                matches!(outcome, Ok(Outcome::Done(_))),
                "start {tx}: {outcome:?}"
            );
        }
    }

    /// Waits (at most `limit`) until every transfer has settled.
    ///
    /// # Panics
    /// When some have not, naming how many.
    pub async fn wait_settled<S: EventStore>(&self, repo: &Repository<S>, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let mut open = 0;
            for (tx, ..) in &self.transfers {
                if !repo
                    .load::<Transfer>(tx)
                    .await
                    .expect("load")
                    .state
                    .status
                    .is_settled()
                {
                    open += 1;
                }
            }
            if open == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{open} transfers not settled within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Checks the books: the money is all there, every transfer settled,
    /// and each transfer's effects happened exactly as its outcome says,
    /// once. Each outcome must occur at least once, or the scenario proves
    /// too little.
    ///
    /// # Panics
    /// When they do not add up, naming the transfer.
    pub async fn check<S: EventStore>(&self, repo: &Repository<S>) {
        let mut total = 0;
        // withdrawn, deposited, refunded: per transaction
        let mut effects: HashMap<String, [u32; 3]> = HashMap::new();
        for (id, _) in &self.accounts {
            total += repo.load::<Account>(id).await.expect("load").state.balance;
            for recorded in repo
                .store()
                .load(Account::KIND, id, 0)
                .await
                .expect("events")
            {
                let (tx, effect) = match recorded.decode::<AccountEvent>().expect("decode") {
                    AccountEvent::MoneyWithdrawn(e) => (e.transaction, 0),
                    AccountEvent::MoneyDeposited(e) => (e.transaction, 1),
                    AccountEvent::MoneyRefunded(e) => (e.transaction, 2),
                    _ => continue,
                };
                effects.entry(tx).or_default()[effect] += 1;
            }
        }
        assert_eq!(total, self.total(), "money made or lost");
        let mut outcomes: HashMap<&str, usize> = HashMap::new();
        for (tx, ..) in &self.transfers {
            let status = repo.load::<Transfer>(tx).await.expect("load").state.status;
            let (expected, outcome) = match status {
                TransferStatus::Completed => ([1, 1, 0], "completed"),
                TransferStatus::Failed { refunded: false } => ([0, 0, 0], "refused"),
                TransferStatus::Failed { refunded: true } => ([1, 0, 1], "refunded"),
                other => panic!("{tx} did not settle: {other:?}"),
            };
            let seen = effects.get(tx.as_str()).copied().unwrap_or_default();
            assert_eq!(
                seen, expected,
                "{tx} ({status:?}): withdrawals, deposits, refunds"
            );
            *outcomes.entry(outcome).or_default() += 1;
        }
        for outcome in ["completed", "refused", "refunded"] {
            assert!(
                outcomes.contains_key(outcome),
                "no transfer {outcome}: {outcomes:?}"
            );
        }
    }
}

/// Starts the scenario, runs `runners` sagas over `partitions` until every
/// transfer has settled, and checks the books.
///
/// # Panics
/// When the transfers do not settle within a minute or the books are off.
pub async fn run_transfers<S>(store: S, scenario: &Scenario, runners: usize, partitions: u32)
where
    S: EventStore + Tracker + ReactorStore,
{
    let repo = Repository::new(store.clone()).max_attempts(100);
    scenario.start(&repo).await;
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
    scenario.wait_settled(&repo, Duration::from_secs(60)).await;
    for runner in running {
        runner.stop().await;
    }
    scenario.check(&repo).await;
}

/// Delivers the whole log again to a second saga (as after a crash that
/// lost every checkpoint): each step is `AlreadyApplied` or finds the
/// transfer moved on, and the books do not change.
///
/// # Panics
/// When the replay does not catch up within a minute or the books change.
pub async fn replay_everything<S>(store: S, scenario: &Scenario)
where
    S: EventStore + Tracker + ReactorStore,
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
    scenario.check(&repo).await;
}
