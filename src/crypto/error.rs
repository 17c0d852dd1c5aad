//! The errors of the cryptographic primitives: what went wrong in one
//! primitive, and nothing about identities, logs or collections.

use crate::wire::DecodeError;

/// Every failure of a primitive (AEAD, key wrapping, signatures, KDFs, password hashing, content streams, randomness).
///
/// Each variant becomes the top-level [`crate::Error`] variant of the same
/// name and meaning (`?` converts), so an app that acts on [`crate::Error`]
/// acts on these too. As there, every failure to decrypt or authenticate
/// collapses into [`Error::DecryptionFailed`] so that no error reveals which
/// check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from outside (a sealed box, a wrapped secret, a content stream's
    /// header) could not be decoded; the inner error says what was wrong.
    /// Nothing was decrypted; the bytes are corrupt or not of this kind.
    #[error("malformed input: {0}")]
    Decode(#[from] DecodeError),
    /// A ciphertext, wrapped key or content stream failed to authenticate, or
    /// was opened with another key or in another context (associated data,
    /// recipient, commitment). No plaintext was released, except what a
    /// streaming reader returned before the failure, which the caller must
    /// discard.
    #[error(
        "decryption failed: the data was altered, truncated, or is not meant for this key or context"
    )]
    DecryptionFailed,
    /// A signature did not verify under the given key (or is not a canonical
    /// encoding). The signed object must not be trusted.
    #[error("signature verification failed for {what}")]
    BadSignature {
        /// Which signed object (or which entry of a batch) failed.
        what: String,
    },
    /// A public key is unusable: of small order, non-canonical, an Ed25519 key
    /// with a torsion component (outside the prime-order subgroup), or it
    /// yields an all-zero shared secret. The message says which. Nothing was
    /// wrapped to it or verified with it; the key must not be used.
    #[error("unusable public key: {0}")]
    WeakKey(&'static str),
    /// Password-hashing parameters lie outside the accepted bounds or above the
    /// caller's budget ([`crate::crypto::password::Argon2Budget`]), or this
    /// device could not provide the memory they ask for. The message names
    /// the field, its value and the bound. Nothing was hashed; a caller that
    /// means to pay more passes a larger budget.
    #[error("password-hashing parameters refused: {0}")]
    UnsafeParameters(String),
    /// The operating system's random generator failed. Nothing was made from
    /// weak randomness; trying again later may succeed.
    #[error("the operating system's random generator is unavailable")]
    RandomUnavailable,
    /// An argument from the caller is out of a primitive's range (the message
    /// says which and why): a plaintext, secret or output too long, a chunk
    /// size outside its bounds. Nothing was done; the caller changes the
    /// argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Reading or writing the caller's stream failed (a content stream's
    /// reader or writer). What was written may be incomplete; the stream must
    /// not be used as a whole.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A failure that is the library's fault, not the caller's or the data's:
    /// a check that cannot fail did (the message says exactly which). Nothing
    /// usable was returned, and trying again will not help: report it as a
    /// bug in sealshare.
    #[error("internal error (a bug in sealshare, please report it): {0}")]
    Bug(&'static str),
}

/// The result type of the primitives.
pub type Result<T, E = Error> = std::result::Result<T, E>;
