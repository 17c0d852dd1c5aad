//! The trust store: which identity card each handle is pinned to, and whether the
//! user verified it by comparing safety numbers.
//!
//! The first card seen for a handle is pinned. A different card for the same
//! handle is never accepted silently: [`TrustStore::observe`] answers
//! [`Error::KeyChanged`] until the app has shown the change to the user and called
//! [`TrustStore::accept_changed_key`].

use std::collections::BTreeMap;

use crate::error::{DecodeError, Error, Result};
use crate::identity::{Fingerprint, Identity, MAX_CARD_LEN, MAX_HANDLE_LEN};
use crate::wire::{self, Kind, Reader, Writer};

/// The most handles one trust store holds.
pub const MAX_ENTRIES: usize = 1_000_000;

/// What the trust store knows about a card it was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustStatus {
    /// First time this handle was seen: the card is now pinned.
    NewlyPinned,
    /// The pinned card; the user has not compared safety numbers.
    Pinned,
    /// The pinned card, verified by the user at this time (Unix seconds).
    Verified {
        /// When the user marked it verified.
        at: u64,
    },
}

/// One pinned card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedCard {
    /// The card.
    pub card: Identity,
    /// When it was first seen (Unix seconds, the caller's clock).
    pub first_seen: u64,
    /// When the user marked it verified, if they did.
    pub verified_at: Option<u64>,
}

/// Pins the first card seen per handle. In memory; serializable with
/// [`TrustStore::to_bytes`] (store it sealed under the account).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    pins: BTreeMap<String, PinnedCard>,
}

impl TrustStore {
    /// An empty trust store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows the store a card. Pins it if its handle is new; accepts it if it is
    /// the pinned card; refuses it with [`Error::KeyChanged`] otherwise.
    pub fn observe(&mut self, card: &Identity, now: u64) -> Result<TrustStatus> {
        match self.pins.get(card.handle()) {
            None => {
                self.accept_changed_key(card, now);
                Ok(TrustStatus::NewlyPinned)
            }
            Some(_) => self.check(card),
        }
    }

    /// Checks a card against the pin without changing anything. A handle never
    /// seen is refused with [`Error::InvalidArgument`]; use [`TrustStore::observe`].
    pub fn check(&self, card: &Identity) -> Result<TrustStatus> {
        let pinned = self.pins.get(card.handle()).ok_or_else(|| {
            Error::InvalidArgument(format!("no card pinned for {:?}", card.handle()))
        })?;
        if pinned.card.fingerprint() != card.fingerprint() {
            return Err(Error::KeyChanged {
                handle: card.handle().to_owned(),
            });
        }
        Ok(match pinned.verified_at {
            Some(at) => TrustStatus::Verified { at },
            None => TrustStatus::Pinned,
        })
    }

    /// Replaces the pinned card of a handle after the user confirmed the change.
    /// The new card starts unverified.
    pub fn accept_changed_key(&mut self, card: &Identity, now: u64) {
        self.pins.insert(
            card.handle().to_owned(),
            PinnedCard {
                card: card.clone(),
                first_seen: now,
                verified_at: None,
            },
        );
    }

    /// Records that the user compared safety numbers with the holder of the card
    /// with this fingerprint. Fails if that is not the pinned card.
    pub fn mark_verified(
        &mut self,
        handle: &str,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<()> {
        let pinned = self
            .pins
            .get_mut(handle)
            .ok_or_else(|| Error::InvalidArgument(format!("no card pinned for {handle:?}")))?;
        if pinned.card.fingerprint() != *fingerprint {
            return Err(Error::KeyChanged {
                handle: handle.to_owned(),
            });
        }
        pinned.verified_at = Some(now);
        Ok(())
    }

    /// The pinned card of a handle.
    pub fn get(&self, handle: &str) -> Option<&PinnedCard> {
        self.pins.get(handle)
    }

    /// Every pin, ordered by handle.
    pub fn iter(&self) -> impl Iterator<Item = &PinnedCard> {
        self.pins.values()
    }

    /// Number of pinned handles.
    pub fn len(&self) -> usize {
        self.pins.len()
    }

    /// True when nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.pins.is_empty()
    }

    /// Canonical encoding: `01 07 || count u32 || entries`, each entry
    /// `card (length-prefixed) || first_seen u64 || verified flag u8 || verified_at u64`,
    /// in handle order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::TrustStore);
        w.u32(self.pins.len() as u32);
        for pin in self.pins.values() {
            w.bytes(&pin.card.to_bytes()).u64(pin.first_seen);
            match pin.verified_at {
                Some(at) => w.u8(1).u64(at),
                None => w.u8(0).u64(0),
            };
        }
        w.finish()
    }

    /// Decodes and re-verifies every card; entries must be in strict handle order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::TrustStore)?;
        let min_entry = 4 + 2 + 8 + 1 + 8;
        let count = r.count("trust store entries", MAX_ENTRIES, min_entry)?;
        let mut pins = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..count {
            let card = Identity::from_bytes(r.bytes("pinned card", MAX_CARD_LEN)?)?;
            let first_seen = r.u64()?;
            let verified_at = match (r.u8()?, r.u64()?) {
                (0, 0) => None,
                (1, at) => Some(at),
                _ => {
                    return Err(DecodeError::invalid(
                        "verified flag",
                        "must be 0 (with time 0) or 1",
                    )
                    .into());
                }
            };
            let handle = card.handle().to_owned();
            if last.as_ref().is_some_and(|l| *l >= handle) {
                return Err(DecodeError::invalid(
                    "trust store",
                    "entries not in strict handle order",
                )
                .into());
            }
            debug_assert!(handle.len() <= MAX_HANDLE_LEN);
            last = Some(handle.clone());
            pins.insert(
                handle,
                PinnedCard {
                    card,
                    first_seen,
                    verified_at,
                },
            );
        }
        r.finish()?;
        Ok(Self { pins })
    }

    /// Text form (base64url).
    pub fn to_text(&self) -> String {
        wire::to_text(&self.to_bytes())
    }
}
