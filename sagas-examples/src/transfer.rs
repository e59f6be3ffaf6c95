//! The Transfer aggregate: the state of one money transfer, a saga.
//!
//! started → debited → completed; started → failed (the withdrawal was
//! refused); debited → deposit failed → refunded (and so failed). Every
//! transition is an event; the saga ([`crate::saga`]) records them as the
//! outcomes of its steps.

use std::fmt;

use eventstore_core::{Aggregate, AggregateId, Error, Event, IdProblem};
use serde::{Deserialize, Serialize};

/// A transfer was asked for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferStarted {
    /// The account to take the money from.
    pub from: String,
    /// The account to give it to.
    pub to: String,
    /// In minor units.
    pub amount: u64,
}

/// The money left `from`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferDebited {}

/// The money reached `to`: the transfer is done.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferCompleted {}

/// `from` refused the withdrawal: the transfer failed, nothing moved.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalFailed {
    /// Why, as the account said it.
    pub reason: String,
}

/// `to` refused the deposit: the money must go back to `from`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DepositFailed {
    /// Why, as the account said it.
    pub reason: String,
}

/// The money went back to `from`: the transfer failed, nothing is lost.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferRefunded {}

/// Everything that happens to a transfer.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub enum TransferEvent {
    /// See [`TransferStarted`].
    TransferStarted(TransferStarted),
    /// See [`TransferDebited`].
    TransferDebited(TransferDebited),
    /// See [`TransferCompleted`].
    TransferCompleted(TransferCompleted),
    /// See [`WithdrawalFailed`].
    WithdrawalFailed(WithdrawalFailed),
    /// See [`DepositFailed`].
    DepositFailed(DepositFailed),
    /// See [`TransferRefunded`].
    TransferRefunded(TransferRefunded),
}

/// Where a transfer is; ordered as a transfer goes through them.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
pub enum TransferStatus {
    /// Not started.
    #[default]
    New,
    /// Waiting for the withdrawal.
    Started,
    /// Withdrawn, waiting for the deposit.
    Debited,
    /// Done.
    Completed,
    /// The deposit was refused: waiting for the refund.
    DepositFailed,
    /// Failed; `refunded` says whether money had to be given back.
    Failed {
        /// Whether the withdrawal was refunded.
        refunded: bool,
    },
}

/// In plain words, as people read it: `debited`, `failed, refunded`.
///
/// ```
/// use sagas_examples::transfer::TransferStatus;
/// assert_eq!(TransferStatus::DepositFailed.to_string(), "deposit failed");
/// assert_eq!(TransferStatus::Failed { refunded: true }.to_string(), "failed, refunded");
/// ```
impl fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "new",
            Self::Started => "started",
            Self::Debited => "debited",
            Self::Completed => "completed",
            Self::DepositFailed => "deposit failed",
            Self::Failed { refunded: false } => "failed",
            Self::Failed { refunded: true } => "failed, refunded",
        })
    }
}

impl TransferStatus {
    /// Whether the transfer has settled (completed or failed).
    #[must_use]
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Completed | Self::Failed { .. })
    }

    /// Where a transfer is after an event of kind `kind`, whatever came
    /// before it: each event sets the status on its own, so a transfer's
    /// status is a function of its last event's kind, and a query that
    /// reads only that kind (`sagas status`) needs no fold. `None` for a
    /// kind that is not a [`TransferEvent`]'s.
    ///
    /// ```
    /// use sagas_examples::transfer::TransferStatus;
    /// assert_eq!(TransferStatus::after("TransferDebited"), Some(TransferStatus::Debited));
    /// assert_eq!(TransferStatus::after("Opened"), None);
    /// ```
    #[must_use]
    pub fn after(kind: &str) -> Option<Self> {
        Some(match kind {
            "TransferStarted" => Self::Started,
            "TransferDebited" => Self::Debited,
            "TransferCompleted" => Self::Completed,
            "WithdrawalFailed" => Self::Failed { refunded: false },
            "DepositFailed" => Self::DepositFailed,
            "TransferRefunded" => Self::Failed { refunded: true },
            _ => return None,
        })
    }
}

/// A money transfer between two accounts.
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[aggregate(kind = "Transfer", event = TransferEvent)]
pub struct Transfer {
    /// Where it is.
    pub status: TransferStatus,
    /// The account to take the money from.
    pub from: String,
    /// The account to give it to.
    pub to: String,
    /// In minor units.
    pub amount: u64,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Why a transfer refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TransferError {
    /// It was started before.
    #[error("the transfer was already started")]
    AlreadyStarted,
    /// Amounts must be positive.
    #[error("the amount must be greater than zero")]
    ZeroAmount,
    /// From and to are the same account.
    #[error("a transfer needs two different accounts")]
    SameAccount,
    /// `from` or `to` cannot be an account id: the saga could not take the
    /// money from it or give it to it (and, for `to`, would withdraw first
    /// and strand the money).
    #[error("invalid account id {id:?}: {problem}")]
    InvalidAccount {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        problem: IdProblem,
    },
}

/// What a command returns: the events to append, or why not.
pub type Decision = Result<Vec<TransferEvent>, TransferError>;

impl TransferEventHandler for Transfer {
    fn on_transfer_started(&mut self, e: &TransferStarted) {
        self.status = TransferStatus::Started;
        self.from.clone_from(&e.from);
        self.to.clone_from(&e.to);
        self.amount = e.amount;
    }
    fn on_transfer_debited(&mut self, _: &TransferDebited) {
        self.status = TransferStatus::Debited;
    }
    fn on_transfer_completed(&mut self, _: &TransferCompleted) {
        self.status = TransferStatus::Completed;
    }
    fn on_withdrawal_failed(&mut self, e: &WithdrawalFailed) {
        self.status = TransferStatus::Failed { refunded: false };
        self.failure = Some(e.reason.clone());
    }
    fn on_deposit_failed(&mut self, e: &DepositFailed) {
        self.status = TransferStatus::DepositFailed;
        self.failure = Some(e.reason.clone());
    }
    fn on_transfer_refunded(&mut self, _: &TransferRefunded) {
        self.status = TransferStatus::Failed { refunded: true };
    }
}

impl Transfer {
    /// Starts a transfer of `amount` from `from` to `to`.
    ///
    /// # Errors
    /// [`TransferError::AlreadyStarted`], [`TransferError::ZeroAmount`],
    /// [`TransferError::InvalidAccount`] (for `from`, then `to`),
    /// [`TransferError::SameAccount`].
    pub fn start(&self, from: &str, to: &str, amount: u64) -> Decision {
        if self.status != TransferStatus::New {
            return Err(TransferError::AlreadyStarted);
        }
        if amount == 0 {
            return Err(TransferError::ZeroAmount);
        }
        for id in [from, to] {
            // `new` refuses with nothing but `InvalidId`
            if let Err(Error::InvalidId { problem, .. }) = AggregateId::new(id) {
                return Err(TransferError::InvalidAccount {
                    id: id.to_owned(),
                    problem,
                });
            }
        }
        if from == to {
            return Err(TransferError::SameAccount);
        }
        Ok(vec![
            TransferStarted {
                from: from.into(),
                to: to.into(),
                amount,
            }
            .into(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use eventstore_core::testing::given;

    use super::*;

    fn started() -> TransferEvent {
        TransferStarted {
            from: "a".into(),
            to: "b".into(),
            amount: 5,
        }
        .into()
    }

    #[test]
    fn starts_once_between_two_accounts() {
        given::<Transfer>([])
            .when(|t| t.start("a", "b", 5))
            .then([started()]);
        given::<Transfer>([started()])
            .when(|t| t.start("a", "b", 5))
            .then_error(TransferError::AlreadyStarted);
        given::<Transfer>([])
            .when(|t| t.start("a", "a", 5))
            .then_error(TransferError::SameAccount);
        given::<Transfer>([])
            .when(|t| t.start("a", "b", 0))
            .then_error(TransferError::ZeroAmount);
    }

    #[test]
    fn refuses_an_account_that_cannot_be_an_aggregate_id() {
        given::<Transfer>([])
            .when(|t| t.start("alice", "bo\tb", 10))
            .then_error(TransferError::InvalidAccount {
                id: "bo\tb".into(),
                problem: IdProblem::ControlCharacter { at: 2 },
            });
        given::<Transfer>([])
            .when(|t| t.start("", "bob", 10))
            .then_error(TransferError::InvalidAccount {
                id: String::new(),
                problem: IdProblem::Empty,
            });
        let long = "a".repeat(eventstore_core::MAX_ID_BYTES + 1);
        given::<Transfer>([])
            .when(|t| t.start("alice", &long, 10))
            .then_error(TransferError::InvalidAccount {
                id: long,
                problem: IdProblem::TooLong { bytes: 256 },
            });
        let refused = Transfer::default().start("alice", "bo\tb", 10).unwrap_err();
        assert_eq!(
            refused.to_string(),
            r#"invalid account id "bo\tb": it has a control character at byte 2"#
        );
    }

    /// One event of each kind.
    fn one_of_each() -> Vec<TransferEvent> {
        let reason = || "no".to_owned();
        vec![
            started(),
            TransferDebited {}.into(),
            TransferCompleted {}.into(),
            WithdrawalFailed { reason: reason() }.into(),
            DepositFailed { reason: reason() }.into(),
            TransferRefunded {}.into(),
        ]
    }

    #[test]
    fn the_status_is_a_function_of_the_last_event_kind() {
        let mut kinds: Vec<&str> = one_of_each().iter().map(Event::kind).collect();
        kinds.sort_unstable();
        let mut all = TransferEvent::KINDS.to_vec();
        all.sort_unstable();
        assert_eq!(kinds, all, "one_of_each() holds every kind");
        // after any history, the last event alone decides the status
        let histories = [vec![], vec![started()], one_of_each()];
        for history in &histories {
            for event in one_of_each() {
                let mut transfer = Transfer::default();
                for earlier in history {
                    transfer.apply(earlier);
                }
                transfer.apply(&event);
                assert_eq!(
                    Some(transfer.status),
                    TransferStatus::after(event.kind()),
                    "{} after {history:?}",
                    event.kind()
                );
            }
        }
        assert_eq!(TransferStatus::after("MoneyDeposited"), None);
    }

    #[test]
    fn a_failure_keeps_its_reason_through_the_refund() {
        let mut transfer = Transfer::default();
        for event in [
            started(),
            TransferDebited {}.into(),
            DepositFailed {
                reason: "frozen".into(),
            }
            .into(),
            TransferRefunded {}.into(),
        ] {
            transfer.apply(&event);
        }
        assert_eq!(
            (transfer.status, transfer.failure.as_deref()),
            (TransferStatus::Failed { refunded: true }, Some("frozen"))
        );
        assert_eq!(transfer.status.to_string(), "failed, refunded");
    }
}
