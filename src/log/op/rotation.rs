//! A key rotation: the new epoch an operation starts, with its canonical
//! encoding (SPEC.md §Operation).

use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::wire::{DecodeError, Reader, Writer};

use super::{LinkId, MAX_LINKS, MAX_MEMBERS, read_handle};

/// The most earlier epoch keys one rotation may carry.
pub const MAX_PREVIOUS_KEYS: usize = 65_536;

/// A fresh epoch: its key committed, wrapped to each remaining member, and
/// earlier epoch keys sealed under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The new epoch number (the current one plus one).
    pub epoch: u64,
    /// The commitment to the new epoch key.
    pub commitment: [u8; 32],
    /// Earlier epoch keys sealed under the new one, by epoch, strictly
    /// ascending and all below `epoch`. An ordinary rotation carries exactly
    /// the previous epoch's key; a recovery (see [`Rotation::is_recovery`])
    /// carries every earlier key its signer holds and passes over the ones it
    /// cannot recover.
    pub previous_keys: Vec<(u64, SealedBox)>,
    /// The new key wrapped to each remaining member, by handle.
    pub wraps: Vec<(String, WrappedSecret)>,
    /// The new key wrapped to each live link that carries an epoch key.
    pub links: Vec<(LinkId, WrappedSecret)>,
}

impl Rotation {
    /// Whether this rotation passes over an epoch: it carries something other
    /// than exactly the previous epoch's key. Only an Owner or Admin may sign
    /// one (the authority table's `RecoverKey`).
    pub fn is_recovery(&self) -> bool {
        !matches!(self.previous_keys.as_slice(), [(e, _)] if e.saturating_add(1) == self.epoch)
    }

    pub(super) fn write(&self, w: &mut Writer) {
        w.u64(self.epoch).fixed(&self.commitment);
        w.u32(self.previous_keys.len() as u32);
        for (epoch, sealed) in &self.previous_keys {
            w.u64(*epoch);
            sealed.write(w);
        }
        w.u32(self.wraps.len() as u32);
        for (handle, wrap) in &self.wraps {
            w.str(handle);
            wrap.write(w);
        }
        w.u32(self.links.len() as u32);
        for (link, wrap) in &self.links {
            w.fixed(&link.0);
            wrap.write(w);
        }
    }

    pub(super) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch = r.u64()?;
        let commitment = r.array()?;
        let n = r.count("rotation previous keys", MAX_PREVIOUS_KEYS, 8 + 4)?;
        let mut previous_keys: Vec<(u64, SealedBox)> = Vec::with_capacity(n);
        for _ in 0..n {
            let older = r.u64()?;
            let ascending = previous_keys.last().is_none_or(|(e, _)| *e < older);
            if older >= epoch || !ascending {
                return Err(DecodeError::invalid(
                    "rotation previous keys",
                    "epochs must be strictly ascending and below the new epoch",
                ));
            }
            previous_keys.push((older, SealedBox::read(r)?));
        }
        if previous_keys.is_empty() {
            return Err(DecodeError::invalid(
                "rotation previous keys",
                "a rotation carries at least one earlier key",
            ));
        }
        let n = r.count("rotation wraps", MAX_MEMBERS, 4 + 1 + 36)?;
        let mut wraps = Vec::with_capacity(n);
        for _ in 0..n {
            wraps.push((read_handle(r)?, WrappedSecret::read(r)?));
        }
        let n = r.count("rotation links", MAX_LINKS, 16 + 32 + 4)?;
        let mut links = Vec::with_capacity(n);
        for _ in 0..n {
            links.push((LinkId(r.array()?), WrappedSecret::read(r)?));
        }
        Ok(Self {
            epoch,
            commitment,
            previous_keys,
            wraps,
            links,
        })
    }
}
