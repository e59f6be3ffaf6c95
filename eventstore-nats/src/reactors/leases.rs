//! Checkpoints and leases: each partition's entry holds both, so that a
//! checkpoint is stored only by the lease's holder, by one compare-and-set.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use eventstore_core::backend::Lease;
use eventstore_core::{Checkpoint, Error, Result};

use super::KvReactors;
use super::entries::{
    PartitionEntry, ReactorEntry, StoredLease, partition_key, partition_of_key, partitions_filter,
    reactor_key,
};
use crate::kv::{Change, millis_after};

/// The error of a runner whose count is not the reactor's.
fn mismatch(reactor: &str, running: u32, requested: u32) -> Error {
    Error::PartitionCountMismatch {
        reactor: reactor.to_owned(),
        running,
        requested,
    }
}

impl KvReactors {
    /// The stored checkpoint of a reactor's partition.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn load_checkpoint(
        &self,
        reactor: &str,
        partition: u32,
    ) -> Result<Option<Checkpoint>> {
        let entry: Option<PartitionEntry> =
            self.state.get(&partition_key(reactor, partition)).await?;
        Ok(entry.and_then(|e| e.checkpoint).map(Checkpoint::from))
    }

    /// Stores a checkpoint only while `lease` is held; whether it did.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        let key = partition_key(&lease.reactor, lease.partition);
        let (saved, _) = self
            .state
            .change(&key, |entry: Option<PartitionEntry>| {
                Ok(match entry {
                    Some(mut entry) if entry.held_by(&lease.owner) => {
                        entry.checkpoint = Some(checkpoint.into());
                        Change::Put(entry, true)
                    }
                    _ => Change::Keep(false),
                })
            })
            .await?;
        Ok(saved)
    }

    /// Takes (or renews) the lease of a partition for `ttl`; `None` while
    /// another owner's runs.
    ///
    /// # Errors
    /// [`Error::PartitionCountMismatch`] when the reactor or the partition
    /// is of another count, [`Error::Backend`].
    pub async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let stored: Option<ReactorEntry> = self.state.get(&reactor_key(reactor)).await?;
        let counted = match stored.and_then(|e| e.partitions) {
            Some(running) if running != partitions => {
                return Err(mismatch(reactor, running, partitions));
            }
            Some(_) => true,
            None => false,
        };
        // a re-partition writes its count into every partition's entry
        // before the reactor's: a runner that read the old count above
        // meets the new one here
        let (taken, _) = self
            .state
            .change(
                &partition_key(reactor, partition),
                |entry: Option<PartitionEntry>| {
                    let mut entry = entry.unwrap_or_default();
                    if let Some(running) = entry.partitions.filter(|_| counted) {
                        if running != partitions {
                            return Err(mismatch(reactor, running, partitions));
                        }
                    }
                    if entry.holder().is_some_and(|holder| holder != owner) {
                        return Ok(Change::Keep(false));
                    }
                    entry.partitions = Some(partitions);
                    entry.lease = Some(StoredLease {
                        owner: owner.to_owned(),
                        until_ms: millis_after(ttl),
                    });
                    Ok(Change::Put(entry, true))
                },
            )
            .await?;
        Ok(taken.then(|| Lease {
            reactor: reactor.to_owned(),
            partition,
            owner: owner.to_owned(),
        }))
    }

    /// Extends a lease still held by `ttl` from now; false when it is lost.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let key = partition_key(&lease.reactor, lease.partition);
        let (renewed, _) = self
            .state
            .change(&key, |entry: Option<PartitionEntry>| {
                Ok(match entry {
                    Some(mut entry) if entry.held_by(&lease.owner) => {
                        entry.lease = Some(StoredLease {
                            owner: lease.owner.clone(),
                            until_ms: millis_after(ttl),
                        });
                        Change::Put(entry, true)
                    }
                    _ => Change::Keep(false),
                })
            })
            .await?;
        Ok(renewed)
    }

    /// Gives a lease up, if still held.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let key = partition_key(&lease.reactor, lease.partition);
        self.state
            .change(&key, |entry: Option<PartitionEntry>| {
                Ok(match entry {
                    Some(mut entry) if entry.held_by(&lease.owner) => {
                        entry.lease = None;
                        Change::Put(entry, ())
                    }
                    _ => Change::Keep(()),
                })
            })
            .await?;
        Ok(())
    }

    /// The owner of a partition's running lease.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        let entry: Option<PartitionEntry> =
            self.state.get(&partition_key(reactor, partition)).await?;
        Ok(entry.and_then(|e| e.holder().map(str::to_owned)))
    }

    /// Every partition entry of a reactor, by partition.
    pub(super) async fn partitions_of(
        &self,
        reactor: &str,
    ) -> Result<BTreeMap<u32, PartitionEntry>> {
        let mut found = BTreeMap::new();
        for latest in self.state.latest(&partitions_filter(reactor)).await? {
            if let Some(partition) = partition_of_key(&latest.key) {
                let entry = self.state.decode(&latest.key, &latest.value)?;
                found.insert(partition, entry);
            }
        }
        Ok(found)
    }

    /// How many owners other than `owner` hold a running lease of one of
    /// these partitions.
    pub(super) fn lease_holders(entries: &BTreeMap<u32, PartitionEntry>, owner: &str) -> u32 {
        let holders: BTreeSet<&str> = entries
            .values()
            .filter_map(PartitionEntry::holder)
            .filter(|holder| *holder != owner)
            .collect();
        u32::try_from(holders.len()).unwrap_or(u32::MAX)
    }

    /// Rewrites a reactor's partition entries for `partitions`: those below
    /// it start at `to` (have none with `None`), with no lease, of the new
    /// count; those above are deleted. Each by compare-and-set, so that a
    /// lease taken meanwhile is dropped too.
    pub(super) async fn rewrite_partitions(
        &self,
        reactor: &str,
        old: impl IntoIterator<Item = u32>,
        partitions: u32,
        to: Option<Checkpoint>,
    ) -> Result<()> {
        let stale: Vec<u32> = old.into_iter().filter(|p| *p >= partitions).collect();
        for partition in stale {
            self.state
                .change(
                    &partition_key(reactor, partition),
                    |_: Option<PartitionEntry>| Ok(Change::Delete(())),
                )
                .await?;
        }
        for partition in 0..partitions {
            let fresh = PartitionEntry {
                partitions: Some(partitions),
                checkpoint: to.map(Into::into),
                lease: None,
            };
            self.state
                .change(
                    &partition_key(reactor, partition),
                    |_: Option<PartitionEntry>| Ok(Change::Put(fresh.clone(), ())),
                )
                .await?;
        }
        Ok(())
    }
}
