//! A store for tests of the JetStream key-value state before the
//! JetStream event store exists: events, keys, snapshots and the tracker
//! from a [`MemoryStore`], reactor state and deadlines from
//! [`KvReactors`] and [`KvDeadlines`] on the shared NATS server
//! ([`shared_jetstream`]), in fresh buckets per
//! store, kept in memory and deleted when the store's last clone is
//! dropped.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventstore_core::backend::{
    AppendOutcome, AppendRequest, DeadlineSummary, DeadlinesAt, Joined, Lease, LoadedStream,
    Partition, PendingDeadline, ReadPage, RecordedOutcome, RefusalOutcome, RefusalRequest,
    Snapshot, StreamEvent, Wakeups,
};
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::{
    Checkpoint, DeadlineStore, EventFilter, EventId, EventStore, ForgetRequest, Forgotten,
    MemoryStore, RecordedEvent, Result, Tracker,
};
use eventstore_nats::async_nats::jetstream;
use eventstore_nats::{BucketLayout, EventsAt, KvDeadlines, KvReactors};

use crate::nats_server::shared_jetstream;

/// The prefix of the buckets that tests make (`KV_` and this start their
/// streams' names).
const TEST_PREFIX: &str = "kvtest";

/// Test buckets older than this are deleted by later tests (those of a
/// run that was killed before it could delete its own).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A fresh layout: a prefix no other test uses, which says when it was
/// made, buckets in memory.
pub fn fresh_layout() -> BucketLayout {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    BucketLayout::new(format!("{TEST_PREFIX}{secs}_{}", EventId::new())).in_memory()
}

/// Deletes the test buckets made more than [`STALE_AFTER`] ago.
async fn delete_stale_buckets(context: &jetstream::Context) {
    use futures_util::StreamExt as _;
    let oldest = SystemTime::now()
        .checked_sub(STALE_AFTER)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_secs());
    let names: Vec<String> = context
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    for name in names {
        let Some(rest) = name.strip_prefix(&format!("KV_{TEST_PREFIX}")) else {
            continue;
        };
        let made: Option<u64> = rest.split('_').next().and_then(|s| s.parse().ok());
        if made.is_some_and(|made| made < oldest) {
            // another test's sweep may be deleting it too
            let _ = context.delete_stream(&name).await;
        }
    }
}

/// The names of the buckets of a store of [`fresh_store`].
const BUCKETS: [&str; 3] = ["reactors", "parked", "deadlines"];

/// Deletes test buckets when dropped (a test's or a store's last clone),
/// on a thread, runtime and connection of its own: a drop cannot wait on
/// the test's runtime, which may be the thread dropping.
#[derive(Debug)]
pub struct DeleteOnDrop {
    buckets: Vec<String>,
}

impl DeleteOnDrop {
    /// Deletes the buckets `<prefix>_<name>` of `layout` when dropped.
    #[must_use]
    pub fn new(layout: &BucketLayout, names: &[&str]) -> Self {
        Self {
            buckets: names
                .iter()
                .map(|name| format!("{}_{name}", layout.prefix))
                .collect(),
        }
    }
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let buckets = std::mem::take(&mut self.buckets);
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to delete test buckets");
            runtime.block_on(async {
                let context = shared_jetstream().await;
                for name in buckets {
                    if let Err(error) = context.delete_key_value(&name).await {
                        return Err(format!("{name}: {error}"));
                    }
                }
                Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = deleted {
            eprintln!("test buckets left behind: {error}");
        }
    }
}

/// Events from memory, reactor state and deadlines from key-value
/// buckets on NATS.
#[derive(Debug, Clone)]
pub struct KvStore {
    prefix: String,
    memory: MemoryStore,
    reactors: KvReactors,
    deadlines: KvDeadlines,
    _cleanup: Arc<DeleteOnDrop>,
}

/// A store with fresh buckets.
///
/// # Panics
/// When NATS does not answer, saying how to start it, or the buckets
/// cannot be made.
pub async fn fresh_store() -> KvStore {
    let context = shared_jetstream().await;
    delete_stale_buckets(&context).await;
    let layout = fresh_layout();
    let reactors = KvReactors::open(&context, &layout)
        .await
        .expect("open the reactor buckets");
    let deadlines = KvDeadlines::open(&context, &layout)
        .await
        .expect("open the deadline bucket");
    KvStore {
        prefix: layout.prefix.clone(),
        memory: MemoryStore::new(),
        _cleanup: Arc::new(DeleteOnDrop::new(&layout, &BUCKETS)),
        reactors,
        deadlines,
    }
}

impl KvStore {
    /// The names of its buckets.
    #[must_use]
    pub fn buckets(&self) -> Vec<String> {
        BUCKETS.map(|b| format!("{}_{b}", self.prefix)).to_vec()
    }

    /// The reactor state, for tests that reach it directly.
    #[must_use]
    pub fn reactors(&self) -> &KvReactors {
        &self.reactors
    }
}

impl EventsAt for KvStore {
    async fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>> {
        // a test's log is short: read it from the start
        let all = self
            .memory
            .read_after(Checkpoint::BEGINNING, &EventFilter::all(), usize::MAX)
            .await?;
        Ok(all.into_iter().find(|event| event.position == position))
    }
}

impl EventStore for KvStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome> {
        self.memory.append(request).await
    }

    async fn load(&self, kind: &str, id: &str, after: u64) -> Result<Vec<RecordedEvent>> {
        self.memory.load(kind, id, after).await
    }

    async fn load_page(
        &self,
        kind: &str,
        id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        self.memory.load_page(kind, id, after, limit).await
    }

    async fn load_snapshot(&self, kind: &str, id: &str) -> Result<Option<Snapshot>> {
        self.memory.load_snapshot(kind, id).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        self.memory.save_snapshot(snapshot).await
    }

    async fn idempotency_key_outcome(
        &self,
        kind: &str,
        id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        self.memory.idempotency_key_outcome(kind, id, key).await
    }

    async fn record_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        self.memory.record_refusal(request).await
    }

    async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten> {
        let mut forgotten = self.memory.forget(request).await?;
        let events = self
            .memory
            .load(&request.aggregate_kind, request.aggregate_id.as_str(), 0)
            .await?;
        let positions: BTreeSet<u64> = events.iter().map(|e| e.position).collect();
        forgotten.copies += self.reactors.erase_parked_errors(&positions).await?;
        Ok(forgotten)
    }

    async fn load_stream(
        &self,
        kind: &str,
        id: &str,
        key: Option<&str>,
        limit: usize,
    ) -> Result<LoadedStream> {
        self.memory.load_stream(kind, id, key, limit).await
    }
}

impl Tracker for KvStore {
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<ReadPage> {
        self.memory.read_page(after, filter, limit).await
    }

    async fn head(&self) -> Result<Checkpoint> {
        self.memory.head().await
    }

    async fn ahead_of(&self, checkpoint: Checkpoint) -> Result<Option<u64>> {
        self.memory.ahead_of(checkpoint).await
    }

    fn wakeups(&self) -> Wakeups {
        self.memory.wakeups()
    }
}

impl ReactorStore for KvStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Option<Checkpoint>> {
        self.reactors.load_checkpoint(reactor, partition).await
    }

    async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        self.reactors.save_checkpoint(lease, checkpoint).await
    }

    async fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Joined> {
        self.reactors.join(reactor, owner, partitions, ttl).await
    }

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        self.reactors
            .acquire_lease(reactor, partition, partitions, owner, ttl)
            .await
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        self.reactors.renew_lease(lease, ttl).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.reactors.release_lease(lease).await
    }

    async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        self.reactors.lease_holder(reactor, partition).await
    }

    async fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        self.reactors
            .heartbeat(reactor, owner, partitions, ttl)
            .await
    }

    async fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> Result<()> {
        self.reactors
            .reset_checkpoints(reactor, partitions, to)
            .await
    }

    async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        self.reactors.leave(reactor, owner).await
    }

    async fn park(&self, lease: &Lease, parked: ParkedEvent) -> Result<bool> {
        self.reactors.park(lease, parked).await
    }

    async fn parked(
        &self,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<ParkedEvent>> {
        self.reactors
            .parked(self, reactor, after_position, limit)
            .await
    }

    async fn parked_count(&self, reactor: &str) -> Result<u64> {
        self.reactors.parked_count(reactor).await
    }

    async fn parked_event(&self, reactor: &str, position: u64) -> Result<Option<ParkedEvent>> {
        self.reactors.parked_event(self, reactor, position).await
    }

    async fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> Result<bool> {
        self.reactors
            .record_retry(reactor, position, attempts, failure)
            .await
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        self.reactors.unpark(reactor, position).await
    }
}

impl DeadlineStore for KvStore {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        self.deadlines.sync_deadlines(at).await
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<PendingDeadline>> {
        Ok(self
            .deadlines
            .due_deadlines(saga_kind, partition, now, limit))
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Result<Option<SystemTime>> {
        Ok(self.deadlines.next_deadline(saga_kind, partition))
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        self.deadlines.remove_deadline(pending).await
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<DeadlineSummary> {
        Ok(self.deadlines.deadline_summary(saga_kind, now, limit))
    }
}
