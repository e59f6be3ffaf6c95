//! What an operator does with a reactor: look at its state, retry or skip
//! parked events, reset its checkpoints.

use std::time::{Duration, SystemTime};

use super::options::Start;
use super::retry::handle_once;
use super::status::{DEADLINES_SHOWN, LAG_COUNT_LIMIT, PartitionStatus, ReactorStatus, age};
use super::store::{ParkedEvent, ReactorStore};
use super::{Reactor, Runner};
use crate::envelope::Checkpoint;
use crate::error::Result;
use crate::tracker::Tracker;

/// What [`Runner::retry_parked`] did: every case there is (an event is
/// parked or not; its handler succeeds or fails), so it is exhaustive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    /// No event at that position is parked: nothing was done.
    NotParked,
    /// The handler succeeded: the event is no longer parked.
    Handled,
    /// The handler failed again (or the row still cannot be read): the
    /// event stays parked with this error and one more attempt.
    FailedAgain {
        /// The error, with its causes, or the panic's message.
        error: String,
    },
}

/// A readable or unreadable event pending for a reactor: where it is, its
/// aggregate, and when it was recorded (unknown for an unreadable row).
struct Pending {
    checkpoint: Checkpoint,
    aggregate_id: String,
    recorded_at: Option<SystemTime>,
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// Where the reactor stands: per partition its checkpoint, lag and
    /// lease holder; the head, the parked count, and the open transaction
    /// that holds reading back, if any.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn status(&self) -> Result<ReactorStatus> {
        let name = self.reactor.name();
        let mut checkpoints = Vec::new();
        for partition in 0..self.options.partitions {
            let stored = self.store.load_checkpoint(name, partition).await?;
            checkpoints.push(stored.unwrap_or_default());
        }
        // one read from the oldest checkpoint serves every partition
        let oldest = checkpoints.iter().min().copied().unwrap_or_default();
        let pending = self.pending_after(oldest).await?;
        let mut partitions = Vec::new();
        for (partition, checkpoint) in (0..self.options.partitions).zip(checkpoints) {
            let part = self.partition(partition);
            let mut mine = pending.iter().filter(|e| {
                e.checkpoint > checkpoint && part.is_none_or(|p| p.owns(&e.aggregate_id))
            });
            let first = mine.next();
            partitions.push(PartitionStatus {
                partition,
                checkpoint,
                lag_events: first.map_or(0, |_| 1 + mine.count()),
                lag: first
                    .and_then(|e| e.recorded_at)
                    .map_or(Duration::ZERO, age),
                lease_holder: self.store.lease_holder(name, partition).await?,
            });
        }
        Ok(ReactorStatus {
            reactor: name.to_owned(),
            head: self.store.head().await?,
            partitions,
            parked: self.store.parked_count(name).await?,
            holdback: self.store.holdback().await?,
            deadlines: self
                .reactor
                .due_status(self.clock.now(), DEADLINES_SHOWN)
                .await?,
        })
    }

    /// The first [`LAG_COUNT_LIMIT`] events of the reactor after `after`,
    /// readable or not.
    async fn pending_after(&self, mut after: Checkpoint) -> Result<Vec<Pending>> {
        let filter = self.reactor.filter();
        let mut pending = Vec::new();
        while pending.len() < LAG_COUNT_LIMIT {
            let page = self
                .store
                .read_page(after, &filter, LAG_COUNT_LIMIT - pending.len())
                .await?;
            pending.extend(page.events.iter().map(|e| Pending {
                checkpoint: e.checkpoint(),
                aggregate_id: e.aggregate_id.clone(),
                recorded_at: Some(e.recorded_at),
            }));
            pending.extend(page.unreadable.iter().map(|u| Pending {
                checkpoint: u.checkpoint,
                aggregate_id: u.aggregate_id.clone(),
                recorded_at: None,
            }));
            if !page.more || page.end <= after {
                break;
            }
            after = page.end;
        }
        pending.sort_by_key(|p| p.checkpoint);
        Ok(pending)
    }

    /// The reactor's parked events, oldest first: at most `limit` after
    /// position `after` (0: from the first).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn parked(&self, after: u64, limit: usize) -> Result<Vec<ParkedEvent>> {
        self.store.parked(self.reactor.name(), after, limit).await
    }

    /// Handles a parked event once more: on success it is unparked, on
    /// failure (or when its row still cannot be read) it stays parked with
    /// the new error and one more attempt. When another retry or skip of
    /// the same event came between, this one's outcome is not recorded over
    /// it.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn retry_parked(&self, position: u64) -> Result<RetryOutcome> {
        let name = self.reactor.name();
        let Some(parked) = self.store.parked_event(name, position).await? else {
            return Ok(RetryOutcome::NotParked);
        };
        let outcome = match &parked.event {
            Some(event) => handle_once(&*self.reactor, event).await,
            None => Err(parked.error.clone()),
        };
        let failure = outcome.as_ref().err().map(String::as_str);
        if !self
            .store
            .record_retry(name, position, parked.attempts, failure)
            .await?
        {
            tracing::warn!(
                reactor = name,
                position,
                "another retry or skip of this event came first: this outcome is not recorded"
            );
        }
        Ok(match outcome {
            Ok(()) => RetryOutcome::Handled,
            Err(error) => RetryOutcome::FailedAgain { error },
        })
    }

    /// Drops a parked event without handling it. Returns whether it was
    /// parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn skip_parked(&self, position: u64) -> Result<bool> {
        self.store.unpark(self.reactor.name(), position).await
    }

    /// Sets every partition's checkpoint to the first event
    /// ([`Start::Beginning`]: everything is delivered again, which
    /// idempotent handlers absorb) or to the last event readable now
    /// ([`Start::End`]), with this runner's partition count, while no
    /// runner of the reactor is live: what an operator does when a database
    /// restored from a dump makes runners stop with
    /// [`Error::CheckpointAhead`](crate::Error::CheckpointAhead).
    ///
    /// # Errors
    /// [`Error::InvalidOption`](crate::Error::InvalidOption),
    /// [`Error::RunnersLive`](crate::Error::RunnersLive),
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn reset(&self, start: Start) -> Result<()> {
        self.options.validate()?;
        let to = match start {
            Start::Beginning => Checkpoint::BEGINNING,
            Start::End => self.store.head().await?,
        };
        self.store
            .reset_checkpoints(self.reactor.name(), self.options.partitions, to)
            .await
    }
}
