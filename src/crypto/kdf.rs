//! HKDF-SHA256 with a label for every derived key.
//!
//! Every derivation names its purpose in `info`, prefixed with `sealshare/v1/`,
//! so no two uses of one input key can yield the same output.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};

/// The prefix of every label.
pub const LABEL_PREFIX: &str = crate::labels::PREFIX;

/// HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` into `out`.
///
/// This is the plain primitive, exposed so the RFC and Wycheproof vectors can
/// check it; sealshare's own derivations use [`derive_key`].
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let salt = if salt.is_empty() { None } else { Some(salt) };
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out)
        .map_err(|_| {
            Error::InvalidArgument(format!(
                "HKDF-SHA256 output of {} bytes exceeds 8160",
                out.len()
            ))
        })
}

/// Derives a 32-byte key for the purpose named by `label` (without the prefix),
/// bound to `context` (which object it belongs to).
///
/// `info` is `"sealshare/v1/" || label || 0x00 || context`; the zero byte keeps a
/// label from running into its context.
pub fn derive_key(ikm: &[u8], salt: &[u8], label: &str, context: &[u8]) -> Result<SecretKey> {
    let info = labelled_info(label, context);
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    hkdf_sha256(salt, ikm, &info, out.as_mut_slice())?;
    Ok(SecretKey::from_bytes(*out))
}

/// The `info` string for `label` and `context`.
pub fn labelled_info(label: &str, context: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(LABEL_PREFIX.len() + label.len() + 1 + context.len());
    info.extend_from_slice(LABEL_PREFIX.as_bytes());
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    info.extend_from_slice(context);
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        hkdf_sha256(&salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(okm[..8], [0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a]);
    }

    #[test]
    fn labels_separate_keys() {
        let a = derive_key(b"ikm", b"", "a", b"ctx").unwrap();
        let b = derive_key(b"ikm", b"", "b", b"ctx").unwrap();
        let c = derive_key(b"ikm", b"", "a", b"ctx2").unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(hkdf_sha256(b"", b"k", b"", &mut [0u8; 8161]).is_err());
    }
}
