//! An honest in-memory server, for tests, demos and apps that keep everything on
//! one device. It checks nothing: the library verifies what it returns anyway.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::collection::remote::{Appended, Remote};
use crate::error::{Error, Result};
use crate::log::CollectionId;

#[derive(Default)]
struct Store {
    logs: BTreeMap<CollectionId, Vec<Vec<u8>>>,
    blobs: HashMap<(CollectionId, [u8; 32]), Vec<u8>>,
}

/// A [`Remote`] that keeps logs and blobs in memory.
#[derive(Default)]
pub struct MemoryRemote {
    store: Mutex<Store>,
}

impl MemoryRemote {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| Error::Remote("in-memory store poisoned by a panic".into()))
    }
}

impl Remote for MemoryRemote {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let mut store = self.lock()?;
        let log = store.logs.entry(*collection).or_default();
        if log.len() as u64 != seq {
            return Ok(Appended::Conflict);
        }
        log.push(op.to_vec());
        Ok(Appended::Accepted)
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

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        self.lock()?.blobs.insert((*collection, *id), blob.to_vec());
        Ok(())
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.lock()?
            .blobs
            .get(&(*collection, *id))
            .cloned()
            .ok_or_else(|| Error::Remote("no such blob".into()))
    }

    fn collections_of(&self, _handle: &str) -> Result<Vec<CollectionId>> {
        // Every collection: the library keeps those where the handle is a member.
        Ok(self.lock()?.logs.keys().copied().collect())
    }
}
