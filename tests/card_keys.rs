//! Card keys that could block a rotation or give two verdicts are refused when
//! a card is decoded: an X25519 KEM key of small order (nothing can be wrapped
//! to it, so every share and rotation to its holder would fail) and an Ed25519
//! signing key with a torsion component (an honest key plus a small-order
//! point: the cofactored equation accepts its signatures where a cofactorless
//! verifier's verdict depends on the message). Cards are built and self-signed
//! here by hand, as an attacker would, and carried into a Share and a Join
//! that are signed by hand too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::{Domain, SigningKey};
use sealshare::internal::log::Body;
use sealshare::internal::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use sealshare::{
    Collection, CryptoError, DecodeError, Error, Identity, InviteTerms, LinkUrl, LogState,
    Operation, Role, TrustStore, Violation,
};
use support::{TestClock, TestServer, user};

/// A signing key built by hand: the secret scalar of an honest key made from
/// `seed`, and the public point `aB + T` for the small-order point
/// `EIGHT_TORSION[torsion]` (index 0 is the identity: the honest key).
struct HandKey {
    seed: [u8; 32],
    a: Scalar,
    public: [u8; 32],
}

fn hand_key(seed: u8, torsion: usize) -> HandKey {
    let seed = [seed; 32];
    let a = ed25519_dalek::SigningKey::from_bytes(&seed).to_scalar();
    let point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[torsion];
    HandKey {
        seed,
        a,
        public: point.compress().to_bytes(),
    }
}

/// `"sealshare/v1/sig/" || label || 0x00 || msg`, as SPEC.md §Labels says.
fn labelled(label: &str, msg: &[u8]) -> Vec<u8> {
    [b"sealshare/v1/sig/", label.as_bytes(), b"\0", msg].concat()
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

/// An Ed25519 signature by hand under the claimed public key `key.public`:
/// `R = rB`, `s = r + k·a` with `k = H(R || A' || M)`. For an honest key it is
/// an ordinary valid signature; for `A' = aB + T` it satisfies the cofactored
/// equation (the torsion term vanishes when multiplied by 8).
fn sign_by_hand(key: &HandKey, label: &str, msg: &[u8]) -> [u8; 64] {
    let full = labelled(label, msg);
    let nonce: [u8; 64] = Sha512::new()
        .chain_update(b"hand nonce")
        .chain_update(key.public)
        .chain_update(&full)
        .finalize()
        .into();
    let r = Scalar::from_bytes_mod_order_wide(&nonce);
    let big_r = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
    let s = r + challenge(&big_r, &key.public, &full) * key.a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig
}

/// `[8]([s]B − R − [k]A) = 0`: the equation sealshare verifies with.
fn cofactored_holds(public: &[u8; 32], label: &str, msg: &[u8], sig: &[u8; 64]) -> bool {
    let a = CompressedEdwardsY(*public).decompress().unwrap();
    let r_bytes: [u8; 32] = sig[..32].try_into().unwrap();
    let r = CompressedEdwardsY(r_bytes).decompress().unwrap();
    let s = Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()).unwrap();
    let k = challenge(&r_bytes, public, &labelled(label, msg));
    let check: EdwardsPoint = ED25519_BASEPOINT_POINT * s - r - a * k;
    check.mul_by_cofactor().is_identity()
}

/// A card as SPEC.md §Identity card encodes it, self-signed by hand.
fn hand_card(handle: &str, key: &HandKey, kem: [u8; 32], created_at: u64) -> Vec<u8> {
    let mut card = vec![0x01, 0x01];
    card.extend_from_slice(&(handle.len() as u32).to_be_bytes());
    card.extend_from_slice(handle.as_bytes());
    card.extend_from_slice(&key.public);
    card.extend_from_slice(&kem);
    card.extend_from_slice(&created_at.to_be_bytes());
    let sig = sign_by_hand(key, "identity-card", &card);
    card.extend_from_slice(&sig);
    card
}

/// An honest X25519 public key.
fn honest_kem(seed: u8) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([seed; 32])).to_bytes()
}

/// X25519 public keys of small order (every shared secret with them is zero),
/// canonical and not: 0, 1, the two points of order 8, p − 1, p, p + 1, and a
/// point of order 8 with the top bit (ignored by X25519) set.
fn low_order_kem_keys() -> Vec<[u8; 32]> {
    let hex32 = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    vec![
        [0; 32],
        hex32("0100000000000000000000000000000000000000000000000000000000000000"),
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        hex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        // The order-8 points with the (ignored) top bit set.
        hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880"),
    ]
}

fn weak_key(result: Result<Identity, CryptoError>, expected: &str) {
    match result {
        Err(CryptoError::WeakKey(why)) => assert!(why.contains(expected), "{why}"),
        other => panic!("expected WeakKey ({expected}), got {other:?}"),
    }
}

/// The hand-built card with honest keys decodes (so the hand signature and
/// encoding are right); with a low-order KEM key it is refused with
/// `WeakKey`, also inside a trust store.
#[test]
fn a_card_with_a_low_order_kem_key_is_refused_at_decode() {
    let key = hand_key(1, 0);
    let honest = hand_card("eve", &key, honest_kem(2), 7);
    let card = Identity::from_bytes(&honest).unwrap();
    assert_eq!(card.to_bytes(), honest);
    for kem in low_order_kem_keys() {
        assert!(sealshare::internal::crypto::x25519::is_low_order(&kem));
        let bytes = hand_card("eve", &key, kem, 7);
        weak_key(Identity::from_bytes(&bytes), "X25519 key of small order");
        weak_key(
            Identity::from_text(&sealshare::internal::wire::to_text(&bytes)),
            "X25519",
        );
        // A trust store holding such a card does not decode either.
        let mut store = TrustStore::new();
        store.observe(&card, 1).unwrap();
        let mut stored = store.to_bytes();
        let at = stored
            .windows(honest.len())
            .position(|w| w == honest.as_slice())
            .unwrap();
        stored[at..at + honest.len()].copy_from_slice(&bytes);
        assert!(matches!(
            TrustStore::from_bytes(&stored),
            Err(Error::WeakKey(_))
        ));
    }
}

/// A card whose signing key is an honest key plus each of the seven nonzero
/// small-order points, self-signed by hand so that the cofactored equation
/// holds (shown here), is refused at decode with `WeakKey` naming the torsion;
/// so is a card whose signing key is itself of small order.
#[test]
fn a_card_whose_signing_key_has_torsion_is_refused_at_decode() {
    for t in 1..8 {
        let key = hand_key(3, t);
        let bytes = hand_card("eve", &key, honest_kem(4), 7);
        let signed = &bytes[..bytes.len() - 64];
        let sig: [u8; 64] = bytes[bytes.len() - 64..].try_into().unwrap();
        assert!(
            cofactored_holds(&key.public, "identity-card", signed, &sig),
            "torsion {t}: the self-signature satisfies the cofactored equation"
        );
        weak_key(Identity::from_bytes(&bytes), "torsion component");
    }
    for t in EIGHT_TORSION {
        let small = HandKey {
            seed: [0; 32],
            a: Scalar::ZERO,
            public: t.compress().to_bytes(),
        };
        let bytes = hand_card("eve", &small, honest_kem(4), 7);
        weak_key(Identity::from_bytes(&bytes), "small order");
    }
}

/// The two doctored cards every log test below carries: the same handle and
/// length as the honest card, with a low-order KEM key or a torsion key.
fn doctored_cards(handle: &str, seed: u8) -> Vec<(&'static str, HandKey, Vec<u8>)> {
    let low_kem = hand_key(seed, 0);
    let low_kem_card = hand_card(handle, &low_kem, low_order_kem_keys()[2], 7);
    let torsion = hand_key(seed, 4);
    let torsion_card = hand_card(handle, &torsion, honest_kem(seed), 7);
    vec![
        ("X25519 key of small order", low_kem, low_kem_card),
        ("torsion component", torsion, torsion_card),
    ]
}

fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .unwrap();
    let mut out = haystack.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// A fresh verifier refuses `log` at its last operation as malformed: the
/// card inside does not decode, for the reason `why`.
fn refused_as_malformed(id: sealshare::CollectionId, log: &[Vec<u8>], why: &str) {
    let mut state = LogState::empty(id);
    match state.extend_from_bytes(log, u64::MAX).unwrap_err() {
        sealshare::internal::log::VerifyError::InvalidOperation {
            seq,
            violation: Violation::Malformed(DecodeError::Invalid { what, reason }),
            ..
        } => {
            assert_eq!(seq, log.len() as u64 - 1);
            assert_eq!(what, "identity card key");
            assert!(reason.contains(why), "{reason}");
        }
        other => panic!("expected a malformed card, got {other:?}"),
    }
    assert_eq!(state.len(), log.len() as u64 - 1);
}

/// A Share whose card has a low-order KEM key or a torsion signing key,
/// re-signed by the owner, is refused by the log verifier as malformed; the
/// same Share with the honest hand-built card is accepted.
#[test]
fn a_share_carrying_a_weak_card_is_refused_by_the_log() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let id = coll.id();
    let honest = hand_card("eve", &hand_key(5, 0), honest_kem(5), 7);
    let card = Identity::from_bytes(&honest).unwrap();
    owner.observe(&card).unwrap();
    coll.share(&mut owner, &card, Role::Viewer).unwrap();
    let log = server.log(&id);
    let share = log.last().unwrap().clone();
    assert!(matches!(
        Operation::from_bytes(&share).unwrap().body().clone(),
        Body::Share { .. }
    ));
    LogState::empty(id)
        .extend_from_bytes(&log, u64::MAX)
        .unwrap();

    for (why, _, doctored) in doctored_cards("eve", 5) {
        let mut op = replace_once(&share, &honest, &doctored);
        let end = op.len() - 64;
        let sig = signing_key_of(&owner)
            .sign(Domain::Operation, &op[..end])
            .to_bytes();
        op[end..].copy_from_slice(&sig);
        let mut forged = log.clone();
        *forged.last_mut().unwrap() = op;
        refused_as_malformed(id, &forged, why);
    }
}

/// A Join by a hand-built card through an invite link, signed by hand: with
/// the honest card it is accepted (the proof and signature are right); with a
/// low-order KEM key or a torsion signing key in the card it is refused by the
/// log verifier as malformed.
#[test]
fn a_join_carrying_a_weak_card_is_refused_by_the_log() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let id = coll.id();
    let url: LinkUrl = coll
        .create_invite_link(
            &mut owner,
            "https://notes.example/join",
            InviteTerms {
                approval: true,
                ..Default::default()
            },
        )
        .unwrap();
    let log = server.log(&id);
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();

    // The link's signing key, derived from the URL's secret as SPEC.md says.
    let fragment = url.to_url().split_once('#').unwrap().1.to_owned();
    let payload = sealshare::internal::wire::from_text(&fragment, "link", 98).unwrap();
    let link_key = SigningKey::from_seed(
        &sealshare::internal::crypto::kdf::derive_key(
            &payload[34..66],
            b"",
            "link-signing",
            &[id.0, url.link().0].concat(),
        )
        .unwrap(),
    );

    let joiner = hand_key(6, 0);
    let honest = hand_card("eve", &joiner, honest_kem(6), 7);
    let card = Identity::from_bytes(&honest).unwrap();
    let proof = link_key.sign(
        JOIN_PROOF_DOMAIN,
        &join_proof_message(&id, &url.link(), &card, Role::Viewer),
    );
    let join = Operation::sign(
        &SigningKey::from_seed(&SecretKey::from_bytes(joiner.seed)),
        id,
        log.len() as u64,
        last.hash(),
        "eve",
        clock.now(),
        Body::Join {
            link: url.link(),
            role: Role::Viewer,
            card,
            proof,
            wrap: None,
        },
    )
    .unwrap()
    .to_bytes()
    .to_vec();
    let mut accepted = log.clone();
    accepted.push(join.clone());
    LogState::empty(id)
        .extend_from_bytes(&accepted, u64::MAX)
        .unwrap();

    for (why, key, doctored) in doctored_cards("eve", 6) {
        let mut op = replace_once(&join, &honest, &doctored);
        let end = op.len() - 64;
        let sig = sign_by_hand(&key, "operation", &op[..end]);
        op[end..].copy_from_slice(&sig);
        // The operation's own signature holds under the card's key (cofactored).
        assert!(cofactored_holds(&key.public, "operation", &op[..end], &sig));
        let mut forged = log.clone();
        forged.push(op);
        refused_as_malformed(id, &forged, why);
    }
}

/// The signing key of a test user, taken from its secrets' encoding
/// (`01 06 || handle || created_at || signing_seed || kem_secret`): what a
/// member who ignores the rules signs hand-doctored bytes with.
fn signing_key_of(client: &sealshare::Client) -> SigningKey {
    let secrets = client.account().to_secret_bytes();
    let bytes = secrets.expose();
    let handle_len = client.account().handle().len();
    let at = 2 + 4 + handle_len + 8;
    let seed: [u8; 32] = bytes[at..at + 32].try_into().unwrap();
    SigningKey::from_seed(&SecretKey::from_bytes(seed))
}
