//! How a [`Runner`](super::Runner) runs.

use std::time::Duration;

use crate::error::{Error, Result};

/// The most partitions a reactor may be split into.
pub const MAX_PARTITIONS: u32 = 1024;

/// The shortest lease: a lease must outlast a few round trips to the store,
/// or every checkpoint is refused and every batch is redone forever.
pub const MIN_LEASE_TTL: Duration = Duration::from_millis(100);

fn check(
    option: &'static str,
    value: impl std::fmt::Display,
    ok: bool,
    allowed: &'static str,
) -> Result<()> {
    if ok {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option,
        value: value.to_string(),
        allowed,
    })
}

fn check_duration(
    option: &'static str,
    value: Duration,
    ok: bool,
    allowed: &'static str,
) -> Result<()> {
    check(option, format!("{value:?}"), ok, allowed)
}

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
    /// Sets [`batch_size`](Self::batch_size) (1 to 10,000).
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events;
        self
    }

    /// Sets [`poll_interval`](Self::poll_interval).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets [`partitions`](Self::partitions) (1 to [`MAX_PARTITIONS`]).
    pub fn partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets [`lease_ttl`](Self::lease_ttl) ([`MIN_LEASE_TTL`] to an hour).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts) (1 to 1,000).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`backoff`](Self::backoff) and [`max_backoff`](Self::max_backoff).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max;
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

    /// Checks every option against its allowed range; the [`Runner`](super::Runner)
    /// calls it before it runs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventstore_core::Error;
    /// use eventstore_core::reactor::RunnerOptions;
    /// let zero = RunnerOptions::default().lease_ttl(Duration::ZERO);
    /// assert!(matches!(zero.validate(), Err(Error::InvalidOption { option: "lease_ttl", .. })));
    /// assert!(RunnerOptions::default().validate().is_ok());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first option out of range.
    pub fn validate(&self) -> Result<()> {
        let hour = Duration::from_secs(3600);
        check(
            "batch_size",
            self.batch_size,
            (1..=10_000).contains(&self.batch_size),
            "1 to 10000",
        )?;
        check_duration(
            "poll_interval",
            self.poll_interval,
            (Duration::from_millis(1)..=hour).contains(&self.poll_interval),
            "1 ms to 1 h",
        )?;
        check(
            "partitions",
            self.partitions,
            (1..=MAX_PARTITIONS).contains(&self.partitions),
            "1 to 1024",
        )?;
        check_duration(
            "lease_ttl",
            self.lease_ttl,
            (MIN_LEASE_TTL..=hour).contains(&self.lease_ttl),
            "100 ms to 1 h",
        )?;
        check(
            "max_attempts",
            self.max_attempts,
            (1..=1_000).contains(&self.max_attempts),
            "1 to 1000",
        )?;
        check_duration(
            "max_backoff",
            self.max_backoff,
            self.max_backoff <= Duration::from_secs(86_400),
            "at most 1 day",
        )?;
        check_duration(
            "backoff",
            self.backoff,
            self.backoff <= self.max_backoff,
            "at most max_backoff",
        )?;
        let owner_ok = !self.owner.trim().is_empty() && self.owner.len() <= 200;
        check(
            "owner",
            format!("{:?}", self.owner),
            owner_ok,
            "1 to 200 bytes, not blank",
        )
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

    #[test]
    fn options_that_cannot_work_are_refused_by_name() {
        let ms = Duration::from_millis;
        let cases = [
            (RunnerOptions::default().batch_size(0), "batch_size", "0"),
            (
                RunnerOptions::default().batch_size(10_001),
                "batch_size",
                "10001",
            ),
            (
                RunnerOptions::default().poll_interval(Duration::ZERO),
                "poll_interval",
                "0ns",
            ),
            (RunnerOptions::default().partitions(0), "partitions", "0"),
            (
                RunnerOptions::default().partitions(1025),
                "partitions",
                "1025",
            ),
            (
                RunnerOptions::default().lease_ttl(Duration::ZERO),
                "lease_ttl",
                "0ns",
            ),
            (
                RunnerOptions::default().lease_ttl(ms(99)),
                "lease_ttl",
                "99ms",
            ),
            (
                RunnerOptions::default().max_attempts(0),
                "max_attempts",
                "0",
            ),
            (
                RunnerOptions::default().backoff(ms(500), ms(100)),
                "backoff",
                "500ms",
            ),
            (RunnerOptions::default().owner(" "), "owner", "\" \""),
        ];
        for (options, name, given) in cases {
            match options.validate() {
                Err(Error::InvalidOption { option, value, .. }) => {
                    assert_eq!((option, value.as_str()), (name, given));
                }
                other => panic!("{name} = {given} should be refused, got {other:?}"),
            }
        }
        let fine = RunnerOptions::default()
            .batch_size(1)
            .partitions(MAX_PARTITIONS)
            .lease_ttl(MIN_LEASE_TTL)
            .backoff(ms(5), ms(5));
        assert!(fine.validate().is_ok());
    }
}
