//! The reference server over loopback, as a real release process:
//!
//! - appends per second with 1, 10 and 50 concurrent clients (each on its
//!   own collection, every request signed, every append verified and
//!   committed with `synchronous = FULL`);
//! - fetching and verifying a 100,000-operation log (`HttpRemote::fetch`,
//!   then `LogState::extend_from_bytes`);
//! - blob upload and download throughput for a 256 MiB blob (best of 15
//!   rounds), against curl moving the same file to and from nginx (a plain
//!   static file server, `sendfile on`, PUT through WebDAV) in the same run,
//!   and curl downloading it from sealshare-server (the server's part). The
//!   upload streamed as it is written (length unknown, so chunked) is set
//!   beside curl uploading from a pipe, which sends chunked too;
//! - notification latency, p50 and p99, from an append to a client waiting
//!   on `GET /v1/wait`;
//! - the server's peak memory (`VmHWM`) under 50 clients at once, each
//!   waiting on its collection, appending to it and uploading a 16 MiB blob.
//!
//! Run: `cargo bench -p sealshare-server --bench server` (needs `nginx`,
//! from Debian's nginx-light, and `curl`). On PostgreSQL:
//! `eval "$(bash scripts/postgres.sh start)"`, then
//! `SEALSHARE_TEST_STORE=postgres cargo bench -p sealshare-server --bench server -- appends wait`
//! (the fetch part writes its log straight into SQLite).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{
    Account, Client, Collection, CollectionId, LogState, MemoryRemote, Remote, ciphertext_hash,
    system_time,
};
use support::Server;

/// A collection of `ops` operations (a create and renames) made ahead on an
/// in-memory store by a new account, with that account.
fn a_log(handle: &str, ops: usize) -> (Account, CollectionId, Vec<Vec<u8>>) {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let account = Account::create(handle, system_time()).unwrap();
    let mut client = Client::new(account.duplicate().unwrap(), remote);
    let mut c = Collection::create(&mut client, "Bench", "").unwrap();
    for i in 1..ops {
        c.rename(&mut client, &format!("Bench {i}"), "").unwrap();
    }
    let id = c.id();
    (account, id, memory.fetch(&id, 0).unwrap())
}

fn appends(clients: usize, total: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let per = total / clients;
    let logs: Vec<_> = (0..clients).map(|i| a_log(&format!("c{i}"), per)).collect();
    for (account, _, _) in &logs {
        server.register(account);
    }
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (_, id, log) in &logs {
            let server = &*server;
            scope.spawn(move || {
                for (seq, op) in log.iter().enumerate() {
                    let answer = server.try_append(id, seq as u64, op);
                    assert_eq!(answer, Some(200), "#{seq} of {}", id.to_text());
                }
            });
        }
    });
    let took = started.elapsed();
    let n = per * clients;
    println!(
        "appends, {clients:>2} concurrent clients: {n} in {:.2} s = {:.0} appends/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

fn fetch_and_verify(ops: usize) {
    let (account, id, log) = a_log("reader", ops);
    let data = tempfile::tempdir().unwrap();
    // The log is written straight into the database (appending 100,000
    // operations one commit at a time would take minutes): the server
    // verifies it from storage when it first needs its state.
    {
        let server = Server::start(data.path());
        server.register(&account);
        assert_eq!(server.try_append(&id, 0, &log[0]), Some(200));
        server.stop();
        let mut db = rusqlite::Connection::open(data.path().join("sealshare.db")).unwrap();
        let tx = db.transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT INTO operations (collection, seq, bytes) VALUES (?1, ?2, ?3)")
                .unwrap();
            for (seq, op) in log.iter().enumerate().skip(1) {
                insert
                    .execute(rusqlite::params![&id.0[..], seq as i64, op])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let server = Server::start(data.path());
    let remote = server.remote_for(&account);
    // The first read makes the server verify the stored log once.
    let warm = Instant::now();
    assert_eq!(remote.fetch(&id, ops as u64 - 1).unwrap().len(), 1);
    let server_verify = warm.elapsed();
    let started = Instant::now();
    let fetched = remote.fetch(&id, 0).unwrap();
    let fetch = started.elapsed();
    let mut state = LogState::empty(id);
    state.extend_from_bytes(&fetched, system_time()).unwrap();
    let total = started.elapsed();
    assert_eq!(fetched.len(), ops);
    let bytes: usize = fetched.iter().map(Vec::len).sum();
    println!(
        "fetch and verify {ops} operations ({:.1} MiB): fetch {:.0} ms, verify {:.0} ms, total {:.0} ms (the server's own first verification: {:.0} ms)",
        bytes as f64 / f64::from(1 << 20),
        fetch.as_secs_f64() * 1e3,
        (total - fetch).as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        server_verify.as_secs_f64() * 1e3
    );
}

/// nginx serving `root` on a free loopback port, PUT allowed (WebDAV).
struct Nginx {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(root: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "{user} daemon off; worker_processes 1; pid {pid}; error_log {err};
                 events {{ worker_connections 64; }}
                 http {{ access_log off; client_body_temp_path {tmp}; client_max_body_size 2g;
                   sendfile on;
                   server {{ listen 127.0.0.1:{port}; root {root};
                     location / {{ dav_methods PUT; create_full_put_path on; }} }} }}",
                // Run as root, nginx's workers would be `nobody`, who cannot
                // write into this (root-owned) temporary folder.
                user = if is_root() { "user root;" } else { "" },
                pid = dir.path().join("pid").display(),
                err = dir.path().join("error.log").display(),
                tmp = dir.path().display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|n| Command::new(n).arg("-v").output().is_ok())
            .expect("nginx is installed (apt-get install nginx-light)");
        let child = Command::new(nginx)
            .args([
                "-c",
                conf.to_str().unwrap(),
                "-p",
                dir.path().to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn curl(args: &[&str]) -> Duration {
    curl_reading(args, Stdio::null())
}

/// [`curl`] with `stdin` as its standard input.
fn curl_reading(args: &[&str], stdin: Stdio) -> Duration {
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--fail"])
        .args(args)
        .stdin(stdin)
        .status()
        .unwrap();
    assert!(status.success(), "curl {args:?}");
    started.elapsed()
}

fn blobs(size: usize, rounds: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (account, id, log) = a_log("owner", 1);
    server.register(&account);
    assert_eq!(server.try_append(&id, 0, &log[0]), Some(200));
    let remote = server.remote_for(&account);
    let files = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(files.path());
    let file = files.path().join("source.bin");
    let mut ours = (Duration::MAX, Duration::MAX);
    let mut theirs = (Duration::MAX, Duration::MAX);
    // curl uploading from a pipe: it does not know the length either, and
    // sends the body chunked, as a streamed upload is.
    let mut theirs_streamed = Duration::MAX;
    // A blob streamed as it is sealed (`Remote::upload_blob`, 1 MiB writes).
    let mut streamed = Duration::MAX;
    // curl from sealshare-server, to tell the server's part from the
    // client's.
    let mut curl_ours = Duration::MAX;
    let signer = sealshare::RequestSigner::for_account(&account);
    for round in 0..rounds {
        let blob: Vec<u8> = (0..size)
            .map(|i| {
                (i as u32)
                    .wrapping_mul(2_654_435_761)
                    .rotate_left(round as u32) as u8
            })
            .collect();
        std::fs::write(&file, &blob).unwrap();
        let hash = ciphertext_hash(&blob);
        // Each timed step starts with nothing left to write back, so that
        // the server's syncs never wait on files written before (nginx
        // syncs nothing, and would otherwise hand its writeback to us).
        settle();
        let started = Instant::now();
        remote.put_blob(&id, &hash, &blob).unwrap();
        ours.0 = ours.0.min(started.elapsed());
        settle();
        let started = Instant::now();
        let mut reader = remote.download_blob(&id, &hash).unwrap();
        let got = read_in_batches(&mut reader);
        ours.1 = ours.1.min(started.elapsed());
        assert_eq!(got, size as u64);
        let other: Vec<u8> = blob.iter().map(|b| b ^ 0xa5).collect();
        let other_hash = ciphertext_hash(&other);
        settle();
        let started = Instant::now();
        let mut upload = remote.upload_blob(&id).unwrap();
        for piece in other.chunks(1 << 20) {
            upload.write_all(piece).unwrap();
        }
        upload.finish(&other_hash).unwrap();
        streamed = streamed.min(started.elapsed());
        let url = format!("http://127.0.0.1:{}/up/{round}.bin", nginx.port);
        settle();
        theirs.0 = theirs.0.min(curl(&["-T", file.to_str().unwrap(), &url]));
        settle();
        theirs.1 = theirs.1.min(curl(&[&url]));
        let piped = format!("http://127.0.0.1:{}/up/{round}-piped.bin", nginx.port);
        settle();
        let source = std::fs::File::open(&file).unwrap();
        theirs_streamed = theirs_streamed.min(curl_reading(&["-T", "-", &piped], source.into()));
        // nginx's copies are not needed again (15 rounds of them would be
        // 7.5 GiB on top of the server's).
        std::fs::remove_dir_all(files.path().join("up")).unwrap();
        let path = format!(
            "/v1/collections/{}/blobs/{}",
            id.to_text(),
            support::hex(&hash)
        );
        let auth = server.authorization(&signer, "GET", &path, b"", 50);
        let ours_url = format!("{}{path}", server.base);
        settle();
        curl_ours = curl_ours.min(curl(&["-H", &format!("Authorization: {auth}"), &ours_url]));
    }
    let mib = size as f64 / f64::from(1 << 20);
    let rate = |d: Duration| mib / d.as_secs_f64();
    println!(
        "blob upload {mib:.0} MiB: sealshare-http {:.0} MiB/s, curl to nginx {:.0} MiB/s: {:.2}x",
        rate(ours.0),
        rate(theirs.0),
        rate(ours.0) / rate(theirs.0)
    );
    println!(
        "blob upload {mib:.0} MiB, streamed as written: sealshare-http {:.0} MiB/s, \
         curl to nginx from a pipe {:.0} MiB/s: {:.2}x ({:.2}x of curl from the file)",
        rate(streamed),
        rate(theirs_streamed),
        rate(streamed) / rate(theirs_streamed),
        rate(streamed) / rate(theirs.0)
    );
    println!(
        "blob download {mib:.0} MiB: sealshare-http {:.0} MiB/s, curl from nginx {:.0} MiB/s: {:.2}x",
        rate(ours.1),
        rate(theirs.1),
        rate(ours.1) / rate(theirs.1)
    );
    println!(
        "blob download {mib:.0} MiB: curl from sealshare-server {:.0} MiB/s: {:.2}x of nginx",
        rate(curl_ours),
        rate(curl_ours) / rate(theirs.1)
    );
}

/// Writes back every dirty page of the machine (`sync`).
fn settle() {
    let status = Command::new("sync").status().unwrap();
    assert!(status.success(), "sync failed");
}

/// Reads `reader` to its end as the core's content reader does, a batch of
/// 2 MiB at a time; how many bytes it held.
fn read_in_batches(reader: &mut dyn std::io::Read) -> u64 {
    let mut buf = vec![0u8; 2 << 20];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("download: {e}"),
        }
    }
}

fn notification_latency(samples: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (account, id, log) = a_log("watched", samples + 1);
    server.register(&account);
    assert_eq!(server.try_append(&id, 0, &log[0]), Some(200));
    let waiting = sealshare_http::HttpRemote::new(&server.base, &account).unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let (woke_tx, woke_rx) = std::sync::mpsc::channel::<Instant>();
    let waiter = std::thread::spawn(move || {
        for head in 1..=samples as u64 {
            ready_tx.send(()).unwrap();
            let changed = waiting
                .wait_for_changes(&[(id, head)], Duration::from_secs(30))
                .unwrap();
            assert_eq!(changed, vec![(id, head + 1)]);
            woke_tx.send(Instant::now()).unwrap();
        }
    });
    let mut latencies = Vec::with_capacity(samples);
    for (seq, op) in log.iter().enumerate().skip(1) {
        ready_rx.recv().unwrap();
        // Let the wait reach the server and settle.
        std::thread::sleep(Duration::from_millis(20));
        let sent = Instant::now();
        assert_eq!(server.try_append(&id, seq as u64, op), Some(200));
        let woke = woke_rx.recv().unwrap();
        latencies.push(woke - sent);
    }
    waiter.join().unwrap();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "notification latency, append sent to waiter woken ({samples} samples): p50 {:.2} ms, p99 {:.2} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument names the parts to
    // run (appends, fetch, blobs, wait, memory).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if run("appends") {
        for clients in [1, 10, 50] {
            appends(clients, 2_000);
        }
    }
    if run("fetch") {
        fetch_and_verify(100_000);
    }
    if run("blobs") {
        blobs(256 << 20, 15);
    }
    if run("wait") {
        notification_latency(200);
    }
    if run("memory") {
        peak_memory(50, 16 << 20);
    }
}

/// The peak resident memory of process `pid` so far, in KiB (`VmHWM`).
fn high_water_mark(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn peak_memory(clients: usize, blob_len: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let at_start = high_water_mark(server.pid());
    let logs: Vec<_> = (0..clients).map(|i| a_log(&format!("m{i}"), 21)).collect();
    for (account, _, _) in &logs {
        server.register(account);
    }
    std::thread::scope(|scope| {
        for (n, (account, id, log)) in logs.iter().enumerate() {
            let server = &server;
            scope.spawn(move || {
                assert_eq!(server.try_append(id, 0, &log[0]), Some(200));
                let remote = server.remote_for(account);
                let waiting = sealshare_http::HttpRemote::new(&server.base, account).unwrap();
                let id = *id;
                let waiter = std::thread::spawn(move || {
                    waiting
                        .wait_for_changes(&[(id, 1)], Duration::from_secs(30))
                        .unwrap()
                });
                let blob: Vec<u8> = (0..blob_len).map(|i| (i ^ n) as u8).collect();
                remote
                    .put_blob(&id, &ciphertext_hash(&blob), &blob)
                    .unwrap();
                for (seq, op) in log.iter().enumerate().skip(1) {
                    assert_eq!(server.try_append(&id, seq as u64, op), Some(200));
                }
                assert_eq!(waiter.join().unwrap().len(), 1);
            });
        }
    });
    let peak = high_water_mark(server.pid());
    println!(
        "server peak memory, {clients} clients each waiting, appending 20 operations and uploading a {} MiB blob: {:.1} MiB (at start {:.1} MiB)",
        blob_len >> 20,
        peak as f64 / 1024.0,
        at_start as f64 / 1024.0
    );
}
