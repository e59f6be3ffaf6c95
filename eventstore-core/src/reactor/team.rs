//! What the partition loops of one runner share: the partitions it holds,
//! and how many live runners the reactor has, so that each holds its share.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::store::ReactorStore;
use super::{Reactor, Runner};
use crate::error::Result;
use crate::tracker::Tracker;

/// The partitions one runner holds and its view of the live runners.
#[derive(Debug, Default)]
pub(super) struct Team {
    held: Mutex<BTreeSet<u32>>,
    live: AtomicU32,
    last_beat: Mutex<Option<Instant>>,
}

impl Team {
    /// The partitions held now.
    pub(super) fn held(&self) -> MutexGuard<'_, BTreeSet<u32>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the live count that joining returned, as a heartbeat sent now.
    pub(super) fn joined(&self, live: u32) {
        self.live.store(live, Ordering::Relaxed);
        *self
            .last_beat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether a heartbeat is due (and if so, takes it as sent now).
    fn beat_due(&self, every: Duration) -> bool {
        let mut last = self
            .last_beat
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// How many partitions this runner may hold: its share among the live
    /// runners, which a heartbeat every third of the lease time counts.
    pub(super) async fn share(&self) -> Result<u32> {
        self.beat().await?;
        let live = self.team.live.load(Ordering::Relaxed).max(1);
        Ok(self.options.partitions.div_ceil(live))
    }

    /// Sends the heartbeat when a third of the lease time has passed since
    /// the last one: from the partition loops between batches, and from the
    /// supervisor, so that a runner in a long handler stays live.
    pub(super) async fn beat(&self) -> Result<()> {
        let ttl = self.options.lease_ttl;
        if self.team.beat_due(ttl / 3) {
            let live = self
                .store
                .heartbeat(
                    self.reactor.name(),
                    &self.options.owner,
                    self.options.partitions,
                    ttl,
                )
                .await?;
            self.team.live.store(live, Ordering::Relaxed);
        }
        Ok(())
    }
}
