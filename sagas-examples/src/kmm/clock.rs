//! [`RunningFrom`]: a clock that starts at a chosen time and runs, for
//! demos and tests of the whole program (`kmm serve --clock-start TIME`).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::Clock;

/// A clock that reads `start` when made and runs at the machine's pace.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use eventstore_core::Clock;
/// use sagas_examples::kmm::RunningFrom;
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let clock = RunningFrom::new(start);
/// let now = clock.now();
/// assert!(now >= start && now < start + Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RunningFrom {
    start: SystemTime,
    origin: Instant,
}

impl RunningFrom {
    /// A clock that reads `start` now.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self {
            start,
            origin: Instant::now(),
        }
    }
}

impl Clock for RunningFrom {
    fn now(&self) -> SystemTime {
        self.start + self.origin.elapsed()
    }

    fn sleep_until(&self, at: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = at.duration_since(self.now()).unwrap_or(Duration::ZERO);
        Box::pin(tokio::time::sleep(wait))
    }
}
