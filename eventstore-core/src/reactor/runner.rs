//! [`Runner`]: reads, handles, checkpoints, holds leases, retries, parks.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tracing::Instrument;

use super::options::{RunnerOptions, Start};
use super::status::{LAG_COUNT_LIMIT, PartitionStatus, ReactorStatus, age};
use super::store::{Lease, ParkedEvent, ReactorStore};
use super::{HandlerError, Reactor};
use crate::envelope::{Checkpoint, RecordedEvent};
use crate::error::Result;
use crate::error::error_chain;
use crate::tracker::{EventFilter, Partition, ReadPage, Tracker};
use crate::wakeups::Wakeups;

/// Runs a [`Reactor`] over a store: each partition in its own loop, which
/// takes the partition's lease, reads a batch after its checkpoint, handles
/// the partition's events in order, and stores the checkpoint.
///
/// ```
/// use std::time::Duration;
/// use eventstore_core::reactor::{HandlerError, Reactor, Runner};
/// use eventstore_core::{AppendRequest, EventFilter, EventStore, MemoryStore, NewEvent, RecordedEvent};
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
/// let event = NewEvent { kind: "Opened".into(), body: serde_json::json!({}) };
/// store.append(AppendRequest::new("Account", "a", 0).event(event)).await?;
/// let runner = Runner::new(store, Count(0.into()));
/// runner.run(tokio::time::sleep(Duration::from_millis(100))).await;
/// assert_eq!(runner.reactor().0.load(std::sync::atomic::Ordering::SeqCst), 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Runner<S, R> {
    store: S,
    reactor: Arc<R>,
    options: RunnerOptions,
    team: Arc<Team>,
}

/// What the partition loops of one runner share: the partitions it holds,
/// and how many live runners the reactor has, to hold only its share.
#[derive(Debug, Default)]
struct Team {
    held: std::sync::Mutex<std::collections::BTreeSet<u32>>,
    live: std::sync::atomic::AtomicU32,
    last_beat: std::sync::Mutex<Option<Instant>>,
}

impl Team {
    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<u32>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a heartbeat is due (and if so, takes it as sent now).
    fn beat_due(&self, every: Duration) -> bool {
        let mut last = self
            .last_beat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

impl<S: Clone, R> Clone for Runner<S, R> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            reactor: Arc::clone(&self.reactor),
            options: self.options.clone(),
            team: Arc::clone(&self.team),
        }
    }
}

/// What one step of a partition loop did.
enum Step {
    /// Handled a full batch: read again at once.
    Busy,
    /// Caught up, or not the lease holder: wait.
    Idle,
}

/// How the handling of one event ended.
enum Handling {
    /// Handled, or parked after its last attempt.
    Done,
    /// Stopped during a backoff: left for the next run.
    Stopped,
    /// The lease was lost meanwhile: another runner has the partition.
    LeaseLost,
}

/// The lease a partition loop holds, and where it is.
struct Held {
    lease: Lease,
    checkpoint: Checkpoint,
    renewed: Instant,
    /// The next page, read while the previous checkpoint was being stored.
    prefetched: Option<ReadPage>,
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// A runner with [`RunnerOptions::default`].
    pub fn new(store: S, reactor: R) -> Self {
        Self {
            store,
            reactor: Arc::new(reactor),
            options: RunnerOptions::default(),
            team: Arc::default(),
        }
    }

    /// Sets the options.
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
    /// event in hand, stores the checkpoint and releases the leases. Store
    /// failures are logged and retried; they never end the run. Dropping the
    /// future (aborting its task) stops every partition at once, like a
    /// crash: nothing more is checkpointed and the leases run out.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = watch::channel(false);
        let mut loops = tokio::task::JoinSet::new();
        for partition in 0..self.options.partitions {
            let runner = self.clone();
            let stopped = stopped.clone();
            loops.spawn(async move { runner.run_partition(partition, stopped).await });
        }
        shutdown.await;
        let _ = stop.send(true);
        while let Some(result) = loops.join_next().await {
            if let Err(error) = result {
                tracing::error!(reactor = self.reactor.name(), %error, "partition loop panicked");
            }
        }
        if let Err(error) = self
            .store
            .leave(self.reactor.name(), &self.options.owner)
            .await
        {
            tracing::warn!(reactor = self.reactor.name(), error = %error_chain(&error), "cannot deregister the runner");
        }
    }

    async fn run_partition(&self, partition: u32, mut stop: watch::Receiver<bool>) {
        // the store picks the partition's events out: a loop reads only its
        // own, not every partition's
        let filter = EventFilter {
            partition: self.partition(partition),
            ..self.reactor.filter()
        };
        let mut wakeups = self.store.wakeups();
        let mut held: Option<Held> = None;
        while !*stop.borrow() {
            match self.step(partition, &filter, &mut held, &mut stop).await {
                Ok(Step::Busy) => {}
                Ok(Step::Idle) => {
                    let wait = if held.is_some() {
                        self.options.poll_interval
                    } else {
                        self.options.lease_ttl / 2
                    };
                    wait_or_stop(&mut wakeups, wait, &mut stop).await;
                }
                Err(error) => {
                    tracing::warn!(reactor = self.reactor.name(), partition, error = %error_chain(&error), "reactor step failed; retrying");
                    self.let_go(partition, &mut held);
                    pause(self.options.poll_interval, &mut stop).await;
                }
            }
        }
        if let Some(held) = held {
            self.team.held().remove(&partition);
            if let Err(error) = self.store.release_lease(&held.lease).await {
                tracing::warn!(reactor = self.reactor.name(), partition, error = %error_chain(&error), "cannot release lease");
            }
        }
    }

    /// Makes sure the lease is held (taking it, or renewing it after a third
    /// of its time), loading the checkpoint when it is newly taken.
    async fn hold(&self, partition: u32, held: &mut Option<Held>) -> Result<bool> {
        let ttl = self.options.lease_ttl;
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
                if h.renewed.elapsed() < ttl / 3 {
                    return Ok(true);
                }
            }
            None if mine >= share as usize => return Ok(false),
            None => {}
        }
        let name = self.reactor.name();
        let renewed = Instant::now();
        match self
            .store
            .acquire_lease(name, partition, &self.options.owner, ttl)
            .await?
        {
            Some(lease) => {
                match held {
                    Some(h) => h.renewed = renewed,
                    None => {
                        let mut checkpoint = self.store.load_checkpoint(name, partition).await?;
                        if checkpoint == Checkpoint::BEGINNING && self.options.start == Start::End {
                            checkpoint = self.store.head().await?;
                            self.store.save_checkpoint(&lease, checkpoint).await?;
                        }
                        tracing::info!(reactor = name, partition, ?checkpoint, "lease taken");
                        self.team.held().insert(partition);
                        *held = Some(Held {
                            lease,
                            checkpoint,
                            renewed,
                            prefetched: None,
                        });
                    }
                }
                Ok(true)
            }
            None => {
                if held.is_some() {
                    tracing::warn!(reactor = name, partition, "lease lost to another runner");
                    self.let_go(partition, held);
                }
                Ok(false)
            }
        }
    }

    /// How many partitions this runner may hold: its share among the live
    /// runners, which a heartbeat every third of the lease time counts.
    async fn share(&self) -> Result<u32> {
        let ttl = self.options.lease_ttl;
        if self.team.beat_due(ttl / 3) {
            let live = self
                .store
                .heartbeat(self.reactor.name(), &self.options.owner, ttl)
                .await?;
            self.team
                .live
                .store(live, std::sync::atomic::Ordering::Relaxed);
        }
        let live = self
            .team
            .live
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        Ok(self.options.partitions.div_ceil(live))
    }

    /// Forgets a partition's lease (lost, given up, or failed).
    fn let_go(&self, partition: u32, held: &mut Option<Held>) {
        *held = None;
        self.team.held().remove(&partition);
    }

    async fn step(
        &self,
        partition: u32,
        filter: &EventFilter,
        held: &mut Option<Held>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Step> {
        if !self.hold(partition, held).await? {
            return Ok(Step::Idle);
        }
        let Some(state) = held.as_mut() else {
            return Ok(Step::Idle);
        };
        let page = match state.prefetched.take() {
            Some(page) => page,
            None => {
                self.store
                    .read_page(state.checkpoint, filter, self.options.batch_size)
                    .await?
            }
        };
        let events = &page.events;
        let span = tracing::debug_span!(
            "batch",
            reactor = self.reactor.name(),
            partition,
            events = events.len()
        );
        let mut reached = state.checkpoint;
        let mut finished = true;
        let mut lost = false;
        async {
            for event in events {
                if *stop.borrow() {
                    finished = false;
                    break;
                }
                match self
                    .handle_with_retries(partition, state, event, stop)
                    .await?
                {
                    Handling::Done => {}
                    Handling::Stopped => {
                        finished = false;
                        break;
                    }
                    Handling::LeaseLost => {
                        lost = true;
                        break;
                    }
                }
                reached = event.checkpoint();
            }
            Ok::<_, crate::Error>(())
        }
        .instrument(span)
        .await?;
        if lost {
            tracing::warn!(
                reactor = self.reactor.name(),
                partition,
                "lease lost while handling: the batch is left to the new holder"
            );
            self.let_go(partition, held);
            return Ok(Step::Idle);
        }
        if finished {
            // past the events of other partitions and kinds, which the page
            // looked at but did not return
            reached = reached.max(page.end);
        }
        let full = finished && page.more;
        if reached != state.checkpoint && events.is_empty() && !full {
            // nothing handled and caught up: the checkpoint moves on in
            // memory only, and is stored with the next batch handled (a
            // crash before that only scans these events again)
            state.checkpoint = reached;
            return Ok(Step::Idle);
        }
        if reached != state.checkpoint {
            // After a full page, the next one is read while the checkpoint
            // is stored: one round trip less per batch. Nothing of it is
            // handled before the checkpoint is stored, so a crash still
            // redoes at most one batch.
            let save = self.store.save_checkpoint(&state.lease, reached);
            let (saved, next) = if full {
                let read = self
                    .store
                    .read_page(reached, filter, self.options.batch_size);
                let (saved, next) = tokio::join!(save, read);
                (saved?, Some(next?))
            } else {
                (save.await?, None)
            };
            if saved {
                state.checkpoint = reached;
                state.prefetched = next;
            } else {
                tracing::warn!(
                    reactor = self.reactor.name(),
                    partition,
                    "lease lost before the checkpoint: the batch will be redone"
                );
                self.let_go(partition, held);
                return Ok(Step::Idle);
            }
        }
        Ok(if full { Step::Busy } else { Step::Idle })
    }

    /// Partition `index` of the runner's partitions; none when there is
    /// only one (every aggregate is in it, without hashing).
    fn partition(&self, index: u32) -> Option<Partition> {
        (self.options.partitions > 1).then_some(Partition {
            index,
            count: self.options.partitions,
        })
    }

    /// Handles one event, retrying with backoff, parking it after the last
    /// attempt. Returns false when stopped during a backoff (the event is
    /// then left for the next run).
    async fn handle_with_retries(
        &self,
        partition: u32,
        state: &mut Held,
        event: &RecordedEvent,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Handling> {
        let name = self.reactor.name();
        for attempt in 1..=self.options.max_attempts {
            let span = tracing::debug_span!("event", reactor = name, position = event.position, kind = %event.kind, attempt);
            let handled = self.reactor.handle(event).instrument(span);
            let (result, held) = self.holding(partition, state, handled).await;
            if !held {
                return Ok(Handling::LeaseLost);
            }
            let error: HandlerError = match result {
                Ok(()) => return Ok(Handling::Done),
                Err(error) => error,
            };
            let message = error_chain(error.as_ref());
            if attempt == self.options.max_attempts {
                tracing::warn!(reactor = name, position = event.position, attempt, error = %message, "parking the event");
                self.store
                    .park(ParkedEvent {
                        reactor: name.to_owned(),
                        event: event.clone(),
                        error: message,
                        attempts: attempt,
                        parked_at: SystemTime::now(),
                    })
                    .await?;
                return Ok(Handling::Done);
            }
            tracing::debug!(reactor = name, position = event.position, attempt, error = %message, "handler failed; retrying");
            let (waited, held) = self
                .holding(
                    partition,
                    state,
                    pause(self.options.backoff_after(attempt), stop),
                )
                .await;
            if !held {
                return Ok(Handling::LeaseLost);
            }
            if !waited {
                return Ok(Handling::Stopped);
            }
        }
        Ok(Handling::Done)
    }

    /// Runs `work` to its end while renewing the lease every third of its
    /// time, so that a slow handler or a long backoff keeps the partition.
    /// Returns the work's output and whether the lease is still held.
    async fn holding<T>(
        &self,
        partition: u32,
        state: &mut Held,
        work: impl Future<Output = T>,
    ) -> (T, bool) {
        let ttl = self.options.lease_ttl;
        let mut work = std::pin::pin!(work);
        // most handlers finish at their first poll: no timer for them
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(work.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(output) = first {
            return (output, true);
        }
        let mut held = true;
        let mut next_renewal = state.renewed + ttl / 3;
        loop {
            tokio::select! {
                biased;
                output = &mut work => return (output, held),
                () = tokio::time::sleep_until(next_renewal.into()), if held => {
                    let name = self.reactor.name();
                    match self.store.acquire_lease(name, partition, &self.options.owner, ttl).await {
                        Ok(Some(_)) => {
                            state.renewed = Instant::now();
                            next_renewal = state.renewed + ttl / 3;
                        }
                        Ok(None) => held = false,
                        Err(error) => {
                            tracing::warn!(reactor = name, partition, error = %error_chain(&error), "cannot renew the lease; trying again");
                            next_renewal = Instant::now() + ttl / 10;
                        }
                    }
                }
            }
        }
    }

    /// Where the reactor stands: per partition its checkpoint, lag and
    /// lease holder; the head, the parked count, and the open transaction
    /// that holds reading back, if any.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn status(&self) -> Result<ReactorStatus> {
        let name = self.reactor.name();
        let filter = self.reactor.filter();
        let mut checkpoints = Vec::new();
        for partition in 0..self.options.partitions {
            checkpoints.push(self.store.load_checkpoint(name, partition).await?);
        }
        // one read from the oldest checkpoint serves every partition
        let oldest = checkpoints.iter().min().copied().unwrap_or_default();
        let pending = self
            .store
            .read_after(oldest, &filter, LAG_COUNT_LIMIT)
            .await?;
        let mut partitions = Vec::new();
        for (partition, checkpoint) in (0..self.options.partitions).zip(checkpoints) {
            let part = self.partition(partition);
            let mut mine = pending.iter().filter(|e| {
                e.checkpoint() > checkpoint && part.is_none_or(|p| p.owns(&e.aggregate_id))
            });
            let first = mine.next();
            partitions.push(PartitionStatus {
                partition,
                checkpoint,
                lag_events: first.map_or(0, |_| 1 + mine.count()),
                lag: first.map_or(Duration::ZERO, |e| age(e.recorded_at)),
                lease_holder: self.store.lease_holder(name, partition).await?,
            });
        }
        Ok(ReactorStatus {
            reactor: name.to_owned(),
            head: self.store.head().await?,
            partitions,
            parked: self.store.parked(name).await?.len(),
            holdback: self.store.holdback().await?,
        })
    }

    /// The reactor's parked events.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn parked(&self) -> Result<Vec<ParkedEvent>> {
        self.store.parked(self.reactor.name()).await
    }

    /// Handles a parked event once more: on success it is unparked, on
    /// failure it stays parked with the new error and one more attempt.
    /// Returns `None` when no event at `position` is parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn retry_parked(&self, position: u64) -> Result<Option<Result<(), String>>> {
        let name = self.reactor.name();
        let Some(mut parked) = self
            .parked()
            .await?
            .into_iter()
            .find(|p| p.event.position == position)
        else {
            return Ok(None);
        };
        match self.reactor.handle(&parked.event).await {
            Ok(()) => {
                self.store.unpark(name, position).await?;
                Ok(Some(Ok(())))
            }
            Err(error) => {
                parked.error = error_chain(error.as_ref());
                parked.attempts += 1;
                parked.parked_at = SystemTime::now();
                let message = parked.error.clone();
                self.store.park(parked).await?;
                Ok(Some(Err(message)))
            }
        }
    }

    /// Drops a parked event without handling it. Returns whether it was
    /// parked.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    pub async fn skip_parked(&self, position: u64) -> Result<bool> {
        self.store.unpark(self.reactor.name(), position).await
    }
}

/// Waits `duration`; returns false if stopped meanwhile.
async fn pause(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        _ = stop.changed() => false,
    }
}

/// Waits for a wake-up signal, the timeout, or the stop.
async fn wait_or_stop(wakeups: &mut Wakeups, timeout: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = wakeups.wait(timeout) => {}
        _ = stop.changed() => {}
    }
}
