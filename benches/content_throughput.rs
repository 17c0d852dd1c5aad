//! Throughput of sealed content on one large in-memory buffer, each figure
//! measured against a bare ChaCha20-Poly1305 pass (AWS-LC, which the content
//! stream uses) over a buffer of the same size, in the same run and in
//! alternation (bare, measured, bare, measured, ...: a machine whose speed
//! drifts moves both alike):
//!
//! - `seal_into` and `open_into` into buffers the caller provides, and the
//!   `ContentWriter` and `ContentReader` adapters from and into them, on one
//!   thread and on all cores;
//! - `seal` and `open`, which allocate their output, for comparison;
//! - the fused limit: a pass that both encrypts and hashes every byte takes
//!   the bare AEAD's time plus BLAKE3's, so it reaches at most
//!   `bare / (bare + hash)` of the bare pass's speed.
//!
//! Run: `cargo bench --bench content_throughput`
//! (buffer size in MiB: `SEALSHARE_BENCH_MIB`, default 1024; repetitions, best
//! kept: `SEALSHARE_BENCH_REPS`, default 5). MB/s are 10^6 bytes of plaintext per
//! second.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Instant;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use sealshare::internal::crypto::stream::{
    ContentDigest, ContentKey, ContentReader, ContentWriter, DEFAULT_CHUNK_SIZE, open, open_into,
    open_into_parallel, open_parallel, seal, seal_into, seal_into_parallel, seal_parallel,
    sealed_len,
};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bare AWS-LC pass every figure is set against, and how often to run.
struct Bare {
    buf: Vec<u8>,
    key: LessSafeKey,
    reps: usize,
}

impl Bare {
    /// One bare pass: in place, 64 KiB pieces, no hashing, no allocation.
    fn pass(&mut self) -> BoxResult<f64> {
        let started = Instant::now();
        for (i, piece) in self.buf.chunks_mut(64 << 10).enumerate() {
            let tag = self
                .key
                .seal_in_place_separate_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(piece_nonce(i)),
                    Aad::empty(),
                    piece,
                )
                .map_err(|_| "bare encryption failed")?;
            let _ = black_box(tag);
        }
        Ok(started.elapsed().as_secs_f64())
    }

    /// Runs `f` and a bare pass in alternation; the best time of each, in
    /// seconds, and `f`'s last output.
    fn paired<T>(&mut self, mut f: impl FnMut() -> BoxResult<T>) -> BoxResult<Paired<T>> {
        let (mut bare, mut secs, mut out) = (f64::INFINITY, f64::INFINITY, None);
        for _ in 0..self.reps.max(1) {
            bare = bare.min(self.pass()?);
            drop(out.take());
            let started = Instant::now();
            let v = f()?;
            secs = secs.min(started.elapsed().as_secs_f64());
            out = Some(black_box(v));
        }
        Ok(Paired {
            bare,
            secs,
            out: out.ok_or("no repetition ran")?,
        })
    }
}

struct Paired<T> {
    bare: f64,
    secs: f64,
    out: T,
}

impl<T> Paired<T> {
    fn line(&self, name: &'static str) -> Line {
        Line {
            name,
            bare: self.bare,
            secs: self.secs,
        }
    }
}

/// One line of the report.
struct Line {
    name: &'static str,
    bare: f64,
    secs: f64,
}

fn main() -> BoxResult<()> {
    let mib = env_usize("SEALSHARE_BENCH_MIB", 1024);
    let reps = env_usize("SEALSHARE_BENCH_REPS", 5);
    let len = mib << 20;
    let mut plain = vec![0u8; len];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for word in plain.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(x.to_le_bytes().get(..word.len()).ok_or("pattern")?);
    }
    let key = ContentKey::random()?;
    let cs = DEFAULT_CHUNK_SIZE;
    let mb = len as f64 / 1e6;
    println!(
        "content throughput: {mib} MiB buffer, {} KiB chunks, {} threads, best of {reps}, \
         each beside a bare AWS-LC pass",
        cs / 1024,
        rayon::current_num_threads()
    );
    let mut bare = Bare {
        buf: plain.clone(),
        key: LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).map_err(|_| "key")?),
        reps,
    };
    let mut lines = Vec::new();

    // The floors: the pure-Rust AEAD, the hash, and faulting in a buffer.
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut rc_buf = plain.clone();
    let rc = bare.paired(|| {
        for (i, piece) in rc_buf.chunks_mut(64 << 10).enumerate() {
            let tag = cipher
                .encrypt_inout_detached(&Nonce::from(piece_nonce(i)), b"", piece.into())
                .map_err(|_| "bare encryption failed")?;
            black_box(tag);
        }
        Ok(())
    })?;
    drop(rc_buf);
    lines.push(rc.line("bare ChaCha20-Poly1305 (RustCrypto)"));
    let hash = bare.paired(|| {
        Ok(*blake3::Hasher::new_derive_key("bench")
            .update(&plain)
            .finalize()
            .as_bytes())
    })?;
    lines.push(hash.line("BLAKE3 hash alone"));
    let fault = bare.paired(|| {
        let mut v = vec![0u8; len];
        for page in v.chunks_mut(4096) {
            if let Some(b) = page.first_mut() {
                *b = 1;
            }
        }
        Ok(v)
    })?;
    lines.push(fault.line("allocate and fault in a buffer"));

    // Into buffers the caller provides (allocated and faulted in once).
    let mut sealed_buf = vec![1u8; usize::try_from(sealed_len(len as u64, cs)?)?];
    let mut opened_buf = vec![1u8; len];
    let check = |opened: &[u8], what: &str| -> BoxResult<()> {
        if opened == plain {
            Ok(())
        } else {
            Err(format!("{what} returned other bytes").into())
        }
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    for parallel in [false, true] {
        let s = bare.paired(|| {
            Ok(if parallel {
                seal_into_parallel(&key, &plain, cs, &mut sealed_buf)?
            } else {
                seal_into(&key, &plain, cs, &mut sealed_buf)?
            })
        })?;
        let digest = s.out.clone();
        let o = bare.paired(|| {
            Ok(if parallel {
                open_into_parallel(&key, &sealed_buf, &digest, &mut opened_buf)?
            } else {
                open_into(&key, &sealed_buf, &digest, &mut opened_buf)?
            })
        })?;
        check(&opened_buf, "open_into")?;
        opened_buf.fill(1);
        // Through the Write and Read adapters, from and into those buffers;
        // on one thread, inside a pool of one.
        let through = |bare: &mut Bare, sealed_buf: &mut [u8], opened_buf: &mut [u8]| {
            let w = bare.paired(|| {
                let mut writer = ContentWriter::new(&key, &mut *sealed_buf, cs)?;
                writer.write_all(&plain)?;
                Ok(writer.finish()?.1)
            })?;
            let digest: ContentDigest = w.out.clone();
            let r = bare.paired(|| {
                let mut reader = ContentReader::new(&key, &*sealed_buf, &digest)?;
                reader.read_exact(opened_buf)?;
                Ok(())
            })?;
            BoxResult::Ok((w, r))
        };
        let (w, r) = if parallel {
            through(&mut bare, &mut sealed_buf, &mut opened_buf)?
        } else {
            one.install(|| through(&mut bare, &mut sealed_buf, &mut opened_buf))?
        };
        check(&opened_buf, "the reader")?;
        let names: [&'static str; 4] = if parallel {
            [
                "seal_into_parallel, all cores",
                "open_into_parallel, all cores",
                "ContentWriter, all cores",
                "ContentReader, all cores",
            ]
        } else {
            [
                "seal_into, 1 thread",
                "open_into, 1 thread",
                "ContentWriter, 1 thread",
                "ContentReader, 1 thread",
            ]
        };
        lines.push(s.line(names[0]));
        lines.push(o.line(names[1]));
        lines.push(w.line(names[2]));
        lines.push(r.line(names[3]));
    }
    drop(sealed_buf);
    drop(opened_buf);

    // Allocating their output, for comparison.
    for parallel in [false, true] {
        let s = bare.paired(|| {
            Ok(if parallel {
                seal_parallel(&key, &plain, cs)?
            } else {
                seal(&key, &plain, cs)?
            })
        })?;
        let sealed = &s.out;
        let o = bare.paired(|| {
            Ok(if parallel {
                open_parallel(&key, &sealed.ciphertext, &sealed.digest)?
            } else {
                open(&key, &sealed.ciphertext, &sealed.digest)?
            })
        })?;
        check(&o.out, "open")?;
        if parallel {
            lines.push(s.line("seal_parallel (allocating), all cores"));
            lines.push(o.line("open_parallel (allocating), all cores"));
        } else {
            lines.push(s.line("seal (allocating), 1 thread"));
            lines.push(o.line("open (allocating), 1 thread"));
        }
    }

    report(mb, &lines)
}

fn report(mb: f64, lines: &[Line]) -> BoxResult<()> {
    let find = |name: &str| {
        lines
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| format!("no line {name:?}"))
    };
    println!();
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>8}",
        "operation", "MB/s", "ms", "bare ms", "/ bare"
    );
    for l in lines {
        println!(
            "{:<40} {:>9.0} {:>9.1} {:>9.1} {:>8.2}",
            l.name,
            mb / l.secs,
            l.secs * 1e3,
            l.bare * 1e3,
            l.bare / l.secs
        );
    }
    let hash = find("BLAKE3 hash alone")?;
    // The hash's time over a bare pass's time, measured side by side.
    let fused = 1.0 / (1.0 + hash.secs / hash.bare);
    println!();
    println!("fused limit, bare / (bare + BLAKE3): {fused:.2}");
    println!("1 thread, / bare AWS-LC (bar 0.65), and as a share of the fused limit:");
    for name in [
        "seal_into, 1 thread",
        "open_into, 1 thread",
        "ContentWriter, 1 thread",
        "ContentReader, 1 thread",
        "seal (allocating), 1 thread",
        "open (allocating), 1 thread",
    ] {
        let l = find(name)?;
        let ratio = l.bare / l.secs;
        println!("  {name:<36} {ratio:.2}  ({:.0}%)", 100.0 * ratio / fused);
    }
    println!("all cores / 1 thread (bar 1.8x), each set against its own bare pass:");
    for (one, all) in [
        ("seal_into, 1 thread", "seal_into_parallel, all cores"),
        ("open_into, 1 thread", "open_into_parallel, all cores"),
        ("ContentWriter, 1 thread", "ContentWriter, all cores"),
        ("ContentReader, 1 thread", "ContentReader, all cores"),
        (
            "seal (allocating), 1 thread",
            "seal_parallel (allocating), all cores",
        ),
        (
            "open (allocating), 1 thread",
            "open_parallel (allocating), all cores",
        ),
    ] {
        let (a, b) = (find(one)?, find(all)?);
        let speedup = (b.bare / b.secs) / (a.bare / a.secs);
        println!("  {all:<36} {speedup:.2}x");
    }
    Ok(())
}

/// The nonce of the bare passes' `i`-th 64 KiB piece: four zero bytes, then
/// the piece's index (big-endian), as STREAM lays out its counter.
fn piece_nonce(i: usize) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
    nonce
}
