#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `GET /v1/wait` against the server as a real process: an append wakes a
//! waiter well before its timeout, a head already passed answers at once, a
//! timeout answers no change after about the timeout, the bounds on the
//! parameters answer 400, the bound on waiting requests answers 503 and a
//! client that goes away gives its place back, and a server that stops
//! answers its waits at once.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{
    Account, Client, Collection, CollectionId, MemoryRemote, Remote, RequestSigner, system_time,
};
use serde_json::json;
use support::{Http, Server};

/// A log of `len` operations (a collection created, then renamed) by
/// `account`, made on the in-memory reference server.
fn a_log(account: &Account, len: usize) -> (CollectionId, Vec<Vec<u8>>) {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let mut alice = Client::new(account.duplicate().unwrap(), remote);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    while memory.fetch(&id, 0).unwrap().len() < len {
        notes.rename(&mut alice, "Notes again", "").unwrap();
    }
    let log = memory.fetch(&id, 0).unwrap();
    assert_eq!(log.len(), len);
    (id, log)
}

fn store(server: &Http, id: &CollectionId, ops: &[Vec<u8>], from: usize) {
    for (seq, op) in ops.iter().enumerate().skip(from) {
        assert_eq!(server.append(id, seq as u64, op).status, 200);
    }
}

fn wait_path(heads: &[(CollectionId, u64)], timeout: u64) -> String {
    let cs: Vec<String> = heads
        .iter()
        .map(|(id, head)| format!("c={}:{head}", id.to_text()))
        .collect();
    format!("/v1/wait?{}&timeout={timeout}", cs.join("&"))
}

/// Waits; the answer's `changed` list and how long it took.
fn wait(http: &Http, heads: &[(CollectionId, u64)], timeout: u64) -> (serde_json::Value, Duration) {
    let start = Instant::now();
    let answer = http.get(&wait_path(heads, timeout));
    let took = start.elapsed();
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "application/json"),
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    (body["changed"].clone(), took)
}

/// The server, and alice registered on it (her card published, her
/// requests signed).
fn start(data: &std::path::Path) -> (Server, Account) {
    let server = Server::start(data);
    let alice = Account::create("alice", system_time()).unwrap();
    server.register(&alice);
    (server, alice)
}

fn changed(id: &CollectionId, head: u64) -> serde_json::Value {
    json!({ "collection": id.to_text(), "head": head })
}

#[test]
fn an_append_by_another_client_wakes_a_waiter_well_before_its_timeout() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let (id, log) = a_log(&alice, 3);
    store(&server, &id, &log[..2], 0);
    let (other, other_log) = a_log(&alice, 1);
    store(&server, &other, &other_log, 0);

    let waiter = {
        let http = (*server).clone();
        std::thread::spawn(move || wait(&http, &[(other, 1), (id, 2)], 30))
    };
    std::thread::sleep(Duration::from_millis(500));
    store(&server, &id, &log, 2);
    let (list, took) = waiter.join().unwrap();
    assert_eq!(
        list,
        json!([changed(&id, 3)]),
        "only the collection that grew"
    );
    assert!(took >= Duration::from_millis(400), "it waited: {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "woken by the append: {took:?}"
    );
}

#[test]
fn a_head_already_passed_answers_at_once() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let (id, log) = a_log(&alice, 2);
    let (id2, log2) = a_log(&alice, 3);
    store(&server, &id, &log, 0);
    store(&server, &id2, &log2, 0);
    // A collection the caller may not read (here: none such) is refused,
    // with the whole wait: a wait tells only readers when a log grows.
    server
        .get(&wait_path(&[(id, 0), (CollectionId([9; 16]), 0)], 30))
        .assert_error(403, "forbidden");

    let (list, took) = wait(&server, &[(id, 0), (id2, 2)], 30);
    assert_eq!(list, json!([changed(&id, 2), changed(&id2, 3)]), "in order");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let (list, took) = wait(&server, &[(id, 1)], 60);
    assert_eq!(list, json!([changed(&id, 2)]));
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_timeout_answers_no_change_after_about_the_timeout() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let (id, log) = a_log(&alice, 2);
    store(&server, &id, &log, 0);
    let (id2, log2) = a_log(&alice, 1);
    store(&server, &id2, &log2, 0);

    // At the head, and beyond it: nothing passes.
    let heads = [(id, 2), (id2, 1)];
    let (list, took) = wait(&server, &heads, 1);
    assert_eq!(list, json!([]));
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    let (list, took) = wait(&server, &[(id, 7)], 2);
    assert_eq!(list, json!([]));
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(7), "{took:?}");
    // Timeout 0: a check, answered at once.
    let (list, took) = wait(&server, &heads, 0);
    assert_eq!(list, json!([]));
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn bad_parameters_answer_400() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let ids: Vec<(CollectionId, u64)> = (0..=100u8)
        .map(|_| {
            let (id, log) = a_log(&alice, 1);
            store(&server, &id, &log, 0);
            (id, 1)
        })
        .collect();
    let (list, _) = wait(&server, &ids[..100], 0);
    assert_eq!(list, json!([]), "100 collections are fine");
    let answer = server.get(&wait_path(&ids, 0));
    answer.assert_error(400, "malformed");
    assert!(
        answer.message().contains("at most 100"),
        "{}",
        answer.message()
    );

    let a = ids[0].0.to_text();
    server
        .get(&format!("/v1/wait?c={a}:0&timeout=61"))
        .assert_error(400, "malformed");
    for bad in [
        "/v1/wait".to_owned(),
        "/v1/wait?timeout=5".to_owned(),
        format!("/v1/wait?c={a}"),
        format!("/v1/wait?c={a}:"),
        format!("/v1/wait?c={a}:x"),
        format!("/v1/wait?c={a}:-1"),
        format!("/v1/wait?c={a}:18446744073709551616"),
        "/v1/wait?c=:0".to_owned(),
        "/v1/wait?c=AAAA:0".to_owned(),
        format!("/v1/wait?c={a}:0&c={a}:1"),
        format!("/v1/wait?c={a}:0&timeout=x"),
        format!("/v1/wait?c={a}:0&timeout=1.5"),
        format!("/v1/wait?c={a}:0&since=4"),
    ] {
        let answer = server.get(&bad);
        assert_eq!(answer.status, 400, "{bad}");
        answer.assert_error(400, "malformed");
    }
    // The percent-encoded form is the same parameter.
    let (list, _) = wait(&server, &[(ids[0].0, 1)], 0);
    assert_eq!(list, json!([]));
    let answer = server.get(&format!("/v1/wait?c={a}%3A1&timeout=0"));
    assert_eq!(answer.status, 200);
    server
        .post("/v1/wait", b"")
        .assert_error(405, "method_not_allowed");
}

/// Opens `n` connections and sends a wait of 60 s on each, without reading.
/// In batches, so the listener's accept queue never overflows (a connection
/// dropped from it comes back only after the SYN-ACK's retransmission
/// backoff, seconds later).
fn hanging_waits(
    server: &Server,
    signer: &RequestSigner,
    id: &CollectionId,
    n: usize,
) -> Vec<TcpStream> {
    let addr = server.base.strip_prefix("http://").unwrap().to_owned();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        for _ in 0..(n - out.len()).min(50) {
            let path = format!("/v1/wait?c={}:1&timeout=60", id.to_text());
            let auth = server.authorization(signer, "GET", &path, b"", 60);
            let mut tcp = TcpStream::connect(&addr).unwrap();
            write!(
                tcp,
                "GET {path} HTTP/1.1\r\nhost: localhost\r\nauthorization: {auth}\r\n\r\n"
            )
            .unwrap();
            out.push(tcp);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    out
}

#[test]
fn waits_over_the_bound_are_busy_and_a_client_that_goes_away_gives_its_place_back() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let (id, log) = a_log(&alice, 1);
    store(&server, &id, &log, 0);
    let signer = RequestSigner::for_account(&alice);
    let check = |server: &Server| server.get(&wait_path(&[(id, 1)], 0));

    let hanging = hanging_waits(&server, &signer, &id, 1000);
    // Once the server has taken them all in, the next one is refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = check(&server);
        if answer.status == 503 {
            answer.assert_error(503, "busy");
            break;
        }
        assert_eq!(answer.status, 200);
        assert!(Instant::now() < deadline, "never busy");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Their clients go away before their timeouts: the places come back.
    drop(hanging);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = check(&server);
        if answer.status == 200 {
            break;
        }
        answer.assert_error(503, "busy");
        assert!(Instant::now() < deadline, "the places never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
    // All of them: 999 wait again and leave a place, the thousandth takes it.
    std::thread::sleep(Duration::from_millis(500));
    let mut hanging = hanging_waits(&server, &signer, &id, 999);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(check(&server).status, 200, "a place leaked");
    hanging.extend(hanging_waits(&server, &signer, &id, 1));
    let deadline = Instant::now() + Duration::from_secs(60);
    while check(&server).status != 503 {
        assert!(Instant::now() < deadline, "never busy again");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(hanging);
    server.stop();
}

#[test]
fn a_stopping_server_answers_its_waits_at_once() {
    let data = tempfile::tempdir().unwrap();
    let (server, alice) = start(data.path());
    let (id, log) = a_log(&alice, 1);
    store(&server, &id, &log, 0);
    let waiter = {
        let http = (*server).clone();
        std::thread::spawn(move || wait(&http, &[(id, 1)], 60))
    };
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    server.stop();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let (list, took) = waiter.join().unwrap();
    assert_eq!(list, json!([]));
    assert!(took < Duration::from_secs(20), "{took:?}");
}
