//! The transfer saga: moves money between accounts, with a compensation
//! when the deposit is refused.
//!
//! - on `TransferStarted`: withdraw from `from` (key `<tx>/withdraw`); if
//!   the account refuses, record the failure on the transfer;
//! - on the withdrawal: record the debit, deposit to `to` (key
//!   `<tx>/deposit`); if the account refuses, record the failed deposit;
//! - on `DepositFailed`: refund `from` (key `<tx>/refund`), then record the
//!   refund, which fails the transfer;
//! - on the deposit: record the completion.
//!
//! Every command carries an idempotency key made of the transfer id and the
//! step, so a step delivered twice (after a crash) gets the first
//! delivery's outcome back (`AlreadyApplied`, or `AlreadyRejected` with the
//! refusal), never a second movement of money nor a different decision.

use eventstore_core::reactor::{HandlerError, Reactor, route};
use eventstore_core::{
    Aggregate, AggregateId, ErasedRejection, Error, EventFilter, EventStore, Metadata, Options,
    Outcome, RecordedEvent, Repository, StreamAt,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::account::{Account, AccountEvent, AccountEventReactor, MoneyDeposited, MoneyWithdrawn};
use crate::money::Money;
use crate::transfer::{
    self, DepositFailed, Transfer, TransferEvent, TransferEventReactor, TransferStarted,
    TransferStatus,
};

/// Why a step was refused, now or, under its key, by an earlier delivery;
/// `None` when it was not refused.
fn refusal<D: std::fmt::Display>(outcome: &Outcome<D>) -> Option<String> {
    match outcome {
        Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => Some(error.to_string()),
        Outcome::AlreadyRejected(None) => Some(ErasedRejection.to_string()),
        Outcome::Done(_) | Outcome::AlreadyApplied => None,
    }
}

/// What [`TransferSaga::advance`] did.
enum Advanced {
    /// Took the step now; the transfer as it was before it.
    Now(Transfer),
    /// The step was taken before (its key is used).
    Before,
    /// The event is not this transfer's, or the transfer is past the step.
    NotHere,
}

/// The reactor that runs transfers.
#[derive(Debug, Clone)]
pub struct TransferSaga<S> {
    name: String,
    repo: Repository<S>,
    narrator: Option<UnboundedSender<String>>,
}

impl<S: EventStore> TransferSaga<S> {
    /// The saga, named `transfer-saga`, over the store under `repo`.
    #[must_use]
    pub fn new(repo: Repository<S>) -> Self {
        Self {
            name: "transfer-saga".to_owned(),
            repo,
            narrator: None,
        }
    }

    /// Another name: a separate reactor, with checkpoints of its own.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sends a line for each step taken to `narrator`.
    #[must_use]
    pub fn narrate_to(mut self, narrator: UnboundedSender<String>) -> Self {
        self.narrator = Some(narrator);
        self
    }

    fn say(&self, line: String) {
        tracing::info!(reactor = %self.name, "{line}");
        if let Some(narrator) = &self.narrator {
            let _ = narrator.send(line);
        }
    }

    /// Options for step `step` of transfer `tx`, caused by `cause`.
    fn step(tx: &str, step: &str, cause: &RecordedEvent) -> Options {
        Options::idempotent(format!("{tx}/{step}")).metadata(
            Metadata::default()
                .correlation_id(tx)
                .causation_id(cause.id.to_string()),
        )
    }

    /// Runs a command on the transfer `tx`. Returns whether it took effect
    /// now: already applied, or refused because another delivery moved the
    /// transfer on, are both fine.
    async fn on_transfer(
        &self,
        tx: &str,
        step: &str,
        cause: &RecordedEvent,
        decide: impl FnMut(&Transfer) -> transfer::Decision,
    ) -> Result<bool, HandlerError> {
        match self
            .repo
            .execute(tx, Self::step(tx, step, cause), decide)
            .await?
        {
            Outcome::Done(_) => Ok(true),
            Outcome::AlreadyApplied => Ok(false),
            outcome @ (Outcome::Rejected(_) | Outcome::AlreadyRejected(_)) => {
                let error = refusal(&outcome).unwrap_or_default();
                tracing::debug!(transfer = tx, step, %error, "transfer already moved on");
                Ok(false)
            }
        }
    }

    /// Takes a step on the transfer that an account event names, in one
    /// command: `applies` says whether the event is this transfer's and the
    /// transfer is at the step (if not, nothing is written).
    async fn advance(
        &self,
        tx: &str,
        step: &str,
        cause: &RecordedEvent,
        applies: impl Fn(&Transfer) -> bool,
        decide: impl Fn(&Transfer) -> transfer::Decision,
    ) -> Result<Advanced, HandlerError> {
        // an account event names its transfer in its body: an id that no
        // transfer can have names none
        let Ok(transfer) = AggregateId::new(tx) else {
            return Ok(Advanced::NotHere);
        };
        let mut seen = None;
        let take_step = |t: &Transfer| {
            seen = Some(t.clone());
            if applies(t) {
                decide(t)
            } else {
                Ok(Vec::new())
            }
        };
        Ok(
            match self
                .repo
                .execute(&transfer, Self::step(tx, step, cause), take_step)
                .await?
            {
                Outcome::Done(committed) if !committed.events.is_empty() => {
                    Advanced::Now(seen.unwrap_or_default())
                }
                Outcome::AlreadyApplied => Advanced::Before,
                Outcome::Done(_) | Outcome::Rejected(_) | Outcome::AlreadyRejected(_) => {
                    Advanced::NotHere
                }
            },
        )
    }
}

impl<S: EventStore> TransferEventReactor for TransferSaga<S> {
    async fn on_transfer_started(
        &self,
        e: &TransferStarted,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let tx = envelope.aggregate_id.as_str();
        // the withdrawal is taken only while the transfer has not moved on,
        // checked by the append itself (a refusal is recorded under the
        // step's key, so a later delivery gets it back, undecided)
        let withdraw = |a: &Account| a.withdraw(e.amount, tx);
        let still_started = StreamAt::of::<Transfer>(tx.parse()?, envelope.version);
        let options = Self::step(tx, "withdraw", envelope).unless_moved(still_started);
        let outcome = match self.repo.execute(&e.from, options, withdraw).await {
            Err(Error::StreamMoved { .. }) => return Ok(()),
            outcome => outcome?,
        };
        match refusal(&outcome) {
            None if matches!(outcome, Outcome::Done(_)) => self.say(format!(
                "{tx}: withdrew {} from {}",
                Money(e.amount),
                e.from
            )),
            None => {}
            Some(reason) => {
                self.say(format!("{tx}: {} refused the withdrawal: {reason}", e.from));
                self.on_transfer(tx, "withdrawal-failed", envelope, |t| {
                    t.record_withdrawal_failure(&reason)
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn on_deposit_failed(
        &self,
        _: &DepositFailed,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let tx = envelope.aggregate_id.as_str();
        let transfer = self.repo.load::<Transfer>(tx).await?.state;
        if transfer.status != TransferStatus::DepositFailed {
            return Ok(());
        }
        let refund = |a: &Account| a.refund(transfer.amount, tx);
        let outcome = self
            .repo
            .execute(&transfer.from, Self::step(tx, "refund", envelope), refund)
            .await?;
        match refusal(&outcome) {
            None if matches!(outcome, Outcome::Done(_)) => self.say(format!(
                "{tx}: refunded {} to {}",
                Money(transfer.amount),
                transfer.from
            )),
            None => {}
            Some(refusal) => {
                // a refund is accepted on every opened account: this needs
                // an operator, so the event is retried, then parked
                return Err(
                    format!("{tx}: {} refused the refund: {refusal}", transfer.from).into(),
                );
            }
        }
        self.on_transfer(tx, "refunded", envelope, Transfer::record_refund)
            .await?;
        Ok(())
    }
}

impl<S: EventStore> AccountEventReactor for TransferSaga<S> {
    async fn on_money_withdrawn(
        &self,
        e: &MoneyWithdrawn,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let tx = e.transaction.as_str();
        let account = envelope.aggregate_id.as_str();
        // the debit, then the deposit, run while the transfer waits for its
        // withdrawal (or was debited by an earlier delivery), never after
        let transfer = match self
            .advance(
                tx,
                "debited",
                envelope,
                |t| t.from == account && t.status == TransferStatus::Started,
                Transfer::record_debit,
            )
            .await?
        {
            Advanced::Now(transfer) => transfer,
            Advanced::Before => {
                let transfer = self.repo.load::<Transfer>(tx).await?.state;
                if transfer.status != TransferStatus::Debited {
                    return Ok(());
                }
                transfer
            }
            Advanced::NotHere => return Ok(()),
        };
        let deposit = |a: &Account| a.deposit(transfer.amount, tx);
        let outcome = self
            .repo
            .execute(&transfer.to, Self::step(tx, "deposit", envelope), deposit)
            .await?;
        match refusal(&outcome) {
            None if matches!(outcome, Outcome::Done(_)) => self.say(format!(
                "{tx}: deposited {} to {}",
                Money(transfer.amount),
                transfer.to
            )),
            None => {}
            Some(reason) => {
                self.say(format!(
                    "{tx}: {} refused the deposit: {reason}",
                    transfer.to
                ));
                self.on_transfer(tx, "deposit-failed", envelope, |t| {
                    t.record_deposit_failure(&reason)
                })
                .await?;
            }
        }
        Ok(())
    }

    async fn on_money_deposited(
        &self,
        e: &MoneyDeposited,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        let tx = e.transaction.as_str();
        let account = envelope.aggregate_id.as_str();
        let completed = self
            .advance(
                tx,
                "completed",
                envelope,
                |t| t.to == account && t.status == TransferStatus::Debited,
                Transfer::record_completion,
            )
            .await?;
        if matches!(completed, Advanced::Now(_)) {
            self.say(format!("{tx}: completed"));
        }
        Ok(())
    }
}

impl<S: EventStore> Reactor for TransferSaga<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
            .aggregate::<Transfer>()
            .aggregate::<Account>()
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        if event.aggregate_kind == Transfer::KIND {
            route::<TransferEvent, _>(self, event).await
        } else {
            route::<AccountEvent, _>(self, event).await
        }
    }
}
