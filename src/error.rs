//! The one error an app sees from the domain layer ([`Error`]), and where the
//! errors of the layers below it come together.
//!
//! Each layer reports its own failures precisely, and none names a layer
//! above it: the encoding [`DecodeError`] (defined with it in
//! [`crate::wire`], re-exported here), the primitives' [`crate::crypto::Error`]
//! (identities return it too), and the log's [`crate::log::VerifyError`] and
//! [`crate::log::SignError`]. Each converts into [`Error`] (`From`, so `?`
//! works upward), its variants becoming the variants of the same meaning.

pub use crate::wire::DecodeError;

use crate::log::rules::NO_SUCH_FOLDER;
use crate::log::{SignError, VerifyError, Violation};

/// Every failure an app sees from the domain layer (accounts, the keystore,
/// trust, collections, links), including those of the layers below, converted
/// (see the module).
///
/// Variants are chosen so that an app can act on them: show "wrong password",
/// ask the user to confirm a changed key, report a corrupted object. Every
/// failure to decrypt or authenticate collapses into [`Error::DecryptionFailed`]
/// so that no error reveals which check failed.
#[derive(Debug, thiserror::Error)]
// Deliberately exhaustive: every adapter (the bindings, the command line)
// must decide what a new case means to its users, at compile time, instead
// of letting it fall into a catch-all.
pub enum Error {
    /// Bytes from outside could not be decoded; the inner error says what was wrong.
    #[error("malformed input: {0}")]
    Decode(#[from] DecodeError),
    /// A ciphertext, wrapped key or content stream failed to authenticate, or was
    /// opened in the wrong context (collection, epoch, recipient, object).
    #[error(
        "decryption failed: the data was altered, truncated, or is not meant for this key or context"
    )]
    DecryptionFailed,
    /// A signature did not verify under the claimed key.
    #[error("signature verification failed for {what}")]
    BadSignature {
        /// Which signed object (or which entry of a batch) failed.
        what: String,
    },
    /// The password did not unlock the keystore.
    #[error("wrong password")]
    WrongPassword,
    /// The recovery phrase is well formed but does not unlock this keystore.
    #[error("wrong recovery phrase")]
    WrongRecoveryPhrase,
    /// The recovery phrase is not 24 words of the BIP39 English list with a valid checksum.
    #[error("not a valid recovery phrase: {0}")]
    InvalidRecoveryPhrase(String),
    /// A handle now presents a different identity card from the one pinned for
    /// it (a new card, or one the user accepted before and has since replaced).
    /// The app shows both (fingerprints, safety numbers) and, if the user
    /// confirms, calls [`crate::TrustStore::confirm_changed_key`] with `presented`.
    #[error(
        "the identity key of {handle:?} changed: pinned {}, presented {}; confirm the new key before using it",
        pinned.fingerprint(),
        presented.fingerprint()
    )]
    KeyChanged {
        /// The handle whose card changed.
        handle: String,
        /// The card pinned for it now.
        pinned: Box<crate::identity::Identity>,
        /// The card presented instead.
        presented: Box<crate::identity::Identity>,
    },
    /// A public key is unusable: of small order, non-canonical, an Ed25519 key
    /// with a torsion component (outside the prime-order subgroup), or it
    /// yields an all-zero shared secret. The message says which.
    #[error("unusable public key: {0}")]
    WeakKey(&'static str),
    /// Password-hashing parameters lie outside the accepted bounds or above the
    /// caller's budget ([`crate::crypto::password::Argon2Budget`]): a doctored
    /// blob, one made for a device with more to spare, or a link's terms above
    /// the link-password ceiling. The message names the field, its value and
    /// the bound. Nothing was allocated or hashed.
    #[error("password-hashing parameters refused: {0}")]
    UnsafeParameters(String),
    /// An argument from the caller is out of range (the message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The operating system's random generator failed.
    #[error("the operating system's random generator is unavailable")]
    RandomUnavailable,
    /// An operation of a collection's log served to this client was refused:
    /// it broke the named rule. Everything verified before it stays usable.
    /// Only operations read from a log are refused this way: the caller's own
    /// request that breaks a rule is refused before anything is signed, as
    /// [`Error::NotFound`], [`Error::NotAllowed`] or [`Error::InvalidArgument`]
    /// (see [`Error::from_own_request`]).
    #[error("operation #{seq} ({op}) refused: {violation}")]
    InvalidOperation {
        /// Its sequence number.
        seq: u64,
        /// What kind of operation it is.
        op: &'static str,
        /// The rule it broke.
        violation: Violation,
    },
    /// The server showed two different operations at the same position of a log:
    /// the history was forked. Nothing after the fork point is trusted.
    #[error(
        "the server forked the log at operation #{seq}: two different operations were served there"
    )]
    Fork {
        /// The position served two ways.
        seq: u64,
    },
    /// The server served a log shorter than one already verified (truncated or
    /// rolled back, or an operation it accepted was dropped).
    #[error("the server rolled the log back: {verified} operations were verified, {served} served")]
    RolledBack {
        /// Operations verified before.
        verified: u64,
        /// Operations the server now serves.
        served: u64,
    },
    /// The server listed a collection for an account
    /// ([`crate::Remote::collections_of`]) whose verified log does not show
    /// the account at all: not a member, not pending, not invited. An honest
    /// server lists only collections where the account appears, so its list
    /// is wrong (or the account was removed between the list and the fetch:
    /// list again).
    #[error(
        "the server listed collection {collection} for {handle:?}, but its verified log does not show {handle:?} as a member, pending or invited"
    )]
    WrongListing {
        /// The collection listed.
        collection: crate::log::CollectionId,
        /// The account it was listed for.
        handle: String,
    },
    /// A key unwrapped for an epoch does not match the commitment the log holds:
    /// someone handed this member a different key from the others.
    #[error("the key of epoch {epoch} does not match its commitment in the log")]
    EpochKeyMismatch {
        /// The epoch.
        epoch: u64,
    },
    /// An epoch of the collection is unusable for this member: the key wrapped to
    /// them does not open or does not match the epoch's commitment, or an
    /// earlier key it carries is bad. `signer` started the epoch. An Owner or
    /// Admin who holds the last good key can rotate past it
    /// (`Collection::rotate` does so by itself), and then remove the signer.
    #[error("epoch {epoch} is unusable ({problem}); it was started by {signer:?}")]
    BadEpoch {
        /// The epoch.
        epoch: u64,
        /// Who signed the operation that started it.
        signer: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An operation claims a time too far ahead of this client's clock. It is
    /// not refused: it is held, and becomes valid once the clock comes within
    /// the tolerance ([`crate::log::MAX_CLOCK_SKEW`]). Everything before it is
    /// verified and usable; sync again later.
    #[error(
        "operation #{seq} claims the time {claimed}, ahead of this clock ({now}) by more than the tolerance; held until then"
    )]
    NotYetValid {
        /// Its sequence number.
        seq: u64,
        /// The time it claims.
        claimed: u64,
        /// This client's clock when it was checked.
        now: u64,
    },
    /// This account may not do this in this collection: it is not a member
    /// (removed, never added), has not accepted yet, waits for approval, holds
    /// no key for what it asks, or the link it uses can no longer grant.
    /// A refusal for the account's role alone is [`Error::NotAllowedByRole`].
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// This account is a member holding the key, and its role does not allow
    /// this by the roles table: its role is too low, the member or role it
    /// manages is not below its own, or it is the owner and must transfer
    /// ownership first ([`crate::Violation::is_about_role`]).
    #[error("not allowed by role: {0}")]
    NotAllowedByRole(String),
    /// The named thing does not exist (item, member, version).
    #[error("not found: {0}")]
    NotFound(String),
    /// Content served for an item does not match the item's signed header.
    #[error("the content served does not match the item's signed header")]
    ContentMismatch,
    /// The link was revoked by an admin.
    #[error("the link was revoked")]
    LinkRevoked,
    /// The link expired.
    #[error("the link expired at {expired_at}")]
    LinkExpired {
        /// When it expired (seconds since the Unix epoch).
        expired_at: u64,
    },
    /// The text is not a sealshare link.
    #[error("not a sealshare link: {0}")]
    BadLink(&'static str),
    /// The storage server (or the app's transport to it) failed.
    #[error("server: {0}")]
    Remote(String),
    /// Reading or writing a stream failed.
    #[error("i/o error: {0}")]
    Io(std::io::Error),
    /// A failure that is the library's fault, not the caller's, the data's or
    /// the server's: a check that cannot fail did (the message says which).
    /// The call did not complete and returned nothing usable; trying again or
    /// with other input will not help. This is a bug in sealshare: report it
    /// with the message.
    #[error("internal error (a bug in sealshare, please report it): {0}")]
    Bug(&'static str),
}

/// The result type of the core layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stable, machine-readable name for an error variant, for logs and bindings.
impl Error {
    /// [`Error::KeyChanged`] for `presented`, whose handle has `pinned` pinned.
    pub(crate) fn key_changed(
        pinned: &crate::identity::Identity,
        presented: &crate::identity::Identity,
    ) -> Self {
        Error::KeyChanged {
            handle: presented.handle().to_owned(),
            pinned: Box::new(pinned.clone()),
            presented: Box::new(presented.clone()),
        }
    }

    /// The error a caller gets when the rules refuse their own request with
    /// `violation`, found before anything is signed or sent
    /// ([`crate::log::LogState::check_draft`]); the message is the
    /// violation's text. The one mapping from the rules to what a caller can
    /// act on:
    ///
    /// - [`Error::NotFound`]: what the request names is not there (a member,
    ///   an invitation, an item or its parent folder, a link);
    /// - [`Error::NotAllowedByRole`]: the caller's role does not allow it
    ///   (role too low, managing someone not below them, the owner leaving);
    /// - [`Error::NotAllowed`]: the caller's standing does not allow it (not a
    ///   member, not accepted, waiting for approval), or a link that can no
    ///   longer grant (used up, lapsed);
    /// - [`Error::LinkRevoked`] and [`Error::LinkExpired`]: the link the
    ///   request uses;
    /// - [`Error::InvalidArgument`]: everything else, a request that does not
    ///   fit the state (a role out of range, an item in or out of the trash,
    ///   a version or epoch the library should have picked).
    ///
    /// Never [`Error::InvalidOperation`]: that is for operations of a log
    /// served to the client, which someone else signed.
    pub fn from_own_request(violation: Violation) -> Error {
        use Violation as V;
        let text = violation.to_string();
        match violation {
            V::NoSuchMember(_)
            | V::NoSuchInvitation(_)
            | V::NoSuchItem
            | V::ItemPurged
            | V::NoSuchLink => Error::NotFound(text),
            V::BadParent(why) if why == NO_SUCH_FOLDER => Error::NotFound(text),
            V::RoleTooLow { .. } | V::NotBelowOwnRole { .. } | V::OwnerCannotLeave => {
                Error::NotAllowedByRole(text)
            }
            V::NotAMember { .. }
            | V::NotAccepted { .. }
            | V::AwaitsApproval(_)
            | V::LinkUsedUp
            | V::LinkLapsed(_) => Error::NotAllowed(text),
            V::LinkRevoked => Error::LinkRevoked,
            V::LinkExpired { expired_at, .. } => Error::LinkExpired { expired_at },
            V::Malformed(_)
            | V::WrongCollection
            | V::WrongSequence { .. }
            | V::BrokenChain
            | V::TimeWentBackwards { .. }
            | V::BadSignature { .. }
            | V::Genesis
            | V::OwnerOnlyByTransfer
            | V::AlreadyMember(_)
            | V::AlreadyAccepted(_)
            | V::WrongEpoch { .. }
            | V::RotationRequired
            | V::RotationRecipients(_)
            | V::EmptyList(_)
            | V::NamedTwice(_)
            | V::ItemExists
            | V::WrongVersion { .. }
            | V::ItemShape(_)
            | V::BadParent(_)
            | V::TrashState(_)
            | V::FolderNotEmpty
            | V::WrongLinkRole { .. }
            | V::BadJoinProof
            | V::LinkTerms(_)
            | V::NotAwaitingApproval(_)
            | V::Limit(_) => Error::InvalidArgument(text),
        }
    }

    /// The variant's name in snake case, stable across releases.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Decode(_) => "malformed_input",
            Error::DecryptionFailed => "decryption_failed",
            Error::BadSignature { .. } => "bad_signature",
            Error::WrongPassword => "wrong_password",
            Error::WrongRecoveryPhrase => "wrong_recovery_phrase",
            Error::InvalidRecoveryPhrase(_) => "invalid_recovery_phrase",
            Error::KeyChanged { .. } => "key_changed",
            Error::WeakKey(_) => "weak_key",
            Error::UnsafeParameters(_) => "unsafe_parameters",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::RandomUnavailable => "random_unavailable",
            Error::InvalidOperation { .. } => "invalid_operation",
            Error::Fork { .. } => "fork",
            Error::BadEpoch { .. } => "bad_epoch",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::RolledBack { .. } => "rolled_back",
            Error::EpochKeyMismatch { .. } => "epoch_key_mismatch",
            Error::WrongListing { .. } => "wrong_listing",
            Error::NotAllowed(_) => "not_allowed",
            Error::NotAllowedByRole(_) => "not_allowed_by_role",
            Error::NotFound(_) => "not_found",
            Error::ContentMismatch => "content_mismatch",
            Error::Remote(_) => "remote",
            Error::LinkRevoked => "link_revoked",
            Error::LinkExpired { .. } => "link_expired",
            Error::BadLink(_) => "bad_link",
            Error::Io(_) => "io",
            Error::Bug(_) => "bug",
        }
    }
}

impl From<crate::crypto::Error> for Error {
    /// Each failure of a primitive as the variant of the same name and meaning.
    fn from(e: crate::crypto::Error) -> Self {
        use crate::crypto::Error as C;
        match e {
            C::Decode(e) => Error::Decode(e),
            C::DecryptionFailed => Error::DecryptionFailed,
            C::BadSignature { what } => Error::BadSignature { what },
            C::WeakKey(why) => Error::WeakKey(why),
            C::UnsafeParameters(why) => Error::UnsafeParameters(why),
            C::RandomUnavailable => Error::RandomUnavailable,
            C::InvalidArgument(why) => Error::InvalidArgument(why),
            C::Io(e) => Error::from(e),
            C::Bug(what) => Error::Bug(what),
        }
    }
}

impl From<std::io::Error> for Error {
    /// An I/O failure, unless it carries an [`Error`] of its own (a
    /// [`crate::BlobUpload`] whose write failed because its server did
    /// returns `io::Error::other(error)`): then that error, as it was.
    fn from(e: std::io::Error) -> Self {
        match e.downcast::<Error>() {
            Ok(inner) => inner,
            Err(e) => Error::Io(e),
        }
    }
}

impl From<VerifyError> for Error {
    /// Where verification stopped, as the variant of the same name.
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::InvalidOperation { seq, op, violation } => {
                Error::InvalidOperation { seq, op, violation }
            }
            VerifyError::NotYetValid { seq, claimed, now } => {
                Error::NotYetValid { seq, claimed, now }
            }
        }
    }
}

impl From<SignError> for Error {
    /// A bad author handle as [`Error::Decode`], an operation too long to
    /// encode as [`Error::InvalidArgument`].
    fn from(e: SignError) -> Self {
        match e {
            SignError::Author(e) => Error::Decode(e),
            SignError::TooLong { max, .. } => {
                Error::InvalidArgument(format!("an operation is at most {max} bytes"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Action, Role};

    #[test]
    fn an_io_error_carrying_a_stores_error_is_that_error() {
        let carried = std::io::Error::other(Error::Remote("server refused: 403".into()));
        assert!(matches!(Error::from(carried), Error::Remote(m) if m == "server refused: 403"));
        let through = crate::crypto::Error::Io(std::io::Error::other(Error::Remote("x".into())));
        assert!(matches!(Error::from(through), Error::Remote(m) if m == "x"));
        let plain = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert!(
            matches!(Error::from(plain), Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn a_callers_refusal_keeps_the_rules_text_and_never_reads_as_a_served_log() {
        let cases = [
            (Violation::NoSuchMember("zed".into()), "not_found"),
            (Violation::NoSuchItem, "not_found"),
            (Violation::BadParent(NO_SUCH_FOLDER), "not_found"),
            (Violation::BadParent("not a folder"), "invalid_argument"),
            (Violation::OwnerOnlyByTransfer, "invalid_argument"),
            (
                Violation::RoleTooLow {
                    author: "bob".into(),
                    role: Role::Viewer,
                    action: Action::AddItem,
                },
                "not_allowed_by_role",
            ),
            (
                Violation::NotBelowOwnRole {
                    author: "ad".into(),
                    role: Role::Admin,
                    target: "zed".into(),
                    target_role: Role::Admin,
                },
                "not_allowed_by_role",
            ),
            (Violation::OwnerCannotLeave, "not_allowed_by_role"),
            (Violation::AwaitsApproval("dave".into()), "not_allowed"),
            (Violation::LinkUsedUp, "not_allowed"),
            (Violation::LinkRevoked, "link_revoked"),
        ];
        for (rule, code) in cases {
            let text = rule.to_string();
            let by_role = rule.is_about_role();
            let error = Error::from_own_request(rule);
            assert_eq!(error.code(), code, "{text}");
            assert_eq!(
                by_role,
                matches!(error, Error::NotAllowedByRole(_)),
                "{text}"
            );
            if !matches!(error, Error::LinkRevoked) {
                assert!(error.to_string().ends_with(&text), "{error} / {text}");
            }
        }
    }
}
