//! What the account events say each transfer did, and what its final state
//! says it must have done: the per-transfer half of checking the books,
//! shared by the [`Scenario`](crate::scenario::Scenario) checks and the
//! [simulation](crate::simulation).

use std::collections::BTreeMap;
use std::fmt;

use sagas_examples::account::AccountEvent;
use sagas_examples::transfer::TransferStatus;

/// How many withdrawals, deposits and refunds name one transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    /// `MoneyWithdrawn` events.
    pub withdrawn: u32,
    /// `MoneyDeposited` events.
    pub deposited: u32,
    /// `MoneyRefunded` events.
    pub refunded: u32,
}

impl Effects {
    /// What a transfer in `status` must have done, exactly: completed, one
    /// withdrawal and one deposit; failed, nothing; failed and refunded,
    /// one withdrawal and one refund. `None` while it has not settled.
    ///
    /// ```
    /// use eventstore_tests::books::Effects;
    /// use sagas_examples::transfer::TransferStatus;
    /// let refunded = Effects::expected(TransferStatus::Failed { refunded: true }).unwrap();
    /// assert_eq!(refunded.to_string(), "1 withdrawal, 0 deposits, 1 refund");
    /// assert_eq!(Effects::expected(TransferStatus::Debited), None);
    /// ```
    #[must_use]
    pub fn expected(status: TransferStatus) -> Option<Self> {
        let [withdrawn, deposited, refunded] = match status {
            TransferStatus::Completed => [1, 1, 0],
            TransferStatus::Failed { refunded: false } => [0, 0, 0],
            TransferStatus::Failed { refunded: true } => [1, 0, 1],
            _ => return None,
        };
        Some(Self {
            withdrawn,
            deposited,
            refunded,
        })
    }

    /// The effects of account events, by the transaction they name; other
    /// kinds of events are skipped.
    pub fn tally(events: impl IntoIterator<Item = AccountEvent>) -> BTreeMap<String, Self> {
        let mut effects = BTreeMap::<String, Self>::new();
        for event in events {
            let (transaction, count): (String, fn(&mut Self) -> &mut u32) = match event {
                AccountEvent::MoneyWithdrawn(e) => (e.transaction, |f| &mut f.withdrawn),
                AccountEvent::MoneyDeposited(e) => (e.transaction, |f| &mut f.deposited),
                AccountEvent::MoneyRefunded(e) => (e.transaction, |f| &mut f.refunded),
                _ => continue,
            };
            *count(effects.entry(transaction).or_default()) += 1;
        }
        effects
    }
}

/// `1 withdrawal, 1 deposit, 0 refunds`.
impl fmt::Display for Effects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u32| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} withdrawal{}, {} deposit{}, {} refund{}",
            self.withdrawn,
            plural(self.withdrawn),
            self.deposited,
            plural(self.deposited),
            self.refunded,
            plural(self.refunded)
        )
    }
}
