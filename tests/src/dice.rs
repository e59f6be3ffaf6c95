//! A small deterministic generator (xorshift), so that a test's random
//! schedule has the same shape on every run, without a dependency.

/// Rolls numbers from a seed; the same seed rolls the same numbers.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// Dice seeded with `seed` (0 is replaced, since xorshift never leaves it).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        })
    }

    /// A number in `0..sides` (`sides` of 0 counts as 1).
    pub fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Dice;

    #[test]
    fn the_same_seed_rolls_the_same_numbers_within_the_sides() {
        let rolls = |seed| {
            let mut dice = Dice::new(seed);
            (0..100).map(|_| dice.roll(6)).collect::<Vec<_>>()
        };
        assert_eq!(rolls(7), rolls(7));
        assert_ne!(rolls(7), rolls(8));
        assert!(rolls(0).iter().all(|&n| n < 6));
        assert!(
            rolls(0).iter().any(|&n| n != rolls(0)[0]),
            "a zero seed must still roll"
        );
    }
}
