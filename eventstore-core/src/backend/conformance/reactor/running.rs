//! Runners in the background, stopped gracefully or killed.

use std::time::Duration;

use crate::Tracker;
use crate::reactor::{Reactor, ReactorStore, Runner, RunnerOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Options that keep tests fast: short polls, leases and backoffs.
pub fn fast(owner: &str) -> RunnerOptions {
    RunnerOptions::default()
        .owner(owner)
        .poll_interval(Duration::from_millis(50))
        .lease_ttl(Duration::from_millis(500))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
}

/// The lease of [`steady`]: a renewal may come about 1.3 s late (a loaded
/// machine, a slow commit) before the lease lapses.
pub const STEADY_LEASE: Duration = Duration::from_secs(2);

/// [`fast`] with a [`STEADY_LEASE`], for the cases whose runner must stay
/// live through a handler longer than its lease: with [`fast`]'s 500 ms
/// lease, a renewal a third of a second late lapsed it under CI load.
pub fn steady(owner: &str) -> RunnerOptions {
    fast(owner).lease_ttl(STEADY_LEASE)
}

/// A runner running in a task of its own.
#[derive(Debug)]
pub struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<crate::Result<()>>,
}

impl Running {
    /// Starts `runner`.
    pub fn start<S, R>(runner: Runner<S, R>) -> Self
    where
        S: Tracker + ReactorStore,
        R: Reactor,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        Self { stop, task }
    }

    /// Asks it to stop and waits (at most 10 s) until it has.
    ///
    /// # Panics
    /// When it does not stop in time, or its run ended with an error.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the runner stops within 10 s")
            .expect("the runner task")
            .expect("the run ends without an error");
    }

    /// Waits (at most `limit`) for the run to end by itself; what it ended
    /// with.
    ///
    /// # Panics
    /// When it does not end in time.
    pub async fn ended(self, limit: Duration) -> crate::Result<()> {
        tokio::time::timeout(limit, self.task)
            .await
            .expect("the run ends in time")
            .expect("the runner task")
    }

    /// Kills it at once, like a crashed process: no checkpoint, no release.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
