//! The data folder's files: `blobs/<collection id text>/<hex hash>`, one file
//! per content blob, each written to a temporary folder first and linked into
//! place, so no reader ever sees half a blob and an existing blob is never
//! overwritten; and `lock`, which says who uses the folder.
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

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sealshare::{CiphertextHasher, CollectionId, ciphertext_hash};

use super::{MAX_BLOB_LEN, Put, StoreError, hex};

/// The blob files of a data folder.
pub(super) struct Blobs {
    blobs: PathBuf,
    /// Where this process writes blobs before linking them into place.
    tmp: PathBuf,
    uploads: AtomicU64,
    /// Whether `tmp` is this process's own folder, removed on drop.
    own_tmp: bool,
    /// `DIR/lock`, locked for as long as the store is open.
    _folder_lock: File,
    /// `tmp/<pid>-<random>/lock`, for a shared folder.
    _tmp_lock: Option<File>,
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
    /// The files of `dir` for one process (SQLite): fails with
    /// [`StoreError::InUse`] while another store has the folder open, and
    /// removes the temporary files a previous process left.
    pub(super) fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_file(&dir.join("lock"))?;
        lock.try_lock().map_err(|e| in_use(dir, e))?;
        let blobs = dir.join("blobs");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&blobs)?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(Self {
            blobs,
            tmp,
            uploads: AtomicU64::new(0),
            own_tmp: false,
            _folder_lock: lock,
            _tmp_lock: None,
        })
    }

    /// The files of `dir`, shared with other processes of the same
    /// PostgreSQL database: fails with [`StoreError::InUse`] while a SQLite
    /// store has the folder open. Makes this process's temporary folder and
    /// removes those of processes that are gone.
    pub(super) fn shared(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_file(&dir.join("lock"))?;
        lock.try_lock_shared().map_err(|e| in_use(dir, e))?;
        let blobs = dir.join("blobs");
        let tmp_root = dir.join("tmp");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&tmp_root)?;
        remove_stale(&tmp_root);
        let random = super::new_server_id()?;
        let name = format!("{}-{}", std::process::id(), hex(&random.0[..8]));
        let tmp = tmp_root.join(name);
        std::fs::create_dir(&tmp)?;
        let pending = tmp.join("lock.new");
        let tmp_lock = lock_file(&pending)?;
        tmp_lock.try_lock().map_err(|e| in_use(&tmp, e))?;
        std::fs::rename(&pending, tmp.join("lock"))?;
        Ok(Self {
            blobs,
            tmp,
            uploads: AtomicU64::new(0),
            own_tmp: true,
            _folder_lock: lock,
            _tmp_lock: Some(tmp_lock),
        })
    }

    /// Where the blob `id` of `collection` is (or would be) stored.
    pub(super) fn path(&self, collection: &CollectionId, id: &[u8; 32]) -> PathBuf {
        self.blobs.join(collection.to_text()).join(hex(id))
    }

    /// Stores `bytes` as the blob `id` of `collection` (see
    /// `Store::put_blob`).
    pub(super) fn put(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
        bytes: &[u8],
    ) -> Result<Put, StoreError> {
        if bytes.len() > MAX_BLOB_LEN {
            return Err(StoreError::BlobTooLarge);
        }
        let actual = ciphertext_hash(bytes);
        if actual != *id {
            return Err(StoreError::BlobHash {
                id: hex(id),
                actual: hex(&actual),
            });
        }
        let path = self.path(collection, id);
        if path.exists() {
            return Ok(Put::Existing);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let n = self.uploads.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("blob-{n}"));
        let written = write_and_link(&tmp, &path, bytes);
        let removed = std::fs::remove_file(&tmp);
        let put = written?;
        removed?;
        Ok(put)
    }
}

/// A blob being written as it arrives ([`Blobs::begin`]): hashed and
/// counted piece by piece into a temporary file, linked into place only by
/// [`BlobUpload::finish`] once its hash is its id. Dropped unfinished, the
/// temporary file is removed.
pub struct BlobUpload {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
    id: [u8; 32],
    hasher: CiphertextHasher,
    len: usize,
}

impl BlobUpload {
    /// Writes the next piece: [`StoreError::BlobTooLarge`] once the blob
    /// would pass [`MAX_BLOB_LEN`].
    pub fn write(&mut self, piece: &[u8]) -> Result<(), StoreError> {
        self.len = self.len.saturating_add(piece.len());
        if self.len > MAX_BLOB_LEN {
            return Err(StoreError::BlobTooLarge);
        }
        self.hasher.update(piece);
        if let Some(file) = self.file.as_mut() {
            file.write_all(piece)?;
        }
        Ok(())
    }

    /// Checks the hash of everything written against the id, syncs the file
    /// and links it into place unless the blob is there already.
    pub fn finish(mut self) -> Result<Put, StoreError> {
        let actual = self.hasher.finalize();
        if actual != self.id {
            return Err(StoreError::BlobHash {
                id: hex(&self.id),
                actual: hex(&actual),
            });
        }
        let Some(file) = self.file.take() else {
            // The blob was there when the upload began.
            return Ok(Put::Existing);
        };
        file.sync_all()?;
        drop(file);
        let linked = match std::fs::hard_link(&self.tmp, &self.path) {
            Ok(()) => Put::Created,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Put::Existing,
            Err(e) => return Err(e.into()),
        };
        Ok(linked)
    }
}

impl Drop for BlobUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Blobs {
    /// Starts writing the blob `id` of `collection` as it arrives. If it is
    /// stored already, the pieces are only hashed (the upload still has to
    /// be the blob), and nothing is written.
    pub(super) fn begin(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<BlobUpload, StoreError> {
        let path = self.path(collection, id);
        let n = self.uploads.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("blob-{n}"));
        let file = if path.exists() {
            None
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            Some(File::create_new(&tmp)?)
        };
        Ok(BlobUpload {
            file,
            tmp,
            path,
            id: *id,
            hasher: CiphertextHasher::new(),
            len: 0,
        })
    }
}

impl Drop for Blobs {
    fn drop(&mut self) {
        if self.own_tmp {
            // Best effort: a folder left behind is removed by the next
            // process that starts, once this one's lock is released.
            let _ = std::fs::remove_dir_all(&self.tmp);
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

/// Writes `bytes` to the new file `tmp`, then links it as `path` unless
/// `path` exists. A hard link never replaces a file: of two uploads of the
/// same blob at once, one links and the other finds it there.
fn write_and_link(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<Put> {
    let mut file = File::create_new(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(Put::Created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Put::Existing),
        Err(e) => Err(e),
    }
}
