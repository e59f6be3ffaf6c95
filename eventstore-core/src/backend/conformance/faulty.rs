//! A store wrapper with faults switched on by the test: rival writers that
//! win every race (of appends, or of refusals recorded under a key),
//! hidden snapshots, a pause between load and append, and refusals left
//! unrecorded; and what it saw: how many reads, the most events one read
//! returned, and how many refusals it was asked to record.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::SystemTime;

use tokio::sync::Semaphore;

use crate::backend::{
    AppendOutcome, AppendRequest, NewEvent, RecordedOutcome, RefusalOutcome, RefusalRequest,
    Snapshot, StreamEvent,
};
use crate::backend::{DeadlineSummary, DeadlinesAt, Partition, PendingDeadline};
use crate::{DeadlineStore, EventStore, ForgetRequest, Forgotten, RecordedEvent, Result};

/// Wraps a store and delegates to it, with the faults chosen by the
/// builder methods. With none chosen, it is the store itself.
#[derive(Debug, Clone)]
pub struct Faulty<S> {
    inner: S,
    rivals: Arc<AtomicU32>,
    rival_events: Option<Vec<NewEvent>>,
    refusal_rivals: Arc<AtomicU32>,
    refusal_rival: Option<NewEvent>,
    refusals: Arc<AtomicU32>,
    unrecorded_refusals: bool,
    reads: Arc<AtomicU32>,
    deadline_reads: Arc<AtomicU32>,
    most_events: Arc<AtomicUsize>,
    hide_snapshots: bool,
    pause_before_append: bool,
    hold: Option<(String, Arc<Semaphore>)>,
    held: Arc<AtomicU32>,
}

impl<S> Faulty<S> {
    /// The store, with no fault yet.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rivals: Arc::new(AtomicU32::new(0)),
            rival_events: None,
            refusal_rivals: Arc::new(AtomicU32::new(0)),
            refusal_rival: None,
            refusals: Arc::new(AtomicU32::new(0)),
            unrecorded_refusals: false,
            reads: Arc::new(AtomicU32::new(0)),
            deadline_reads: Arc::new(AtomicU32::new(0)),
            most_events: Arc::new(AtomicUsize::new(0)),
            hide_snapshots: false,
            pause_before_append: false,
            hold: None,
            held: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Before each of the next `rivals` appends, a rival writer appends the
    /// same events at the same expected version, so that the wrapped append
    /// meets a real version conflict from the store underneath.
    #[must_use]
    pub fn rivals(self, rivals: u32) -> Self {
        self.rivals.store(rivals, Ordering::SeqCst);
        self
    }

    /// The rival writers of [`rivals`](Self::rivals) append `events`
    /// instead of the events they race.
    #[must_use]
    pub fn rival_events(mut self, events: Vec<NewEvent>) -> Self {
        self.rival_events = Some(events);
        self
    }

    /// Before each of the next `rivals` refusals recorded under a key, a
    /// rival writer appends `event` at the version the refusal was decided
    /// on, so that the stream has moved on when the refusal is recorded.
    #[must_use]
    pub fn rivals_before_refusals(mut self, rivals: u32, event: NewEvent) -> Self {
        self.refusal_rivals.store(rivals, Ordering::SeqCst);
        self.refusal_rival = Some(event);
        self
    }

    /// Records no refusal: answers that it did and writes nothing, as a
    /// store did before refusals were recorded under their keys, so that a
    /// later command with the key is decided again (a negative control).
    #[must_use]
    pub fn unrecorded_refusals(mut self) -> Self {
        self.unrecorded_refusals = true;
        self
    }

    /// How many refusals it was asked to record under a key.
    pub fn refusals(&self) -> u32 {
        self.refusals.load(Ordering::SeqCst)
    }

    /// How many reads of a stream (events, snapshot or key) it has served.
    pub fn reads(&self) -> u32 {
        self.reads.load(Ordering::SeqCst)
    }

    /// How many reads of the pending deadlines (due ones, or the next due
    /// time) it has served.
    pub fn deadline_reads(&self) -> u32 {
        self.deadline_reads.load(Ordering::SeqCst)
    }

    /// The most events that one read of events returned: what a caller
    /// held in memory at once, at least.
    pub fn most_events_read(&self) -> usize {
        self.most_events.load(Ordering::SeqCst)
    }

    /// Counts a read that returned `events` events.
    fn read_events(&self, events: usize) {
        self.most_events.fetch_max(events, Ordering::SeqCst);
    }

    /// Pretends there are no snapshots: loads replay every event.
    #[must_use]
    pub fn without_snapshots(mut self) -> Self {
        self.hide_snapshots = true;
        self
    }

    /// Yields to the scheduler before every append, so that concurrent
    /// writers interleave between their load and their append even on a
    /// store that never waits.
    #[must_use]
    pub fn pause_before_append(mut self) -> Self {
        self.pause_before_append = true;
        self
    }
}

impl<S> Faulty<S> {
    /// Holds every read of a stream of `kind` (before its snapshot is
    /// read) until `gate` has a permit, which it gives back: a reader that
    /// stalls between two reads, as a paused process does.
    #[must_use]
    pub fn hold_reads_of(mut self, kind: &str, gate: Arc<Semaphore>) -> Self {
        self.hold = Some((kind.to_owned(), gate));
        self
    }

    /// How many reads wait at the hold now.
    pub fn held(&self) -> u32 {
        self.held.load(Ordering::SeqCst)
    }

    /// Waits at the hold, for a stream of `kind` that it holds.
    async fn wait_if_held(&self, kind: &str) {
        if let Some((_, gate)) = self.hold.as_ref().filter(|(held, _)| held == kind) {
            self.held.fetch_add(1, Ordering::SeqCst);
            // a closed gate lets everyone through
            let _ = gate.acquire().await;
            self.held.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl<S: EventStore> EventStore for Faulty<S> {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome> {
        if self.pause_before_append {
            tokio::task::yield_now().await;
        }
        let rival_due = self
            .rivals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if rival_due {
            let mut rival = AppendRequest::new(
                request.aggregate_kind.clone(),
                request.aggregate_id.clone(),
                request.expected_version,
            );
            rival
                .events
                .clone_from(self.rival_events.as_ref().unwrap_or(&request.events));
            self.inner.append(rival).await?;
        }
        self.inner.append(request).await
    }

    async fn load(&self, kind: &str, id: &str, after_version: u64) -> Result<Vec<RecordedEvent>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let events = self.inner.load(kind, id, after_version).await?;
        self.read_events(events.len());
        Ok(events)
    }

    async fn load_page(
        &self,
        kind: &str,
        id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let events = self.inner.load_page(kind, id, after_version, limit).await?;
        self.read_events(events.len());
        Ok(events)
    }

    async fn load_snapshot(&self, kind: &str, id: &str) -> Result<Option<Snapshot>> {
        self.wait_if_held(kind).await;
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.hide_snapshots {
            return Ok(None);
        }
        self.inner.load_snapshot(kind, id).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        self.inner.save_snapshot(snapshot).await
    }

    async fn idempotency_key_outcome(
        &self,
        kind: &str,
        id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.idempotency_key_outcome(kind, id, key).await
    }

    async fn record_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        self.refusals.fetch_add(1, Ordering::SeqCst);
        let rival_due = self
            .refusal_rivals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if let (true, Some(event)) = (rival_due, &self.refusal_rival) {
            let rival = AppendRequest::new(
                request.aggregate_kind.clone(),
                request.aggregate_id.clone(),
                request.version,
            );
            self.inner.append(rival.event(event.clone())).await?;
        }
        if self.unrecorded_refusals {
            return Ok(RefusalOutcome::Recorded);
        }
        self.inner.record_refusal(request).await
    }

    async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten> {
        self.inner.forget(request).await
    }
}

/// Deadlines pass through untouched; their reads are counted.
impl<S: DeadlineStore> DeadlineStore for Faulty<S> {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        self.inner.sync_deadlines(at).await
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<PendingDeadline>> {
        self.deadline_reads.fetch_add(1, Ordering::SeqCst);
        self.inner
            .due_deadlines(saga_kind, partition, now, limit)
            .await
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Result<Option<SystemTime>> {
        self.deadline_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.next_deadline(saga_kind, partition).await
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        self.inner.remove_deadline(pending).await
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<DeadlineSummary> {
        self.inner.deadline_summary(saga_kind, now, limit).await
    }
}
