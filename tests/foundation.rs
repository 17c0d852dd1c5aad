//! The foundation as a user relies on it: accounts, identity cards, fingerprints
//! and safety numbers, the trust store, wrapped keys, and refusal of every
//! altered object.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::password::Profile;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::{Domain, SigningKey};
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::crypto::x25519::{KemPublicKey, KemSecretKey};
use sealshare::{
    Account, CryptoError, DecodeError, Error, Identity, PinReason, TrustStatus, TrustStore,
};

mod support;

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
        Err(CryptoError::BadSignature { .. })
    ));
    // Alice's card with Mallory's KEM key spliced in.
    let mut swapped = alice.identity().to_bytes();
    let kem_at = 2 + 4 + 5 + 32;
    swapped[kem_at..kem_at + 32].copy_from_slice(mallory.identity().kem_key().as_bytes());
    assert_ne!(swapped, alice.identity().to_bytes());
    // Any 32 bytes decode as an X25519 key, so only the self-signature refuses it.
    match Identity::from_bytes(&swapped) {
        Err(CryptoError::BadSignature { what }) => assert_eq!(what, "identity-card"),
        other => panic!("expected the card's signature refused, got {other:?}"),
    }
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

    // The trust store: one card pinned, one pinned and verified. Its encoding is
    // not authenticated as a whole (it is kept sealed under the account, as the
    // CLI does; sealed, every flip is refused, below). What decoding can check,
    // it does: the cards are self-signed and re-verified, the acceptance tag
    // must be 0, 1 or 2, the verified flag 0 with time 0 or 1, handles in
    // strict order, each history 1 to 32 cards of one handle, counts and
    // lengths must fit. The generation, the times and the acceptance tag are
    // the holder's own bookkeeping and are not signed: a flip there decodes, to
    // exactly that field changed, as does turning "not verified (time 0)" into
    // "verified at time 0". Every other flip must be an error.
    let bob = account("bob");
    let mut trust = TrustStore::new();
    trust.observe(alice.identity(), NOW).unwrap();
    trust.observe(bob.identity(), NOW + 1).unwrap();
    trust
        .mark_verified("bob", &bob.identity().fingerprint(), NOW + 2)
        .unwrap();
    assert_eq!(trust.generation(), 3);
    let bytes = trust.to_bytes();
    let pins: Vec<_> = trust.iter().cloned().collect();
    assert_eq!(pins[0].verified_at, None);
    assert_eq!(pins[1].verified_at, Some(NOW + 2));
    // Where each card's pinned_at, acceptance tag, verified flag and
    // verified_at sit (each handle holds one card).
    let mut fields = Vec::new();
    let mut at = 2 + 8 + 4;
    for pin in &pins {
        at += 1 + 4 + pin.card.to_bytes().len();
        fields.push((at, at + 8, at + 9, at + 10));
        at += 8 + 1 + 1 + 8;
    }
    assert_eq!(at, bytes.len(), "layout of the trust store");
    let mut decoded_flips = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let mut expected = pins.clone();
            let mut generation = trust.generation();
            let mut decodes = false;
            if (2..10).contains(&i) {
                generation ^= 1u64 << (8 * (9 - i) + bit);
                decodes = true;
            }
            for (pin, &(pinned_at, how, flag, verified_at)) in expected.iter_mut().zip(&fields) {
                if (pinned_at..pinned_at + 8).contains(&i) {
                    pin.pinned_at ^= 1u64 << (8 * (pinned_at + 7 - i) + bit);
                    decodes = true;
                }
                if i == how && bit < 2 {
                    pin.how = [PinReason::AcceptedShare, PinReason::ConfirmedChange][bit];
                    decodes = true;
                }
                if i == flag && bit == 0 && pin.verified_at.is_none() {
                    pin.verified_at = Some(0);
                    decodes = true;
                }
                if (verified_at..verified_at + 8).contains(&i)
                    && let Some(t) = &mut pin.verified_at
                {
                    *t ^= 1u64 << (8 * (verified_at + 7 - i) + bit);
                    decodes = true;
                }
            }
            let got = TrustStore::from_bytes(&b);
            if decodes {
                decoded_flips += 1;
                let got = got.unwrap_or_else(|e| panic!("trust store byte {i} bit {bit}: {e:?}"));
                assert_eq!(
                    got.generation(),
                    generation,
                    "trust store byte {i} bit {bit}"
                );
                let got: Vec<_> = got.iter().cloned().collect();
                assert_eq!(got, expected, "trust store byte {i} bit {bit}");
            } else {
                assert!(
                    got.is_err(),
                    "trust store: flip of byte {i} bit {bit} was accepted"
                );
            }
        }
    }
    // The generation, two accepted_at times, two tags of two bits each, one
    // verified_at time, one flag.
    assert_eq!(decoded_flips, 64 + 64 + 64 + 4 + 64 + 1);
    // Stored as the CLI stores it, sealed under a key of the account: every flip
    // is refused.
    let sealed = SealedBox::seal(&key, &bytes, b"trust store")
        .unwrap()
        .to_bytes();
    assert_every_flip_refused(&sealed, "sealed trust store", |b| {
        SealedBox::from_bytes(b)
            .ok()
            .and_then(|s| s.open(&key, b"trust store").ok())
            .and_then(|plain| TrustStore::from_bytes(plain.expose()).ok())
            .is_some()
    });
}

#[test]
fn malformed_cards_get_typed_errors() {
    assert!(matches!(
        Identity::from_bytes(&[]),
        Err(CryptoError::Decode(_))
    ));
    assert!(matches!(
        Identity::from_bytes(&[9, 1]),
        Err(CryptoError::Decode(_))
    ));
    assert!(matches!(
        Identity::from_bytes(&vec![1; 100_000]),
        Err(CryptoError::Decode(_))
    ));
    assert!(matches!(
        Identity::from_text("not base64!"),
        Err(CryptoError::Decode(_))
    ));
    // A text form has one spelling: a trailing newline is refused, not trimmed.
    let card = account("tess").identity().to_text();
    assert!(matches!(
        Identity::from_text(&format!("{card}\n")),
        Err(CryptoError::Decode(DecodeError::Invalid { .. }))
    ));
    assert!(Identity::from_text(&card).is_ok());
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
        Err(Error::KeyChanged {
            handle,
            pinned,
            presented,
        }) => {
            assert_eq!(handle, "bob");
            assert_eq!(*pinned, *bob.identity());
            assert_eq!(*presented, *impostor.identity());
        }
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
    trust.confirm_changed_key(impostor.identity(), NOW + 4);
    assert_eq!(
        trust.check(impostor.identity()).unwrap(),
        TrustStatus::Pinned
    );
    assert!(matches!(
        trust.check(bob.identity()),
        Err(Error::KeyChanged { .. })
    ));
    // The history keeps both, oldest first; going back to the first card is a
    // change like any other.
    let history: Vec<_> = trust
        .history("bob")
        .iter()
        .map(|c| c.card.clone())
        .collect();
    assert_eq!(
        history,
        [bob.identity().clone(), impostor.identity().clone()]
    );
    assert_eq!(trust.history("bob")[1].how, PinReason::ConfirmedChange);
    assert!(matches!(
        trust.observe(bob.identity(), NOW + 5),
        Err(Error::KeyChanged { ref presented, .. }) if **presented == *bob.identity()
    ));
    assert_eq!(
        trust.history("bob").len(),
        2,
        "a refused card changes nothing"
    );

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
    let seed_text = sealshare::internal::wire::to_text(
        &secrets.expose()[secrets.len() - 64..secrets.len() - 32],
    );
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

/// Every distinct X25519 public key of the Wycheproof file whose shared secret is
/// all zero: the low-order points, in every encoding (high bit set, non-canonical).
fn low_order_points() -> Vec<[u8; 32]> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/external/wycheproof/x25519_test.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut points = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            let shared = hex::decode(t["shared"].as_str().unwrap()).unwrap();
            let public: [u8; 32] = hex::decode(t["public"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            if shared.iter().all(|b| *b == 0) && !points.contains(&public) {
                points.push(public);
            }
        }
    }
    // 0, 1, the two points of order 8, p - 1, p and p + 1, each also with the
    // high bit set.
    assert_eq!(points.len(), 14, "low-order points in the Wycheproof file");
    for p in &points {
        assert!(sealshare::internal::crypto::x25519::is_low_order(p));
    }
    points
}

/// HPKE's `info` for a wrapped secret, from the layout in SPEC.md.
fn wrap_info(ctx: &WrapContext<'_>, recipient_kem: &[u8; 32]) -> Vec<u8> {
    let mut info = b"sealshare/v1/wrap\0".to_vec();
    info.push(ctx.purpose.len() as u8);
    info.extend_from_slice(ctx.purpose.as_bytes());
    info.push(ctx.collection.len() as u8);
    info.extend_from_slice(ctx.collection);
    info.extend_from_slice(&ctx.epoch.to_be_bytes());
    info.extend_from_slice(ctx.recipient);
    info.extend_from_slice(recipient_kem);
    info
}

fn labeled_extract(suite: &[u8], salt: &[u8], label: &str, ikm: &[u8]) -> Vec<u8> {
    let labeled = [b"HPKE-v1".as_slice(), suite, label.as_bytes(), ikm].concat();
    hkdf::Hkdf::<sha2::Sha256>::extract(Some(salt), &labeled)
        .0
        .to_vec()
}

fn labeled_expand(suite: &[u8], prk: &[u8], label: &str, info: &[u8], len: usize) -> Vec<u8> {
    let labeled = [
        (len as u16).to_be_bytes().as_slice(),
        b"HPKE-v1",
        suite,
        label.as_bytes(),
        info,
    ]
    .concat();
    let mut out = vec![0; len];
    hkdf::Hkdf::<sha2::Sha256>::from_prk(prk)
        .unwrap()
        .expand(&labeled, &mut out)
        .unwrap();
    out
}

/// A wrapped secret built by hand (RFC 9180 base mode, DHKEM(X25519,
/// HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) from the encapsulated key
/// `enc` and the X25519 output `dh` the recipient would compute: what anyone who
/// knows that output can build.
fn wrap_by_hand(
    enc: &[u8; 32],
    dh: &[u8; 32],
    recipient_kem: &[u8; 32],
    ctx: &WrapContext<'_>,
    secret: &[u8],
) -> WrappedSecret {
    let kem_suite = [b"KEM".as_slice(), &[0x00, 0x20]].concat();
    let suite = [b"HPKE".as_slice(), &[0x00, 0x20, 0x00, 0x01, 0x00, 0x03]].concat();
    let kem_context = [enc.as_slice(), recipient_kem].concat();
    let eae_prk = labeled_extract(&kem_suite, b"", "eae_prk", dh);
    let shared = labeled_expand(&kem_suite, &eae_prk, "shared_secret", &kem_context, 32);
    let psk_id_hash = labeled_extract(&suite, b"", "psk_id_hash", b"");
    let info_hash = labeled_extract(&suite, b"", "info_hash", &wrap_info(ctx, recipient_kem));
    let schedule = [[0u8].as_slice(), &psk_id_hash, &info_hash].concat();
    let prk = labeled_extract(&suite, &shared, "secret", b"");
    let key: [u8; 32] = labeled_expand(&suite, &prk, "key", &schedule, 32)
        .try_into()
        .unwrap();
    let nonce: [u8; 12] = labeled_expand(&suite, &prk, "base_nonce", &schedule, 12)
        .try_into()
        .unwrap();
    let ciphertext = sealshare::internal::crypto::aead::chacha_seal(
        &SecretKey::from_bytes(key),
        &nonce,
        secret,
        b"",
    )
    .unwrap();
    // `01 03 || enc[32] || len u32 || ciphertext`
    let mut bytes = vec![1, 3];
    bytes.extend_from_slice(enc);
    bytes.extend_from_slice(&(ciphertext.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&ciphertext);
    WrappedSecret::from_bytes(&bytes).unwrap()
}

/// Wrapping goes through HPKE, not `KemSecretKey::diffie_hellman`: the
/// low-order refusal must hold on that path. A recipient key of low order
/// would make the shared secret all zero, known to anyone.
#[test]
fn wrapping_to_a_low_order_x25519_key_is_refused() {
    let alice = account("alice");
    let rid = alice.identity().fingerprint().to_bytes();
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"c",
        epoch: 0,
        recipient: &rid,
    };
    let key = SecretKey::random().unwrap();
    for point in low_order_points() {
        let weak = KemPublicKey::from_bytes(point);
        for r in [
            WrappedSecret::wrap(&weak, &ctx, b"secret"),
            WrappedSecret::wrap_key(&weak, &ctx, &key),
        ] {
            assert!(
                matches!(r, Err(CryptoError::WeakKey(_))),
                "{}: {r:?}",
                hex::encode(point)
            );
        }
    }
    // And before any collection sees it: a self-signed card carrying a
    // low-order KEM key is refused when decoded (`WeakKey`), so no share or
    // rotation can ever be asked to wrap to it (tests/card_keys.rs).
    let signer = SigningKey::generate().unwrap();
    for point in low_order_points() {
        let mut card = vec![1, 1];
        card.extend_from_slice(&(3u32).to_be_bytes());
        card.extend_from_slice(b"eve");
        card.extend_from_slice(&signer.verifying_key().to_bytes());
        card.extend_from_slice(&point);
        card.extend_from_slice(&NOW.to_be_bytes());
        let signature = signer.sign(Domain::IdentityCard, &card);
        card.extend_from_slice(&signature.to_bytes());
        let r = Identity::from_bytes(&card);
        assert!(
            matches!(r, Err(CryptoError::WeakKey(_))),
            "{}: {r:?}",
            hex::encode(point)
        );
    }
}

/// The other direction: a wrapped secret whose encapsulated key is a low-order
/// point. Its DH output is all zero whatever the recipient's key, so anyone can
/// build one that opens to a secret of their choice; the recipient must refuse
/// it. The same construction with an honest ephemeral key opens, which shows the
/// hand-built wrap is exactly what the library would accept.
#[test]
fn wrapped_secret_with_a_low_order_enc_is_refused() {
    let alice = account("alice");
    let rid = alice.identity().fingerprint().to_bytes();
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"c",
        epoch: 0,
        recipient: &rid,
    };
    let pk = alice.identity().kem_key().to_bytes();
    let chosen = SecretKey::from_bytes([0x5a; 32]);

    let eph = KemSecretKey::generate().unwrap();
    let dh = eph.diffie_hellman(alice.identity().kem_key()).unwrap();
    let honest = wrap_by_hand(
        &eph.public_key().to_bytes(),
        dh.expose(),
        &pk,
        &ctx,
        chosen.expose(),
    );
    assert_eq!(alice.unwrap_key(&honest, &ctx).unwrap(), chosen);

    for point in low_order_points() {
        let forged = wrap_by_hand(&point, &[0; 32], &pk, &ctx, chosen.expose());
        let r = alice.unwrap_key(&forged, &ctx);
        assert!(
            matches!(r, Err(Error::DecryptionFailed)),
            "{}: {r:?}",
            hex::encode(point)
        );
    }
}

/// Every way a secret's bytes could show up in text: hex (both cases), the
/// `Debug` of a byte array, base64url and base64 of the whole secret, and base64
/// of it at each alignment inside a longer encoding (as in a URL fragment).
fn encodings_of(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        format!("{secret:?}"),
        format!("{secret:02x?}"),
    ];
    for engine in [URL_SAFE_NO_PAD, STANDARD_NO_PAD] {
        forms.push(engine.encode(secret));
        for shift in 0..3 {
            let rest = &secret[shift..];
            forms.push(engine.encode(&rest[..rest.len() / 3 * 3]));
        }
    }
    forms
}

#[track_caller]
fn assert_hidden(shown: &str, secret: &[u8], what: &str) {
    assert!(secret.iter().any(|b| *b != 0), "{what}: a real secret");
    for form in encodings_of(secret) {
        assert!(!shown.contains(&form), "{what} shows {form}: {shown}");
    }
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let kem = KemSecretKey::generate().unwrap();
    let kem_secret = kem.to_secret();
    for shown in [format!("{kem:?}"), format!("{kem:#?}")] {
        assert_hidden(&shown, kem_secret.expose(), "KemSecretKey");
        assert!(shown.contains(&sealshare::internal::wire::to_text(
            kem.public_key().as_bytes()
        )));
    }

    let key = SecretKey::random().unwrap();
    for shown in [format!("{key:?}"), format!("{key:#?}")] {
        assert_hidden(&shown, key.expose(), "SecretKey");
    }

    let signer = SigningKey::generate().unwrap();
    for shown in [format!("{signer:?}"), format!("{signer:#?}")] {
        assert_hidden(&shown, signer.seed().expose(), "SigningKey");
    }

    let alice = account("alice");
    let secrets = alice.to_secret_bytes();
    let all = secrets.expose();
    let (seed, kem) = all[all.len() - 64..].split_at(32);
    for shown in [
        format!("{alice:?}"),
        format!("{alice:#?}"),
        format!("{secrets:?}"),
        format!("{secrets:#?}"),
    ] {
        assert_hidden(&shown, seed, "Account signing seed");
        assert_hidden(&shown, kem, "Account KEM secret");
        assert_hidden(&shown, all, "Account secrets");
    }
    assert!(format!("{alice:?}").contains("alice"));

    // A link, parsed from a URL whose secret we chose at random.
    let secret: [u8; 32] = sealshare::internal::crypto::random::array().unwrap();
    let mut payload = vec![1, 1];
    payload.extend_from_slice(&[7; 16]);
    payload.extend_from_slice(&[8; 16]);
    payload.extend_from_slice(&secret);
    payload.extend_from_slice(alice.identity().signing_key().as_bytes());
    let fragment = sealshare::internal::wire::to_text(&payload);
    let url = format!("https://example.test/join#{fragment}");
    let link = sealshare::LinkUrl::parse(&url).unwrap();
    assert_eq!(link.to_url(), url);
    for shown in [format!("{link:?}"), format!("{link:#?}")] {
        assert_hidden(&shown, &secret, "LinkUrl");
        assert!(
            !shown.contains(&fragment),
            "LinkUrl shows its fragment: {shown}"
        );
    }
}
