//! Sealing a content as it is produced, in constant memory and on all cores.

use std::io::{self, Read, Write};

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{
    ContentDigest, ContentKey, HEADER_LEN, SALT_LEN, StreamKeys, TAG_LEN, check_chunk_size, hasher,
    too_long,
};
use crate::crypto::random;
use crate::error::{Error, Result};

/// About how many plaintext bytes are sealed together (at least two chunks).
pub(super) const BATCH_BYTES: usize = 2 << 20;

/// Seals everything written to it into `W`, on all cores, in constant memory
/// (about four batches of 2 MiB).
///
/// The output is byte for byte what [`super::seal`] produces for the same key,
/// salt and chunk size. Sealing a batch overlaps with hashing and writing the
/// one before it, and with [`ContentWriter::write_from`] also with reading the
/// one after it. Nothing is complete until [`ContentWriter::finish`] returns: a
/// writer dropped earlier leaves a stream that every reader refuses. After an
/// error, every later call fails.
pub struct ContentWriter<W: Write + Send> {
    inner: W,
    keys: StreamKeys,
    /// Full chunks per batch.
    batch: usize,
    /// Plaintext not sealed yet, at most one batch. Its last full chunk is
    /// kept back until more data follows, as it may be the final one.
    plain: Zeroizing<Vec<u8>>,
    /// The buffer [`ContentWriter::write_from`] reads into meanwhile.
    next: Zeroizing<Vec<u8>>,
    /// A sealed batch waiting to be hashed and written.
    pending: Vec<u8>,
    /// Where the next batch is sealed.
    spare: Vec<u8>,
    /// The position of the next chunk to seal.
    position: u32,
    hasher: blake3::Hasher,
    written: u64,
    poisoned: bool,
}

impl<W: Write + Send> ContentWriter<W> {
    /// Writes a fresh header to `inner` and starts sealing under `key`.
    ///
    /// Fails with [`Error::InvalidArgument`] if `chunk_size` is outside 4 KiB ..= 4 MiB.
    pub fn new(key: &ContentKey, inner: W, chunk_size: u32) -> Result<Self> {
        Self::with_salt(key, inner, chunk_size, random::array()?)
    }

    pub(super) fn with_salt(
        key: &ContentKey,
        mut inner: W,
        chunk_size: u32,
        salt: [u8; SALT_LEN],
    ) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let keys = StreamKeys::new(key, chunk_size, &salt)?;
        inner.write_all(&keys.header)?;
        let mut hasher = hasher();
        hasher.update(&keys.header);
        let batch = (BATCH_BYTES / keys.chunk_size).max(2);
        let capacity = batch * keys.chunk_size;
        Ok(Self {
            inner,
            batch,
            plain: Zeroizing::new(Vec::with_capacity(capacity)),
            next: Zeroizing::new(Vec::new()),
            pending: Vec::new(),
            spare: Vec::new(),
            keys,
            position: 0,
            hasher,
            written: HEADER_LEN as u64,
            poisoned: false,
        })
    }

    fn capacity(&self) -> usize {
        self.batch * self.keys.chunk_size
    }

    /// Seals every chunk of a full `plain` but the last (which is carried over
    /// to the front of `next`) while the pending batch is hashed and written,
    /// and, if `reader` is given, while `next` is filled from it. Returns how
    /// many bytes were read.
    fn step(&mut self, reader: Option<&mut (dyn Read + Send)>) -> io::Result<u64> {
        if self.poisoned {
            return Err(poisoned());
        }
        self.poisoned = true;
        let cs = self.keys.chunk_size;
        let n = self.batch - 1;
        let first = self.position as usize;
        // Keep a position for the final chunk: at most 2^32 - 1 chunks in all.
        if first + n >= (u32::MAX - 1) as usize {
            return Err(into_io(too_long()));
        }
        let capacity = self.capacity();
        let (sealing, carry) = self.plain.split_at(n * cs);
        self.next.clear();
        self.next.reserve(capacity);
        self.next.extend_from_slice(carry);
        if self.spare.len() != n * (cs + TAG_LEN) {
            // Every byte is overwritten by the sealing: size it only once.
            self.spare.clear();
            self.spare.resize(n * (cs + TAG_LEN), 0);
        }
        let (keys, sealed, next) = (&self.keys, &mut self.spare, &mut self.next);
        let (pending, inner, hasher) = (&self.pending, &mut self.inner, &mut self.hasher);
        let seal = || {
            sealed
                .par_chunks_mut(cs + TAG_LEN)
                .zip(sealing.par_chunks(cs))
                .enumerate()
                .try_for_each(|(i, (out, plain))| keys.seal_chunk(first + i, false, plain, out))
                .map_err(into_io)
        };
        let flush = || {
            hasher.update(pending);
            inner.write_all(pending)
        };
        let read = match reader {
            Some(reader) => {
                let ((sealed, flushed), read) =
                    rayon::join(|| rayon::join(seal, flush), || fill(reader, next, capacity));
                sealed?;
                flushed?;
                read?
            }
            None => {
                let (sealed, flushed) = rayon::join(seal, flush);
                sealed?;
                flushed?;
                0
            }
        };
        self.written += self.pending.len() as u64;
        std::mem::swap(&mut self.pending, &mut self.spare);
        std::mem::swap(&mut self.plain, &mut self.next);
        self.position += n as u32;
        self.poisoned = false;
        Ok(read)
    }

    /// Reads `reader` to its end and seals everything read, overlapping the
    /// reading with the sealing and the writing. Returns the bytes read.
    pub fn write_from(&mut self, reader: &mut (dyn Read + Send)) -> io::Result<u64> {
        if self.poisoned {
            return Err(poisoned());
        }
        let capacity = self.capacity();
        self.poisoned = true;
        let mut total = fill(reader, &mut self.plain, capacity)?;
        self.poisoned = false;
        while self.plain.len() == capacity {
            let read = self.step(Some(&mut *reader))?;
            if read == 0 {
                break;
            }
            total += read;
        }
        Ok(total)
    }

    /// Seals the rest, the final chunk last, flushes `inner`, and returns it
    /// with the digest.
    pub fn finish(mut self) -> Result<(W, ContentDigest)> {
        if self.poisoned {
            return Err(poisoned().into());
        }
        self.poisoned = true;
        let cs = self.keys.chunk_size;
        let chunks = self.plain.len().div_ceil(cs).max(1);
        let first = self.position as usize;
        if first + chunks > (u32::MAX as usize) {
            return Err(too_long());
        }
        let total = self.plain.len() + chunks * TAG_LEN;
        self.spare.clear();
        self.spare.resize(total, 0);
        let keys = &self.keys;
        let sealed = &mut self.spare;
        if self.plain.is_empty() {
            keys.seal_chunk(first, true, &[], sealed)?;
        } else {
            sealed
                .par_chunks_mut(cs + TAG_LEN)
                .zip(self.plain.par_chunks(cs))
                .enumerate()
                .try_for_each(|(i, (out, plain))| {
                    keys.seal_chunk(first + i, i + 1 == chunks, plain, out)
                })?;
        }
        for part in [&self.pending, &self.spare] {
            self.hasher.update(part);
            self.inner.write_all(part)?;
            self.written += part.len() as u64;
        }
        self.inner.flush()?;
        let digest = self.keys.digest(&self.hasher, self.written);
        Ok((self.inner, digest))
    }
}

/// Reads from `reader` into `buf` until it holds `capacity` bytes or the
/// reader ends. Returns how many bytes were read.
fn fill(reader: &mut (dyn Read + Send), buf: &mut Vec<u8>, capacity: usize) -> io::Result<u64> {
    let start = buf.len();
    let want = capacity.saturating_sub(start);
    (&mut *reader).take(want as u64).read_to_end(buf)?;
    Ok((buf.len() - start) as u64)
}

fn poisoned() -> io::Error {
    io::Error::other("content writer unusable after an earlier error")
}

impl<W: Write + Send> Write for ContentWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(poisoned());
        }
        if data.is_empty() {
            return Ok(0);
        }
        // A full batch is sealed only once more data arrives: its last chunk
        // may be the final one.
        if self.plain.len() >= self.capacity() {
            self.step(None)?;
        }
        let take = (self.capacity() - self.plain.len()).min(data.len());
        let (head, _) = data.split_at(take);
        self.plain.extend_from_slice(head);
        Ok(take)
    }

    /// Flushes `inner`. Unsealed data stays buffered until more data or `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(super) fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        Error::InvalidArgument(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}
