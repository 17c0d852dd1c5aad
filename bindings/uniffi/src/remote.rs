//! The storage server: an in-memory one for tests and demos, or the app's own
//! transport implemented in Kotlin, Swift or Python.

use std::sync::Arc;

use sealshare::{Appended, CollectionId, MemoryRemote};

use crate::error::{Result, SealshareError};

/// An honest in-memory server (for tests, demos and single-device apps).
#[derive(uniffi::Object, Default)]
pub struct MemoryServer {
    pub(crate) inner: Arc<MemoryRemote>,
}

#[uniffi::export]
impl MemoryServer {
    /// An empty server.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

/// The app's transport to its storage server. The server is untrusted: the
/// library verifies everything it returns. Ids are base64url text.
#[uniffi::export(with_foreign)]
pub trait RemoteStore: Send + Sync {
    /// Appends `op` at position `seq` if the log holds exactly `seq` operations;
    /// returns false if another operation is already there.
    fn append(&self, collection: String, seq: u64, op: Vec<u8>) -> Result<bool>;
    /// The operations from position `from` on.
    fn fetch(&self, collection: String, from: u64) -> Result<Vec<Vec<u8>>>;
    /// Stores a content blob under its 32-byte id.
    fn put_blob(&self, collection: String, id: Vec<u8>, blob: Vec<u8>) -> Result<()>;
    /// Returns the content blob stored under `id`.
    fn get_blob(&self, collection: String, id: Vec<u8>) -> Result<Vec<u8>>;
    /// The collections in which `handle` appears.
    fn collections_of(&self, handle: String) -> Result<Vec<String>>;
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SealshareError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SealshareError::Server { detail: e.reason }
    }
}

/// Adapts a foreign `RemoteStore` to the core's `Remote`.
pub(crate) struct ForeignRemote(pub(crate) Arc<dyn RemoteStore>);

fn remote_err(e: SealshareError) -> sealshare::Error {
    sealshare::Error::Remote(e.to_string())
}

impl sealshare::Remote for ForeignRemote {
    fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        op: &[u8],
    ) -> sealshare::Result<Appended> {
        let accepted = self
            .0
            .append(collection.to_text(), seq, op.to_vec())
            .map_err(remote_err)?;
        Ok(if accepted {
            Appended::Accepted
        } else {
            Appended::Conflict
        })
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> sealshare::Result<Vec<Vec<u8>>> {
        self.0.fetch(collection.to_text(), from).map_err(remote_err)
    }

    fn put_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
        blob: &[u8],
    ) -> sealshare::Result<()> {
        self.0
            .put_blob(collection.to_text(), id.to_vec(), blob.to_vec())
            .map_err(remote_err)
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> sealshare::Result<Vec<u8>> {
        self.0
            .get_blob(collection.to_text(), id.to_vec())
            .map_err(remote_err)
    }

    fn collections_of(&self, handle: &str) -> sealshare::Result<Vec<CollectionId>> {
        self.0
            .collections_of(handle.to_owned())
            .map_err(remote_err)?
            .iter()
            .map(|t| CollectionId::from_text(t).map_err(Into::into))
            .collect()
    }
}
