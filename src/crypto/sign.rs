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

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};
use crate::labels;

mod batch;

pub use batch::{BatchItem, RawBatchItem, verify_batch, verify_batch_raw};

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
    /// A request to a server (label `request`; SPEC.md §Signed requests).
    Request,
}

impl Domain {
    /// The label (SPEC.md §Signatures lists them).
    pub const fn label(self) -> &'static str {
        match self {
            Domain::IdentityCard => labels::SIG_IDENTITY_CARD,
            Domain::Operation => labels::SIG_OPERATION,
            Domain::LinkJoin => labels::SIG_LINK_JOIN,
            Domain::Request => labels::SIG_REQUEST,
        }
    }

    fn message(self, msg: &[u8]) -> Vec<u8> {
        let label = self.label();
        let mut out = Vec::with_capacity(labels::SIGNATURE.len() + label.len() + 1 + msg.len());
        out.extend_from_slice(labels::SIGNATURE.as_bytes());
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

#[cfg(test)]
mod tests;
