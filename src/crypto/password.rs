//! Password hashing: Argon2id (version 0x13) with its parameters as data.
//!
//! The parameters travel with what they protect (a keystore stores them next to
//! its salt), so a blob made on one device opens on another. Because a stored blob
//! comes from outside, [`Argon2Params::check`] runs on every read, before anything
//! is allocated: a doctored blob can neither lower the work below a safe floor nor
//! make the device allocate gigabytes or hash for minutes.
//!
//! # Lanes
//!
//! Every profile uses one lane, which keeps a phone (few fast cores, strict
//! memory limits) and a desktop on equal terms. `argon2` is built with its
//! `parallel` feature, so parameters with more lanes fill them on all cores: the
//! same memory and passes cost an attacker the same per guess and unlock in
//! less time on a machine with cores to spare (the command line uses two).
//! Stored blobs carry their lane count, so every blob opens everywhere.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::secret::SecretKey;
use crate::error::{Error, Result};

/// Length of an Argon2id salt in bytes.
pub const SALT_LEN: usize = 16;

/// Smallest accepted memory: 19 MiB (OWASP's floor for Argon2id with 2 passes).
pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
/// Largest accepted memory: 4 GiB.
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Fewest accepted passes.
pub const MIN_PASSES: u32 = 2;
/// Most accepted passes: 64, far above any profile (the most is 6), so a device
/// with little memory can trade memory for passes, but bounded so a doctored blob
/// cannot make an unlock run for hours.
pub const MAX_PASSES: u32 = 64;
/// Fewest accepted lanes.
pub const MIN_LANES: u32 = 1;
/// Most accepted lanes.
pub const MAX_LANES: u32 = 16;
/// Largest accepted work, memory (KiB) times passes: 8 GiB·passes, twice
/// [`Argon2Params::SENSITIVE`]. It allows 4 GiB with 2 passes or 128 MiB with 64
/// passes, but not both at once: the time of one unlock stays within about twice
/// that of the most expensive profile whatever a stored blob says.
pub const MAX_WORK_KIB_PASSES: u64 = 8 * 1024 * 1024;

/// Argon2id cost parameters.
///
/// Fields are public because they are data (stored in blobs, chosen by apps); every
/// use goes through [`Argon2Params::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB (Argon2's `m`).
    pub memory_kib: u32,
    /// Number of passes over the memory (Argon2's `t`).
    pub passes: u32,
    /// Degree of parallelism (Argon2's `p`).
    pub lanes: u32,
}

impl Argon2Params {
    /// 64 MiB, 3 passes, 1 lane: the default for apps on phones and laptops.
    pub const INTERACTIVE: Self = Self {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };
    /// 256 MiB, 3 passes, 1 lane: desktops, or when a slower unlock is acceptable.
    pub const MODERATE: Self = Self {
        memory_kib: 256 * 1024,
        passes: 3,
        lanes: 1,
    };
    /// 1 GiB, 4 passes, 1 lane: for high-value accounts on machines with memory to
    /// spare. Such a keystore cannot be unlocked by password on most phones.
    pub const SENSITIVE: Self = Self {
        memory_kib: 1024 * 1024,
        passes: 4,
        lanes: 1,
    };
    /// 32 MiB, 6 passes, 1 lane: the fallback for devices short of memory, such as
    /// iOS app extensions (limited to a few tens of MiB). More passes make up for
    /// part of the memory; prefer [`Argon2Params::INTERACTIVE`] wherever it fits.
    pub const CONSTRAINED: Self = Self {
        memory_kib: 32 * 1024,
        passes: 6,
        lanes: 1,
    };

    /// Refuses parameters outside the accepted bounds with
    /// [`Error::UnsafeParameters`] naming the field, its value and the bound.
    ///
    /// Bounds: memory 19 MiB to 4 GiB, passes 2 to 64, lanes 1 to 16, and memory
    /// times passes at most 8 GiB·passes. Allocates nothing but the message.
    pub fn check(&self) -> Result<()> {
        let refuse = |msg: String| Err(Error::UnsafeParameters(msg));
        if self.memory_kib < MIN_MEMORY_KIB {
            return refuse(format!(
                "memory_kib = {} is below the minimum of {MIN_MEMORY_KIB} (19 MiB)",
                self.memory_kib
            ));
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return refuse(format!(
                "memory_kib = {} is above the maximum of {MAX_MEMORY_KIB} (4 GiB)",
                self.memory_kib
            ));
        }
        if self.passes < MIN_PASSES {
            return refuse(format!(
                "passes = {} is below the minimum of {MIN_PASSES}",
                self.passes
            ));
        }
        if self.passes > MAX_PASSES {
            return refuse(format!(
                "passes = {} is above the maximum of {MAX_PASSES}",
                self.passes
            ));
        }
        if self.lanes < MIN_LANES {
            return refuse(format!(
                "lanes = {} is below the minimum of {MIN_LANES}",
                self.lanes
            ));
        }
        if self.lanes > MAX_LANES {
            return refuse(format!(
                "lanes = {} is above the maximum of {MAX_LANES}",
                self.lanes
            ));
        }
        let work = u64::from(self.memory_kib) * u64::from(self.passes);
        if work > MAX_WORK_KIB_PASSES {
            return refuse(format!(
                "memory_kib × passes = {} × {} = {work} is above the maximum of \
                 {MAX_WORK_KIB_PASSES} (8 GiB·passes)",
                self.memory_kib, self.passes
            ));
        }
        Ok(())
    }

    /// The parameters in the `argon2` crate's type, after [`Argon2Params::check`].
    fn to_argon2(self) -> Result<Params> {
        self.check()?;
        Params::new(
            self.memory_kib,
            self.passes,
            self.lanes,
            Some(SecretKey::LEN),
        )
        .map_err(|e| Error::UnsafeParameters(format!("Argon2id refused the parameters: {e}")))
    }
}

impl From<Profile> for Argon2Params {
    fn from(profile: Profile) -> Self {
        profile.params()
    }
}

/// A named choice of [`Argon2Params`], for apps that should not pick numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// [`Argon2Params::INTERACTIVE`]: 64 MiB, 3 passes.
    Interactive,
    /// [`Argon2Params::MODERATE`]: 256 MiB, 3 passes.
    Moderate,
    /// [`Argon2Params::SENSITIVE`]: 1 GiB, 4 passes.
    Sensitive,
    /// [`Argon2Params::CONSTRAINED`]: 32 MiB, 6 passes, for devices short of memory.
    Constrained,
}

impl Profile {
    /// Every profile, from cheapest in memory to dearest.
    pub const ALL: [Profile; 4] = [
        Profile::Constrained,
        Profile::Interactive,
        Profile::Moderate,
        Profile::Sensitive,
    ];

    /// The parameters of this profile.
    pub const fn params(self) -> Argon2Params {
        match self {
            Profile::Interactive => Argon2Params::INTERACTIVE,
            Profile::Moderate => Argon2Params::MODERATE,
            Profile::Sensitive => Argon2Params::SENSITIVE,
            Profile::Constrained => Argon2Params::CONSTRAINED,
        }
    }
}

/// Argon2id working memory that is wiped before it is freed: it holds values
/// derived from the password, from which the output could be recomputed.
struct WipedMemory(Vec<Block>);

impl Drop for WipedMemory {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(Zeroize::zeroize);
    }
}

/// Derives a 32-byte key from `password` with Argon2id v0x13.
///
/// `params` are checked first ([`Error::UnsafeParameters`] before any allocation).
/// The working memory is requested with a fallible allocation, so a device that
/// cannot provide it gets [`Error::UnsafeParameters`] rather than an abort, and is
/// wiped before it is freed. The password is read in place, never copied; the
/// output lives only in zeroized buffers.
pub fn derive(password: &[u8], salt: &[u8; SALT_LEN], params: Argon2Params) -> Result<SecretKey> {
    let argon_params = params.to_argon2()?;
    let blocks = argon_params.block_count();
    let mut memory = WipedMemory(Vec::new());
    memory.0.try_reserve_exact(blocks).map_err(|_| {
        Error::UnsafeParameters(format!(
            "memory_kib = {}: this device could not provide the memory",
            params.memory_kib
        ))
    })?;
    memory.0.resize(blocks, Block::new());
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new([0u8; SecretKey::LEN]);
    argon
        .hash_password_into_with_memory(password, salt, out.as_mut_slice(), memory.0.as_mut_slice())
        .map_err(|e| Error::InvalidArgument(format!("Argon2id: {e}")))?;
    drop(memory);
    Ok(SecretKey::from_bytes(*out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: MIN_MEMORY_KIB,
        passes: MIN_PASSES,
        lanes: 1,
    };

    #[test]
    fn profiles_pass_their_own_bounds() {
        for profile in Profile::ALL {
            profile.params().check().unwrap();
            assert_eq!(Argon2Params::from(profile), profile.params());
        }
        CHEAP.check().unwrap();
    }

    #[test]
    fn bounds_name_field_value_and_bound() {
        let cases = [
            (
                Argon2Params {
                    memory_kib: MIN_MEMORY_KIB - 1,
                    ..CHEAP
                },
                "memory_kib = 19455",
                "19456",
            ),
            (
                Argon2Params {
                    memory_kib: MAX_MEMORY_KIB + 1,
                    ..CHEAP
                },
                "memory_kib = 4194305",
                "4194304",
            ),
            (Argon2Params { passes: 1, ..CHEAP }, "passes = 1", "2"),
            (
                Argon2Params {
                    passes: 65,
                    ..CHEAP
                },
                "passes = 65",
                "64",
            ),
            (Argon2Params { lanes: 0, ..CHEAP }, "lanes = 0", "1"),
            (Argon2Params { lanes: 17, ..CHEAP }, "lanes = 17", "16"),
            (
                Argon2Params {
                    memory_kib: MAX_MEMORY_KIB,
                    passes: 3,
                    lanes: 1,
                },
                "memory_kib × passes",
                "8388608",
            ),
        ];
        for (params, field, bound) in cases {
            match params.check() {
                Err(Error::UnsafeParameters(msg)) => {
                    assert!(msg.contains(field), "{msg}");
                    assert!(msg.contains(bound), "{msg}");
                }
                other => panic!("{params:?} gave {other:?}"),
            }
        }
        // Both ends of each range are accepted.
        Argon2Params {
            memory_kib: MAX_MEMORY_KIB,
            passes: 2,
            lanes: 16,
        }
        .check()
        .unwrap();
        Argon2Params {
            memory_kib: 128 * 1024,
            passes: MAX_PASSES,
            lanes: 1,
        }
        .check()
        .unwrap();
    }

    #[test]
    fn derive_is_deterministic_and_separates_inputs() {
        let salt = [7u8; SALT_LEN];
        let a = derive(b"password", &salt, CHEAP).unwrap();
        assert_eq!(a, derive(b"password", &salt, CHEAP).unwrap());
        assert_ne!(a, derive(b"passwore", &salt, CHEAP).unwrap());
        assert_ne!(a, derive(b"password", &[8u8; SALT_LEN], CHEAP).unwrap());
        assert_ne!(
            a,
            derive(b"password", &salt, Argon2Params { passes: 3, ..CHEAP }).unwrap()
        );
    }

    /// Our wiped working memory gives the same output as the crate's own
    /// allocation path.
    #[test]
    fn matches_the_argon2_crate() {
        let salt = [1u8; SALT_LEN];
        let params = Argon2Params { lanes: 2, ..CHEAP };
        let ours = derive(b"pw", &salt, params).unwrap();
        let p = Params::new(params.memory_kib, params.passes, params.lanes, Some(32)).unwrap();
        let mut theirs = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
            .hash_password_into(b"pw", &salt, &mut theirs)
            .unwrap();
        assert_eq!(ours.expose(), &theirs);
    }

    #[test]
    fn refuses_before_allocating() {
        let huge = Argon2Params {
            memory_kib: u32::MAX,
            passes: 2,
            lanes: 1,
        };
        assert!(matches!(
            derive(b"pw", &[0; SALT_LEN], huge),
            Err(Error::UnsafeParameters(_))
        ));
    }
}
