//! What the library needs from the storage server. The server is untrusted: the
//! library verifies everything it returns, so an implementation only moves bytes.

use std::io::{Cursor, Read, Write};

use crate::error::Result;
use crate::log::CollectionId;
use crate::request::{LinkDevice, RequestSigner};

/// A blob being uploaded piece by piece; `finish` stores it under its id (the
/// hash of everything written, known only at the end). A write that fails
/// because the store did may return `io::Error::other(error)` with the
/// store's [`crate::Error`]: the call that wrote reports that error itself
/// (for example [`crate::Error::Remote`]), not an I/O error.
pub trait BlobUpload: Write + Send {
    /// Stores what was written under `id`.
    fn finish(self: Box<Self>, id: &[u8; 32]) -> Result<()>;
}

/// Stores a finished blob under its id.
type PutBlob<'a> = Box<dyn FnOnce(&[u8; 32], &[u8]) -> Result<()> + Send + 'a>;

/// The default upload: buffers in memory, then calls [`Remote::put_blob`].
struct BufferedUpload<'a> {
    buf: Vec<u8>,
    put: PutBlob<'a>,
}

impl Write for BufferedUpload<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BlobUpload for BufferedUpload<'_> {
    fn finish(self: Box<Self>, id: &[u8; 32]) -> Result<()> {
        let this = *self;
        (this.put)(id, &this.buf)
    }
}

/// The answer to an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The operation is now at the position asked for.
    Stored,
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

    /// The collections in which `handle` appears, and no others: those whose
    /// verified log shows `handle` as a current member (the owner included),
    /// as pending (added by a share or a completed invitation and not
    /// accepted yet, or joined through a link and awaiting approval), or as
    /// invited by handle with the invitation still open. That is
    /// [`crate::LogState::appears`] on the state the server verified on
    /// append; [`crate::LogState::verify_append_listing`] says after each
    /// append whose answer changed, so a server keeps an index. A collection
    /// `handle` was removed from, left, or whose invitation was cancelled is
    /// not listed. Order and duplicates carry no meaning.
    ///
    /// The list only saves clients work: [`crate::CollectionList`] opens and
    /// verifies each collection listed and nothing else, and reports one
    /// whose log does not show `handle` as failed
    /// ([`crate::Error::WrongListing`]), so a server that lists every
    /// collection makes each client fetch and verify every log.
    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>>;

    /// Lets this remote act for the holder of a link's secret on the link's
    /// collection. A server that lets only members read a collection lets
    /// the link's holder read it while the link is live; the core calls this
    /// before it reads a collection through a link (joining through an invite
    /// link, opening a public link). The default ignores it: a store that
    /// checks no one needs no signer.
    fn use_link(&self, signer: RequestSigner) {
        drop(signer);
    }

    /// Lets this remote read a public link's content as one of the link's
    /// devices. A server that enforces the link's device limit lets fetch
    /// its content only to devices it registered; the transport registers
    /// `device` with the proof it gives ([`LinkDevice::proof`]) before it
    /// reads blobs. The core calls this when it opens a public link with a
    /// device limit. The default ignores it.
    fn use_link_device(&self, device: LinkDevice) {
        drop(device);
    }

    /// Starts uploading a blob in pieces. The default buffers it and calls
    /// [`Remote::put_blob`]; a store that can write as it goes (files, HTTP
    /// streaming) overrides it so large content needs constant memory.
    fn upload_blob(&self, collection: &CollectionId) -> Result<Box<dyn BlobUpload + '_>> {
        let collection = *collection;
        Ok(Box::new(BufferedUpload {
            buf: Vec::new(),
            put: Box::new(move |id, bytes| self.put_blob(&collection, id, bytes)),
        }))
    }

    /// Reads a blob in pieces. The default fetches it whole with
    /// [`Remote::get_blob`]; a store that can stream overrides it.
    fn download_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(Cursor::new(self.get_blob(collection, id)?)))
    }
}
