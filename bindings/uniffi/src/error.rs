//! The one error type apps see. Messages never contain secrets.

use sealshare::Violation;

/// What went wrong, as a case an app can switch on, each with a message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SealshareError {
    /// The password did not unlock the keystore, or a link's password is wrong or missing.
    #[error("{message}")]
    WrongPassword {
        /// What happened.
        message: String,
    },
    /// The recovery phrase is wrong or malformed.
    #[error("{message}")]
    WrongRecoveryPhrase {
        /// What happened.
        message: String,
    },
    /// A user's identity key changed: show it and ask the user to confirm.
    #[error("{message}")]
    KeyChanged {
        /// The handle whose key changed.
        handle: String,
        /// What happened.
        message: String,
    },
    /// The user's role does not allow this (by the roles table).
    #[error("{message}")]
    NotAllowedByRole {
        /// What happened.
        message: String,
    },
    /// This account may not do this here (not a member, no key, removed).
    #[error("{message}")]
    NotAllowed {
        /// What happened.
        message: String,
    },
    /// The collection's log holds an operation every client refuses.
    #[error("{message}")]
    InvalidLog {
        /// Its position in the log.
        seq: u64,
        /// The kind of operation.
        operation: String,
        /// The rule it broke.
        rule: String,
        /// The whole message.
        message: String,
    },
    /// The server forked or rolled back the log, or served content that does not
    /// match its signed header.
    #[error("{message}")]
    ServerMisbehaved {
        /// What happened.
        message: String,
    },
    /// The link expired.
    #[error("{message}")]
    LinkExpired {
        /// What happened.
        message: String,
    },
    /// The link was revoked.
    #[error("{message}")]
    LinkRevoked {
        /// What happened.
        message: String,
    },
    /// Input could not be decoded or decrypted (corrupted, truncated, altered).
    #[error("{message}")]
    Malformed {
        /// What happened.
        message: String,
    },
    /// An id, member or item does not exist.
    #[error("{message}")]
    NotFound {
        /// What happened.
        message: String,
    },
    /// An argument is out of range.
    #[error("{message}")]
    InvalidArgument {
        /// What happened.
        message: String,
    },
    /// The storage server (the app's transport) failed.
    #[error("{message}")]
    Server {
        /// What happened.
        message: String,
    },
    /// The object was wiped (or locked) and can no longer be used.
    #[error("{message}")]
    Wiped {
        /// What happened.
        message: String,
    },
    /// Anything else (the operating system's random generator, I/O).
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl From<sealshare::Error> for SealshareError {
    fn from(e: sealshare::Error) -> Self {
        use sealshare::Error as E;
        let message = e.to_string();
        match e {
            E::WrongPassword => Self::WrongPassword { message },
            E::WrongRecoveryPhrase | E::InvalidRecoveryPhrase(_) => {
                Self::WrongRecoveryPhrase { message }
            }
            E::KeyChanged { handle } => Self::KeyChanged { handle, message },
            E::InvalidOperation { seq, op, violation } => match violation {
                Violation::RoleTooLow { .. }
                | Violation::NotBelowOwnRole { .. }
                | Violation::OwnerOnlyByTransfer
                | Violation::OwnerCannotLeave => Self::NotAllowedByRole { message },
                other => Self::InvalidLog {
                    seq,
                    operation: op.to_owned(),
                    rule: other.to_string(),
                    message,
                },
            },
            E::NotAllowed(_) => Self::NotAllowed { message },
            E::Fork { .. }
            | E::RolledBack { .. }
            | E::ContentMismatch
            | E::EpochKeyMismatch { .. } => Self::ServerMisbehaved { message },
            E::LinkExpired { .. } => Self::LinkExpired { message },
            E::LinkRevoked => Self::LinkRevoked { message },
            E::Decode(_)
            | E::DecryptionFailed
            | E::BadSignature { .. }
            | E::BadLink(_)
            | E::WeakKey(_) => Self::Malformed { message },
            E::NotFound(_) => Self::NotFound { message },
            E::InvalidArgument(_) | E::UnsafeParameters(_) => Self::InvalidArgument { message },
            E::Remote(_) => Self::Server { message },
            _ => Self::Internal { message },
        }
    }
}

impl From<sealshare::DecodeError> for SealshareError {
    fn from(e: sealshare::DecodeError) -> Self {
        sealshare::Error::from(e).into()
    }
}

/// The error for an object used after `wipe()`.
pub(crate) fn wiped(what: &str) -> SealshareError {
    SealshareError::Wiped {
        message: format!("this {what} was wiped"),
    }
}

/// The result type of every exported function.
pub type Result<T> = std::result::Result<T, SealshareError>;
