//! Ed25519 signatures with a domain label on every signed message, canonical
//! encodings, keys of prime order, and batch verification that always agrees
//! with one-by-one checks.
//!
//! Keys and signing come from `ed25519-dalek`. The verification equation is
//! written here, on `curve25519-dalek` (the same project's group arithmetic),
//! because `ed25519-dalek` offers only the cofactorless equation for single
//! signatures and a cofactorless batch check; the two can disagree on a signature
//! whose `R` carries a small torsion component (the batch accepts it about half of
//! the time). A signer could use that to make one client accept a log that
//! another refuses. Both checks here are cofactored, `[8]([s]B - R - [k]A) = 0`,
//! so they accept exactly the same signatures (the batch errs with probability
//! at most 2^-128). Before the equation: `s` must be canonical, `R` and `A`
//! must be canonical encodings of points that are not of small order, and `A`
//! must be of order exactly ℓ, with no torsion component (checked once, when
//! the key is decoded: [`VerifyingKey::from_bytes`]). `R` is not checked for
//! torsion (that would cost a scalar multiplication per signature); the
//! cofactored equation gives such a signature the same verdict in single and
//! batch verification, though a cofactorless verifier elsewhere would refuse it.

use std::fmt;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer as _;
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};

/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a public key.
pub const PUBLIC_KEY_LEN: usize = 32;

/// The kind of a signed message: a closed set, so no caller can sign bytes
/// under a label the crate gives meaning to. The signed bytes are
/// `"sealshare/v1/sig/" || label || 0x00 || message`, so a signature made for
/// one kind of object never verifies as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Domain {
    /// A self-signed identity card (label `identity-card`).
    IdentityCard,
    /// An operation of a collection's log (label `operation`).
    Operation,
    /// A join's proof that the joiner holds an invite link's secret (label
    /// `link-join`).
    LinkJoin,
}

impl Domain {
    /// The label (SPEC.md §Signatures lists them).
    pub const fn label(self) -> &'static str {
        match self {
            Domain::IdentityCard => "identity-card",
            Domain::Operation => "operation",
            Domain::LinkJoin => "link-join",
        }
    }

    fn message(self, msg: &[u8]) -> Vec<u8> {
        let label = self.label();
        let mut out = Vec::with_capacity(17 + label.len() + 1 + msg.len());
        out.extend_from_slice(b"sealshare/v1/sig/");
        out.extend_from_slice(label.as_bytes());
        out.push(0);
        out.extend_from_slice(msg);
        out
    }
}

/// An Ed25519 signing key. Zeroized on drop; `Debug` shows only the public key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<Self> {
        let seed = Zeroizing::new(random::array::<32>()?);
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &SecretKey) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed.expose()))
    }

    /// The 32-byte seed, as a secret.
    pub fn seed(&self) -> SecretKey {
        SecretKey::from_bytes(self.0.to_bytes())
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        // A key derived from a seed is canonical and of large prime order (its
        // clamped scalar is a nonzero multiple of 8 below the group order).
        let vk = self.0.verifying_key();
        VerifyingKey {
            bytes: vk.to_bytes(),
            point: vk.to_edwards(),
        }
    }

    /// Signs `msg` as an object of kind `domain`.
    pub fn sign(&self, domain: Domain, msg: &[u8]) -> Signature {
        Signature(self.0.sign(&domain.message(msg)).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey(public: {:?}, secret: ***)",
            self.verifying_key()
        )
    }
}

/// An Ed25519 public key, checked on construction: the canonical encoding of a
/// point of order exactly ℓ (in the prime-order subgroup, not the identity).
#[derive(Clone, Copy)]
pub struct VerifyingKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl VerifyingKey {
    /// Accepts only canonical encodings of points of order ℓ: refuses with
    /// [`Error::WeakKey`] saying which check failed a non-canonical encoding, a
    /// point of small order (orders 1, 2, 4 or 8), and a point with a torsion
    /// component (order 2ℓ, 4ℓ or 8ℓ: an honest key plus a small-order point).
    ///
    /// Every key made from a seed passes (it is a nonzero multiple of the base
    /// point, whose order is ℓ). A key with torsion could sign objects that the
    /// cofactored equation used here accepts and that a cofactorless verifier
    /// (another implementation, or a batch with random coefficients) accepts or
    /// refuses depending on the message or the coefficients: one signed object,
    /// two verdicts. With `A` torsion-free the two equations differ only on a
    /// signature whose `R` carries torsion, which no honest signer makes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let point =
            decompress_strict(bytes).ok_or(Error::WeakKey("not a canonical Ed25519 point"))?;
        if point.is_small_order() {
            return Err(Error::WeakKey("Ed25519 key of small order"));
        }
        if !point.is_torsion_free() {
            return Err(Error::WeakKey(
                "Ed25519 key with a torsion component (not in the prime-order subgroup)",
            ));
        }
        Ok(Self {
            bytes: *bytes,
            point,
        })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The 32-byte encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Verifies a signature on `msg` made for kind `domain`.
    pub fn verify(&self, domain: Domain, msg: &[u8], sig: &Signature) -> Result<()> {
        self.verify_raw(&domain.message(msg), sig)
            .map_err(|_| Error::BadSignature {
                what: domain.label().to_string(),
            })
    }

    /// Verifies a signature on exactly `msg`, without a domain label. This is the
    /// bare primitive, exposed for the external test vectors.
    pub fn verify_raw(&self, msg: &[u8], sig: &Signature) -> Result<()> {
        let parts = SigParts::parse(sig).ok_or(Error::BadSignature {
            what: "signature encoding".into(),
        })?;
        let k = challenge(&parts.r_bytes, &self.bytes, msg);
        // [s]B - [k]A - R, times the cofactor.
        let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-self.point), &parts.s)
            - parts.r;
        if check.mul_by_cofactor().is_identity() {
            Ok(())
        } else {
            Err(Error::BadSignature {
                what: "signature".into(),
            })
        }
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for VerifyingKey {}

impl std::hash::Hash for VerifyingKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", crate::wire::to_text(&self.bytes))
    }
}

/// An Ed25519 signature (64 bytes: `R || s`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// From its 64-byte encoding (checked when verified).
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The 64-byte encoding.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", crate::wire::to_text(&self.0))
    }
}

struct SigParts {
    r_bytes: [u8; 32],
    r: EdwardsPoint,
    s: Scalar,
}

impl SigParts {
    fn parse(sig: &Signature) -> Option<Self> {
        let (r_half, s_half) = sig.0.split_at(32);
        let r_bytes: [u8; 32] = r_half.try_into().ok()?;
        let s_bytes: [u8; 32] = s_half.try_into().ok()?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
        let r = decompress_strict(&r_bytes)?;
        if r.is_small_order() {
            return None;
        }
        Some(Self { r_bytes, r, s })
    }
}

fn decompress_strict(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_encoding(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// Whether `bytes` is the one canonical encoding of a curve point: `y < p`, and
/// no sign bit when `x = 0` (which happens exactly for `y = 1` and `y = p - 1`).
/// Checked on the bytes, because re-compressing the point to compare would cost
/// a field inversion per signature; the Wycheproof vectors hold every case.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    // p = 2^255 - 19, little-endian.
    const P: [u8; 32] = {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };
    const P_MINUS_1: [u8; 32] = {
        let mut p = P;
        p[0] = 0xec;
        p
    };
    const ONE: [u8; 32] = {
        let mut one = [0; 32];
        one[0] = 1;
        one
    };
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    let below_p = y
        .iter()
        .rev()
        .zip(P.iter().rev())
        .find(|(a, b)| a != b)
        .is_some_and(|(a, b)| a < b);
    below_p && !(sign == 1 && (y == ONE || y == P_MINUS_1))
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    let digest: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

/// One signature to check in a batch.
pub struct BatchItem<'a> {
    /// The signer's key.
    pub key: &'a VerifyingKey,
    /// The kind of object signed.
    pub domain: Domain,
    /// The message (without the domain label).
    pub msg: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// One signature on exactly `msg`, without a domain label, for
/// [`verify_batch_raw`].
pub struct RawBatchItem<'a> {
    /// The signer's key.
    pub key: &'a VerifyingKey,
    /// The exact signed message.
    pub msg: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// What a batch needs of one signature: its key, the exact signed bytes, and
/// the single check its verdict must equal.
trait Signed: Sync {
    fn key(&self) -> &VerifyingKey;
    fn signed_bytes(&self) -> std::borrow::Cow<'_, [u8]>;
    fn signature(&self) -> &Signature;
    fn verify_one(&self) -> Result<()>;
}

impl Signed for BatchItem<'_> {
    fn key(&self) -> &VerifyingKey {
        self.key
    }
    fn signed_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Owned(self.domain.message(self.msg))
    }
    fn signature(&self) -> &Signature {
        self.signature
    }
    fn verify_one(&self) -> Result<()> {
        self.key.verify(self.domain, self.msg, self.signature)
    }
}

impl Signed for RawBatchItem<'_> {
    fn key(&self) -> &VerifyingKey {
        self.key
    }
    fn signed_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(self.msg)
    }
    fn signature(&self) -> &Signature {
        self.signature
    }
    fn verify_one(&self) -> Result<()> {
        self.key.verify_raw(self.msg, self.signature)
    }
}

/// How many signatures one multi-scalar multiplication checks.
const BATCH_CHUNK: usize = 256;

/// Verifies many signatures at once, on all cores, several times faster than one
/// by one. Accepts exactly the signatures [`VerifyingKey::verify`] accepts (with
/// error probability at most 2^-128). On failure, returns the index of the first
/// signature that fails on its own, as `Err((index, error))`.
pub fn verify_batch(items: &[BatchItem<'_>]) -> std::result::Result<(), (usize, Error)> {
    batch(items)
}

/// [`verify_batch`] over exact messages, without domain labels: accepts exactly
/// what [`VerifyingKey::verify_raw`] accepts. This is the bare primitive,
/// exposed for the external test vectors; sealshare's own objects are always
/// verified with their domain.
pub fn verify_batch_raw(items: &[RawBatchItem<'_>]) -> std::result::Result<(), (usize, Error)> {
    batch(items)
}

fn batch<T: Signed>(items: &[T]) -> std::result::Result<(), (usize, Error)> {
    let failed_chunk = items
        .par_chunks(BATCH_CHUNK)
        .enumerate()
        .map(|(i, chunk)| (i, batch_equation_holds(chunk)))
        .filter(|(_, ok)| !matches!(ok, Ok(true)))
        .min_by_key(|(i, _)| *i);
    let Some((chunk_index, outcome)) = failed_chunk else {
        return Ok(());
    };
    if let Err(e) = outcome {
        return Err((chunk_index * BATCH_CHUNK, e));
    }
    // Find the first culprit one by one, from the first failing chunk on.
    let start = chunk_index * BATCH_CHUNK;
    for (offset, item) in items.iter().enumerate().skip(start) {
        if let Err(e) = item.verify_one() {
            return Err((offset, e));
        }
    }
    // The batch failed but no single signature did: only possible with
    // probability 2^-128; report it rather than accept.
    Err((
        start,
        Error::BadSignature {
            what: "batch".into(),
        },
    ))
}

/// `[8]( -(sum z_i s_i) B + sum z_i R_i + sum z_i k_i A_i ) == identity`.
fn batch_equation_holds<T: Signed>(items: &[T]) -> Result<bool> {
    let mut z_bytes = vec![0u8; items.len() * 16];
    random::fill(&mut z_bytes)?;
    let mut scalars = Vec::with_capacity(items.len() + 2);
    let mut points = Vec::with_capacity(items.len() + 2);
    let mut b_coeff = Scalar::ZERO;
    // Signatures by the same key share one term: sum z_i k_i over them, times A.
    // Long logs have few authors, so this nearly halves the multiplication.
    let mut key_terms: Vec<(&VerifyingKey, Scalar)> = Vec::new();
    for (item, z16) in items.iter().zip(z_bytes.chunks_exact(16)) {
        let Some(parts) = SigParts::parse(item.signature()) else {
            return Ok(false);
        };
        let mut zb = [0u8; 32];
        zb[..16].copy_from_slice(z16);
        let z = Scalar::from_bytes_mod_order(zb);
        let key = item.key();
        let k = challenge(&parts.r_bytes, &key.bytes, &item.signed_bytes());
        b_coeff += z * parts.s;
        scalars.push(z);
        points.push(parts.r);
        let crowded = key_terms.len() >= 32;
        match key_terms.iter_mut().find(|(k2, _)| k2.bytes == key.bytes) {
            Some((_, coeff)) => *coeff += z * k,
            // Past a few distinct keys the search costs more than it saves.
            None if crowded => {
                scalars.push(z * k);
                points.push(key.point);
            }
            None => key_terms.push((key, z * k)),
        }
    }
    for (key, coeff) in key_terms {
        scalars.push(coeff);
        points.push(key.point);
    }
    scalars.push(-b_coeff);
    points.push(ED25519_BASEPOINT_POINT);
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars, points);
    Ok(sum.mul_by_cofactor().is_identity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

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
            cases.push(crate::crypto::random::array().unwrap());
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
}
