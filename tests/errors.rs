#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Errors by layer: a failure found in the crypto layer is reported there with
//! its precise variant (`sealshare::CryptoError`), and reaches the domain layer
//! (`sealshare::Error`) as the variant of the same meaning, with the same code
//! and message.

use std::sync::Arc;

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::{Account, Client, Collection, CryptoError, Error, MemoryRemote};

/// Flips a bit of the last byte, inside the ciphertext's tag: the object still
/// decodes, so only authentication can refuse it.
fn tamper(mut bytes: Vec<u8>) -> Vec<u8> {
    let last = bytes.last_mut().expect("not empty");
    *last ^= 0x01;
    bytes
}

/// Domain-layer code opening a box with `?`.
fn open_with_question_mark(sealed: &SealedBox, key: &SecretKey) -> sealshare::Result<Vec<u8>> {
    Ok(sealed.open(key, b"context")?.expose().to_vec())
}

#[test]
fn a_tampered_ciphertext_is_decryption_failed_at_both_layers() {
    // The primitive: the crypto layer's DecryptionFailed.
    let key = SecretKey::random().unwrap();
    let sealed = SealedBox::seal(&key, b"epoch keys", b"context").unwrap();
    let tampered = SealedBox::from_bytes(&tamper(sealed.to_bytes())).unwrap();
    let primitive = tampered.open(&key, b"context").unwrap_err();
    assert!(
        matches!(primitive, CryptoError::DecryptionFailed),
        "{primitive:?}"
    );
    let message = primitive.to_string();

    // Through `?`: the domain layer's DecryptionFailed, same code and message.
    let converted = open_with_question_mark(&tampered, &key).unwrap_err();
    assert!(
        matches!(converted, Error::DecryptionFailed),
        "{converted:?}"
    );
    assert_eq!(converted.code(), "decryption_failed");
    assert_eq!(converted.to_string(), message);
    assert_eq!(
        open_with_question_mark(&sealed, &key).unwrap(),
        b"epoch keys"
    );

    // A domain call: a checkpoint altered at rest (the tag of its sealed box)
    // is refused as DecryptionFailed, not as malformed input or a bug.
    let alice = Account::create("alice", 100).unwrap();
    let mut client = Client::new(alice, Arc::new(MemoryRemote::new()));
    let coll = Collection::create(&mut client, "Notes", "").unwrap();
    let saved = coll.to_checkpoint(client.account()).unwrap();
    assert!(Collection::from_checkpoint(client.account(), &saved).is_ok());
    let domain = Collection::from_checkpoint(client.account(), &tamper(saved)).unwrap_err();
    assert!(matches!(domain, Error::DecryptionFailed), "{domain:?}");
    assert_eq!(domain.code(), "decryption_failed");
    assert_eq!(domain.to_string(), message);
}
