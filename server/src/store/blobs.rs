//! The blobs (`blobs/<collection id text>/<hex hash>`, one object per
//! content blob) behind `object_store`: the data folder by default, or an
//! S3-compatible bucket ([`BlobStorage`]). Each blob is uploaded to a
//! temporary key first, hashed as it arrives, and copied to its final key
//! only once its hash is its id, with a create-only copy
//! (`copy_if_not_exists`: a hard link in the folder, a multipart copy
//! completed with `If-None-Match: *` on S3), so no reader ever sees half a
//! blob and an existing blob is never overwritten. And the data folder's
//! `lock`, which says who uses the folder (and its `sealshare.db`).
//!
//! - With SQLite, one server process holds the folder: `lock` is locked
//!   exclusively, and `tmp/` is emptied at start.
//! - With PostgreSQL, several processes may share it: each locks `lock`
//!   shared (so no SQLite server opens the folder meanwhile, nor one of them
//!   a folder a SQLite server holds) and writes into its own
//!   `tmp/<pid>-<random>/`, which holds a `lock` file locked for as long as
//!   the process runs. A process removes its own folder when its store is
//!   dropped, and at start the folders of processes that are gone: those
//!   whose `lock` it can lock. A folder is given its `lock` only once that
//!   file is locked (it is locked under another name, then renamed), so a
//!   starting process never takes a live one for stale.
//! - In a bucket, each process uploads under `tmp/<pid>-<random>/` and
//!   deletes each temporary object (or aborts its multipart upload) when
//!   the upload ends; what a killed process leaves there is not removed by
//!   the server (other processes may share the bucket): docs/server.md says
//!   which lifecycle rules expire it.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as Key;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use sealshare::{CiphertextHasher, CollectionId};

use super::blob_file::{TmpFile, read_pieces};
use super::objects::BlobStorage;
use super::{MAX_BLOB_LEN, Put, QuotaRoom, StoreError, hex};

/// The parts of a multipart upload: S3's smallest but for the last.
const PART_LEN: usize = 5 << 20;
/// How many parts of one upload are sent at once.
const PARTS_IN_FLIGHT: usize = 2;

/// The blobs of a store, and the data folder's locks.
pub(super) struct Blobs {
    objects: Arc<dyn ObjectStore>,
    /// The data folder, when the blobs are in it (files are synced there).
    folder: Option<PathBuf>,
    /// Where this process uploads blobs before copying them into place.
    tmp_key: Key,
    uploads: AtomicU64,
    /// This process's own temporary folder, removed on drop.
    own_tmp: Option<PathBuf>,
    /// `DIR/lock`, locked for as long as the store is open.
    _folder_lock: File,
    /// `tmp/<pid>-<random>/lock`, for a shared folder.
    _tmp_lock: Option<File>,
}

/// `<pid>-<random>`: a name no other process uses.
fn process_name() -> Result<String, StoreError> {
    let random = super::new_server_id()?;
    let (head, _) = random.0.split_at(8);
    Ok(format!("{}-{}", std::process::id(), hex(head)))
}

/// The temporary prefix of `storage` for a process that writes into the
/// folder's `local` temporary key.
fn tmp_key_of(storage: &BlobStorage, local: &str) -> Result<Key, StoreError> {
    if storage.is_folder() {
        Ok(Key::parse(local).map_err(object_store::Error::from)?)
    } else {
        let name = format!("tmp/{}", process_name()?);
        Ok(Key::parse(name).map_err(object_store::Error::from)?)
    }
}

fn lock_file(path: &Path) -> std::io::Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

fn in_use(dir: &Path, e: TryLockError) -> StoreError {
    match e {
        TryLockError::WouldBlock => StoreError::InUse(dir.to_owned()),
        TryLockError::Error(e) => StoreError::Io(e),
    }
}

impl Blobs {
    /// The blobs of `dir` for one process (SQLite), kept in `storage`:
    /// fails with [`StoreError::InUse`] while another store has the folder
    /// open, and removes the temporary files a previous process left in it.
    pub(super) fn exclusive(dir: &Path, storage: &BlobStorage) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_file(&dir.join("lock"))?;
        lock.try_lock().map_err(|e| in_use(dir, e))?;
        std::fs::create_dir_all(dir.join("blobs"))?;
        let tmp = dir.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(Self {
            objects: storage.open(dir)?,
            folder: storage.is_folder().then(|| dir.to_owned()),
            tmp_key: tmp_key_of(storage, "tmp")?,
            uploads: AtomicU64::new(0),
            own_tmp: None,
            _folder_lock: lock,
            _tmp_lock: None,
        })
    }

    /// The blobs of `dir`, kept in `storage`, shared with other processes
    /// of the same PostgreSQL database: fails with [`StoreError::InUse`]
    /// while a SQLite store has the folder open. Makes this process's
    /// temporary folder and removes those of processes that are gone.
    pub(super) fn shared(dir: &Path, storage: &BlobStorage) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_file(&dir.join("lock"))?;
        lock.try_lock_shared().map_err(|e| in_use(dir, e))?;
        let tmp_root = dir.join("tmp");
        std::fs::create_dir_all(dir.join("blobs"))?;
        std::fs::create_dir_all(&tmp_root)?;
        remove_stale(&tmp_root);
        let name = process_name()?;
        let tmp = tmp_root.join(&name);
        std::fs::create_dir(&tmp)?;
        let pending = tmp.join("lock.new");
        let tmp_lock = lock_file(&pending)?;
        tmp_lock.try_lock().map_err(|e| in_use(&tmp, e))?;
        std::fs::rename(&pending, tmp.join("lock"))?;
        Ok(Self {
            objects: storage.open(dir)?,
            folder: storage.is_folder().then(|| dir.to_owned()),
            tmp_key: tmp_key_of(storage, &format!("tmp/{name}"))?,
            uploads: AtomicU64::new(0),
            own_tmp: Some(tmp),
            _folder_lock: lock,
            _tmp_lock: Some(tmp_lock),
        })
    }

    /// The key of the blob `id` of `collection`.
    fn key(collection: &CollectionId, id: &[u8; 32]) -> Key {
        Key::from_iter(["blobs".to_owned(), collection.to_text(), hex(id)])
    }

    /// The blob `id` of `collection`, streamed from the storage, or `None`
    /// if there is no such blob. Only whole blobs are ever under their key.
    pub(super) async fn get(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Option<BlobRead>, StoreError> {
        match self.objects.get(&Self::key(collection, id)).await {
            Ok(got) => {
                let len = got.meta.size;
                let stream = match got.payload {
                    // `object_store` would read a file 8 KiB at a time.
                    GetResultPayload::File(file, _) => read_pieces(file, len)
                        .map(|piece| piece.map_err(read_failed))
                        .boxed(),
                    GetResultPayload::Stream(stream) => stream,
                };
                Ok(Some(BlobRead { len, stream }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts uploading a blob of `collection` as it arrives: the blob `id`,
    /// or, with `None`, whichever blob the pieces turn out to be (stored
    /// under their hash). If the blob `id` is stored already, the pieces are
    /// only hashed (the upload still has to be the blob), and nothing is
    /// written.
    pub(super) async fn begin(
        &self,
        collection: &CollectionId,
        id: Option<&[u8; 32]>,
    ) -> Result<BlobUpload, StoreError> {
        let stored = match id {
            None => false,
            Some(id) => match self.objects.head(&Self::key(collection, id)).await {
                Ok(_) => true,
                Err(object_store::Error::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            },
        };
        let writing = if stored {
            None
        } else {
            let n = self.uploads.fetch_add(1, Ordering::Relaxed);
            let tmp = self.tmp_key.clone().join(format!("blob-{n}"));
            let sink = match &self.folder {
                Some(folder) => Sink::File(TmpFile::create(folder.join(tmp.as_ref())).await?),
                None => {
                    let upload = self.objects.put_multipart(&tmp).await?;
                    Sink::Multipart(WriteMultipart::new_with_chunk_size(upload, PART_LEN))
                }
            };
            Some(Writing { sink, tmp })
        };
        Ok(BlobUpload {
            objects: Arc::clone(&self.objects),
            folder: self.folder.clone(),
            writing,
            collection: *collection,
            id: id.copied(),
            hashing: Hashing::Idle(Box::new(CiphertextHasher::new())),
            len: 0,
            room: None,
        })
    }
}

/// A stored blob being read ([`super::Store::get_blob`]).
pub struct BlobRead {
    /// The blob's length in bytes.
    pub len: u64,
    /// The blob's bytes, in order, `len` of them in all unless the storage
    /// fails midway (then the stream ends with the error).
    pub stream: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// An upload to a temporary key.
struct Writing {
    sink: Sink,
    tmp: Key,
}

/// How an upload is written to its temporary key.
enum Sink {
    /// A file in the data folder, synced as it is written.
    File(TmpFile),
    /// A multipart upload (a bucket).
    Multipart(WriteMultipart),
}

impl Sink {
    /// Writes the next piece; waits while earlier ones are in flight.
    async fn put(&mut self, piece: Bytes) -> Result<(), StoreError> {
        match self {
            Self::File(file) => Ok(file.write(piece).await?),
            Self::Multipart(write) => {
                write.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                write.put(piece);
                Ok(())
            }
        }
    }

    /// Completes the object, durably.
    async fn finish(self) -> Result<(), StoreError> {
        match self {
            Self::File(mut file) => Ok(file.finish().await?),
            Self::Multipart(write) => write.finish().await.map(|_| ()).map_err(Into::into),
        }
    }

    /// Gives the object up (best effort).
    async fn abort(self) {
        match self {
            Self::File(file) => drop(file),
            Self::Multipart(write) => {
                let _ = write.abort().await;
            }
        }
    }
}

/// A finished upload ([`BlobUpload::finish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Whether the blob was stored now or was there already.
    pub put: Put,
    /// Its id: the ciphertext hash of its bytes.
    pub id: [u8; 32],
    /// Its length in bytes.
    pub len: u64,
}

/// A blob being uploaded as it arrives ([`super::Store::begin_blob`]):
/// hashed and counted piece by piece into a temporary object, copied into
/// place only by [`BlobUpload::finish`] once its hash is its id (or, begun
/// without an id, under its hash). Dropped
/// unfinished, the temporary upload is aborted (in the background, on the
/// runtime of the drop).
pub struct BlobUpload {
    objects: Arc<dyn ObjectStore>,
    folder: Option<PathBuf>,
    writing: Option<Writing>,
    collection: CollectionId,
    /// The id the upload must hash to, if it was named.
    id: Option<[u8; 32]>,
    hashing: Hashing,
    len: usize,
    /// The room left under the uploader's quota, if it has one.
    room: Option<QuotaRoom>,
}

/// A failure to read a blob's file, as `object_store` reports one.
fn read_failed(source: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(source),
    }
}

/// The hash of an upload so far.
enum Hashing {
    /// Every piece written is in it.
    Idle(Box<CiphertextHasher>),
    /// The last piece is being added, on the blocking pool.
    Busy(tokio::task::JoinHandle<Box<CiphertextHasher>>),
    /// Only after a failure of the blocking pool.
    Lost,
}

/// A failure of the blocking pool as a store error.
fn pool_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("blocking pool: {e}")))
}

impl BlobUpload {
    /// Writes the next piece: [`StoreError::BlobTooLarge`] once the blob
    /// would pass [`MAX_BLOB_LEN`] (the temporary upload is then aborted).
    /// Hashes on the blocking pool; waits while earlier parts are in flight.
    pub async fn write(&mut self, piece: Bytes) -> Result<(), StoreError> {
        self.len = self.len.saturating_add(piece.len());
        if self.len > MAX_BLOB_LEN {
            self.abort().await;
            return Err(StoreError::BlobTooLarge);
        }
        if let Some(room) = &self.room
            && u64::try_from(self.len).unwrap_or(u64::MAX) > room.left()
        {
            let refused = room.exceeded();
            self.abort().await;
            return Err(refused);
        }
        // The piece is hashed on the blocking pool while it is written and
        // the next one arrives; only the hash of the one before is awaited.
        let mut hasher = self.hashed().await?;
        let hashed = piece.clone();
        self.hashing = Hashing::Busy(tokio::task::spawn_blocking(move || {
            hasher.update(&hashed);
            hasher
        }));
        if let Some(writing) = self.writing.as_mut() {
            writing.sink.put(piece).await?;
        }
        Ok(())
    }

    /// The hasher, once every piece written so far is in it.
    async fn hashed(&mut self) -> Result<Box<CiphertextHasher>, StoreError> {
        match std::mem::replace(&mut self.hashing, Hashing::Lost) {
            Hashing::Idle(hasher) => Ok(hasher),
            Hashing::Busy(job) => job.await.map_err(pool_failed),
            Hashing::Lost => Err(StoreError::Damaged("an upload lost its hasher".to_owned())),
        }
    }

    /// Refuses ([`StoreError::QuotaExceeded`], the temporary upload
    /// aborted) a blob longer than the room left under its uploader's quota.
    pub fn limit_to(&mut self, room: QuotaRoom) {
        self.room = Some(room);
    }

    /// Aborts the temporary upload, if any (best effort).
    async fn abort(&mut self) {
        if let Some(writing) = self.writing.take() {
            writing.sink.abort().await;
        }
    }

    /// Checks the hash of everything written against the id it was begun
    /// with, if any; then completes the temporary object, copies it to the
    /// blob's key unless the blob is there already (never replacing it),
    /// and deletes it.
    pub async fn finish(mut self) -> Result<Stored, StoreError> {
        let len = u64::try_from(self.len).unwrap_or(u64::MAX);
        let actual = self.hashed().await?.finalize();
        if let Some(id) = self.id
            && actual != id
        {
            self.abort().await;
            return Err(StoreError::BlobHash {
                id: hex(&id),
                actual: hex(&actual),
            });
        }
        let Some(Writing { sink, tmp }) = self.writing.take() else {
            // The blob was there when the upload began.
            return Ok(Stored {
                put: Put::Existing,
                id: actual,
                len,
            });
        };
        let dest = Blobs::key(&self.collection, &actual);
        let placed = place(&self.objects, self.folder.as_deref(), sink, &tmp, &dest).await;
        let removed = match self.objects.delete(&tmp).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        };
        let put = placed?;
        removed?;
        Ok(Stored {
            put,
            id: actual,
            len,
        })
    }
}

/// Completes `sink` (the object `tmp`) durably, and copies it to `dest`
/// unless `dest` exists: a create-only copy never replaces an object, so of
/// two uploads of the same blob at once, one copies and the other finds it
/// there. In the data folder, the new name is synced too.
async fn place(
    objects: &Arc<dyn ObjectStore>,
    folder: Option<&Path>,
    sink: Sink,
    tmp: &Key,
    dest: &Key,
) -> Result<Put, StoreError> {
    sink.finish().await?;
    match objects.copy_if_not_exists(tmp, dest).await {
        Ok(()) => {}
        Err(object_store::Error::AlreadyExists { .. }) => return Ok(Put::Existing),
        Err(e) => return Err(e.into()),
    }
    if let Some(folder) = folder {
        // The blob's folder holds its new name, and `blobs/` that folder's
        // (made by the copy if it is the collection's first blob).
        let file = folder.join(dest.as_ref());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut dir = file.parent();
            for _ in 0..2 {
                if let Some(at) = dir {
                    File::open(at)?.sync_all()?;
                    dir = at.parent();
                }
            }
            Ok(())
        })
        .await
        .map_err(pool_failed)??;
    }
    Ok(Put::Created)
}

impl Drop for BlobUpload {
    fn drop(&mut self) {
        if let Some(writing) = self.writing.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(writing.sink.abort());
        }
    }
}

impl Drop for Blobs {
    fn drop(&mut self) {
        if let Some(tmp) = &self.own_tmp {
            // Best effort: a folder left behind is removed by the next
            // process that starts, once this one's lock is released.
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}

/// Removes what `tmp_root` holds of processes that are gone: folders whose
/// `lock` is not locked, and loose files (a SQLite server's, which cannot be
/// running while the folder is locked shared). Folders without a `lock` yet
/// are being made, and kept. Failures are ignored: another process may be
/// removing the same folder.
fn remove_stale(tmp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if !kind.is_dir() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Ok(lock) = File::options().write(true).open(path.join("lock")) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
