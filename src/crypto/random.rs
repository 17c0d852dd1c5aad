//! The only source of randomness: the operating system's generator.
//!
//! With the `test-vectors` feature (used by the vector generator alone), a thread
//! can install a seeded generator so that its output is reproducible. Production
//! builds do not contain that code.

use rand_core::{TryCryptoRng, TryRng};

use crate::crypto::{Error, Result};

/// Fills `buf` with random bytes from the operating system.
pub fn fill(buf: &mut [u8]) -> Result<()> {
    #[cfg(feature = "test-vectors")]
    if seeded::fill(buf) {
        return Ok(());
    }
    getrandom::fill(buf).map_err(|_| Error::RandomUnavailable)
}

/// Returns `N` random bytes.
pub fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// A generator for crate APIs that want an `impl CryptoRng`, holding bytes that
/// were drawn with [`fill`] beforehand so that a failure of the OS generator is
/// reported as an error rather than a panic inside a dependency.
///
/// Written by hand because the dependencies' generator traits are infallible: a
/// request beyond the prepared bytes is served by expanding them with HKDF, so the
/// output never repeats and never comes from anywhere but the OS generator.
pub(crate) struct PreparedRng {
    seed: zeroize::Zeroizing<[u8; 32]>,
    served: u64,
    failed: bool,
}

impl PreparedRng {
    /// Draws a 32-byte seed from the OS generator.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            seed: zeroize::Zeroizing::new(array()?),
            served: 0,
            failed: false,
        })
    }

    /// Succeeds if every byte served came from the seed. The expansion cannot
    /// fail (blocks stay within HKDF's output limit), but if it ever did, what
    /// was made with this generator must be thrown away: callers check this
    /// before using it, so a failure is an error, never weak randomness.
    pub(crate) fn finish(self) -> Result<()> {
        if self.failed {
            return Err(Error::RandomUnavailable);
        }
        Ok(())
    }

    fn expand(&mut self, dst: &mut [u8]) {
        // Position-labelled HKDF-Expand blocks: distinct for every call.
        let hk = hkdf::Hkdf::<sha2::Sha256>::from_prk(self.seed.as_slice());
        for block in dst.chunks_mut(255 * 32) {
            let info = [crate::labels::PREPARED_RNG, &self.served.to_be_bytes()].concat();
            // A block of at most 255*32 bytes never exceeds HKDF's output limit.
            let expanded = hk.as_ref().is_ok_and(|hk| hk.expand(&info, block).is_ok());
            if !expanded {
                self.failed = true;
            }
            self.served = self.served.wrapping_add(1);
        }
    }
}

impl TryRng for PreparedRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.expand(&mut b);
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.expand(&mut b);
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.expand(dst);
        Ok(())
    }
}

impl TryCryptoRng for PreparedRng {}

#[cfg(feature = "test-vectors")]
pub mod seeded {
    //! Reproducible randomness for the test-vector generator. Never use in an app.
    use std::cell::RefCell;

    thread_local! {
        static SEEDED: RefCell<Option<(hkdf::Hkdf<sha2::Sha256>, u64)>> = const { RefCell::new(None) };
    }

    /// Runs `f` with this thread's randomness drawn deterministically from `seed`.
    pub fn with_seed<T>(seed: &[u8], f: impl FnOnce() -> T) -> T {
        SEEDED.with(|s| {
            *s.borrow_mut() = Some((hkdf::Hkdf::<sha2::Sha256>::new(None, seed), 0));
        });
        let out = f();
        SEEDED.with(|s| *s.borrow_mut() = None);
        out
    }

    pub(super) fn fill(buf: &mut [u8]) -> bool {
        SEEDED.with(|s| {
            let mut s = s.borrow_mut();
            let Some((hk, n)) = s.as_mut() else {
                return false;
            };
            for block in buf.chunks_mut(255 * 32) {
                let _ = hk.expand(&n.to_be_bytes(), block);
                *n += 1;
            }
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn prepared_rng_never_repeats() {
        let mut rng = PreparedRng::new().unwrap();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut a);
        rng.fill_bytes(&mut b);
        assert_ne!(a, b);
        let mut big = vec![0u8; 20_000];
        rng.fill_bytes(&mut big);
        assert_ne!(&big[..32], &big[255 * 32..255 * 32 + 32]);
    }
}
