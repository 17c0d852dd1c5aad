use super::*;
use aead_stream::StreamPrimitive;
use std::io::{Read, Write};

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

/// A reader that hands out at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn batches_of_the_pipelined_adapters_agree_with_one_shot_sealing() {
    let batch = writer::BATCH_BYTES;
    let data: Vec<u8> = (0..3 * batch + 9000).map(|i| (i % 253) as u8).collect();
    for cs in [4096usize, 64 << 10] {
        for len in [
            0,
            1,
            cs,
            batch - cs,
            batch - 1,
            batch,
            batch + 1,
            2 * batch - cs,
            2 * batch,
            2 * batch + cs,
            data.len(),
        ] {
            let plain = &data[..len];
            let want = seal_with_salt(&key(), plain, cs as u32, [5; 16], true).unwrap();
            // Pushed through `Write`, in odd pieces.
            let mut w = ContentWriter::with_salt(&key(), Vec::new(), cs as u32, [5; 16]).unwrap();
            for piece in plain.chunks(100_003) {
                w.write_all(piece).unwrap();
            }
            assert_eq!(
                w.finish().unwrap(),
                (want.ciphertext.clone(), want.digest.clone())
            );
            // Pulled from a reader with short reads, after a first write.
            let mut w = ContentWriter::with_salt(&key(), Vec::new(), cs as u32, [5; 16]).unwrap();
            let split = len.min(7);
            w.write_all(&plain[..split]).unwrap();
            let mut source = Trickle {
                data: &plain[split..],
                step: 300_007,
            };
            assert_eq!(w.write_from(&mut source).unwrap(), (len - split) as u64);
            assert_eq!(
                w.finish().unwrap(),
                (want.ciphertext.clone(), want.digest.clone())
            );
            // Opened through `Read` in small pieces, and through `copy_to`.
            let mut r = ContentReader::new(&key(), &want.ciphertext[..], &want.digest).unwrap();
            let mut out = Vec::new();
            let mut piece = [0u8; 70_001];
            loop {
                let n = r.read(&mut piece).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&piece[..n]);
            }
            assert_eq!(out, plain, "read, chunk size {cs}, length {len}");
            let mut r = ContentReader::new(&key(), &want.ciphertext[..], &want.digest).unwrap();
            let mut head = [0u8; 10];
            let n = r.read(&mut head).unwrap();
            let mut out = head[..n].to_vec();
            assert_eq!(r.copy_to(&mut out).unwrap(), (len - n) as u64);
            assert_eq!(out, plain, "copy_to, chunk size {cs}, length {len}");
            // Written in one call and read into one buffer of the whole
            // length: whole batches go straight between the caller's bytes
            // and the stream, uncopied.
            let mut w = ContentWriter::with_salt(&key(), Vec::new(), cs as u32, [5; 16]).unwrap();
            w.write_all(plain).unwrap();
            assert_eq!(
                w.finish().unwrap(),
                (want.ciphertext.clone(), want.digest.clone())
            );
            let mut r = ContentReader::new(&key(), &want.ciphertext[..], &want.digest).unwrap();
            let mut out = vec![0u8; len];
            r.read_exact(&mut out).unwrap();
            assert_eq!(r.read(&mut [0u8; 1]).unwrap(), 0);
            assert_eq!(out, plain, "read whole, chunk size {cs}, length {len}");
        }
    }
}

#[test]
fn on_one_thread_the_adapters_agree_with_one_shot_sealing_too() {
    // A pool of one thread uses smaller batches.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let batch = writer::BATCH_BYTES_ONE_THREAD;
    let data: Vec<u8> = (0..3 * batch + 9000).map(|i| (i % 253) as u8).collect();
    one.install(|| {
        for len in [
            0,
            1,
            batch - 1,
            batch,
            batch + 1,
            2 * batch + 4096,
            data.len(),
        ] {
            let plain = &data[..len];
            let want = seal_with_salt(&key(), plain, 4096, [5; 16], false).unwrap();
            for piece in [plain.len().max(1), 100_003, 4097] {
                let mut w = ContentWriter::with_salt(&key(), Vec::new(), 4096, [5; 16]).unwrap();
                for part in plain.chunks(piece) {
                    w.write_all(part).unwrap();
                }
                assert_eq!(
                    w.finish().unwrap(),
                    (want.ciphertext.clone(), want.digest.clone()),
                    "length {len}, pieces of {piece}"
                );
            }
            for piece in [len.max(1), 70_001] {
                let mut r = ContentReader::new(&key(), &want.ciphertext[..], &want.digest).unwrap();
                let mut out = Vec::new();
                let mut buf = vec![0u8; piece];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                assert_eq!(out, plain, "length {len}, reads of {piece}");
            }
        }
    });
}

#[test]
fn the_pipelined_reader_refuses_a_change_in_any_batch() {
    let batch = writer::BATCH_BYTES;
    let data: Vec<u8> = (0..2 * batch + 5).map(|i| (i % 251) as u8).collect();
    let sealed = seal(&key(), &data, 4096).unwrap();
    let n = sealed.ciphertext.len();
    for at in [HEADER_LEN + 1, batch, batch + 4096 * 3, n - 2] {
        let mut bad = sealed.ciphertext.clone();
        bad[at] ^= 1;
        let mut r = ContentReader::new(&key(), &bad[..], &sealed.digest).unwrap();
        let mut out = Vec::new();
        let err = r.copy_to(&mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "at {at}");
        assert!(out.len() < data.len(), "the final chunk is never released");
        // Every later call fails.
        assert!(r.read(&mut [0u8; 10]).is_err());
    }
    // Read straight into one buffer of the whole length.
    for at in [HEADER_LEN + 1, batch + 4096 * 3, n - 2] {
        let mut bad = sealed.ciphertext.clone();
        bad[at] ^= 1;
        let mut r = ContentReader::new(&key(), &bad[..], &sealed.digest).unwrap();
        let mut out = vec![0u8; data.len()];
        let err = r.read_exact(&mut out).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "at {at}");
        let tail = &out[2 * batch..];
        assert!(
            tail.iter().all(|&b| b == 0),
            "the final chunk is never released"
        );
    }
    // Truncated at a batch boundary, and extended.
    for bad in [
        sealed.ciphertext[..HEADER_LEN + batch / 4096 * (4096 + TAG_LEN)].to_vec(),
        [&sealed.ciphertext[..], b"x"].concat(),
    ] {
        let mut r = ContentReader::new(&key(), &bad[..], &sealed.digest).unwrap();
        assert!(r.copy_to(&mut Vec::new()).is_err());
    }
}

#[test]
fn the_ciphertext_hash_in_pieces_is_the_hash_of_the_whole() {
    let blob: Vec<u8> = (0..(3u32 << 20) + 17).map(|i| (i * 31) as u8).collect();
    let whole = ciphertext_hash(&blob);
    for piece in [1, 1000, 64 << 10, 1 << 20] {
        let mut h = CiphertextHasher::new();
        for chunk in blob.chunks(piece) {
            h.update(chunk);
        }
        assert_eq!(h.finalize(), whole, "pieces of {piece}");
    }
    assert_ne!(CiphertextHasher::new().finalize(), whole);
    assert_eq!(CiphertextHasher::new().finalize(), ciphertext_hash(b""));
}

#[test]
fn sealing_into_a_buffer_agrees_with_seal_and_opening_into_one_with_open() {
    let data: Vec<u8> = (0..5 * 4096 + 17).map(|i| (i % 251) as u8).collect();
    for len in [0, 1, 4096, 4097, data.len()] {
        let plain = &data[..len];
        let want = seal_with_salt(&key(), plain, 4096, [3; 16], false).unwrap();
        assert_eq!(
            sealed_len(len as u64, 4096).unwrap(),
            want.ciphertext.len() as u64
        );
        for parallel in [false, true] {
            let mut out = vec![0xaa; want.ciphertext.len()];
            let digest =
                seal_into_with_salt(&key(), plain, 4096, [3; 16], &mut out, parallel).unwrap();
            assert_eq!(
                (&out, &digest),
                (&want.ciphertext, &want.digest),
                "len {len}"
            );
            assert_eq!(opened_len(&out, &digest).unwrap(), len);
            let mut opened = vec![0xaa; len];
            let n = if parallel {
                open_into_parallel(&key(), &out, &digest, &mut opened).unwrap()
            } else {
                open_into(&key(), &out, &digest, &mut opened).unwrap()
            };
            assert_eq!((n, opened.as_slice()), (len, plain));
        }
    }
}

#[test]
fn a_buffer_of_the_wrong_size_is_refused_and_left_untouched() {
    let plain = vec![9u8; 3 * 4096];
    let sealed = seal(&key(), &plain, 4096).unwrap();
    let len = sealed.ciphertext.len();
    for wrong in [0, len - 1, len + 1] {
        let mut out = vec![0xaa; wrong];
        let err = seal_into(&key(), &plain, 4096, &mut out).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(out.iter().all(|&b| b == 0xaa));
    }
    for wrong in [0, plain.len() - 1, plain.len() + 1] {
        let mut out = vec![0xaa; wrong];
        let err = open_into(&key(), &sealed.ciphertext, &sealed.digest, &mut out).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(out.iter().all(|&b| b == 0xaa));
    }
}

#[test]
fn opening_into_a_buffer_a_content_its_digest_does_not_name_leaves_no_plaintext_there() {
    // Chunks are opened as they are hashed, so when the hash (or the last
    // chunk) fails at the end, the chunks before it were decrypted into the
    // caller's buffer: they must be gone when the error returns.
    let plain: Vec<u8> = (0..4 * 4096).map(|i| (i % 251) as u8 | 1).collect();
    let sealed = seal(&key(), &plain, 4096).unwrap();
    let mut last_chunk_altered = sealed.ciphertext.clone();
    *last_chunk_altered.last_mut().unwrap() ^= 1;
    let mut other_hash = sealed.digest.clone();
    other_hash.ciphertext_hash[0] ^= 1;
    for (ciphertext, digest) in [
        (&last_chunk_altered, &sealed.digest),
        // Every chunk is authentic; only the hash the header signed differs.
        (&sealed.ciphertext, &other_hash),
    ] {
        for parallel in [false, true] {
            let mut out = vec![0xaa; plain.len()];
            let err = if parallel {
                open_into_parallel(&key(), ciphertext, digest, &mut out)
            } else {
                open_into(&key(), ciphertext, digest, &mut out)
            }
            .unwrap_err();
            assert!(matches!(err, Error::DecryptionFailed), "{err}");
            assert!(out.iter().all(|&b| b == 0), "plaintext left behind");
        }
    }
}
