//! The Transfer aggregate: the state of one money transfer, a saga.
//!
//! started → debited → completed; started → failed (the withdrawal was
//! refused); debited → deposit failed → refunded (and so failed). A
//! transfer started with an approval timeout (above the approval limit)
//! waits, once debited, for an approval: approved → completed as above;
//! rejected, or not approved in time → refunded. Every transition is an
//! event; the saga ([`crate::saga`]) records them as the outcomes of its
//! steps and deadline, the commands [`Transfer::approve`] and
//! [`Transfer::reject`] as an operator's decision.

use std::fmt;
use std::time::{Duration, SystemTime};

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
    /// How long, once debited, it waits for an approval before the money
    /// goes back; `None` (and absent from the stored body) for a transfer
    /// that needs none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_secs: Option<u64>,
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

/// Debited, the transfer waits for an approval until `due_micros`
/// (microseconds since 1970).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequested {
    /// When it stops waiting, in microseconds since 1970.
    pub due_micros: u64,
}

/// Approved in time: the money goes on to `to`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferApproved {}

/// Rejected: the money goes back to `from`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TransferRejected {
    /// Why, as the approver said it.
    pub reason: String,
}

/// Not approved in time: the money goes back to `from`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApprovalTimedOut {}

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
    /// See [`ApprovalRequested`].
    ApprovalRequested(ApprovalRequested),
    /// See [`TransferApproved`].
    TransferApproved(TransferApproved),
    /// See [`TransferRejected`].
    TransferRejected(TransferRejected),
    /// See [`ApprovalTimedOut`].
    ApprovalTimedOut(ApprovalTimedOut),
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
    /// Withdrawn, waiting for an approval (or its deadline).
    AwaitingApproval,
    /// Approved: waiting for the deposit.
    Approved,
    /// Rejected, or not approved in time (`timed_out`): waiting for the
    /// refund.
    Declined {
        /// Whether the approval's deadline passed.
        timed_out: bool,
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
            Self::AwaitingApproval => "awaiting approval",
            Self::Approved => "approved",
            Self::Declined { timed_out: false } => "rejected",
            Self::Declined { timed_out: true } => "not approved in time",
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
            "ApprovalRequested" => Self::AwaitingApproval,
            "TransferApproved" => Self::Approved,
            "TransferRejected" => Self::Declined { timed_out: false },
            "ApprovalTimedOut" => Self::Declined { timed_out: true },
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
    /// How long it waits for an approval once debited, if it needs one.
    pub approval_timeout_secs: Option<u64>,
    /// Until when it waits for the approval (µs since 1970), while it does.
    pub approval_due_micros: Option<u64>,
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
    /// Only a transfer that waits for an approval can be approved or
    /// rejected.
    #[error("the transfer is {status}, not awaiting approval")]
    NotAwaitingApproval {
        /// Where it is.
        status: TransferStatus,
    },
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
        self.approval_timeout_secs = e.approval_timeout_secs;
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
    fn on_approval_requested(&mut self, e: &ApprovalRequested) {
        self.status = TransferStatus::AwaitingApproval;
        self.approval_due_micros = Some(e.due_micros);
    }
    fn on_transfer_approved(&mut self, _: &TransferApproved) {
        self.status = TransferStatus::Approved;
        self.approval_due_micros = None;
    }
    fn on_transfer_rejected(&mut self, e: &TransferRejected) {
        self.status = TransferStatus::Declined { timed_out: false };
        self.approval_due_micros = None;
        self.failure = Some(format!("rejected: {}", e.reason));
    }
    fn on_approval_timed_out(&mut self, _: &ApprovalTimedOut) {
        self.status = TransferStatus::Declined { timed_out: true };
        self.approval_due_micros = None;
        self.failure = Some("not approved in time".to_owned());
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
        self.start_with(from, to, amount, &ApprovalPolicy::NONE)
    }

    /// Starts a transfer of `amount` from `from` to `to` under `policy`:
    /// above its limit, the transfer waits for an approval once debited.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with(
        &self,
        from: &str,
        to: &str,
        amount: u64,
        policy: &ApprovalPolicy,
    ) -> Decision {
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
                approval_timeout_secs: policy.timeout_for(amount).map(|t| t.as_secs()),
            }
            .into(),
        ])
    }

    /// Approves a transfer that awaits approval.
    ///
    /// # Errors
    /// [`TransferError::NotAwaitingApproval`].
    pub fn approve(&self) -> Decision {
        self.awaiting()?;
        Ok(vec![TransferApproved {}.into()])
    }

    /// Rejects a transfer that awaits approval, for `reason`.
    ///
    /// # Errors
    /// [`TransferError::NotAwaitingApproval`].
    pub fn reject(&self, reason: &str) -> Decision {
        self.awaiting()?;
        Ok(vec![
            TransferRejected {
                reason: reason.to_owned(),
            }
            .into(),
        ])
    }

    /// When it stops waiting for an approval, while it waits.
    #[must_use]
    pub fn approval_due(&self) -> Option<SystemTime> {
        self.approval_due_micros
            .map(|due| SystemTime::UNIX_EPOCH + Duration::from_micros(due))
    }

    fn awaiting(&self) -> Result<(), TransferError> {
        match self.status {
            TransferStatus::AwaitingApproval => Ok(()),
            status => Err(TransferError::NotAwaitingApproval { status }),
        }
    }
}

/// Which transfers need an approval, and how long they wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// Transfers of more than this (minor units) need an approval.
    pub limit: u64,
    /// How long one waits for it once debited.
    pub timeout: Duration,
}

impl ApprovalPolicy {
    /// No transfer needs an approval.
    pub const NONE: Self = Self {
        limit: u64::MAX,
        timeout: Duration::ZERO,
    };

    /// The approval timeout of a transfer of `amount`, if it needs one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sagas_examples::transfer::ApprovalPolicy;
    /// let policy = ApprovalPolicy { limit: 1_000_00, timeout: Duration::from_secs(600) };
    /// assert_eq!(policy.timeout_for(1_000_00), None);
    /// assert_eq!(policy.timeout_for(1_000_01), Some(Duration::from_secs(600)));
    /// ```
    #[must_use]
    pub fn timeout_for(&self, amount: u64) -> Option<Duration> {
        (amount > self.limit).then_some(self.timeout)
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
            approval_timeout_secs: None,
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
            ApprovalRequested { due_micros: 1 }.into(),
            TransferApproved {}.into(),
            TransferRejected { reason: reason() }.into(),
            ApprovalTimedOut {}.into(),
        ]
    }

    fn awaiting() -> Vec<TransferEvent> {
        vec![
            started(),
            TransferDebited {}.into(),
            ApprovalRequested { due_micros: 5 }.into(),
        ]
    }

    #[test]
    fn only_a_transfer_awaiting_approval_is_approved_or_rejected() {
        given::<Transfer>(awaiting())
            .when(Transfer::approve)
            .then([TransferApproved {}.into()]);
        given::<Transfer>(awaiting())
            .when(|t| t.reject("too much"))
            .then([TransferRejected {
                reason: "too much".into(),
            }
            .into()]);
        let mut timed_out = awaiting();
        timed_out.push(ApprovalTimedOut {}.into());
        given::<Transfer>(timed_out)
            .when(Transfer::approve)
            .then_error(TransferError::NotAwaitingApproval {
                status: TransferStatus::Declined { timed_out: true },
            });
        let refused = Transfer::default().approve().unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the transfer is new, not awaiting approval"
        );
    }

    #[test]
    fn a_transfer_above_the_limit_records_its_approval_timeout() {
        let policy = ApprovalPolicy {
            limit: 10,
            timeout: Duration::from_secs(600),
        };
        let with = |amount| Transfer::default().start_with("a", "b", amount, &policy);
        let Ok(events) = with(11) else {
            panic!("started")
        };
        assert!(
            matches!(&events[0], TransferEvent::TransferStarted(s) if s.approval_timeout_secs == Some(600))
        );
        let Ok(events) = with(10) else {
            panic!("started")
        };
        assert_eq!(events, [started_of(10)]);
        let body = serde_json::to_value(TransferStarted {
            from: "a".into(),
            to: "b".into(),
            amount: 1,
            approval_timeout_secs: None,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "from": "a", "to": "b", "amount": 1 }),
            "stored as before"
        );
    }

    fn started_of(amount: u64) -> TransferEvent {
        TransferStarted {
            from: "a".into(),
            to: "b".into(),
            amount,
            approval_timeout_secs: None,
        }
        .into()
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
