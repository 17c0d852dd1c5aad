//! sealshare for Swift, Kotlin and Python, through uniffi.
//!
//! The shape is for app developers: thread-safe objects (`Account`, `Session`,
//! `Collection`, `PublicLinkView`, `MemoryServer`), records for public data
//! (identity cards, members, items, links, history), byte arrays for content,
//! and one error enum an app can switch on. Secrets never sit in a record or an
//! error: objects that hold them have an explicit `wipe()`.
//!
//! Every exported function runs synchronously; call it off the UI thread.

// `KeyChanged` carries both identity cards by value, as records must to cross
// the FFI; boxing them is not open to uniffi records, so errors stay large.
#![allow(clippy::result_large_err)]

mod account;
mod collection;
mod error;
mod public;
mod records;
mod remote;
mod server;
mod session;

pub use account::{Account, ProtectedAccount};
pub use account::{parse_identity_card, safety_number};
pub use collection::{Collection, ContentSink, ContentSource};
pub use error::SealshareError;
pub use public::PublicLinkView;
pub use records::{
    CardTrust, CollectionListing, FailedCollection, HistoryEntry, IdentityCard, IntroductionInfo,
    ItemInfo, ItemKind, LinkInfo, ListedCollection, MemberInfo, PendingCollection, PendingKind,
    PinnedCardInfo, PublicScope, Role, SavedState, SignerTrust, TrustRestore,
};
pub use remote::{MemoryServer, RemoteStore};
pub use server::{sign_in_on_server, sign_in_with_recovery_phrase};
pub use session::Session;

uniffi::setup_scaffolding!();
