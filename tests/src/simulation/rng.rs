//! The simulation's one source of randomness: ChaCha8 from a `u64` seed,
//! whose output rand_chacha documents as reproducible across platforms and
//! versions, so that a seed printed today replays the same schedule later.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Numbers drawn from a seed; the same seed draws the same numbers.
#[derive(Debug, Clone)]
pub(crate) struct SimRng(ChaCha8Rng);

impl SimRng {
    /// Draws from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A number in `0..n` (`n` of 0 counts as 1). The modulo's bias is
    /// below 2^-50 for the small `n` the simulation draws.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n.max(1)
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// An index into a slice of `len` items (0 when it is empty).
    pub(crate) fn index(&mut self, len: usize) -> usize {
        // `len` fits in a u64, and the result is below it
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// True once in `n` times (`n` of 0 or 1: always).
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::SimRng;

    #[test]
    fn the_same_seed_draws_the_same_numbers_within_bounds() {
        let draws = |seed| {
            let mut rng = SimRng::new(seed);
            (0..200).map(|_| rng.between(3, 5)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        assert!(draws(0).iter().all(|n| (3..=5).contains(n)));
        assert!([3, 4, 5].iter().all(|n| draws(0).contains(n)));
    }
}
