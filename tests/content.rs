//! Sealed content as a user relies on it: round trips through the buffer API, the
//! parallel API and the streaming adapters, agreement with an independent
//! implementation of the format in SPEC.md, and refusal of every truncated,
//! reordered, duplicated, extended, altered or mismatched stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{self, Read, Write};

use proptest::prelude::*;
use sealshare::internal::crypto::Error;
use sealshare::internal::crypto::aead::chacha_seal;
use sealshare::internal::crypto::kdf;
use sealshare::internal::crypto::stream::{
    ContentDigest, ContentKey, ContentReader, ContentWriter, DEFAULT_CHUNK_SIZE, HEADER_LEN,
    MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, SealedContent, TAG_LEN, open, open_parallel, seal,
    seal_parallel,
};

const CS: u32 = 4096;
const CSU: usize = CS as usize;
const SEALED: usize = CSU + TAG_LEN;
const KEY: [u8; 32] = [0x42; 32];

fn key() -> ContentKey {
    ContentKey::from_bytes(KEY)
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(seed)
                .rotate_left(i as u32 % 7)
        })
        .collect()
}

fn salt_of(ciphertext: &[u8]) -> [u8; 16] {
    ciphertext[6..22].try_into().unwrap()
}

fn hash(ciphertext: &[u8]) -> [u8; 32] {
    *blake3::Hasher::new_derive_key("sealshare v1 content ciphertext hash")
        .update(ciphertext)
        .finalize()
        .as_bytes()
}

/// Builds a stream from the SPEC alone, with the chunk pieces and final flags given.
fn build(
    key: &[u8; 32],
    cs: u32,
    salt: [u8; 16],
    pieces: &[&[u8]],
    flags: &[bool],
) -> SealedContent {
    let mut header = vec![1u8, 4];
    header.extend_from_slice(&cs.to_be_bytes());
    header.extend_from_slice(&salt);
    assert_eq!(header.len(), HEADER_LEN);
    let stream_key = kdf::derive_key(key, &salt, "content/stream-key", &header).unwrap();
    let commitment = kdf::derive_key(key, &salt, "content/key-commitment", &header).unwrap();
    let mut ciphertext = header.clone();
    for (i, (piece, last)) in pieces.iter().zip(flags).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[7..11].copy_from_slice(&(i as u32).to_be_bytes());
        nonce[11] = u8::from(*last);
        ciphertext.extend(chacha_seal(&stream_key, &nonce, piece, &header).unwrap());
    }
    let digest = ContentDigest {
        ciphertext_hash: hash(&ciphertext),
        key_commitment: *commitment.expose(),
        ciphertext_len: ciphertext.len() as u64,
    };
    SealedContent { ciphertext, digest }
}

/// The format of SPEC.md §Content stream, implemented independently of the crate.
fn reference(key: &[u8; 32], plain: &[u8], cs: u32, salt: [u8; 16]) -> SealedContent {
    let pieces: Vec<&[u8]> = if plain.is_empty() {
        vec![plain]
    } else {
        plain.chunks(cs as usize).collect()
    };
    let flags: Vec<bool> = (0..pieces.len()).map(|i| i + 1 == pieces.len()).collect();
    build(key, cs, salt, &pieces, &flags)
}

/// The digest an attacker who also rewrote the signed hash and length would present:
/// refusal must then come from the STREAM layer itself.
fn forged(ciphertext: &[u8], digest: &ContentDigest) -> ContentDigest {
    ContentDigest {
        ciphertext_hash: hash(ciphertext),
        ciphertext_len: ciphertext.len() as u64,
        ..digest.clone()
    }
}

/// Hands out at most `max` bytes per call, to exercise short reads.
struct Trickle<'a> {
    data: &'a [u8],
    max: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(out.len()).min(self.max);
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn read_all(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
    piece: usize,
) -> Result<Vec<u8>, Error> {
    let mut reader = ContentReader::new(
        key,
        Trickle {
            data: ciphertext,
            max: piece.max(7),
        },
        digest,
    )?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; piece];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
                let inner = e
                    .into_inner()
                    .expect("wrapped error")
                    .downcast::<Error>()
                    .expect("an Error");
                return Err(*inner);
            }
        }
    }
}

fn write_all(key: &ContentKey, plain: &[u8], cs: u32, piece: usize) -> (Vec<u8>, ContentDigest) {
    let mut writer = ContentWriter::new(key, Vec::new(), cs).unwrap();
    for part in plain.chunks(piece.max(1)) {
        writer.write_all(part).unwrap();
    }
    writer.finish().unwrap()
}

/// Opens with all three ways in; all must agree.
fn open_3(
    key: &ContentKey,
    ciphertext: &[u8],
    digest: &ContentDigest,
) -> [Result<Vec<u8>, Error>; 3] {
    [
        open(key, ciphertext, digest),
        open_parallel(key, ciphertext, digest),
        read_all(key, ciphertext, digest, 1000),
    ]
}

#[track_caller]
fn assert_refused(key: &ContentKey, ciphertext: &[u8], digest: &ContentDigest, what: &str) {
    for (way, r) in ["open", "open_parallel", "reader"]
        .iter()
        .zip(open_3(key, ciphertext, digest))
    {
        assert!(
            matches!(r, Err(Error::DecryptionFailed)),
            "{what}: {way} gave {r:?}"
        );
    }
}

/// Refused with the signed digest and with a digest rewritten to match.
#[track_caller]
fn assert_tamper_refused(ciphertext: &[u8], digest: &ContentDigest, what: &str) {
    assert_refused(&key(), ciphertext, digest, what);
    assert_refused(
        &key(),
        ciphertext,
        &forged(ciphertext, digest),
        &format!("{what} (forged digest)"),
    );
}

fn check_round_trip(plain: &[u8], write_piece: usize, read_piece: usize) {
    let k = key();
    for sealed in [
        seal(&k, plain, CS).unwrap(),
        seal_parallel(&k, plain, CS).unwrap(),
    ] {
        assert_eq!(
            sealed,
            reference(&KEY, plain, CS, salt_of(&sealed.ciphertext))
        );
        for r in open_3(&k, &sealed.ciphertext, &sealed.digest) {
            assert_eq!(r.unwrap(), plain);
        }
        assert_eq!(
            read_all(&k, &sealed.ciphertext, &sealed.digest, read_piece).unwrap(),
            plain
        );
    }
    let (ciphertext, digest) = write_all(&k, plain, CS, write_piece);
    let expected = reference(&KEY, plain, CS, salt_of(&ciphertext));
    assert_eq!(ciphertext, expected.ciphertext);
    assert_eq!(digest, expected.digest);
    assert_eq!(open(&k, &ciphertext, &digest).unwrap(), plain);
}

#[test]
fn round_trips_at_chunk_boundaries() {
    for len in [
        0,
        1,
        CSU - 1,
        CSU,
        CSU + 1,
        2 * CSU - 1,
        2 * CSU,
        2 * CSU + 1,
        3 * CSU,
    ] {
        check_round_trip(&data(len, 1), 1000, 333);
        check_round_trip(&data(len, 2), CSU, CSU);
        check_round_trip(&data(len, 3), 5 * CSU, 1);
    }
}

#[test]
fn sizes_and_chunk_sizes() {
    let k = key();
    for (len, cs) in [
        (300_000, DEFAULT_CHUNK_SIZE),
        (5 << 20, MAX_CHUNK_SIZE),
        (10_000, MIN_CHUNK_SIZE + 1),
    ] {
        let plain = data(len, 9);
        let sealed = seal(&k, &plain, cs).unwrap();
        let n = len.div_ceil(cs as usize);
        assert_eq!(sealed.ciphertext.len(), HEADER_LEN + len + n * TAG_LEN);
        assert_eq!(sealed.digest.ciphertext_len, sealed.ciphertext.len() as u64);
        assert_eq!(
            &sealed.ciphertext[..6],
            &[&[1u8, 4][..], &cs.to_be_bytes()].concat()[..]
        );
        assert_eq!(
            sealed,
            reference(&KEY, &plain, cs, salt_of(&sealed.ciphertext))
        );
        for r in open_3(&k, &sealed.ciphertext, &sealed.digest) {
            assert_eq!(r.unwrap(), plain);
        }
        let (ciphertext, digest) = write_all(&k, &plain, cs, 100_000);
        assert_eq!(read_all(&k, &ciphertext, &digest, 65_536).unwrap(), plain);
    }
    for cs in [0, MIN_CHUNK_SIZE - 1, MAX_CHUNK_SIZE + 1, u32::MAX] {
        assert!(matches!(seal(&k, b"x", cs), Err(Error::InvalidArgument(_))));
        assert!(matches!(
            seal_parallel(&k, b"x", cs),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            ContentWriter::new(&k, Vec::new(), cs),
            Err(Error::InvalidArgument(_))
        ));
    }
    // Fresh salt every time: the same content never seals to the same bytes.
    assert_ne!(
        seal(&k, b"same", CS).unwrap(),
        seal(&k, b"same", CS).unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn round_trips(
        len in prop_oneof![
            Just(0usize), Just(CSU - 1), Just(CSU), Just(CSU + 1),
            Just(2 * CSU - 1), Just(2 * CSU), Just(2 * CSU + 1), 0..5 * CSU,
        ],
        seed in any::<u8>(),
        write_piece in 1usize..10_000,
        read_piece in 1usize..10_000,
    ) {
        check_round_trip(&data(len, seed), write_piece, read_piece);
    }
}

/// A content of four chunks (the last one partial), cut into its sealed chunks.
fn four_chunks() -> (SealedContent, Vec<Vec<u8>>) {
    let sealed = seal(&key(), &data(3 * CSU + 100, 5), CS).unwrap();
    let chunks = sealed.ciphertext[HEADER_LEN..]
        .chunks(SEALED)
        .map(<[u8]>::to_vec)
        .collect::<Vec<_>>();
    assert_eq!(chunks.len(), 4);
    (sealed, chunks)
}

fn assemble(header: &[u8], chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = header.to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn truncation_is_refused() {
    let (sealed, c) = four_chunks();
    let ct = &sealed.ciphertext;
    let d = &sealed.digest;
    let header = &ct[..HEADER_LEN];
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[2]]),
        d,
        "last chunk dropped",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0]]),
        d,
        "all but the first chunk dropped",
    );
    assert_tamper_refused(header, d, "header only");
    for cut in [
        1,
        15,
        16,
        17,
        SEALED - 1,
        SEALED + 16,
        ct.len() - HEADER_LEN - 1,
    ] {
        assert_tamper_refused(&ct[..HEADER_LEN + cut], d, &format!("cut at {cut}"));
    }
    // Cut inside the header: a decoding error, never a panic.
    for cut in 0..HEADER_LEN {
        for r in open_3(&key(), &ct[..cut], d) {
            assert!(matches!(r, Err(Error::Decode(_))), "cut at {cut}: {r:?}");
        }
    }
}

#[test]
fn reordering_duplication_and_extension_are_refused() {
    let (sealed, c) = four_chunks();
    let d = &sealed.digest;
    let header = &sealed.ciphertext[..HEADER_LEN];
    assert_tamper_refused(
        &assemble(header, &[&c[1], &c[0], &c[2], &c[3]]),
        d,
        "chunks 0 and 1 swapped",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[2], &c[1], &c[3]]),
        d,
        "chunks 1 and 2 swapped",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[1], &c[3]]),
        d,
        "chunk 1 in place of 2",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[1], &c[2], &c[3]]),
        d,
        "chunk 1 duplicated",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[2], &c[3], &c[0]]),
        d,
        "extra chunk",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[2], &c[3], &[0]]),
        d,
        "one trailing byte",
    );
    assert_tamper_refused(
        &assemble(header, &[&c[0], &c[1], &c[2], &c[3], &[0; 16]]),
        d,
        "trailing tag",
    );
    // An extra final chunk sealed properly under the same stream key.
    let plain = data(3 * CSU + 100, 5);
    let salt = salt_of(&sealed.ciphertext);
    let mut pieces: Vec<&[u8]> = plain.chunks(CSU).collect();
    pieces.push(b"more");
    let longer = build(&KEY, CS, salt, &pieces, &[false, false, false, false, true]);
    assert_tamper_refused(&longer.ciphertext, d, "valid extra chunk");
}

#[test]
fn misplaced_final_flags_are_refused() {
    let plain = data(2 * CSU + 10, 6);
    let salt = [9u8; 16];
    let pieces: Vec<&[u8]> = plain.chunks(CSU).collect();
    let good = build(&KEY, CS, salt, &pieces, &[false, false, true]);
    assert_eq!(open(&key(), &good.ciphertext, &good.digest).unwrap(), plain);
    for flags in [
        [true, false, true],
        [false, true, true],
        [false, false, false],
        [true, true, true],
    ] {
        let bad = build(&KEY, CS, salt, &pieces, &flags);
        assert_refused(
            &key(),
            &bad.ciphertext,
            &bad.digest,
            &format!("flags {flags:?}"),
        );
    }
    // Truncation after a chunk that carries the final flag: the stream ends where it
    // says, but the chunk count no longer matches.
    let early = build(&KEY, CS, salt, &pieces[..2], &[false, true]);
    assert_eq!(
        open(&key(), &early.ciphertext, &early.digest).unwrap(),
        &plain[..2 * CSU]
    );
    // A non-canonical empty final chunk after data is refused even when authentic.
    let full = &plain[..2 * CSU];
    let padded = build(
        &KEY,
        CS,
        salt,
        &[&full[..CSU], &full[CSU..], b""],
        &[false, false, true],
    );
    assert_refused(
        &key(),
        &padded.ciphertext,
        &padded.digest,
        "empty final chunk after data",
    );
    // A short chunk before the final one.
    let short = build(
        &KEY,
        CS,
        salt,
        &[&plain[..100], &plain[100..200]],
        &[false, true],
    );
    assert_refused(
        &key(),
        &short.ciphertext,
        &short.digest,
        "short non-final chunk",
    );
}

#[test]
fn every_bit_flip_is_refused() {
    let sealed = seal(&key(), &data(100, 8), CS).unwrap();
    let ct = &sealed.ciphertext;
    for i in 0..ct.len() {
        for bit in 0..8 {
            let mut bad = ct.clone();
            bad[i] ^= 1 << bit;
            for digest in [sealed.digest.clone(), forged(&bad, &sealed.digest)] {
                for (way, r) in
                    ["open", "open_parallel", "reader"]
                        .iter()
                        .zip(open_3(&key(), &bad, &digest))
                {
                    let ok = match r {
                        Err(Error::DecryptionFailed) => true,
                        // Version, kind and an out-of-range chunk size are malformed headers.
                        Err(Error::Decode(_)) => i < 6,
                        _ => false,
                    };
                    assert!(ok, "flip at byte {i} bit {bit}: {way} gave {r:?}");
                }
            }
        }
    }
    // The digest's own bits: each one refused.
    let d = &sealed.digest;
    for i in 0..32 {
        for bit in 0..8 {
            let mut a = d.clone();
            a.ciphertext_hash[i] ^= 1 << bit;
            assert_refused(&key(), ct, &a, "hash flip");
            let mut b = d.clone();
            b.key_commitment[i] ^= 1 << bit;
            assert_refused(&key(), ct, &b, "commitment flip");
        }
    }
    for len in [
        0,
        d.ciphertext_len - 1,
        d.ciphertext_len + 1,
        d.ciphertext_len + SEALED as u64,
        u64::MAX,
    ] {
        assert_refused(
            &key(),
            ct,
            &ContentDigest {
                ciphertext_len: len,
                ..d.clone()
            },
            "length changed",
        );
    }
}

#[test]
fn wrong_key_and_mismatched_digests_are_refused() {
    let a = seal(&key(), &data(2 * CSU + 1, 1), CS).unwrap();
    let b = seal(&key(), &data(2 * CSU + 1, 2), CS).unwrap();
    let other_key = ContentKey::from_bytes([0x43; 32]);
    assert_refused(&other_key, &a.ciphertext, &a.digest, "wrong key");
    assert_refused(
        &ContentKey::random().unwrap(),
        &a.ciphertext,
        &a.digest,
        "random key",
    );
    assert_refused(
        &key(),
        &a.ciphertext,
        &b.digest,
        "digest of another content",
    );
    assert_refused(
        &key(),
        &b.ciphertext,
        &a.digest,
        "ciphertext of another content",
    );
    // The other content's ciphertext with a digest rewritten around it keeps a's key
    // commitment, which binds a's salt: refused.
    assert_refused(
        &key(),
        &b.ciphertext,
        &forged(&b.ciphertext, &a.digest),
        "swapped, forged hash",
    );
    // Only the key commitment can refuse these: the streaming reader checks the
    // key when it is created, from the header alone, before it reads any chunk,
    // so no Poly1305 tag is evaluated and the hash of the whole stream is not yet
    // known. A wrong key must be refused right there, with the header alone and
    // with the whole stream behind it.
    for (name, k) in [
        ("wrong key", &other_key),
        ("random key", &ContentKey::random().unwrap()),
    ] {
        for (shown, ct) in [
            ("header only", &a.ciphertext[..HEADER_LEN]),
            ("whole stream", &a.ciphertext[..]),
        ] {
            let r = ContentReader::new(k, ct, &a.digest);
            assert!(
                matches!(r, Err(Error::DecryptionFailed)),
                "{name}, {shown}: {:?}",
                r.err()
            );
        }
    }
    // The right key with the header alone is accepted at that point (the reader
    // fails later, when the chunks are missing): the refusal above is the key's.
    let mut reader = ContentReader::new(&key(), &a.ciphertext[..HEADER_LEN], &a.digest).unwrap();
    assert!(reader.read(&mut [0u8; 16]).is_err());
    // The same plaintext sealed under another key, with its own valid digest.
    let c = seal(&other_key, &data(2 * CSU + 1, 1), CS).unwrap();
    assert_refused(&key(), &c.ciphertext, &c.digest, "sealed under another key");
    // Splicing chunks of two streams under the same key.
    let spliced = [
        &a.ciphertext[..HEADER_LEN + SEALED],
        &b.ciphertext[HEADER_LEN + SEALED..],
    ]
    .concat();
    assert_tamper_refused(&spliced, &a.digest, "chunks of two contents spliced");
}

#[test]
fn adapters_handle_io_edge_cases() {
    let k = key();
    let plain = data(3 * CSU, 4);
    // Header errors surface from the reader's constructor.
    let sealed = seal(&k, &plain, CS).unwrap();
    let short = ContentReader::new(&k, &sealed.ciphertext[..10], &sealed.digest);
    assert!(matches!(short, Err(Error::Decode(_))));
    let wrong = ContentReader::new(
        &ContentKey::from_bytes([1; 32]),
        &sealed.ciphertext[..],
        &sealed.digest,
    );
    assert!(matches!(wrong, Err(Error::DecryptionFailed)));
    // After a refusal, every later read fails too.
    let mut bad = sealed.ciphertext.clone();
    bad[HEADER_LEN + 5] ^= 1;
    let mut reader = ContentReader::new(&k, &bad[..], &sealed.digest).unwrap();
    let mut buf = [0u8; 64];
    assert!(reader.read(&mut buf).is_err());
    assert!(reader.read(&mut buf).is_err());
    // Reading past the end keeps returning 0.
    let mut reader = ContentReader::new(&k, &sealed.ciphertext[..], &sealed.digest).unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!(out, plain);
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
    // A failing sink: the error comes back and the writer refuses to continue.
    struct Full(usize);
    impl Write for Full {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "full"));
            }
            let n = b.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    // Chunks are sealed in batches, so the error may come from a later write or
    // from `finish`; once it came, the writer refuses to continue.
    let mut writer = ContentWriter::new(&k, Full(HEADER_LEN + 100), CS).unwrap();
    match writer.write_all(&plain) {
        Err(err) => {
            assert_eq!(err.kind(), io::ErrorKind::StorageFull);
            assert!(writer.write(b"x").is_err());
            assert!(writer.finish().is_err());
        }
        Ok(()) => match writer.finish() {
            Err(Error::Io(err)) => assert_eq!(err.kind(), io::ErrorKind::StorageFull),
            other => panic!("a full sink must fail the writer: {:?}", other.err()),
        },
    }
    // Enough for the writer to write batches before `finish` (about 2 MiB each).
    let big = vec![5u8; 5 << 20];
    let mut writer = ContentWriter::new(&k, Full(HEADER_LEN + 100), CS).unwrap();
    let err = writer.write_all(&big).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert!(writer.write(b"x").is_err());
    assert!(writer.finish().is_err());
    // A writer that never receives data seals the empty content.
    let (ct, digest) = ContentWriter::new(&k, Vec::new(), CS)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(ct.len(), HEADER_LEN + TAG_LEN);
    assert_eq!(open(&k, &ct, &digest).unwrap(), b"");
}
