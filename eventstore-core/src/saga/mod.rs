//! Sagas (process managers): a business process whose state is a stream
//! of its own and whose steps are commands on other aggregates, each taken
//! once, its outcome recorded on the saga's stream.
//!
//! A saga is an [`Aggregate`] (its events record where the process is)
//! that also implements [`Saga`]: [`steps`](Saga::steps) says, from the
//! recorded state alone, which commands it wants taken now, and
//! [`on_outcome`](Saga::on_outcome) turns what a step did into the saga's
//! own events. A [`SagaReactor`] runs it: for every event of a saga's
//! stream it loads the saga, runs each wanted step with the key
//! `<saga kind>/<saga id>/<step>`, records the outcome's events on the
//! saga's stream under the same key, and goes on until the saga wants no
//! more steps. The user writes no key, guard or reload.
//!
//! ```
//! use eventstore_core::doc::{Account, AccountError};
//! use eventstore_core::reactor::Runner;
//! use eventstore_core::{
//!     Aggregate, AggregateId, Event, EventStore, MemoryStore, NoInput, Options, Repository,
//!     Saga, SagaReactor, Step, StepOutcome,
//! };
//! use serde::{Deserialize, Serialize};
//! use std::time::SystemTime;
//!
//! #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct PayoutRequested { pub account: String, pub amount: u64 }
//! #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct PaidOut {}
//! #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct PayoutRefused { pub reason: String }
//!
//! #[derive(Event, Debug, Clone, PartialEq)]
//! pub enum PayoutEvent { PayoutRequested(PayoutRequested), PaidOut(PaidOut), PayoutRefused(PayoutRefused) }
//!
//! #[derive(Aggregate, Default, Serialize, Deserialize, Debug)]
//! #[aggregate(kind = "Payout", event = PayoutEvent)]
//! pub struct Payout { account: String, amount: u64, requested: bool, settled: bool }
//!
//! impl PayoutEventHandler for Payout {
//!     fn on_payout_requested(&mut self, e: &PayoutRequested) {
//!         (self.account, self.amount, self.requested) = (e.account.clone(), e.amount, true);
//!     }
//!     fn on_paid_out(&mut self, _: &PaidOut) { self.settled = true; }
//!     fn on_payout_refused(&mut self, _: &PayoutRefused) { self.settled = true; }
//! }
//!
//! impl Saga for Payout {
//!     type Input = NoInput;
//!
//!     // from the recorded state alone: what should happen now
//!     fn steps<S: EventStore>(&self, _id: &AggregateId) -> Vec<Step<S>> {
//!         if !self.requested || self.settled {
//!             return Vec::new();
//!         }
//!         let amount = self.amount;
//!         vec![Step::on("withdraw", &self.account, move |a: &Account| a.withdraw(amount))]
//!     }
//!
//!     // what a step did, as the saga's own events
//!     fn on_outcome(&self, _step: &str, outcome: &StepOutcome, _now: SystemTime) -> Vec<PayoutEvent> {
//!         match outcome {
//!             StepOutcome::Done => vec![PaidOut {}.into()],
//!             StepOutcome::Rejected(why) => vec![PayoutRefused { reason: why.to_string() }.into()],
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let repo = Repository::new(MemoryStore::new());
//! repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 100)).await?.into_result()?;
//! let requested = repo
//!     .execute("payout-1", Options::default(), |_: &Payout| {
//!         Ok::<_, AccountError>(vec![PayoutRequested { account: "acc-1".into(), amount: 30 }.into()])
//!     })
//!     .await?
//!     .into_result()?
//!     .expect("new");
//!
//! // what a Runner does with each event of a Payout stream
//! use eventstore_core::reactor::Reactor;
//! let saga = SagaReactor::<Payout, _>::new(repo.clone());
//! assert_eq!(saga.name(), "payout-saga");
//! saga.handle(&requested.events[0]).await?;
//! saga.handle(&requested.events[0]).await?; // delivered again: nothing more happens
//!
//! assert!(repo.load::<Payout>("payout-1").await?.state.settled);
//! assert_eq!(repo.load::<Account>("acc-1").await?.state.balance, 70);
//! # let _ = Runner::new(repo.store().clone(), saga);
//! # Ok(()) }
//! ```
//!
//! Events of other aggregates reach a saga through its
//! [`Input`](Saga::Input): see [`Saga::correlate`].

mod at_rest;
mod firing;
mod input;
mod next_due;
mod outcome;
mod reactor;
mod step;

pub use crate::deadlines::{
    Deadline, DeadlineStore, DeadlineSummary, DeadlinesAt, MAX_DEADLINE_DUE_MICROS,
    MAX_DEADLINE_NAME_BYTES, MAX_DEADLINE_PAYLOAD_BYTES, PendingDeadline,
};
pub use input::{Incoming, NoInput, SagaInput};
pub use next_due::DEADLINE_REFRESH;
pub use outcome::{Rejection, StepOutcome};
pub use reactor::{MAX_ROUNDS, SagaError, SagaReactor};
pub use step::Step;
pub(crate) use step::step_key;

use std::time::SystemTime;

use crate::aggregate::Aggregate;
use crate::id::AggregateId;
use crate::store::EventStore;

/// A business process over other aggregates, kept as an aggregate of its
/// own: see [the module](crate::saga) for an example.
///
/// Its methods must be pure functions of the state and their arguments:
/// no clock, no randomness, no I/O, so that every delivery of every event
/// finds the same steps and deadlines. The time comes as the `now` the
/// handlers are given (the runtime's [`Clock`](crate::Clock) when it
/// records their events, recorded once under their key): put it in the
/// events they return, a due time say, and read it from the state after.
/// A step's name, and a deadline's, must be unique within its saga
/// instance and stable across versions of the code (it is part of the
/// idempotency key).
pub trait Saga: Aggregate {
    /// The events of other aggregates it waits for: [`NoInput`] when none.
    type Input: SagaInput;

    /// The steps the saga `id` wants taken now, given its recorded state;
    /// empty when it waits or is done. A step whose outcome is recorded
    /// must no longer be wanted: the runtime reports one that still is.
    fn steps<S: EventStore>(&self, id: &AggregateId) -> Vec<Step<S>>;

    /// The saga's own events that record what the step `step` did, at
    /// `now`; they must move the saga past the step. Return none to refuse
    /// the outcome (a compensation that must never be refused, say): the
    /// runtime then fails the event, which is retried, then parked for an
    /// operator.
    fn on_outcome(&self, step: &str, outcome: &StepOutcome, now: SystemTime) -> Vec<Self::Event>;

    /// The deadlines the saga wants pending now, given its recorded state;
    /// empty (the default) when it waits for none. A deadline it stops
    /// listing is cancelled; listed with another due time, it was moved.
    /// When one is due, the runtime fires it once: it records what
    /// [`on_deadline`](Self::on_deadline) returns on the saga's stream with
    /// the key `<saga kind>/<saga id>/deadline/<name>/<due µs>`, only while
    /// the saga still lists it.
    fn deadlines(&self) -> Vec<Deadline> {
        Vec::new()
    }

    /// The saga's own events that record the deadline `deadline` firing at
    /// `now` (its due time or later); they must stop listing it. Return
    /// none to leave it pending: the runtime reports that and tries again
    /// later.
    fn on_deadline(&self, deadline: &Deadline, now: SystemTime) -> Vec<Self::Event> {
        let _ = (deadline, now);
        Vec::new()
    }

    /// Which saga instance an input event is for, `None` for none. Needed
    /// with an [`Input`](Self::Input) other than [`NoInput`]: the default
    /// routes nothing.
    ///
    /// ```
    /// # use eventstore_core::doc::{Account, AccountEvent, MoneyWithdrawn, Opened};
    /// # use eventstore_core::{Aggregate, AggregateId, Event, EventStore, Incoming, Saga, Step, StepOutcome};
    /// # use eventstore_core::testing::given_saga;
    /// # use serde::{Deserialize, Serialize};
    /// # use std::time::SystemTime;
    /// # #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
    /// # pub struct Seen { pub times: u32 }
    /// # #[derive(Event, Debug, Clone, PartialEq)]
    /// # pub enum WatchEvent { Seen(Seen) }
    /// /// Counts the withdrawals of the account it is named after.
    /// #[derive(Aggregate, Default, Serialize, Deserialize, Debug)]
    /// #[aggregate(kind = "Watch", event = WatchEvent)]
    /// pub struct Watch { withdrawals: u32 }
    /// # impl WatchEventHandler for Watch { fn on_seen(&mut self, e: &Seen) { self.withdrawals = e.times; } }
    ///
    /// impl Saga for Watch {
    ///     type Input = Incoming<Account>;
    ///     fn correlate(input: &Incoming<Account>) -> Option<AggregateId> {
    ///         input.aggregate_id.parse().ok()
    ///     }
    ///     fn on_input(&self, input: &Incoming<Account>, _now: SystemTime) -> Vec<WatchEvent> {
    ///         match input.event {
    ///             AccountEvent::MoneyWithdrawn(_) => vec![Seen { times: self.withdrawals + 1 }.into()],
    ///             AccountEvent::Opened(_) => Vec::new(),
    ///         }
    ///     }
    ///     fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> { Vec::new() }
    ///     fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<WatchEvent> { Vec::new() }
    /// }
    ///
    /// given_saga::<Watch>("acc-1", [Seen { times: 1 }.into()])
    ///     .when_input(Incoming::new("acc-1", MoneyWithdrawn { amount: 5 }))
    ///     .then_events([Seen { times: 2 }.into()]);
    /// ```
    fn correlate(input: &Self::Input) -> Option<AggregateId> {
        let _ = input;
        None
    }

    /// The saga's own events that record an input event, at `now`,
    /// recorded on its stream (with the key `<saga kind>/<saga id>/event/<event id>`,
    /// and `.../event/<event id>/<n>` for the n-th event, from 1, of a
    /// stored row that an upcaster split) before the saga is reconciled.
    /// By default none.
    fn on_input(&self, input: &Self::Input, now: SystemTime) -> Vec<Self::Event> {
        let _ = (input, now);
        Vec::new()
    }
}
