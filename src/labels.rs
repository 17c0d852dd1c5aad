//! Every label that separates one use of a key, signature or hash from every
//! other, in one place (SPEC.md §Labels lists them with the constructions
//! that use them).
//!
//! One style: `sealshare/v1/` then the use. An HKDF info, a signed message,
//! an HPKE info and an associated data each put their kind's prefix first
//! ([`PREFIX`], [`SIGNATURE`], [`WRAP`]); labels used after a prefix are
//! named here without it. The two BLAKE3 key-derivation contexts follow
//! BLAKE3's own convention for contexts (words, not a path) and are frozen by
//! the v1 test vectors: changing a byte of any label changes the format.

/// What every HKDF info and every associated data built from a label starts with.
pub(crate) const PREFIX: &str = "sealshare/v1/";

/// What every signed message starts with, before its domain's label
/// (`crate::crypto::sign::Domain`).
pub(crate) const SIGNATURE: &str = "sealshare/v1/sig/";
/// Signatures: an identity card's self-signature.
pub(crate) const SIG_IDENTITY_CARD: &str = "identity-card";
/// Signatures: an operation of a collection's log.
pub(crate) const SIG_OPERATION: &str = "operation";
/// Signatures: a join's proof that the joiner holds a link's secret.
pub(crate) const SIG_LINK_JOIN: &str = "link-join";
/// Signatures: a request to a server (`crate::request`).
pub(crate) const SIG_REQUEST: &str = "request";

/// The HPKE info of every key wrap, before its purpose.
pub(crate) const WRAP: &str = "sealshare/v1/wrap";
/// Key wraps: an epoch key wrapped to a member.
pub(crate) const WRAP_EPOCH_KEY: &str = "epoch-key";
/// Key wraps: an epoch key wrapped to a link's KEM key.
pub(crate) const WRAP_LINK_EPOCH_KEY: &str = "link-epoch-key";

/// HKDF (after [`PREFIX`]): the commitment to an epoch key in the log.
pub(crate) const KDF_EPOCH_KEY_COMMITMENT: &str = "epoch-key-commitment";
/// HKDF: the key that seals an item's metadata, from its item key.
pub(crate) const KDF_ITEM_METADATA: &str = "item-metadata";
/// HKDF: the content key of an item, from its item key.
pub(crate) const KDF_ITEM_CONTENT: &str = "item-content";
/// HKDF: a content stream's AEAD key, from its content key.
pub(crate) const KDF_CONTENT_STREAM_KEY: &str = "content/stream-key";
/// HKDF: a content stream's key commitment, from its content key.
pub(crate) const KDF_CONTENT_KEY_COMMITMENT: &str = "content/key-commitment";
/// HKDF: a link's signing key, from its secret.
pub(crate) const KDF_LINK_SIGNING: &str = "link-signing";
/// HKDF: a link's KEM key, from its secret (and password).
pub(crate) const KDF_LINK_KEM: &str = "link-kem";
/// HKDF: the key that seals a link's item keys, from its secret (and password).
pub(crate) const KDF_LINK_ITEMS: &str = "link-items";
/// HKDF: a public link's device proof, from the X25519 secret of the link's
/// KEM key and a server's gate key (`crate::links::device`).
pub(crate) const KDF_LINK_DEVICE: &str = "link-device";
/// HKDF: the key that seals an account's state at rest (checkpoints, saved
/// state), from its signing seed.
pub(crate) const KDF_LOCAL_STORAGE: &str = "local-storage";
/// HKDF: the key that wraps a keystore's master key, from the password hash.
pub(crate) const KDF_KEYSTORE_PASSWORD_KEY: &str = "keystore/password-key";
/// HKDF: the key that wraps a keystore's master key, from the recovery phrase.
pub(crate) const KDF_KEYSTORE_RECOVERY_KEY: &str = "keystore/recovery-key";
/// HKDF: the key that seals a keystore's payload, from its master key.
pub(crate) const KDF_KEYSTORE_PAYLOAD_KEY: &str = "keystore/payload-key";

/// Associated data (after [`PREFIX`]): an earlier epoch key sealed under a newer one.
pub(crate) const AAD_PREVIOUS_EPOCH_KEY: &str = "previous-epoch-key";
/// Associated data: the collection's name and description.
pub(crate) const AAD_COLLECTION_INFO: &str = "collection-info";
/// Associated data: an item key sealed under an epoch key.
pub(crate) const AAD_ITEM_KEY: &str = "item-key";
/// Associated data: a link's item keys.
pub(crate) const AAD_LINK_ITEMS: &str = "link-items";
/// Associated data: an item's metadata.
pub(crate) const AAD_ITEM_METADATA: &str = "item-metadata";
/// Associated data of a checkpoint (then `00`, then the collection id).
pub(crate) const AAD_CHECKPOINT: &[u8] = b"sealshare/v1/checkpoint\0";
/// Associated data of a saved state.
pub(crate) const AAD_SAVED_STATE: &[u8] = b"sealshare/v1/saved-state";
/// Associated data of a keystore's master key under the password key.
pub(crate) const AAD_KEYSTORE_MASTER_BY_PASSWORD: &[u8] =
    b"sealshare/v1/keystore/master-by-password";
/// Associated data of a keystore's master key under the recovery key.
pub(crate) const AAD_KEYSTORE_MASTER_BY_RECOVERY: &[u8] =
    b"sealshare/v1/keystore/master-by-recovery";
/// Associated data of a keystore's payload.
pub(crate) const AAD_KEYSTORE_PAYLOAD: &[u8] = b"sealshare/v1/keystore/payload";

/// SHA-256 prefix of an identity card's fingerprint.
pub(crate) const FINGERPRINT: &[u8] = b"sealshare/v1/fingerprint\0";
/// SHA-512 prefix of a safety number.
pub(crate) const SAFETY_NUMBER: &[u8] = b"sealshare/v1/safety-number\0";
/// HKDF info of the generator handed to dependencies that want an
/// `impl CryptoRng`, expanded from bytes drawn from the OS beforehand
/// (`crate::crypto::random`).
pub(crate) const PREPARED_RNG: &[u8] = b"sealshare/v1/prepared-rng";

/// BLAKE3 key-derivation context of an operation's hash (BLAKE3's convention).
pub(crate) const BLAKE3_OPERATION_HASH: &str = "sealshare v1 operation hash";
/// BLAKE3 key-derivation context of a sealed content's hash.
pub(crate) const BLAKE3_CONTENT_HASH: &str = "sealshare v1 content ciphertext hash";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_the_one_prefix_and_none_is_used_twice() {
        let full: [&[u8]; 12] = [
            PREPARED_RNG,
            SIGNATURE.as_bytes(),
            WRAP.as_bytes(),
            AAD_CHECKPOINT,
            AAD_SAVED_STATE,
            AAD_KEYSTORE_MASTER_BY_PASSWORD,
            AAD_KEYSTORE_MASTER_BY_RECOVERY,
            AAD_KEYSTORE_PAYLOAD,
            FINGERPRINT,
            SAFETY_NUMBER,
            BLAKE3_OPERATION_HASH.as_bytes(),
            BLAKE3_CONTENT_HASH.as_bytes(),
        ];
        for label in &full[..10] {
            assert!(label.starts_with(PREFIX.as_bytes()), "{label:?}");
        }
        let mut distinct = std::collections::HashSet::new();
        assert!(full.iter().all(|l| distinct.insert(*l)));
        // Labels after a prefix: distinct within their kind, and none is a
        // prefix path of its own (no "sealshare" in them).
        let kdf = [
            KDF_EPOCH_KEY_COMMITMENT,
            KDF_ITEM_METADATA,
            KDF_ITEM_CONTENT,
            KDF_CONTENT_STREAM_KEY,
            KDF_CONTENT_KEY_COMMITMENT,
            KDF_LINK_SIGNING,
            KDF_LINK_KEM,
            KDF_LINK_ITEMS,
            KDF_LINK_DEVICE,
            KDF_LOCAL_STORAGE,
            KDF_KEYSTORE_PASSWORD_KEY,
            KDF_KEYSTORE_RECOVERY_KEY,
            KDF_KEYSTORE_PAYLOAD_KEY,
        ];
        let aad = [
            AAD_PREVIOUS_EPOCH_KEY,
            AAD_COLLECTION_INFO,
            AAD_ITEM_KEY,
            AAD_LINK_ITEMS,
            AAD_ITEM_METADATA,
        ];
        let sig = [SIG_IDENTITY_CARD, SIG_OPERATION, SIG_LINK_JOIN, SIG_REQUEST];
        let wrap = [WRAP_EPOCH_KEY, WRAP_LINK_EPOCH_KEY];
        for kind in [&kdf[..], &aad[..], &sig[..], &wrap[..]] {
            let mut seen = std::collections::HashSet::new();
            for label in kind {
                assert!(seen.insert(*label), "{label} twice");
                assert!(!label.contains("sealshare") && !label.is_empty(), "{label}");
            }
        }
    }
}
