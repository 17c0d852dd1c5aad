//! # sealshare
//!
//! End-to-end encrypted sharing of collections (notebooks, folders, vaults)
//! between users. The server is untrusted storage: everything is encrypted and
//! signed on the client, and every client enforces the rules.
//!
//! What an app uses is here, at the crate root:
//!
//! - an [`Account`] (handle and keys) in a password-protected [`Keystore`],
//!   recoverable with a [`RecoveryPhrase`]; its public [`Identity`] card, with
//!   [`Fingerprint`]s and [`SafetyNumber`]s; the [`TrustStore`] that pins the
//!   cards a user accepted;
//! - a [`Client`] (an account on a [`Remote`] server, which is untrusted) and
//!   its [`Collection`]s: members with a [`Role`], [`Item`]s and folders, key
//!   rotation, history; a [`CollectionList`] of what is shared with the user;
//! - links: invitations ([`InviteTerms`]) and public links
//!   ([`PublicLinkTerms`], read through a [`PublicView`]), as a [`LinkUrl`];
//! - the keyless verifier a server runs ([`LogState`], [`Operation`]), with
//!   the [`Violation`] that names the rule a refused operation broke;
//! - one [`Error`], whose variants say what a caller can do.
//!
//! See README.md for a walkthrough, SECURITY.md for the threat model and SPEC.md
//! for the byte-level format.
#![forbid(unsafe_code)]

mod account;
mod collection;
mod crypto;
mod error;
mod identity;
mod keystore;
mod labels;
mod links;
mod log;
mod request;
mod trust;
mod wire;

pub use crypto::Error as CryptoError;
pub use error::{DecodeError, Error, Result};

pub use account::Account;
pub use collection::{
    Appended, BlobUpload, Client, Clock, Collection, CollectionList, HistoryEntry, Introduction,
    Item, ItemListing, ItemMetadata, ListedCollection, MAX_ITEM_NAME, MAX_NAME_LEN, MemoryRemote,
    PendingCollection, PendingKind, Remote, SignerTrust, Signers, TrustRestored, UnreadableItem,
    VersionInfo, system_time,
};
pub use crypto::password::{Argon2Budget, Argon2Params, Profile as KdfProfile};
/// [`ciphertext_hash`] computed piece by piece.
pub use crypto::stream::CiphertextHasher;
/// The hash of a whole sealed content, as an item's signed header records it:
/// what a server stores a blob under, and checks a blob against, without any key.
pub use crypto::stream::ciphertext_hash;
pub use identity::{Fingerprint, Identity, MAX_CARD_LEN, MAX_HANDLE_LEN, SafetyNumber};
pub use keystore::{Keystore, RecoveryPhrase};
pub use links::{InviteTerms, LinkPurpose, LinkUrl, PublicLinkTerms, PublicView};
pub use log::link_terms::{LinkKind, LinkTerms, PublicScope};
pub use log::state::{Invitation, ItemRecord, ItemVersion, LinkRecord};
pub use log::{
    CollectionId, Epoch, Event, EventKind, ItemId, ItemKind, LinkId, ListingChange, LogState,
    MAX_CLOCK_SKEW, MAX_OP_LEN, Member, Operation, Role, SignError, Standing, VerifyError,
    Violation,
};
pub use request::{
    AuthError, DeviceGate, DeviceKey, LinkDevice, MAX_AUTH_HEADER_LEN, MAX_REQUEST_LIFETIME,
    Principal, RequestAuth, RequestSigner, RequestTarget, STREAMED_BODY, ServerId, body_digest,
};
pub use trust::{CardTrust, PinReason, PinnedCard, TrustStatus, TrustStore};

/// The layers below the domain API: primitives, the wire encoding and the
/// log's internals, for the fuzz targets, the tests, the benchmarks and the
/// test-vector generator. Not part of the API an app uses, and not stable:
/// everything an app needs is re-exported at the crate root.
#[doc(hidden)]
pub mod internal {
    /// Primitives: AEAD, HPKE wrapping, signatures, KDFs, password hashing,
    /// content streams, randomness.
    pub mod crypto {
        pub use crate::crypto::*;
    }
    /// The canonical encoding and its text form.
    pub mod wire {
        pub use crate::wire::*;
    }
    /// Operations, the roles table, the replayed state and its verification.
    pub mod log {
        pub use crate::log::*;
    }
    /// The collection layer's internals.
    pub mod collection {
        pub use crate::collection::*;
    }
    /// Links' internals.
    pub mod links {
        pub use crate::links::*;
    }
    /// Identity cards' internals.
    pub mod identity {
        pub use crate::identity::*;
    }
    /// The keystore's internals.
    pub mod keystore {
        pub use crate::keystore::*;
    }
    /// The trust store's internals.
    pub mod trust {
        pub use crate::trust::*;
    }
}

/// The README's code examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
