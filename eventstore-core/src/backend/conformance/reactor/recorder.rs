//! A reactor for tests: records what it handles, fails or blocks on chosen
//! events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::reactor::{HandlerError, Reactor};
use crate::{EventFilter, RecordedEvent};

use crate::backend::conformance::eventually::eventually;

/// What the recorder saw: which runner (tag) handled which event.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The tag of the recorder (one per runner) that handled it.
    pub tag: String,
    /// The event.
    pub event: RecordedEvent,
}

#[derive(Debug, Default)]
struct Shared {
    handled: Mutex<Vec<Handled>>,
    attempts: Mutex<HashMap<u64, Vec<Instant>>>,
    failing: Mutex<HashMap<u64, u32>>,
    block_at: Mutex<Option<u64>>,
    blocked: AtomicBool,
    cancelled: AtomicBool,
    panic_at: Mutex<Option<u64>>,
    filter_panics: std::sync::atomic::AtomicU32,
    stall: Mutex<Option<(u64, Duration)>>,
    delay: Mutex<Duration>,
}

/// Records every `Thing` event it handles. Clones with [`Recorder::tag`]
/// share the record, so several runners can be told apart.
#[derive(Debug, Clone)]
pub struct Recorder {
    name: String,
    tag: String,
    shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Recorder {
    /// A recorder for the reactor `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            tag: "a".to_owned(),
            shared: Arc::default(),
        }
    }

    /// The same record, under another tag.
    #[must_use]
    pub fn tag(&self, tag: &str) -> Self {
        Self {
            tag: tag.to_owned(),
            ..self.clone()
        }
    }

    /// Fails the event at `position` its next `times` attempts
    /// (`u32::MAX`: always).
    pub fn fail(&self, position: u64, times: u32) {
        lock(&self.shared.failing).insert(position, times);
    }

    /// Blocks forever on the event at `position`, before recording it.
    pub fn block_at(&self, position: u64) {
        *lock(&self.shared.block_at) = Some(position);
    }

    /// Panics on every attempt at the event at `position`.
    pub fn panic_at(&self, position: u64) {
        *lock(&self.shared.panic_at) = Some(position);
    }

    /// Stalls the whole thread for `duration` (no await: like a paused
    /// process) while handling the event at `position`, after recording it.
    pub fn stall_at(&self, position: u64, duration: Duration) {
        *lock(&self.shared.stall) = Some((position, duration));
    }

    /// Panics in the next `times` calls of [`Reactor::filter`], which the
    /// runner makes outside any handler, when a partition loop starts.
    pub fn panic_in_filter(&self, times: u32) {
        self.shared.filter_panics.store(times, Ordering::SeqCst);
    }

    /// Whether a handler blocked by [`block_at`](Self::block_at) was
    /// cancelled (its future dropped).
    pub fn was_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// Takes `delay` over every event from now on.
    pub fn slow(&self, delay: Duration) {
        *lock(&self.shared.delay) = delay;
    }

    /// Stops blocking.
    pub fn unblock(&self) {
        *lock(&self.shared.block_at) = None;
    }

    /// Whether a handler is blocked now.
    pub fn is_blocked(&self) -> bool {
        self.shared.blocked.load(Ordering::SeqCst)
    }

    /// Everything handled so far, in order.
    pub fn handled(&self) -> Vec<Handled> {
        lock(&self.shared.handled).clone()
    }

    /// When each attempt at the event at `position` started.
    pub fn attempts(&self, position: u64) -> Vec<Instant> {
        lock(&self.shared.attempts)
            .get(&position)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits (at most `limit`) until a handler blocks at the event of
    /// [`block_at`](Self::block_at).
    ///
    /// # Panics
    /// When none does in time, with `what`.
    pub async fn wait_blocked(&self, limit: Duration, what: &str) {
        eventually(limit, what, async || self.is_blocked(), |b| *b).await;
    }

    /// Waits (at most `limit`) until the blocked handler is cancelled.
    ///
    /// # Panics
    /// When it is not in time, with `what`.
    pub async fn wait_cancelled(&self, limit: Duration, what: &str) {
        eventually(limit, what, async || self.was_cancelled(), |c| *c).await;
    }

    /// Waits (at most `limit`) until the event at `position` was attempted.
    ///
    /// # Panics
    /// When it is not in time, with `what`.
    pub async fn wait_attempted(&self, limit: Duration, position: u64, what: &str) {
        eventually(
            limit,
            what,
            async || self.attempts(position).len(),
            |n| *n > 0,
        )
        .await;
    }

    /// Waits (at most `limit`) until `done` holds for the record.
    ///
    /// # Panics
    /// When it does not hold in time, with `what`.
    pub async fn wait_until(&self, limit: Duration, what: &str, done: impl Fn(&[Handled]) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if done(&self.handled()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not within {limit:?}: {what}; handled {} events",
                self.handled().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Sets its flag when dropped: a handler future dropped mid-way.
struct OnDrop<'a>(&'a AtomicBool);

impl Drop for OnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Reactor for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        let panics = &self.shared.filter_panics;
        let panicked = panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        assert!(!panicked, "told to panic in filter");
        EventFilter::all().aggregate_kind("Thing")
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        lock(&self.shared.attempts)
            .entry(event.position)
            .or_default()
            .push(Instant::now());
        if let Some(remaining) = lock(&self.shared.failing).get_mut(&event.position) {
            if *remaining > 0 {
                *remaining = remaining.saturating_sub(u32::from(*remaining != u32::MAX));
                return Err(format!("boom at position {}", event.position).into());
            }
        }
        let delay = *lock(&self.shared.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        assert!(
            *lock(&self.shared.panic_at) != Some(event.position),
            "told to panic at position {}",
            event.position
        );
        if *lock(&self.shared.block_at) == Some(event.position) {
            self.shared.blocked.store(true, Ordering::SeqCst);
            let _cancelled = OnDrop(&self.shared.cancelled);
            std::future::pending::<()>().await;
        }
        lock(&self.shared.handled).push(Handled {
            tag: self.tag.clone(),
            event: event.clone(),
        });
        let stall = *lock(&self.shared.stall);
        if let Some((_, duration)) = stall.filter(|(p, _)| *p == event.position) {
            *lock(&self.shared.stall) = None;
            std::thread::sleep(duration);
        }
        Ok(())
    }
}
