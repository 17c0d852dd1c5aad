use super::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

/// The byte-level canonicity check agrees with decompress-then-recompress on
/// random encodings and on every edge case (y near p, x = 0 with a sign bit).
#[test]
fn canonical_check_matches_recompression() {
    let reference = |b: &[u8; 32]| {
        CompressedEdwardsY(*b)
            .decompress()
            .is_some_and(|p| p.compress().to_bytes() == *b)
    };
    let mut cases: Vec<[u8; 32]> = Vec::new();
    for last in [0x7f, 0xff, 0x00, 0x80] {
        for first in [0x00, 0x01, 0xec, 0xed, 0xee, 0xff] {
            for middle in [0x00, 0xff] {
                let mut b = [middle; 32];
                b[0] = first;
                b[31] = last;
                cases.push(b);
            }
        }
    }
    for _ in 0..20_000 {
        cases.push(random::array().unwrap());
    }
    for p in EIGHT_TORSION {
        let b = p.compress().to_bytes();
        cases.push(b);
        let mut signed = b;
        signed[31] |= 0x80;
        cases.push(signed);
    }
    for b in &cases {
        assert_eq!(decompress_strict(b).is_some(), reference(b), "{b:02x?}");
    }
}

#[test]
fn sign_verify_and_domains() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key();
    let sig = key.sign(Domain::IdentityCard, b"hello");
    vk.verify(Domain::IdentityCard, b"hello", &sig).unwrap();
    assert!(vk.verify(Domain::LinkJoin, b"hello", &sig).is_err());
    assert!(vk.verify(Domain::IdentityCard, b"hellO", &sig).is_err());
    assert!(!format!("{key:?}").contains(&crate::wire::to_text(key.seed().expose())));
}

#[test]
fn small_order_keys_refused() {
    for t in EIGHT_TORSION.iter() {
        assert!(matches!(
            VerifyingKey::from_bytes(&t.compress().to_bytes()),
            Err(Error::WeakKey(why)) if why.contains("small order")
        ));
    }
}

/// An honest key plus any of the seven nonzero small-order points (a key
/// with a torsion component, of order 2ℓ, 4ℓ or 8ℓ) is refused; honest keys
/// made from seeds are always accepted.
#[test]
fn keys_with_a_torsion_component_refused() {
    for _ in 0..16 {
        let vk = SigningKey::generate().unwrap().verifying_key();
        assert!(VerifyingKey::from_bytes(vk.as_bytes()).is_ok());
        for t in &EIGHT_TORSION[1..] {
            let mixed = (vk.point + t).compress().to_bytes();
            assert!(matches!(
                VerifyingKey::from_bytes(&mixed),
                Err(Error::WeakKey(why)) if why.contains("torsion")
            ));
        }
    }
}

fn items<'a>(
    keys: &'a [VerifyingKey],
    msgs: &'a [Vec<u8>],
    sigs: &'a [Signature],
) -> Vec<BatchItem<'a>> {
    keys.iter()
        .zip(msgs)
        .zip(sigs)
        .map(|((key, msg), signature)| BatchItem {
            key,
            domain: Domain::IdentityCard,
            msg,
            signature,
        })
        .collect()
}

#[test]
fn batch_accepts_good_and_names_the_bad_one() {
    let n = 600;
    let sks: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate().unwrap()).collect();
    let keys: Vec<VerifyingKey> = sks.iter().map(|k| k.verifying_key()).collect();
    let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("op {i}").into_bytes()).collect();
    let mut sigs: Vec<Signature> = sks
        .iter()
        .zip(&msgs)
        .map(|(k, m)| k.sign(Domain::IdentityCard, m))
        .collect();
    verify_batch(&items(&keys, &msgs, &sigs)).unwrap();
    sigs[417].0[40] ^= 1;
    assert_eq!(
        verify_batch(&items(&keys, &msgs, &sigs)).unwrap_err().0,
        417
    );
}

/// A signature whose R carries a torsion component (only its signer can make
/// one) gets the same verdict from single and batch verification, every time.
#[test]
fn torsion_in_r_gets_one_verdict() {
    let sk = SigningKey::generate().unwrap();
    let vk = sk.verifying_key();
    let a = Scalar::from_bytes_mod_order(sk.0.to_scalar_bytes());
    let msg = b"crafted";
    let r = Scalar::from_bytes_mod_order([7u8; 32]);
    let big_r = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[4]; // order-2 component
    let r_bytes = big_r.compress().to_bytes();
    let k = challenge(&r_bytes, vk.as_bytes(), &Domain::IdentityCard.message(msg));
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&s.to_bytes());
    let sig = Signature(sig);
    let single = vk.verify(Domain::IdentityCard, msg, &sig).is_ok();
    for _ in 0..32 {
        let item = [BatchItem {
            key: &vk,
            domain: Domain::IdentityCard,
            msg,
            signature: &sig,
        }];
        assert_eq!(verify_batch(&item).is_ok(), single);
    }
}
