//! Public identity cards, their fingerprints, and safety numbers.
//!
//! A card binds a handle (the app's user id) to a signing key and a KEM key, and
//! is self-signed: decoding a card verifies its signature, so an [`Identity`]
//! value is always a genuine self-signed card. Whether the card really belongs to
//! the person is what fingerprints and safety numbers let users check.

use std::fmt;

use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::crypto::sign::{BatchItem, Domain, Signature, SigningKey, VerifyingKey};
use crate::crypto::x25519::{KemPublicKey, is_low_order};
use crate::crypto::{Error, Result};
use crate::wire::{self, DecodeError, Kind, Reader, Writer};

/// The longest handle, in bytes of UTF-8.
pub const MAX_HANDLE_LEN: usize = 256;
/// The largest encoded card.
pub const MAX_CARD_LEN: usize = 2 + 4 + MAX_HANDLE_LEN + 32 + 32 + 8 + 64;

/// Checks that a handle is 1 to 256 bytes of UTF-8 with no control characters.
pub fn check_handle(handle: &str) -> Result<(), DecodeError> {
    if handle.is_empty() {
        return Err(DecodeError::invalid("handle", "empty"));
    }
    if handle.len() > MAX_HANDLE_LEN {
        return Err(DecodeError::TooLong {
            what: "handle",
            len: handle.len() as u64,
            max: MAX_HANDLE_LEN as u64,
        });
    }
    if handle.chars().any(char::is_control) {
        return Err(DecodeError::invalid(
            "handle",
            "contains a control character",
        ));
    }
    Ok(())
}

/// A user's public identity card: handle, signing key, KEM key, creation time,
/// and a self-signature over all of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    handle: String,
    signing_key: VerifyingKey,
    kem_key: KemPublicKey,
    created_at: u64,
    signature: Signature,
}

impl Identity {
    /// Creates and self-signs a card.
    pub(crate) fn new(
        handle: &str,
        signer: &SigningKey,
        kem_key: KemPublicKey,
        created_at: u64,
    ) -> Result<Self, DecodeError> {
        check_handle(handle)?;
        let mut card = Self {
            handle: handle.to_owned(),
            signing_key: signer.verifying_key(),
            kem_key,
            created_at,
            signature: Signature::from_bytes([0; 64]),
        };
        card.signature = signer.sign(Domain::IdentityCard, &card.signed_bytes());
        Ok(card)
    }

    /// The handle (the app's user id).
    pub fn handle(&self) -> &str {
        &self.handle
    }

    /// The key that signs this user's operations.
    pub fn signing_key(&self) -> &VerifyingKey {
        &self.signing_key
    }

    /// The key secrets are wrapped to for this user.
    pub fn kem_key(&self) -> &KemPublicKey {
        &self.kem_key
    }

    /// When the card was made, in seconds since the Unix epoch (claimed by its owner).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The card's fingerprint: a hash of handle and both keys.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut h = Sha256::new();
        h.update(crate::labels::FINGERPRINT);
        h.update((self.handle.len() as u32).to_be_bytes());
        h.update(self.handle.as_bytes());
        h.update(self.signing_key.as_bytes());
        h.update(self.kem_key.as_bytes());
        Fingerprint(h.finalize().into())
    }

    /// The safety number of this card and `other`: the same on both sides.
    pub fn safety_number(&self, other: &Identity) -> SafetyNumber {
        SafetyNumber::new(&self.fingerprint(), &other.fingerprint())
    }

    pub(crate) fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::IdentityCard);
        w.str(&self.handle)
            .fixed(self.signing_key.as_bytes())
            .fixed(self.kem_key.as_bytes())
            .u64(self.created_at);
        w.finish()
    }

    /// The canonical encoding: `01 01 || handle || signing_pk[32] || kem_pk[32] ||
    /// created_at u64 || signature[64]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed_bytes();
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes a card and verifies its self-signature: [`Error::Decode`] for
    /// malformed bytes, [`Error::BadSignature`] for a card not signed by its
    /// own key.
    ///
    /// Refuses with [`Error::WeakKey`], saying which, a signing key that is not
    /// the canonical encoding of a point of order ℓ (non-canonical, of small
    /// order, or with a torsion component: see [`VerifyingKey::from_bytes`])
    /// and a KEM key of small order (nothing can be wrapped to it, so a member
    /// holding it would block every rotation). Keys made by [`crate::Account`]
    /// always pass.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let card = Self::from_bytes_keys_checked(bytes)?;
        card.signing_key
            .verify(Domain::IdentityCard, &card.signed_bytes(), &card.signature)?;
        Ok(card)
    }

    /// [`Identity::from_bytes`] but for the self-signature, which the caller
    /// must check ([`Identity::self_signature`]): for verifying many cards'
    /// signatures in one batch.
    pub(crate) fn from_bytes_keys_checked(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_CARD_LEN {
            return Err(DecodeError::TooLong {
                what: "identity card",
                len: bytes.len() as u64,
                max: MAX_CARD_LEN as u64,
            }
            .into());
        }
        let mut r = Reader::new(bytes, Kind::IdentityCard)?;
        let handle = r.str("handle", MAX_HANDLE_LEN)?;
        check_handle(handle)?;
        let signing_key = VerifyingKey::from_bytes(&r.array()?)?;
        let kem_bytes = r.array()?;
        if is_low_order(&kem_bytes) {
            // Every share and rotation must wrap to it, and no wrap to a
            // low-order key can be made: such a member would block them all.
            return Err(Error::WeakKey("X25519 key of small order"));
        }
        let kem_key = KemPublicKey::from_bytes(kem_bytes);
        let created_at = r.u64()?;
        let signature = Signature::from_bytes(r.array()?);
        r.finish()?;
        Ok(Self {
            handle: handle.to_owned(),
            signing_key,
            kem_key,
            created_at,
            signature,
        })
    }

    /// The card's self-signature as an item of a batch verification, over
    /// `signed`, which must be [`Identity::signed_bytes`].
    pub(crate) fn self_signature<'a>(&'a self, signed: &'a [u8]) -> BatchItem<'a> {
        BatchItem {
            key: &self.signing_key,
            domain: Domain::IdentityCard,
            msg: signed,
            signature: &self.signature,
        }
    }

    /// The card as unpadded base64url text (for sharing, QR codes, files).
    pub fn to_text(&self) -> String {
        wire::to_text(&self.to_bytes())
    }

    /// Decodes the text form and verifies the card.
    pub fn from_text(text: &str) -> Result<Self> {
        Self::from_bytes(&wire::from_text(text, "identity card", MAX_CARD_LEN)?)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("handle", &self.handle)
            .field("fingerprint", &self.fingerprint().to_string())
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A 32-byte hash that names one card's keys. Shown as 30 digits in six groups.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The 32 bytes (also the key id that wrapped secrets are bound to).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// From 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 30 digits, without spaces. Derived with 5,200 rounds of SHA-512 so that
    /// finding another key with a matching number costs an attacker that much more.
    pub fn digits(&self) -> String {
        let mut h: [u8; 64] = Sha512::new()
            .chain_update(crate::labels::SAFETY_NUMBER)
            .chain_update(self.0)
            .finalize()
            .into();
        for _ in 1..5200 {
            h = Sha512::new()
                .chain_update(h)
                .chain_update(self.0)
                .finalize()
                .into();
        }
        h.chunks_exact(5)
            .take(6)
            .map(|c| {
                let v = c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                format!("{:05}", v % 100_000)
            })
            .collect()
    }
}

impl fmt::Display for Fingerprint {
    /// Six groups of five digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&group_digits(&self.digits()))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", wire::to_text(&self.0))
    }
}

fn group_digits(digits: &str) -> String {
    digits
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The safety number of two cards: 60 digits (12 groups of five) that both users
/// see identically, and a byte form for a QR code. If they match when compared
/// aloud or scanned, each user holds the other's genuine keys.
#[derive(Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    low: Fingerprint,
    high: Fingerprint,
}

impl SafetyNumber {
    fn new(a: &Fingerprint, b: &Fingerprint) -> Self {
        let (low, high) = if a <= b { (*a, *b) } else { (*b, *a) };
        Self { low, high }
    }

    /// The 60 digits without spaces.
    pub fn digits(&self) -> String {
        format!("{}{}", self.low.digits(), self.high.digits())
    }

    /// The bytes to put in a QR code: `0x01 || fingerprint_low[32] || fingerprint_high[32]`.
    pub fn to_qr_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(65);
        out.push(1);
        out.extend_from_slice(&self.low.0);
        out.extend_from_slice(&self.high.0);
        out
    }

    /// Whether a scanned QR payload matches this safety number (constant time).
    pub fn matches_qr(&self, scanned: &[u8]) -> bool {
        scanned.ct_eq(&self.to_qr_bytes()).into()
    }
}

impl fmt::Display for SafetyNumber {
    /// Twelve groups of five digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&group_digits(&self.digits()))
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}
