//! The data folder's files: `blobs/<collection id text>/<hex hash>`, one file
//! per content blob, each written to `tmp/` first and linked into place, so
//! no reader ever sees half a blob and an existing blob is never
//! overwritten; and `lock`, locked while one server process holds the
//! folder (`tmp/` is emptied at start).

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sealshare::{CollectionId, ciphertext_hash};

use super::{MAX_BLOB_LEN, Put, StoreError, hex};

/// The blob files of a data folder.
pub(super) struct Blobs {
    blobs: PathBuf,
    /// Where blobs are written before they are linked into place.
    tmp: PathBuf,
    uploads: AtomicU64,
    /// `DIR/lock`, locked for as long as the store is open: one server per
    /// data folder (the cache of verified states and the temporary files
    /// assume it).
    _folder_lock: File,
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
            _folder_lock: lock,
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
