//! What the partition loops of one runner share: the partitions it holds,
//! and how many live runners the reactor has, so that each holds its share.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::options::RunnerOptions;
use super::store::ReactorStore;
use crate::error::Result;

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

    /// How many partitions a runner with `options` may hold: its share
    /// among the live runners, which [`beat`](Self::beat) counts.
    pub(super) fn share(&self, options: &RunnerOptions) -> u32 {
        let live = self.live.load(Ordering::Relaxed).max(1);
        options.partitions.div_ceil(live)
    }

    /// Sends the heartbeat of the runner `options.owner` of `reactor` when
    /// a third of the lease time has passed since the last one, and counts
    /// the live runners it returns.
    pub(super) async fn beat<S: ReactorStore>(
        &self,
        store: &S,
        reactor: &str,
        options: &RunnerOptions,
    ) -> Result<()> {
        let ttl = options.lease_ttl;
        if self.beat_due(ttl / 3) {
            let live = store
                .heartbeat(reactor, &options.owner, options.partitions, ttl)
                .await?;
            self.live.store(live, Ordering::Relaxed);
        }
        Ok(())
    }
}
