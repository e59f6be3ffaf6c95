//! The [`Tracker`] trait: reading the global log in commit order.

use std::future::Future;
use std::time::Duration;

use crate::aggregate::Aggregate;
use crate::envelope::{Checkpoint, RecordedEvent};
use crate::error::Result;
use crate::event::Event;
use crate::event::schema::UpcastStep;
use crate::partition::Partition;
use crate::wakeups::Wakeups;

/// Which events a reader wants: aggregate and event kinds (empty lists mean
/// "all"), optionally one partition of the streams (what a partition loop
/// of a [`Runner`](crate::reactor::Runner) reads), and optionally nothing
/// after a checkpoint, to replay up to a known position (rebuilding a
/// projection).
///
/// ```
/// # use eventstore_core::doc::Account;
/// use eventstore_core::EventFilter;
/// let filter = EventFilter::all()
///     .aggregate::<Account>()
///     .event_kind("Opened");
/// assert!(filter.wants("Account", "Opened"));
/// assert!(!filter.wants("Transfer", "Opened"));
/// assert!(!filter.wants("Account", "MoneyWithdrawn"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Aggregate kinds to read; empty for all.
    pub aggregate_kinds: Vec<String>,
    /// Event kinds to read; empty for all.
    pub event_kinds: Vec<String>,
    /// The last checkpoint to read, if any.
    pub until: Option<Checkpoint>,
    /// The partition of the streams to read, if any.
    pub partition: Option<Partition>,
}

impl EventFilter {
    /// Every event: the filter that the other methods narrow.
    #[must_use]
    pub fn all() -> Self {
        Self {
            aggregate_kinds: Vec::new(),
            event_kinds: Vec::new(),
            until: None,
            partition: None,
        }
    }

    /// Also reads the events of the aggregate `A`.
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// use eventstore_core::EventFilter;
    /// let accounts = EventFilter::all().aggregate::<Account>();
    /// assert_eq!(accounts.aggregate_kinds, ["Account"]);
    /// ```
    #[must_use]
    pub fn aggregate<A: Aggregate>(self) -> Self {
        self.aggregate_kind(A::KIND)
    }

    /// Also reads this aggregate kind, named as text: for a kind known only
    /// at run time (a tool that reads any log, a backend's tests);
    /// otherwise [`aggregate`](Self::aggregate) names it by its type, so
    /// that a typo cannot match nothing.
    ///
    /// ```
    /// use eventstore_core::EventFilter;
    /// let kind = "Account"; // read from a command line
    /// assert!(EventFilter::all().aggregate_kind(kind).wants("Account", "Opened"));
    /// ```
    #[must_use]
    pub fn aggregate_kind(mut self, kind: impl Into<String>) -> Self {
        self.aggregate_kinds.push(kind.into());
        self
    }

    /// Also reads the rows stored under this event kind name. A row
    /// stored under an old name of the kind, or of a kind that an upcaster
    /// turns into it, is stored under another name: to read those too,
    /// use [`event`](Self::event).
    #[must_use]
    pub fn event_kind(mut self, kind: impl Into<String>) -> Self {
        self.event_kinds.push(kind.into());
        self
    }

    /// Also reads every row that may read as events of kind `kind` of the
    /// family `E` (see [`schema`](crate::schema)): those stored under
    /// `kind` or one of its old names (`aliases`), and those of each kind
    /// that an `events` upcaster turns into other events (a split, a
    /// retired kind), which may become `kind`. Read them with
    /// [`decode_all`](RecordedEvent::decode_all) or
    /// [`route`](crate::reactor::route): such a row may read as events of
    /// other kinds too.
    ///
    /// ```
    /// use eventstore_core::EventFilter;
    /// use eventstore_core::schema::{RawEvent, UpcastError};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// pub struct Deposited { pub cents: u64 }
    ///
    /// /// `Moved` is a deposit now.
    /// fn moved(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    ///     Ok(vec![RawEvent::new("Deposited", 1, event.body)])
    /// }
    ///
    /// #[derive(eventstore_core::Event)]
    /// #[event(retired(kind = "Moved", events = moved))]
    /// pub enum PurseEvent {
    ///     #[event(aliases = ["Paid"])]
    ///     Deposited(Deposited),
    /// }
    ///
    /// let filter = EventFilter::all().event::<PurseEvent>("Deposited");
    /// assert_eq!(filter.event_kinds, ["Deposited", "Paid", "Moved"]);
    /// assert!(!EventFilter::all().event_kind("Deposited").wants("Purse", "Paid"));
    /// ```
    ///
    /// # Panics
    /// When `kind` is not a kind of `E`: the filter would read rows of no
    /// event of the family.
    #[must_use]
    pub fn event<E: Event>(mut self, kind: &str) -> Self {
        assert!(
            E::KINDS.contains(&kind),
            "{kind:?} is not an event kind of this family: its kinds are {:?}",
            E::KINDS
        );
        // the kinds an `events` upcaster reads, under every name of theirs
        let splitting = E::UPCASTERS
            .iter()
            .filter(|u| matches!(u.step, UpcastStep::Events(_)))
            .map(|u| u.kind);
        self.read_kind(kind);
        old_names::<E>(kind).for_each(|old| self.read_kind(old));
        for split in splitting {
            self.read_kind(split);
            old_names::<E>(split).for_each(|old| self.read_kind(old));
        }
        self
    }

    /// Adds the event kind name `kind`, unless it is there.
    fn read_kind(&mut self, kind: &str) {
        if !self.event_kinds.iter().any(|k| k == kind) {
            self.event_kinds.push(kind.to_owned());
        }
    }

    /// Reads nothing after `checkpoint`.
    ///
    /// ```
    /// use eventstore_core::{Checkpoint, EventFilter};
    /// let head = Checkpoint { tx: 9, position: 40 };
    /// let replay = EventFilter::all().until(head);
    /// assert_eq!(replay.until, Some(head));
    /// ```
    #[must_use]
    pub fn until(mut self, checkpoint: Checkpoint) -> Self {
        self.until = Some(checkpoint);
        self
    }

    /// Reads only the streams of partition `index` of `count` (see
    /// [`partition_of`](crate::reactor::partition_of); a count of 0 is taken as 1, as
    /// [`RunnerOptions::partitions`](crate::reactor::RunnerOptions::partitions)
    /// takes it).
    ///
    /// ```
    /// use eventstore_core::EventFilter;
    /// use eventstore_core::reactor::partition_of;
    /// let filter = EventFilter::all().partition(partition_of("acc-1", 4), 4);
    /// assert!(filter.owns("acc-1"));
    /// let other = EventFilter::all().partition((partition_of("acc-1", 4) + 1) % 4, 4);
    /// assert!(!other.owns("acc-1"));
    /// ```
    ///
    /// # Panics
    /// When `index` is not below `count`: such a filter would read nothing.
    #[must_use]
    pub fn partition(mut self, index: u32, count: u32) -> Self {
        let count = count.max(1);
        assert!(
            index < count,
            "partition {index} of {count}: the index must be below the count"
        );
        self.partition = Some(Partition { index, count });
        self
    }

    /// Whether the aggregate `aggregate_id` is in the partition read (every
    /// aggregate is, when the filter has none).
    #[must_use]
    pub fn owns(&self, aggregate_id: &str) -> bool {
        self.partition.is_none_or(|p| p.owns(aggregate_id))
    }

    /// Whether `event` passes: its kinds are wanted and its aggregate is in
    /// the partition read ([`until`](Self::until) aside).
    #[must_use]
    pub fn passes(&self, event: &RecordedEvent) -> bool {
        self.wants(&event.aggregate_kind, &event.kind) && self.owns(&event.aggregate_id)
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

/// The old names (`aliases`) of the kind `kind` of the family `E`.
fn old_names<E: Event>(kind: &str) -> impl Iterator<Item = &'static str> + '_ {
    E::ALIASES
        .iter()
        .filter(move |(_, current)| *current == kind)
        .map(|(old, _)| *old)
}

/// What keeps a tracker from reading newer events until it ends: an open
/// write transaction, in words the backend chooses (a backend's own API
/// may describe it in more detail, as `eventstore_postgres`'s
/// `PgEventStore::oldest_open_transaction` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdback {
    /// How long it has been holding reading back.
    pub age: Duration,
    /// Who holds reading back, in plain words (for PostgreSQL: the process
    /// or prepared transaction, its database and state, and what ends it).
    pub holder: String,
}

/// An event row that a read found but could not turn into a
/// [`RecordedEvent`]: a reactor parks it, with [`error`](Self::error), and
/// goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableEvent {
    /// Where it is in commit order.
    pub checkpoint: Checkpoint,
    /// The aggregate kind of its stream.
    pub aggregate_kind: String,
    /// The aggregate id of its stream.
    pub aggregate_id: String,
    /// Its version, as stored.
    pub version: i64,
    /// What is wrong with it.
    pub problem: String,
}

impl UnreadableEvent {
    /// The error that names the row.
    #[must_use]
    pub fn error(&self) -> crate::Error {
        crate::Error::CorruptRow {
            position: self.checkpoint.position,
            aggregate_kind: self.aggregate_kind.clone(),
            aggregate_id: self.aggregate_id.clone(),
            version: self.version,
            problem: self.problem.clone(),
        }
    }
}

/// What one [`Tracker::read_page`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadPage {
    /// The events that passed the filter, in [`Checkpoint`] order.
    pub events: Vec<RecordedEvent>,
    /// The rows that passed the filter but cannot be read, in
    /// [`Checkpoint`] order, among the events.
    pub unreadable: Vec<UnreadableEvent>,
    /// How far the read looked: every event up to here that passes the
    /// filter is in `events`, so the next read starts after it (past the
    /// events that did not pass, which are not read again). The checkpoint
    /// read after when the read found nothing.
    pub end: Checkpoint,
    /// Whether the read stopped at a limit rather than at the last event it
    /// could read: read again at once.
    pub more: bool,
}

/// Reads committed events of every stream in commit order.
///
/// A tracker never returns an event that a transaction still running could
/// precede: reading after the checkpoint of the last event returned never
/// skips a committed event and never returns one twice.
///
/// ```
/// use eventstore_core::{Checkpoint, EventBody, EventFilter, EventStore, MemoryStore, Tracker};
/// use eventstore_core::backend::{AppendRequest, NewEvent};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let event = || NewEvent::of("Opened", EventBody::empty());
/// store.append(AppendRequest::new("Account", "a".parse()?, 0).event(event())).await?;
/// store.append(AppendRequest::new("Transfer", "t".parse()?, 0).event(event())).await?;
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
    /// [`Checkpoint`] order, and where the read ended: a reader that
    /// resumes after [`ReadPage::end`] skips no event that passes and does
    /// not scan again the ones that did not. A read may stop, with
    /// [`ReadPage::more`], after scanning many events of which none passed.
    ///
    /// ```
    /// use eventstore_core::{Checkpoint, EventBody, EventFilter, EventStore, MemoryStore, Tracker};
    /// use eventstore_core::backend::{AppendRequest, NewEvent};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let store = MemoryStore::new();
    /// let event = || NewEvent::of("Opened", EventBody::empty());
    /// store.append(AppendRequest::new("Account", "a".parse()?, 0).event(event())).await?;
    /// store.append(AppendRequest::new("Transfer", "t".parse()?, 0).event(event())).await?;
    ///
    /// let transfers = EventFilter::all().aggregate_kind("Transfer");
    /// let page = store.read_page(Checkpoint::BEGINNING, &transfers, 100).await?;
    /// assert_eq!(page.events.len(), 1);
    /// assert_eq!(page.end, store.head().await?);
    /// assert!(!page.more);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> impl Future<Output = Result<ReadPage>> + Send;

    /// Up to `limit` events after `after` that pass `filter`, in
    /// [`Checkpoint`] order: [`read_page`](Self::read_page) until it finds
    /// some or reaches the last event it can read.
    ///
    /// # Errors
    /// [`Error::CorruptRow`](crate::Error::CorruptRow) naming the first
    /// unreadable row read, [`Error::Backend`](crate::Error::Backend).
    fn read_after(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send {
        async move {
            let mut after = after;
            loop {
                let page = self.read_page(after, filter, limit).await?;
                if let Some(unreadable) = page.unreadable.first() {
                    return Err(unreadable.error());
                }
                if !page.events.is_empty() || !page.more || page.end <= after {
                    return Ok(page.events);
                }
                after = page.end;
            }
        }
    }

    /// The checkpoint of the last event that can be read now
    /// ([`Checkpoint::BEGINNING`] when there is none): where a reader that
    /// wants only new events starts.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn head(&self) -> impl Future<Output = Result<Checkpoint>> + Send;

    /// The next transaction id the store will hand out, when `checkpoint`
    /// is at or past it: a checkpoint from a database that was restored
    /// from a dump (whose ids start lower), after which no new event would
    /// ever be read. `None` for a checkpoint the store could have handed out.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn ahead_of(&self, checkpoint: Checkpoint) -> impl Future<Output = Result<Option<u64>>> + Send;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "partition 4 of 4: the index must be below the count")]
    fn a_partition_beyond_the_count_is_refused() {
        let _ = EventFilter::all().partition(4, 4);
    }

    #[test]
    fn a_count_of_zero_is_one_partition_that_owns_everything() {
        let filter = EventFilter::all().partition(0, 0);
        assert_eq!(filter.partition, Some(Partition { index: 0, count: 1 }));
        assert!(filter.owns("acc-1") && filter.owns("anything"));
    }
}
