//! The transfer saga: moves money between accounts, with a compensation
//! when the deposit is refused.
//!
//! A [`Transfer`] is the saga's state, and its status says what to do
//! next: started, withdraw from `from`; debited (or approved), deposit to
//! `to`; deposit failed (or rejected, or not approved in time), refund
//! `from`. Each step's outcome becomes the transfer's next event. A
//! transfer that needs an approval lists, while it waits, the deadline
//! [`APPROVAL`], which records [`ApprovalTimedOut`] when it fires. The runtime ([`TransferSaga`]) gives each step the key
//! `Transfer/<tx>/<step>` and records its outcome under that key, so no
//! step is taken twice, whatever the redeliveries.

use std::time::{Duration, SystemTime};

use eventstore_core::{
    AggregateId, Deadline, EventStore, NoInput, Saga, SagaReactor, Step, StepOutcome,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::account::Account;
use crate::money::Money;
use crate::output::utc;
use crate::transfer::{
    ApprovalRequested, ApprovalTimedOut, DepositFailed, Transfer, TransferCompleted,
    TransferDebited, TransferEvent, TransferRefunded, TransferStatus, WithdrawalFailed,
};

/// The reactor that runs transfers, named `transfer-saga`.
pub type TransferSaga<S> = SagaReactor<Transfer, S>;

/// The step that takes the money from `from`.
pub const WITHDRAW: &str = "withdraw";
/// The step that gives it to `to`.
pub const DEPOSIT: &str = "deposit";
/// The step that gives it back to `from` when `to` refused it, or the
/// transfer was not approved.
pub const REFUND: &str = "refund";
/// The deadline of a transfer that waits for an approval.
pub const APPROVAL: &str = "approval";

impl Saga for Transfer {
    type Input = NoInput;

    fn steps<S: EventStore>(&self, id: &AggregateId) -> Vec<Step<S>> {
        let (amount, tx) = (self.amount, id.to_string());
        match self.status {
            TransferStatus::Started => vec![Step::on(WITHDRAW, &self.from, move |a: &Account| {
                a.withdraw(amount, &tx)
            })],
            TransferStatus::Debited | TransferStatus::Approved => {
                vec![Step::on(DEPOSIT, &self.to, move |a: &Account| {
                    a.deposit(amount, &tx)
                })]
            }
            TransferStatus::DepositFailed | TransferStatus::Declined { .. } => {
                // a refusal waits for an operator: not final, so that
                // the replay, once the refund is possible, takes it
                vec![
                    Step::on(REFUND, &self.from, move |a: &Account| a.refund(amount, &tx))
                        .refusal_not_final(),
                ]
            }
            TransferStatus::New
            | TransferStatus::AwaitingApproval
            | TransferStatus::Completed
            | TransferStatus::Failed { .. } => Vec::new(),
        }
    }

    fn deadlines(&self) -> Vec<Deadline> {
        self.approval_due()
            .map(|due| Deadline::at(APPROVAL, due))
            .into_iter()
            .collect()
    }

    fn on_deadline(&self, deadline: &Deadline, _now: SystemTime) -> Vec<TransferEvent> {
        match deadline.name() {
            APPROVAL => vec![ApprovalTimedOut {}.into()],
            _ => Vec::new(),
        }
    }

    fn on_outcome(&self, step: &str, outcome: &StepOutcome, now: SystemTime) -> Vec<TransferEvent> {
        let event: TransferEvent = match (step, outcome) {
            (WITHDRAW, StepOutcome::Done) => match self.approval_timeout_secs {
                // the money is held: it waits for an approval until then
                Some(timeout) => {
                    let due = Deadline::after(APPROVAL, now, Duration::from_secs(timeout));
                    return vec![
                        TransferDebited {}.into(),
                        ApprovalRequested {
                            due_micros: due.due_micros(),
                        }
                        .into(),
                    ];
                }
                None => TransferDebited {}.into(),
            },
            (WITHDRAW, StepOutcome::Rejected(why)) => WithdrawalFailed {
                reason: why.to_string(),
            }
            .into(),
            (DEPOSIT, StepOutcome::Done) => TransferCompleted {}.into(),
            (DEPOSIT, StepOutcome::Rejected(why)) => DepositFailed {
                reason: why.to_string(),
            }
            .into(),
            (REFUND, StepOutcome::Done) => TransferRefunded {}.into(),
            // a refund is accepted on every opened account: a refusal
            // needs an operator, so it is not recorded (the runtime fails
            // the event, which is retried, then parked; the step's
            // refusal is not final, so the replay decides it again)
            _ => return Vec::new(),
        };
        vec![event]
    }
}

/// What the saga does with each recorded step: logs it (`info`) and, with
/// a `narrator`, sends it there too, in the words [`narrate`] finds.
pub fn narrator(
    narrator: Option<UnboundedSender<String>>,
) -> impl Fn(&AggregateId, &Transfer, &str, &StepOutcome) + Send + Sync + 'static {
    move |tx, transfer, step, outcome| {
        for line in narrate(tx.as_str(), transfer, step, outcome) {
            tracing::info!(reactor = "transfer-saga", "{line}");
            if let Some(narrator) = &narrator {
                let _ = narrator.send(line);
            }
        }
    }
}

/// A step of the transfer `tx` in words, for people.
///
/// ```
/// use eventstore_core::StepOutcome;
/// use sagas_examples::saga::{DEPOSIT, narrate};
/// use sagas_examples::transfer::Transfer;
/// let transfer = Transfer { from: "alice".into(), to: "bob".into(), amount: 30_00, ..Transfer::default() };
/// assert_eq!(
///     narrate("t-1", &transfer, DEPOSIT, &StepOutcome::Done),
///     ["t-1: deposited 30.00 to bob", "t-1: completed"]
/// );
/// ```
#[must_use]
pub fn narrate(tx: &str, transfer: &Transfer, step: &str, outcome: &StepOutcome) -> Vec<String> {
    let (amount, from, to) = (Money(transfer.amount), &transfer.from, &transfer.to);
    match (step, outcome) {
        (WITHDRAW, StepOutcome::Done) => {
            let mut lines = vec![format!("{tx}: withdrew {amount} from {from}")];
            if let Some(due) = transfer.approval_due() {
                lines.push(format!("{tx}: waits for an approval until {}", utc(due)));
            }
            lines
        }
        (DEPOSIT, StepOutcome::Done) => vec![
            format!("{tx}: deposited {amount} to {to}"),
            format!("{tx}: completed"),
        ],
        (REFUND, StepOutcome::Done) => vec![format!("{tx}: refunded {amount} to {from}")],
        (WITHDRAW, StepOutcome::Rejected(why)) => {
            vec![format!("{tx}: {from} refused the withdrawal: {why}")]
        }
        (DEPOSIT, StepOutcome::Rejected(why)) => {
            vec![format!("{tx}: {to} refused the deposit: {why}")]
        }
        (_, StepOutcome::Rejected(why)) => vec![format!("{tx}: {step} refused: {why}")],
        (_, StepOutcome::Done) => vec![format!("{tx}: {step} done")],
    }
}

#[cfg(test)]
mod tests {
    use eventstore_core::Rejection;
    use eventstore_core::testing::{PlannedStep, given_saga};

    use super::*;
    use crate::account::AccountError;
    use crate::transfer::{TransferApproved, TransferRejected, TransferStarted};

    fn started() -> TransferEvent {
        TransferStarted {
            from: "alice".into(),
            to: "bob".into(),
            amount: 5,
            approval_timeout_secs: None,
        }
        .into()
    }

    fn refused(error: &AccountError) -> StepOutcome {
        StepOutcome::Rejected(Rejection::of(error).expect("encodes"))
    }

    fn step(name: &str, account: &str) -> PlannedStep {
        PlannedStep::on::<Account>(name, account)
    }

    #[test]
    fn a_started_transfer_withdraws_from_from() {
        let planned = given_saga::<Transfer>("t-1", [started()])
            .when_reconciled()
            .then_steps([step(WITHDRAW, "alice")]);
        assert_eq!(planned[0].key.as_deref(), Some("Transfer/t-1/withdraw"));
        given_saga::<Transfer>("t-1", [])
            .when_reconciled()
            .then_steps([]);
    }

    #[test]
    fn a_withdrawal_done_debits_then_deposits_to_to() {
        given_saga::<Transfer>("t-1", [started()])
            .when_outcome(WITHDRAW, StepOutcome::Done)
            .then_events([TransferDebited {}.into()])
            .when_reconciled()
            .then_steps([step(DEPOSIT, "bob")]);
    }

    #[test]
    fn a_refused_withdrawal_fails_the_transfer_with_its_reason() {
        let frozen = refused(&AccountError::Frozen);
        given_saga::<Transfer>("t-1", [started()])
            .when_outcome(WITHDRAW, frozen)
            .then_events([WithdrawalFailed {
                reason: "the account is frozen".into(),
            }
            .into()])
            .when_reconciled()
            .then_steps([]);
    }

    #[test]
    fn a_deposit_done_completes_the_transfer() {
        given_saga::<Transfer>("t-1", [started(), TransferDebited {}.into()])
            .when_outcome(DEPOSIT, StepOutcome::Done)
            .then_events([TransferCompleted {}.into()])
            .when_reconciled()
            .then_steps([]);
    }

    #[test]
    fn a_refused_deposit_is_refunded_then_fails_the_transfer() {
        given_saga::<Transfer>("t-1", [started(), TransferDebited {}.into()])
            .when_outcome(DEPOSIT, refused(&AccountError::Closed))
            .then_events([DepositFailed {
                reason: "the account is closed".into(),
            }
            .into()])
            .when_reconciled()
            .then_steps([step(REFUND, "alice")]);
        let deposit_failed = DepositFailed {
            reason: "the account is closed".into(),
        };
        given_saga::<Transfer>(
            "t-1",
            [started(), TransferDebited {}.into(), deposit_failed.into()],
        )
        .when_outcome(REFUND, StepOutcome::Done)
        .then_events([TransferRefunded {}.into()])
        .when_reconciled()
        .then_steps([]);
    }

    #[test]
    fn a_refused_refund_records_nothing_and_is_still_wanted() {
        let deposit_failed = DepositFailed {
            reason: "the account is closed".into(),
        };
        given_saga::<Transfer>(
            "t-1",
            [started(), TransferDebited {}.into(), deposit_failed.into()],
        )
        .when_outcome(REFUND, refused(&AccountError::NotOpen))
        .then_events([])
        .when_reconciled()
        .then_steps([step(REFUND, "alice")]);
    }

    /// A transfer that needs an approval, as started.
    fn started_awaiting(timeout_secs: u64) -> TransferEvent {
        TransferStarted {
            from: "alice".into(),
            to: "bob".into(),
            amount: 5,
            approval_timeout_secs: Some(timeout_secs),
        }
        .into()
    }

    #[test]
    fn a_transfer_that_needs_an_approval_waits_for_it_until_its_deadline() {
        let given = given_saga::<Transfer>("t-1", [started_awaiting(600)]);
        let now = given.now();
        let due = now + Duration::from_secs(600);
        given
            .when_outcome(WITHDRAW, StepOutcome::Done)
            .then_events([
                TransferDebited {}.into(),
                ApprovalRequested {
                    due_micros: Deadline::at(APPROVAL, due).due_micros(),
                }
                .into(),
            ])
            .then_deadlines([Deadline::at(APPROVAL, due)])
            .when_reconciled()
            .then_steps([]);
    }

    fn awaiting(due: SystemTime) -> [TransferEvent; 3] {
        [
            started_awaiting(600),
            TransferDebited {}.into(),
            ApprovalRequested {
                due_micros: Deadline::at(APPROVAL, due).due_micros(),
            }
            .into(),
        ]
    }

    #[test]
    fn approved_it_deposits_and_the_deadline_is_cancelled() {
        let due = given_saga::<Transfer>("t-1", []).now() + Duration::from_secs(600);
        let mut history = awaiting(due).to_vec();
        history.push(TransferApproved {}.into());
        given_saga::<Transfer>("t-1", history)
            .then_deadlines([])
            .when_reconciled()
            .then_steps([step(DEPOSIT, "bob")]);
    }

    #[test]
    fn not_approved_in_time_it_refunds() {
        let given = given_saga::<Transfer>("t-1", []);
        let due = given.now() + Duration::from_secs(600);
        given_saga::<Transfer>("t-1", awaiting(due))
            .later(Duration::from_secs(600))
            .when_deadline(APPROVAL)
            .then_events([ApprovalTimedOut {}.into()])
            .then_deadlines([])
            .when_reconciled()
            .then_steps([step(REFUND, "alice")]);
        let mut rejected = awaiting(due).to_vec();
        rejected.push(
            TransferRejected {
                reason: "too much".into(),
            }
            .into(),
        );
        given_saga::<Transfer>("t-1", rejected)
            .then_deadlines([])
            .when_reconciled()
            .then_steps([step(REFUND, "alice")]);
    }

    #[test]
    #[should_panic(expected = "the deadline \"approval\" is due at")]
    fn a_deadline_is_not_fired_before_it_is_due() {
        let due = given_saga::<Transfer>("t-1", []).now() + Duration::from_secs(600);
        let _ = given_saga::<Transfer>("t-1", awaiting(due))
            .later(Duration::from_secs(599))
            .when_deadline(APPROVAL);
    }

    #[test]
    fn refusals_read_as_the_account_said_them() {
        let transfer = Transfer {
            from: "alice".into(),
            to: "bob".into(),
            amount: 5_00,
            ..Transfer::default()
        };
        let lines = |step, outcome| narrate("t-1", &transfer, step, &outcome);
        assert_eq!(
            lines(WITHDRAW, refused(&AccountError::Frozen)),
            ["t-1: alice refused the withdrawal: the account is frozen"]
        );
        assert_eq!(
            lines(WITHDRAW, StepOutcome::Done),
            ["t-1: withdrew 5.00 from alice"]
        );
        assert_eq!(
            lines(REFUND, StepOutcome::Done),
            ["t-1: refunded 5.00 to alice"]
        );
        assert_eq!(
            lines(DEPOSIT, refused(&AccountError::Closed)),
            ["t-1: bob refused the deposit: the account is closed"]
        );
        assert_eq!(
            lines(REFUND, refused(&AccountError::NotOpen)),
            ["t-1: refund refused: the account does not exist"]
        );
    }
}
