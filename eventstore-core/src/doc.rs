//! A small aggregate for the examples in this crate's documentation.

use serde::{Deserialize, Serialize};

use crate::{Aggregate, Event};

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
