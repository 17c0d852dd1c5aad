//! What an app keeps between runs: the trust store and the checkpoints of the
//! collections it had open, sealed under the account, so that a restart
//! resumes where it stopped and notices a trust store put back from an older
//! copy (SPEC.md §Session state).

use crate::crypto::aead::SealedBox;
use crate::error::Result;
use crate::trust::TrustStore;
use crate::wire::{Reader, Writer};

use super::{Client, Collection, TrustRestored};

/// The most collections one saved state holds.
const MAX_SAVED_COLLECTIONS: usize = 100_000;
/// The largest saved trust store or checkpoint inside a saved state.
const MAX_SAVED_PART: usize = 1 << 30;

impl Client {
    /// Seals everything this client must keep to resume: the trust store,
    /// with its verified marks and card history, and the checkpoint of each
    /// of `collections`, under the account's storage key. Raises the
    /// account's trust generation as [`Client::save_trust`] does: store the
    /// returned bytes first, then the keystore resealed with
    /// [`crate::Account::reseal_keystore`].
    pub fn save_state<'a>(
        &mut self,
        collections: impl IntoIterator<Item = &'a Collection>,
    ) -> Result<Vec<u8>> {
        let trust = self.save_trust();
        let mut checkpoints = Vec::new();
        for c in collections {
            checkpoints.push(c.to_checkpoint(self.account())?);
        }
        let mut w = Writer::raw();
        w.bytes(&trust).u32(checkpoints.len() as u32);
        for c in &checkpoints {
            w.bytes(c);
        }
        let sealed = SealedBox::seal(
            &self.account().storage_key()?,
            &w.finish(),
            crate::labels::AAD_SAVED_STATE,
        )?;
        Ok(sealed.to_bytes())
    }

    /// Resumes from what [`Client::save_state`] sealed, or from nothing
    /// (`None`): restores the trust store as [`Client::restore_trust`] does,
    /// and returns what it says with the saved collections, each as its
    /// checkpoint left it (sync it to catch up). A state older than the
    /// account expects ([`TrustRestored::RolledBack`]) gives back no
    /// collection: its checkpoints would be older too. Bytes that are not a
    /// state sealed by this account are refused and change nothing.
    pub fn restore_state(
        &mut self,
        sealed: Option<&[u8]>,
    ) -> Result<(TrustRestored, Vec<Collection>)> {
        let Some(bytes) = sealed else {
            return Ok((self.restore_trust(None), Vec::new()));
        };
        let account = self.account();
        let plain = SealedBox::from_bytes(bytes)?
            .open(&account.storage_key()?, crate::labels::AAD_SAVED_STATE)?;
        let mut r = Reader::raw(plain.expose(), "saved state");
        let trust = TrustStore::from_bytes(r.bytes("saved trust store", MAX_SAVED_PART)?)?;
        let count = r.count("saved collections", MAX_SAVED_COLLECTIONS, 4)?;
        let mut collections = Vec::with_capacity(count);
        for _ in 0..count {
            let part = r.bytes("saved checkpoint", MAX_SAVED_PART)?;
            collections.push(Collection::from_checkpoint(account, part)?);
        }
        r.finish()?;
        let restored = self.restore_trust(Some(trust));
        if restored != TrustRestored::Current {
            // An older saved state: its checkpoints are older too, and would
            // lower the length below which a server's rollback of each log
            // is detected. Hand back none; the collections verify afresh.
            return Ok((restored, Vec::new()));
        }
        Ok((restored, collections))
    }
}
