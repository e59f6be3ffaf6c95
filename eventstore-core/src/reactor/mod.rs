//! Reactors: handlers that turn committed events into effects (commands on
//! other aggregates, read models, messages), run by a [`Runner`] that reads
//! in commit order, stores a checkpoint per batch, holds a lease per
//! partition, retries failures with backoff and parks what keeps failing.
//!
//! Everything a reactor does is at least once: after a crash the runner
//! redoes at most the batch it had not checkpointed. Make effects idempotent
//! (for commands: [`Options::idempotent`](crate::Options::idempotent) with a
//! key made of the event's id or the process's id and step).

mod options;
mod partition;
mod runner;
mod status;
mod store;

use std::future::Future;

pub use options::{RunnerOptions, Start};
pub use partition::partition_of;
pub use runner::Runner;
pub use status::{LAG_COUNT_LIMIT, PartitionStatus, ReactorStatus};
pub use store::{Lease, ParkedEvent, ReactorStore};

use crate::envelope::RecordedEvent;
use crate::tracker::EventFilter;

/// Why a handler failed: any error. It is retried with backoff, then parked
/// with its message.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// A handler of committed events.
///
/// Route events to typed code by decoding them: `match
/// event.decode::<AccountEvent>()? { AccountEvent::Opened(e) => ..., _ => Ok(()) }`.
///
/// ```
/// use eventstore_core::reactor::{HandlerError, Reactor};
/// use eventstore_core::{EventFilter, RecordedEvent};
/// # use eventstore_core::doc::AccountEvent;
///
/// struct Audit;
///
/// impl Reactor for Audit {
///     fn name(&self) -> &str { "audit" }
///     fn filter(&self) -> EventFilter { EventFilter::all().aggregate_kind("Account") }
///     async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
///         match event.decode::<AccountEvent>()? {
///             AccountEvent::MoneyWithdrawn(w) => println!("{} withdrew {}", event.aggregate_id, w.amount),
///             AccountEvent::Opened(_) => {}
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Reactor: Send + Sync + 'static {
    /// A stable name: it keys the reactor's checkpoints, leases and parked
    /// events, so renaming a reactor starts it from scratch.
    fn name(&self) -> &str;

    /// The events it wants.
    fn filter(&self) -> EventFilter;

    /// Handles one event. An error is retried with backoff, then the event
    /// is parked and the reactor goes on.
    fn handle(
        &self,
        event: &RecordedEvent,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}
