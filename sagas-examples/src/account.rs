//! The Account aggregate of the money-transfer domain.
//!
//! Amounts are integer minor units (cents). A refund is a compensation: it
//! is accepted on frozen and closed accounts, so that a saga can always give
//! back what it withdrew.

use std::fmt;

use eventstore_core::{Aggregate, Event};
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// An account was opened: schema version 2, which renamed the fields of
/// [`OpenedV1`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The holder's name (personal data: `None` once forgotten).
    pub holder: Option<String>,
    /// The first balance, in minor units.
    pub opening_balance: u64,
}

/// Version 1 of [`Opened`], as the sample wrote it up to release 0.1.0:
/// the rows stored then still read through it, and a forget erases their
/// `owner`.
#[derive(Deserialize, Debug)]
pub struct OpenedV1 {
    /// The owner's name (personal data: `None` once forgotten).
    pub owner: Option<String>,
    /// The first balance, in minor units.
    pub initial_balance: u64,
}

/// Version 2 renamed `owner` to `holder` and `initial_balance` to
/// `opening_balance`.
///
/// ```
/// use sagas_examples::account::{Opened, OpenedV1};
/// let v1 = OpenedV1 { owner: Some("Ada".into()), initial_balance: 5 };
/// assert_eq!(Opened::from(v1), Opened { holder: Some("Ada".into()), opening_balance: 5 });
/// ```
impl From<OpenedV1> for Opened {
    fn from(v1: OpenedV1) -> Self {
        Self {
            holder: v1.owner,
            opening_balance: v1.initial_balance,
        }
    }
}

/// Money came in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyDeposited {
    /// In minor units.
    pub amount: u64,
    /// The transfer or operation it belongs to.
    pub transaction: String,
}

/// Money went out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyWithdrawn {
    /// In minor units.
    pub amount: u64,
    /// The transfer or operation it belongs to.
    pub transaction: String,
}

/// A withdrawal was given back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoneyRefunded {
    /// In minor units.
    pub amount: u64,
    /// The transfer whose withdrawal is undone.
    pub transaction: String,
}

/// The account was frozen: no money moves until it is closed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Frozen {
    /// Why.
    pub reason: String,
}

/// The account was closed for good.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Closed {}

/// The owner's name changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OwnerUpdated {
    /// The new name (personal data: `None` once forgotten).
    pub owner: Option<String>,
}

/// Everything that happens to an account.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub enum AccountEvent {
    /// See [`Opened`]; the rows of version 1 read through [`OpenedV1`].
    #[event(version = 2, personal(holder), upcast(from = 1, typed = OpenedV1, personal(owner)))]
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

/// Where an account is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Not opened yet.
    #[default]
    New,
    /// Money moves.
    Open,
    /// No money moves, except refunds.
    Frozen,
    /// Closed for good.
    Closed,
}

/// In plain words, as people read it: `open`, `frozen`.
///
/// ```
/// use sagas_examples::account::Status;
/// assert_eq!(Status::Frozen.to_string(), "frozen");
/// ```
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Frozen => "frozen",
            Self::Closed => "closed",
        })
    }
}

/// A bank account.
///
/// ```
/// use eventstore_core::{MemoryStore, Options, Repository};
/// use sagas_examples::account::{Account, AccountError, Status};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let repo = Repository::new(MemoryStore::new());
/// repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 100_00)).await?.into_result()?;
/// repo.execute("acc-1", Options::idempotent("t-1/withdraw"), |a: &Account| a.withdraw(30_00, "t-1")).await?.into_result()?;
/// repo.execute("acc-1", Options::default(), |a: &Account| a.freeze("fraud")).await?.into_result()?;
/// let refused = repo.execute("acc-1", Options::default(), |a: &Account| a.deposit(1, "t-2")).await?;
/// assert_eq!(refused.rejection(), Some(AccountError::Frozen));
///
/// let account = repo.load::<Account>("acc-1").await?.state;
/// assert_eq!((account.balance, account.status), (70_00, Status::Frozen));
/// # Ok(()) }
/// ```
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[aggregate(kind = "Account", event = AccountEvent)]
pub struct Account {
    /// Where it is in its life.
    pub status: Status,
    /// The balance, in minor units.
    pub balance: u64,
    /// The owner's name (`None` once forgotten).
    pub owner: Option<String>,
}

/// Why an account refused a command (serializable: a refusal is recorded
/// under the command's idempotency key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    /// The account was opened before.
    #[error("the account is already open")]
    AlreadyOpen,
    /// The account was never opened.
    #[error("the account does not exist")]
    NotOpen,
    /// The account is frozen.
    #[error("the account is frozen")]
    Frozen,
    /// The account is closed.
    #[error("the account is closed")]
    Closed,
    /// Not enough money for a withdrawal.
    #[error(
        "insufficient funds: the balance is {}, {} was requested",
        Money(*.balance),
        Money(*.requested)
    )]
    InsufficientFunds {
        /// The balance, in minor units.
        balance: u64,
        /// The amount asked for, in minor units.
        requested: u64,
    },
    /// Amounts must be positive.
    #[error("the amount must be greater than zero")]
    ZeroAmount,
    /// The balance would not fit in 64 bits.
    #[error("the balance would overflow")]
    Overflow,
    /// Only an empty account can be closed.
    #[error("the account still holds {}; empty it before closing", Money(*.balance))]
    NotEmpty {
        /// The balance, in minor units.
        balance: u64,
    },
    /// An owner needs a name.
    #[error("the owner's name cannot be empty")]
    NoOwner,
}

/// What a command returns: the events to append, or why not.
pub type Decision = Result<Vec<AccountEvent>, AccountError>;

impl AccountEventHandler for Account {
    fn on_opened(&mut self, e: &Opened) {
        self.status = Status::Open;
        self.balance = e.opening_balance;
        self.owner.clone_from(&e.holder);
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
    fn on_frozen(&mut self, _: &Frozen) {
        self.status = Status::Frozen;
    }
    fn on_closed(&mut self, _: &Closed) {
        self.status = Status::Closed;
    }
    fn on_owner_updated(&mut self, e: &OwnerUpdated) {
        self.owner.clone_from(&e.owner);
    }
}

impl Account {
    /// The owner's name for display: `(forgotten)` once erased.
    #[must_use]
    pub fn owner_name(&self) -> &str {
        self.owner.as_deref().unwrap_or("(forgotten)")
    }

    /// Opens the account for `owner` with a first balance.
    ///
    /// # Errors
    /// [`AccountError::AlreadyOpen`], [`AccountError::NoOwner`].
    pub fn open(&self, owner: &str, opening_balance: u64) -> Decision {
        if self.status != Status::New {
            return Err(AccountError::AlreadyOpen);
        }
        if owner.trim().is_empty() {
            return Err(AccountError::NoOwner);
        }
        Ok(vec![
            Opened {
                holder: Some(owner.into()),
                opening_balance,
            }
            .into(),
        ])
    }

    /// Puts money in.
    ///
    /// # Errors
    /// Unless the account is open; [`AccountError::ZeroAmount`],
    /// [`AccountError::Overflow`].
    pub fn deposit(&self, amount: u64, transaction: &str) -> Decision {
        self.ensure_open()?;
        self.credit(amount)?;
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
    /// Unless the account is open; [`AccountError::ZeroAmount`],
    /// [`AccountError::InsufficientFunds`].
    pub fn withdraw(&self, amount: u64, transaction: &str) -> Decision {
        self.ensure_open()?;
        if amount == 0 {
            return Err(AccountError::ZeroAmount);
        }
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

    /// Gives back a withdrawal; accepted on frozen and closed accounts.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`], [`AccountError::ZeroAmount`],
    /// [`AccountError::Overflow`].
    pub fn refund(&self, amount: u64, transaction: &str) -> Decision {
        if self.status == Status::New {
            return Err(AccountError::NotOpen);
        }
        self.credit(amount)?;
        Ok(vec![
            MoneyRefunded {
                amount,
                transaction: transaction.into(),
            }
            .into(),
        ])
    }

    /// Freezes the account.
    ///
    /// # Errors
    /// Unless the account is open.
    pub fn freeze(&self, reason: &str) -> Decision {
        self.ensure_open()?;
        Ok(vec![
            Frozen {
                reason: reason.into(),
            }
            .into(),
        ])
    }

    /// Closes an empty account.
    ///
    /// # Errors
    /// Unless the account is open; [`AccountError::NotEmpty`].
    pub fn close(&self) -> Decision {
        self.ensure_open()?;
        if self.balance != 0 {
            return Err(AccountError::NotEmpty {
                balance: self.balance,
            });
        }
        Ok(vec![Closed {}.into()])
    }

    /// Changes the owner's name; accepted on frozen accounts.
    ///
    /// # Errors
    /// [`AccountError::NotOpen`], [`AccountError::Closed`],
    /// [`AccountError::NoOwner`].
    pub fn update_owner(&self, owner: &str) -> Decision {
        match self.status {
            Status::New => return Err(AccountError::NotOpen),
            Status::Closed => return Err(AccountError::Closed),
            Status::Open | Status::Frozen => {}
        }
        if owner.trim().is_empty() {
            return Err(AccountError::NoOwner);
        }
        Ok(vec![
            OwnerUpdated {
                owner: Some(owner.into()),
            }
            .into(),
        ])
    }

    fn ensure_open(&self) -> Result<(), AccountError> {
        match self.status {
            Status::Open => Ok(()),
            Status::New => Err(AccountError::NotOpen),
            Status::Frozen => Err(AccountError::Frozen),
            Status::Closed => Err(AccountError::Closed),
        }
    }

    fn credit(&self, amount: u64) -> Result<(), AccountError> {
        if amount == 0 {
            return Err(AccountError::ZeroAmount);
        }
        self.balance
            .checked_add(amount)
            .map(drop)
            .ok_or(AccountError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use eventstore_core::EventBody;
    use eventstore_core::schema::Decoded;
    use eventstore_core::testing::given;

    use super::*;

    fn opened(balance: u64) -> AccountEvent {
        Opened {
            holder: Some("Ada".into()),
            opening_balance: balance,
        }
        .into()
    }
    fn frozen() -> AccountEvent {
        Frozen {
            reason: "fraud".into(),
        }
        .into()
    }
    fn closed() -> AccountEvent {
        Closed {}.into()
    }

    #[test]
    fn opens_once_with_an_owner() {
        given::<Account>([])
            .when(|a| a.open("Ada", 100))
            .then([opened(100)]);
        given::<Account>([opened(1)])
            .when(|a| a.open("Ada", 100))
            .then_error(AccountError::AlreadyOpen);
        given::<Account>([])
            .when(|a| a.open("  ", 100))
            .then_error(AccountError::NoOwner);
    }

    #[test]
    fn withdraws_what_the_balance_covers() {
        let state = given::<Account>([opened(100)])
            .when(|a| a.withdraw(100, "t1"))
            .then([MoneyWithdrawn {
                amount: 100,
                transaction: "t1".into(),
            }
            .into()]);
        assert_eq!(state.balance, 0);
        given::<Account>([opened(100)])
            .when(|a| a.withdraw(101, "t1"))
            .then_error(AccountError::InsufficientFunds {
                balance: 100,
                requested: 101,
            });
        given::<Account>([opened(100)])
            .when(|a| a.withdraw(0, "t1"))
            .then_error(AccountError::ZeroAmount);
    }

    #[test]
    fn deposits_until_the_balance_would_overflow() {
        let state = given::<Account>([opened(5)])
            .when(|a| a.deposit(7, "t2"))
            .then([MoneyDeposited {
                amount: 7,
                transaction: "t2".into(),
            }
            .into()]);
        assert_eq!(state.balance, 12);
        given::<Account>([opened(u64::MAX)])
            .when(|a| a.deposit(1, "t2"))
            .then_error(AccountError::Overflow);
    }

    #[test]
    fn no_money_moves_on_a_frozen_or_closed_account() {
        for (history, error) in [
            (vec![opened(100), frozen()], AccountError::Frozen),
            (vec![opened(0), closed()], AccountError::Closed),
            (vec![], AccountError::NotOpen),
        ] {
            given::<Account>(history.clone())
                .when(|a| a.withdraw(1, "t"))
                .then_error(error.clone());
            given::<Account>(history.clone())
                .when(|a| a.deposit(1, "t"))
                .then_error(error.clone());
            given::<Account>(history.clone())
                .when(|a| a.freeze("again"))
                .then_error(error.clone());
            given::<Account>(history)
                .when(Account::close)
                .then_error(error);
        }
    }

    #[test]
    fn refunds_even_a_frozen_or_closed_account() {
        let refund: AccountEvent = MoneyRefunded {
            amount: 10,
            transaction: "t".into(),
        }
        .into();
        given::<Account>([opened(0), frozen()])
            .when(|a| a.refund(10, "t"))
            .then([refund.clone()]);
        let state = given::<Account>([opened(0), closed()])
            .when(|a| a.refund(10, "t"))
            .then([refund]);
        assert_eq!((state.balance, state.status), (10, Status::Closed));
        given::<Account>([])
            .when(|a| a.refund(10, "t"))
            .then_error(AccountError::NotOpen);
    }

    #[test]
    fn refusals_show_money_as_people_write_it() {
        assert_eq!(
            AccountError::InsufficientFunds {
                balance: 50_00,
                requested: 500_00
            }
            .to_string(),
            "insufficient funds: the balance is 50.00, 500.00 was requested"
        );
        assert_eq!(
            AccountError::NotEmpty { balance: 3 }.to_string(),
            "the account still holds 0.03; empty it before closing"
        );
    }

    #[test]
    fn closes_only_when_empty() {
        given::<Account>([opened(0)])
            .when(Account::close)
            .then([closed()]);
        given::<Account>([opened(3)])
            .when(Account::close)
            .then_error(AccountError::NotEmpty { balance: 3 });
    }

    #[test]
    fn updates_the_owner_unless_closed() {
        let state = given::<Account>([opened(0), frozen()])
            .when(|a| a.update_owner("Grace"))
            .then([OwnerUpdated {
                owner: Some("Grace".into()),
            }
            .into()]);
        assert_eq!(state.owner.as_deref(), Some("Grace"));
        given::<Account>([opened(0), closed()])
            .when(|a| a.update_owner("Grace"))
            .then_error(AccountError::Closed);
    }

    #[test]
    fn declares_the_owner_as_personal_data_in_every_version() {
        assert_eq!(AccountEvent::personal_fields("Opened"), ["holder"]);
        assert_eq!(
            AccountEvent::stored_personal_fields("Opened"),
            ["holder", "owner"]
        );
        assert_eq!(AccountEvent::personal_fields("OwnerUpdated"), ["owner"]);
        assert!(AccountEvent::personal_fields("MoneyDeposited").is_empty());
    }

    #[test]
    fn writes_opened_at_version_2_and_reads_version_1_as_it() {
        eventstore_core::schema::check::<AccountEvent>().expect("the schema holds together");
        assert_eq!(opened(5).schema_version(), 2);
        let v1: EventBody = r#"{"owner": "Ada", "initial_balance": 5}"#.parse().unwrap();
        let read = AccountEvent::from_stored("Opened", 1, &v1).expect("upcast");
        assert_eq!(read, Decoded::One(opened(5)));
        let v2 = opened(5).to_body().unwrap();
        assert_eq!(v2.as_str(), r#"{"holder":"Ada","opening_balance":5}"#);
    }
}
