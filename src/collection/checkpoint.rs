//! Checkpoints: a client's verified state of a collection, with the epoch keys it
//! holds, sealed at rest under the account. Restoring one skips re-verifying the
//! log it summarizes; only later operations are verified.

use zeroize::Zeroizing;

use crate::account::Account;
use crate::collection::{Collection, keys::EpochKeys};
use crate::crypto::aead::SealedBox;
use crate::crypto::secret::SecretKey;
use crate::error::{DecodeError, Error, Result};
use crate::log::{CollectionId, LogState};
use crate::wire::{Kind, Reader, Writer};

fn aad(id: &CollectionId) -> Vec<u8> {
    let mut w = Writer::raw();
    w.fixed(crate::labels::AAD_CHECKPOINT).fixed(&id.0);
    w.finish()
}

impl Collection {
    /// The verified state and this account's epoch keys, sealed under the
    /// account's storage key. Encoding: `01 11 || collection[16] || sealed box`.
    pub fn to_checkpoint(&self, account: &Account) -> Result<Vec<u8>> {
        let mut state = Writer::raw();
        self.state.write(&mut state);
        let state = state.finish();
        let keys: Vec<_> = self.keys.iter().collect();
        // Sized up front: epoch keys are never left behind by a reallocation.
        let mut w = Writer::raw_with_capacity(
            state.len() + 4 + keys.len() * (8 + 32) + 4 + self.hashes.len() * 32,
        );
        w.fixed(&state).u32(keys.len() as u32);
        for (epoch, key) in keys {
            w.u64(*epoch).fixed(key.expose());
        }
        w.u32(self.hashes.len() as u32);
        for h in &self.hashes {
            w.fixed(h);
        }
        let plain = Zeroizing::new(w.finish());
        let id = self.id();
        let sealed = SealedBox::seal(&account.storage_key()?, &plain, &aad(&id))?;
        let mut out = Writer::new(Kind::Checkpoint);
        out.fixed(&id.0);
        sealed.write(&mut out);
        Ok(out.finish())
    }

    /// Restores a collection from [`Collection::to_checkpoint`]. Fails with
    /// [`Error::DecryptionFailed`] if another account sealed it or it was altered.
    pub fn from_checkpoint(account: &Account, bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::Checkpoint)?;
        let id = CollectionId(r.array()?);
        let sealed = SealedBox::read(&mut r)?;
        r.finish()?;
        let plain = sealed.open(&account.storage_key()?, &aad(&id))?;
        let mut r = Reader::raw(plain.expose(), "checkpoint");
        let state = LogState::read(&mut r)?;
        if state.collection() != id {
            return Err(DecodeError::invalid("checkpoint", "names another collection").into());
        }
        let mut keys = EpochKeys::default();
        let n = r.count("checkpoint keys", u32::MAX as usize, 40)?;
        for _ in 0..n {
            let epoch = r.u64()?;
            let key = SecretKey::from_bytes(r.array()?);
            keys.insert_checked(&state, epoch, key)?;
        }
        let n = r.count("checkpoint hashes", u32::MAX as usize, 32)?;
        if n as u64 != state.len() {
            return Err(Error::Decode(DecodeError::invalid(
                "checkpoint",
                "hash count differs from the log length",
            )));
        }
        let mut hashes = Vec::with_capacity(n);
        for _ in 0..n {
            hashes.push(r.array()?);
        }
        r.finish()?;
        Ok(Self {
            state,
            keys,
            hashes,
            creator_key: None,
        })
    }
}
