//! Small objects (keys, metadata, records): XChaCha20-Poly1305 with a random
//! 24-byte nonce and associated data that binds what the object belongs to.
//!
//! A [`SealedBox`] opened with other associated data, another key, or after any
//! change to its bytes fails with [`Error::DecryptionFailed`].

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};

use crate::crypto::random;
use crate::crypto::secret::{SecretBytes, SecretKey};
use crate::crypto::{Error, Result};
use crate::wire::{DecodeError, Kind, Reader, Writer};

/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// The largest plaintext a sealed box may hold (small objects only).
pub const MAX_BOX_PLAINTEXT: usize = 16 << 20;

/// An encrypted small object: nonce and ciphertext (with tag).
///
/// Encoding (SPEC.md §Sealed box): `01 02 || nonce[24] || len u32 || ciphertext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBox {
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedBox {
    /// Seals `plaintext` under `key`, binding `aad`. The nonce is fresh randomness.
    pub fn seal(key: &SecretKey, plaintext: &[u8], aad: &[u8]) -> Result<Self> {
        if plaintext.len() > MAX_BOX_PLAINTEXT {
            return Err(Error::InvalidArgument(format!(
                "a sealed box holds at most {} bytes",
                MAX_BOX_PLAINTEXT
            )));
        }
        let nonce = random::array::<NONCE_LEN>()?;
        let ciphertext = xchacha_seal(key, &nonce, plaintext, aad)?;
        Ok(Self { nonce, ciphertext })
    }

    /// Opens the box; fails unless `key` and `aad` are the ones it was sealed with.
    pub fn open(&self, key: &SecretKey, aad: &[u8]) -> Result<SecretBytes> {
        xchacha_open(key, &self.nonce, &self.ciphertext, aad).map(SecretBytes::new)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::SealedBox);
        w.fixed(&self.nonce).bytes(&self.ciphertext);
        w.finish()
    }

    /// Decodes a sealed box, refusing anything malformed before allocating.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, Kind::SealedBox)?;
        let sealed = Self::read(&mut r)?;
        r.finish()?;
        Ok(sealed)
    }

    /// Reads the body (nonce, ciphertext) from inside another object.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let nonce = r.array()?;
        let ciphertext = r.bytes("sealed box ciphertext", MAX_BOX_PLAINTEXT + TAG_LEN)?;
        if ciphertext.len() < TAG_LEN {
            return Err(DecodeError::Truncated {
                what: "sealed box ciphertext",
            });
        }
        Ok(Self {
            nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// Writes the body inside another object.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.fixed(&self.nonce).bytes(&self.ciphertext);
    }
}

/// One AEAD pass with an explicit nonce: seal when `seal`, else open. Every
/// opening failure is [`Error::DecryptionFailed`].
fn apply<C, const N: usize>(
    key: &SecretKey,
    nonce: &[u8; N],
    msg: &[u8],
    aad: &[u8],
    seal: bool,
) -> Result<Vec<u8>>
where
    C: Aead + KeyInit,
    chacha20poly1305::aead::Nonce<C>: From<[u8; N]>,
{
    let cipher = C::new_from_slice(key.expose())
        .map_err(|_| Error::Bug("the AEAD refused a 32-byte key"))?;
    let nonce = chacha20poly1305::aead::Nonce::<C>::from(*nonce);
    let payload = Payload { msg, aad };
    if seal {
        cipher
            .encrypt(&nonce, payload)
            .map_err(|_| Error::InvalidArgument("plaintext too long for the AEAD".into()))
    } else {
        cipher
            .decrypt(&nonce, payload)
            .map_err(|_| Error::DecryptionFailed)
    }
}

/// XChaCha20-Poly1305 encryption with an explicit nonce. Exposed for the
/// Wycheproof vectors; sealshare's own objects use [`SealedBox`].
pub fn xchacha_seal(
    key: &SecretKey,
    nonce: &[u8; 24],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    apply::<XChaCha20Poly1305, 24>(key, nonce, plaintext, aad, true)
}

/// XChaCha20-Poly1305 decryption with an explicit nonce.
pub fn xchacha_open(
    key: &SecretKey,
    nonce: &[u8; 24],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    apply::<XChaCha20Poly1305, 24>(key, nonce, ciphertext, aad, false)
}

/// ChaCha20-Poly1305 (RFC 8439) encryption with an explicit 12-byte nonce, the
/// primitive under content streams. Exposed for the Wycheproof vectors.
pub fn chacha_seal(
    key: &SecretKey,
    nonce: &[u8; 12],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    apply::<ChaCha20Poly1305, 12>(key, nonce, plaintext, aad, true)
}

/// ChaCha20-Poly1305 decryption with an explicit 12-byte nonce.
pub fn chacha_open(
    key: &SecretKey,
    nonce: &[u8; 12],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    apply::<ChaCha20Poly1305, 12>(key, nonce, ciphertext, aad, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = SecretKey::random().unwrap();
        let sealed = SealedBox::seal(&key, b"metadata", b"collection 1").unwrap();
        let decoded = SealedBox::from_bytes(&sealed.to_bytes()).unwrap();
        assert_eq!(decoded, sealed);
        assert_eq!(
            decoded.open(&key, b"collection 1").unwrap().expose(),
            b"metadata"
        );
        assert!(matches!(
            decoded.open(&key, b"collection 2"),
            Err(Error::DecryptionFailed)
        ));
        let other = SecretKey::random().unwrap();
        assert!(matches!(
            decoded.open(&other, b"collection 1"),
            Err(Error::DecryptionFailed)
        ));
    }

    #[test]
    fn every_byte_flip_is_refused() {
        let key = SecretKey::random().unwrap();
        let bytes = SealedBox::seal(&key, b"x", b"ad").unwrap().to_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let opened = SealedBox::from_bytes(&b)
                    .map_err(Error::from)
                    .and_then(|s| s.open(&key, b"ad"));
                assert!(opened.is_err(), "flip at byte {i} bit {bit} accepted");
            }
        }
    }
}
