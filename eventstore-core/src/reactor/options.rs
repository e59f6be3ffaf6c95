//! How a [`Runner`](super::Runner) runs.

use std::time::Duration;

/// Options of a [`Runner`](super::Runner).
///
/// ```
/// use std::time::Duration;
/// use eventstore_core::reactor::RunnerOptions;
/// let options = RunnerOptions::default()
///     .partitions(4)
///     .lease_ttl(Duration::from_secs(3))
///     .max_attempts(8);
/// assert_eq!(options.partitions, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct RunnerOptions {
    /// Events read per batch; the checkpoint is stored after each batch.
    pub batch_size: usize,
    /// The longest wait for new events when no wake-up signal comes.
    pub poll_interval: Duration,
    /// Into how many partitions (by aggregate id) the reactor is split.
    pub partitions: u32,
    /// How long a lease lasts without renewal: another runner takes a
    /// partition over at most this long after its holder died.
    pub lease_ttl: Duration,
    /// Attempts per event before it is parked.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each further one.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Who holds the leases: unique per runner (default: a fresh id).
    pub owner: String,
    /// Where a partition without a stored checkpoint starts.
    pub start: Start,
}

/// Where a reactor partition without a stored checkpoint starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Start {
    /// With the first event: the reactor sees the whole history.
    #[default]
    Beginning,
    /// After the events readable when it first runs: only new ones.
    End,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            partitions: 1,
            lease_ttl: Duration::from_secs(5),
            max_attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            owner: format!("runner-{}", crate::EventId::new()),
            start: Start::Beginning,
        }
    }
}

impl RunnerOptions {
    /// Sets [`batch_size`](Self::batch_size) (at least 1).
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events.max(1);
        self
    }

    /// Sets [`poll_interval`](Self::poll_interval).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets [`partitions`](Self::partitions) (at least 1).
    pub fn partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions.max(1);
        self
    }

    /// Sets [`lease_ttl`](Self::lease_ttl).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts) (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`backoff`](Self::backoff) and [`max_backoff`](Self::max_backoff).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// Sets [`start`](Self::start).
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }

    /// Sets [`owner`](Self::owner).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failures.
    pub(crate) fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 2_u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let options = RunnerOptions::default()
            .backoff(Duration::from_millis(100), Duration::from_millis(500));
        let waits: Vec<u128> = (1..=5)
            .map(|a| options.backoff_after(a).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(options.backoff_after(u32::MAX), Duration::from_millis(500));
    }
}
