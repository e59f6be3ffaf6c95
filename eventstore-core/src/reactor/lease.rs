//! Holding a partition's lease: taking it, renewing it while work runs,
//! giving it up, and cancelling the work when it is lost.

use std::future::Future;
use std::task::Poll;
use std::time::SystemTime;

use tokio::time::Instant;

use super::store::{Lease, ReactorStore};
use super::{Reactor, Runner};
use crate::envelope::Checkpoint;
use crate::error::{Error, ErrorChain, Result};
use crate::tracker::{ReadPage, Tracker};

/// The lease a partition loop holds, and where it is.
pub(super) struct Held {
    pub(super) lease: Lease,
    pub(super) checkpoint: Checkpoint,
    /// When the lease was last taken or renewed: it runs until at least
    /// this plus the lease time (the store counts from later).
    pub(super) renewed: Instant,
    /// The next page, read while the previous checkpoint was being stored.
    pub(super) prefetched: Option<ReadPage>,
    /// When the reactor was last asked what is due ([`Reactor::fire_due`])
    /// on the runner's clock, and when it has something due next (`None`:
    /// nothing pending); `None` until it is asked.
    pub(super) next_due: Option<(SystemTime, Option<SystemTime>)>,
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// Makes sure the lease is held (taking it, or renewing it after a third
    /// of its time), loading the checkpoint when it is newly taken.
    pub(super) async fn hold(&self, partition: u32, held: &mut Option<Held>) -> Result<bool> {
        if held
            .as_ref()
            .is_some_and(|h| h.renewed.elapsed() >= self.options.lease_ttl)
        {
            // stalled past the lease: another runner may have moved the
            // checkpoint meanwhile, so it is taken afresh
            tracing::warn!(
                reactor = self.reactor.name(),
                partition,
                "lease ran out while stalled"
            );
            self.let_go(partition, held);
        }
        let share = self.share().await?;
        let mine = self.team.held().len();
        match held {
            Some(h) => {
                // over its share, a runner gives its highest partition up,
                // between batches, to a runner below its share
                let highest = self.team.held().last().copied();
                if mine > share as usize && highest == Some(partition) {
                    self.store.release_lease(&h.lease).await?;
                    tracing::info!(
                        reactor = self.reactor.name(),
                        partition,
                        share,
                        "lease given up to share the partitions"
                    );
                    self.let_go(partition, held);
                    return Ok(false);
                }
                if h.renewed.elapsed() < self.options.lease_ttl / 3 {
                    return Ok(true);
                }
            }
            None if mine >= share as usize => return Ok(false),
            None => {}
        }
        let renewed = Instant::now();
        if let Some(h) = held {
            if self
                .store
                .renew_lease(&h.lease, self.options.lease_ttl)
                .await?
            {
                h.renewed = renewed;
                return Ok(true);
            }
            tracing::warn!(
                reactor = self.reactor.name(),
                partition,
                "lease lost to another runner"
            );
            self.let_go(partition, held);
            return Ok(false);
        }
        let options = &self.options;
        let Some(lease) = self
            .store
            .acquire_lease(
                self.reactor.name(),
                partition,
                options.partitions,
                &options.owner,
                options.lease_ttl,
            )
            .await?
        else {
            return Ok(false);
        };
        *held = self.take(lease, renewed).await?;
        Ok(held.is_some())
    }

    /// Starts holding a newly taken lease: loads the checkpoint (at the
    /// head, for a partition that never stored one and a runner that starts
    /// at the end) and refuses one that the store could not have handed
    /// out. `None` when the lease was lost meanwhile.
    async fn take(&self, lease: Lease, renewed: Instant) -> Result<Option<Held>> {
        let (name, partition) = (self.reactor.name(), lease.partition);
        let checkpoint = match self.store.load_checkpoint(name, partition).await? {
            Some(stored) => {
                if let Some(next_tx) = self.store.ahead_of(stored).await? {
                    let _ = self.store.release_lease(&lease).await;
                    return Err(Error::CheckpointAhead {
                        reactor: name.to_owned(),
                        partition,
                        checkpoint_tx: stored.tx,
                        next_tx,
                    });
                }
                stored
            }
            None if self.options.start == super::Start::End => {
                let head = self.store.head().await?;
                if !self.store.save_checkpoint(&lease, head).await? {
                    return Ok(None);
                }
                head
            }
            None => Checkpoint::BEGINNING,
        };
        tracing::info!(reactor = name, partition, ?checkpoint, "lease taken");
        // what it learnt of the partition before may have changed while
        // another runner held it
        self.reactor.partition_taken(self.partition(partition));
        self.team.held().insert(partition);
        Ok(Some(Held {
            lease,
            checkpoint,
            renewed,
            prefetched: None,
            next_due: None,
        }))
    }

    /// Forgets a partition's lease (lost, given up, or failed).
    pub(super) fn let_go(&self, partition: u32, held: &mut Option<Held>) {
        *held = None;
        self.team.held().remove(&partition);
    }

    /// Runs `work` to its end while renewing the lease every third of its
    /// time, so that a slow handler or a long backoff keeps the partition.
    /// Returns `None`, having dropped (cancelled) the work, once the lease
    /// is lost or can no longer be renewed before it runs out: nothing the
    /// work would do after that may land while another runner holds the
    /// partition.
    pub(super) async fn holding<T>(
        &self,
        partition: u32,
        state: &mut Held,
        work: impl Future<Output = T>,
    ) -> Result<Option<T>> {
        let ttl = self.options.lease_ttl;
        if state.renewed.elapsed() >= ttl / 3 {
            // stalled (a paused process, a long batch): renew before acting
            let renewed = Instant::now();
            if !self.renew_in_time(partition, state).await? {
                return Ok(None);
            }
            state.renewed = renewed;
        }
        let mut work = std::pin::pin!(work);
        // most handlers finish at their first poll: no timer for them
        let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
        if let Poll::Ready(output) = first {
            return Ok(Some(output));
        }
        loop {
            tokio::select! {
                biased;
                output = &mut work => return Ok(Some(output)),
                () = tokio::time::sleep_until(state.renewed + ttl / 3) => {
                    let renewed = Instant::now();
                    if !self.renew_in_time(partition, state).await? {
                        return Ok(None);
                    }
                    state.renewed = renewed;
                }
            }
        }
    }

    /// Renews the lease before it runs out, retrying failures: false when
    /// it was lost or could not be renewed in time.
    async fn renew_in_time(&self, partition: u32, state: &Held) -> Result<bool> {
        let name = self.reactor.name();
        let ttl = self.options.lease_ttl;
        let expires = state.renewed + ttl;
        while Instant::now() < expires {
            let renewal = self.store.renew_lease(&state.lease, ttl);
            match tokio::time::timeout_at(expires, renewal).await {
                Ok(Ok(true)) => return Ok(true),
                Ok(Ok(false)) => {
                    tracing::warn!(
                        reactor = name,
                        partition,
                        "lease lost: cancelling the work in hand"
                    );
                    return Ok(false);
                }
                Ok(Err(error)) => {
                    tracing::warn!(reactor = name, partition, error = %ErrorChain(&error), "cannot renew the lease; trying again");
                    tokio::time::sleep_until(
                        expires.min(Instant::now() + self.options.lease_ttl / 10),
                    )
                    .await;
                }
                Err(_) => {}
            }
        }
        tracing::warn!(
            reactor = name,
            partition,
            "lease could not be renewed in time: cancelling the work in hand"
        );
        Ok(false)
    }
}
