//! Live runners and partition counts: heartbeats, joins (with the
//! re-partitioning of a reactor whose count changed), resets and leaves,
//! on the reactor's entry.
//!
//! A join or reset rewrites the partition entries first and stores the
//! reactor's count last: when it stops between the two, the next join
//! finds the old count still stored and re-partitions again from the
//! rewritten checkpoints, the lowest of which is never above the one it
//! started from (events are delivered again, never skipped).

use std::collections::BTreeMap;
use std::time::Duration;

use eventstore_core::backend::{Joined, Repartitioned, repartition_from};
use eventstore_core::{Checkpoint, Error, Result};

use super::KvReactors;
use super::entries::{PartitionEntry, ReactorEntry, reactor_key};
use crate::kv::{Change, millis_after};

/// How many times a join or reset reads everything again when the
/// reactor's entry changed under it.
const MAX_ROUNDS: usize = 50;

/// The stored checkpoints among partition entries.
fn checkpoints(entries: &BTreeMap<u32, PartitionEntry>) -> BTreeMap<u32, Checkpoint> {
    entries
        .iter()
        .filter_map(|(p, e)| e.checkpoint.map(|c| (*p, Checkpoint::from(c))))
        .collect()
}

/// The error of a join or reset that lost every race for the reactor's
/// entry.
fn busy(reactor: &str) -> Error {
    Error::transient(
        format!("the entry of reactor {reactor:?} changed under each of {MAX_ROUNDS} rounds"),
        "compare-and-set lost every race",
    )
}

impl KvReactors {
    /// Marks `owner` live for `ttl`; how many runners are live.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        let (live, _) = self
            .state
            .change(&reactor_key(reactor), |entry: Option<ReactorEntry>| {
                let mut entry = entry.unwrap_or_default();
                let live = entry.beat(owner, partitions, millis_after(ttl));
                Ok(Change::Put(entry, live))
            })
            .await?;
        Ok(live)
    }

    /// Removes `owner` from the live runners.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        self.state
            .change(&reactor_key(reactor), |entry: Option<ReactorEntry>| {
                let Some(mut entry) = entry else {
                    return Ok(Change::Keep(()));
                };
                Ok(match entry.runners.remove(owner) {
                    Some(_) => Change::Put(entry, ()),
                    None => Change::Keep(()),
                })
            })
            .await?;
        Ok(())
    }

    /// Registers `owner` as a live runner of `reactor` in `partitions`,
    /// after checking the count, re-partitioning while no runner is live;
    /// see [`ReactorStore::join`](eventstore_core::reactor::ReactorStore::join).
    ///
    /// # Errors
    /// [`Error::PartitionCountMismatch`], [`Error::Backend`].
    pub async fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Joined> {
        let key = reactor_key(reactor);
        for _ in 0..MAX_ROUNDS {
            let entry: ReactorEntry = self.state.get(&key).await?.unwrap_or_default();
            let stored = entry.partitions;
            let parts = self.partitions_of(reactor).await?;
            let other = entry
                .others(owner)
                .find(|beat| beat.partitions != partitions)
                .map(|beat| beat.partitions)
                .or_else(|| {
                    // a runner whose heartbeat lapsed but whose lease runs
                    stored.filter(|s| *s != partitions && Self::lease_holders(&parts, owner) > 0)
                });
            if let Some(running) = other {
                return Err(Error::PartitionCountMismatch {
                    reactor: reactor.to_owned(),
                    running,
                    requested: partitions,
                });
            }
            let old = checkpoints(&parts);
            let repartitioned =
                repartition_from(stored, &old, partitions).map(|(from, start)| Repartitioned {
                    from,
                    to: partitions,
                    checkpoint: start,
                });
            if let Some(change) = repartitioned {
                let to = (!old.is_empty()).then_some(change.checkpoint);
                self.rewrite_partitions(reactor, parts.keys().copied(), partitions, to)
                    .await?;
            }
            let (live, _) = self
                .state
                .change(&key, |now: Option<ReactorEntry>| {
                    let mut now = now.unwrap_or_default();
                    if now.partitions != stored
                        || now.others(owner).any(|b| b.partitions != partitions)
                    {
                        // another join or a runner of another count came
                        // between: everything is read again
                        return Ok(Change::Keep(None));
                    }
                    now.partitions = Some(partitions);
                    let live = now.beat(owner, partitions, millis_after(ttl));
                    Ok(Change::Put(now, Some(live)))
                })
                .await?;
            if let Some(live) = live {
                return Ok(Joined {
                    live,
                    repartitioned,
                });
            }
        }
        Err(busy(reactor))
    }

    /// Replaces every checkpoint of `reactor` with `to` for `partitions`,
    /// stores the count and drops the leases, while no runner is live.
    ///
    /// The partitions are rewritten before the count is stored: a runner
    /// that starts between the two makes the reset fail with
    /// [`Error::RunnersLive`] although its checkpoints were rewritten (the
    /// runner lost its lease to the rewrite and takes the partition afresh,
    /// from them); nothing is skipped either way.
    ///
    /// # Errors
    /// [`Error::RunnersLive`], [`Error::Backend`].
    pub async fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> Result<()> {
        let key = reactor_key(reactor);
        for _ in 0..MAX_ROUNDS {
            let entry: ReactorEntry = self.state.get(&key).await?.unwrap_or_default();
            let parts = self.partitions_of(reactor).await?;
            let beating = u32::try_from(entry.others("").count()).unwrap_or(u32::MAX);
            let live = beating.max(Self::lease_holders(&parts, ""));
            if live > 0 {
                return Err(Error::RunnersLive {
                    reactor: reactor.to_owned(),
                    live,
                });
            }
            self.rewrite_partitions(reactor, parts.keys().copied(), partitions, Some(to))
                .await?;
            let (stored, _) = self
                .state
                .change(&key, |now: Option<ReactorEntry>| {
                    let mut now = now.unwrap_or_default();
                    if now.others("").next().is_some() {
                        // a runner started meanwhile: read again
                        return Ok(Change::Keep(false));
                    }
                    now.partitions = Some(partitions);
                    Ok(Change::Put(now, true))
                })
                .await?;
            if stored {
                return Ok(());
            }
        }
        Err(busy(reactor))
    }
}
