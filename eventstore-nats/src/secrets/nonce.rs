//! The nonces of sealed values: 96 random bits each, drawn from a
//! ChaCha20 stream per thread, seeded from the OS random generator and
//! seeded again every [`RESEED_AFTER`] nonces, instead of one system call
//! per value.
//!
//! The nonces are random, not counted: every process that writes an
//! aggregate shares its keys, and no counter could stay unique among them.
//! Random nonces keep the chance that two values sealed with one key share
//! one below 2⁻³² up to 2³² values per key (NIST SP 800-38D, 8.3), far
//! more than one field of one aggregate holds. A process that forks
//! without exec copies its threads' streams; the store does not fork.

use std::cell::RefCell;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};

use super::error::SecretsError;

/// The bytes of a nonce.
pub(crate) const NONCE_LEN: usize = 12;

/// How many nonces a stream gives before it is seeded again.
const RESEED_AFTER: u32 = 1 << 16;

/// A thread's stream and how many nonces it gave since its seed.
struct Stream {
    rng: ChaCha20Rng,
    drawn: u32,
}

impl Stream {
    /// A stream with a seed from the OS.
    fn seeded() -> Result<Self, SecretsError> {
        let mut seed = [0; 32];
        getrandom::fill(&mut seed).map_err(|e| SecretsError::Random(Box::new(e)))?;
        Ok(Self {
            rng: ChaCha20Rng::from_seed(seed),
            drawn: 0,
        })
    }

    /// The next nonce, seeding the stream again first when it gave
    /// [`RESEED_AFTER`].
    fn draw(&mut self) -> Result<[u8; NONCE_LEN], SecretsError> {
        if self.drawn >= RESEED_AFTER {
            *self = Self::seeded()?;
        }
        self.drawn += 1;
        let mut nonce = [0; NONCE_LEN];
        self.rng.fill_bytes(&mut nonce);
        Ok(nonce)
    }
}

thread_local! {
    /// This thread's stream, seeded at its first nonce.
    static STREAM: RefCell<Option<Stream>> = const { RefCell::new(None) };
}

/// A fresh random nonce.
///
/// # Errors
/// [`SecretsError::Random`] when the OS generator gives no seed.
pub(crate) fn fresh() -> Result<[u8; NONCE_LEN], SecretsError> {
    STREAM.with_borrow_mut(|stream| {
        let stream = match stream.take() {
            Some(held) => stream.insert(held),
            None => stream.insert(Stream::seeded()?),
        };
        stream.draw()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn each_thread_draws_its_own_stream_from_an_os_seed() {
        let draw = || (0..1000).map(|_| fresh().unwrap()).collect::<Vec<_>>();
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap();
        let distinct: HashSet<_> = here.iter().chain(&there).collect();
        assert_eq!(distinct.len(), 2000, "no nonce twice, in or across threads");
    }

    #[test]
    fn a_stream_is_seeded_again_after_its_quota() {
        let seed = [7; 32];
        let mut stream = Stream {
            rng: ChaCha20Rng::from_seed(seed),
            drawn: 0,
        };
        let mut same = ChaCha20Rng::from_seed(seed);
        let mut expected = [0; NONCE_LEN];
        for _ in 0..RESEED_AFTER {
            same.fill_bytes(&mut expected);
            assert_eq!(stream.draw().unwrap(), expected);
        }
        same.fill_bytes(&mut expected);
        assert_ne!(stream.draw().unwrap(), expected, "a new seed");
        assert_eq!(stream.drawn, 1);
    }
}
