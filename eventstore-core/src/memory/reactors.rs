//! The [`ReactorStore`] impl of [`MemoryStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;
use std::time::Duration;

use tokio::time::Instant;

use super::MemoryStore;
use crate::envelope::Checkpoint;
use crate::error::{Error, Result};
use crate::forget::{ERASED_ERROR, ForgetRequest, erase_body_fields};
use crate::reactor::store::{
    Joined, Lease, ParkedEvent, ReactorStore, Repartitioned, repartition_from,
};

/// A live runner: until when, and with how many partitions.
#[derive(Debug, Clone, Copy)]
struct Live {
    expires: Instant,
    partitions: u32,
}

/// Reactor state, keyed by reactor name and partition.
#[derive(Debug, Default)]
pub(super) struct Reactors {
    checkpoints: HashMap<(String, u32), Checkpoint>,
    partition_counts: HashMap<String, u32>,
    leases: HashMap<(String, u32), (String, Instant)>,
    runners: HashMap<(String, String), Live>,
    parked: BTreeMap<(String, u64), ParkedEvent>,
}

impl Reactors {
    fn holder(&self, reactor: &str, partition: u32) -> Option<&str> {
        self.leases
            .get(&(reactor.to_owned(), partition))
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(owner, _)| owner.as_str())
    }

    /// The live runners of `reactor` other than `owner`.
    fn others(&self, reactor: &str, owner: &str) -> impl Iterator<Item = &Live> {
        let now = Instant::now();
        self.runners
            .iter()
            .filter(move |((r, o), live)| r == reactor && o != owner && live.expires > now)
            .map(|(_, live)| live)
    }

    /// The owners other than `owner` that hold a running lease of `reactor`.
    fn lease_holders(&self, reactor: &str, owner: &str) -> usize {
        let now = Instant::now();
        self.leases
            .iter()
            .filter(|((r, _), (o, expires))| r == reactor && o != owner && *expires > now)
            .map(|(_, (o, _))| o)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Marks `owner` live for `ttl`; the live runners, it included.
    fn beat(&mut self, reactor: &str, owner: &str, partitions: u32, ttl: Duration) -> u32 {
        let live = Live {
            expires: Instant::now() + ttl,
            partitions,
        };
        self.runners
            .insert((reactor.to_owned(), owner.to_owned()), live);
        let others = self.others(reactor, owner).count();
        u32::try_from(others + 1).unwrap_or(u32::MAX)
    }

    /// The stored checkpoints of `reactor`, by partition.
    fn checkpoints_of(&self, reactor: &str) -> BTreeMap<u32, Checkpoint> {
        self.checkpoints
            .iter()
            .filter(|((r, _), _)| r == reactor)
            .map(|((_, p), c)| (*p, *c))
            .collect()
    }

    /// Replaces the reactor's checkpoints with `to` for each of
    /// `partitions` (none when `to` is `None`), stores the count, drops the
    /// leases.
    fn rewrite(&mut self, reactor: &str, partitions: u32, to: Option<Checkpoint>) {
        self.checkpoints.retain(|(r, _), _| r != reactor);
        self.leases.retain(|(r, _), _| r != reactor);
        if let Some(to) = to {
            for partition in 0..partitions {
                self.checkpoints.insert((reactor.to_owned(), partition), to);
            }
        }
        self.partition_counts.insert(reactor.to_owned(), partitions);
    }

    /// Erases the request's fields from the parked copies of the
    /// aggregate's events, and their error text; how many changed.
    pub(super) fn forget(&mut self, request: &ForgetRequest) -> u64 {
        let mut changed = 0;
        for parked in self.parked.values_mut() {
            let Some(event) = &mut parked.event else {
                continue;
            };
            if event.aggregate_kind != request.aggregate_kind
                || request.aggregate_id != *event.aggregate_id
            {
                continue;
            }
            let erased = erase_body_fields(
                &mut event.body,
                request.fields_of(&event.kind, event.schema_version),
            );
            let quoted = parked.error != ERASED_ERROR;
            if quoted {
                ERASED_ERROR.clone_into(&mut parked.error);
            }
            changed += u64::from(erased || quoted);
        }
        changed
    }
}

impl MemoryStore {
    pub(super) fn reactors(&self) -> MutexGuard<'_, Reactors> {
        self.reactors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ReactorStore for MemoryStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Option<Checkpoint>> {
        Ok(self
            .reactors()
            .checkpoints
            .get(&(reactor.to_owned(), partition))
            .copied())
    }

    async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        let mut reactors = self.reactors();
        if reactors.holder(&lease.reactor, lease.partition) != Some(lease.owner.as_str()) {
            return Ok(false);
        }
        reactors
            .checkpoints
            .insert((lease.reactor.clone(), lease.partition), checkpoint);
        Ok(true)
    }

    async fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Joined> {
        let mut reactors = self.reactors();
        let stored = reactors.partition_counts.get(reactor).copied();
        let other = reactors
            .others(reactor, owner)
            .find(|l| l.partitions != partitions)
            .map(|l| l.partitions)
            .or_else(|| {
                // a runner whose heartbeat lapsed but whose lease runs
                stored.filter(|s| *s != partitions && reactors.lease_holders(reactor, owner) > 0)
            });
        if let Some(running) = other {
            return Err(Error::PartitionCountMismatch {
                reactor: reactor.to_owned(),
                running,
                requested: partitions,
            });
        }
        let old = reactors.checkpoints_of(reactor);
        let mut repartitioned = None;
        match repartition_from(stored, &old, partitions) {
            Some((from, checkpoint)) => {
                reactors.rewrite(reactor, partitions, (!old.is_empty()).then_some(checkpoint));
                repartitioned = Some(Repartitioned {
                    from,
                    to: partitions,
                    checkpoint,
                });
            }
            _ => {
                reactors
                    .partition_counts
                    .insert(reactor.to_owned(), partitions);
            }
        }
        Ok(Joined {
            live: reactors.beat(reactor, owner, partitions, ttl),
            repartitioned,
        })
    }

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let mut reactors = self.reactors();
        match reactors.partition_counts.get(reactor) {
            Some(&stored) if stored != partitions => {
                return Err(Error::PartitionCountMismatch {
                    reactor: reactor.to_owned(),
                    running: stored,
                    requested: partitions,
                });
            }
            _ => {}
        }
        if reactors
            .holder(reactor, partition)
            .is_some_and(|holder| holder != owner)
        {
            return Ok(None);
        }
        reactors.leases.insert(
            (reactor.to_owned(), partition),
            (owner.to_owned(), Instant::now() + ttl),
        );
        Ok(Some(Lease {
            reactor: reactor.to_owned(),
            partition,
            owner: owner.to_owned(),
        }))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let mut reactors = self.reactors();
        if reactors.holder(&lease.reactor, lease.partition) != Some(lease.owner.as_str()) {
            return Ok(false);
        }
        reactors.leases.insert(
            (lease.reactor.clone(), lease.partition),
            (lease.owner.clone(), Instant::now() + ttl),
        );
        Ok(true)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let mut reactors = self.reactors();
        if reactors.holder(&lease.reactor, lease.partition) == Some(lease.owner.as_str()) {
            reactors
                .leases
                .remove(&(lease.reactor.clone(), lease.partition));
        }
        Ok(())
    }

    async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        Ok(self
            .reactors()
            .holder(reactor, partition)
            .map(str::to_owned))
    }

    async fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        Ok(self.reactors().beat(reactor, owner, partitions, ttl))
    }

    async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        self.reactors()
            .runners
            .remove(&(reactor.to_owned(), owner.to_owned()));
        Ok(())
    }

    async fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> Result<()> {
        let mut reactors = self.reactors();
        let live = reactors
            .others(reactor, "")
            .count()
            .max(reactors.lease_holders(reactor, ""));
        if live > 0 {
            return Err(Error::RunnersLive {
                reactor: reactor.to_owned(),
                live: u32::try_from(live).unwrap_or(u32::MAX),
            });
        }
        reactors.rewrite(reactor, partitions, Some(to));
        Ok(())
    }

    async fn park(&self, lease: &Lease, mut parked: ParkedEvent) -> Result<bool> {
        // The copy takes the body as the log holds it now, so that an event
        // forgotten while its handler failed is parked erased. The log's
        // lock is taken first, as forget takes it.
        let log = self.lock();
        if let (Some(now), Some(event)) = (log.event_at(parked.position), &mut parked.event) {
            event.body.clone_from(&now.body);
        }
        let mut reactors = self.reactors();
        if reactors.holder(&lease.reactor, lease.partition) != Some(lease.owner.as_str()) {
            return Ok(false);
        }
        let key = (parked.reactor.clone(), parked.position);
        if let Some(earlier) = reactors.parked.get(&key) {
            parked.attempts = parked.attempts.saturating_add(earlier.attempts);
        }
        reactors.parked.insert(key, parked);
        drop(reactors);
        drop(log);
        Ok(true)
    }

    async fn parked(
        &self,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<ParkedEvent>> {
        Ok(self
            .reactors()
            .parked
            .range(
                (reactor.to_owned(), after_position.saturating_add(1))
                    ..=(reactor.to_owned(), u64::MAX),
            )
            .take(limit)
            .map(|(_, parked)| parked.clone())
            .collect())
    }

    async fn parked_count(&self, reactor: &str) -> Result<u64> {
        let count = self
            .reactors()
            .parked
            .range((reactor.to_owned(), 0)..=(reactor.to_owned(), u64::MAX))
            .count();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn parked_event(&self, reactor: &str, position: u64) -> Result<Option<ParkedEvent>> {
        Ok(self
            .reactors()
            .parked
            .get(&(reactor.to_owned(), position))
            .cloned())
    }

    async fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> Result<bool> {
        let mut reactors = self.reactors();
        let key = (reactor.to_owned(), position);
        let Some(parked) = reactors.parked.get_mut(&key) else {
            return Ok(false);
        };
        if parked.attempts != attempts {
            return Ok(false);
        }
        match failure {
            Some(error) => {
                error.clone_into(&mut parked.error);
                parked.attempts += 1;
                parked.parked_at = std::time::SystemTime::now();
            }
            None => {
                reactors.parked.remove(&key);
            }
        }
        Ok(true)
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        Ok(self
            .reactors()
            .parked
            .remove(&(reactor.to_owned(), position))
            .is_some())
    }
}
