//! [`ReactorStore`] and [`DeadlineStore`] for [`NatsStore`]: reactor state
//! in [`KvReactors`](crate::KvReactors) and saga deadlines in
//! [`KvDeadlines`](crate::KvDeadlines), key-value buckets named after the
//! stream; a parked event is read back from the stream by its position
//! ([`EventsAt`]).

use std::time::{Duration, SystemTime};

use eventstore_core::backend::{
    DeadlineSummary, DeadlinesAt, Joined, Lease, Partition, PendingDeadline,
};
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::{Checkpoint, DeadlineStore, RecordedEvent, Result};

use crate::commit;
use crate::inner::NatsStore;
use crate::load::corrupt;
use crate::reactors::EventsAt;

impl EventsAt for NatsStore {
    async fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>> {
        let (seq, index) = (position >> 16, position & 0xFFFF);
        if seq == 0 || seq > self.inner.last_seq().await? {
            return Ok(None);
        }
        let message = self.inner.message_at(seq).await?;
        let (kind, id) =
            commit::stream_of(&message).map_err(|problem| corrupt("", "", &message, problem))?;
        let read =
            commit::decode(&message).map_err(|problem| corrupt(&kind, &id, &message, problem))?;
        let Some(event) = usize::try_from(index)
            .ok()
            .and_then(|index| read.events.get(index))
        else {
            return Ok(None);
        };
        let body = self
            .inner
            .open_body((&kind, &id), read.head.forgets, &event.sealed)
            .await?
            .map_err(|problem| corrupt(&kind, &id, &message, problem))?;
        Ok(Some(RecordedEvent {
            id: event.id,
            position: event.position,
            tx: read.head.seq,
            aggregate_kind: kind,
            aggregate_id: id,
            version: event.version,
            kind: event.kind.clone(),
            schema_version: event.schema_version,
            body,
            metadata: read.metadata,
            recorded_at: read.recorded_at,
        }))
    }
}

impl ReactorStore for NatsStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Option<Checkpoint>> {
        self.inner
            .reactors
            .load_checkpoint(reactor, partition)
            .await
    }

    async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        self.inner.reactors.save_checkpoint(lease, checkpoint).await
    }

    async fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Joined> {
        self.inner
            .reactors
            .join(reactor, owner, partitions, ttl)
            .await
    }

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        self.inner
            .reactors
            .acquire_lease(reactor, partition, partitions, owner, ttl)
            .await
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        self.inner.reactors.renew_lease(lease, ttl).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.inner.reactors.release_lease(lease).await
    }

    async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        self.inner.reactors.lease_holder(reactor, partition).await
    }

    async fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        self.inner
            .reactors
            .heartbeat(reactor, owner, partitions, ttl)
            .await
    }

    async fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> Result<()> {
        self.inner
            .reactors
            .reset_checkpoints(reactor, partitions, to)
            .await
    }

    async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        self.inner.reactors.leave(reactor, owner).await
    }

    async fn park(&self, lease: &Lease, parked: ParkedEvent) -> Result<bool> {
        self.inner.reactors.park(lease, parked).await
    }

    async fn parked(
        &self,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<ParkedEvent>> {
        self.inner
            .reactors
            .parked(self, reactor, after_position, limit)
            .await
    }

    async fn parked_count(&self, reactor: &str) -> Result<u64> {
        self.inner.reactors.parked_count(reactor).await
    }

    async fn parked_event(&self, reactor: &str, position: u64) -> Result<Option<ParkedEvent>> {
        self.inner
            .reactors
            .parked_event(self, reactor, position)
            .await
    }

    async fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> Result<bool> {
        self.inner
            .reactors
            .record_retry(reactor, position, attempts, failure)
            .await
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        self.inner.reactors.unpark(reactor, position).await
    }
}

impl DeadlineStore for NatsStore {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        self.inner.deadlines.sync_deadlines(at).await
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<PendingDeadline>> {
        Ok(self
            .inner
            .deadlines
            .due_deadlines(saga_kind, partition, now, limit))
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Result<Option<SystemTime>> {
        Ok(self.inner.deadlines.next_deadline(saga_kind, partition))
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        self.inner.deadlines.remove_deadline(pending).await
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<DeadlineSummary> {
        Ok(self.inner.deadlines.deadline_summary(saga_kind, now, limit))
    }
}
