#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Retries of signed requests, against a fake server that fails the first
//! attempt after it has seen the request (and so may have claimed its
//! nonce, as the real server does before it reads a body).

use std::io::{BufReader, Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sealshare::{Account, CollectionId, Remote, ciphertext_hash, system_time};
use sealshare_http::HttpRemote;

mod fake_server;

use fake_server::{request_head, serve, server_info_answer};

/// Every `authorization` header the fake server saw, by request line.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A server that answers `GET /v1/server`; fails the first attempt of every
/// other request (`503` for a GET; a reset connection, its body half read,
/// for a PUT) and answers the second with `answer`.
fn fail_once_server(answer: &'static [u8]) -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let addr = serve(move |mut stream| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        while let Some((first, headers)) = request_head(&mut reader) {
            if first.starts_with("GET /v1/server ") {
                if stream.write_all(server_info_answer("").as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            let header = |name: &str| {
                headers.iter().find_map(|h| {
                    let (n, v) = h.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let auth = header("authorization").unwrap_or_default();
            let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
            let attempt = {
                let mut log = log.lock().unwrap();
                log.push((first.clone(), auth));
                log.iter().filter(|(line, _)| *line == first).count()
            };
            if attempt == 1 {
                if first.starts_with("PUT ") {
                    // Half the body, then the connection is gone.
                    let mut half = vec![0u8; len / 2];
                    let _ = reader.read_exact(&mut half);
                    return;
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
                continue;
            }
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            if stream.write_all(head.as_bytes()).is_err() || stream.write_all(answer).is_err() {
                return;
            }
        }
    });
    (addr, seen)
}

/// The nonce of an `authorization` header's value.
fn nonce(header: &str) -> [u8; 16] {
    sealshare::RequestAuth::parse(header)
        .unwrap_or_else(|e| panic!("{header:?}: {e}"))
        .nonce()
}

#[test]
fn a_retried_request_is_signed_anew_never_sent_again_with_a_nonce_the_server_may_have_claimed() {
    const BLOB: &[u8] = b"sealed bytes";
    let account = Account::create("alice", system_time()).unwrap();
    let id = CollectionId([3; 16]);
    let hash = ciphertext_hash(BLOB);

    // A GET answered 503 at first.
    let (addr, seen) = fail_once_server(BLOB);
    let remote = HttpRemote::builder(&format!("http://{addr}"))
        .account(&account)
        .read_timeout(Duration::from_secs(10))
        .retries(2)
        .build()
        .unwrap();
    assert_eq!(remote.get_blob(&id, &hash).unwrap(), BLOB);
    // A PUT whose connection breaks while its body is sent.
    let blob = vec![9u8; 4 << 20];
    remote
        .put_blob(&id, &ciphertext_hash(&blob), &blob)
        .unwrap();

    let seen = seen.lock().unwrap();
    for method in ["GET ", "PUT "] {
        let attempts: Vec<&String> = seen
            .iter()
            .filter(|(line, _)| line.starts_with(method))
            .map(|(_, auth)| auth)
            .collect();
        assert_eq!(attempts.len(), 2, "{method}: {seen:?}");
        assert_ne!(
            nonce(attempts[0]),
            nonce(attempts[1]),
            "{method}: the retry reused the first attempt's nonce"
        );
    }
}

/// A server that answers `GET /v1/server`, and `status` to every other
/// request; how many of those it saw.
fn always_server(status: &'static str) -> (std::net::SocketAddr, Arc<Mutex<usize>>) {
    let seen = Arc::new(Mutex::new(0));
    let count = seen.clone();
    let addr = serve(move |mut stream| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        while let Some((first, _)) = request_head(&mut reader) {
            let answer = if first.starts_with("GET /v1/server ") {
                server_info_answer("")
            } else {
                *count.lock().unwrap() += 1;
                let body = r#"{"error":"storage_full","message":"full"}"#;
                format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            if stream.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    });
    (addr, seen)
}

#[test]
fn a_failure_that_another_attempt_would_only_repeat_is_not_retried() {
    let account = Account::create("alice", system_time()).unwrap();
    let id = CollectionId([3; 16]);
    for (status, attempts) in [
        ("507 Insufficient Storage", 1),
        ("501 Not Implemented", 1),
        ("502 Bad Gateway", 3),
    ] {
        let (addr, seen) = always_server(status);
        let remote = HttpRemote::builder(&format!("http://{addr}"))
            .account(&account)
            .retries(2)
            .build()
            .unwrap();
        let err = remote.get_blob(&id, &[1; 32]).unwrap_err();
        assert!(err.to_string().contains(&status[..3]), "{status}: {err}");
        assert_eq!(*seen.lock().unwrap(), attempts, "{status}");
    }
}
