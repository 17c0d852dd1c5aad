//! The storage server: an in-memory one for tests and demos, or the app's own
//! transport implemented in Kotlin, Swift or Python.

use std::io::{BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sealshare::BlobUpload;
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
    /// The collections in which `handle` appears, and no others: where the
    /// log shows it as a member (the owner included), pending (shared and not
    /// accepted, or joined and awaiting approval) or invited by handle, as
    /// the server verified on append (see the core's `Remote::collections_of`).
    /// The library opens and verifies each one listed; one that does not show
    /// `handle` is reported as failed in `Session.listCollections()`.
    fn collections_of(&self, handle: String) -> Result<Vec<String>>;
    /// Appends a piece of a blob being uploaded (`upload` numbers the upload).
    fn put_blob_chunk(&self, collection: String, upload: u64, chunk: Vec<u8>) -> Result<()>;
    /// Stores the pieces of upload `upload`, in order, as the blob `id`.
    fn finish_blob(&self, collection: String, upload: u64, id: Vec<u8>) -> Result<()>;
    /// Up to `len` bytes of blob `id` from `offset` (empty past the end).
    fn get_blob_range(
        &self,
        collection: String,
        id: Vec<u8>,
        offset: u64,
        len: u32,
    ) -> Result<Vec<u8>>;
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SealshareError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SealshareError::Server { detail: e.reason }
    }
}

/// Adapts a foreign `RemoteStore` to the core's `Remote`.
pub(crate) struct ForeignRemote(pub(crate) Arc<dyn RemoteStore>);

/// Pieces handed to the foreign store at most this large.
pub(crate) const PIECE: usize = 1 << 20;

static UPLOADS: AtomicU64 = AtomicU64::new(1);

/// An upload streamed to the foreign store in pieces.
struct ForeignUpload {
    store: Arc<dyn RemoteStore>,
    collection: String,
    upload: u64,
    buf: Vec<u8>,
}

impl ForeignUpload {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::take(&mut self.buf);
        self.store
            .put_blob_chunk(self.collection.clone(), self.upload, piece)
            .map_err(std::io::Error::other)
    }
}

impl Write for ForeignUpload {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let take = (PIECE - self.buf.len()).min(data.len());
        self.buf
            .extend_from_slice(data.get(..take).unwrap_or_default());
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(take)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BlobUpload for ForeignUpload {
    fn finish(mut self: Box<Self>, id: &[u8; 32]) -> sealshare::Result<()> {
        self.send()?;
        self.store
            .finish_blob(self.collection.clone(), self.upload, id.to_vec())
            .map_err(remote_err)
    }
}

/// A blob read from the foreign store in pieces.
struct ForeignDownload {
    store: Arc<dyn RemoteStore>,
    collection: String,
    id: Vec<u8>,
    offset: u64,
}

impl Read for ForeignDownload {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let want = u32::try_from(out.len().min(PIECE)).unwrap_or(u32::MAX);
        let piece = self
            .store
            .get_blob_range(self.collection.clone(), self.id.clone(), self.offset, want)
            .map_err(std::io::Error::other)?;
        let n = piece.len().min(out.len());
        out.get_mut(..n)
            .ok_or_else(|| std::io::Error::other("short buffer"))?
            .copy_from_slice(piece.get(..n).unwrap_or_default());
        self.offset += n as u64;
        Ok(n)
    }
}

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
            Appended::Stored
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

    fn upload_blob(
        &self,
        collection: &CollectionId,
    ) -> sealshare::Result<Box<dyn BlobUpload + '_>> {
        Ok(Box::new(ForeignUpload {
            store: self.0.clone(),
            collection: collection.to_text(),
            upload: UPLOADS.fetch_add(1, Ordering::Relaxed),
            buf: Vec::new(),
        }))
    }

    fn download_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> sealshare::Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(BufReader::with_capacity(
            PIECE,
            ForeignDownload {
                store: self.0.clone(),
                collection: collection.to_text(),
                id: id.to_vec(),
                offset: 0,
            },
        )))
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
