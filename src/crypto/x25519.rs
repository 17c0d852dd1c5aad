//! X25519 key agreement keys: the account's KEM key, used by HPKE to wrap secrets.
//!
//! A shared secret that comes out all zero (the peer sent a low-order point) is
//! refused with [`Error::WeakKey`], never used.

use std::fmt;

use zeroize::Zeroizing;

use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};

/// An X25519 secret key. Zeroized on drop; `Debug` shows only the public key.
pub struct KemSecretKey(x25519_dalek::StaticSecret);

impl KemSecretKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<Self> {
        let bytes = Zeroizing::new(random::array::<32>()?);
        Ok(Self(x25519_dalek::StaticSecret::from(*bytes)))
    }

    /// The key from its 32 bytes (clamped when used, as RFC 7748 says).
    pub fn from_secret(secret: &SecretKey) -> Self {
        Self(x25519_dalek::StaticSecret::from(*secret.expose()))
    }

    /// The 32 secret bytes.
    pub fn to_secret(&self) -> SecretKey {
        SecretKey::from_bytes(self.0.to_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> KemPublicKey {
        KemPublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519(self, peer). Refuses an all-zero result (a low-order peer key).
    pub fn diffie_hellman(&self, peer: &KemPublicKey) -> Result<SecretKey> {
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err(Error::WeakKey("X25519 shared secret is all zero"));
        }
        Ok(SecretKey::from_bytes(shared.to_bytes()))
    }
}

impl fmt::Debug for KemSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KemSecretKey(public: {:?}, secret: ***)",
            self.public_key()
        )
    }
}

/// An X25519 public key (32 bytes, as RFC 7748 encodes them).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KemPublicKey([u8; 32]);

impl KemPublicKey {
    /// From its encoding. Any 32 bytes are a valid encoding; a low-order key is
    /// refused when used.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 32-byte encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KemPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KemPublicKey({})", crate::wire::to_text(&self.0))
    }
}

/// The X25519 u-coordinates of small order, as RFC 7748 decodes them (bit 255
/// ignored): 0 and 1, the two points of order 8, p − 1, and p and p + 1 (the
/// non-canonical encodings of 0 and 1; no other small-order u has one below
/// 2^255). The same list as libsodium's `has_small_order`. Written out rather
/// than computed: a scalar multiplication per key made decoding a card or link
/// terms cost about 80 µs (a 10,000-member log paid a second for it); the
/// tests check the list against that multiplication.
const SMALL_ORDER: [[u8; 32]; 7] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether an X25519 public key is of small order (every shared secret with it
/// is all zero): its u-coordinate, bit 255 ignored, is one of `SMALL_ORDER`.
pub fn is_low_order(public: &[u8; 32]) -> bool {
    let mut u = *public;
    u[31] &= 0x7f;
    SMALL_ORDER.contains(&u)
}

/// The same question answered by a scalar multiplication by a fixed clamped
/// scalar (clamping makes it a multiple of 8, which kills exactly the
/// small-order part): the reference the list is checked against.
#[cfg(test)]
fn is_low_order_by_multiplication(public: &[u8; 32]) -> bool {
    let probe = x25519_dalek::StaticSecret::from([0x42u8; 32]);
    let shared = probe.diffie_hellman(&x25519_dalek::PublicKey::from(*public));
    !shared.was_contributory()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_is_symmetric_and_low_order_refused() {
        let a = KemSecretKey::generate().unwrap();
        let b = KemSecretKey::generate().unwrap();
        assert_eq!(
            a.diffie_hellman(&b.public_key()).unwrap(),
            b.diffie_hellman(&a.public_key()).unwrap()
        );
        assert!(matches!(
            a.diffie_hellman(&KemPublicKey::from_bytes([0; 32])),
            Err(Error::WeakKey(_))
        ));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(a.diffie_hellman(&KemPublicKey::from_bytes(one)).is_err());
    }

    /// The list of small-order encodings says what a scalar multiplication
    /// says: on every entry, with and without bit 255, on every key that
    /// differs from an entry in one bit, and on random keys.
    #[test]
    fn the_small_order_list_agrees_with_a_multiplication() {
        let mut cases = std::collections::BTreeSet::new();
        for s in SMALL_ORDER {
            let mut high = s;
            high[31] |= 0x80;
            cases.insert(s);
            cases.insert(high);
            for bit in 0..255 {
                let mut near = s;
                near[bit / 8] ^= 1 << (bit % 8);
                cases.insert(near);
            }
        }
        for _ in 0..2000 {
            cases.insert(random::array().unwrap_or([3; 32]));
        }
        for u in &cases {
            assert_eq!(
                is_low_order(u),
                is_low_order_by_multiplication(u),
                "{u:02x?}"
            );
        }
        assert_eq!(
            cases.iter().filter(|u| is_low_order(u)).count(),
            14,
            "each entry, with and without bit 255, and nothing else"
        );
    }
}
