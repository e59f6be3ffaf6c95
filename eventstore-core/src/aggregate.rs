//! The [`Aggregate`] trait: state rebuilt from its own events.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::event::Event;

/// A consistency boundary whose state is the fold of its events.
///
/// Derive it with `#[derive(Aggregate)]` and `#[aggregate(kind = "...",
/// event = EventType)]`; the derive writes [`apply`](Aggregate::apply) by
/// calling one handler method per event kind. The version of an aggregate
/// lives in the stream, not in the state. The state must be serializable so
/// that it can be snapshotted.
///
/// ```
/// use eventstore_core::{Aggregate, Event};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// pub struct Ticked { pub by: u32 }
///
/// #[derive(Event, Debug, PartialEq)]
/// pub enum CounterEvent { Ticked(Ticked) }
///
/// #[derive(Aggregate, Default, Serialize, Deserialize)]
/// #[aggregate(kind = "Counter", event = CounterEvent)]
/// pub struct Counter { total: u32 }
///
/// impl CounterEventHandler for Counter {
///     fn on_ticked(&mut self, e: &Ticked) { self.total += e.by; }
/// }
///
/// let mut counter = Counter::default();
/// counter.apply(&Ticked { by: 2 }.into());
/// assert_eq!(counter.total, 2);
/// assert_eq!(Counter::KIND, "Counter");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an aggregate",
    label = "this type does not implement `Aggregate`",
    note = "add `#[derive(Aggregate)]` with `#[aggregate(kind = \"...\", event = YourEvent)]`"
)]
pub trait Aggregate: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stable kind name of this aggregate, stored with each event.
    const KIND: &'static str;

    /// The schema version of the snapshot format. Raise it when the state's
    /// shape changes: snapshots of other versions are ignored and the state
    /// is rebuilt from events (unless [`upcast_state`](Self::upcast_state)
    /// reads them), which
    /// [`Repository::ignored_snapshots`](crate::Repository::ignored_snapshots)
    /// counts and a warning logs.
    const SNAPSHOT_VERSION: u32 = 1;

    /// The events this aggregate is made of.
    type Event: Event;

    /// Folds one event into the state. It cannot fail: events are facts.
    fn apply(&mut self, event: &Self::Event);

    /// Reads a snapshot's state written at another schema version
    /// (`schema_version`, not [`SNAPSHOT_VERSION`](Self::SNAPSHOT_VERSION)):
    /// `Some` state to fold the newer events into, or `None` (the default)
    /// to ignore the snapshot and replay the stream from its first event.
    /// A repository that snapshots this kind then replaces the snapshot
    /// with one of the current version.
    ///
    /// ```
    /// use eventstore_core::{Aggregate, Event};
    /// use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, Debug, PartialEq)]
    /// # pub struct Ticked { pub by: u32 }
    /// # #[derive(Event, Debug, PartialEq)]
    /// # pub enum CounterEvent { Ticked(Ticked) }
    ///
    /// #[derive(Default, Serialize, Deserialize)]
    /// pub struct Counter { total: u64 }
    ///
    /// impl Aggregate for Counter {
    ///     const KIND: &'static str = "Counter";
    ///     const SNAPSHOT_VERSION: u32 = 2;
    ///     type Event = CounterEvent;
    ///     fn apply(&mut self, CounterEvent::Ticked(t): &CounterEvent) { self.total += u64::from(t.by); }
    ///
    ///     /// Version 1 called the total `count`.
    ///     fn upcast_state(schema_version: u32, state: serde_json::Value) -> Option<Self> {
    ///         if schema_version != 1 { return None; }
    ///         Some(Self { total: state["count"].as_u64()? })
    ///     }
    /// }
    ///
    /// let old = serde_json::json!({ "count": 7 });
    /// assert_eq!(Counter::upcast_state(1, old).map(|c| c.total), Some(7));
    /// ```
    fn upcast_state(schema_version: u32, state: serde_json::Value) -> Option<Self> {
        let _ = (schema_version, state);
        None
    }
}
