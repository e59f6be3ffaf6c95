//! [`SagaInput`]: the events of other aggregates a saga waits for.

use std::fmt;
use std::marker::PhantomData;

use crate::aggregate::Aggregate;
use crate::envelope::RecordedEvent;
use crate::error::Result;
use crate::tracker::EventFilter;

/// The events of other aggregates that a saga waits for, typed: the one
/// declaration that both the saga reactor's filter and its routing come
/// from, so they cannot disagree. [`NoInput`] for a saga that waits for
/// nothing but its own steps' outcomes; [`Incoming<A>`] for the events of
/// the aggregate `A`. For the events of several aggregates, implement it
/// on an enum of [`Incoming`]s, each method delegating to theirs.
pub trait SagaInput: Sized + Send + Sync + 'static {
    /// `filter` with the events of this input added.
    fn filter(filter: EventFilter) -> EventFilter;

    /// The inputs that `event` is: none if it is none of this input's,
    /// one, or several when an upcaster split its stored row (see
    /// [`schema`](crate::schema)).
    ///
    /// # Errors
    /// The decode error of an event of this input's kinds that does not
    /// decode.
    fn decode(event: &RecordedEvent) -> Result<Vec<Self>>;
}

/// The input of a saga that waits for no event of another aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoInput {}

impl SagaInput for NoInput {
    fn filter(filter: EventFilter) -> EventFilter {
        filter
    }

    fn decode(_: &RecordedEvent) -> Result<Vec<Self>> {
        Ok(Vec::new())
    }
}

/// An event of the aggregate `A`, as a saga's input.
///
/// ```
/// # use eventstore_core::doc::{Account, AccountEvent, MoneyWithdrawn};
/// use eventstore_core::{EventFilter, Incoming, SagaInput};
/// let filter = Incoming::<Account>::filter(EventFilter::all());
/// assert!(filter.wants("Account", "MoneyWithdrawn"));
/// assert!(!filter.wants("Transfer", "TransferStarted"));
/// ```
pub struct Incoming<A: Aggregate> {
    /// The id of the aggregate it happened to.
    pub aggregate_id: String,
    /// The event.
    pub event: A::Event,
    aggregate: PhantomData<fn() -> A>,
}

impl<A: Aggregate> Incoming<A> {
    /// The event `event` of the aggregate `aggregate_id` (for tests: the
    /// runtime makes these from the events it reads).
    #[must_use]
    pub fn new(aggregate_id: impl Into<String>, event: impl Into<A::Event>) -> Self {
        Self {
            aggregate_id: aggregate_id.into(),
            event: event.into(),
            aggregate: PhantomData,
        }
    }
}

impl<A: Aggregate> fmt::Debug for Incoming<A>
where
    A::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("aggregate_kind", &A::KIND)
            .field("aggregate_id", &self.aggregate_id)
            .field("event", &self.event)
            .finish()
    }
}

impl<A: Aggregate> SagaInput for Incoming<A> {
    fn filter(filter: EventFilter) -> EventFilter {
        filter.aggregate::<A>()
    }

    fn decode(event: &RecordedEvent) -> Result<Vec<Self>> {
        if event.aggregate_kind != A::KIND {
            return Ok(Vec::new());
        }
        let events = event.decode_all::<A::Event>()?;
        Ok(events
            .into_iter()
            .map(|e| Self::new(event.aggregate_id.clone(), e))
            .collect())
    }
}
