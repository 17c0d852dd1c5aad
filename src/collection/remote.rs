//! What the library needs from the storage server. The server is untrusted: the
//! library verifies everything it returns, so an implementation only moves bytes.

use crate::error::Result;
use crate::log::CollectionId;

/// The answer to an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The operation is now at the position asked for.
    Accepted,
    /// The log has moved on: another operation is at that position. Fetch what
    /// was missed and try again on the new head.
    Conflict,
}

/// The untrusted storage and delivery service, as the app reaches it.
///
/// Implement it over your transport (HTTP, a local database, a test double).
/// Every method may fail with [`crate::Error::Remote`]; whatever it returns is
/// verified before use, so a wrong answer leads to an error, never to a forged
/// state.
pub trait Remote: Send + Sync {
    /// Appends `op` at position `seq` if the log holds exactly `seq` operations;
    /// answers [`Appended::Conflict`] otherwise. Creating a collection is
    /// appending at position 0.
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended>;

    /// The operations from position `from` on, in order (empty if none).
    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>>;

    /// Stores a content blob under its ciphertext hash.
    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()>;

    /// Returns the content blob stored under `id`.
    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>>;

    /// The collections in which `handle` appears (the server reads membership from
    /// the logs; the library checks each one).
    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>>;
}
