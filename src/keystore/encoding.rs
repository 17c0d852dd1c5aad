//! The keystore's canonical encoding and its text form (see the module
//! documentation of [`crate::keystore`] and SPEC.md §Keystore).

use super::{Keystore, MAX_PAYLOAD_LEN, write_header};
use crate::crypto::aead::{NONCE_LEN, SealedBox, TAG_LEN};
use crate::crypto::password::{Argon2Params, SALT_LEN};
use crate::crypto::secret::SecretKey;
use crate::error::DecodeError;
use crate::wire::{self, Kind, Reader, Writer};

/// Length of the header: version, kind, parameters, salt.
const HEADER_LEN: usize = 2 + 3 * 4 + SALT_LEN;
/// Length of a sealed box body inside the keystore, without its ciphertext.
const BOX_OVERHEAD: usize = NONCE_LEN + 4;
/// Ciphertext length of a wrapped master key.
const WRAPPED_KEY_LEN: usize = SecretKey::LEN + TAG_LEN;
/// The largest encoded keystore.
const MAX_ENCODED_LEN: usize =
    HEADER_LEN + 2 * (BOX_OVERHEAD + WRAPPED_KEY_LEN) + BOX_OVERHEAD + MAX_PAYLOAD_LEN + TAG_LEN;

impl Keystore {
    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(
            Kind::Keystore,
            HEADER_LEN + 3 * BOX_OVERHEAD + 2 * WRAPPED_KEY_LEN + self.payload_len + TAG_LEN,
        );
        write_header(&mut w, self.params, &self.salt);
        self.by_password.write(&mut w);
        self.by_recovery.write(&mut w);
        self.payload.write(&mut w);
        w.finish()
    }

    /// Decodes a keystore, checking its structure (header, every length against
    /// its bound, no trailing bytes) before allocating. The Argon2id parameters are
    /// checked, against the bounds and the caller's budget, when the password
    /// path uses them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Keystore, DecodeError> {
        // First pass: borrow only, check every length against the keystore's own
        // bounds (tighter than a sealed box's).
        let payload_len = check_structure(bytes)?;
        // Second pass: the structure is known to be sound; build the boxes.
        let mut r = Reader::new(bytes, Kind::Keystore)?;
        let params = Argon2Params {
            memory_kib: r.u32()?,
            passes: r.u32()?,
            lanes: r.u32()?,
        };
        let salt = r.array()?;
        let by_password = SealedBox::read(&mut r)?;
        let by_recovery = SealedBox::read(&mut r)?;
        let payload = SealedBox::read(&mut r)?;
        r.finish()?;
        Ok(Keystore {
            params,
            salt,
            by_password,
            by_recovery,
            payload,
            payload_len,
        })
    }

    /// The text form: unpadded base64url of [`Keystore::to_bytes`].
    pub fn to_text(&self) -> String {
        wire::to_text(&self.to_bytes())
    }

    /// Decodes the text form.
    pub fn from_text(text: &str) -> Result<Keystore, DecodeError> {
        let bytes = wire::from_text(text, "keystore", MAX_ENCODED_LEN)?;
        Self::from_bytes(&bytes)
    }
}

/// Walks the encoding without allocating: header, then three box bodies whose
/// ciphertext lengths are exactly 48, exactly 48, and 16 to 1 MiB + 16. Returns
/// the payload length.
fn check_structure(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(bytes, Kind::Keystore)?;
    r.array::<{ HEADER_LEN - 2 }>()?;
    for what in [
        "keystore master-by-password box",
        "keystore master-by-recovery box",
    ] {
        r.array::<NONCE_LEN>()?;
        let ciphertext = r.bytes(what, WRAPPED_KEY_LEN)?;
        if ciphertext.len() != WRAPPED_KEY_LEN {
            return Err(DecodeError::invalid(what, "a wrapped key is 48 bytes"));
        }
    }
    let what = "keystore payload box";
    r.array::<NONCE_LEN>()?;
    let ciphertext = r.bytes(what, MAX_PAYLOAD_LEN + TAG_LEN)?;
    let payload_len = ciphertext
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(DecodeError::Truncated { what })?;
    r.finish()?;
    Ok(payload_len)
}
