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
//! This is the STREAM-BE32 construction of RustCrypto's `aead-stream`, nonce for
//! nonce; the chunks go through AWS-LC's ChaCha20-Poly1305 instead of that
//! crate's pure-Rust cipher because it runs about twice as fast, and the tests
//! check every chunk against `aead-stream` (`nonce_matches_aead_stream`).
//!
//! Opening checks the key commitment, the length and the hash before releasing
//! any plaintext (the streaming [`ContentReader`] checks the hash at the end).
//! Every authentication failure is [`Error::DecryptionFailed`]; a malformed header
//! is [`Error::Decode`].

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
#[cfg(test)]
use chacha20poly1305::ChaCha20Poly1305;
use rayon::prelude::*;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::kdf;
use crate::crypto::random;
use crate::crypto::secret::SecretKey;
use crate::crypto::{Error, Result};
use crate::labels;
use crate::wire::{DecodeError, Kind, Reader, Writer};

mod reader;
mod writer;

pub use reader::ContentReader;
pub use writer::ContentWriter;

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
const HASH_CONTEXT: &str = labels::BLAKE3_CONTENT_HASH;
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
/// hash are checked against `digest`, and every chunk's tag, before any plaintext
/// is returned; any mismatch, alteration, truncation or extension fails with
/// [`Error::DecryptionFailed`] (what was decrypted so far is zeroized).
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
    /// ChaCha20-Poly1305 under the stream key (AWS-LC zeroizes it when dropped).
    aead: LessSafeKey,
    /// The same key for the reference implementation the tests compare with.
    #[cfg(test)]
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
            .map_err(|_| Error::Bug("the content stream header is not 22 bytes"))?;
        let ikm = key.0.expose();
        let stream_key = kdf::derive_key(ikm, salt, labels::KDF_CONTENT_STREAM_KEY, &header)?;
        let commitment = kdf::derive_key(ikm, salt, labels::KDF_CONTENT_KEY_COMMITMENT, &header)?;
        let aead = UnboundKey::new(&CHACHA20_POLY1305, stream_key.expose())
            .map_err(|_| Error::Bug("AWS-LC refused a 32-byte ChaCha20-Poly1305 key"))?;
        Ok(Self {
            header,
            chunk_size: chunk_size as usize,
            aead: LessSafeKey::new(aead),
            #[cfg(test)]
            cipher: {
                use chacha20poly1305::aead::KeyInit;
                ChaCha20Poly1305::new(stream_key.expose().into())
            },
            key_commitment: *commitment.expose(),
        })
    }

    /// Parses a header, checks the key commitment, and derives the keys.
    fn for_opening(key: &ContentKey, header: &[u8], digest: &ContentDigest) -> Result<Self> {
        let (chunk_size, salt) = parse_header(header)?;
        let keys = Self::new(key, chunk_size, &salt)?;
        if !bool::from(keys.key_commitment.ct_eq(&digest.key_commitment)) {
            return Err(Error::DecryptionFailed);
        }
        Ok(keys)
    }

    /// The STREAM-BE32 nonce of chunk `position`.
    fn nonce(position: u32, last: bool) -> Nonce {
        let [a, b, c, d] = position.to_be_bytes();
        Nonce::assume_unique_for_key([0, 0, 0, 0, 0, 0, 0, a, b, c, d, u8::from(last)])
    }

    /// Seals `plain` into `slot` (`plain.len() + TAG_LEN` bytes), reading
    /// the plaintext once: no copy of it is made first.
    fn seal_chunk(&self, index: usize, last: bool, plain: &[u8], slot: &mut [u8]) -> Result<()> {
        let misfit = || Error::Bug("a chunk's slot is not its plaintext's length plus a tag");
        let (ct, tag_out) = slot.split_at_mut_checked(plain.len()).ok_or_else(misfit)?;
        if tag_out.len() != TAG_LEN {
            return Err(misfit());
        }
        let position = u32::try_from(index)
            .map_err(|_| Error::Bug("a chunk position past 2^32 - 1 reached sealing"))?;
        self.aead
            .seal_out_of_place_scatter(
                Self::nonce(position, last),
                Aad::from(&self.header[..]),
                plain,
                ct,
                &[],
                tag_out,
            )
            .map_err(|_| Error::Bug("ChaCha20-Poly1305 refused to seal a chunk of at most 4 MiB"))
    }

    /// Seals in place the plaintext at the front of `slot`, whose last
    /// `TAG_LEN` bytes receive the tag.
    fn seal_chunk_in_place(&self, index: usize, last: bool, slot: &mut [u8]) -> Result<()> {
        // The chunk count is checked against 2^32 - 1 before anything is sealed.
        let position = u32::try_from(index)
            .map_err(|_| Error::Bug("a chunk position past 2^32 - 1 reached sealing"))?;
        let len = slot
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Bug("a chunk's slot is shorter than a tag"))?;
        let (ct, tag_out) = slot.split_at_mut(len);
        let tag = self
            .aead
            .seal_in_place_separate_tag(
                Self::nonce(position, last),
                Aad::from(&self.header[..]),
                ct,
            )
            .map_err(|_| {
                Error::Bug("ChaCha20-Poly1305 refused to seal a chunk of at most 4 MiB")
            })?;
        tag_out.copy_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens `sealed` (ciphertext and tag) into `out`, which has the plaintext's
    /// length. On failure `out` holds no plaintext.
    fn open_chunk(&self, index: usize, last: bool, sealed: &[u8], out: &mut [u8]) -> Result<()> {
        let position = u32::try_from(index).map_err(|_| Error::DecryptionFailed)?;
        let split = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptionFailed)?;
        let (ct, tag) = sealed.split_at(split);
        if out.len() != ct.len() {
            return Err(Error::DecryptionFailed);
        }
        let opened = self.aead.open_separate_gather(
            Self::nonce(position, last),
            Aad::from(&self.header[..]),
            ct,
            tag,
            out,
        );
        if opened.is_err() {
            out.fill(0);
            return Err(Error::DecryptionFailed);
        }
        Ok(())
    }

    /// The STREAM primitive of `aead-stream` under the same key and nonce
    /// prefix: the reference our chunk sealing is tested against.
    #[cfg(test)]
    fn stream(&self) -> aead_stream::StreamBE32<ChaCha20Poly1305> {
        use aead_stream::NewStream;
        aead_stream::StreamBE32::from_aead(self.cipher.clone(), &Default::default())
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

/// [`ciphertext_hash`] of a sealed content given in pieces: the same hash
/// whatever the pieces, for a store that hashes a blob as it arrives.
pub struct CiphertextHasher(blake3::Hasher);

impl CiphertextHasher {
    /// A hasher with nothing in it yet.
    pub fn new() -> Self {
        Self(hasher())
    }

    /// Adds the next piece.
    pub fn update(&mut self, piece: &[u8]) {
        self.0.update(piece);
    }

    /// The hash of every piece given, in order.
    pub fn finalize(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

impl Default for CiphertextHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CiphertextHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CiphertextHasher")
    }
}

/// From this size on, hashing uses every core.
const PARALLEL_HASH_MIN: usize = 1 << 20;

fn hasher() -> blake3::Hasher {
    blake3::Hasher::new_derive_key(HASH_CONTEXT)
}

/// Formats a byte count for messages without pulling in a dependency.
pub(crate) struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MIB: u64 = 1 << 20;
        if self.0 >= MIB && self.0.is_multiple_of(MIB) {
            write!(f, "{} MiB", self.0 / MIB)
        } else if self.0 >= 1024 && self.0.is_multiple_of(1024) {
            write!(f, "{} KiB", self.0 / 1024)
        } else {
            write!(f, "{} bytes", self.0)
        }
    }
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
    let total =
        usize::try_from(sealed_len(plaintext.len() as u64, chunk_size)?).map_err(|_| too_long())?;
    let mut out = vec![0u8; total];
    let digest = seal_into_with_salt(key, plaintext, chunk_size, salt, &mut out, parallel)?;
    Ok(SealedContent {
        ciphertext: out,
        digest,
    })
}

/// The length of `plaintext_len` bytes sealed in chunks of `chunk_size`:
/// what [`seal_into`] fills. Fails as [`seal`] does on a chunk size out of
/// range or a content of more than 2^32 - 1 chunks.
pub fn sealed_len(plaintext_len: u64, chunk_size: u32) -> Result<u64> {
    check_chunk_size(chunk_size)?;
    let chunks = plaintext_len.div_ceil(u64::from(chunk_size)).max(1);
    if chunks > u64::from(u32::MAX) {
        return Err(too_long());
    }
    chunks
        .checked_mul(TAG_LEN as u64)
        .and_then(|t| t.checked_add(HEADER_LEN as u64))
        .and_then(|t| t.checked_add(plaintext_len))
        .ok_or_else(too_long)
}

/// Like [`seal`], into `out`, a buffer the caller provides of exactly
/// [`sealed_len`] bytes (else [`Error::InvalidArgument`], `out`
/// untouched): the same format, and nothing allocated for the content.
/// Each sealed chunk is hashed while it is still in cache.
pub fn seal_into(
    key: &ContentKey,
    plaintext: &[u8],
    chunk_size: u32,
    out: &mut [u8],
) -> Result<ContentDigest> {
    seal_into_with_salt(key, plaintext, chunk_size, random::array()?, out, false)
}

/// Like [`seal_into`], using all cores.
pub fn seal_into_parallel(
    key: &ContentKey,
    plaintext: &[u8],
    chunk_size: u32,
    out: &mut [u8],
) -> Result<ContentDigest> {
    seal_into_with_salt(key, plaintext, chunk_size, random::array()?, out, true)
}

/// [`seal_into`] and [`seal_into_parallel`] with an explicit salt.
fn seal_into_with_salt(
    key: &ContentKey,
    plaintext: &[u8],
    chunk_size: u32,
    salt: [u8; SALT_LEN],
    out: &mut [u8],
    parallel: bool,
) -> Result<ContentDigest> {
    let total = sealed_len(plaintext.len() as u64, chunk_size)?;
    if out.len() as u64 != total {
        return Err(Error::InvalidArgument(format!(
            "the output buffer holds {} bytes; this content sealed is {total}",
            out.len()
        )));
    }
    let keys = StreamKeys::new(key, chunk_size, &salt)?;
    let cs = keys.chunk_size;
    let chunks = plaintext.len().div_ceil(cs).max(1);
    let (header, body) = out.split_at_mut(HEADER_LEN);
    header.copy_from_slice(&keys.header);
    let mut hasher = hasher();
    hasher.update(&keys.header);
    if chunks == 1 {
        keys.seal_chunk(0, true, plaintext, body)?;
        hasher.update(body);
    } else if parallel {
        // Each thread seals a run of chunks and hashes none: BLAKE3's tree
        // is then hashed on all cores in one pass.
        body.par_chunks_mut(cs + TAG_LEN)
            .zip(plaintext.par_chunks(cs))
            .enumerate()
            .try_for_each(|(i, (slot, plain))| keys.seal_chunk(i, i + 1 == chunks, plain, slot))?;
        hasher.update_rayon(body);
    } else {
        // Hash each sealed chunk while it is still in cache.
        for (i, (slot, plain)) in body
            .chunks_mut(cs + TAG_LEN)
            .zip(plaintext.chunks(cs))
            .enumerate()
        {
            keys.seal_chunk(i, i + 1 == chunks, plain, slot)?;
            hasher.update(slot);
        }
    }
    Ok(keys.digest(&hasher, total))
}

fn open_impl(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    parallel: bool,
) -> Result<Vec<u8>> {
    let len = opened_len(ciphertext, digest)?;
    // Zeroized if opening fails.
    let mut out = Zeroizing::new(vec![0u8; len]);
    open_into_impl(key, ciphertext, digest, &mut out, parallel)?;
    Ok(std::mem::take(&mut *out))
}

/// The chunk size and salt of a stream header, the chunk size in range.
fn parse_header(header: &[u8]) -> Result<(u32, [u8; SALT_LEN])> {
    let mut r = Reader::new(header, Kind::ContentStream)?;
    let chunk_size = r.u32()?;
    let salt = r.array::<SALT_LEN>()?;
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(DecodeError::invalid("content chunk size", "outside 4 KiB ..= 4 MiB").into());
    }
    Ok((chunk_size, salt))
}

/// The plaintext length of the sealed content `ciphertext`, whose length
/// must be `digest`'s and split into whole chunks (else
/// [`Error::DecryptionFailed`]); a malformed header is [`Error::Decode`].
pub fn opened_len(ciphertext: &[u8], digest: &ContentDigest) -> Result<usize> {
    let (chunk_size, _) = parse_header(ciphertext.get(..HEADER_LEN).unwrap_or(ciphertext))?;
    if ciphertext.len() as u64 != digest.ciphertext_len {
        return Err(Error::DecryptionFailed);
    }
    let body = (ciphertext.len() as u64).saturating_sub(HEADER_LEN as u64);
    let (chunks, _) = body_layout(body, chunk_size as usize).ok_or(Error::DecryptionFailed)?;
    usize::try_from(body - chunks * TAG_LEN as u64).map_err(|_| Error::DecryptionFailed)
}

/// Like [`open`], into `out`, a buffer the caller provides of exactly
/// [`opened_len`] bytes (else [`Error::InvalidArgument`]); returns the
/// plaintext's length. Each sealed chunk is hashed while it is still in
/// cache, and opened right after. The checks are those of [`open`]: on any
/// failure, the key commitment, the length, the hash or a chunk's tag, the
/// call returns [`Error::DecryptionFailed`] with `out` zeroed, so no
/// plaintext of a content that does not match `digest` is ever released.
pub fn open_into(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    out: &mut [u8],
) -> Result<usize> {
    open_into_impl(key, ciphertext, digest, out, false)
}

/// Like [`open_into`], using all cores (the hash is checked, on all cores,
/// before anything is decrypted).
pub fn open_into_parallel(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    out: &mut [u8],
) -> Result<usize> {
    open_into_impl(key, ciphertext, digest, out, true)
}

fn open_into_impl(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    out: &mut [u8],
    parallel: bool,
) -> Result<usize> {
    let header = ciphertext.get(..HEADER_LEN).unwrap_or(ciphertext);
    let keys = StreamKeys::for_opening(key, header, digest)?;
    let len = opened_len(ciphertext, digest)?;
    if out.len() != len {
        return Err(Error::InvalidArgument(format!(
            "the output buffer holds {} bytes; this content opened is {len}",
            out.len()
        )));
    }
    let opened = open_body(&keys, ciphertext, digest, out, parallel);
    if opened.is_err() {
        out.fill(0);
    }
    opened.map(|()| len)
}

/// Checks the hash of `ciphertext` against `digest` and opens its chunks
/// into `out` (of their plaintext's length); on failure `out` may hold
/// plaintext, for the caller to zero.
fn open_body(
    keys: &StreamKeys,
    ciphertext: &[u8],
    digest: &ContentDigest,
    out: &mut [u8],
    parallel: bool,
) -> Result<()> {
    let (header, body) = ciphertext
        .split_at_checked(HEADER_LEN)
        .ok_or(Error::DecryptionFailed)?;
    let cs = keys.chunk_size;
    let chunks = body.len().div_ceil(cs + TAG_LEN).max(1);
    let hash_matches = |hasher: &blake3::Hasher| {
        bool::from(hasher.finalize().as_bytes().ct_eq(&digest.ciphertext_hash))
    };
    let mut hasher = hasher();
    hasher.update(header);
    // One chunk (which may be empty: `par_chunks_mut` would then open
    // nothing) is opened whole, on this thread.
    if chunks == 1 {
        hasher.update(body);
        if !hash_matches(&hasher) {
            return Err(Error::DecryptionFailed);
        }
        return keys.open_chunk(0, true, body, out);
    }
    if parallel {
        hasher.update_rayon(body);
        if !hash_matches(&hasher) {
            return Err(Error::DecryptionFailed);
        }
        return out
            .par_chunks_mut(cs)
            .zip(body.par_chunks(cs + TAG_LEN))
            .enumerate()
            .try_for_each(|(i, (plain, sealed))| {
                keys.open_chunk(i, i + 1 == chunks, sealed, plain)
            });
    }
    for (i, (plain, sealed)) in out
        .chunks_mut(cs)
        .zip(body.chunks(cs + TAG_LEN))
        .enumerate()
    {
        hasher.update(sealed);
        keys.open_chunk(i, i + 1 == chunks, sealed, plain)?;
    }
    if hash_matches(&hasher) {
        Ok(())
    } else {
        Err(Error::DecryptionFailed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests;
