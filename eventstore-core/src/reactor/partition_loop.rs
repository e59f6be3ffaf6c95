//! One partition's loop: hold the lease, read a page after the checkpoint,
//! handle it, store the checkpoint.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::watch;
use tracing::Instrument;

use super::lease::Held;
use super::retry::Handling;
use super::store::ReactorStore;
use super::{Reactor, Runner, pause};
use crate::envelope::Checkpoint;
use crate::error::{ErrorChain, Result};
use crate::partition::Partition;
use crate::tracker::{EventFilter, Tracker};
use crate::wakeups::Wakeups;

/// What one step of a partition loop did.
enum Step {
    /// Handled a full batch: read again at once.
    Busy,
    /// Caught up, or not the lease holder: wait.
    Idle,
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// Runs partition `partition` until stopped; returns the error that
    /// ends the run, if one does.
    pub(super) async fn run_partition(
        &self,
        partition: u32,
        mut stop: watch::Receiver<bool>,
    ) -> Result<()> {
        // the store picks the partition's events out: a loop reads only its
        // own, not every partition's
        let filter = EventFilter {
            partition: self.partition(partition),
            ..self.reactor.filter()
        };
        let mut wakeups = self.store.wakeups();
        let mut held: Option<Held> = None;
        let mut outcome = Ok(());
        while !*stop.borrow() {
            match self.step(partition, &filter, &mut held, &mut stop).await {
                Ok(Step::Busy) => {}
                Ok(Step::Idle) => {
                    if let Some(state) = held.as_mut() {
                        // what the batch just handled may have asked for
                        self.fire_due(partition, state).await;
                    }
                    let wait = if held.is_some() {
                        self.options.poll_interval
                    } else {
                        self.options.lease_ttl / 2
                    };
                    let due = held
                        .as_ref()
                        .and_then(|h| h.next_due.and_then(|(_, at)| at));
                    let due = due.map(|at| self.clock.sleep_until(at));
                    wait_or_stop(&mut wakeups, wait, due, &mut stop).await;
                }
                Err(error) if super::runner::is_fatal(&error) => {
                    outcome = Err(error);
                    break;
                }
                Err(error) => {
                    tracing::warn!(reactor = self.reactor.name(), partition, error = %ErrorChain(&error), "reactor step failed; retrying");
                    self.let_go(partition, &mut held);
                    pause(self.options.poll_interval, &mut stop).await;
                }
            }
        }
        if let Some(held) = held {
            self.team.held().remove(&partition);
            if let Err(error) = self.store.release_lease(&held.lease).await {
                tracing::warn!(reactor = self.reactor.name(), partition, error = %ErrorChain(&error), "cannot release lease");
            }
        }
        outcome
    }

    /// Partition `index` of the runner's partitions; none when there is
    /// only one (every aggregate is in it, without hashing).
    pub(super) fn partition(&self, index: u32) -> Option<Partition> {
        (self.options.partitions > 1).then_some(Partition {
            index,
            count: self.options.partitions,
        })
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
        self.fire_due(partition, state).await;
        let page = match state.prefetched.take() {
            Some(page) => page,
            None => {
                self.store
                    .read_page(state.checkpoint, filter, self.options.batch_size)
                    .await?
            }
        };
        let span = tracing::debug_span!(
            "batch",
            reactor = self.reactor.name(),
            partition,
            events = page.events.len()
        );
        let (reached, finished, lost) = self
            .handle_page(state, &page, stop)
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
        // past the events of other partitions and kinds, which the page
        // looked at but did not return
        let reached = if finished {
            reached.max(page.end)
        } else {
            reached
        };
        let full = finished && page.more;
        let handled_none = page.events.is_empty() && page.unreadable.is_empty();
        if !page.events.is_empty() {
            // the handlers may have asked for something due earlier
            state.next_due = None;
        }
        if reached != state.checkpoint && handled_none && !full {
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

    /// Lets the reactor do what is due ([`Reactor::fire_due`]) when it was
    /// not asked since it took the lease or handled a batch, when the time
    /// it gave came, or when the clock reads earlier than when it was asked
    /// (set back: the time it gave is on the old reading); a failure is
    /// logged and asked again after the poll interval.
    async fn fire_due(&self, partition: u32, state: &mut Held) {
        let now = self.clock.now();
        if state
            .next_due
            .is_some_and(|(asked, due)| asked <= now && due.is_none_or(|at| at > now))
        {
            return;
        }
        let next = match self.reactor.fire_due(self.partition(partition), now).await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(reactor = self.reactor.name(), partition, error = %ErrorChain(error.as_ref()), "firing what is due failed; retrying");
                Some(now + self.options.poll_interval)
            }
        };
        state.next_due = Some((now, next));
    }

    /// Handles a page's events and parks its unreadable rows, in commit
    /// order. Returns how far it got, whether it finished the page, and
    /// whether the lease was lost.
    async fn handle_page(
        &self,
        state: &mut Held,
        page: &crate::tracker::ReadPage,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(Checkpoint, bool, bool)> {
        let mut reached = state.checkpoint;
        let mut unreadable = page.unreadable.iter().peekable();
        let mut events = page.events.iter().peekable();
        loop {
            if *stop.borrow() {
                return Ok((reached, false, false));
            }
            let next_event = events.peek().map(|e| e.checkpoint());
            let (at, handling) = match unreadable.peek() {
                Some(u) if next_event.is_none_or(|at| u.checkpoint < at) => {
                    let u = unreadable.next().expect("peeked");
                    (u.checkpoint, self.park_unreadable(state, u).await?)
                }
                _ => match events.next() {
                    Some(event) => (
                        event.checkpoint(),
                        self.handle_with_retries(state, event, stop).await?,
                    ),
                    None => return Ok((reached, true, false)),
                },
            };
            match handling {
                Handling::Done => reached = at,
                Handling::Stopped => return Ok((reached, false, false)),
                Handling::LeaseLost => return Ok((reached, false, true)),
            }
        }
    }
}

/// Waits for a wake-up signal, the timeout, the time something is `due`
/// (a sleep on the runner's clock), or the stop.
async fn wait_or_stop(
    wakeups: &mut Wakeups,
    timeout: std::time::Duration,
    due: Option<Pin<Box<dyn Future<Output = ()> + Send + '_>>>,
    stop: &mut watch::Receiver<bool>,
) {
    let due = async {
        match due {
            Some(due) => due.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = wakeups.wait(timeout) => {}
        () = due => {}
        _ = stop.changed() => {}
    }
}
