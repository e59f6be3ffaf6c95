//! [`ReactorStore`]: where runners keep checkpoints, leases and parked
//! events.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::envelope::{Checkpoint, RecordedEvent};
use crate::error::Result;

/// A runner's hold on one partition of one reactor, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The reactor's name.
    pub reactor: String,
    /// The partition.
    pub partition: u32,
    /// The runner holding it.
    pub owner: String,
}

/// An event that failed every attempt, set aside so that the reactor could
/// go on.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkedEvent {
    /// The reactor it failed in.
    pub reactor: String,
    /// The event.
    pub event: RecordedEvent,
    /// The last error's message.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was parked (or last retried).
    pub parked_at: SystemTime,
}

/// Durable state of reactors, kept beside the events.
pub trait ReactorStore: Clone + Send + Sync + 'static {
    /// The stored checkpoint of a reactor's partition
    /// ([`Checkpoint::BEGINNING`] when there is none).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn load_checkpoint(
        &self,
        reactor: &str,
        partition: u32,
    ) -> impl Future<Output = Result<Checkpoint>> + Send;

    /// Stores a checkpoint, only while `lease` is still held. Returns
    /// whether it was stored (false: the lease was lost to another runner).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn save_checkpoint(
        &self,
        lease: &Lease,
        checkpoint: Checkpoint,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Takes the lease of a partition for `ttl`, or renews it when `owner`
    /// holds it already; `None` while another owner's lease runs.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        owner: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;

    /// Gives a lease up, so that another runner can take it at once.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn release_lease(&self, lease: &Lease) -> impl Future<Output = Result<()>> + Send;

    /// The owner of a partition's running lease, if any.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn lease_holder(
        &self,
        reactor: &str,
        partition: u32,
    ) -> impl Future<Output = Result<Option<String>>> + Send;

    /// Marks `owner` as a live runner of `reactor` for `ttl`, and returns
    /// how many live runners the reactor has, this one included: each runner
    /// holds at most its share of the partitions.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<u32>> + Send;

    /// Removes `owner` from the live runners of `reactor`, so that the others
    /// take its share at once.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn leave(&self, reactor: &str, owner: &str) -> impl Future<Output = Result<()>> + Send;

    /// Parks an event (or updates its error and attempts if parked already).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn park(&self, parked: ParkedEvent) -> impl Future<Output = Result<()>> + Send;

    /// A reactor's parked events, oldest event first.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn parked(&self, reactor: &str) -> impl Future<Output = Result<Vec<ParkedEvent>>> + Send;

    /// Removes a parked event (skipped, or handled on retry). Returns
    /// whether it was parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn unpark(&self, reactor: &str, position: u64) -> impl Future<Output = Result<bool>> + Send;
}
