//! Epoch keys: how they are committed, wrapped to members, chained back to older
//! epochs, and used to seal the collection's info and each item's key. Every
//! associated data and derivation label here is listed in SPEC.md §Collections.

use std::collections::BTreeMap;

use crate::account::Account;
use crate::crypto::aead::SealedBox;
use crate::crypto::kdf;
use crate::crypto::secret::SecretKey;
use crate::crypto::wrap::{WrapContext, WrappedSecret};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::log::{CollectionId, ItemId, LinkId, LogState};
use crate::wire::Writer;

/// The wrap purpose of epoch keys.
pub(crate) const EPOCH_KEY_PURPOSE: &str = "epoch-key";

/// The commitment to an epoch key that the operation starting the epoch signs.
pub(crate) fn commitment(
    collection: &CollectionId,
    epoch: u64,
    key: &SecretKey,
) -> Result<[u8; 32]> {
    let mut ctx = Vec::with_capacity(24);
    ctx.extend_from_slice(&collection.0);
    ctx.extend_from_slice(&epoch.to_be_bytes());
    Ok(*kdf::derive_key(key.expose(), b"", "epoch-key-commitment", &ctx)?.expose())
}

/// The wrap purpose of epoch keys wrapped to links.
pub(crate) const LINK_EPOCH_KEY_PURPOSE: &str = "link-epoch-key";

/// A link's recipient id in wrap contexts: its id followed by 16 zero bytes.
pub(crate) fn link_recipient(link: &LinkId) -> [u8; 32] {
    let mut r = [0u8; 32];
    r[..16].copy_from_slice(&link.0);
    r
}

/// Wraps an epoch key to a link's KEM key.
pub(crate) fn wrap_to_link(
    link: &LinkId,
    kem_key: &[u8; 32],
    collection: &CollectionId,
    epoch: u64,
    key: &SecretKey,
) -> Result<WrappedSecret> {
    WrappedSecret::wrap_key(
        &crate::crypto::x25519::KemPublicKey::from_bytes(*kem_key),
        &WrapContext {
            purpose: LINK_EPOCH_KEY_PURPOSE,
            collection: &collection.0,
            epoch,
            recipient: &link_recipient(link),
        },
        key,
    )
}

/// Wraps an epoch key to a member's card.
pub(crate) fn wrap_to(
    card: &Identity,
    collection: &CollectionId,
    epoch: u64,
    key: &SecretKey,
) -> Result<WrappedSecret> {
    let recipient = card.fingerprint().to_bytes();
    WrappedSecret::wrap_key(
        card.kem_key(),
        &WrapContext {
            purpose: EPOCH_KEY_PURPOSE,
            collection: &collection.0,
            epoch,
            recipient: &recipient,
        },
        key,
    )
}

fn aad(label: &str, collection: &CollectionId, parts: &[&[u8]]) -> Vec<u8> {
    let mut w = Writer::raw();
    w.fixed(b"sealshare/v1/")
        .fixed(label.as_bytes())
        .u8(0)
        .fixed(&collection.0);
    for p in parts {
        w.fixed(p);
    }
    w.finish()
}

/// AAD of the previous epoch key sealed under epoch `epoch`'s key.
pub(crate) fn previous_key_aad(collection: &CollectionId, epoch: u64) -> Vec<u8> {
    aad("previous-epoch-key", collection, &[&epoch.to_be_bytes()])
}

/// AAD of the collection's name and description sealed under an epoch key.
pub(crate) fn info_aad(collection: &CollectionId, epoch: u64) -> Vec<u8> {
    aad("collection-info", collection, &[&epoch.to_be_bytes()])
}

/// AAD of an item key sealed under an epoch key.
pub(crate) fn item_key_aad(
    collection: &CollectionId,
    item: &ItemId,
    version: u32,
    epoch: u64,
) -> Vec<u8> {
    aad(
        "item-key",
        collection,
        &[&item.0, &version.to_be_bytes(), &epoch.to_be_bytes()],
    )
}

/// AAD of the item-key bundle a snapshot or item link carries.
pub(crate) fn link_items_aad(collection: &CollectionId, link: &LinkId) -> Vec<u8> {
    aad("link-items", collection, &[&link.0])
}

/// AAD of an item version's metadata (sealed under a key derived from its item key).
pub(crate) fn metadata_aad(collection: &CollectionId, item: &ItemId) -> Vec<u8> {
    aad("item-metadata", collection, &[&item.0])
}

/// The key that seals an item version's metadata.
pub(crate) fn metadata_key(
    item_key: &SecretKey,
    collection: &CollectionId,
    item: &ItemId,
) -> Result<SecretKey> {
    kdf::derive_key(
        item_key.expose(),
        b"",
        "item-metadata",
        &[collection.0, item.0].concat(),
    )
}

/// The key that seals an item version's content.
pub(crate) fn content_key(
    item_key: &SecretKey,
    collection: &CollectionId,
    item: &ItemId,
) -> Result<SecretKey> {
    kdf::derive_key(
        item_key.expose(),
        b"",
        "item-content",
        &[collection.0, item.0].concat(),
    )
}

/// The epoch keys this client holds for one collection, each checked against its
/// commitment in the log.
#[derive(Default)]
pub(crate) struct EpochKeys {
    keys: BTreeMap<u64, SecretKey>,
}

impl EpochKeys {
    pub(crate) fn get(&self, epoch: u64) -> Option<&SecretKey> {
        self.keys.get(&epoch)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &SecretKey)> {
        self.keys.iter()
    }

    /// Records a key after checking it against the log's commitment for `epoch`.
    pub(crate) fn insert_checked(
        &mut self,
        state: &LogState,
        epoch: u64,
        key: SecretKey,
    ) -> Result<()> {
        let expected = state
            .epochs()
            .get(epoch as usize)
            .ok_or(Error::EpochKeyMismatch { epoch })?
            .commitment;
        let found = commitment(&state.collection(), epoch, &key)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&found[..], &expected[..])) {
            return Err(Error::EpochKeyMismatch { epoch });
        }
        self.keys.insert(epoch, key);
        Ok(())
    }

    /// Brings the keys up to the log: unwraps the newest key wrapped to `account`
    /// and walks back through every older epoch.
    pub(crate) fn refresh(&mut self, state: &LogState, account: &Account) -> Result<()> {
        let current = state.epoch();
        if state.epochs().is_empty() || self.keys.contains_key(&current) && self.complete(current) {
            return Ok(());
        }
        let Some(me) = state.member(account.handle()) else {
            return Ok(()); // Not a member: keep what we had, learn nothing new.
        };
        if me.card != *account.identity() {
            return Err(Error::NotAllowed(format!(
                "the log lists {:?} with another key than this account's",
                account.handle()
            )));
        }
        let Some((epoch, wrap)) = &me.key else {
            return Ok(()); // A join waiting for approval: no key yet.
        };
        if !self.keys.contains_key(epoch) {
            let recipient = account.identity().fingerprint().to_bytes();
            let key = account.unwrap_key(
                wrap,
                &WrapContext {
                    purpose: EPOCH_KEY_PURPOSE,
                    collection: &state.collection().0,
                    epoch: *epoch,
                    recipient: &recipient,
                },
            )?;
            self.insert_checked(state, *epoch, key)?;
        }
        self.walk_back(state)
    }

    /// Derives every older epoch key from the newest one held, checking each
    /// against its commitment.
    pub(crate) fn walk_back(&mut self, state: &LogState) -> Result<()> {
        let Some(mut e) = self.keys.keys().next_back().copied() else {
            return Ok(());
        };
        while e > 0 {
            if !self.keys.contains_key(&(e - 1)) {
                let (Some(key), Some(record)) = (self.keys.get(&e), state.epochs().get(e as usize))
                else {
                    break;
                };
                let Some(sealed) = &record.previous_key else {
                    break;
                };
                let older = sealed.open(key, &previous_key_aad(&state.collection(), e))?;
                let older = SecretKey::from_slice(older.expose()).ok_or(Error::DecryptionFailed)?;
                self.insert_checked(state, e - 1, older)?;
            }
            e -= 1;
        }
        Ok(())
    }

    fn complete(&self, current: u64) -> bool {
        self.keys.len() as u64 == current + 1
    }

    /// Seals `older` (epoch `epoch - 1`) under `newer` (epoch `epoch`).
    pub(crate) fn seal_previous(
        collection: &CollectionId,
        epoch: u64,
        newer: &SecretKey,
        older: &SecretKey,
    ) -> Result<SealedBox> {
        SealedBox::seal(newer, older.expose(), &previous_key_aad(collection, epoch))
    }
}
