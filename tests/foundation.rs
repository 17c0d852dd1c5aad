//! The foundation as a user relies on it: accounts, identity cards, fingerprints
//! and safety numbers, the trust store, wrapped keys, and refusal of every
//! altered object.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sealshare::crypto::aead::SealedBox;
use sealshare::crypto::password::Profile;
use sealshare::crypto::secret::SecretKey;
use sealshare::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::{Account, Error, Identity, TrustStatus, TrustStore};

const NOW: u64 = 1_790_000_000;

fn account(handle: &str) -> Account {
    Account::create(handle, NOW).unwrap()
}

/// Flips every bit of `bytes` in turn and asserts `accept` refuses each result.
fn assert_every_flip_refused(bytes: &[u8], what: &str, accept: impl Fn(&[u8]) -> bool) {
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.to_vec();
            b[i] ^= 1 << bit;
            assert!(
                !accept(&b),
                "{what}: flip of byte {i} bit {bit} was accepted"
            );
        }
    }
}

#[test]
fn identity_card_round_trips_as_bytes_and_text() {
    let alice = account("alice@example.com");
    let card = alice.identity();
    assert_eq!(card.handle(), "alice@example.com");
    assert_eq!(card.created_at(), NOW);
    assert_eq!(&Identity::from_bytes(&card.to_bytes()).unwrap(), card);
    assert_eq!(&Identity::from_text(&card.to_text()).unwrap(), card);
}

#[test]
fn forged_card_is_refused() {
    let alice = account("alice");
    let mallory = account("mallory");
    // Mallory's keys under Alice's handle, keeping Mallory's self-signature.
    let mut forged = mallory.identity().to_bytes();
    let handle_at = 2 + 4;
    forged.splice(handle_at..handle_at + "mallory".len(), "alice".bytes());
    forged[5] = 5;
    assert!(matches!(
        Identity::from_bytes(&forged),
        Err(Error::BadSignature { .. })
    ));
    // Alice's card with Mallory's KEM key spliced in.
    let mut swapped = alice.identity().to_bytes();
    let kem_at = 2 + 4 + 5 + 32;
    swapped[kem_at..kem_at + 32].copy_from_slice(mallory.identity().kem_key().as_bytes());
    assert!(Identity::from_bytes(&swapped).is_err());
}

#[test]
fn every_byte_flip_of_every_object_is_refused() {
    let alice = account("alice");
    let card = alice.identity().to_bytes();
    assert_every_flip_refused(&card, "identity card", |b| Identity::from_bytes(b).is_ok());

    let key = SecretKey::random().unwrap();
    let sealed = SealedBox::seal(&key, b"name: holiday photos", b"ad")
        .unwrap()
        .to_bytes();
    assert_every_flip_refused(&sealed, "sealed box", |b| {
        SealedBox::from_bytes(b)
            .ok()
            .and_then(|s| s.open(&key, b"ad").ok())
            .is_some()
    });

    let rid = alice.identity().fingerprint().to_bytes();
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"c",
        epoch: 0,
        recipient: &rid,
    };
    let wrapped = WrappedSecret::wrap_key(alice.identity().kem_key(), &ctx, &key)
        .unwrap()
        .to_bytes();
    assert_every_flip_refused(&wrapped, "wrapped secret", |b| {
        WrappedSecret::from_bytes(b)
            .ok()
            .and_then(|w| alice.unwrap_key(&w, &ctx).ok())
            .is_some()
    });

    let mut trust = TrustStore::new();
    trust.observe(alice.identity(), NOW).unwrap();
    let bytes = trust.to_bytes();
    assert_every_flip_refused(&bytes, "trust store", |b| {
        TrustStore::from_bytes(b).ok().as_ref() == Some(&trust)
    });
}

#[test]
fn malformed_cards_get_typed_errors() {
    assert!(matches!(Identity::from_bytes(&[]), Err(Error::Decode(_))));
    assert!(matches!(
        Identity::from_bytes(&[9, 1]),
        Err(Error::Decode(_))
    ));
    assert!(matches!(
        Identity::from_bytes(&vec![1; 100_000]),
        Err(Error::Decode(_))
    ));
    assert!(matches!(
        Identity::from_text("not base64!"),
        Err(Error::Decode(_))
    ));
    assert!(Account::create("", NOW).is_err());
    assert!(Account::create(&"x".repeat(257), NOW).is_err());
    assert!(Account::create("tab\there", NOW).is_err());
}

#[test]
fn safety_number_is_the_same_on_both_sides_and_changes_with_keys() {
    let alice = account("alice");
    let bob = account("bob");
    let a_view = alice.identity().safety_number(bob.identity());
    let b_view = bob.identity().safety_number(alice.identity());
    assert_eq!(a_view, b_view);
    assert_eq!(a_view.to_string(), b_view.to_string());
    let digits = a_view.digits();
    assert_eq!(digits.len(), 60);
    assert!(digits.bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(a_view.to_string().split(' ').count(), 12);
    assert!(b_view.matches_qr(&a_view.to_qr_bytes()));

    let bob2 = account("bob");
    let changed = alice.identity().safety_number(bob2.identity());
    assert_ne!(changed.digits(), digits);
    assert!(!changed.matches_qr(&a_view.to_qr_bytes()));

    let fp = alice.identity().fingerprint().to_string();
    assert_eq!(fp.len(), 30 + 5);
    assert_ne!(fp, bob.identity().fingerprint().to_string());
}

#[test]
fn changed_key_is_reported_not_accepted() {
    let bob = account("bob");
    let impostor = account("bob");
    let mut trust = TrustStore::new();
    assert_eq!(
        trust.observe(bob.identity(), NOW).unwrap(),
        TrustStatus::NewlyPinned
    );
    assert_eq!(
        trust.observe(bob.identity(), NOW + 1).unwrap(),
        TrustStatus::Pinned
    );
    match trust.observe(impostor.identity(), NOW + 2) {
        Err(Error::KeyChanged { handle }) => assert_eq!(handle, "bob"),
        other => panic!("expected KeyChanged, got {other:?}"),
    }
    // Still refused on the next look: nothing changed silently.
    assert!(matches!(
        trust.check(impostor.identity()),
        Err(Error::KeyChanged { .. })
    ));
    assert_eq!(trust.get("bob").unwrap().card, *bob.identity());

    // Verification is recorded, and only for the pinned card.
    assert!(
        trust
            .mark_verified("bob", &impostor.identity().fingerprint(), NOW)
            .is_err()
    );
    trust
        .mark_verified("bob", &bob.identity().fingerprint(), NOW + 3)
        .unwrap();
    assert_eq!(
        trust.check(bob.identity()).unwrap(),
        TrustStatus::Verified { at: NOW + 3 }
    );

    // The app shows the change; the user accepts it; the new card starts unverified.
    trust.accept_changed_key(impostor.identity(), NOW + 4);
    assert_eq!(
        trust.check(impostor.identity()).unwrap(),
        TrustStatus::Pinned
    );
    assert!(matches!(
        trust.check(bob.identity()),
        Err(Error::KeyChanged { .. })
    ));

    let restored = TrustStore::from_bytes(&trust.to_bytes()).unwrap();
    assert_eq!(restored, trust);
}

#[test]
fn wrapped_key_moved_to_other_context_is_refused() {
    let bob = account("bob");
    let rid = bob.identity().fingerprint().to_bytes();
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"collection-1",
        epoch: 7,
        recipient: &rid,
    };
    let key = SecretKey::random().unwrap();
    let wrapped = WrappedSecret::wrap_key(bob.identity().kem_key(), &ctx, &key).unwrap();
    assert_eq!(bob.unwrap_key(&wrapped, &ctx).unwrap(), key);
    let carol = account("carol");
    let carol_id = carol.identity().fingerprint().to_bytes();
    for other in [
        WrapContext {
            collection: b"collection-2",
            ..ctx
        },
        WrapContext { epoch: 8, ..ctx },
        WrapContext {
            recipient: &carol_id,
            ..ctx
        },
    ] {
        assert!(matches!(
            bob.unwrap_key(&wrapped, &other),
            Err(Error::DecryptionFailed)
        ));
    }
    assert!(matches!(
        carol.unwrap_key(
            &wrapped,
            &WrapContext {
                recipient: &carol_id,
                ..ctx
            }
        ),
        Err(Error::DecryptionFailed)
    ));
}

#[test]
fn account_secrets_round_trip_and_stay_out_of_debug() {
    let alice = account("alice");
    let secrets = alice.to_secret_bytes();
    let restored = Account::from_secret_bytes(secrets.expose()).unwrap();
    assert_eq!(restored.identity(), alice.identity());
    let shown = format!("{alice:?} {secrets:?}");
    let seed_text =
        sealshare::wire::to_text(&secrets.expose()[secrets.len() - 64..secrets.len() - 32]);
    assert!(!shown.contains(&seed_text[..16]), "{shown}");
    assert!(shown.contains("alice"));
    let mut longer = secrets.expose().to_vec();
    longer.push(0);
    assert!(Account::from_secret_bytes(&longer).is_err());
}

#[test]
fn account_unlocks_with_password_or_recovery_phrase() {
    let (alice, keystore, phrase) =
        Account::create_protected("alice", NOW, "correct horse", Profile::Constrained).unwrap();
    let stored = keystore.to_bytes();
    let keystore = sealshare::Keystore::from_bytes(&stored).unwrap();
    assert_eq!(
        Account::unlock(&keystore, "correct horse")
            .unwrap()
            .identity(),
        alice.identity()
    );
    assert!(matches!(
        Account::unlock(&keystore, "wrong horse"),
        Err(Error::WrongPassword)
    ));
    assert_eq!(
        Account::recover(&keystore, &phrase).unwrap().identity(),
        alice.identity()
    );
}
