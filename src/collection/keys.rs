//! Epoch keys: how they are committed, wrapped to members, chained back to older
//! epochs, and used to seal the collection's info and each item's key. Every
//! associated data and derivation label here is listed in SPEC.md §Collections.

use std::collections::{BTreeMap, BTreeSet};

use crate::account::Account;
use crate::crypto::aead::SealedBox;
use crate::crypto::kdf;
use crate::crypto::secret::SecretKey;
use crate::crypto::wrap::{WrapContext, WrappedSecret};
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::labels;
use crate::log::{CollectionId, EventKind, ItemId, LinkId, LogState};
use crate::wire::Writer;

/// The wrap purpose of epoch keys.
pub(crate) const EPOCH_KEY_PURPOSE: &str = labels::WRAP_EPOCH_KEY;

/// The commitment to an epoch key that the operation starting the epoch signs.
pub(crate) fn commitment(
    collection: &CollectionId,
    epoch: u64,
    key: &SecretKey,
) -> Result<[u8; 32]> {
    let mut ctx = Vec::with_capacity(24);
    ctx.extend_from_slice(&collection.0);
    ctx.extend_from_slice(&epoch.to_be_bytes());
    Ok(*kdf::derive_key(key.expose(), b"", labels::KDF_EPOCH_KEY_COMMITMENT, &ctx)?.expose())
}

/// The wrap purpose of epoch keys wrapped to links.
pub(crate) const LINK_EPOCH_KEY_PURPOSE: &str = labels::WRAP_LINK_EPOCH_KEY;

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
    Ok(WrappedSecret::wrap_key(
        &crate::crypto::x25519::KemPublicKey::from_bytes(*kem_key),
        &WrapContext {
            purpose: LINK_EPOCH_KEY_PURPOSE,
            collection: &collection.0,
            epoch,
            recipient: &link_recipient(link),
        },
        key,
    )?)
}

/// Wraps an epoch key to a member's card.
pub(crate) fn wrap_to(
    card: &Identity,
    collection: &CollectionId,
    epoch: u64,
    key: &SecretKey,
) -> Result<WrappedSecret> {
    let recipient = card.fingerprint().to_bytes();
    Ok(WrappedSecret::wrap_key(
        card.kem_key(),
        &WrapContext {
            purpose: EPOCH_KEY_PURPOSE,
            collection: &collection.0,
            epoch,
            recipient: &recipient,
        },
        key,
    )?)
}

fn aad(label: &str, collection: &CollectionId, parts: &[&[u8]]) -> Vec<u8> {
    let mut w = Writer::raw();
    w.fixed(labels::PREFIX.as_bytes())
        .fixed(label.as_bytes())
        .u8(0)
        .fixed(&collection.0);
    for p in parts {
        w.fixed(p);
    }
    w.finish()
}

/// AAD of epoch `older`'s key sealed under epoch `epoch`'s key.
pub(crate) fn previous_key_aad(collection: &CollectionId, epoch: u64, older: u64) -> Vec<u8> {
    aad(
        labels::AAD_PREVIOUS_EPOCH_KEY,
        collection,
        &[&epoch.to_be_bytes(), &older.to_be_bytes()],
    )
}

/// AAD of the collection's name and description sealed under an epoch key.
pub(crate) fn info_aad(collection: &CollectionId, epoch: u64) -> Vec<u8> {
    aad(
        labels::AAD_COLLECTION_INFO,
        collection,
        &[&epoch.to_be_bytes()],
    )
}

/// AAD of an item key sealed under an epoch key.
pub(crate) fn item_key_aad(
    collection: &CollectionId,
    item: &ItemId,
    version: u32,
    epoch: u64,
) -> Vec<u8> {
    aad(
        labels::AAD_ITEM_KEY,
        collection,
        &[&item.0, &version.to_be_bytes(), &epoch.to_be_bytes()],
    )
}

/// AAD of the item-key bundle a snapshot or item link carries.
pub(crate) fn link_items_aad(collection: &CollectionId, link: &LinkId) -> Vec<u8> {
    aad(labels::AAD_LINK_ITEMS, collection, &[&link.0])
}

/// AAD of an item version's metadata (sealed under a key derived from its item key).
pub(crate) fn metadata_aad(collection: &CollectionId, item: &ItemId) -> Vec<u8> {
    aad(labels::AAD_ITEM_METADATA, collection, &[&item.0])
}

/// The key that seals an item version's metadata.
pub(crate) fn metadata_key(
    item_key: &SecretKey,
    collection: &CollectionId,
    item: &ItemId,
) -> Result<SecretKey> {
    item_subkey(item_key, labels::KDF_ITEM_METADATA, collection, item)
}

/// The key that seals an item version's content.
pub(crate) fn content_key(
    item_key: &SecretKey,
    collection: &CollectionId,
    item: &ItemId,
) -> Result<SecretKey> {
    item_subkey(item_key, labels::KDF_ITEM_CONTENT, collection, item)
}

/// A key derived from an item key for `label`, bound to the item.
fn item_subkey(
    item_key: &SecretKey,
    label: &str,
    collection: &CollectionId,
    item: &ItemId,
) -> Result<SecretKey> {
    let context = [collection.0, item.0].concat();
    Ok(kdf::derive_key(item_key.expose(), b"", label, &context)?)
}

/// An epoch this member cannot use, and who started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEpoch {
    /// The epoch.
    pub epoch: u64,
    /// Who signed the operation that started it.
    pub signer: String,
    /// What is wrong: the key wrapped to this member does not open, or does
    /// not match the commitment, or an earlier key it carries is bad.
    pub problem: &'static str,
}

impl BadEpoch {
    /// The error an action that needs this epoch's key fails with.
    pub(crate) fn to_error(&self) -> Error {
        Error::BadEpoch {
            epoch: self.epoch,
            signer: self.signer.clone(),
            problem: self.problem,
        }
    }
}

/// The epoch keys this client holds for one collection, each checked against its
/// commitment in the log, and the epochs found bad (never used to seal).
#[derive(Default)]
pub(crate) struct EpochKeys {
    keys: BTreeMap<u64, SecretKey>,
    bad: BTreeMap<u64, BadEpoch>,
    /// The epochs whose boxes of earlier keys were opened and checked.
    opened: BTreeSet<u64>,
    /// Keys learned whose boxes are not opened yet (the walk's work list).
    unopened: Vec<u64>,
    /// How many epochs the log had when the keys were last brought up to it.
    walked: usize,
}

impl EpochKeys {
    pub(crate) fn get(&self, epoch: u64) -> Option<&SecretKey> {
        self.keys.get(&epoch)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &SecretKey)> {
        self.keys.iter()
    }

    /// The epochs found bad that no later recovery passed over, oldest first.
    pub(crate) fn bad<'a>(&'a self, state: &LogState) -> impl Iterator<Item = &'a BadEpoch> {
        let recovered = last_recovery(state);
        self.bad
            .values()
            .filter(move |b| recovered.is_none_or(|r| b.epoch >= r))
    }

    /// The bad epoch that keeps this member from `epoch`'s key, if one does:
    /// `epoch` itself, or the oldest bad one after it (keys are reached by
    /// walking back from newer epochs).
    pub(crate) fn bad_epoch(&self, epoch: u64) -> Option<&BadEpoch> {
        self.bad.range(epoch..).next().map(|(_, bad)| bad)
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
        if self.keys.insert(epoch, key).is_none() {
            self.unopened.push(epoch);
        }
        Ok(())
    }

    /// Notes that `epoch` is unusable for this member, naming `signer`.
    fn mark_bad(&mut self, epoch: u64, signer: String, problem: &'static str) {
        self.bad.entry(epoch).or_insert(BadEpoch {
            epoch,
            signer,
            problem,
        });
    }

    /// Brings the keys up to the log: unwraps the newest key wrapped to `account`
    /// and walks back through every older epoch. A key that does not open or
    /// does not match its commitment marks its epoch bad instead of failing, so
    /// one bad epoch never hides the others.
    pub(crate) fn refresh(&mut self, state: &LogState, account: &Account) -> Result<()> {
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
        let seen = self.keys.contains_key(epoch) || self.bad.contains_key(epoch);
        if seen && state.epochs().len() == self.walked {
            return Ok(());
        }
        if !self.keys.contains_key(epoch) && !self.bad.contains_key(epoch) {
            let recipient = account.identity().fingerprint().to_bytes();
            let unwrapped = account.unwrap_key(
                wrap,
                &WrapContext {
                    purpose: EPOCH_KEY_PURPOSE,
                    collection: &state.collection().0,
                    epoch: *epoch,
                    recipient: &recipient,
                },
            );
            match unwrapped {
                Ok(key) => {
                    if self.insert_checked(state, *epoch, key).is_err() {
                        let signer = wrap_author(state, account.handle(), *epoch);
                        self.mark_bad(*epoch, signer, "its key does not match its commitment");
                    }
                }
                Err(Error::DecryptionFailed) => {
                    let signer = wrap_author(state, account.handle(), *epoch);
                    self.mark_bad(
                        *epoch,
                        signer,
                        "the key wrapped to this member does not open",
                    );
                }
                Err(other) => return Err(other),
            }
        }
        self.walk_back(state)?;
        self.walked = state.epochs().len();
        Ok(())
    }

    /// Derives every older epoch key the held ones lead to, checking each
    /// against its commitment, and checks every box an epoch carries, also
    /// for keys already held: a box that does not open, or whose key does
    /// not match its epoch's commitment or the key held for it, marks the
    /// epoch carrying it bad. The walk goes on through every other box. Each
    /// epoch's boxes are opened once, so a whole log costs one pass.
    pub(crate) fn walk_back(&mut self, state: &LogState) -> Result<()> {
        let id = state.collection();
        while let Some(e) = self.unopened.pop() {
            if !self.opened.insert(e) {
                continue;
            }
            let (Some(key), Some(record)) = (self.keys.get(&e), state.epochs().get(e as usize))
            else {
                continue;
            };
            let mut found = Vec::new();
            let mut broken = false;
            for (older, sealed) in &record.previous_keys {
                let opened = sealed
                    .open(key, &previous_key_aad(&id, e, *older))
                    .ok()
                    .and_then(|plain| SecretKey::from_slice(plain.expose()));
                match (opened, self.keys.get(older)) {
                    (Some(k), Some(held)) => broken |= k != *held,
                    (Some(k), None) => found.push((*older, k)),
                    (None, _) => broken = true,
                }
            }
            for (older, k) in found {
                if self.insert_checked(state, older, k).is_err() {
                    broken = true;
                }
            }
            if broken {
                let signer = epoch_author(state, e);
                self.mark_bad(e, signer, "an earlier epoch key it carries is bad");
            }
        }
        Ok(())
    }

    /// Seals `older` (epoch `older_epoch`) under `newer` (epoch `epoch`).
    pub(crate) fn seal_previous(
        collection: &CollectionId,
        epoch: u64,
        newer: &SecretKey,
        older_epoch: u64,
        older: &SecretKey,
    ) -> Result<SealedBox> {
        Ok(SealedBox::seal(
            newer,
            older.expose(),
            &previous_key_aad(collection, epoch, older_epoch),
        )?)
    }
}

/// Who signed the operation that started `epoch`.
fn epoch_author(state: &LogState, epoch: u64) -> String {
    state
        .epochs()
        .get(epoch as usize)
        .and_then(|e| state.history().get(e.started_seq as usize))
        .map(|event| event.author.to_string())
        .unwrap_or_default()
}

/// Who wrapped `handle`'s key for `epoch`: the last share, approval, completed
/// invitation or join that gave it to them in that epoch, else the signer of
/// the rotation that started it. Only asked when a key turns out bad.
fn wrap_author(state: &LogState, handle: &str, epoch: u64) -> String {
    let started = state
        .epochs()
        .get(epoch as usize)
        .map_or(0, |e| e.started_seq as usize);
    state
        .history()
        .get(started..)
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|event| match &event.what {
            EventKind::Shared(added) => added.iter().any(|(h, _)| h == handle),
            EventKind::Approved(h) | EventKind::InvitationCompleted(h) => h == handle,
            EventKind::Joined { .. } => *event.author == *handle,
            _ => false,
        })
        .map_or_else(|| epoch_author(state, epoch), |e| e.author.to_string())
}

/// The newest epoch started by a recovery, if any: every epoch before it was
/// passed over or carried by it, so a bad one there no longer matters.
fn last_recovery(state: &LogState) -> Option<u64> {
    let epochs = state.epochs();
    (1..epochs.len()).rev().find_map(|e| {
        let prev = &epochs.get(e)?.previous_keys;
        let ordinary = matches!(prev.as_slice(), [(p, _)] if p + 1 == e as u64);
        (!ordinary).then_some(e as u64)
    })
}
