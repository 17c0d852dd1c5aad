//! The one error type apps see. Messages never contain secrets.

use crate::records::IdentityCard;

/// What went wrong, as a case an app can switch on, each with a message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SealshareError {
    /// The password did not unlock the keystore, or a link's password is wrong or missing.
    #[error("{detail}")]
    WrongPassword {
        /// What happened.
        detail: String,
    },
    /// The recovery phrase is wrong or malformed.
    #[error("{detail}")]
    WrongRecoveryPhrase {
        /// What happened.
        detail: String,
    },
    /// A user's identity key changed: show it and ask the user to confirm.
    #[error("{detail}")]
    KeyChanged {
        /// The handle whose key changed.
        handle: String,
        /// The card pinned for it now.
        pinned: IdentityCard,
        /// The card presented instead: pass it to `Session.confirm_changed_key`
        /// once the user confirmed it (compare `Session.safety_number_with`).
        presented: IdentityCard,
        /// What happened.
        detail: String,
    },
    /// The user's role does not allow this (by the roles table): found
    /// before anything was signed or sent.
    #[error("{detail}")]
    NotAllowedByRole {
        /// What happened.
        detail: String,
    },
    /// This account may not do this here (not a member, removed, not
    /// accepted yet, waiting for approval, no key).
    #[error("{detail}")]
    NotAllowed {
        /// What happened.
        detail: String,
    },
    /// The collection's log holds an operation every client refuses.
    #[error("{detail}")]
    InvalidLog {
        /// Its position in the log.
        seq: u64,
        /// The kind of operation.
        operation: String,
        /// The rule it broke.
        rule: String,
        /// The whole message.
        detail: String,
    },
    /// The server forked or rolled back the log, or served content that does not
    /// match its signed header.
    #[error("{detail}")]
    ServerMisbehaved {
        /// What happened.
        detail: String,
    },
    /// An epoch of the collection is unusable for this member (its key does not
    /// open or does not match); `signer` started it. An owner or admin's
    /// `rotate()` recovers; until then nothing is written under it.
    #[error("{detail}")]
    BadEpoch {
        /// The epoch.
        epoch: u64,
        /// Who signed it.
        signer: String,
        /// What happened.
        detail: String,
    },
    /// The log holds an operation dated more than five minutes ahead of this
    /// device's clock: it is held, not refused; sync again later.
    #[error("{detail}")]
    NotYetValid {
        /// Its position in the log.
        seq: u64,
        /// What happened.
        detail: String,
    },
    /// The link expired.
    #[error("{detail}")]
    LinkExpired {
        /// What happened.
        detail: String,
    },
    /// The link was revoked.
    #[error("{detail}")]
    LinkRevoked {
        /// What happened.
        detail: String,
    },
    /// Input could not be decoded or decrypted (corrupted, truncated, altered).
    #[error("{detail}")]
    Malformed {
        /// What happened.
        detail: String,
    },
    /// An id, member or item does not exist.
    #[error("{detail}")]
    NotFound {
        /// What happened.
        detail: String,
    },
    /// An argument is out of range.
    #[error("{detail}")]
    InvalidArgument {
        /// What happened.
        detail: String,
    },
    /// The storage server (the app's transport) failed.
    #[error("{detail}")]
    Server {
        /// What happened.
        detail: String,
    },
    /// The object was wiped (or locked) and can no longer be used.
    #[error("{detail}")]
    Wiped {
        /// What happened.
        detail: String,
    },
    /// Anything else (the operating system's random generator, I/O, a bug in
    /// the library).
    #[error("{detail}")]
    Internal {
        /// What happened.
        detail: String,
    },
}

impl From<sealshare::Error> for SealshareError {
    fn from(e: sealshare::Error) -> Self {
        use sealshare::Error as E;
        let message = e.to_string();
        match e {
            E::WrongPassword => Self::WrongPassword { detail: message },
            E::WrongRecoveryPhrase | E::InvalidRecoveryPhrase(_) => {
                Self::WrongRecoveryPhrase { detail: message }
            }
            E::KeyChanged {
                handle,
                pinned,
                presented,
            } => Self::KeyChanged {
                handle,
                pinned: IdentityCard::from_core(&pinned),
                presented: IdentityCard::from_core(&presented),
                detail: message,
            },
            // Only operations of a log served to this device: the user's own
            // requests are refused before signing, as NotFound, NotAllowed
            // or InvalidArgument (see `sealshare::Error::from_own_request`).
            E::InvalidOperation { seq, op, violation } => Self::InvalidLog {
                seq,
                operation: op.to_owned(),
                rule: violation.to_string(),
                detail: message,
            },
            E::NotAllowed(_) => Self::NotAllowed { detail: message },
            E::BadEpoch { epoch, signer, .. } => Self::BadEpoch {
                epoch,
                signer,
                detail: message,
            },
            E::NotYetValid { seq, .. } => Self::NotYetValid {
                seq,
                detail: message,
            },
            E::Fork { .. }
            | E::RolledBack { .. }
            | E::ContentMismatch
            | E::EpochKeyMismatch { .. }
            | E::WrongListing { .. } => Self::ServerMisbehaved { detail: message },
            E::LinkExpired { .. } => Self::LinkExpired { detail: message },
            E::LinkRevoked => Self::LinkRevoked { detail: message },
            E::Decode(_)
            | E::DecryptionFailed
            | E::BadSignature { .. }
            | E::BadLink(_)
            | E::WeakKey(_) => Self::Malformed { detail: message },
            E::NotFound(_) => Self::NotFound { detail: message },
            E::InvalidArgument(_) | E::UnsafeParameters(_) => {
                Self::InvalidArgument { detail: message }
            }
            E::Remote(_) => Self::Server { detail: message },
            E::NotAllowedByRole(_) => Self::NotAllowedByRole { detail: message },
            E::RandomUnavailable | E::Io(_) | E::Bug(_) => Self::Internal { detail: message },
        }
    }
}

impl From<sealshare::DecodeError> for SealshareError {
    fn from(e: sealshare::DecodeError) -> Self {
        sealshare::Error::from(e).into()
    }
}

impl From<sealshare::CryptoError> for SealshareError {
    fn from(e: sealshare::CryptoError) -> Self {
        sealshare::Error::from(e).into()
    }
}

/// The error for an object used after `wipe()`.
pub(crate) fn wiped(what: &str) -> SealshareError {
    SealshareError::Wiped {
        detail: format!("this {what} was wiped"),
    }
}

/// The result type of every exported function.
pub(crate) type Result<T> = std::result::Result<T, SealshareError>;
