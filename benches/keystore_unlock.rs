//! Keystore unlock time at each Argon2id profile (median of a few runs), the cost
//! of a change of password, and the overhead of wiping Argon2id's memory.
//!
//! Run: `cargo bench --bench keystore_unlock`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use sealshare::Keystore;
use sealshare::crypto::password::{Argon2Params, Profile};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let payload = vec![0x42u8; 300];
    let password = "correct horse battery staple";
    println!(
        "{:<12} {:>9} {:>6} {:>5} | {:>10} {:>12} {:>12} {:>14} {:>10}",
        "profile",
        "memory",
        "passes",
        "lanes",
        "unlock ms",
        "no-wipe ms",
        "recovery ms",
        "change pw ms",
        "runs"
    );
    for profile in Profile::ALL {
        let p: Argon2Params = profile.into();
        let runs = if p.memory_kib >= 1024 * 1024 { 3 } else { 7 };
        let (mut ks, phrase) = Keystore::create(&payload, password, profile)?;
        let unlock = time(runs, || ks.unlock_with_password(password).unwrap());
        // Argon2id alone, memory allocated by the argon2 crate and not wiped: the
        // difference to `unlock` is the wipe plus everything else in the keystore.
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(p.memory_kib, p.passes, p.lanes, Some(32)).map_err(|e| e.to_string())?,
        );
        let no_wipe = time(runs, || {
            let mut out = [0u8; 32];
            argon
                .hash_password_into(password.as_bytes(), &[7; 16], &mut out)
                .unwrap();
            out
        });
        let recovery = time(runs, || ks.unlock_with_recovery(&phrase).unwrap());
        let change = time(runs, || {
            ks.change_password(password, password, profile).unwrap()
        });
        println!(
            "{:<12} {:>5} MiB {:>6} {:>5} | {:>10.1} {:>12.1} {:>12.3} {:>14.1} {:>10}",
            format!("{profile:?}"),
            p.memory_kib / 1024,
            p.passes,
            p.lanes,
            ms(unlock),
            ms(no_wipe),
            ms(recovery),
            ms(change),
            runs
        );
    }
    println!(
        "\nunlock = Argon2id + HKDF + two XChaCha20-Poly1305 opens; change pw = unlock + new salt + Argon2id + seal."
    );
    println!("Median of `runs` runs, 1 thread. Tests use 19 MiB / 2 passes, below every profile.");
    Ok(())
}
