//! The frozen vectors in tests/vectors/sealshare_v1.json (made by the seeded
//! generator `src/bin/gen-vectors.rs`): every version of the library must still
//! read them and get the same results. A second implementation can run the same
//! checks against SPEC.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;

use sealshare::crypto::aead::SealedBox;
use sealshare::crypto::secret::SecretKey;
use sealshare::crypto::stream::{self, ContentDigest, ContentKey};
use sealshare::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::{Account, Identity, Keystore, RecoveryPhrase, TrustStatus, TrustStore};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/sealshare_v1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn arr32(v: &Value) -> [u8; 32] {
    hx(v).try_into().unwrap()
}

#[test]
fn identity_card_fingerprint_and_safety_number() {
    let v = &vectors()["identity"];
    let card = Identity::from_bytes(&hx(&v["card"])).unwrap();
    assert_eq!(card.to_bytes(), hx(&v["card"]));
    assert_eq!(
        Identity::from_text(v["card_text"].as_str().unwrap()).unwrap(),
        card
    );
    assert_eq!(
        card.fingerprint().to_bytes().to_vec(),
        hx(&v["fingerprint"])
    );
    assert_eq!(
        card.fingerprint().digits(),
        v["fingerprint_digits"].as_str().unwrap()
    );
    let account = Account::from_secret_bytes(&hx(&v["account_secrets"])).unwrap();
    assert_eq!(
        account.identity(),
        &card,
        "the card is recomputed from the secrets"
    );
    let peer = Identity::from_bytes(&hx(&v["peer_card"])).unwrap();
    let number = card.safety_number(&peer);
    assert_eq!(number.digits(), v["safety_number_digits"].as_str().unwrap());
    assert_eq!(number.to_qr_bytes(), hx(&v["safety_number_qr"]));
}

#[test]
fn keystore_opens_with_password_and_phrase() {
    let v = &vectors()["keystore"];
    let keystore = Keystore::from_bytes(&hx(&v["keystore"])).unwrap();
    assert_eq!(keystore.to_bytes(), hx(&v["keystore"]));
    let payload = hx(&v["payload"]);
    assert_eq!(
        keystore
            .unlock_with_password(v["password"].as_str().unwrap())
            .unwrap()
            .expose(),
        payload
    );
    let phrase = RecoveryPhrase::parse(v["recovery_phrase"].as_str().unwrap()).unwrap();
    assert_eq!(
        keystore.unlock_with_recovery(&phrase).unwrap().expose(),
        payload
    );
}

#[test]
fn content_stream_opens_to_the_plaintext() {
    let v = &vectors()["content"];
    let key = ContentKey::from_bytes(arr32(&v["key"]));
    let digest = ContentDigest {
        ciphertext_hash: arr32(&v["ciphertext_hash"]),
        key_commitment: arr32(&v["key_commitment"]),
        ciphertext_len: v["ciphertext_len"].as_u64().unwrap(),
    };
    let plaintext = stream::open(&key, &hx(&v["ciphertext"]), &digest).unwrap();
    let expected: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(plaintext, expected);
}

#[test]
fn wrapped_secret_and_sealed_box_open() {
    let v = &vectors()["wrap"];
    let bob = Account::from_secret_bytes(&hx(&v["recipient_account_secrets"])).unwrap();
    let collection = hx(&v["collection"]);
    let rid = arr32(&v["recipient_key_id"]);
    let ctx = WrapContext {
        purpose: v["purpose"].as_str().unwrap(),
        collection: &collection,
        epoch: v["epoch"].as_u64().unwrap(),
        recipient: &rid,
    };
    let wrapped = WrappedSecret::from_bytes(&hx(&v["wrapped"])).unwrap();
    assert_eq!(
        bob.unwrap_key(&wrapped, &ctx).unwrap().expose().to_vec(),
        hx(&v["secret"])
    );
    let sealed = SealedBox::from_bytes(&hx(&v["sealed_box"])).unwrap();
    let key = SecretKey::from_bytes(arr32(&v["sealed_box_key"]));
    assert_eq!(
        sealed
            .open(&key, &hx(&v["sealed_box_aad"]))
            .unwrap()
            .expose(),
        hx(&v["sealed_box_plaintext"])
    );
}

#[test]
fn trust_store_decodes() {
    let v = &vectors()["trust_store"];
    let trust = TrustStore::from_bytes(&hx(&v["trust_store"])).unwrap();
    assert_eq!(trust.to_bytes(), hx(&v["trust_store"]));
    assert_eq!(trust.len(), 2);
    let bob = &trust.get("bob@example.com").unwrap().card;
    assert!(matches!(
        trust.check(bob).unwrap(),
        TrustStatus::Verified { .. }
    ));
}

/// The frozen log verifies without keys to the same head, and alice (whose
/// secrets are in the vectors) reads the same names, content and history.
#[test]
fn collection_log_verifies_and_opens() {
    use sealshare::{Client, Collection, CollectionId, LogState, MemoryRemote, Remote};
    use std::sync::Arc;
    let v = vectors();
    let log = &v["collection_log"];
    let id = CollectionId(hx(&log["collection"]).try_into().unwrap());
    let ops: Vec<Vec<u8>> = log["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(hx)
        .collect();
    let mut state = LogState::empty(id);
    state.extend_from_bytes(&ops, u64::MAX).unwrap();
    assert_eq!(state.head().to_vec(), hx(&log["head"]));
    let expect = &log["expect"];
    assert_eq!(
        state.epochs().len() as u64,
        expect["epochs"].as_u64().unwrap()
    );
    let members: Vec<&str> = state.members().keys().map(String::as_str).collect();
    assert_eq!(members, ["alice@example.com"]);

    let remote = Arc::new(MemoryRemote::new());
    for (seq, op) in ops.iter().enumerate() {
        remote.append(&id, seq as u64, op).unwrap();
    }
    let blob_id: [u8; 32] = hx(&log["blob_id"]).try_into().unwrap();
    remote.put_blob(&id, &blob_id, &hx(&log["blob"])).unwrap();
    let alice = Account::from_secret_bytes(&hx(&v["identity"]["account_secrets"])).unwrap();
    let mut client = Client::new(alice, remote);
    let coll = Collection::open(&mut client, id).unwrap();
    let names: Vec<String> = coll
        .items()
        .unwrap()
        .into_iter()
        .map(|i| i.metadata.name)
        .collect();
    assert_eq!(
        names,
        [
            expect["folder"].as_str().unwrap(),
            expect["file"].as_str().unwrap()
        ]
    );
    let file = coll
        .items()
        .unwrap()
        .into_iter()
        .find(|i| i.metadata.name == "leek.md")
        .unwrap();
    assert_eq!(
        coll.read(&client, file.id).unwrap(),
        hx(&expect["file_content"])
    );
    let history: Vec<String> = coll.history().into_iter().map(|h| h.text).collect();
    let expected: Vec<String> = expect["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(history, expected);
}
