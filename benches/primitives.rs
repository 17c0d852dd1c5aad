//! Throughput of the small primitives: HPKE wraps and unwraps per second, and
//! Ed25519 batch verification of 10,000 signatures against one-by-one checks.
//!
//! Run: `cargo bench --bench primitives`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::verify_batch;
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::crypto::x25519::KemSecretKey;

#[path = "support/signatures.rs"]
mod signatures;
use signatures::Signed;

fn per_second(n: usize, f: impl FnMut(usize)) -> f64 {
    let mut f = f;
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recipient = KemSecretKey::generate()?;
    let pk = recipient.public_key();
    let rid = [7u8; 32];
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"bench",
        epoch: 1,
        recipient: &rid,
    };
    let key = SecretKey::random()?;
    let n = 5_000;
    let mut wrapped = Vec::with_capacity(n);
    let wraps = per_second(n, |_| {
        wrapped.push(WrappedSecret::wrap_key(&pk, &ctx, &key).ok())
    });
    let unwraps = per_second(n, |i| {
        let ok = wrapped[i]
            .as_ref()
            .and_then(|w| w.unwrap_key(&recipient, &ctx).ok())
            .is_some();
        assert!(ok);
    });
    println!("HPKE wrap (X25519, 32-byte key):   {wraps:>10.0} /s");
    println!("HPKE unwrap:                        {unwraps:>10.0} /s");

    let n = 10_000;
    let signed = Signed::new(n);
    let items = signed.items();

    let t = Instant::now();
    for it in &items {
        it.key.verify(it.domain, it.msg, it.signature)?;
    }
    let single = t.elapsed().as_secs_f64();
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let t = Instant::now();
    one_thread
        .install(|| verify_batch(&items))
        .map_err(|(i, e)| format!("batch failed at {i}: {e}"))?;
    let batch1 = t.elapsed().as_secs_f64();
    let t = Instant::now();
    verify_batch(&items).map_err(|(i, e)| format!("batch failed at {i}: {e}"))?;
    let batch_all = t.elapsed().as_secs_f64();
    println!("Ed25519, {n} signatures:");
    println!(
        "  one by one, 1 thread:             {:>8.1} ms ({:.1} us/sig)",
        single * 1e3,
        single * 1e6 / n as f64
    );
    println!(
        "  batch, 1 thread:                  {:>8.1} ms ({:.1} us/sig)",
        batch1 * 1e3,
        batch1 * 1e6 / n as f64
    );
    println!(
        "  batch, {} threads:                 {:>8.1} ms",
        rayon::current_num_threads(),
        batch_all * 1e3
    );
    println!(
        "  ratio one-by-one / batch (1 thread): {:.2}x",
        single / batch1
    );
    println!(
        "  ratio one-by-one / batch (all cores): {:.2}x",
        single / batch_all
    );
    Ok(())
}
