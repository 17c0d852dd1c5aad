//! Wrapping a secret to a recipient's public key: HPKE (RFC 9180), base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
//!
//! The HPKE `info` binds a domain label and the full [`WrapContext`] (purpose,
//! collection, epoch, recipient key id, recipient public key), so a wrapped secret
//! opened in any other context fails with [`Error::DecryptionFailed`].

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};

use crate::crypto::random::PreparedRng;
use crate::crypto::secret::{SecretBytes, SecretKey};
use crate::crypto::x25519::{KemPublicKey, KemSecretKey};
use crate::crypto::{Error, Result};
use crate::wire::{DecodeError, Kind, Reader, Writer};

type Kem = X25519HkdfSha256;

/// The largest secret that can be wrapped (keys and small key bundles).
pub const MAX_WRAPPED_SECRET: usize = 1024;
/// The longest collection id a context may carry.
pub const MAX_CONTEXT_ID: usize = 64;
/// The HPKE label prefix of every `info`.
pub const INFO_LABEL: &[u8] = crate::labels::WRAP.as_bytes();

/// What a wrapped secret is for. Every field is bound into HPKE's `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapContext<'a> {
    /// What kind of secret this is (for example `"epoch-key"`), at most 64 bytes.
    pub purpose: &'a str,
    /// The collection (or other container) the secret belongs to, at most 64 bytes.
    pub collection: &'a [u8],
    /// The key epoch within the collection.
    pub epoch: u64,
    /// The recipient's key id (an identity fingerprint), 32 bytes.
    pub recipient: &'a [u8; 32],
}

impl WrapContext<'_> {
    /// `info` = `"sealshare/v1/wrap" || 0x00 || len8(purpose) || purpose ||
    /// len8(collection) || collection || epoch u64 || recipient[32] || recipient_kem_pk[32]`.
    fn info(&self, recipient_pk: &KemPublicKey) -> Result<Vec<u8>> {
        if self.purpose.len() > MAX_CONTEXT_ID || self.collection.len() > MAX_CONTEXT_ID {
            return Err(Error::InvalidArgument(format!(
                "wrap context purpose and collection id must be at most {MAX_CONTEXT_ID} bytes"
            )));
        }
        let mut w = Writer::raw();
        w.fixed(INFO_LABEL).u8(0);
        w.u8(self.purpose.len() as u8)
            .fixed(self.purpose.as_bytes());
        w.u8(self.collection.len() as u8).fixed(self.collection);
        w.u64(self.epoch)
            .fixed(self.recipient)
            .fixed(recipient_pk.as_bytes());
        Ok(w.finish())
    }
}

/// A secret wrapped to one recipient: the HPKE encapsulated key and ciphertext.
///
/// Encoding (SPEC.md §Wrapped secret): `01 03 || enc[32] || len u32 || ciphertext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedSecret {
    enc: [u8; 32],
    ciphertext: Vec<u8>,
}

impl WrappedSecret {
    /// Wraps `secret` to `recipient` for `context`.
    pub fn wrap(
        recipient: &KemPublicKey,
        context: &WrapContext<'_>,
        secret: &[u8],
    ) -> Result<Self> {
        if secret.len() > MAX_WRAPPED_SECRET {
            return Err(Error::InvalidArgument(format!(
                "a wrapped secret holds at most {MAX_WRAPPED_SECRET} bytes"
            )));
        }
        let info = context.info(recipient)?;
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient.as_bytes())
            .map_err(|_| Error::Bug("HPKE refused a 32-byte X25519 public key"))?;
        let mut rng = PreparedRng::new()?;
        let (enc, mut ctx) = hpke::setup_sender_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeS::Base,
            &pk,
            &info,
            &mut rng,
        )
        // The only failure is a low-order recipient key (all-zero DH output).
        .map_err(|_| Error::WeakKey("X25519 shared secret is all zero"))?;
        rng.finish()?;
        let ciphertext = ctx
            .seal(secret, b"")
            .map_err(|_| Error::Bug("HPKE refused to seal one secret with a fresh context"))?;
        let enc: [u8; 32] = enc
            .to_bytes()
            .as_slice()
            .try_into()
            .map_err(|_| Error::Bug("the HPKE encapsulated key is not 32 bytes"))?;
        Ok(Self { enc, ciphertext })
    }

    /// Wraps a 32-byte key.
    pub fn wrap_key(
        recipient: &KemPublicKey,
        context: &WrapContext<'_>,
        key: &SecretKey,
    ) -> Result<Self> {
        Self::wrap(recipient, context, key.expose())
    }

    /// Unwraps with the recipient's secret key; fails unless `context` is exactly
    /// the one the secret was wrapped for.
    pub fn unwrap(
        &self,
        recipient: &KemSecretKey,
        context: &WrapContext<'_>,
    ) -> Result<SecretBytes> {
        let info = context.info(&recipient.public_key())?;
        let secret = recipient.to_secret();
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret.expose())
            .map_err(|_| Error::DecryptionFailed)?;
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&self.enc)
            .map_err(|_| Error::DecryptionFailed)?;
        let mut ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &info,
        )
        .map_err(|_| Error::DecryptionFailed)?;
        ctx.open(&self.ciphertext, b"")
            .map(SecretBytes::new)
            .map_err(|_| Error::DecryptionFailed)
    }

    /// Unwraps a 32-byte key.
    pub fn unwrap_key(
        &self,
        recipient: &KemSecretKey,
        context: &WrapContext<'_>,
    ) -> Result<SecretKey> {
        let bytes = self.unwrap(recipient, context)?;
        SecretKey::from_slice(bytes.expose()).ok_or(Error::DecryptionFailed)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::WrappedSecret);
        self.write(&mut w);
        w.finish()
    }

    /// Decodes, refusing anything malformed before allocating.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, Kind::WrappedSecret)?;
        let out = Self::read(&mut r)?;
        r.finish()?;
        Ok(out)
    }

    /// Writes the body inside another object.
    pub fn write(&self, w: &mut Writer) {
        w.fixed(&self.enc).bytes(&self.ciphertext);
    }

    /// Reads the body from inside another object.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let enc = r.array()?;
        let ciphertext = r.bytes("wrapped secret ciphertext", MAX_WRAPPED_SECRET + 16)?;
        if ciphertext.len() < 16 {
            return Err(DecodeError::Truncated {
                what: "wrapped secret ciphertext",
            });
        }
        Ok(Self {
            enc,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_context_is_refused() {
        let bob = KemSecretKey::generate().unwrap();
        let eve = KemSecretKey::generate().unwrap();
        let rid = [9u8; 32];
        let ctx = WrapContext {
            purpose: "epoch-key",
            collection: b"c1",
            epoch: 3,
            recipient: &rid,
        };
        let key = SecretKey::random().unwrap();
        let w = WrappedSecret::wrap_key(&bob.public_key(), &ctx, &key).unwrap();
        let w = WrappedSecret::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(w.unwrap_key(&bob, &ctx).unwrap(), key);
        let other_rid = [8u8; 32];
        for bad in [
            WrapContext {
                collection: b"c2",
                ..ctx
            },
            WrapContext { epoch: 4, ..ctx },
            WrapContext {
                recipient: &other_rid,
                ..ctx
            },
            WrapContext {
                purpose: "item-key",
                ..ctx
            },
        ] {
            assert!(matches!(w.unwrap(&bob, &bad), Err(Error::DecryptionFailed)));
        }
        assert!(matches!(w.unwrap(&eve, &ctx), Err(Error::DecryptionFailed)));
        assert!(WrappedSecret::wrap(&KemPublicKey::from_bytes([0; 32]), &ctx, b"k").is_err());
    }
}
