//! Sealed content: files and other large items, encrypted under a per-item random
//! key with the STREAM construction (ChaCha20-Poly1305 over fixed-size chunks).
//!
//! # Format (SPEC.md §Content stream)
//!
//! A sealed content is `header || sealed chunk 0 || ... || sealed chunk n-1`.
//!
//! Header, 22 bytes:
//!
//! | offset | size | field                                              |
//! |-------:|-----:|----------------------------------------------------|
//! | 0      | 1    | format version, `0x01`                             |
//! | 1      | 1    | kind, `0x04` (content stream)                      |
//! | 2      | 4    | `chunk_size`, u32 big-endian, 4 KiB ..= 4 MiB      |
//! | 6      | 16   | `salt`, fresh randomness for every sealing         |
//!
//! Keys, from the 32-byte content key `K` with [`kdf::derive_key`] (HKDF-SHA256,
//! `info = "sealshare/v1/" || label || 0x00 || header`, HKDF salt = `salt`):
//! `stream_key` with label `content/stream-key`, and the public `key_commitment`
//! with label `content/key-commitment`.
//!
//! Chunks: the plaintext is cut into pieces of `chunk_size` bytes; every piece but
//! the last is exactly `chunk_size`; the last holds 1 ..= `chunk_size` bytes, or 0
//! when (and only when) the whole content is empty, which is thus one empty final
//! chunk. There are at most 2^32 - 1 chunks. Chunk `i` is sealed with
//! ChaCha20-Poly1305 (RFC 8439) under `stream_key` with the STREAM-BE32 nonce
//! `00^7 || i as u32 big-endian || last` (`last` is `0x01` for the final chunk,
//! `0x00` otherwise) and the 22 header bytes as associated data. A sealed chunk is
//! `ciphertext || tag[16]`, so a sealed content is `22 + len + 16 * n` bytes; a
//! length that does not split this way (a partial tag, an empty final chunk after
//! data, trailing bytes) is refused, as is a final flag anywhere but the end.
//!
//! Digest, the public values an item header signs ([`ContentDigest`]):
//! `ciphertext_hash` = BLAKE3 in derive-key mode with context
//! `"sealshare v1 content ciphertext hash"` over the whole sealed content,
//! `key_commitment`, and `ciphertext_len` (the whole sealed content in bytes).
//!
//! Opening checks the key commitment, the length and the hash before releasing
//! any plaintext (the streaming [`ContentReader`] checks the hash at the end).
//! Every authentication failure is [`Error::DecryptionFailed`]; a malformed header
//! is [`Error::Decode`].

use std::io::{self, Read, Write};

use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use rayon::prelude::*;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::kdf;
use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::error::{Bytes, DecodeError, Error, Result};
use crate::wire::{Kind, Reader, Writer};

/// Length of the stream header in bytes.
pub const HEADER_LEN: usize = 22;
/// Length of the Poly1305 tag closing every sealed chunk.
pub const TAG_LEN: usize = 16;
/// The chunk size used unless the caller picks another: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 << 10;
/// The smallest accepted chunk size: 4 KiB.
pub const MIN_CHUNK_SIZE: u32 = 4 << 10;
/// The largest accepted chunk size: 4 MiB.
pub const MAX_CHUNK_SIZE: u32 = 4 << 20;

const SALT_LEN: usize = 16;
const HASH_CONTEXT: &str = "sealshare v1 content ciphertext hash";
const WHAT: &str = "content stream";

/// The key of one content item: 32 random bytes, used for nothing else.
///
/// Guarantees those of [`SecretKey`]: zeroized on drop, redacted in `Debug`,
/// compared in constant time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentKey(SecretKey);

impl ContentKey {
    /// A fresh key from the operating system's random generator.
    pub fn random() -> Result<Self> {
        SecretKey::random().map(Self)
    }

    /// Wraps an existing key (for instance one unwrapped from an item header).
    pub fn from_secret(key: SecretKey) -> Self {
        Self(key)
    }

    /// Takes ownership of key bytes; the caller's copy should be zeroized.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretKey::from_bytes(bytes))
    }

    /// The key as a [`SecretKey`], to wrap it for recipients.
    pub fn as_secret(&self) -> &SecretKey {
        &self.0
    }
}

/// The public summary of one sealed content, to be signed into an item header.
///
/// With a trusted digest, [`open`] and [`ContentReader`] accept exactly the sealed
/// content it was computed from, opened with the key it commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentDigest {
    /// BLAKE3 (derive-key mode, context `"sealshare v1 content ciphertext hash"`)
    /// of the whole sealed content, header included.
    pub ciphertext_hash: [u8; 32],
    /// Commits to the content key: derived from it, the salt and the header.
    pub key_commitment: [u8; 32],
    /// Length of the whole sealed content in bytes, header included.
    pub ciphertext_len: u64,
}

/// A sealed content in memory and its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedContent {
    /// The sealed content: header and sealed chunks, in the format of this module.
    pub ciphertext: Vec<u8>,
    /// Its digest.
    pub digest: ContentDigest,
}

/// Seals `plaintext` under `key` in chunks of `chunk_size` bytes, on this thread.
///
/// Fails with [`Error::InvalidArgument`] if `chunk_size` is outside 4 KiB ..= 4 MiB
/// or the content would need more than 2^32 - 1 chunks.
pub fn seal(key: &ContentKey, plaintext: &[u8], chunk_size: u32) -> Result<SealedContent> {
    seal_with_salt(key, plaintext, chunk_size, random::array()?, false)
}

/// Like [`seal`], using all cores; the output has the same format and, for the same
/// key and salt, the same bytes.
pub fn seal_parallel(key: &ContentKey, plaintext: &[u8], chunk_size: u32) -> Result<SealedContent> {
    seal_with_salt(key, plaintext, chunk_size, random::array()?, true)
}

/// Opens a sealed content on this thread. The key commitment, the length and the
/// hash are checked against `digest` before anything is decrypted; any mismatch,
/// alteration, truncation or extension fails with [`Error::DecryptionFailed`].
pub fn open(key: &ContentKey, ciphertext: &[u8], digest: &ContentDigest) -> Result<Vec<u8>> {
    open_impl(key, ciphertext, digest, false)
}

/// Like [`open`], using all cores.
pub fn open_parallel(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
) -> Result<Vec<u8>> {
    open_impl(key, ciphertext, digest, true)
}

/// The keys of one stream, derived from the content key and the header.
struct StreamKeys {
    header: [u8; HEADER_LEN],
    chunk_size: usize,
    cipher: ChaCha20Poly1305,
    key_commitment: [u8; 32],
}

impl StreamKeys {
    fn new(key: &ContentKey, chunk_size: u32, salt: &[u8; SALT_LEN]) -> Result<Self> {
        let mut w = Writer::with_capacity(Kind::ContentStream, HEADER_LEN);
        w.u32(chunk_size).fixed(salt);
        let header: [u8; HEADER_LEN] = w
            .finish()
            .try_into()
            .map_err(|_| Error::InvalidArgument("header length".into()))?;
        let ikm = key.0.expose();
        let stream_key = kdf::derive_key(ikm, salt, "content/stream-key", &header)?;
        let commitment = kdf::derive_key(ikm, salt, "content/key-commitment", &header)?;
        Ok(Self {
            header,
            chunk_size: chunk_size as usize,
            cipher: ChaCha20Poly1305::new(stream_key.expose().into()),
            key_commitment: *commitment.expose(),
        })
    }

    /// Parses a header, checks the key commitment, and derives the keys.
    fn for_opening(key: &ContentKey, header: &[u8], digest: &ContentDigest) -> Result<Self> {
        let mut r = Reader::new(header, Kind::ContentStream)?;
        let chunk_size = r.u32()?;
        let salt = r.array::<SALT_LEN>()?;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(
                DecodeError::invalid("content chunk size", "outside 4 KiB ..= 4 MiB").into(),
            );
        }
        let keys = Self::new(key, chunk_size, &salt)?;
        if !bool::from(keys.key_commitment.ct_eq(&digest.key_commitment)) {
            return Err(Error::DecryptionFailed);
        }
        Ok(keys)
    }

    /// The STREAM-BE32 nonce of chunk `position`.
    fn nonce(position: u32, last: bool) -> Nonce {
        let [a, b, c, d] = position.to_be_bytes();
        Nonce::from([0, 0, 0, 0, 0, 0, 0, a, b, c, d, u8::from(last)])
    }

    /// Seals `plain` into `slot` (`plain.len() + TAG_LEN` bytes) without copying it first.
    fn seal_chunk(&self, index: usize, last: bool, plain: &[u8], slot: &mut [u8]) -> Result<()> {
        let position = u32::try_from(index).map_err(|_| too_long())?;
        let (ct, tag_out) = slot
            .split_at_mut_checked(plain.len())
            .ok_or_else(too_long)?;
        let buf = InOutBuf::new(plain, ct).map_err(|_| too_long())?;
        let tag = self
            .cipher
            .encrypt_inout_detached(&Self::nonce(position, last), &self.header, buf)
            .map_err(|_| too_long())?;
        if tag_out.len() != TAG_LEN {
            return Err(too_long());
        }
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens `sealed` (ciphertext and tag) into `out`, which has the plaintext's length.
    fn open_chunk(&self, index: usize, last: bool, sealed: &[u8], out: &mut [u8]) -> Result<()> {
        let position = u32::try_from(index).map_err(|_| Error::DecryptionFailed)?;
        let split = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptionFailed)?;
        let (ct, tag) = sealed.split_at(split);
        let tag = Tag::try_from(tag).map_err(|_| Error::DecryptionFailed)?;
        let buf = InOutBuf::new(ct, out).map_err(|_| Error::DecryptionFailed)?;
        self.cipher
            .decrypt_inout_detached(&Self::nonce(position, last), &self.header, buf, &tag)
            .map_err(|_| Error::DecryptionFailed)
    }

    /// The STREAM primitive of `aead-stream` under the same key and nonce prefix.
    fn stream(&self) -> StreamBE32<ChaCha20Poly1305> {
        StreamBE32::from_aead(self.cipher.clone(), &Default::default())
    }

    fn digest(&self, hasher: &blake3::Hasher, ciphertext_len: u64) -> ContentDigest {
        ContentDigest {
            ciphertext_hash: *hasher.finalize().as_bytes(),
            key_commitment: self.key_commitment,
            ciphertext_len,
        }
    }
}

fn too_long() -> Error {
    Error::InvalidArgument("content too long to seal: more than 2^32 - 1 chunks".into())
}

/// The ciphertext hash of a whole sealed content, as its [`ContentDigest`] records
/// it: lets a caller check a blob against a signed header before opening it.
pub fn ciphertext_hash(sealed: &[u8]) -> [u8; 32] {
    let mut h = hasher();
    if sealed.len() >= PARALLEL_HASH_MIN {
        h.update_rayon(sealed);
    } else {
        h.update(sealed);
    }
    *h.finalize().as_bytes()
}

/// From this size on, hashing uses every core.
const PARALLEL_HASH_MIN: usize = 1 << 20;

fn hasher() -> blake3::Hasher {
    blake3::Hasher::new_derive_key(HASH_CONTEXT)
}

fn check_chunk_size(chunk_size: u32) -> Result<()> {
    if (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "chunk size {} is outside {} ..= {}",
            chunk_size,
            Bytes(MIN_CHUNK_SIZE.into()),
            Bytes(MAX_CHUNK_SIZE.into())
        )))
    }
}

/// Number of chunks and length of the final chunk's plaintext for a sealed body
/// (everything after the header) of `body_len` bytes, if that length is canonical.
fn body_layout(body_len: u64, chunk_size: usize) -> Option<(u64, u64)> {
    let sealed = chunk_size as u64 + TAG_LEN as u64;
    let (full, rem) = (body_len / sealed, body_len % sealed);
    let layout = match rem {
        0 if full > 0 => (full, chunk_size as u64),
        r if r == TAG_LEN as u64 && full > 0 => return None, // empty final chunk after data
        r if r >= TAG_LEN as u64 => (full + 1, r - TAG_LEN as u64),
        _ => return None,
    };
    (layout.0 <= u64::from(u32::MAX)).then_some(layout)
}

/// [`seal`] and [`seal_parallel`] with an explicit salt.
fn seal_with_salt(
    key: &ContentKey,
    plaintext: &[u8],
    chunk_size: u32,
    salt: [u8; SALT_LEN],
    parallel: bool,
) -> Result<SealedContent> {
    check_chunk_size(chunk_size)?;
    let keys = StreamKeys::new(key, chunk_size, &salt)?;
    let cs = keys.chunk_size;
    let chunks = plaintext.len().div_ceil(cs).max(1);
    if chunks > u32::MAX as usize {
        return Err(too_long());
    }
    let total = chunks
        .checked_mul(TAG_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .and_then(|t| t.checked_add(plaintext.len()))
        .ok_or_else(too_long)?;
    let mut out = vec![0u8; total];
    let (header, body) = out.split_at_mut(HEADER_LEN);
    header.copy_from_slice(&keys.header);
    let mut hasher = hasher();
    if chunks == 1 {
        keys.seal_chunk(0, true, plaintext, body)?;
        hasher.update(&out);
    } else if parallel {
        body.par_chunks_mut(cs + TAG_LEN)
            .zip(plaintext.par_chunks(cs))
            .enumerate()
            .try_for_each(|(i, (slot, plain))| keys.seal_chunk(i, i + 1 == chunks, plain, slot))?;
        hasher.update_rayon(&out);
    } else {
        // Hash each sealed chunk while it is still in cache.
        hasher.update(&keys.header);
        for (i, (slot, plain)) in body
            .chunks_mut(cs + TAG_LEN)
            .zip(plaintext.chunks(cs))
            .enumerate()
        {
            keys.seal_chunk(i, i + 1 == chunks, plain, slot)?;
            hasher.update(slot);
        }
    }
    let digest = keys.digest(&hasher, total as u64);
    Ok(SealedContent {
        ciphertext: out,
        digest,
    })
}

fn open_impl(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    parallel: bool,
) -> Result<Vec<u8>> {
    let header = ciphertext.get(..HEADER_LEN).unwrap_or(ciphertext);
    let keys = StreamKeys::for_opening(key, header, digest)?;
    if ciphertext.len() as u64 != digest.ciphertext_len {
        return Err(Error::DecryptionFailed);
    }
    let mut hasher = hasher();
    if parallel {
        hasher.update_rayon(ciphertext);
    } else {
        hasher.update(ciphertext);
    }
    if !bool::from(hasher.finalize().as_bytes().ct_eq(&digest.ciphertext_hash)) {
        return Err(Error::DecryptionFailed);
    }
    let body = ciphertext
        .get(HEADER_LEN..)
        .ok_or(Error::DecryptionFailed)?;
    let cs = keys.chunk_size;
    let (chunks, _) = body_layout(body.len() as u64, cs).ok_or(Error::DecryptionFailed)?;
    let chunks = chunks as usize;
    // Zeroized if a chunk fails (only possible for a stream sealed wrongly on purpose).
    let mut out = Zeroizing::new(vec![0u8; body.len() - chunks * TAG_LEN]);
    if chunks == 1 {
        keys.open_chunk(0, true, body, &mut out)?;
    } else if parallel {
        out.par_chunks_mut(cs)
            .zip(body.par_chunks(cs + TAG_LEN))
            .enumerate()
            .try_for_each(|(i, (plain, sealed))| {
                keys.open_chunk(i, i + 1 == chunks, sealed, plain)
            })?;
    } else {
        for (i, (plain, sealed)) in out
            .chunks_mut(cs)
            .zip(body.chunks(cs + TAG_LEN))
            .enumerate()
        {
            keys.open_chunk(i, i + 1 == chunks, sealed, plain)?;
        }
    }
    Ok(std::mem::take(&mut *out))
}

/// How many full chunks the writer seals at once, on all cores.
const WRITER_BATCH: usize = 16;

/// Seals everything written to it into `W`, on all cores, holding at most a
/// small batch of chunks in memory (16 chunks plus one).
///
/// The output is byte for byte what [`seal`] produces for the same key, salt and
/// chunk size. Nothing is complete until [`ContentWriter::finish`] returns: a
/// writer dropped earlier leaves a stream that every reader refuses. After an
/// error, every later call fails.
pub struct ContentWriter<W: Write> {
    inner: W,
    keys: StreamKeys,
    stream: StreamBE32<ChaCha20Poly1305>,
    /// The pending chunk's plaintext (sealed in place, with room for the tag).
    buf: Zeroizing<Vec<u8>>,
    /// Full chunks known not to be the last, waiting to be sealed together.
    batch: Vec<Zeroizing<Vec<u8>>>,
    /// Where a batch is sealed before it is hashed and written.
    sealed: Vec<u8>,
    position: u32,
    hasher: blake3::Hasher,
    written: u64,
    poisoned: bool,
}

impl<W: Write> ContentWriter<W> {
    /// Writes a fresh header to `inner` and starts sealing under `key`.
    ///
    /// Fails with [`Error::InvalidArgument`] if `chunk_size` is outside 4 KiB ..= 4 MiB.
    pub fn new(key: &ContentKey, inner: W, chunk_size: u32) -> Result<Self> {
        Self::with_salt(key, inner, chunk_size, random::array()?)
    }

    fn with_salt(
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
        Ok(Self {
            inner,
            stream: keys.stream(),
            buf: Zeroizing::new(Vec::with_capacity(keys.chunk_size + TAG_LEN)),
            batch: Vec::with_capacity(WRITER_BATCH),
            sealed: Vec::new(),
            keys,
            position: 0,
            hasher,
            written: HEADER_LEN as u64,
            poisoned: false,
        })
    }

    /// Seals the pending chunk and writes it out.
    fn emit(&mut self, last: bool) -> Result<()> {
        if self.poisoned {
            return Err(poisoned().into());
        }
        self.poisoned = true;
        // Keep a position for the final chunk: at most 2^32 - 1 chunks in all.
        if !last && self.position >= u32::MAX - 1 {
            return Err(too_long());
        }
        let buf: &mut Vec<u8> = &mut self.buf;
        self.stream
            .encrypt_in_place(self.position, last, &self.keys.header, buf)
            .map_err(|_| too_long())?;
        self.hasher.update(buf);
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        buf.clear();
        self.position += 1;
        self.poisoned = false;
        Ok(())
    }

    /// Seals the batched full chunks on all cores, then hashes and writes them
    /// in order.
    fn emit_batch(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if self.poisoned {
            return Err(poisoned().into());
        }
        self.poisoned = true;
        let n = self.batch.len();
        let first = self.position as usize;
        // Keep a position for the final chunk: at most 2^32 - 1 chunks in all.
        if first + n >= (u32::MAX - 1) as usize {
            return Err(too_long());
        }
        let slot = self.keys.chunk_size + TAG_LEN;
        self.sealed.clear();
        self.sealed.resize(n * slot, 0);
        let keys = &self.keys;
        self.sealed
            .par_chunks_mut(slot)
            .zip(self.batch.par_iter())
            .enumerate()
            .try_for_each(|(i, (out, plain))| keys.seal_chunk(first + i, false, plain, out))?;
        self.hasher.update_rayon(&self.sealed);
        self.inner.write_all(&self.sealed)?;
        self.written += self.sealed.len() as u64;
        self.position += n as u32;
        self.batch.clear();
        self.poisoned = false;
        Ok(())
    }

    /// Seals the final chunk, flushes `inner`, and returns it with the digest.
    pub fn finish(mut self) -> Result<(W, ContentDigest)> {
        self.emit_batch()?;
        self.emit(true)?;
        self.inner.flush()?;
        let digest = self.keys.digest(&self.hasher, self.written);
        Ok((self.inner, digest))
    }
}

fn poisoned() -> io::Error {
    io::Error::other("content writer unusable after an earlier error")
}

impl<W: Write> Write for ContentWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(poisoned());
        }
        if data.is_empty() {
            return Ok(0);
        }
        // A full chunk is sealed only once more data arrives: it is not the final one.
        if self.buf.len() >= self.keys.chunk_size {
            let cap = self.keys.chunk_size + TAG_LEN;
            let full = std::mem::replace(&mut self.buf, Zeroizing::new(Vec::with_capacity(cap)));
            self.batch.push(full);
            if self.batch.len() >= WRITER_BATCH {
                self.emit_batch().map_err(into_io)?;
            }
        }
        let take = (self.keys.chunk_size - self.buf.len()).min(data.len());
        let (head, _) = data.split_at(take);
        self.buf.extend_from_slice(head);
        Ok(take)
    }

    /// Flushes `inner`. The pending chunk stays buffered until more data or `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn into_io(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        Error::InvalidArgument(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Error::DecryptionFailed)
}

/// Opens a sealed content read from `R`, one chunk at a time, in constant memory.
///
/// The key commitment is checked when the reader is created. Chunks are
/// authenticated before their plaintext is released, and the hash and length of
/// the whole stream are checked before the final chunk is released. **The output
/// is only trustworthy once `read` has returned `Ok(0)`**: a stream that is
/// altered, truncated or extended fails with an [`io::Error`] of kind
/// `InvalidData` wrapping [`Error::DecryptionFailed`], possibly after earlier
/// chunks were returned, which the caller must then discard. After an error,
/// every later call fails.
pub struct ContentReader<R: Read> {
    inner: R,
    keys: StreamKeys,
    expected_hash: [u8; 32],
    hasher: blake3::Hasher,
    /// Chunks in the stream and the sealed length of the final one.
    chunks: u64,
    last_sealed_len: usize,
    next: u64,
    /// Plaintext of the current batch of chunks, and how much of it was returned.
    buf: Zeroizing<Vec<u8>>,
    /// The sealed bytes of the current batch.
    sealed: Vec<u8>,
    pos: usize,
    failed: bool,
}

/// How many chunks the reader reads and opens at once, on all cores.
const READER_BATCH: u64 = 16;

impl<R: Read> ContentReader<R> {
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
            buf: Zeroizing::new(Vec::with_capacity(keys.chunk_size + TAG_LEN)),
            keys,
            expected_hash: digest.ciphertext_hash,
            hasher,
            chunks,
            last_sealed_len: last_len as usize + TAG_LEN,
            next: 0,
            sealed: Vec::new(),
            pos: 0,
            failed: false,
        })
    }

    /// Reads the next batch of chunks, checks them (and, with the final chunk,
    /// the length and the hash of the whole stream), and opens them on all
    /// cores into `buf`.
    fn next_chunk(&mut self) -> io::Result<()> {
        let k = (self.chunks - self.next).min(READER_BATCH) as usize;
        let includes_last = self.next + k as u64 == self.chunks;
        let full = self.keys.chunk_size + TAG_LEN;
        let len_of = |i: usize| {
            if includes_last && i + 1 == k {
                self.last_sealed_len
            } else {
                full
            }
        };
        let sealed_len: usize = (0..k).map(len_of).sum();
        self.sealed.resize(sealed_len, 0);
        self.inner
            .read_exact(&mut self.sealed)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => refused(),
                _ => e,
            })?;
        self.hasher.update_rayon(&self.sealed);
        if includes_last {
            let mut extra = [0u8; 1];
            let more = loop {
                match self.inner.read(&mut extra) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            let hash_ok: bool = self
                .hasher
                .finalize()
                .as_bytes()
                .ct_eq(&self.expected_hash)
                .into();
            if more != 0 || !hash_ok {
                return Err(refused());
            }
        }
        // Slice the batch chunk by chunk (the final chunk's plaintext may be
        // empty: its tag must still be checked, so no chunk is left out).
        self.buf.resize(sealed_len - k * TAG_LEN, 0);
        self.pos = 0;
        let mut outs = Vec::with_capacity(k);
        let mut seals = Vec::with_capacity(k);
        let mut out_rest: &mut [u8] = &mut self.buf;
        let mut sealed_rest: &[u8] = &self.sealed;
        for i in 0..k {
            let n = len_of(i);
            let (o, ro) = out_rest
                .split_at_mut_checked(n - TAG_LEN)
                .ok_or_else(refused)?;
            let (c, rc) = sealed_rest.split_at_checked(n).ok_or_else(refused)?;
            outs.push(o);
            seals.push(c);
            out_rest = ro;
            sealed_rest = rc;
        }
        let first = usize::try_from(self.next).map_err(|_| refused())?;
        let keys = &self.keys;
        outs.into_par_iter()
            .zip(seals.into_par_iter())
            .enumerate()
            .try_for_each(|(i, (out, sealed))| {
                keys.open_chunk(first + i, includes_last && i + 1 == k, sealed, out)
            })
            .map_err(|_| refused())?;
        self.next += k as u64;
        Ok(())
    }
}

impl<R: Read> Read for ContentReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(refused());
        }
        while self.pos >= self.buf.len() {
            if self.next >= self.chunks || out.is_empty() {
                return Ok(0);
            }
            self.failed = true;
            self.next_chunk()?;
            self.failed = false;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use aead_stream::StreamPrimitive;

    fn key() -> ContentKey {
        ContentKey::from_bytes([7; 32])
    }

    #[test]
    fn layout_is_canonical() {
        let cs = 4096usize;
        for len in [0usize, 1, cs - 1, cs, cs + 1, 2 * cs, 3 * cs + 5] {
            let n = len.div_ceil(cs).max(1);
            let body = (len + n * TAG_LEN) as u64;
            let last = len - (n - 1) * cs;
            assert_eq!(
                body_layout(body, cs),
                Some((n as u64, last as u64)),
                "len {len}"
            );
        }
        for body in [
            0u64,
            1,
            15,
            (cs + TAG_LEN + TAG_LEN) as u64,
            (cs + TAG_LEN + 3) as u64,
        ] {
            assert_eq!(body_layout(body, cs), None, "body {body}");
        }
    }

    #[test]
    fn nonce_matches_aead_stream() {
        let keys = StreamKeys::new(&key(), MIN_CHUNK_SIZE, &[1; 16]).unwrap();
        for (position, last) in [
            (0, false),
            (1, true),
            (0x0102_0304, false),
            (u32::MAX - 1, true),
        ] {
            let mut ours = vec![0u8; 10 + TAG_LEN];
            keys.seal_chunk(position as usize, last, b"0123456789", &mut ours)
                .unwrap();
            let mut theirs = b"0123456789".to_vec();
            keys.stream()
                .encrypt_in_place(position, last, &keys.header, &mut theirs)
                .unwrap();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn sequential_parallel_and_writer_agree() {
        let data: Vec<u8> = (0..5 * 4096 + 17).map(|i| (i % 251) as u8).collect();
        for len in [0, 1, 4096, 4097, data.len()] {
            let plain = &data[..len];
            let a = seal_with_salt(&key(), plain, 4096, [3; 16], false).unwrap();
            let b = seal_with_salt(&key(), plain, 4096, [3; 16], true).unwrap();
            assert_eq!(a, b);
            let mut w = ContentWriter::with_salt(&key(), Vec::new(), 4096, [3; 16]).unwrap();
            w.write_all(plain).unwrap();
            let (ct, digest) = w.finish().unwrap();
            assert_eq!(ct, a.ciphertext);
            assert_eq!(digest, a.digest);
            assert_eq!(open(&key(), &a.ciphertext, &a.digest).unwrap(), plain);
            assert_eq!(
                open_parallel(&key(), &a.ciphertext, &a.digest).unwrap(),
                plain
            );
        }
    }

    #[test]
    fn header_and_chunk_size_bounds() {
        assert!(matches!(
            seal(&key(), b"x", MIN_CHUNK_SIZE - 1),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            seal(&key(), b"x", MAX_CHUNK_SIZE + 1),
            Err(Error::InvalidArgument(_))
        ));
        let sealed = seal(&key(), b"x", MAX_CHUNK_SIZE).unwrap();
        assert_eq!(sealed.ciphertext.get(..6), Some(&[1, 4, 0, 0x40, 0, 0][..]));
        assert_eq!(
            sealed.digest.ciphertext_len,
            (HEADER_LEN + 1 + TAG_LEN) as u64
        );
        let mut bad = sealed.ciphertext.clone();
        bad[2..6].copy_from_slice(&(MAX_CHUNK_SIZE + 1).to_be_bytes());
        assert!(matches!(
            open(&key(), &bad, &sealed.digest),
            Err(Error::Decode(DecodeError::Invalid { .. }))
        ));
        assert!(matches!(
            open(&key(), &bad[..5], &sealed.digest),
            Err(Error::Decode(DecodeError::Truncated { .. }))
        ));
        assert!(matches!(
            open(&key(), &[], &sealed.digest),
            Err(Error::Decode(_))
        ));
    }
}
