#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The blobs in an S3-compatible bucket (`--blobs s3://BUCKET/PREFIX`),
//! end to end: moto's S3 server (`moto_server`, from PyPI, installed here if
//! missing) as a process on a free loopback port, the server binary pointed
//! at it with the `AWS_*` variables. A blob round-trips; a wrong-hash upload
//! leaves nothing in the bucket (no final key, no temporary object, no
//! unfinished multipart upload); the same blob again is `created: false`
//! and not rewritten; a missing blob is 404. Without moto this test fails:
//! it never skips.

mod support;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealshare::{Account, Client, Collection, MemoryRemote, Remote, ciphertext_hash, system_time};
use support::{Server, blob_path};

/// A `moto_server` process, killed when dropped.
struct Moto {
    child: Child,
    base: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs moto's server from PyPI unless it is there already.
fn ensure_moto() {
    let there = |cmd: &mut Command| cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
    let present = there(Command::new("python3").args(["-c", "import moto.server, flask_cors"]))
        .is_ok_and(|s| s.success());
    if !present {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "moto[server]",
            ])
            .status()
            .expect("python3 runs (moto[server] is installed with pip)");
        assert!(status.success(), "pip install moto[server]: {status}");
    }
}

/// Starts moto's S3 server on a free port of 127.0.0.1 and waits until it
/// answers.
fn start_moto() -> Moto {
    ensure_moto();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto's server starts (python3 -m moto.server)");
    let moto = Moto {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// A plain (unsigned) request to moto, which does not check signatures:
/// status and body.
fn moto_request(method: &str, url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut answer = match method {
        "PUT" => agent.put(url).send_empty().unwrap(),
        _ => agent.get(url).call().unwrap(),
    };
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}

/// The `<Key>`s of a listing.
fn keys(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_owned()))
        .collect()
}

#[test]
fn blobs_in_an_s3_bucket_are_checked_created_once_and_never_rewritten() {
    let moto = start_moto();
    let bucket = format!("{}/sealshare", moto.base);
    assert_eq!(moto_request("PUT", &bucket).0, 200, "create the bucket");
    let list = || moto_request("GET", &format!("{bucket}?list-type=2")).1;
    let uploads = || moto_request("GET", &format!("{bucket}?uploads")).1;

    // A collection alice writes, on a server whose blobs are in the bucket.
    let memory = std::sync::Arc::new(MemoryRemote::new());
    let remote: std::sync::Arc<dyn Remote> = memory.clone();
    let mut alice = Client::new(Account::create("alice", system_time()).unwrap(), remote);
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let endpoint = moto.base.clone();
    let server = Server::start_with_env(
        data.path(),
        &["--blobs", "s3://sealshare/pre/fix"],
        &[
            ("AWS_ENDPOINT", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    server.register(alice.account());
    for (seq, op) in memory.fetch(&id, 0).unwrap().iter().enumerate() {
        assert_eq!(server.append(&id, seq as u64, op).status, 200);
    }
    // More than one 5 MiB part, and not a whole number of them.
    let blob: Vec<u8> = (0..(11 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let hash = ciphertext_hash(&blob);
    let key = format!("pre/fix/blobs/{}/{}", id.to_text(), support::hex(&hash));

    // A wrong hash stores nothing: no final key, no temporary object, no
    // unfinished upload.
    let wrong = ciphertext_hash(b"something else");
    server
        .put(&blob_path(&id, &wrong), &blob)
        .assert_error(422, "hash_mismatch");
    server
        .get(&blob_path(&id, &wrong))
        .assert_error(404, "not_found");
    assert_eq!(keys(&list()), Vec::<String>::new());
    assert!(!uploads().contains("<UploadId>"), "{}", uploads());

    // A missing blob is 404.
    server
        .get(&blob_path(&id, &hash))
        .assert_error(404, "not_found");

    // Stored once, under its key only, read back whole with its length.
    let answer = server.put(&blob_path(&id, &hash), &blob);
    assert_eq!(answer.status, 201, "{}", answer.message());
    assert_eq!(answer.json()["created"], serde_json::json!(true));
    let listed = list();
    assert_eq!(keys(&listed), vec![key.clone()]);
    assert!(!uploads().contains("<UploadId>"), "{}", uploads());
    let got = server.get(&blob_path(&id, &hash));
    assert_eq!(got.status, 200);
    assert_eq!(got.body.len(), blob.len());
    assert!(got.body == blob, "the blob reads back byte for byte");

    // The same blob again: created false, and the object is not rewritten
    // (its listing, modification time and ETag included, is unchanged a
    // second later).
    std::thread::sleep(Duration::from_millis(1_100));
    let again = server.put(&blob_path(&id, &hash), &blob);
    assert_eq!(again.status, 200, "{}", again.message());
    assert_eq!(again.json()["created"], serde_json::json!(false));
    assert_eq!(list(), listed);

    // An empty blob too.
    let empty = ciphertext_hash(b"");
    assert_eq!(server.put(&blob_path(&id, &empty), b"").status, 201);
    assert_eq!(server.get(&blob_path(&id, &empty)).body, b"");
    assert_eq!(keys(&list()).len(), 2);
    server.stop();
}
