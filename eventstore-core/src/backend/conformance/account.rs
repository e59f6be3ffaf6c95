//! The aggregate the cases run commands on: a bank account with several
//! event kinds, a personal field in two of them, and refusals. Its events
//! are stored as `Account` streams, with the bodies that some cases also
//! write by hand.

use serde::{Deserialize, Serialize};

use crate::{Aggregate, Event};

/// An account was opened.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The owner's name (personal data: `None` once forgotten).
    pub owner: Option<String>,
    /// The first balance.
    pub initial_balance: u64,
}

/// Money came in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyDeposited {
    /// How much.
    pub amount: u64,
    /// The operation it belongs to.
    pub transaction: String,
}

/// Money went out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyWithdrawn {
    /// How much.
    pub amount: u64,
    /// The operation it belongs to.
    pub transaction: String,
}

/// A withdrawal was given back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyRefunded {
    /// How much.
    pub amount: u64,
    /// The operation whose withdrawal is undone.
    pub transaction: String,
}

/// The account was frozen.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Frozen {
    /// Why.
    pub reason: String,
}

/// The account was closed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Closed {}

/// The owner's name changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OwnerUpdated {
    /// The new name (personal data: `None` once forgotten).
    pub owner: Option<String>,
}

/// Everything that happens to an [`Account`].
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub enum AccountEvent {
    /// See [`Opened`].
    #[event(personal(owner))]
    Opened(Opened),
    /// See [`MoneyDeposited`].
    MoneyDeposited(MoneyDeposited),
    /// See [`MoneyWithdrawn`].
    MoneyWithdrawn(MoneyWithdrawn),
    /// See [`MoneyRefunded`].
    MoneyRefunded(MoneyRefunded),
    /// See [`Frozen`].
    Frozen(Frozen),
    /// See [`Closed`].
    Closed(Closed),
    /// See [`OwnerUpdated`].
    #[event(personal(owner))]
    OwnerUpdated(OwnerUpdated),
}

/// A bank account.
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[aggregate(kind = "Account", event = AccountEvent)]
pub struct Account {
    /// Whether it was opened.
    pub open: bool,
    /// The balance.
    pub balance: u64,
    /// The owner's name (`None` once forgotten).
    pub owner: Option<String>,
}

/// Why an account refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    /// The account was opened before.
    #[error("the account is already open")]
    AlreadyOpen,
    /// The account was never opened.
    #[error("the account is not open")]
    NotOpen,
    /// Not enough money for a withdrawal.
    #[error("the balance is {balance}, {requested} was asked for")]
    InsufficientFunds {
        /// The balance.
        balance: u64,
        /// The amount asked for.
        requested: u64,
    },
}

/// What a command returns: the events to append, or why not.
pub type Decision = Result<Vec<AccountEvent>, AccountError>;

impl AccountEventHandler for Account {
    fn on_opened(&mut self, e: &Opened) {
        self.open = true;
        self.balance = e.initial_balance;
        self.owner.clone_from(&e.owner);
    }
    fn on_money_deposited(&mut self, e: &MoneyDeposited) {
        self.balance += e.amount;
    }
    fn on_money_withdrawn(&mut self, e: &MoneyWithdrawn) {
        self.balance -= e.amount;
    }
    fn on_money_refunded(&mut self, e: &MoneyRefunded) {
        self.balance += e.amount;
    }
    fn on_frozen(&mut self, _: &Frozen) {}
    fn on_closed(&mut self, _: &Closed) {
        self.open = false;
    }
    fn on_owner_updated(&mut self, e: &OwnerUpdated) {
        self.owner.clone_from(&e.owner);
    }
}

impl Account {
    /// Opens the account for `owner` with a first balance.
    ///
    /// # Errors
    /// [`AccountError::AlreadyOpen`].
    pub fn open(&self, owner: &str, initial_balance: u64) -> Decision {
        if self.open {
            return Err(AccountError::AlreadyOpen);
        }
        Ok(vec![
            Opened {
                owner: Some(owner.into()),
                initial_balance,
            }
            .into(),
        ])
    }

    /// Puts money in.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`].
    pub fn deposit(&self, amount: u64, transaction: &str) -> Decision {
        self.ensure_open()?;
        Ok(vec![
            MoneyDeposited {
                amount,
                transaction: transaction.into(),
            }
            .into(),
        ])
    }

    /// Takes money out.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`], [`AccountError::InsufficientFunds`].
    pub fn withdraw(&self, amount: u64, transaction: &str) -> Decision {
        self.ensure_open()?;
        if self.balance < amount {
            return Err(AccountError::InsufficientFunds {
                balance: self.balance,
                requested: amount,
            });
        }
        Ok(vec![
            MoneyWithdrawn {
                amount,
                transaction: transaction.into(),
            }
            .into(),
        ])
    }

    /// Changes the owner's name.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`].
    pub fn update_owner(&self, owner: &str) -> Decision {
        self.ensure_open()?;
        Ok(vec![
            OwnerUpdated {
                owner: Some(owner.into()),
            }
            .into(),
        ])
    }

    fn ensure_open(&self) -> Result<(), AccountError> {
        if self.open {
            Ok(())
        } else {
            Err(AccountError::NotOpen)
        }
    }
}
