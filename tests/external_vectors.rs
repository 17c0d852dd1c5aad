//! External test vectors run through the crate's own API: Wycheproof (Ed25519,
//! X25519, ChaCha20-Poly1305, XChaCha20-Poly1305, HKDF-SHA256), the RFC 9180
//! HPKE vectors for the suite sealshare uses, and ed25519-speccheck's edge cases
//! of Ed25519 verification. Files are in tests/vectors/external/ and
//! tests/vectors/ed25519-speccheck/ with their licenses. Every test counts the
//! cases it ran against the file's total and reports all failures at once.
#![allow(
    clippy::unwrap_used,
    clippy::unreachable,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use serde_json::Value;

use sealshare::internal::crypto::Error;
use sealshare::internal::crypto::aead::{chacha_open, chacha_seal, xchacha_open, xchacha_seal};
use sealshare::internal::crypto::kdf::hkdf_sha256;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::{
    RawBatchItem, Signature, SigningKey, VerifyingKey, verify_batch_raw,
};
use sealshare::internal::crypto::x25519::{KemPublicKey, KemSecretKey};

fn load(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "vectors",
        "external",
        name,
    ]
    .iter()
    .collect();
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// Every Wycheproof test case with its group.
fn cases(file: &Value) -> Vec<(&Value, &Value)> {
    let mut out = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            out.push((group, t));
        }
    }
    assert_eq!(
        out.len() as u64,
        file["numberOfTests"].as_u64().unwrap(),
        "case count"
    );
    out
}

fn report(name: &str, ran: usize, failures: Vec<String>) {
    assert!(ran > 0, "{name}: no case ran");
    assert!(
        failures.is_empty(),
        "{name}: {} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn wycheproof_ed25519() {
    let file = load("wycheproof/ed25519_test.json");
    let all = cases(&file);
    let mut failures = Vec::new();
    for (group, t) in &all {
        let key: [u8; 32] = hx(&group["publicKey"]["pk"]).try_into().unwrap();
        let msg = hx(&t["msg"]);
        let sig = hx(&t["sig"]);
        let accepted = match (
            VerifyingKey::from_bytes(&key),
            <[u8; 64]>::try_from(sig.as_slice()),
        ) {
            (Ok(vk), Ok(sig)) => vk.verify_raw(&msg, &Signature::from_bytes(sig)).is_ok(),
            _ => false,
        };
        let expected = t["result"] == "valid";
        if accepted != expected {
            failures.push(format!(
                "tcId {} ({}) {:?}: accepted={accepted}",
                t["tcId"], t["result"], t["comment"]
            ));
        }
    }
    report("ed25519", all.len(), failures);
}

/// Policy: a case whose shared secret is all zero (a low-order public key) is
/// refused with `WeakKey`; every other case, "valid" or "acceptable" (public keys
/// with the high bit set, non-canonical or twist points), gives exactly the
/// expected shared secret, as RFC 7748 specifies.
#[test]
fn wycheproof_x25519() {
    let file = load("wycheproof/x25519_test.json");
    let all = cases(&file);
    let mut failures = Vec::new();
    let mut refused = 0;
    for (_, t) in &all {
        let private: [u8; 32] = hx(&t["private"]).try_into().unwrap();
        let public: [u8; 32] = hx(&t["public"]).try_into().unwrap();
        let shared = hx(&t["shared"]);
        let ours = KemSecretKey::from_secret(&SecretKey::from_bytes(private))
            .diffie_hellman(&KemPublicKey::from_bytes(public));
        let ok = if shared.iter().all(|b| *b == 0) {
            refused += 1;
            matches!(ours, Err(Error::WeakKey(_)))
        } else {
            ours.map(|s| s.expose().as_slice() == shared.as_slice())
                .unwrap_or(false)
        };
        if !ok {
            failures.push(format!(
                "tcId {} ({}) {:?}",
                t["tcId"], t["result"], t["comment"]
            ));
        }
    }
    assert!(refused > 0, "the file has all-zero cases; none seen");
    report("x25519", all.len(), failures);
}

type Seal<const N: usize> =
    fn(&SecretKey, &[u8; N], &[u8], &[u8]) -> sealshare::internal::crypto::Result<Vec<u8>>;
type Open<const N: usize> =
    fn(&SecretKey, &[u8; N], &[u8], &[u8]) -> sealshare::internal::crypto::Result<Vec<u8>>;

/// Runs an AEAD file. Cases with another nonce or key size cannot be expressed
/// through the API (it takes fixed-size arrays); those must be "invalid" in the file.
fn aead_file<const N: usize>(name: &str, seal: Seal<N>, open: Open<N>) {
    let file = load(name);
    let all = cases(&file);
    let mut failures = Vec::new();
    for (_, t) in &all {
        let valid = t["result"] == "valid";
        let (key, iv) = (hx(&t["key"]), hx(&t["iv"]));
        let (Ok(key), Ok(iv)) = (
            <[u8; 32]>::try_from(key.as_slice()),
            <[u8; N]>::try_from(iv.as_slice()),
        ) else {
            if valid {
                failures.push(format!(
                    "tcId {}: valid case with sizes the API cannot take",
                    t["tcId"]
                ));
            }
            continue;
        };
        let key = SecretKey::from_bytes(key);
        let (aad, msg) = (hx(&t["aad"]), hx(&t["msg"]));
        let mut ct = hx(&t["ct"]);
        ct.extend(hx(&t["tag"]));
        let opened = open(&key, &iv, &ct, &aad);
        let ok = if valid {
            seal(&key, &iv, &msg, &aad).ok().as_ref() == Some(&ct)
                && opened.ok().as_ref() == Some(&msg)
        } else {
            matches!(opened, Err(Error::DecryptionFailed))
        };
        if !ok {
            failures.push(format!(
                "tcId {} ({}) {:?}",
                t["tcId"], t["result"], t["comment"]
            ));
        }
    }
    report(name, all.len(), failures);
}

#[test]
fn wycheproof_chacha20_poly1305() {
    aead_file::<12>(
        "wycheproof/chacha20_poly1305_test.json",
        chacha_seal,
        chacha_open,
    );
}

#[test]
fn wycheproof_xchacha20_poly1305() {
    aead_file::<24>(
        "wycheproof/xchacha20_poly1305_test.json",
        xchacha_seal,
        xchacha_open,
    );
}

#[test]
fn wycheproof_hkdf_sha256() {
    let file = load("wycheproof/hkdf_sha256_test.json");
    let all = cases(&file);
    let mut failures = Vec::new();
    for (_, t) in &all {
        let mut okm = vec![0u8; t["size"].as_u64().unwrap() as usize];
        let result = hkdf_sha256(&hx(&t["salt"]), &hx(&t["ikm"]), &hx(&t["info"]), &mut okm);
        let ok = if t["result"] == "valid" {
            result.is_ok() && okm == hx(&t["okm"])
        } else {
            result.is_err()
        };
        if !ok {
            failures.push(format!(
                "tcId {} ({}) {:?}",
                t["tcId"], t["result"], t["comment"]
            ));
        }
    }
    report("hkdf", all.len(), failures);
}

/// Where sealshare refuses an ed25519-speccheck case, or that it accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Refused when the public key is decoded: not a canonical encoding.
    KeyNotCanonical,
    /// Refused when the public key is decoded: of small order.
    KeySmallOrder,
    /// Refused when the public key is decoded: it has a torsion component.
    KeyTorsion,
    /// Refused when the signature is parsed: `S ≥ ℓ`, or `R` non-canonical or
    /// of small order.
    SignatureEncoding,
    /// Refused by the cofactored equation.
    Equation,
    /// Accepted.
    Accepted,
}

/// What the two equations say of a case on their own, with every encoding and
/// order check skipped (points decoded leniently, `S` reduced mod ℓ): for the
/// table below, so that it is clear which check refuses what.
fn bare_equations(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Option<(bool, bool)> {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::IsIdentity;
    use sha2::{Digest, Sha512};
    let a = CompressedEdwardsY(*key).decompress()?;
    let r_bytes: [u8; 32] = sig[..32].try_into().unwrap();
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let s = Scalar::from_bytes_mod_order(sig[32..].try_into().unwrap());
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(key)
        .chain_update(msg)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    let diff = B * s - r - a * k;
    Some((diff.mul_by_cofactor().is_identity(), diff.is_identity()))
}

/// ed25519-speccheck (novifinancial/ed25519-speccheck, `cases.json`): twelve
/// edge cases of Ed25519 verification, each run through single verification
/// (`VerifyingKey::from_bytes`, then `verify_raw`) and batch verification
/// (`verify_batch_raw`, alone and between two honest signatures). The verdicts
/// must agree, and are pinned here with the check that gives them.
///
/// sealshare verifies with the cofactored equation `[8]([S]B − R − [k]A) = 0`
/// (`k` = SHA-512(R || A || M) over the encodings as given, reduced mod ℓ, so
/// "pre-reduction" of `8k` does not arise), requires `S < ℓ`, canonical `A`
/// and `R`, `A` and `R` not of small order, and `A` of order exactly ℓ (no
/// torsion component). It therefore accepts none of the twelve:
///
/// | # | A | R | S | cofactored / cofactorless alone | sealshare | refused because |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | 0 | small order | small order | 0 | V / V | refused | A of small order |
/// | 1 | small order | mixed | < ℓ | V / V | refused | A of small order |
/// | 2 | mixed | small order | < ℓ | V / V | refused | A has torsion (R of small order too) |
/// | 3 | mixed | mixed | < ℓ | V / V | refused | A has torsion |
/// | 4 | mixed | mixed | < ℓ | V / X | refused | A has torsion |
/// | 5 | mixed | order ℓ | < ℓ | V / X | refused | A has torsion |
/// | 6 | order ℓ | order ℓ | > ℓ | V / V (S reduced) | refused | S not canonical |
/// | 7 | order ℓ | order ℓ | ≫ ℓ | V / V (S reduced) | refused | S not canonical |
/// | 8 | mixed | small order, non-canonical | < ℓ | X / X | refused | A has torsion (R non-canonical too) |
/// | 9 | mixed | small order, non-canonical | < ℓ | V / V | refused | A has torsion (R non-canonical too) |
/// | 10 | small order, non-canonical | mixed | < ℓ | V / X | refused | A not canonical |
/// | 11 | small order, non-canonical | mixed | < ℓ | V / V | refused | A not canonical |
///
/// ("mixed": a point of order 2ℓ, 4ℓ or 8ℓ. "Alone": the equation with every
/// other check skipped, computed here with the hash over `R` and `A` as given;
/// cases 8 and 10 were signed over the re-encoded, canonical `R` or `A`, so
/// their equations fail or hold only cofactored when hashed as given, and 9
/// and 11 over the bytes as given.) Without the torsion check on keys, cases 3,
/// 4 and 5 would be accepted by single and batch verification alike (the
/// cofactored equation holds; checked by disabling it), and 2, 8 and 9 refused
/// at the signature's `R`: cases 4 and 5 are the ones a cofactorless verifier
/// refuses, so a key like theirs could give two verdicts.
#[test]
fn ed25519_speccheck() {
    use Verdict::*;
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "vectors",
        "ed25519-speccheck",
        "cases.json",
    ]
    .iter()
    .collect();
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = file.as_array().unwrap();
    assert_eq!(cases.len(), 12, "case count");
    let expected = [
        (KeySmallOrder, Some((true, true))),
        (KeySmallOrder, Some((true, true))),
        (KeyTorsion, Some((true, true))),
        (KeyTorsion, Some((true, true))),
        (KeyTorsion, Some((true, false))),
        (KeyTorsion, Some((true, false))),
        (SignatureEncoding, Some((true, true))),
        (SignatureEncoding, Some((true, true))),
        (KeyTorsion, Some((false, false))),
        (KeyTorsion, Some((true, true))),
        (KeyNotCanonical, Some((true, false))),
        (KeyNotCanonical, Some((true, true))),
    ];
    // Two honest signatures around each case in the second batch.
    let honest = SigningKey::generate().unwrap();
    let honest_vk = honest.verifying_key();
    let honest_msg = b"an honest raw message".to_vec();
    let honest_sig = honest_raw_signature(&honest, &honest_msg);
    honest_vk.verify_raw(&honest_msg, &honest_sig).unwrap();

    let mut failures = Vec::new();
    for (i, (case, (want, want_equations))) in cases.iter().zip(expected).enumerate() {
        let key: [u8; 32] = hx(&case["pub_key"]).try_into().unwrap();
        let msg = hx(&case["message"]);
        let sig: [u8; 64] = hx(&case["signature"]).try_into().unwrap();
        let equations = bare_equations(&key, &msg, &sig);
        if equations != want_equations {
            failures.push(format!(
                "case {i}: bare equations {equations:?}, expected {want_equations:?}"
            ));
        }
        let signature = Signature::from_bytes(sig);
        let (single, batch) = match VerifyingKey::from_bytes(&key) {
            Err(Error::WeakKey(why)) => {
                let v = if why.contains("canonical") {
                    KeyNotCanonical
                } else if why.contains("small order") {
                    KeySmallOrder
                } else if why.contains("torsion") {
                    KeyTorsion
                } else {
                    panic!("case {i}: unexpected key error {why}")
                };
                // No VerifyingKey, so no batch either: the same verdict.
                (v, v)
            }
            Err(e) => panic!("case {i}: unexpected key error {e:?}"),
            Ok(vk) => {
                let single = match vk.verify_raw(&msg, &signature) {
                    Ok(()) => Accepted,
                    Err(Error::BadSignature { what }) if what == "signature encoding" => {
                        SignatureEncoding
                    }
                    Err(Error::BadSignature { .. }) => Equation,
                    Err(e) => panic!("case {i}: unexpected error {e:?}"),
                };
                let item = |key, msg, signature| RawBatchItem {
                    key,
                    msg,
                    signature,
                };
                let alone = verify_batch_raw(&[item(&vk, &msg, &signature)]);
                let between = verify_batch_raw(&[
                    item(&honest_vk, &honest_msg, &honest_sig),
                    item(&vk, &msg, &signature),
                    item(&honest_vk, &honest_msg, &honest_sig),
                ]);
                let batch = match (alone, between) {
                    (Ok(()), Ok(())) => Accepted,
                    (Err((0, _)), Err((1, _))) => single,
                    other => panic!("case {i}: batch gave {other:?}"),
                };
                (single, batch)
            }
        };
        if single != want || batch != want {
            failures.push(format!(
                "case {i}: single {single:?}, batch {batch:?}, expected {want:?}"
            ));
        }
    }
    report("ed25519-speccheck", cases.len(), failures);
}

/// A signature on exactly `msg` (no domain label), as the bare primitive
/// checks it: made with the same key's scalar by hand, since sealshare signs
/// only with a domain.
fn honest_raw_signature(key: &SigningKey, msg: &[u8]) -> Signature {
    let sk = ed25519_dalek::SigningKey::from_bytes(key.seed().expose());
    use ed25519_dalek::Signer as _;
    Signature::from_bytes(sk.sign(msg).to_bytes())
}

mod hpke_vectors {
    use super::*;
    use hpke::aead::ChaCha20Poly1305;
    use hpke::kdf::HkdfSha256;
    use hpke::kem::X25519HkdfSha256 as Kem;
    use hpke::rand_core::{TryCryptoRng, TryRng};
    use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, PskBundle, Serializable};

    /// Hands out exactly the vector's ephemeral seed `ikmE`: hpke draws the
    /// ephemeral key as DeriveKeyPair(32 random bytes), so the vector's `enc` follows.
    struct FixedRng(Vec<u8>);

    impl TryRng for FixedRng {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            unreachable!("only fill_bytes is used")
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            unreachable!("only fill_bytes is used")
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            assert!(
                dst.len() <= self.0.len(),
                "asked for more randomness than ikmE"
            );
            let rest = self.0.split_off(dst.len());
            dst.copy_from_slice(&self.0);
            self.0 = rest;
            Ok(())
        }
    }
    impl TryCryptoRng for FixedRng {}

    /// Every mode in the file (base, psk, auth, auth_psk): key derivation, `enc`,
    /// every encryption in sequence, every export, on both sides. The key schedule
    /// values (secret, key, base_nonce, exporter_secret) are not exposed by the
    /// `hpke` API; they are checked through the ciphertexts and exports they fix.
    #[test]
    fn rfc9180_x25519_sha256_chacha20poly1305() {
        let file = load("hpke_rfc9180_x25519_sha256_chacha20poly1305.json");
        let vectors = file.as_array().unwrap();
        let mut modes = std::collections::BTreeSet::new();
        let (mut encryptions, mut exports) = (0, 0);
        for v in vectors {
            assert_eq!(
                (
                    v["kem_id"].as_u64(),
                    v["kdf_id"].as_u64(),
                    v["aead_id"].as_u64()
                ),
                (Some(32), Some(1), Some(3))
            );
            let mode = v["mode"].as_u64().unwrap();
            modes.insert(mode);
            let info = hx(&v["info"]);
            let (sk_r, pk_r) = Kem::derive_keypair(&hx(&v["ikmR"]));
            // The hpke crate stores X25519 secrets clamped (RFC 7748); the RFC's are not.
            let mut sk_expected = hx(&v["skRm"]);
            sk_expected[0] &= 248;
            sk_expected[31] = (sk_expected[31] & 127) | 64;
            assert_eq!(sk_r.to_bytes().to_vec(), sk_expected, "mode {mode}: skRm");
            assert_eq!(
                pk_r.to_bytes().to_vec(),
                hx(&v["pkRm"]),
                "mode {mode}: pkRm"
            );
            let sender = (mode == 2 || mode == 3).then(|| {
                let (sk, pk) = Kem::derive_keypair(&hx(&v["ikmS"]));
                assert_eq!(pk.to_bytes().to_vec(), hx(&v["pkSm"]), "mode {mode}: pkSm");
                (sk, pk)
            });
            let (psk, psk_id) = if mode == 1 || mode == 3 {
                (hx(&v["psk"]), hx(&v["psk_id"]))
            } else {
                (vec![], vec![])
            };
            let bundle = (mode == 1 || mode == 3).then(|| PskBundle::new(&psk, &psk_id).unwrap());
            let mode_s = match (mode, &sender, bundle) {
                (0, _, _) => OpModeS::Base,
                (1, _, Some(b)) => OpModeS::Psk(b),
                (2, Some(s), _) => OpModeS::Auth((s.0.clone(), s.1.clone())),
                (3, Some(s), Some(b)) => OpModeS::AuthPsk((s.0.clone(), s.1.clone()), b),
                _ => panic!("unknown mode {mode}"),
            };
            let mode_r = match (mode, &sender, bundle) {
                (0, _, _) => OpModeR::Base,
                (1, _, Some(b)) => OpModeR::Psk(b),
                (2, Some(s), _) => OpModeR::Auth(s.1.clone()),
                (3, Some(s), Some(b)) => OpModeR::AuthPsk(s.1.clone(), b),
                _ => panic!("unknown mode {mode}"),
            };
            let mut rng = FixedRng(hx(&v["ikmE"]));
            let (enc, mut ctx_s) =
                hpke::setup_sender_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
                    &mode_s, &pk_r, &info, &mut rng,
                )
                .unwrap();
            assert_eq!(enc.to_bytes().to_vec(), hx(&v["enc"]), "mode {mode}: enc");
            let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hx(&v["enc"])).unwrap();
            let mut ctx_r = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, Kem>(
                &mode_r, &sk_r, &enc, &info,
            )
            .unwrap();
            for (i, e) in v["encryptions"].as_array().unwrap().iter().enumerate() {
                let (aad, pt, ct) = (hx(&e["aad"]), hx(&e["pt"]), hx(&e["ct"]));
                assert_eq!(
                    ctx_s.seal(&pt, &aad).unwrap(),
                    ct,
                    "mode {mode}: encryption {i}"
                );
                assert_eq!(
                    ctx_r.open(&ct, &aad).unwrap(),
                    pt,
                    "mode {mode}: decryption {i}"
                );
                encryptions += 1;
            }
            for (i, x) in v["exports"].as_array().unwrap().iter().enumerate() {
                let mut out_s = vec![0u8; x["L"].as_u64().unwrap() as usize];
                let mut out_r = out_s.clone();
                ctx_s
                    .export(&hx(&x["exporter_context"]), &mut out_s)
                    .unwrap();
                ctx_r
                    .export(&hx(&x["exporter_context"]), &mut out_r)
                    .unwrap();
                assert_eq!(out_s, hx(&x["exported_value"]), "mode {mode}: export {i}");
                assert_eq!(out_r, out_s, "mode {mode}: receiver export {i}");
                exports += 1;
            }
        }
        assert_eq!(modes.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert!(
            encryptions >= 4 && exports >= 4,
            "{encryptions} encryptions, {exports} exports"
        );
    }
}
