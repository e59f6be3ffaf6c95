//! The model of an event-sourced application, and the parts that need no
//! database: the [`Event`] and [`Aggregate`] traits, the [`EventStore`] and
//! [`Tracker`] traits that backends implement, the [`Repository`] that runs
//! commands (load, decide, append, retry on conflict), the reactor runtime
//! ([`reactor`]), sagas ([`Saga`], run by a [`SagaReactor`]), an in-memory
//! store ([`MemoryStore`]) and given/when/then kits ([`testing`]).
//!
//! The root holds what an application author needs; what only a backend
//! implementer needs is in [`backend`], with the conformance suites a
//! backend must pass (feature `conformance`).
//!
//! ```
//! use eventstore_core::{Aggregate, Event, MemoryStore, Options, Repository};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
//! pub struct Deposited { pub amount: u64 }
//!
//! #[derive(Event, Debug, Clone, PartialEq)]
//! pub enum PiggyEvent { Deposited(Deposited) }
//!
//! #[derive(Aggregate, Default, Serialize, Deserialize)]
//! #[aggregate(kind = "Piggy", event = PiggyEvent)]
//! pub struct Piggy { total: u64 }
//!
//! impl PiggyEventHandler for Piggy {
//!     fn on_deposited(&mut self, e: &Deposited) { self.total += e.amount; }
//! }
//!
//! // serde too: a refusal under an idempotency key is recorded as JSON
//! #[derive(Debug, Serialize, Deserialize, thiserror::Error)]
//! #[error("nothing to deposit")]
//! pub struct NothingToDeposit;
//!
//! impl Piggy {
//!     fn deposit(&self, amount: u64) -> Result<Vec<PiggyEvent>, NothingToDeposit> {
//!         if amount == 0 { return Err(NothingToDeposit); }
//!         Ok(vec![Deposited { amount }.into()])
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eventstore_core::Result<()> {
//! let repo = Repository::new(MemoryStore::new());
//! repo.execute("piggy-1", Options::default(), |p: &Piggy| p.deposit(5)).await?.into_result()?;
//! assert_eq!(repo.load::<Piggy>("piggy-1").await?.state.total, 5);
//! # Ok(()) }
//! ```

// Lets the derives' `::eventstore_core::...` paths resolve inside this crate.
#[cfg(feature = "derive")]
extern crate self as eventstore_core;

mod aggregate;
pub mod backend;
mod clock;
mod deadlines;
mod envelope;
mod error;
mod event;
mod forget;
mod id;
mod json;
mod keys;
mod memory;
mod partition;
pub mod reactor;
mod repository;
pub mod saga;
mod store;
mod stream_at;
pub mod testing;
mod tracker;
mod wakeups;

#[doc(hidden)]
pub mod __private;
#[cfg(feature = "derive")]
#[doc(hidden)]
pub mod doc;

pub use aggregate::Aggregate;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use envelope::{Checkpoint, EventId, Metadata, ParseEventIdError, RecordedEvent};
pub use error::{Error, ErrorChain, IdProblem, ImportProblem, Result};
pub use event::{DecodeError, Event, schema};
pub use forget::{ForgetRequest, Forgotten};
pub use id::{AggregateId, IntoAggregateId, MAX_ID_BYTES};
pub use json::{BodyError, EventBody};
pub use memory::MemoryStore;
pub use repository::{
    Backoff, Committed, DEFAULT_MAX_ATTEMPTS, DEFAULT_PAGE_SIZE, ErasedRejection, Loaded,
    MAX_BACKOFF_CAP, Options, Outcome, Repository,
};
pub use saga::{
    Deadline, DeadlineStore, Incoming, NoInput, Rejection, Saga, SagaError, SagaInput, SagaReactor,
    Step, StepOutcome,
};
pub use store::EventStore;
pub use stream_at::StreamAt;
pub use tracker::{EventFilter, Holdback, Tracker};

/// `#[derive(Event)]` on an enum whose variants each wrap one payload struct.
///
/// Generates the [`Event`] impl (kind names, JSON bodies), `From<Payload>`
/// for the enum, and a handler trait `<Enum>Handler` with one method
/// `on_<variant_in_snake_case>(&mut self, event: &Payload)` per variant.
///
/// Variant attributes: `#[event(kind = "name")]` renames the stored kind
/// (default: the variant's name); `#[event(personal(field, ...))]` names the
/// payload fields that hold personal data; `version = N`, `aliases =
/// [...]` and `upcast(from = V, typed = T | raw = f | events = f)` declare
/// the kind's schema history, and `#[event(retired(kind = "...", events =
/// f))]` on the enum a kind no variant has any more: see [`schema`].
#[cfg(feature = "derive")]
pub use eventstore_derive::Event;

/// `#[derive(Aggregate)]` with `#[aggregate(kind = "Name", event = EventType)]`.
///
/// Generates the [`Aggregate`] impl whose `apply` calls the handler method of
/// each event; the type must implement the event type's handler trait.
/// `kind` defaults to the type's name; `snapshot_version = N` sets
/// [`Aggregate::SNAPSHOT_VERSION`].
#[cfg(feature = "derive")]
pub use eventstore_derive::Aggregate;
