//! [`ReactorStore`]: where runners keep checkpoints, leases and parked
//! events.

use std::collections::BTreeMap;
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
    /// The event's global position.
    pub position: u64,
    /// The event; `None` when its row cannot be read (the error says why).
    pub event: Option<RecordedEvent>,
    /// The last error's message.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When it was parked (or last retried).
    pub parked_at: SystemTime,
}

/// What [`ReactorStore::join`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// The live runners of the reactor, this one included.
    pub live: u32,
    /// The re-partitioning done because the stored checkpoints were of
    /// another partition count, if any.
    pub repartitioned: Option<Repartitioned>,
}

/// A change of a reactor's partition count, made while no runner was live:
/// every new partition starts at the lowest of the old checkpoints, so that
/// nothing is skipped (the events between are delivered again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repartitioned {
    /// The old count (for checkpoints stored before counts were, the count
    /// their partition numbers imply).
    pub from: u32,
    /// The new count.
    pub to: u32,
    /// Where every new partition starts.
    pub checkpoint: Checkpoint,
}

/// Where the partitions of a reactor re-partitioned from `from` partitions
/// start, given its stored checkpoints by partition: at the lowest, or at
/// the beginning when one of the old partitions never stored one (it had
/// delivered nothing). A helper for [`ReactorStore::join`].
///
/// ```
/// use std::collections::BTreeMap;
/// use eventstore_core::Checkpoint;
/// use eventstore_core::backend::lowest_checkpoint;
/// let at = |position| Checkpoint { tx: position, position };
/// let old = BTreeMap::from([(0, at(9)), (1, at(4))]);
/// assert_eq!(lowest_checkpoint(&old, 2), at(4));
/// assert_eq!(lowest_checkpoint(&old, 3), Checkpoint::BEGINNING);
/// ```
#[must_use]
pub fn lowest_checkpoint(old: &BTreeMap<u32, Checkpoint>, from: u32) -> Checkpoint {
    (0..from)
        .map(|p| old.get(&p).copied().unwrap_or(Checkpoint::BEGINNING))
        .min()
        .unwrap_or(Checkpoint::BEGINNING)
}

/// Whether a reactor must be re-partitioned to run with `partitions`, and
/// if so from which count and where every new partition starts, given its
/// stored count (`None` for checkpoints stored before counts were) and its
/// stored checkpoints by partition. A helper for [`ReactorStore::join`].
///
/// Without a stored count, checkpoints numbered exactly `0..partitions`
/// are taken as of the same count; otherwise the old count is what their
/// numbers imply, and since a partition that never stored a checkpoint may
/// have delivered nothing, every new partition starts at the lowest
/// checkpoint of all of them, a missing one being the beginning: events
/// are delivered again rather than skipped.
///
/// ```
/// use std::collections::BTreeMap;
/// use eventstore_core::Checkpoint;
/// use eventstore_core::backend::repartition_from;
/// let at = |position| Checkpoint { tx: position, position };
/// let old = BTreeMap::from([(0, at(9)), (1, at(4))]);
/// assert_eq!(repartition_from(Some(2), &old, 2), None);
/// assert_eq!(repartition_from(Some(2), &old, 1), Some((2, at(4))));
/// assert_eq!(repartition_from(None, &old, 2), None);
/// assert_eq!(repartition_from(None, &old, 3), Some((2, Checkpoint::BEGINNING)));
/// ```
#[must_use]
pub fn repartition_from(
    stored: Option<u32>,
    old: &BTreeMap<u32, Checkpoint>,
    partitions: u32,
) -> Option<(u32, Checkpoint)> {
    match stored {
        Some(from) if from != partitions => Some((from, lowest_checkpoint(old, from))),
        Some(_) => None,
        None => {
            let implied = old.keys().last().map(|highest| highest + 1)?;
            let complete = old.len() == usize::try_from(implied).unwrap_or(usize::MAX);
            if implied == partitions && complete {
                return None;
            }
            Some((implied, lowest_checkpoint(old, implied.max(partitions))))
        }
    }
}

/// Durable state of reactors, kept beside the events.
pub trait ReactorStore: Clone + Send + Sync + 'static {
    /// The stored checkpoint of a reactor's partition, `None` when it has
    /// none (a stored [`Checkpoint::BEGINNING`] is one: a runner that
    /// starts at the end jumps only over a partition that never stored one).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn load_checkpoint(
        &self,
        reactor: &str,
        partition: u32,
    ) -> impl Future<Output = Result<Option<Checkpoint>>> + Send;

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

    /// Registers `owner` as a live runner of `reactor` split into
    /// `partitions`, as [`heartbeat`](Self::heartbeat) does, after checking
    /// the count, atomically: refused while a live runner (one whose
    /// heartbeat or lease runs) has another count; when the stored
    /// checkpoints are of another count and no runner is live, re-partitions
    /// them (see [`Repartitioned`]), drops every
    /// lease of the reactor and stores the new count.
    ///
    /// # Errors
    /// [`Error::PartitionCountMismatch`](crate::Error::PartitionCountMismatch),
    /// [`Error::Backend`](crate::Error::Backend).
    fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> impl Future<Output = Result<Joined>> + Send;

    /// Takes the lease of partition `partition` of `partitions` for `ttl`,
    /// or renews it when `owner` holds it already; `None` while another
    /// owner's lease runs. A runner that holds a lease renews it with
    /// [`renew_lease`](Self::renew_lease), which never takes it anew.
    ///
    /// # Errors
    /// [`Error::PartitionCountMismatch`](crate::Error::PartitionCountMismatch)
    /// when the reactor's stored count is not `partitions` (a runner that
    /// stalled while the reactor was re-partitioned),
    /// [`Error::Backend`](crate::Error::Backend).
    fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;

    /// Extends a lease that `lease.owner` still holds by `ttl` from now.
    /// Returns false, changing nothing, when it ran out or is gone (another
    /// runner took it, a reset or re-partition dropped it): the runner has
    /// lost it, and takes the partition afresh, checkpoint included.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool>> + Send;

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

    /// Marks `owner` as a live runner of `reactor`, split into
    /// `partitions`, for `ttl`, and returns how many live runners the
    /// reactor has, this one included: each runner holds at most its share
    /// of the partitions.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> impl Future<Output = Result<u32>> + Send;

    /// Replaces every stored checkpoint of `reactor` with `to` for each of
    /// `partitions`, stores that count and drops the reactor's leases, while
    /// no runner of it is live (no heartbeat and no lease runs): what an
    /// operator does after a restore.
    ///
    /// # Errors
    /// [`Error::RunnersLive`](crate::Error::RunnersLive),
    /// [`Error::Backend`](crate::Error::Backend).
    fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Removes `owner` from the live runners of `reactor`, so that the others
    /// take its share at once.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn leave(&self, reactor: &str, owner: &str) -> impl Future<Output = Result<()>> + Send;

    /// Parks an event (or, if parked already, updates its error and adds
    /// its attempts, so that the count only grows),
    /// only while `lease` is still held. Returns whether it was parked
    /// (false: the lease was lost, and the event is the new holder's).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn park(&self, lease: &Lease, parked: ParkedEvent)
    -> impl Future<Output = Result<bool>> + Send;

    /// A reactor's parked events, oldest event first, from `after_position`
    /// on (exclusive), at most `limit`.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn parked(
        &self,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ParkedEvent>>> + Send;

    /// How many events of a reactor are parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn parked_count(&self, reactor: &str) -> impl Future<Output = Result<u64>> + Send;

    /// The parked event at `position`, if any.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn parked_event(
        &self,
        reactor: &str,
        position: u64,
    ) -> impl Future<Output = Result<Option<ParkedEvent>>> + Send;

    /// Records the outcome of an operator's retry of the parked event at
    /// `position`, only if it still has the `attempts` the retry read (no
    /// other retry or skip came between): handled, it is unparked; failed
    /// again, it keeps the new error and one attempt more. Returns whether
    /// it was recorded.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Removes a parked event (skipped). Returns whether it was parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn unpark(&self, reactor: &str, position: u64) -> impl Future<Output = Result<bool>> + Send;
}
