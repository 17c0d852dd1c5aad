//! Opening a content as it is read, in constant memory and on all cores.

use std::io::{self, Read, Write};

use rayon::prelude::*;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::writer::{batch_bytes, write_pieces};
use super::{
    ContentDigest, ContentKey, HEADER_LEN, StreamKeys, TAG_LEN, WHAT, body_layout, hasher,
};
use crate::crypto::{Error, Result};
use crate::wire::DecodeError;

/// A batch of sealed chunks, read and hashed, not yet opened.
struct Sealed {
    bytes: Vec<u8>,
    /// The position of its first chunk.
    first: u64,
    /// How many chunks it holds.
    count: usize,
    /// Whether it ends with the final chunk (then the whole stream's length
    /// and hash were checked when it was read).
    last: bool,
}

/// Opens a sealed content read from `R`, in constant memory (about four
/// batches of 2 MiB), on all cores: reading and hashing a batch overlaps with
/// opening the one before it, and with [`ContentReader::copy_to`] also with
/// writing the one before that.
///
/// The key commitment is checked when the reader is created. Chunks are
/// authenticated before their plaintext is released, and the hash and length of
/// the whole stream are checked before the final chunk is released. **The output
/// is only trustworthy once `read` has returned `Ok(0)`** (or `copy_to` has
/// returned): a stream that is altered, truncated or extended fails with an
/// [`io::Error`] of kind `InvalidData` wrapping [`Error::DecryptionFailed`],
/// possibly after earlier chunks were returned, which the caller must then
/// discard. After an error, every later call fails.
pub struct ContentReader<R: Read + Send> {
    inner: R,
    keys: StreamKeys,
    expected_hash: [u8; 32],
    hasher: blake3::Hasher,
    /// Chunks in the stream and the sealed length of the final one.
    chunks: u64,
    last_sealed_len: usize,
    /// Chunks per batch.
    batch: u64,
    /// Chunks read (and hashed) so far.
    read: u64,
    /// The next batch to open, read ahead.
    ahead: Option<Sealed>,
    /// A sealed buffer to reuse.
    spare: Vec<u8>,
    /// Plaintext of the current batch, and how much of it was returned.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    /// A plaintext buffer to reuse.
    spare_plain: Zeroizing<Vec<u8>>,
    /// Whether the final batch was opened.
    done: bool,
    failed: bool,
}

impl<R: Read + Send> ContentReader<R> {
    /// Reads the header from `inner` and checks it against `digest` and `key`.
    ///
    /// Fails with [`Error::Decode`] for a malformed header and with
    /// [`Error::DecryptionFailed`] if `key` is not the one `digest` commits to or
    /// `digest` does not describe a stream of this chunk size.
    pub fn new(key: &ContentKey, mut inner: R, digest: &ContentDigest) -> Result<Self> {
        let mut header = [0u8; HEADER_LEN];
        inner.read_exact(&mut header).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Error::Decode(DecodeError::Truncated { what: WHAT }),
            _ => Error::Io(e),
        })?;
        let keys = StreamKeys::for_opening(key, &header, digest)?;
        let body_len = digest
            .ciphertext_len
            .checked_sub(HEADER_LEN as u64)
            .ok_or(Error::DecryptionFailed)?;
        let (chunks, last_len) =
            body_layout(body_len, keys.chunk_size).ok_or(Error::DecryptionFailed)?;
        let mut hasher = hasher();
        hasher.update(&header);
        Ok(Self {
            inner,
            batch: (batch_bytes() / keys.chunk_size).max(1) as u64,
            keys,
            expected_hash: digest.ciphertext_hash,
            hasher,
            chunks,
            last_sealed_len: last_len as usize + TAG_LEN,
            read: 0,
            ahead: None,
            spare: Vec::new(),
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            spare_plain: Zeroizing::new(Vec::new()),
            done: false,
            failed: false,
        })
    }

    /// Writes everything left to `out`, writing one batch while the next is
    /// opened and the one after is read. Returns the bytes written.
    pub fn copy_to(&mut self, out: &mut (dyn Write + Send)) -> io::Result<u64> {
        if self.failed {
            return Err(refused());
        }
        self.failed = true;
        let mut written = 0u64;
        loop {
            let ready = std::mem::take(&mut self.buf);
            let pending = ready.get(self.pos..).unwrap_or_default();
            if self.done {
                write_pieces(out, pending)?;
                written += pending.len() as u64;
                self.buf = ready;
                self.pos = self.buf.len();
                break;
            }
            let (w, f) = rayon::join(|| write_pieces(out, pending), || self.fill(None));
            w?;
            f?;
            written += pending.len() as u64;
            self.spare_plain = ready;
        }
        self.failed = false;
        Ok(written)
    }

    /// Reads the next batch into `sealed`, hashes it, and, if it holds the
    /// final chunk, checks that nothing follows and the hash of the whole stream.
    fn read_batch(
        inner: &mut R,
        hasher: &mut blake3::Hasher,
        expected_hash: &[u8; 32],
        mut sealed: Sealed,
    ) -> io::Result<Sealed> {
        inner
            .read_exact(&mut sealed.bytes)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => refused(),
                _ => e,
            })?;
        hasher.update(&sealed.bytes);
        if sealed.last {
            let mut extra = [0u8; 1];
            let more = loop {
                match inner.read(&mut extra) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            let hash_ok: bool = hasher.finalize().as_bytes().ct_eq(expected_hash).into();
            if more != 0 || !hash_ok {
                return Err(refused());
            }
        }
        Ok(sealed)
    }

    /// The shape of the batch after the `read` chunks already read, in `bytes`.
    fn plan(&self, mut bytes: Vec<u8>) -> Option<Sealed> {
        let count = (self.chunks - self.read).min(self.batch);
        if count == 0 {
            return None;
        }
        let last = self.read + count == self.chunks;
        let full = self.keys.chunk_size + TAG_LEN;
        let len = if last {
            (count as usize - 1) * full + self.last_sealed_len
        } else {
            count as usize * full
        };
        bytes.resize(len, 0);
        Some(Sealed {
            bytes,
            first: self.read,
            count: count as usize,
            last,
        })
    }

    /// Opens the next batch (read ahead, or read now) while the one after it
    /// is read and hashed. Into `out` when it is given and holds the whole
    /// batch's plaintext, which is then not copied again: answers how much
    /// went there (0 when the batch went to the buffer instead).
    fn fill(&mut self, out: Option<&mut [u8]>) -> io::Result<usize> {
        let current = match self.ahead.take() {
            Some(sealed) => sealed,
            None => {
                let bytes = std::mem::take(&mut self.spare);
                let Some(plan) = self.plan(bytes) else {
                    self.done = true;
                    return Ok(0);
                };
                self.read += plan.count as u64;
                Self::read_batch(&mut self.inner, &mut self.hasher, &self.expected_hash, plan)?
            }
        };
        let bytes = std::mem::take(&mut self.spare);
        let next = self.plan(bytes);
        if let Some(plan) = &next {
            self.read += plan.count as u64;
        }
        let plain_len = current
            .bytes
            .len()
            .checked_sub(current.count * TAG_LEN)
            .ok_or_else(refused)?;
        let direct = out.and_then(|out| out.get_mut(..plain_len));
        let straight = direct.is_some();
        let mut plain = std::mem::take(&mut self.spare_plain);
        let (inner, hasher, expected) = (&mut self.inner, &mut self.hasher, &self.expected_hash);
        let keys = &self.keys;
        let (opened, ahead) = rayon::join(
            || match direct {
                Some(dest) => open_batch(keys, &current, dest),
                None => {
                    plain.resize(plain_len, 0);
                    open_batch(keys, &current, &mut plain)
                }
            },
            || {
                next.map(|plan| Self::read_batch(inner, hasher, expected, plan))
                    .transpose()
            },
        );
        opened?;
        self.ahead = ahead?;
        if straight {
            self.spare_plain = plain;
        } else {
            self.spare_plain = std::mem::replace(&mut self.buf, plain);
            self.pos = 0;
        }
        self.spare = current.bytes;
        self.done = current.last;
        Ok(if straight { plain_len } else { 0 })
    }
}

/// Opens the chunks of `sealed` into `plain`, their plaintext's length; on
/// failure `plain` is zeroed.
fn open_batch(keys: &StreamKeys, sealed: &Sealed, plain: &mut [u8]) -> io::Result<()> {
    let full = keys.chunk_size + TAG_LEN;
    let first = usize::try_from(sealed.first).map_err(|_| refused())?;
    let cs = keys.chunk_size;
    if plain.len().div_ceil(cs).max(1) != sealed.count
        || plain.len() + sealed.count * TAG_LEN != sealed.bytes.len()
    {
        return Err(refused());
    }
    let opened = if plain.is_empty() {
        // The empty final chunk of an empty content: its tag is still checked.
        keys.open_chunk(first, sealed.last, &sealed.bytes, &mut [])
    } else {
        plain
            .par_chunks_mut(cs)
            .zip(sealed.bytes.par_chunks(full))
            .enumerate()
            .try_for_each(|(i, (out, chunk))| {
                keys.open_chunk(first + i, sealed.last && i + 1 == sealed.count, chunk, out)
            })
    };
    if opened.is_err() {
        plain.fill(0);
        return Err(refused());
    }
    Ok(())
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Error::DecryptionFailed)
}

impl<R: Read + Send> Read for ContentReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(refused());
        }
        while self.pos >= self.buf.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            self.failed = true;
            let straight = self.fill(Some(&mut *out))?;
            self.failed = false;
            if straight > 0 {
                return Ok(straight);
            }
        }
        let pending = self.buf.get(self.pos..).unwrap_or_default();
        let n = pending.len().min(out.len());
        let (dst, _) = out.split_at_mut(n);
        let (src, _) = pending.split_at(n);
        dst.copy_from_slice(src);
        self.pos += n;
        Ok(n)
    }
}
