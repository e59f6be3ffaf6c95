//! [`Clock`]: where the runtime takes the time from, so that tests move it
//! instead of sleeping.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

/// The time, and a way to wait for one. The saga runtime reads it when it
/// records an outcome and when it looks for due deadlines; a runner sleeps
/// on it until the next deadline is due.
///
/// [`SystemClock`] (the default) is the machine's clock; [`ManualClock`]
/// moves only when told, so a test of a one-day timeout runs at once.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The time now.
    fn now(&self) -> SystemTime;

    /// Completes once [`now`](Self::now) is `at` or later (at once when it
    /// already is).
    fn sleep_until(&self, at: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A clock shared by the parts of a runtime.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock, with tokio's timer to wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, at: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that stands still until [`advance`](Self::advance)d or
/// [`set`](Self::set); the sleepers whose time came wake then. Its clones
/// share one time.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use eventstore_core::{Clock, ManualClock};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let clock = ManualClock::starting_at(start);
/// let day_later = start + Duration::from_secs(86_400);
/// let sleeper = {
///     let clock = clock.clone();
///     tokio::spawn(async move { clock.sleep_until(day_later).await })
/// };
/// clock.advance(Duration::from_secs(86_400));
/// sleeper.await.unwrap(); // woke without a day's sleep
/// assert_eq!(clock.now(), day_later);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: Arc<watch::Sender<SystemTime>>,
}

impl ManualClock {
    /// A clock that reads `start` until moved.
    #[must_use]
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            time: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        self.time.send_modify(|now| *now += by);
    }

    /// Sets the clock to `to`, forwards or back (a clock may be corrected
    /// backwards; sleepers wait for it to come back).
    pub fn set(&self, to: SystemTime) {
        self.time.send_replace(to);
    }
}

impl Default for ManualClock {
    /// Starts at 2026-01-01 00:00:00 UTC.
    fn default() -> Self {
        Self::starting_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.time.borrow()
    }

    fn sleep_until(&self, at: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut moved = self.time.subscribe();
        Box::pin(async move {
            // the sender lives as long as `self`, which this future borrows
            let _ = moved.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_manual_sleeper_wakes_only_when_its_time_comes() {
        let clock = ManualClock::default();
        let at = clock.now() + Duration::from_secs(60);
        let mut sleep = clock.sleep_until(at);
        let woke = |sleep: &mut Pin<Box<dyn Future<Output = ()> + Send + '_>>| {
            let waker = std::task::Waker::noop();
            sleep
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker))
                .is_ready()
        };
        assert!(!woke(&mut sleep), "not yet");
        clock.advance(Duration::from_secs(59));
        assert!(!woke(&mut sleep), "a second early");
        clock.set(at - Duration::from_secs(3600));
        assert!(!woke(&mut sleep), "set back");
        clock.set(at);
        assert!(woke(&mut sleep), "its time came");
        assert!(
            woke(&mut clock.sleep_until(at)),
            "a time passed wakes at once"
        );
    }
}
