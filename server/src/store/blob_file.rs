//! A blob's temporary file in the data folder ([`TmpFile`]), written as the
//! upload arrives and synced to disk along the way, so that once the last
//! piece is in only that piece is left to sync.
//!
//! `object_store`'s multipart upload to a local folder would do the same
//! writes, but it leaves the whole file to sync at the end: for a large blob
//! that final `fsync` took as long again as receiving it. Here the writes
//! and the syncs run on the blocking pool, each at most one at a time and
//! overlapping the receipt of the next piece.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

/// How much is written between two syncs started in the background.
const SYNC_EVERY: usize = 16 << 20;

/// A temporary file being written, in order, a piece at a time. Dropped
/// unfinished, it is removed.
pub(super) struct TmpFile {
    file: Arc<File>,
    path: PathBuf,
    /// The write of the last piece, while it runs.
    writing: Option<JoinHandle<io::Result<()>>>,
    /// The last sync started, while it runs.
    syncing: Option<JoinHandle<io::Result<()>>>,
    /// Bytes written since the last sync was started.
    unsynced: usize,
    /// Whether [`TmpFile::finish`] completed: the file is then kept.
    finished: bool,
}

/// The result of a job on the blocking pool.
async fn settle(job: Option<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    match job {
        None => Ok(()),
        Some(job) => job
            .await
            .map_err(|e| io::Error::other(format!("blocking pool: {e}")))?,
    }
}

impl TmpFile {
    /// Creates the file `path`, which must not exist.
    pub(super) async fn create(path: PathBuf) -> io::Result<Self> {
        let at = path.clone();
        let file = tokio::task::spawn_blocking(move || File::create_new(at))
            .await
            .map_err(|e| io::Error::other(format!("blocking pool: {e}")))??;
        Ok(Self {
            file: Arc::new(file),
            path,
            writing: None,
            syncing: None,
            unsynced: 0,
            finished: false,
        })
    }

    /// Appends `piece` once the previous piece is written; returns while it
    /// is being written. Every [`SYNC_EVERY`] bytes, starts a sync of what
    /// is written, once the previous sync is done.
    pub(super) async fn write(&mut self, piece: Bytes) -> io::Result<()> {
        settle(self.writing.take()).await?;
        self.unsynced = self.unsynced.saturating_add(piece.len());
        let file = Arc::clone(&self.file);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            (&*file).write_all(&piece)
        }));
        if self.unsynced >= SYNC_EVERY {
            settle(self.syncing.take()).await?;
            self.unsynced = 0;
            let file = Arc::clone(&self.file);
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
        Ok(())
    }

    /// Waits for every write, and syncs the whole file to disk; the file
    /// is then kept when this is dropped (its owner deletes it).
    pub(super) async fn finish(&mut self) -> io::Result<()> {
        settle(self.writing.take()).await?;
        settle(self.syncing.take()).await?;
        let file = Arc::clone(&self.file);
        settle(Some(tokio::task::spawn_blocking(move || file.sync_all()))).await?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        if !self.finished {
            // A write still running goes to the unlinked file: harmless.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
