//! An honest in-memory server, for tests, demos and apps that keep everything on
//! one device. Like every server must, it runs the keyless verifier on every
//! append and stores only operations every client will accept: a server that
//! stores a refused operation leaves the log unusable for everyone after it.
//! It answers [`Remote::collections_of`] from an index it keeps on append.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::collection::client::{Clock, system_time};
use crate::collection::remote::{Appended, Remote};
use crate::error::{Error, Result};
use crate::log::{CollectionId, LogState};

#[derive(Default)]
struct Store {
    logs: BTreeMap<CollectionId, Vec<Vec<u8>>>,
    /// Each log's verified state, which every append is checked against.
    states: BTreeMap<CollectionId, LogState>,
    /// For each handle, the collections where it appears
    /// ([`LogState::appears`]), kept from each append's [`crate::log::ListingChange`].
    listing: HashMap<String, BTreeSet<CollectionId>>,
    blobs: HashMap<(CollectionId, [u8; 32]), Vec<u8>>,
}

/// A [`Remote`] that keeps logs and blobs in memory and verifies every append.
///
/// Its [`Remote::collections_of`] is exact: the collections whose verified
/// state shows the handle as a member, pending or invited, from an index
/// updated on each append (no log is read to answer it).
pub struct MemoryRemote {
    store: Mutex<Store>,
    clock: Clock,
}

impl Default for MemoryRemote {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRemote {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Box::new(system_time))
    }

    /// An empty store whose verifier uses `clock` (tests, or a trusted time source).
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            store: Mutex::new(Store::default()),
            clock,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| Error::Remote("in-memory store poisoned by a panic".into()))
    }
}

impl Remote for MemoryRemote {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let now = (self.clock)();
        let mut store = self.lock()?;
        let Store {
            logs,
            states,
            listing,
            ..
        } = &mut *store;
        let log = logs.entry(*collection).or_default();
        if log.len() as u64 != seq {
            return Ok(Appended::Conflict);
        }
        let state = states
            .entry(*collection)
            .or_insert_with(|| LogState::empty(*collection));
        // A refused operation changes nothing: the state keeps its prefix.
        let change = state.verify_append_listing(op, now)?;
        log.push(op.to_vec());
        for handle in change.added {
            listing.entry(handle).or_default().insert(*collection);
        }
        for handle in change.dropped {
            if let Some(ids) = listing.get_mut(&handle) {
                ids.remove(collection);
                if ids.is_empty() {
                    listing.remove(&handle);
                }
            }
        }
        Ok(Appended::Stored)
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        let store = self.lock()?;
        Ok(store
            .logs
            .get(collection)
            .map(|log| {
                log.iter()
                    .skip(usize::try_from(from).unwrap_or(usize::MAX))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Stores a blob only under its own ciphertext hash, as a server must
    /// (it never overwrites: the same id is the same bytes).
    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        if crate::crypto::stream::ciphertext_hash(blob) != *id {
            return Err(Error::Remote(
                "refused: the blob does not hash to its id".into(),
            ));
        }
        self.lock()?
            .blobs
            .entry((*collection, *id))
            .or_insert_with(|| blob.to_vec());
        Ok(())
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.lock()?
            .blobs
            .get(&(*collection, *id))
            .cloned()
            .ok_or_else(|| Error::Remote("no such blob".into()))
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        Ok(self
            .lock()?
            .listing
            .get(handle)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_stored_only_under_its_own_hash() {
        let remote = MemoryRemote::new();
        let id = CollectionId([1; 16]);
        let blob = b"sealed bytes".to_vec();
        let good = crate::crypto::stream::ciphertext_hash(&blob);
        assert!(remote.put_blob(&id, &[0; 32], &blob).is_err());
        assert!(remote.get_blob(&id, &[0; 32]).is_err(), "nothing stored");
        remote.put_blob(&id, &good, &blob).unwrap();
        remote.put_blob(&id, &good, &blob).unwrap();
        assert_eq!(remote.get_blob(&id, &good).unwrap(), blob);
    }
}
