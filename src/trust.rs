//! The trust store: which identity card each handle is pinned to, the history
//! of the cards the user pinned for it, and which the user verified by
//! comparing safety numbers.
//!
//! # What changes it
//!
//! Only the user's own acts: [`TrustStore::observe`] (first use of a handle:
//! sharing with a card, approving a join, completing an invitation, or the
//! app showing a card), [`TrustStore::mark_verified`],
//! [`TrustStore::confirm_changed_key`], and accepting a share, which pins the
//! card of the member who shared if the handle was never seen. Verifying a
//! log never changes it: a card a log carries is only *introduced* by the
//! operation's signer (see [`crate::Client::introductions`]).
//!
//! # Card history
//!
//! Each handle keeps the cards the user pinned for it, oldest first; only
//! the newest is current. A card that is not the current one, including a
//! card pinned earlier and since replaced, is a change: it is refused with
//! [`Error::KeyChanged`], which carries both cards, until the user accepts it
//! again. So a retired or compromised key never comes back quietly.

use std::collections::BTreeMap;

use crate::error::{DecodeError, Error, Result};
use crate::identity::{Fingerprint, Identity, MAX_CARD_LEN, MAX_HANDLE_LEN};
use crate::wire::{self, Kind, Reader, Writer};

/// The most handles one trust store holds.
pub const MAX_ENTRIES: usize = 1_000_000;
/// The most cards kept in one handle's history; accepting one more forgets
/// the oldest (only the newest decides anything).
pub const MAX_HISTORY: usize = 32;

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

/// How a card is judged against the trust store, without changing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardTrust {
    /// No card is pinned for its handle: the user has not met it yet. It is
    /// only as trustworthy as whoever introduced it.
    Unpinned,
    /// It is the handle's current pinned card, not verified.
    Pinned,
    /// It is the handle's current pinned card, verified at this time.
    Verified {
        /// When the user marked it verified (Unix seconds).
        at: u64,
    },
    /// Another card is pinned for its handle (this one may be new, or one the
    /// user pinned before and has since replaced): nothing is wrapped to it
    /// until the user accepts it with [`TrustStore::confirm_changed_key`].
    Changed {
        /// The handle's current pinned card.
        pinned: Box<Identity>,
    },
}

/// How the user came to accept a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinReason {
    /// First use of a handle never seen before: the user shared with the
    /// card, approved its join, completed its invitation, or the app showed it.
    FirstUse,
    /// The user accepted a share from this card's holder, who was unknown.
    AcceptedShare,
    /// The user confirmed a changed key ([`TrustStore::confirm_changed_key`]).
    ConfirmedChange,
}

/// One card pinned for a handle, by one of the user's own acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedCard {
    /// The card.
    pub card: Identity,
    /// When it was pinned (Unix seconds, the caller's clock).
    pub pinned_at: u64,
    /// How.
    pub how: PinReason,
    /// When the user marked it verified, if they did.
    pub verified_at: Option<u64>,
}

/// Pins cards per handle, with their history. In memory; serializable with
/// [`TrustStore::to_bytes`] (store it sealed under the account).
///
/// Every change advances [`TrustStore::generation`], so that an app which keeps
/// the generation elsewhere (inside the keystore) can tell a saved trust
/// store that was rolled back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    handles: BTreeMap<String, Vec<PinnedCard>>,
    generation: u64,
}

impl TrustStore {
    /// An empty trust store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows the store a card as the user's own act. Pins it if its handle is
    /// new; accepts it if it is the current pinned card; refuses it with
    /// [`Error::KeyChanged`] otherwise, changing nothing.
    pub fn observe(&mut self, card: &Identity, now: u64) -> Result<TrustStatus> {
        if self.handles.contains_key(card.handle()) {
            return self.check(card);
        }
        self.push(card, now, PinReason::FirstUse);
        Ok(TrustStatus::NewlyPinned)
    }

    /// Pins the card of someone whose share the user accepts, if the handle is
    /// new; as [`TrustStore::observe`] otherwise.
    pub(crate) fn accept_share_from(&mut self, card: &Identity, now: u64) -> Result<TrustStatus> {
        if self.handles.contains_key(card.handle()) {
            return self.check(card);
        }
        self.push(card, now, PinReason::AcceptedShare);
        Ok(TrustStatus::NewlyPinned)
    }

    /// Refuses, changing nothing, a card whose handle has another card pinned.
    pub(crate) fn check_or_new(&self, card: &Identity) -> Result<()> {
        match self.assess(card) {
            CardTrust::Changed { pinned } => Err(Error::key_changed(&pinned, card)),
            _ => Ok(()),
        }
    }

    /// Checks a card against the current pin without changing anything. A
    /// handle never seen is refused with [`Error::InvalidArgument`] (use
    /// [`TrustStore::assess`] to judge without failing); another card pinned
    /// for the handle gives [`Error::KeyChanged`].
    pub fn check(&self, card: &Identity) -> Result<TrustStatus> {
        match self.assess(card) {
            CardTrust::Unpinned => Err(Error::InvalidArgument(format!(
                "no card pinned for {:?}",
                card.handle()
            ))),
            CardTrust::Pinned => Ok(TrustStatus::Pinned),
            CardTrust::Verified { at } => Ok(TrustStatus::Verified { at }),
            CardTrust::Changed { pinned } => Err(Error::key_changed(&pinned, card)),
        }
    }

    /// Judges a card against the handle's current pin, changing nothing.
    pub fn assess(&self, card: &Identity) -> CardTrust {
        match self.get(card.handle()) {
            None => CardTrust::Unpinned,
            Some(current) if current.card.fingerprint() != card.fingerprint() => {
                CardTrust::Changed {
                    pinned: Box::new(current.card.clone()),
                }
            }
            Some(current) => match current.verified_at {
                Some(at) => CardTrust::Verified { at },
                None => CardTrust::Pinned,
            },
        }
    }

    /// Makes `card` the current card of its handle after the user confirmed the
    /// change (or pins it, if the handle is new). The card joins the handle's
    /// history, unverified; accepting the current card again changes nothing.
    pub fn confirm_changed_key(&mut self, card: &Identity, now: u64) {
        if self
            .get(card.handle())
            .is_some_and(|c| c.card.fingerprint() == card.fingerprint())
        {
            return;
        }
        self.push(card, now, PinReason::ConfirmedChange);
    }

    fn push(&mut self, card: &Identity, now: u64, how: PinReason) {
        let history = self.handles.entry(card.handle().to_owned()).or_default();
        if history.len() >= MAX_HISTORY {
            history.remove(0);
        }
        history.push(PinnedCard {
            card: card.clone(),
            pinned_at: now,
            how,
            verified_at: None,
        });
        self.generation = self.generation.saturating_add(1);
    }

    /// Records that the user compared safety numbers with the holder of the card
    /// with this fingerprint. Fails, changing nothing, if that is not the
    /// current pinned card of `handle`.
    pub fn mark_verified(
        &mut self,
        handle: &str,
        fingerprint: &Fingerprint,
        now: u64,
    ) -> Result<()> {
        let current = self
            .handles
            .get_mut(handle)
            .and_then(|h| h.last_mut())
            .ok_or_else(|| Error::InvalidArgument(format!("no card pinned for {handle:?}")))?;
        if current.card.fingerprint() != *fingerprint {
            return Err(Error::InvalidArgument(format!(
                "the card with that fingerprint is not the one pinned for {handle:?}"
            )));
        }
        current.verified_at = Some(now);
        self.generation = self.generation.saturating_add(1);
        Ok(())
    }

    /// The current pinned card of a handle.
    pub fn get(&self, handle: &str) -> Option<&PinnedCard> {
        self.handles.get(handle).and_then(|h| h.last())
    }

    /// Every card pinned for a handle, oldest first; the last is current.
    pub fn history(&self, handle: &str) -> &[PinnedCard] {
        self.handles.get(handle).map_or(&[], Vec::as_slice)
    }

    /// The current pinned card of every handle, ordered by handle.
    pub fn iter(&self) -> impl Iterator<Item = &PinnedCard> {
        self.handles.values().filter_map(|h| h.last())
    }

    /// Number of pinned handles.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True when nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// How many changes this store has seen: it grows with every pin,
    /// confirmed change and verified mark, and never goes down.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Raises the generation to at least `floor` (after restoring a store
    /// older than the last one saved, so that the next save is not older).
    pub(crate) fn raise_generation(&mut self, floor: u64) {
        self.generation = self.generation.max(floor);
    }

    /// The same pins with every verified mark dropped: what an app falls back
    /// to when it cannot tell whether its saved store was rolled back.
    pub fn without_verified_marks(&self) -> Self {
        let mut out = self.clone();
        for card in out.handles.values_mut().flatten() {
            card.verified_at = None;
        }
        out
    }

    /// Canonical encoding: `01 07 || generation u64 || count u32 || handles`,
    /// in strict handle order; each handle is `n u8 (1..=32) || n cards`, oldest
    /// first, all of that handle, each card `card (length-prefixed) ||
    /// pinned_at u64 || how u8 (0 first use, 1 accepted share, 2 confirmed
    /// change) || verified flag u8 || verified_at u64`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::TrustStore);
        w.u64(self.generation).u32(self.handles.len() as u32);
        for history in self.handles.values() {
            w.u8(history.len() as u8);
            for c in history {
                w.bytes(&c.card.to_bytes())
                    .u64(c.pinned_at)
                    .u8(match c.how {
                        PinReason::FirstUse => 0,
                        PinReason::AcceptedShare => 1,
                        PinReason::ConfirmedChange => 2,
                    });
                match c.verified_at {
                    Some(at) => w.u8(1).u64(at),
                    None => w.u8(0).u64(0),
                };
            }
        }
        w.finish()
    }

    /// Decodes and re-verifies every card; handles must be in strict order and
    /// each history non-empty, at most [`MAX_HISTORY`] long, of one handle.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, Kind::TrustStore)?;
        let generation = r.u64()?;
        let min_card = 4 + 2 + 8 + 1 + 1 + 8;
        let count = r.count("trust store handles", MAX_ENTRIES, 1 + min_card)?;
        let mut handles = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..count {
            let n = usize::from(r.u8()?);
            if n == 0 || n > MAX_HISTORY {
                return Err(DecodeError::invalid("card history", "must hold 1 to 32 cards").into());
            }
            let mut history = Vec::with_capacity(n);
            for _ in 0..n {
                history.push(read_card(&mut r)?);
            }
            let handle = history
                .first()
                .map(|c| c.card.handle().to_owned())
                .unwrap_or_default();
            if history.iter().any(|c| c.card.handle() != handle) {
                return Err(DecodeError::invalid(
                    "card history",
                    "holds cards of more than one handle",
                )
                .into());
            }
            if last.as_ref().is_some_and(|l| *l >= handle) {
                return Err(
                    DecodeError::invalid("trust store", "handles not in strict order").into(),
                );
            }
            debug_assert!(handle.len() <= MAX_HANDLE_LEN);
            last = Some(handle.clone());
            handles.insert(handle, history);
        }
        r.finish()?;
        Ok(Self {
            handles,
            generation,
        })
    }

    /// Text form (base64url).
    pub fn to_text(&self) -> String {
        wire::to_text(&self.to_bytes())
    }
}

fn read_card(r: &mut Reader<'_>) -> Result<PinnedCard> {
    let card = Identity::from_bytes(r.bytes("pinned card", MAX_CARD_LEN)?)?;
    let pinned_at = r.u64()?;
    let how = match r.u8()? {
        0 => PinReason::FirstUse,
        1 => PinReason::AcceptedShare,
        2 => PinReason::ConfirmedChange,
        _ => return Err(DecodeError::invalid("acceptance", "must be 0, 1 or 2").into()),
    };
    let verified_at = match (r.u8()?, r.u64()?) {
        (0, 0) => None,
        (1, at) => Some(at),
        _ => {
            return Err(
                DecodeError::invalid("verified flag", "must be 0 (with time 0) or 1").into(),
            );
        }
    };
    Ok(PinnedCard {
        card,
        pinned_at,
        how,
        verified_at,
    })
}
