//! A money-transfer scenario for tests and load: accounts (some frozen),
//! transfers among them (some overdrawing), and the checks that no money
//! was made, lost or moved twice.
#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

use std::time::{Duration, Instant};

use eventstore_core::{Aggregate, EventStore, Options, Outcome, Repository};

use sagas_examples::account::{Account, AccountEvent};
use sagas_examples::transfer::{Transfer, TransferStatus};

use crate::books::Effects;

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

    /// Opens and freezes the accounts.
    ///
    /// # Errors
    /// When a command fails or is refused.
    pub async fn open_accounts<S: EventStore>(&self, repo: &Repository<S>) -> Result<(), String> {
        for (id, balance) in &self.accounts {
            let outcome = repo
                .execute(id, Options::default(), |a: &Account| {
                    a.open("Owner", *balance)
                })
                .await;
            if !matches!(outcome, Ok(Outcome::Done(_))) {
                return Err(format!("open {id}: {outcome:?}"));
            }
        }
        for id in &self.frozen {
            let outcome = repo
                .execute(id, Options::default(), |a: &Account| a.freeze("test"))
                .await;
            if !matches!(outcome, Ok(Outcome::Done(_))) {
                return Err(format!("freeze {id}: {outcome:?}"));
            }
        }
        Ok(())
    }

    /// Starts every transfer (again: a transfer started before is not
    /// started twice).
    ///
    /// # Errors
    /// When a command fails or is refused.
    pub async fn start_transfers<S: EventStore>(&self, repo: &Repository<S>) -> Result<(), String> {
        for (tx, from, to, amount) in &self.transfers {
            let start = |t: &Transfer| t.start(from, to, *amount);
            let outcome = repo
                .execute(tx, Options::idempotent("start").expect_new(), start)
                .await;
            if !matches!(outcome, Ok(Outcome::Done(_) | Outcome::AlreadyApplied)) {
                return Err(format!("start {tx}: {outcome:?}"));
            }
        }
        Ok(())
    }

    /// Opens the accounts and starts the transfers.
    ///
    /// # Errors
    /// When a command fails or is refused.
    pub async fn start<S: EventStore>(&self, repo: &Repository<S>) -> Result<(), String> {
        self.open_accounts(repo).await?;
        self.start_transfers(repo).await
    }

    /// How many transfers have not settled yet.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn unsettled<S: EventStore>(
        &self,
        repo: &Repository<S>,
    ) -> eventstore_core::Result<usize> {
        let mut open = 0;
        for (tx, ..) in &self.transfers {
            if !repo.load::<Transfer>(tx).await?.state.status.is_settled() {
                open += 1;
            }
        }
        Ok(open)
    }

    /// Waits (at most `limit`) until every transfer has settled.
    ///
    /// # Errors
    /// When some have not, saying how many.
    pub async fn wait_settled<S: EventStore>(
        &self,
        repo: &Repository<S>,
        limit: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let open = self.unsettled(repo).await.map_err(|e| e.to_string())?;
            if open == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{open} transfers not settled within {} s",
                    limit.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks the books: the money is all there, every transfer settled,
    /// and each transfer's effects happened exactly as its outcome says,
    /// once. Each outcome must occur at least once, or the scenario proves
    /// too little. Returns how many transfers completed, were refused and
    /// were refunded.
    ///
    /// # Errors
    /// What does not add up, naming the transfer.
    pub async fn check<S: EventStore>(&self, repo: &Repository<S>) -> Result<[usize; 3], String> {
        self.check_with_arrivals(repo, 0).await
    }

    /// [`check`](Self::check) for a run in which `arrived` (minor units)
    /// was deposited on the accounts from outside, besides the transfers:
    /// the accounts must hold the opening balances plus that.
    ///
    /// # Errors
    /// What does not add up, naming the transfer.
    pub async fn check_with_arrivals<S: EventStore>(
        &self,
        repo: &Repository<S>,
        arrived: u64,
    ) -> Result<[usize; 3], String> {
        let fail = |e: eventstore_core::Error| e.to_string();
        let mut total = 0;
        let mut events = Vec::new();
        for (id, _) in &self.accounts {
            total += repo.load::<Account>(id).await.map_err(fail)?.state.balance;
            for recorded in repo
                .store()
                .load(Account::KIND, id, 0)
                .await
                .map_err(fail)?
            {
                events.push(recorded.decode::<AccountEvent>().map_err(fail)?);
            }
        }
        if total != self.total() + arrived {
            return Err(format!(
                "money made or lost: {total} in the accounts, {} at the start and {arrived} arrived",
                self.total()
            ));
        }
        let effects = Effects::tally(events);
        let mut outcomes = [0; 3];
        for (tx, ..) in &self.transfers {
            let status = repo.load::<Transfer>(tx).await.map_err(fail)?.state.status;
            let outcome = match status {
                TransferStatus::Completed => 0,
                TransferStatus::Failed { refunded: false } => 1,
                TransferStatus::Failed { refunded: true } => 2,
                other => return Err(format!("{tx} did not settle: it is {other}")),
            };
            let expected = Effects::expected(status).unwrap_or_default();
            let seen = effects.get(tx.as_str()).copied().unwrap_or_default();
            if seen != expected {
                return Err(format!("{tx} ({status}): {seen}, expected {expected}"));
            }
            outcomes[outcome] += 1;
        }
        if outcomes.contains(&0) {
            return Err(format!(
                "an outcome never happened (completed, refused, refunded): {outcomes:?}"
            ));
        }
        Ok(outcomes)
    }
}
