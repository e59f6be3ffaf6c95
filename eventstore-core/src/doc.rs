//! A small aggregate and a saga over it, for the examples in this crate's
//! documentation and its tests.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{Aggregate, AggregateId, Event, EventStore, NoInput, Saga, Step, StepOutcome};

/// An account was opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    /// Its owner (personal data: `None` once forgotten).
    pub owner: Option<String>,
    /// Its first balance.
    pub balance: u64,
}

/// Money left the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyWithdrawn {
    /// How much.
    pub amount: u64,
}

/// The events of [`Account`].
#[derive(Event, Debug, Clone, PartialEq)]
pub enum AccountEvent {
    /// See [`Opened`].
    #[event(personal(owner))]
    Opened(Opened),
    /// See [`MoneyWithdrawn`].
    MoneyWithdrawn(MoneyWithdrawn),
}

/// A bank account.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Account", event = AccountEvent)]
pub struct Account {
    /// Whether it was opened.
    pub open: bool,
    /// Its balance.
    pub balance: u64,
}

/// Why an account refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    /// Opened twice.
    #[error("the account is already open")]
    AlreadyOpen,
    /// Not opened yet.
    #[error("the account is not open")]
    NotOpen,
    /// Not enough money.
    #[error("not enough money")]
    InsufficientFunds,
}

impl AccountEventHandler for Account {
    fn on_opened(&mut self, e: &Opened) {
        self.open = true;
        self.balance = e.balance;
    }
    fn on_money_withdrawn(&mut self, e: &MoneyWithdrawn) {
        self.balance -= e.amount;
    }
}

impl Account {
    /// Opens the account.
    ///
    /// # Errors
    /// [`AccountError::AlreadyOpen`].
    pub fn open(&self, owner: &str, balance: u64) -> Result<Vec<AccountEvent>, AccountError> {
        if self.open {
            return Err(AccountError::AlreadyOpen);
        }
        Ok(vec![
            Opened {
                owner: Some(owner.into()),
                balance,
            }
            .into(),
        ])
    }

    /// Takes money out.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`], [`AccountError::InsufficientFunds`].
    pub fn withdraw(&self, amount: u64) -> Result<Vec<AccountEvent>, AccountError> {
        if !self.open {
            return Err(AccountError::NotOpen);
        }
        if self.balance < amount {
            return Err(AccountError::InsufficientFunds);
        }
        Ok(vec![MoneyWithdrawn { amount }.into()])
    }
}

/// A payout of `amount` from `account` was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutRequested {
    /// The account to take the money from.
    pub account: String,
    /// How much.
    pub amount: u64,
}

/// The money left the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaidOut {}

/// The account refused the withdrawal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutRefused {
    /// Why, as the account said it.
    pub reason: String,
}

/// The events of [`Payout`].
#[derive(Event, Debug, Clone, PartialEq)]
pub enum PayoutEvent {
    /// See [`PayoutRequested`].
    PayoutRequested(PayoutRequested),
    /// See [`PaidOut`].
    PaidOut(PaidOut),
    /// See [`PayoutRefused`].
    PayoutRefused(PayoutRefused),
}

/// A saga of one step: withdraw `amount` from `account`.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Payout", event = PayoutEvent)]
pub struct Payout {
    /// The account to take the money from.
    pub account: String,
    /// How much.
    pub amount: u64,
    /// Whether it was asked for.
    pub requested: bool,
    /// Why it was refused, if it was.
    pub refused: Option<String>,
    /// Whether the withdrawal's outcome is recorded.
    pub settled: bool,
}

/// A payout request, as an event.
#[must_use]
pub fn requested(account: &str, amount: u64) -> PayoutEvent {
    PayoutRequested {
        account: account.into(),
        amount,
    }
    .into()
}

impl PayoutEventHandler for Payout {
    fn on_payout_requested(&mut self, e: &PayoutRequested) {
        self.account.clone_from(&e.account);
        self.amount = e.amount;
        self.requested = true;
    }
    fn on_paid_out(&mut self, _: &PaidOut) {
        self.settled = true;
    }
    fn on_payout_refused(&mut self, e: &PayoutRefused) {
        self.refused = Some(e.reason.clone());
        self.settled = true;
    }
}

impl Saga for Payout {
    type Input = NoInput;

    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        if !self.requested || self.settled {
            return Vec::new();
        }
        let amount = self.amount;
        vec![Step::on("withdraw", &self.account, move |a: &Account| {
            a.withdraw(amount)
        })]
    }

    fn on_outcome(&self, _: &str, outcome: &StepOutcome, _: SystemTime) -> Vec<PayoutEvent> {
        match outcome {
            StepOutcome::Done => vec![PaidOut {}.into()],
            StepOutcome::Rejected(why) => vec![
                PayoutRefused {
                    reason: why.to_string(),
                }
                .into(),
            ],
        }
    }
}
