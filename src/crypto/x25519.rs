//! X25519 key agreement keys: the account's KEM key, used by HPKE to wrap secrets.
//!
//! A shared secret that comes out all zero (the peer sent a low-order point) is
//! refused with [`Error::WeakKey`], never used.

use std::fmt;

use zeroize::Zeroizing;

use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::error::{Error, Result};

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

/// Whether an X25519 public key is of small order (every shared secret with it
/// is all zero), checked with one scalar multiplication by a fixed clamped
/// scalar: clamping makes the scalar a multiple of 8, which kills exactly the
/// small-order part.
pub fn is_low_order(public: &[u8; 32]) -> bool {
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
}
