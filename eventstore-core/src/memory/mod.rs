//! [`MemoryStore`]: every store trait, in process memory.

mod deadlines;
mod keys;
mod reactors;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::watch;

use crate::envelope::{Checkpoint, EventId, RecordedEvent, StreamEvent};
use crate::error::{Error, Result};
use crate::forget::{ForgetRequest, Forgotten, erase_body_fields, erase_state_fields};
use crate::keys::{RecordedOutcome, RefusalOutcome, RefusalRequest};
use crate::store::{AppendOutcome, AppendRequest, EventStore, LoadedStream, Snapshot};
use crate::tracker::{EventFilter, ReadPage, Tracker};
use crate::wakeups::Wakeups;

/// A thread-safe event store in memory, for tests, demos and prototypes.
///
/// It keeps every promise of a durable store except durability: appends are
/// atomic, versions and idempotency keys are checked, and its tracker reads
/// in commit order. Clones share the same data.
///
/// ```
/// use eventstore_core::{EventStore, MemoryStore};
/// use eventstore_core::backend::{AppendRequest, NewEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let opened = NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" }))?;
/// store.append(AppendRequest::new("Account", "acc-1".parse()?, 0).event(opened)).await?;
/// let events = store.load("Account", "acc-1", 0).await?;
/// assert_eq!((events[0].version, events[0].position), (1, 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    /// Counts appends, for [`Tracker::wakeups`].
    appended: Arc<watch::Sender<u64>>,
    /// Checkpoints, leases and parked events of reactors.
    reactors: Arc<Mutex<reactors::Reactors>>,
    /// The pending deadlines of sagas.
    deadlines: Arc<Mutex<deadlines::Deadlines>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            appended: Arc::new(watch::Sender::new(0)),
            reactors: Arc::default(),
            deadlines: Arc::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Every event, in commit order (which is also position order here).
    log: Vec<RecordedEvent>,
    /// Streams by aggregate kind, then id.
    streams: HashMap<String, HashMap<String, Stream>>,
    snapshots: HashMap<String, HashMap<String, Snapshot>>,
    /// How many times each stream was forgotten: no snapshot of a state
    /// loaded before the last time is stored afterwards.
    forgotten: HashMap<(String, String), u64>,
    last_tx: u64,
}

#[derive(Debug, Default)]
struct Stream {
    /// Indexes into the log, in version order.
    events: Vec<usize>,
    /// What each idempotency key used on the stream recorded.
    keys: HashMap<String, RecordedOutcome>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event in commit order: for demos and assertions.
    #[must_use]
    pub fn all_events(&self) -> Vec<RecordedEvent> {
        self.lock().log.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock is held leaves no half-written append (every
        // append is checked before it mutates anything), so a poisoned lock
        // is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Inner {
    fn stream(&self, kind: &str, id: &str) -> Option<&Stream> {
        self.streams.get(kind)?.get(id)
    }

    /// How many times a stream was forgotten.
    fn forgets(&self, kind: &str, id: &str) -> u64 {
        self.forgotten
            .get(&(kind.to_owned(), id.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// A stream's snapshot, with the stream's forget count now (a stored
    /// snapshot is never older than the last forget: forget erases it).
    fn snapshot(&self, kind: &str, id: &str) -> Option<Snapshot> {
        let snapshot = self.snapshots.get(kind)?.get(id)?;
        Some(Snapshot {
            forgets: self.forgets(kind, id),
            ..snapshot.clone()
        })
    }

    /// The version a stream is at (0 when it has no events).
    fn version(&self, kind: &str, id: &str) -> u64 {
        self.stream(kind, id).map_or(0, |s| s.events.len() as u64)
    }

    /// The first `limit` events of a stream after a version (versions are
    /// dense, from 1, in this store).
    fn events_after<'a>(
        &'a self,
        kind: &str,
        id: &str,
        after: u64,
        limit: usize,
    ) -> impl Iterator<Item = &'a RecordedEvent> + 'a {
        let skip = usize::try_from(after).unwrap_or(usize::MAX);
        self.stream(kind, id)
            .map_or(&[][..], |stream| &stream.events[..])
            .iter()
            .skip(skip)
            .take(limit)
            .map(|&i| &self.log[i])
    }

    /// The event at a position (positions are dense, from 1, in the log).
    fn event_at(&self, position: u64) -> Option<&RecordedEvent> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.log.get(index).filter(|e| e.position == position)
    }
}

impl EventStore for MemoryStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome> {
        request.validate()?;
        if request.events.is_empty() {
            return Ok(AppendOutcome::Committed(Vec::new()));
        }
        let mut inner = self.lock();
        let current = inner.version(&request.aggregate_kind, request.aggregate_id.as_str());
        if let Some(key) = &request.idempotency_key {
            let kind = &request.aggregate_kind;
            match inner.key_outcome(kind, request.aggregate_id.as_str(), key) {
                Some(RecordedOutcome::Applied) => return Ok(AppendOutcome::AlreadyApplied),
                Some(RecordedOutcome::Rejected(error)) => {
                    return Ok(AppendOutcome::AlreadyRejected(error));
                }
                None => {}
            }
        }
        if let Some(guard) = &request.unless_moved {
            if inner.version(&guard.aggregate_kind, guard.aggregate_id.as_str()) > guard.version {
                return Err(Error::StreamMoved {
                    aggregate_kind: guard.aggregate_kind.clone(),
                    aggregate_id: guard.aggregate_id.to_string(),
                    version: guard.version,
                });
            }
        }
        if current != request.expected_version {
            return Err(Error::Conflict {
                aggregate_kind: request.aggregate_kind,
                aggregate_id: request.aggregate_id.into(),
                expected_version: request.expected_version,
                attempts: 1,
            });
        }
        inner.last_tx += 1;
        let tx = inner.last_tx;
        let now = SystemTime::now();
        let first_index = inner.log.len();
        let recorded: Vec<RecordedEvent> = request
            .events
            .into_iter()
            .enumerate()
            .map(|(i, event)| RecordedEvent {
                id: EventId::new(),
                position: (first_index + i + 1) as u64,
                tx,
                aggregate_kind: request.aggregate_kind.clone(),
                aggregate_id: request.aggregate_id.to_string(),
                version: current + i as u64 + 1,
                kind: event.kind,
                schema_version: event.schema_version,
                body: event.body,
                metadata: request.metadata.clone(),
                recorded_at: now,
            })
            .collect();
        inner.log.extend(recorded.iter().cloned());
        let stream = inner
            .streams
            .entry(request.aggregate_kind)
            .or_default()
            .entry(request.aggregate_id.into())
            .or_default();
        stream
            .events
            .extend(first_index..first_index + recorded.len());
        if let Some(key) = request.idempotency_key {
            stream.keys.insert(key, RecordedOutcome::Applied);
        }
        drop(inner);
        self.appended.send_modify(|count| *count += 1);
        Ok(AppendOutcome::Committed(recorded))
    }

    async fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>> {
        let inner = self.lock();
        Ok(inner
            .events_after(aggregate_kind, aggregate_id, after_version, usize::MAX)
            .cloned()
            .collect())
    }

    async fn load_page(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        let inner = self.lock();
        Ok(inner
            .events_after(aggregate_kind, aggregate_id, after_version, limit)
            .map(StreamEvent::from)
            .collect())
    }

    async fn load_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>> {
        Ok(self.lock().snapshot(aggregate_kind, aggregate_id))
    }

    async fn load_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> Result<LoadedStream> {
        // one lock: the events, the snapshot and the forget count agree
        let inner = self.lock();
        let key_outcome =
            idempotency_key.and_then(|key| inner.key_outcome(aggregate_kind, aggregate_id, key));
        if key_outcome.is_some() {
            return Ok(LoadedStream {
                key_outcome,
                ..LoadedStream::default()
            });
        }
        let snapshot = inner.snapshot(aggregate_kind, aggregate_id);
        let after = snapshot.as_ref().map_or(0, |s| s.version);
        Ok(LoadedStream {
            events: inner
                .events_after(aggregate_kind, aggregate_id, after, limit)
                .map(StreamEvent::from)
                .collect(),
            snapshot,
            key_outcome: None,
            forgets: inner.forgets(aggregate_kind, aggregate_id),
        })
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        let mut inner = self.lock();
        let stream = (
            snapshot.aggregate_kind.clone(),
            snapshot.aggregate_id.to_string(),
        );
        if inner
            .forgotten
            .get(&stream)
            .is_some_and(|&forgets| forgets > snapshot.forgets)
        {
            // loaded before a forget erased what it was folded from
            return Ok(());
        }
        let by_id = inner
            .snapshots
            .entry(snapshot.aggregate_kind.clone())
            .or_default();
        match by_id.get(snapshot.aggregate_id.as_str()) {
            Some(existing) if existing.version > snapshot.version => {}
            _ => {
                by_id.insert(snapshot.aggregate_id.to_string(), snapshot);
            }
        }
        Ok(())
    }

    async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten> {
        let mut forgotten = Forgotten::default();
        let mut inner = self.lock();
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        let positions: Vec<usize> = inner
            .stream(kind, id)
            .map(|stream| stream.events.clone())
            .unwrap_or_default();
        for &i in &positions {
            let event = &mut inner.log[i];
            if erase_body_fields(
                &mut event.body,
                request.fields_of(&event.kind, event.schema_version),
            ) {
                forgotten.events += 1;
            }
        }
        if let Some(by_id) = inner.snapshots.get_mut(kind.as_str()) {
            if request.delete_snapshots {
                forgotten.snapshots += u64::from(by_id.remove(id).is_some());
            } else if let Some(snapshot) = by_id.get_mut(id) {
                let fields = request.snapshot_fields.iter().map(String::as_str);
                forgotten.snapshots += u64::from(erase_state_fields(&mut snapshot.state, fields));
            }
        }
        if !positions.is_empty() {
            *inner
                .forgotten
                .entry((kind.clone(), id.to_owned()))
                .or_default() += 1;
        }
        // refusals may quote the bodies, and parked events hold copies of
        // them; the lock on the log is held meanwhile, so the whole forget
        // is one step
        forgotten.copies = inner.erase_refusals(kind, id) + self.reactors().forget(request);
        drop(inner);
        Ok(forgotten)
    }

    async fn idempotency_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        Ok(self.lock().key_outcome(aggregate_kind, aggregate_id, key))
    }

    async fn record_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        self.lock().record_refusal(request)
    }
}

impl Tracker for MemoryStore {
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<ReadPage> {
        let inner = self.lock();
        let start = inner.log.partition_point(|e| e.checkpoint() <= after);
        let mut page = ReadPage {
            end: after,
            ..ReadPage::default()
        };
        let mut readable = inner.log[start..]
            .iter()
            .take_while(|e| filter.reaches(e.checkpoint()))
            .peekable();
        while page.events.len() < limit.max(1) {
            let Some(event) = readable.next() else {
                return Ok(page);
            };
            page.end = event.checkpoint();
            if filter.passes(event) {
                page.events.push(event.clone());
            }
        }
        page.more = readable.peek().is_some();
        Ok(page)
    }

    async fn head(&self) -> Result<Checkpoint> {
        Ok(self
            .lock()
            .log
            .last()
            .map_or(Checkpoint::BEGINNING, RecordedEvent::checkpoint))
    }

    async fn ahead_of(&self, checkpoint: Checkpoint) -> Result<Option<u64>> {
        let next = self.lock().last_tx + 1;
        Ok((checkpoint.tx >= next).then_some(next))
    }

    fn wakeups(&self) -> Wakeups {
        Wakeups::from_counter(self.appended.subscribe())
    }
}
