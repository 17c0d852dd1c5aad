//! Peak memory of the streaming adapters: a large file is sealed through
//! `ContentWriter` into another file, then opened through `ContentReader` into
//! `io::sink()`. Each phase runs in its own child process (this binary re-executed
//! with `--phase`), so each peak resident set size (`VmHWM` in /proc/self/status)
//! is that phase's alone. Linux only.
//!
//! Run: `cargo bench --bench adapter_memory`
//! (file size in MiB: `SEALSHARE_BENCH_MIB`, default 1024; temporary files go to
//! the system temporary directory and are removed at the end).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sealshare::internal::crypto::stream::{
    ContentDigest, ContentKey, ContentReader, ContentWriter, DEFAULT_CHUNK_SIZE,
};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const PHASES: [(&str, &str); 4] = [
    ("baseline", "start the process, do nothing"),
    ("write", "write the plaintext file, 1 MiB at a time"),
    ("seal", "file -> ContentWriter -> file"),
    ("open", "file -> ContentReader -> io::sink()"),
];

fn mib() -> u64 {
    std::env::var("SEALSHARE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// Peak resident set size of this process in KiB.
fn peak_kib() -> BoxResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    let kib = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim();
    Ok(kib.parse()?)
}

fn read_key(dir: &Path) -> BoxResult<ContentKey> {
    let bytes: [u8; 32] = std::fs::read(dir.join("key.bin"))?
        .try_into()
        .map_err(|_| "key.bin")?;
    Ok(ContentKey::from_bytes(bytes))
}

/// Runs one phase in this (child) process and prints its result line.
fn child(phase: &str, dir: &Path) -> BoxResult<()> {
    let size = mib() << 20;
    let t = Instant::now();
    let bytes = match phase {
        "baseline" => 0,
        "write" => {
            let mut block = vec![0u8; 1 << 20];
            sealshare::internal::crypto::random::fill(&mut block)?;
            let mut file = File::create(dir.join("plain.bin"))?;
            for i in 0..size >> 20 {
                if let Some(first) = block.first_mut() {
                    *first = i as u8;
                }
                file.write_all(&block)?;
            }
            size
        }
        "seal" => {
            let key = read_key(dir)?;
            let mut input = File::open(dir.join("plain.bin"))?;
            let output = File::create(dir.join("sealed.bin"))?;
            let mut writer = ContentWriter::new(&key, output, DEFAULT_CHUNK_SIZE)?;
            let n = io::copy(&mut input, &mut writer)?;
            let (output, digest) = writer.finish()?;
            drop(output);
            let mut d = digest.ciphertext_hash.to_vec();
            d.extend_from_slice(&digest.key_commitment);
            d.extend_from_slice(&digest.ciphertext_len.to_be_bytes());
            std::fs::write(dir.join("digest.bin"), d)?;
            n
        }
        "open" => {
            let key = read_key(dir)?;
            let d = std::fs::read(dir.join("digest.bin"))?;
            let field = |from: usize, to: usize| d.get(from..to).ok_or("digest.bin too short");
            let digest = ContentDigest {
                ciphertext_hash: field(0, 32)?.try_into()?,
                key_commitment: field(32, 64)?.try_into()?,
                ciphertext_len: u64::from_be_bytes(field(64, 72)?.try_into()?),
            };
            let mut reader =
                ContentReader::new(&key, File::open(dir.join("sealed.bin"))?, &digest)?;
            let n = io::copy(&mut reader, &mut io::sink())?;
            if n != size {
                return Err(format!("opened {n} bytes, expected {size}").into());
            }
            n
        }
        other => return Err(format!("unknown phase {other}").into()),
    };
    println!("{} {} {}", peak_kib()?, t.elapsed().as_secs_f64(), bytes);
    Ok(())
}

fn run_phase(phase: &str, dir: &Path) -> BoxResult<(u64, f64, u64)> {
    let out = Command::new(std::env::current_exe()?)
        .arg("--phase")
        .arg(phase)
        .arg(dir)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "phase {phase} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let text = String::from_utf8(out.stdout)?;
    let mut fields = text.split_whitespace();
    let mut next = || {
        fields
            .next()
            .ok_or_else(|| format!("phase {phase} printed {text:?}"))
    };
    Ok((next()?.parse()?, next()?.parse()?, next()?.parse()?))
}

fn parent() -> BoxResult<()> {
    let dir = std::env::temp_dir().join(format!("sealshare-adapter-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(dir: &Path) -> BoxResult<()> {
    std::fs::write(
        dir.join("key.bin"),
        sealshare::internal::crypto::random::array::<32>()?,
    )?;
    println!(
        "adapter memory: {} MiB file, {} KiB chunks, files in {}",
        mib(),
        DEFAULT_CHUNK_SIZE / 1024,
        dir.display()
    );
    println!();
    println!(
        "{:<10} {:<44} {:>14} {:>14} {:>8}",
        "phase", "what", "peak RSS (KiB)", "over baseline", "MB/s"
    );
    let mut baseline = None;
    for (phase, what) in PHASES {
        let (kib, secs, bytes) = run_phase(phase, dir)?;
        let base = *baseline.get_or_insert(kib);
        let over = kib as i64 - base as i64;
        let rate = if bytes == 0 {
            "-".to_string()
        } else {
            format!("{:.0}", bytes as f64 / 1e6 / secs)
        };
        println!("{phase:<10} {what:<44} {kib:>14} {over:>14} {rate:>8}");
    }
    let sealed = std::fs::metadata(dir.join("sealed.bin"))?.len();
    println!();
    println!(
        "sealed file: {sealed} bytes for {} bytes of plaintext",
        mib() << 20
    );
    Ok(())
}

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--phase") {
        Some(i) => {
            let phase = args.get(i + 1).ok_or("--phase needs a name")?;
            let dir = PathBuf::from(args.get(i + 2).ok_or("--phase needs a directory")?);
            child(phase, &dir)
        }
        // `cargo bench` passes `--bench`; anything else starts the parent.
        None => parent(),
    }
}
