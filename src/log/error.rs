//! The errors of the log: why verification stopped at an operation of a log
//! served to this client, and why the caller's own operation could not be
//! signed. Both become [`crate::Error`] variants through `?`.

use crate::log::rules::Violation;
use crate::wire::DecodeError;

/// Why verifying a log stopped ([`crate::log::LogState::extend`] and the
/// other verifying functions). The operations before the one named are
/// verified, applied and usable; nothing from that one on was applied.
///
/// Becomes the top-level variant of the same name through `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// An operation of the log was refused: it broke the named rule. Bytes
    /// that do not decode break [`Violation::Malformed`], a signature that
    /// does not verify under the author's key [`Violation::BadSignature`].
    /// The log must not be trusted past it; the caller reports it (someone
    /// signed, or the server served, an operation every client refuses).
    #[error("operation #{seq} ({op}) refused: {violation}")]
    InvalidOperation {
        /// Its position in the log.
        seq: u64,
        /// What kind of operation it is.
        op: &'static str,
        /// The rule it broke.
        violation: Violation,
    },
    /// An operation claims a time too far ahead of the verifier's clock. It is
    /// not refused: it is held, and becomes valid once the clock comes within
    /// the tolerance ([`crate::log::MAX_CLOCK_SKEW`]); the caller verifies
    /// again later.
    #[error(
        "operation #{seq} claims the time {claimed}, ahead of this clock ({now}) by more than the tolerance; held until then"
    )]
    NotYetValid {
        /// Its position in the log.
        seq: u64,
        /// The time it claims.
        claimed: u64,
        /// The verifier's clock when it was checked.
        now: u64,
    },
}

/// Why an operation could not be signed ([`crate::log::Operation::sign`]):
/// the caller's own arguments are wrong, and nothing was signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The author's handle is not a valid handle (empty, longer than
    /// [`crate::identity::MAX_HANDLE_LEN`], or with a control character);
    /// the inner error says which. Becomes [`crate::Error::Decode`].
    #[error("malformed input: {0}")]
    Author(#[from] DecodeError),
    /// The encoded operation would be longer than
    /// [`crate::log::op::MAX_OP_LEN`]; the caller makes it smaller. Becomes
    /// [`crate::Error::InvalidArgument`].
    #[error("invalid argument: an operation is at most {max} bytes")]
    TooLong {
        /// Its encoded length.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
}
