//! The [`ReactorStore`] impl of [`MemoryStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use super::MemoryStore;
use crate::envelope::Checkpoint;
use crate::error::Result;
use crate::forget::{ERASED_ERROR, ForgetRequest, erase_fields};
use crate::reactor::{Lease, ParkedEvent, ReactorStore};

/// Reactor state, keyed by reactor name and partition.
#[derive(Debug, Default)]
pub(super) struct Reactors {
    checkpoints: HashMap<(String, u32), Checkpoint>,
    leases: HashMap<(String, u32), (String, Instant)>,
    runners: HashMap<(String, String), Instant>,
    parked: BTreeMap<(String, u64), ParkedEvent>,
}

impl Reactors {
    fn holder(&self, reactor: &str, partition: u32) -> Option<&str> {
        self.leases
            .get(&(reactor.to_owned(), partition))
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(owner, _)| owner.as_str())
    }
}

impl Reactors {
    /// Erases the request's fields from the parked copies of the
    /// aggregate's events, and their error text; how many changed.
    pub(super) fn forget(&mut self, request: &ForgetRequest) -> u64 {
        let mut changed = 0;
        for parked in self.parked.values_mut() {
            let event = &mut parked.event;
            if event.aggregate_kind != request.aggregate_kind
                || event.aggregate_id != request.aggregate_id
            {
                continue;
            }
            let erased = erase_fields(&mut event.body, request.fields_of(&event.kind));
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
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Checkpoint> {
        Ok(self
            .reactors()
            .checkpoints
            .get(&(reactor.to_owned(), partition))
            .copied()
            .unwrap_or_default())
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

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let mut reactors = self.reactors();
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

    async fn heartbeat(&self, reactor: &str, owner: &str, ttl: Duration) -> Result<u32> {
        let mut reactors = self.reactors();
        let now = Instant::now();
        reactors
            .runners
            .insert((reactor.to_owned(), owner.to_owned()), now + ttl);
        let live = reactors
            .runners
            .iter()
            .filter(|((r, _), expires)| r == reactor && **expires > now)
            .count();
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        self.reactors()
            .runners
            .remove(&(reactor.to_owned(), owner.to_owned()));
        Ok(())
    }

    async fn park(&self, mut parked: ParkedEvent) -> Result<()> {
        // The copy takes the body as the log holds it now, so that an event
        // forgotten while its handler failed is parked erased. The log's
        // lock is taken first, as forget takes it.
        let log = self.lock();
        if let Some(now) = log.event_at(parked.event.position) {
            parked.event.body.clone_from(&now.body);
        }
        self.reactors()
            .parked
            .insert((parked.reactor.clone(), parked.event.position), parked);
        drop(log);
        Ok(())
    }

    async fn parked(&self, reactor: &str) -> Result<Vec<ParkedEvent>> {
        Ok(self
            .reactors()
            .parked
            .range((reactor.to_owned(), 0)..=(reactor.to_owned(), u64::MAX))
            .map(|(_, parked)| parked.clone())
            .collect())
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        Ok(self
            .reactors()
            .parked
            .remove(&(reactor.to_owned(), position))
            .is_some())
    }
}
