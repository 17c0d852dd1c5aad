//! Sealing a content as it is produced, in constant memory and on all cores.

use std::io::{self, Read, Write};

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{
    ContentDigest, ContentKey, HEADER_LEN, SALT_LEN, StreamKeys, TAG_LEN, check_chunk_size, hasher,
    too_long,
};
use crate::crypto::random;
use crate::crypto::{Error, Result};

/// About how many plaintext bytes are sealed together (at least two chunks)
/// when several threads share the work.
pub(super) const BATCH_BYTES: usize = 2 << 20;

/// About how many are sealed together on one thread: a batch small enough
/// to stay in the core's cache between sealing, hashing and writing it.
pub(super) const BATCH_BYTES_ONE_THREAD: usize = 256 << 10;

/// The bytes a batch holds for the pool this runs in ([`BATCH_BYTES`], or
/// [`BATCH_BYTES_ONE_THREAD`] in a pool of one thread).
pub(super) fn batch_bytes() -> usize {
    if rayon::current_num_threads() > 1 {
        BATCH_BYTES
    } else {
        BATCH_BYTES_ONE_THREAD
    }
}

/// The largest piece handed to one `write` call: Linux 6.x page-cache writes of
/// whole megabytes ran several times slower than 256 KiB ones on the machines
/// this was measured on (large-folio allocation).
pub(super) const WRITE_PIECE: usize = 256 << 10;

/// Writes `bytes` in pieces of at most [`WRITE_PIECE`].
pub(super) fn write_pieces<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> io::Result<()> {
    bytes
        .chunks(WRITE_PIECE)
        .try_for_each(|piece| out.write_all(piece))
}

/// A batch being filled: chunk `i`'s plaintext goes to the front of slot `i`
/// (`chunk_size + TAG_LEN` bytes), where it is sealed in place, so the sealed
/// batch is ready to write without another copy.
struct Batch {
    slots: Zeroizing<Vec<u8>>,
    /// Plaintext bytes in the batch.
    filled: usize,
}

/// Seals everything written to it into `W`, on all cores, in constant memory
/// (three batches of about 2 MiB).
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
    /// Chunks per batch.
    batch: usize,
    /// The batch being filled. Its last full chunk is kept back until more
    /// data follows, as it may be the final one.
    current: Batch,
    /// A batch buffer to fill next.
    spare: Batch,
    /// A sealed batch waiting to be hashed and written, and its length.
    pending: Zeroizing<Vec<u8>>,
    pending_len: usize,
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
        let batch = (batch_bytes() / keys.chunk_size).max(2);
        // Buffers grow as data comes, so a small content costs little.
        let empty = || Batch {
            slots: Zeroizing::new(Vec::new()),
            filled: 0,
        };
        Ok(Self {
            inner,
            batch,
            current: empty(),
            spare: empty(),
            pending: Zeroizing::new(Vec::new()),
            pending_len: 0,
            keys,
            position: 0,
            hasher,
            written: HEADER_LEN as u64,
            poisoned: false,
        })
    }

    /// Plaintext bytes a full batch holds.
    fn capacity(&self) -> usize {
        self.batch * self.keys.chunk_size
    }

    /// Seals every chunk of the full current batch but the last (carried over
    /// to the next batch) while the pending batch is hashed and written, and,
    /// if `reader` is given, while the next batch is filled from it. Returns
    /// how many bytes were read.
    fn step(&mut self, reader: Option<&mut (dyn Read + Send)>) -> io::Result<u64> {
        if self.poisoned {
            return Err(poisoned());
        }
        self.poisoned = true;
        let cs = self.keys.chunk_size;
        let slot = cs + TAG_LEN;
        let n = self.batch - 1;
        let first = self.position as usize;
        // Keep a position for the final chunk: at most 2^32 - 1 chunks in all.
        if first + n >= (u32::MAX - 1) as usize {
            return Err(into_io(too_long()));
        }
        let mut next = std::mem::replace(
            &mut self.spare,
            Batch {
                slots: Zeroizing::new(Vec::new()),
                filled: 0,
            },
        );
        next.slots.resize(self.current.slots.len(), 0);
        let (sealing, carry) = self.current.slots.split_at_mut(n * slot);
        let short = || into_io(Error::Bug("a full batch does not end with a whole chunk"));
        let carried = carry.get(..cs).ok_or_else(short)?;
        next.slots
            .get_mut(..cs)
            .ok_or_else(short)?
            .copy_from_slice(carried);
        next.filled = cs;
        let keys = &self.keys;
        let pending = self.pending.get(..self.pending_len).unwrap_or_default();
        let (inner, hasher) = (&mut self.inner, &mut self.hasher);
        let capacity = self.batch * cs;
        let seal = || {
            sealing
                .par_chunks_mut(slot)
                .enumerate()
                .try_for_each(|(i, s)| keys.seal_chunk_in_place(first + i, false, s))
                .map_err(into_io)
        };
        // Hashing and writing the pending batch only read it: they run apart.
        let flush = || {
            let (_, written) =
                rayon::join(|| hasher.update(pending), || write_pieces(inner, pending));
            written
        };
        let read = match reader {
            Some(reader) => {
                let ((sealed, flushed), read) = rayon::join(
                    || rayon::join(seal, flush),
                    || fill(reader, &mut next, cs, capacity),
                );
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
        self.written += self.pending_len as u64;
        let done = std::mem::replace(&mut self.current, next);
        self.spare = Batch {
            slots: std::mem::replace(&mut self.pending, done.slots),
            filled: 0,
        };
        self.pending_len = n * slot;
        self.position += n as u32;
        self.poisoned = false;
        Ok(read)
    }

    /// Seals whole chunks of `data` straight from it, out of place, with no
    /// copy into a batch first: up to a batch of them, each followed by at
    /// least one more byte of `data` (so none is the final chunk), while the
    /// batch before is hashed and written. Answers how much of `data` it took.
    fn seal_straight(&mut self, data: &[u8]) -> io::Result<usize> {
        self.poisoned = true;
        let cs = self.keys.chunk_size;
        let slot = cs + TAG_LEN;
        let n = (data.len().saturating_sub(1) / cs).min(self.batch);
        let first = self.position as usize;
        // Keep a position for the final chunk: at most 2^32 - 1 chunks in all.
        if first + n >= (u32::MAX - 1) as usize {
            return Err(into_io(too_long()));
        }
        let plain = data.get(..n * cs).unwrap_or_default();
        let mut sealed = std::mem::take(&mut self.spare.slots);
        sealed.resize(n * slot, 0);
        let keys = &self.keys;
        let pending = self.pending.get(..self.pending_len).unwrap_or_default();
        let (inner, hasher) = (&mut self.inner, &mut self.hasher);
        let seal = || {
            sealed
                .par_chunks_mut(slot)
                .zip(plain.par_chunks(cs))
                .enumerate()
                .try_for_each(|(i, (s, p))| keys.seal_chunk(first + i, false, p, s))
                .map_err(into_io)
        };
        let flush = || {
            let (_, written) =
                rayon::join(|| hasher.update(pending), || write_pieces(inner, pending));
            written
        };
        let (sealed_ok, flushed) = rayon::join(seal, flush);
        sealed_ok?;
        flushed?;
        self.written += self.pending_len as u64;
        self.spare = Batch {
            slots: std::mem::replace(&mut self.pending, sealed),
            filled: 0,
        };
        self.pending_len = n * slot;
        self.position += n as u32;
        self.poisoned = false;
        Ok(n * cs)
    }

    /// Reads `reader` to its end and seals everything read, overlapping the
    /// reading with the sealing and the writing. Returns the bytes read.
    pub fn write_from(&mut self, reader: &mut (dyn Read + Send)) -> io::Result<u64> {
        if self.poisoned {
            return Err(poisoned());
        }
        let (cs, capacity) = (self.keys.chunk_size, self.capacity());
        self.poisoned = true;
        let mut total = fill(reader, &mut self.current, cs, capacity)?;
        self.poisoned = false;
        while self.current.filled == capacity {
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
        let slot = cs + TAG_LEN;
        let filled = self.current.filled;
        let chunks = filled.div_ceil(cs).max(1);
        let first = self.position as usize;
        if first + chunks > (u32::MAX as usize) {
            return Err(too_long());
        }
        // Every chunk but the last is full, so the sealed chunks lie end to end.
        let total = filled + chunks * TAG_LEN;
        grow(&mut self.current, total, total);
        let keys = &self.keys;
        self.current
            .slots
            .get_mut(..total)
            .ok_or(Error::Bug(
                "the last batch is shorter than its sealed chunks",
            ))?
            .par_chunks_mut(slot)
            .enumerate()
            .try_for_each(|(i, s)| keys.seal_chunk_in_place(first + i, i + 1 == chunks, s))?;
        let last = self.current.slots.get(..total).unwrap_or_default();
        for part in [
            self.pending.get(..self.pending_len).unwrap_or_default(),
            last,
        ] {
            self.hasher.update(part);
            write_pieces(&mut self.inner, part)?;
            self.written += part.len() as u64;
        }
        self.inner.flush()?;
        let digest = self.keys.digest(&self.hasher, self.written);
        Ok((self.inner, digest))
    }
}

/// Makes `batch` at least `len` bytes long, doubling it up to `max`. A new
/// buffer replaces the old one, which is zeroized as it is dropped.
fn grow(batch: &mut Batch, len: usize, max: usize) {
    if batch.slots.len() < len {
        let mut slots = Zeroizing::new(vec![0; (2 * batch.slots.len()).min(max).max(len)]);
        if let Some(front) = slots.get_mut(..batch.slots.len()) {
            front.copy_from_slice(&batch.slots);
        }
        batch.slots = slots;
    }
}

/// The least room [`room`] offers (unless the chunk ends sooner): a batch
/// grows from this, doubling, so a small content costs a small buffer.
const MIN_ROOM: usize = 8 << 10;

/// The room left in `batch` for plaintext: the rest of the chunk being
/// filled, or as much of it as the buffer holds after growing it to at least
/// [`MIN_ROOM`] more.
fn room(batch: &mut Batch, cs: usize, capacity: usize) -> Option<&mut [u8]> {
    if batch.filled >= capacity {
        return None;
    }
    let (chunk, offset) = (batch.filled / cs, batch.filled % cs);
    let slot = cs + TAG_LEN;
    let batch_len = capacity / cs * slot;
    let start = chunk * slot + offset;
    let chunk_end = chunk * slot + cs;
    grow(batch, (start + MIN_ROOM).min(chunk_end), batch_len);
    let end = batch.slots.len().min(chunk_end);
    batch.slots.get_mut(start..end)
}

/// Reads from `reader` into `batch` until it is full or the reader ends.
/// Returns how many bytes were read.
fn fill(
    reader: &mut (dyn Read + Send),
    batch: &mut Batch,
    cs: usize,
    capacity: usize,
) -> io::Result<u64> {
    let mut total = 0u64;
    while let Some(room) = room(batch, cs, capacity) {
        let n = match reader.read(room) {
            Ok(0) => break,
            Ok(n) => n.min(room.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        batch.filled += n;
        total += n as u64;
    }
    Ok(total)
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
        let (cs, capacity) = (self.keys.chunk_size, self.capacity());
        if self.current.filled == 0 && data.len() > cs {
            return self.seal_straight(data);
        }
        // A full batch is sealed only once more data arrives: its last chunk
        // may be the final one.
        if self.current.filled >= capacity {
            self.step(None)?;
        }
        let room = room(&mut self.current, cs, capacity).ok_or_else(poisoned)?;
        let take = room.len().min(data.len());
        let (dst, _) = room.split_at_mut(take);
        let (src, _) = data.split_at(take);
        dst.copy_from_slice(src);
        self.current.filled += take;
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
        Error::Bug(_) => io::Error::other(e),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}
