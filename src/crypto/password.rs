//! Password hashing: Argon2id (version 0x13) with its parameters as data.
//!
//! The parameters travel with what they protect (a keystore stores them next to
//! its salt, a password link signs them into the log), so a blob made on one
//! device opens on another. Because stored parameters come from outside, two
//! checks run on every read, before anything is allocated or hashed:
//!
//! - [`Argon2Params::check`], the absolute floor and ceiling: a doctored blob
//!   can neither lower the work below a safe floor nor ask for more than any
//!   device should (4 GiB, 8 GiB·passes);
//! - [`Argon2Params::check_within`] an [`Argon2Budget`], the cost this caller
//!   agrees to pay for parameters it did not choose. [`Argon2Budget::DEFAULT`]
//!   fits a phone; a caller that made a dearer keystore itself (the Sensitive
//!   profile) passes a larger budget, such as [`Argon2Budget::SENSITIVE`].
//!
//! # Lanes
//!
//! Every profile uses one lane, which keeps a phone (few fast cores, strict
//! memory limits) and a desktop on equal terms. `argon2` is built with its
//! `parallel` feature, so parameters with more lanes fill them on all cores: the
//! same memory and passes cost an attacker the same per guess and unlock in
//! less time on a machine with cores to spare (the command line uses two).
//! Stored blobs carry their lane count, so every blob opens everywhere. One
//! lane is therefore the slowest way to spend a budget, and the way its bar is
//! measured (`cargo bench --bench keystore_unlock`).

use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};

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

/// [`Argon2Budget::DEFAULT`]'s most memory: 256 MiB (in KiB), the Moderate
/// profile's.
pub const DEFAULT_MAX_MEMORY_KIB: u32 = 256 * 1024;
/// [`Argon2Budget::DEFAULT`]'s most work, memory (KiB) times passes:
/// 768 MiB·passes, the Moderate profile's (256 MiB × 3).
pub const DEFAULT_MAX_WORK_KIB_PASSES: u64 = 768 * 1024;
/// [`Argon2Budget::DEFAULT`]'s most lanes: 4.
pub const DEFAULT_MAX_LANES: u32 = 4;

/// The most Argon2id work a caller agrees to do for parameters it did not choose
/// (read from a keystore blob or a link's signed terms).
///
/// Memory is in KiB, work is memory (KiB) times passes, lanes are Argon2's `p`.
/// [`Argon2Params::check_within`] refuses parameters over any of the three
/// bounds before anything is allocated or hashed. A budget only narrows
/// [`Argon2Params::check`]: parameters outside the absolute bounds are refused
/// whatever the budget says.
///
/// Unlock time grows with the work and peak memory with the memory; lanes add
/// no work (an attacker pays the same per guess) but ask for that many threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Budget {
    /// Most memory, in KiB.
    pub max_memory_kib: u32,
    /// Most memory (KiB) times passes.
    pub max_work_kib_passes: u64,
    /// Most lanes.
    pub max_lanes: u32,
}

impl Argon2Budget {
    /// The budget every unlock uses unless the caller passes another: 256 MiB
    /// of memory, 768 MiB·passes of work (the Moderate profile's), 4 lanes.
    ///
    /// It admits the Constrained, Interactive and Moderate profiles and
    /// nothing dearer than Moderate, so a phone that can pay Moderate can pay
    /// any blob it admits, and no blob costs more than the Sensitive profile.
    /// Its dearest keystore (256 MiB × 3 passes) unlocked in 0.9 to 1.4 s
    /// (medians of five, in one lane or four) with a peak resident memory of
    /// 258 MiB on the project's shared, loaded 2-core machine, measured by
    /// `cargo bench --bench keystore_unlock` against a bar of 2 s and 1 GiB.
    /// Dearer budgets missed the bar there: 1 GiB × 2 passes took 3.2 s and
    /// peaked at 1026 MiB, 512 MiB × 2 took 1.8 to 2.3 s. A keystore made with
    /// [`Argon2Params::SENSITIVE`] (5.8 s there) needs
    /// [`Argon2Budget::SENSITIVE`] (or another larger budget) passed
    /// explicitly.
    pub const DEFAULT: Self = Self {
        max_memory_kib: DEFAULT_MAX_MEMORY_KIB,
        max_work_kib_passes: DEFAULT_MAX_WORK_KIB_PASSES,
        max_lanes: DEFAULT_MAX_LANES,
    };

    /// The ceiling of a public link's password parameters: the Moderate profile
    /// (256 MiB, 256 MiB × 3 passes of work) in up to [`DEFAULT_MAX_LANES`]
    /// lanes. The log refuses a link whose parameters exceed it, so one admin
    /// cannot make every reader (phones included) pay more; it lies within
    /// [`Argon2Budget::DEFAULT`], so every link the log accepts opens for a
    /// reader with the default budget.
    pub const LINK_PASSWORD: Self = Self {
        max_memory_kib: Argon2Params::MODERATE.memory_kib,
        max_work_kib_passes: Argon2Params::MODERATE.work(),
        max_lanes: DEFAULT_MAX_LANES,
    };

    /// A budget that admits the Sensitive profile (1 GiB, 1 GiB × 4 passes) in
    /// up to [`DEFAULT_MAX_LANES`] lanes: for a caller that made such a
    /// keystore on a machine with memory and time to spare. An unlock within it
    /// may take several seconds.
    pub const SENSITIVE: Self = Self {
        max_memory_kib: Argon2Params::SENSITIVE.memory_kib,
        max_work_kib_passes: Argon2Params::SENSITIVE.work(),
        max_lanes: DEFAULT_MAX_LANES,
    };

    /// The smallest budget that admits `params`: exactly its memory, work and
    /// lanes.
    pub const fn admitting(params: Argon2Params) -> Self {
        Self {
            max_memory_kib: params.memory_kib,
            max_work_kib_passes: params.work(),
            max_lanes: params.lanes,
        }
    }

    /// The dearest parameters this budget admits in one lane (the slowest
    /// way to spend it): as much memory as the budget and the work allow, and
    /// as many passes as then fit. `None` if it admits no parameters within
    /// the absolute bounds.
    pub fn dearest(&self) -> Option<Argon2Params> {
        let work = self.max_work_kib_passes.min(MAX_WORK_KIB_PASSES);
        let max_memory = self.max_memory_kib.min(MAX_MEMORY_KIB);
        // Memory as large as the work allows with the fewest passes, then the
        // passes that fill the rest of the work.
        let memory = u32::try_from(work / u64::from(MIN_PASSES))
            .unwrap_or(u32::MAX)
            .min(max_memory);
        let passes = u32::try_from(work / u64::from(memory.max(1)))
            .unwrap_or(u32::MAX)
            .min(MAX_PASSES);
        let params = Argon2Params {
            memory_kib: memory,
            passes,
            lanes: 1,
        };
        params.check_within(self).ok().map(|()| params)
    }
}

impl Default for Argon2Budget {
    /// [`Argon2Budget::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// KiB as the largest exact unit (GiB, MiB or KiB), for messages.
struct Kib(u64);

impl std::fmt::Display for Kib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const GIB: u64 = 1024 * 1024;
        if self.0 >= GIB && self.0.is_multiple_of(GIB) {
            write!(f, "{} GiB", self.0 / GIB)
        } else if self.0 >= 1024 && self.0.is_multiple_of(1024) {
            write!(f, "{} MiB", self.0 / 1024)
        } else {
            write!(f, "{} KiB", self.0)
        }
    }
}

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

    /// Memory (KiB) times passes: the work one derivation does.
    pub const fn work(&self) -> u64 {
        self.memory_kib as u64 * self.passes as u64
    }

    /// [`Argon2Params::check`], then the caller's `budget`: refuses lanes,
    /// memory or work above it with [`Error::UnsafeParameters`] naming the
    /// field, its value and the budget's bound. Runs before anything is
    /// allocated or hashed, and allocates nothing but the message.
    pub fn check_within(&self, budget: &Argon2Budget) -> Result<()> {
        self.check()?;
        let refuse = |msg: String| Err(Error::UnsafeParameters(msg));
        if self.lanes > budget.max_lanes {
            return refuse(format!(
                "lanes = {} is above this caller's budget of {}",
                self.lanes, budget.max_lanes
            ));
        }
        if self.memory_kib > budget.max_memory_kib {
            return refuse(format!(
                "memory_kib = {} is above this caller's budget of {} ({})",
                self.memory_kib,
                budget.max_memory_kib,
                Kib(budget.max_memory_kib.into())
            ));
        }
        let work = self.work();
        if work > budget.max_work_kib_passes {
            return refuse(format!(
                "memory_kib × passes = {} × {} = {work} is above this caller's budget of \
                 {} ({}·passes)",
                self.memory_kib,
                self.passes,
                budget.max_work_kib_passes,
                Kib(budget.max_work_kib_passes)
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

/// [`derive()`] with parameters read from outside (a stored blob, a link's terms):
/// `params` are first checked against the caller's `budget`
/// ([`Argon2Params::check_within`]; [`Error::UnsafeParameters`] before any
/// allocation or hashing).
pub fn derive_within(
    password: &[u8],
    salt: &[u8; SALT_LEN],
    params: Argon2Params,
    budget: &Argon2Budget,
) -> Result<SecretKey> {
    params.check_within(budget)?;
    derive(password, salt, params)
}

/// Derives a 32-byte key from `password` with Argon2id v0x13.
///
/// `params` are checked first against the absolute bounds only
/// ([`Argon2Params::check`]; [`Error::UnsafeParameters`] before any
/// allocation): use it for parameters the caller chose, and [`derive_within`]
/// for parameters read from outside.
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
        .map_err(|e| match e {
            // The caller's password is longer than Argon2's 2^32 - 1 bytes.
            argon2::Error::PwdTooLong => Error::InvalidArgument(format!("Argon2id: {e}")),
            // Parameters, salt, output length and memory were all checked or
            // sized above.
            _ => Error::Bug("Argon2id refused checked parameters, salt, output or memory"),
        })?;
    drop(memory);
    Ok(SecretKey::from_bytes(*out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
