//! Throughput of sealed content on one large in-memory buffer, measured against
//! bare ChaCha20-Poly1305 passes over the same buffer in the same run (AWS-LC,
//! which the content stream uses, and the pure-Rust `chacha20poly1305` crate):
//! `seal` and `open` on one thread, `seal_parallel` and `open_parallel` on all
//! cores.
//!
//! Run: `cargo bench --bench content_throughput`
//! (buffer size in MiB: `SEALSHARE_BENCH_MIB`, default 1024; repetitions, best
//! kept: `SEALSHARE_BENCH_REPS`, default 3). MB/s are 10^6 bytes of plaintext per
//! second.

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use sealshare::internal::crypto::stream::{
    ContentKey, DEFAULT_CHUNK_SIZE, SealedContent, open, open_parallel, seal, seal_parallel,
};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` `reps` times and returns the shortest time in seconds and the last output.
fn best<T>(reps: usize, mut f: impl FnMut() -> BoxResult<T>) -> BoxResult<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps.max(1) {
        drop(out.take());
        let t = Instant::now();
        let v = f()?;
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(black_box(v));
    }
    Ok((best, out.ok_or("no repetition ran")?))
}

fn main() -> BoxResult<()> {
    let mib = env_usize("SEALSHARE_BENCH_MIB", 1024);
    let reps = env_usize("SEALSHARE_BENCH_REPS", 3);
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
        "content throughput: {mib} MiB buffer, {} KiB chunks, {} threads, best of {reps}",
        cs / 1024,
        rayon::current_num_threads()
    );

    // Bare AEAD: in place, 64 KiB pieces, one thread, no hashing, no allocation.
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut bare_buf = plain.clone();
    let (bare, _) = best(reps, || {
        for (i, piece) in bare_buf.chunks_mut(64 << 10).enumerate() {
            let nonce = piece_nonce(i);
            let tag = cipher
                .encrypt_inout_detached(&Nonce::from(nonce), b"", piece.into())
                .map_err(|_| "bare encryption failed")?;
            black_box(tag);
        }
        Ok(())
    })?;
    let lc = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).map_err(|_| "key")?);
    let (bare_lc, _) = best(reps, || {
        for (i, piece) in bare_buf.chunks_mut(64 << 10).enumerate() {
            let nonce = piece_nonce(i);
            let tag = lc
                .seal_in_place_separate_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                    Aad::empty(),
                    piece,
                )
                .map_err(|_| "bare encryption failed")?;
            let _ = black_box(tag);
        }
        Ok(())
    })?;
    drop(bare_buf);

    // Context: what the buffer API pays besides the AEAD.
    let (hash1, _) = best(reps, || {
        Ok(*blake3::Hasher::new_derive_key("bench")
            .update(&plain)
            .finalize()
            .as_bytes())
    })?;
    let (fault, _) = best(reps, || {
        let mut v = vec![0u8; len];
        for page in v.chunks_mut(4096) {
            if let Some(b) = page.first_mut() {
                *b = 1;
            }
        }
        Ok(v)
    })?;

    let (seal1, sealed) = best(reps, || Ok(seal(&key, &plain, cs)?))?;
    let (open1, opened) = best(reps, || Ok(open(&key, &sealed.ciphertext, &sealed.digest)?))?;
    if opened != plain {
        return Err("open returned other bytes".into());
    }
    drop(opened);
    drop(sealed);
    let (sealp, sealed): (f64, SealedContent) =
        best(reps, || Ok(seal_parallel(&key, &plain, cs)?))?;
    let (openp, opened) = best(reps, || {
        Ok(open_parallel(&key, &sealed.ciphertext, &sealed.digest)?)
    })?;
    if opened != plain {
        return Err("open_parallel returned other bytes".into());
    }

    let rate = |secs: f64| mb / secs;
    println!();
    println!("{:<48} {:>10} {:>10}", "operation", "MB/s", "ms");
    for (name, secs) in [
        ("bare ChaCha20-Poly1305 (AWS-LC), 1 thread", bare_lc),
        ("bare ChaCha20-Poly1305 (RustCrypto), 1 thread", bare),
        ("  (BLAKE3 hash alone, 1 thread)", hash1),
        ("  (allocate and fault in the output buffer)", fault),
        ("seal, 1 thread", seal1),
        ("open, 1 thread", open1),
        ("seal_parallel, all cores", sealp),
        ("open_parallel, all cores", openp),
    ] {
        println!("{name:<48} {:>10.0} {:>10.1}", rate(secs), secs * 1e3);
    }
    println!();
    println!("seal / bare AWS-LC:             {:.2}", bare_lc / seal1);
    println!("open / bare AWS-LC:             {:.2}", bare_lc / open1);
    println!("seal / bare RustCrypto:         {:.2}", bare / seal1);
    println!("open / bare RustCrypto:         {:.2}", bare / open1);
    println!("seal_parallel / seal:           {:.2}x", seal1 / sealp);
    println!("open_parallel / open:           {:.2}x", open1 / openp);
    Ok(())
}

/// The nonce of the bare passes' `i`-th 64 KiB piece: four zero bytes, then
/// the piece's index (big-endian), as STREAM lays out its counter.
fn piece_nonce(i: usize) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
    nonce
}
