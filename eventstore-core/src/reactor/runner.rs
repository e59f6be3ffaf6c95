//! [`Runner`]: runs a reactor's partition loops and watches over them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::options::RunnerOptions;
use super::store::{Lease, ReactorStore};
use super::team::Team;
use super::{Reactor, pause};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, ErrorChain, Result};
use crate::tracker::Tracker;

/// Runs a [`Reactor`] over a store: each partition in its own loop, which
/// takes the partition's lease, reads a batch after its checkpoint, handles
/// the partition's events in order, and stores the checkpoint.
///
/// ```
/// use std::time::Duration;
/// use eventstore_core::reactor::{HandlerError, Reactor, Runner};
/// use eventstore_core::{EventBody, EventFilter, EventStore, MemoryStore, RecordedEvent};
/// use eventstore_core::backend::{AppendRequest, NewEvent};
///
/// struct Count(std::sync::atomic::AtomicUsize);
/// impl Reactor for Count {
///     fn name(&self) -> &str { "count" }
///     fn filter(&self) -> EventFilter { EventFilter::all() }
///     async fn handle(&self, _: &RecordedEvent) -> Result<(), HandlerError> {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let event = NewEvent::of("Opened", EventBody::empty());
/// store.append(AppendRequest::new("Account", "a".parse()?, 0).event(event)).await?;
/// let runner = Runner::new(store, Count(0.into()));
/// runner.run(tokio::time::sleep(Duration::from_millis(100))).await?;
/// assert_eq!(runner.reactor().0.load(std::sync::atomic::Ordering::SeqCst), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Runner<S, R> {
    pub(super) store: S,
    pub(super) reactor: Arc<R>,
    pub(super) options: RunnerOptions,
    pub(super) team: Arc<Team>,
    pub(super) clock: SharedClock,
}

impl<S: Clone, R> Clone for Runner<S, R> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            reactor: Arc::clone(&self.reactor),
            options: self.options.clone(),
            team: Arc::clone(&self.team),
            clock: Arc::clone(&self.clock),
        }
    }
}

/// Whether a partition loop's error ends the run: retrying cannot help.
pub(super) fn is_fatal(error: &Error) -> bool {
    matches!(
        error,
        Error::PartitionCountMismatch { .. } | Error::CheckpointAhead { .. }
    )
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
        Ok(self.team.share(&self.options))
    }

    /// Sends the heartbeat when a third of the lease time has passed since
    /// the last one: from the partition loops between batches, and from the
    /// supervisor, so that a runner in a long handler stays live.
    pub(super) async fn beat(&self) -> Result<()> {
        self.team
            .beat(&self.store, self.reactor.name(), &self.options)
            .await
    }

    /// A runner with [`RunnerOptions::default`].
    pub fn new(store: S, reactor: R) -> Self {
        Self {
            store,
            reactor: Arc::new(reactor),
            options: RunnerOptions::default(),
            team: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Takes the time from `clock` (the machine's by default) to find what
    /// the reactor has due ([`Reactor::fire_due`]) and to sleep until then:
    /// give the reactor the same clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the options (checked when the runner runs:
    /// [`RunnerOptions::validate`]).
    #[must_use]
    pub fn options(mut self, options: RunnerOptions) -> Self {
        self.options = options;
        self
    }

    /// The reactor.
    pub fn reactor(&self) -> &R {
        &self.reactor
    }

    /// Runs every partition until `shutdown` completes, then finishes the
    /// event in hand, stores the checkpoint and releases the leases.
    ///
    /// Store failures are logged and retried; they never end the run. A
    /// partition loop that panics (outside a handler, whose panics are
    /// handler failures) releases its lease and is started again. Dropping
    /// the future (aborting its task) stops every partition at once, like a
    /// crash: nothing more is checkpointed and the leases run out.
    ///
    /// # Errors
    /// Before anything runs: [`Error::InvalidOption`]. Ending the run:
    /// [`Error::PartitionCountMismatch`] (runners of another partition
    /// count are live, or the reactor was re-partitioned under this one),
    /// [`Error::CheckpointAhead`] (the database was restored from a dump).
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
        self.options.validate()?;
        let mut shutdown = std::pin::pin!(shutdown);
        let outcome = tokio::select! {
            joined = self.join() => match joined {
                Ok(()) => self.supervise(&mut shutdown).await,
                Err(error) => Err(error),
            },
            () = &mut shutdown => Ok(()),
        };
        if let Err(error) = self
            .store
            .leave(self.reactor.name(), &self.options.owner)
            .await
        {
            tracing::warn!(reactor = self.reactor.name(), error = %ErrorChain(&error), "cannot deregister the runner");
        }
        outcome
    }

    /// Registers the runner with its partition count, retrying store
    /// failures.
    async fn join(&self) -> Result<()> {
        let (name, options) = (self.reactor.name(), &self.options);
        loop {
            match self
                .store
                .join(name, &options.owner, options.partitions, options.lease_ttl)
                .await
            {
                Ok(joined) => {
                    if let Some(r) = joined.repartitioned {
                        tracing::warn!(
                            reactor = name,
                            from = r.from,
                            to = r.to,
                            checkpoint = ?r.checkpoint,
                            "re-partitioned: every partition starts at the lowest old checkpoint; \
                             the events after it are delivered again"
                        );
                    }
                    self.team.joined(joined.live);
                    return Ok(());
                }
                Err(error) if is_fatal(&error) => return Err(error),
                Err(error) => {
                    tracing::warn!(reactor = name, error = %ErrorChain(&error), "cannot join; retrying");
                    tokio::time::sleep(options.poll_interval).await;
                }
            }
        }
    }

    /// Runs the partition loops until `shutdown` or a fatal error, and
    /// sends the runner's heartbeat every third of the lease time; starts a
    /// loop that panicked again, after releasing its lease, with the
    /// backoff of a failing handler.
    async fn supervise(&self, shutdown: &mut (impl Future<Output = ()> + Unpin)) -> Result<()> {
        let name = self.reactor.name();
        let (stop, stopped) = watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        let mut partitions = HashMap::new();
        let mut deaths: HashMap<u32, u32> = HashMap::new();
        for partition in 0..self.options.partitions {
            let id = self.spawn_loop(&mut loops, partition, &stopped, Duration::ZERO);
            partitions.insert(id, partition);
        }
        let mut beat = tokio::time::interval(self.options.lease_ttl / 3);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut outcome = Ok(());
        loop {
            let ended = tokio::select! {
                () = &mut *shutdown => break,
                _ = beat.tick() => {
                    if let Err(error) = self.beat().await {
                        tracing::warn!(reactor = name, error = %ErrorChain(&error), "heartbeat failed; retrying");
                    }
                    continue;
                }
                ended = loops.join_next_with_id() => ended,
            };
            match ended {
                None => break,
                Some(Ok((_, Ok(())))) => {}
                Some(Ok((_, Err(error)))) => {
                    tracing::error!(reactor = name, error = %ErrorChain(&error), "stopping the runner");
                    outcome = Err(error);
                    break;
                }
                Some(Err(failed)) => {
                    let Some(partition) = partitions.remove(&failed.id()) else {
                        continue;
                    };
                    tracing::error!(reactor = name, partition, error = %failed, "partition loop died; restarting it");
                    self.team.held().remove(&partition);
                    let lease = Lease {
                        reactor: name.to_owned(),
                        partition,
                        owner: self.options.owner.clone(),
                    };
                    if let Err(error) = self.store.release_lease(&lease).await {
                        tracing::warn!(reactor = name, partition, error = %ErrorChain(&error), "cannot release lease");
                    }
                    let died = deaths.entry(partition).or_default();
                    *died += 1;
                    let delay = self.options.backoff_after(*died);
                    let id = self.spawn_loop(&mut loops, partition, &stopped, delay);
                    partitions.insert(id, partition);
                }
            }
        }
        let _ = stop.send(true);
        while let Some(ended) = loops.join_next().await {
            match ended {
                Err(failed) => {
                    tracing::error!(reactor = name, error = %failed, "partition loop died while stopping");
                }
                Ok(Err(error)) if outcome.is_ok() => outcome = Err(error),
                Ok(_) => {}
            }
        }
        outcome
    }

    /// Starts partition `partition`'s loop after `delay`.
    fn spawn_loop(
        &self,
        loops: &mut tokio::task::JoinSet<Result<()>>,
        partition: u32,
        stopped: &watch::Receiver<bool>,
        delay: Duration,
    ) -> tokio::task::Id {
        let runner = self.clone();
        let mut stopped = stopped.clone();
        loops
            .spawn(async move {
                if !delay.is_zero() && !pause(delay, &mut stopped).await {
                    return Ok(());
                }
                runner.run_partition(partition, stopped).await
            })
            .id()
    }
}
