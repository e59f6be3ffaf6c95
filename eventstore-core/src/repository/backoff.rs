//! How long [`Repository::execute`](crate::Repository::execute) waits after
//! a lost race before it decides again.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::Duration;

use crate::error::{Error, Result};

/// The longest [`Backoff::cap`] allowed: a command waits at most about
/// `max_attempts` times the cap before it gives up, so a longer one would
/// hold a caller for many seconds on a single contended aggregate.
pub const MAX_BACKOFF_CAP: Duration = Duration::from_secs(1);

/// The pause between the attempts of a command that lost a race: "full
/// jitter", a random duration between zero and `base × 2^(n-1)` after the
/// n-th lost race, never more than `cap`. Writers that collided spread out
/// instead of colliding again at once, and the pause stays short while the
/// aggregate is quiet.
///
/// The default (1 ms, doubling up to 50 ms) is what let 16 writers on one
/// aggregate on PostgreSQL all succeed within [`DEFAULT_MAX_ATTEMPTS`]
/// (see the README's benchmarks); [`Backoff::NONE`] retries at once.
///
/// ```
/// use std::time::Duration;
/// use eventstore_core::{Backoff, Error, MemoryStore, Repository};
///
/// let gentle = Backoff::new(Duration::from_millis(2), Duration::from_millis(100))?;
/// let repo = Repository::new(MemoryStore::new()).retry_backoff(gentle);
///
/// let refused = Backoff::new(Duration::from_millis(10), Duration::from_millis(5));
/// assert!(matches!(refused, Err(Error::InvalidOption { option: "backoff base", .. })));
/// # Ok::<(), Error>(())
/// ```
///
/// [`DEFAULT_MAX_ATTEMPTS`]: crate::DEFAULT_MAX_ATTEMPTS
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// No pause: a lost race is decided again at once.
    pub const NONE: Self = Self {
        base: Duration::ZERO,
        cap: Duration::ZERO,
    };

    /// A pause of at most `base` after the first lost race, doubling after
    /// each further one, never more than `cap`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when `cap` is above [`MAX_BACKOFF_CAP`]
    /// (`"backoff cap"`) or `base` above `cap` (`"backoff base"`).
    pub fn new(base: Duration, cap: Duration) -> Result<Self> {
        if cap > MAX_BACKOFF_CAP {
            return Err(Error::InvalidOption {
                option: "backoff cap",
                value: format!("{cap:?}"),
                allowed: "0 to 1 s",
            });
        }
        if base > cap {
            return Err(Error::InvalidOption {
                option: "backoff base",
                value: format!("{base:?}"),
                allowed: "0 to the cap",
            });
        }
        Ok(Self { base, cap })
    }

    /// The longest pause after the first lost race.
    #[must_use]
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The longest pause after any lost race.
    #[must_use]
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The pause after the `lost`-th lost race (from 1): uniform in
    /// `[0, min(cap, base × 2^(lost-1))]`.
    pub(crate) fn pause(&self, lost: u32) -> Duration {
        let doubled = 1_u32
            .checked_shl(lost.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let ceiling = self.base.saturating_mul(doubled).min(self.cap);
        let ceiling = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if ceiling == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random() % (ceiling + 1))
    }
}

impl Default for Backoff {
    /// 1 ms, doubling up to 50 ms.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(50),
        }
    }
}

/// A random number for the jitter. std seeds `RandomState` from the
/// operating system once per thread and gives each new one the next key,
/// so each call hashes with a key of its own: enough to spread writers
/// apart, without a dependency for a random number generator.
fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_stay_under_the_doubling_ceiling_and_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(50)).unwrap();
        for (lost, ceiling) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 50), (40, 50)] {
            for _ in 0..200 {
                let pause = backoff.pause(lost);
                assert!(
                    pause <= Duration::from_millis(ceiling),
                    "after {lost} lost races: {pause:?} > {ceiling} ms"
                );
            }
        }
        assert_eq!(Backoff::NONE.pause(3), Duration::ZERO);
    }

    #[test]
    fn pauses_are_spread_out() {
        let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(50)).unwrap();
        let pauses: std::collections::HashSet<_> = (0..100).map(|_| backoff.pause(1)).collect();
        assert!(pauses.len() > 90, "{} distinct pauses of 100", pauses.len());
    }

    #[test]
    fn values_that_cannot_work_are_refused() {
        let ms = Duration::from_millis;
        assert!(matches!(
            Backoff::new(ms(1), ms(1_001)),
            Err(Error::InvalidOption {
                option: "backoff cap",
                ..
            })
        ));
        assert!(matches!(
            Backoff::new(ms(2), ms(1)),
            Err(Error::InvalidOption {
                option: "backoff base",
                ..
            })
        ));
        assert_eq!(
            Backoff::new(Duration::ZERO, Duration::ZERO).unwrap(),
            Backoff::NONE
        );
    }
}
