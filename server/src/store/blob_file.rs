//! A blob's file in the data folder: written as the upload arrives into a
//! temporary file ([`TmpFile`]), synced to disk along the way so that once
//! the last piece is in only that piece is left to sync; and read back in
//! large pieces ([`read_pieces`]).
//!
//! `object_store`'s multipart upload to a local folder would do the same
//! writes, but it leaves the whole file to sync at the end: for a large blob
//! that final `fsync` took as long again as receiving it. Here the writes
//! and the syncs run on the blocking pool, each at most one at a time and
//! overlapping the receipt of the next piece. And `object_store` reads a
//! file 8 KiB at a time, each read a job on the blocking pool (as
//! `tokio::fs::File` would, copying each piece twice): here each job reads
//! [`READ_PIECE`] straight into the piece sent.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::task::JoinHandle;

/// How much is written between two syncs started in the background.
const SYNC_EVERY: usize = 8 << 20;
/// How much of a blob's file is read at a time.
const READ_PIECE: u64 = 2 << 20;

/// The `len` bytes of `file` from where it is, in pieces of [`READ_PIECE`]
/// read on the blocking pool: the next piece is read while the last one is
/// sent (so at most two are in memory). A file shorter than `len` ends the
/// stream with an error.
pub(super) fn read_pieces(file: File, len: u64) -> BoxStream<'static, io::Result<Bytes>> {
    let file = Arc::new(file);
    let first = (len > 0).then(|| read_piece(Arc::clone(&file), len.min(READ_PIECE)));
    futures_util::stream::try_unfold((file, len, first), |(file, left, next)| async move {
        let Some(next) = next else {
            return Ok(None);
        };
        let piece = next
            .await
            .map_err(|e| io::Error::other(format!("blocking pool: {e}")))??;
        let left = left.saturating_sub(piece.len() as u64);
        let after = (left > 0).then(|| read_piece(Arc::clone(&file), left.min(READ_PIECE)));
        Ok(Some((piece, (file, left, after))))
    })
    .boxed()
}

/// Starts reading the next `want` bytes of `file` on the blocking pool.
fn read_piece(file: Arc<File>, want: u64) -> JoinHandle<io::Result<Bytes>> {
    tokio::task::spawn_blocking(move || {
        let mut piece = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
        (&*file).take(want).read_to_end(&mut piece)?;
        if piece.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a blob's file is shorter than its length",
            ));
        }
        Ok(Bytes::from(piece))
    })
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    async fn gather(file: File, len: u64) -> io::Result<Vec<u8>> {
        let mut pieces = read_pieces(file, len);
        let mut all = Vec::new();
        while let Some(piece) = pieces.next().await {
            all.extend_from_slice(&piece?);
        }
        Ok(all)
    }

    #[tokio::test]
    async fn a_file_reads_back_whole_across_pieces_and_a_short_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let len = 2 * READ_PIECE + 3;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            gather(File::open(&path).unwrap(), len).await.unwrap(),
            bytes
        );
        assert_eq!(gather(File::open(&path).unwrap(), 0).await.unwrap(), b"");
        let short = gather(File::open(&path).unwrap(), len + 1).await;
        assert_eq!(short.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_temporary_file_is_kept_once_finished_and_removed_if_dropped_before() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let mut file = TmpFile::create(kept.clone()).await.unwrap();
        for _ in 0..3 {
            file.write(Bytes::from(vec![7u8; SYNC_EVERY / 2 + 1]))
                .await
                .unwrap();
        }
        file.finish().await.unwrap();
        drop(file);
        assert_eq!(
            std::fs::read(&kept).unwrap(),
            vec![7u8; 3 * (SYNC_EVERY / 2 + 1)]
        );
        assert!(TmpFile::create(kept).await.is_err(), "never over a file");

        let dropped = dir.path().join("dropped");
        let mut file = TmpFile::create(dropped.clone()).await.unwrap();
        file.write(Bytes::from_static(b"half")).await.unwrap();
        drop(file);
        assert!(!dropped.exists());
    }
}
