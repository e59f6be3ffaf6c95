//! The world of one schedule, drawn from its seed: 2 to 4 accounts (some
//! opened late, with nothing on them), 1 to 3 transfers among them, money
//! arriving on accounts at steps of the faulty phase, and 2 or 3 runners;
//! with approvals, some transfers wait for one (5 to 90 s on the
//! simulation's clock, which moves a second a step), and an approver may
//! approve or reject them at a step of the faulty phase, racing the
//! deadline.

use std::collections::VecDeque;
use std::fmt;

use std::time::Duration;

use eventstore_core::{MemoryStore, Options, Outcome, Repository};
use sagas_examples::account::Account;
use sagas_examples::transfer::{ApprovalPolicy, Transfer};

use super::executor::{TaskFuture, TaskOutput, now};
use super::store::SimStore;
use crate::dice::Dice;

/// How much every transfer moves: balances of 0, 10 and 20 and arrivals of
/// 5 and 10 make some withdrawals refused, then possible later.
const AMOUNT: u64 = 10;

/// One transfer to start before the runners do.
#[derive(Debug, Clone)]
pub(crate) struct PlannedTransfer {
    pub(crate) id: String,
    pub(crate) from: String,
    pub(crate) to: String,
    /// How long it waits for an approval once debited (seconds), if it
    /// needs one.
    pub(crate) approval_timeout: Option<u64>,
}

/// Something that happens in the world while the runners run.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// The account is opened, empty.
    Open { account: String },
    /// Money arrives on the account, under its own transaction id.
    Arrive {
        account: String,
        amount: u64,
        transaction: String,
    },
    /// An approver approves the transfer (refused unless it waits).
    Approve { transfer: String },
    /// An approver rejects the transfer (refused unless it waits).
    Reject { transfer: String },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { account } => write!(f, "{account} is opened"),
            Self::Arrive {
                account,
                amount,
                transaction,
            } => write!(f, "{amount} arrives on {account} [{transaction}]"),
            Self::Approve { transfer } => write!(f, "{transfer} is approved"),
            Self::Reject { transfer } => write!(f, "{transfer} is rejected"),
        }
    }
}

impl Action {
    /// The action as a task over the yielding store: ends with the money
    /// it brought in.
    pub(crate) fn task(self, repo: Repository<SimStore>) -> TaskFuture<'static> {
        Box::pin(async move {
            match &self {
                Self::Open { account } => {
                    let open = |a: &Account| a.open("Owner", 0);
                    let outcome = repo.execute(account, Options::idempotent("open"), open);
                    brought_in(outcome.await, 0)
                }
                Self::Arrive {
                    account,
                    amount,
                    transaction,
                } => {
                    let deposit = |a: &Account| a.deposit(*amount, transaction);
                    let outcome = repo.execute(account, Options::idempotent(transaction), deposit);
                    brought_in(outcome.await, *amount)
                }
                Self::Approve { transfer } => {
                    let outcome = repo.execute(transfer, Options::default(), Transfer::approve);
                    brought_in(outcome.await, 0)
                }
                Self::Reject { transfer } => {
                    let reject = |t: &Transfer| t.reject("no");
                    let outcome = repo.execute(transfer, Options::default(), reject);
                    brought_in(outcome.await, 0)
                }
            }
        })
    }
}

/// The money a command brought in: `money` when it took effect now,
/// nothing when it had before; an error when it was refused or failed.
fn brought_in<D: fmt::Display>(
    outcome: eventstore_core::Result<Outcome<D>>,
    money: u64,
) -> TaskOutput {
    match outcome {
        Ok(Outcome::Done(_)) => Ok(money),
        Ok(outcome) => match outcome.rejection() {
            Some(refusal) => Err(format!("refused: {refusal}")),
            None => Ok(0),
        },
        Err(error) => Err(error.to_string()),
    }
}

/// The world of one schedule.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// How many runners deliver events.
    pub(crate) runners: usize,
    /// The accounts opened before the runners start, with their balances.
    pub(crate) opened: Vec<(String, u64)>,
    /// The transfers, started before the runners start.
    pub(crate) transfers: Vec<PlannedTransfer>,
    /// What happens while they run, by step, in step order.
    pub(crate) actions: VecDeque<(u64, Action)>,
}

impl Plan {
    /// A world drawn from `rng`, whose actions happen before step `until`;
    /// with `approvals`, some transfers wait for one (drawn after the
    /// rest, so that a seed draws the same world without them).
    pub(crate) fn draw(rng: &mut Dice, until: u64, approvals: bool) -> Self {
        let accounts: Vec<String> = (1..=rng.between(2, 4)).map(|a| format!("a{a}")).collect();
        let mut opened = Vec::new();
        let mut actions = Vec::new();
        for account in &accounts {
            if rng.one_in(3) {
                let account = account.clone();
                actions.push((rng.roll(until), Action::Open { account }));
            } else {
                opened.push((account.clone(), 10 * rng.roll(3)));
            }
        }
        let transfers = (1..=rng.between(1, 3))
            .map(|t| {
                let from = rng.index(accounts.len());
                // any other account
                let to = (from + 1 + rng.index(accounts.len() - 1)) % accounts.len();
                PlannedTransfer {
                    id: format!("t{t}"),
                    from: accounts[from].clone(),
                    to: accounts[to].clone(),
                    approval_timeout: None,
                }
            })
            .collect::<Vec<_>>();
        for arrival in 1..=rng.roll(4) {
            let account = accounts[rng.index(accounts.len())].clone();
            let amount = 5 * rng.between(1, 2);
            let transaction = format!("in{arrival}");
            let action = Action::Arrive {
                account,
                amount,
                transaction,
            };
            actions.push((rng.roll(until), action));
        }
        let runners = usize::try_from(rng.between(2, 3)).unwrap_or(2);
        let mut transfers = transfers;
        if approvals {
            for transfer in &mut transfers {
                if rng.one_in(2) {
                    continue;
                }
                transfer.approval_timeout = Some(rng.between(5, 90));
                let id = transfer.id.clone();
                match rng.roll(3) {
                    1 => actions.push((rng.roll(until), Action::Approve { transfer: id })),
                    2 => actions.push((rng.roll(until), Action::Reject { transfer: id })),
                    _ => {}
                }
            }
        }
        actions.sort_by_key(|(step, _)| *step);
        Self {
            runners,
            opened,
            transfers,
            actions: actions.into(),
        }
    }

    /// Opens the first accounts and starts the transfers, on the store
    /// itself; returns the money the accounts were opened with.
    ///
    /// # Panics
    /// When a command is refused: the plan is wrong.
    pub(crate) fn set_up(&self, store: &MemoryStore) -> u64 {
        let repo = Repository::new(store.clone());
        for (account, balance) in &self.opened {
            let open = |a: &Account| a.open("Owner", *balance);
            now(repo.execute(account, Options::idempotent("open"), open))
                .and_then(Outcome::into_result)
                .expect("opens");
        }
        for transfer in &self.transfers {
            let policy = transfer
                .approval_timeout
                .map_or(ApprovalPolicy::NONE, |secs| ApprovalPolicy {
                    limit: 0,
                    timeout: Duration::from_secs(secs),
                });
            let start = |t: &Transfer| t.start_with(&transfer.from, &transfer.to, AMOUNT, &policy);
            now(repo.execute(&transfer.id, Options::idempotent("start"), start))
                .and_then(Outcome::into_result)
                .expect("starts");
        }
        self.opened.iter().map(|(_, balance)| balance).sum()
    }
}
