//! The [`Tracker`] trait: reading the global log in commit order.

use std::future::Future;
use std::time::Duration;

use crate::envelope::{Checkpoint, RecordedEvent};
use crate::error::Result;
use crate::wakeups::Wakeups;

/// Which events a reader wants: aggregate and event kinds (empty lists mean
/// "all"), and optionally nothing after a checkpoint, to replay up to a
/// known position (rebuilding a projection).
///
/// ```
/// use eventstore_core::EventFilter;
/// let filter = EventFilter::all()
///     .aggregate_kind("Transfer")
///     .event_kind("TransferStarted");
/// assert!(filter.wants("Transfer", "TransferStarted"));
/// assert!(!filter.wants("Account", "TransferStarted"));
/// assert!(!filter.wants("Transfer", "TransferCompleted"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Aggregate kinds to read; empty for all.
    pub aggregate_kinds: Vec<String>,
    /// Event kinds to read; empty for all.
    pub event_kinds: Vec<String>,
    /// The last checkpoint to read, if any.
    pub until: Option<Checkpoint>,
}

impl EventFilter {
    /// Every event.
    #[must_use]
    pub fn all() -> Self {
        Self::default()
    }

    /// Also reads this aggregate kind.
    #[must_use]
    pub fn aggregate_kind(mut self, kind: impl Into<String>) -> Self {
        self.aggregate_kinds.push(kind.into());
        self
    }

    /// Also reads this event kind.
    #[must_use]
    pub fn event_kind(mut self, kind: impl Into<String>) -> Self {
        self.event_kinds.push(kind.into());
        self
    }

    /// Reads nothing after `checkpoint`.
    ///
    /// ```
    /// use eventstore_core::{Checkpoint, EventFilter};
    /// let head = Checkpoint { tx: 9, position: 40 };
    /// let replay = EventFilter::all().aggregate_kind("Account").until(head);
    /// assert_eq!(replay.until, Some(head));
    /// ```
    #[must_use]
    pub fn until(mut self, checkpoint: Checkpoint) -> Self {
        self.until = Some(checkpoint);
        self
    }

    /// Whether an event at `checkpoint` is within [`until`](Self::until).
    #[must_use]
    pub fn reaches(&self, checkpoint: Checkpoint) -> bool {
        self.until.is_none_or(|until| checkpoint <= until)
    }

    /// Whether an event of this aggregate kind and event kind passes.
    #[must_use]
    pub fn wants(&self, aggregate_kind: &str, event_kind: &str) -> bool {
        (self.aggregate_kinds.is_empty()
            || self.aggregate_kinds.iter().any(|k| k == aggregate_kind))
            && (self.event_kinds.is_empty() || self.event_kinds.iter().any(|k| k == event_kind))
    }
}

/// An open write transaction that keeps a tracker from reading newer events
/// until it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdback {
    /// The database process running it (PostgreSQL's `pg_stat_activity.pid`,
    /// what `pg_terminate_backend` takes).
    pub pid: u32,
    /// How long its transaction has been open.
    pub age: Duration,
    /// Its state (`active`, `idle in transaction`, ...).
    pub state: String,
    /// The start of its last statement.
    pub query: String,
}

/// Reads committed events of every stream in commit order.
///
/// A tracker never returns an event that a transaction still running could
/// precede: reading after the checkpoint of the last event returned never
/// skips a committed event and never returns one twice.
///
/// ```
/// use eventstore_core::{AppendRequest, Checkpoint, EventFilter, EventStore, MemoryStore, NewEvent, Tracker};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let event = || NewEvent { kind: "Opened".into(), body: serde_json::json!({}) };
/// store.append(AppendRequest::new("Account", "a", 0).event(event())).await?;
/// store.append(AppendRequest::new("Transfer", "t", 0).event(event())).await?;
///
/// let accounts = EventFilter::all().aggregate_kind("Account");
/// let page = store.read_after(Checkpoint::BEGINNING, &accounts, 100).await?;
/// assert_eq!(page.len(), 1);
/// // resume after the last event read: nothing is skipped or repeated
/// let rest = store.read_after(page[0].checkpoint(), &EventFilter::all(), 100).await?;
/// assert_eq!(rest[0].aggregate_kind, "Transfer");
/// assert_eq!(store.head().await?, rest[0].checkpoint());
/// # Ok(()) }
/// ```
pub trait Tracker: Send + Sync {
    /// Up to `limit` events after `after` that pass `filter`, in
    /// [`Checkpoint`] order.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn read_after(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// The checkpoint of the last event that can be read now
    /// ([`Checkpoint::BEGINNING`] when there is none): where a reader that
    /// wants only new events starts.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn head(&self) -> impl Future<Output = Result<Checkpoint>> + Send;

    /// A subscription that wakes the reader when events are appended, so
    /// that it need not wait for its next poll. The default has no signals:
    /// readers poll on their timer.
    fn wakeups(&self) -> Wakeups {
        Wakeups::timer_only()
    }

    /// The open transaction that holds reading back now, if the backend can
    /// tell (the default: none).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn holdback(&self) -> impl Future<Output = Result<Option<Holdback>>> + Send {
        async { Ok(None) }
    }
}
