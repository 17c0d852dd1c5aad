//! # sealshare
//!
//! End-to-end encrypted sharing of collections (notebooks, folders, vaults)
//! between users. The server is untrusted storage: everything is encrypted and
//! signed on the client, and every client enforces the rules.
//!
//! The layers, bottom up: [`crypto`] primitives and the canonical [`wire`]
//! format; [`identity`] cards, the [`keystore`] and [`account`]s with the
//! [`trust`] store; the signed operation [`log`] of a collection with the roles
//! table, verifiable without any secret key; and [`collection`]: sharing,
//! roles, items, epochs and key rotation as a member sees them.
//! See README.md for a walkthrough, SECURITY.md for the threat model and SPEC.md
//! for the byte-level format.
#![forbid(unsafe_code)]

pub mod account;
pub mod collection;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod keystore;
pub mod links;
pub mod log;
pub mod trust;
pub mod wire;

pub use crypto::Error as CryptoError;
pub use error::{DecodeError, Error, Result};

pub use account::Account;
pub use collection::{
    Appended, Client, Collection, CollectionList, HistoryEntry, Introduction, Item, ItemListing,
    ItemMetadata, ListedCollection, MemoryRemote, PendingCollection, PendingKind, Remote,
    SignerTrust, Signers, TrustRestored, UnreadableItem,
};
pub use identity::{Fingerprint, Identity, SafetyNumber};
pub use keystore::{Keystore, RecoveryPhrase};
pub use links::{InviteTerms, LinkUrl, PublicLinkTerms, PublicScopeChoice, PublicView};
pub use log::{CollectionId, ItemId, ItemKind, LogState, Operation, Role, Violation};
pub use trust::{Acceptance, AcceptedCard, CardTrust, TrustStatus, TrustStore};

/// The README's code examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
