//! The benchmarks' own aggregate: an account that is opened, then takes
//! deposits. Its events have the kinds and fields that the seeding appends
//! (`Opened` with an owner and a first balance, 35 bytes of JSON;
//! `MoneyDeposited` with an amount and a transaction, 32 to 36 bytes, and
//! 34 from `execute`), the same as the sample `Account`'s that the
//! benchmarks used before, so their figures compare. Its snapshot is 43
//! bytes, where that account's was 47 (`"open": true` for
//! `"status": "Open"`). [`append_history`] writes such a stream.

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::{Aggregate, Event, EventStore};
use eventstore_postgres::PgEventStore;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// An account was opened.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The owner's name.
    pub(crate) owner: Option<String>,
    /// The first balance.
    pub(crate) initial_balance: u64,
}

/// Money came in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct MoneyDeposited {
    /// How much.
    pub(crate) amount: u64,
    /// What it belongs to.
    pub(crate) transaction: String,
}

/// Everything that happens to an account here.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub(crate) enum AccountEvent {
    /// See [`Opened`].
    Opened(Opened),
    /// See [`MoneyDeposited`].
    MoneyDeposited(MoneyDeposited),
}

/// An account: whether it is open, its balance and its owner.
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[aggregate(kind = "Account", event = AccountEvent)]
pub(crate) struct Account {
    /// Opened, and so taking deposits.
    pub(crate) open: bool,
    /// The sum of the first balance and the deposits.
    pub(crate) balance: u64,
    /// The owner's name.
    pub(crate) owner: Option<String>,
}

impl AccountEventHandler for Account {
    fn on_opened(&mut self, e: &Opened) {
        self.open = true;
        self.balance = e.initial_balance;
        self.owner.clone_from(&e.owner);
    }
    fn on_money_deposited(&mut self, e: &MoneyDeposited) {
        self.balance += e.amount;
    }
}

/// Why an account refused a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub(crate) enum Refused {
    /// It was never opened.
    #[error("the account is not open")]
    NotOpen,
    /// The balance would not fit in 64 bits.
    #[error("the balance would overflow")]
    Overflow,
}

impl Account {
    /// Puts `amount` in, for `transaction`.
    ///
    /// # Errors
    /// [`Refused`] when the account is not open, or the balance would
    /// overflow.
    pub(crate) fn deposit(
        &self,
        amount: u64,
        transaction: &str,
    ) -> Result<Vec<AccountEvent>, Refused> {
        if !self.open {
            return Err(Refused::NotOpen);
        }
        self.balance.checked_add(amount).ok_or(Refused::Overflow)?;
        Ok(vec![
            MoneyDeposited {
                amount,
                transaction: transaction.into(),
            }
            .into(),
        ])
    }
}

/// The `Opened` event that starts every account the benchmarks write.
pub(crate) fn opened_event() -> NewEvent {
    let body = json!({ "owner": "Ada", "initial_balance": 0 });
    NewEvent::new("Opened", &body).expect("an object")
}

/// The `i`-th deposit of an account the benchmarks write: 1, for the
/// transaction `t-{i}`.
pub(crate) fn deposit_event(i: u64) -> NewEvent {
    let body = json!({ "amount": 1, "transaction": format!("t-{i}") });
    NewEvent::new("MoneyDeposited", &body).expect("an object")
}

/// Writes the account `id` through the store: opened, then deposits up to
/// version `events`, in appends of 1,000 events (transactions `t-0` to
/// `t-499`, as the other benchmarks' deposits).
pub(crate) async fn append_history(store: &PgEventStore, id: &str, events: u64) {
    let mut version = 0;
    while version < events {
        let last = (version + 1_000).min(events);
        let mut request = AppendRequest::new("Account", id.parse().expect("an id"), version);
        request.events = (version + 1..=last)
            .map(|v| match v {
                1 => opened_event(),
                _ => deposit_event(v % 500),
            })
            .collect();
        store.append(request).await.expect("append history");
        version = last;
    }
}
