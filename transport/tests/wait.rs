#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `HttpRemote::wait_for_changes` against the real `sealshare-server`
//! process: an append by another client wakes a waiter well before its
//! timeout, a head already passed answers at once, a timeout answers no
//! change after about the timeout (longer than the remote's read timeout),
//! and the server's bounds surface as its refusals.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use sealshare::{Account, Client, Collection, CollectionId, Error, Remote, Role, system_time};
use sealshare_http::HttpRemote;

// The server's process, as transport/tests/server.rs starts it.

/// The server binary, built once per test run.
fn server_binary() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "sealshare-server",
            "--bin",
            "sealshare-server",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p sealshare-server failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let path = target
        .join("debug")
        .join(format!("sealshare-server{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "no server binary at {}", path.display());
    *built = Some(path.clone());
    path
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(server_binary())
            .arg("--data")
            .arg(data.path())
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                panic!("the server did not start: {other:?}, {:?}", child.wait());
            }
        };
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            base: format!("http://{addr}"),
            _data: data,
        }
    }

    fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(HttpRemote::new(&self.base).unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pair(remote: &Arc<dyn Remote>) -> (Client, Client) {
    let now = system_time();
    let mut alice = Client::new(Account::create("alice", now).unwrap(), remote.clone());
    let mut bob = Client::new(Account::create("bob", now).unwrap(), remote.clone());
    alice.observe(bob.account().identity()).unwrap();
    bob.observe(alice.account().identity()).unwrap();
    (alice, bob)
}

/// How long a log is on the server.
fn head(remote: &Arc<dyn Remote>, id: &CollectionId) -> u64 {
    remote.fetch(id, 0).unwrap().len() as u64
}

#[test]
fn an_append_by_another_client_wakes_a_waiter_well_before_its_timeout() {
    let server = Server::start();
    let remote = server.remote();
    let (mut alice, mut bob) = pair(&remote);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    let mut theirs = Collection::open(&mut bob, notes.id()).unwrap();
    theirs.accept(&mut bob).unwrap();
    notes.sync(&mut alice).unwrap();
    let id = notes.id();
    let before = head(&remote, &id);
    let elsewhere = CollectionId([9; 16]);

    // Bob waits (on his own connection), alice renames.
    let waiter = {
        let waiting = HttpRemote::new(&server.base).unwrap();
        std::thread::spawn(move || {
            let start = Instant::now();
            let changed = waiting
                .wait_for_changes(&[(elsewhere, 0), (id, before)], Duration::from_secs(30))
                .unwrap();
            (changed, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    notes.rename(&mut alice, "Renamed", "").unwrap();
    let after = head(&remote, &id);
    assert!(after > before);
    let (changed, took) = waiter.join().unwrap();
    assert_eq!(changed, vec![(id, after)]);
    assert!(took >= Duration::from_millis(400), "it waited: {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "woken by the append: {took:?}"
    );

    // What woke bob is there to sync.
    assert!(theirs.sync(&mut bob).unwrap() > 0);
    assert_eq!(theirs.name().unwrap(), "Renamed");
}

#[test]
fn a_head_already_passed_answers_at_once() {
    let server = Server::start();
    let remote = server.remote();
    let (mut alice, _bob) = pair(&remote);
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let other = Collection::create(&mut alice, "Other", "").unwrap();
    let (id, len) = (notes.id(), head(&remote, &notes.id()));
    let (id2, len2) = (other.id(), head(&remote, &other.id()));
    assert!(len > 0 && len2 > 0);

    let waiting = HttpRemote::new(&server.base).unwrap();
    let start = Instant::now();
    let changed = waiting
        .wait_for_changes(
            &[(id, 0), (id2, len2), (CollectionId([9; 16]), 0)],
            Duration::from_secs(30),
        )
        .unwrap();
    assert_eq!(
        changed,
        vec![(id, len)],
        "only the one behind, at its length"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_timeout_answers_no_change_after_about_the_timeout() {
    let server = Server::start();
    let remote = server.remote();
    let (mut alice, _bob) = pair(&remote);
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    let len = head(&remote, &id);

    // A read timeout shorter than the wait: the wait's own is longer.
    let waiting = HttpRemote::builder(&server.base)
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    for (timeout, at_least) in [
        (Duration::from_secs(1), Duration::from_millis(900)),
        // Rounded up to whole seconds: 2 s.
        (Duration::from_millis(1500), Duration::from_millis(1900)),
    ] {
        let start = Instant::now();
        let changed = waiting.wait_for_changes(&[(id, len)], timeout).unwrap();
        let took = start.elapsed();
        assert!(changed.is_empty(), "{changed:?}");
        assert!(took >= at_least, "{timeout:?}: {took:?}");
        assert!(
            took < at_least + Duration::from_secs(5),
            "{timeout:?}: {took:?}"
        );
    }
    // Zero: a check, at once.
    let start = Instant::now();
    assert!(
        waiting
            .wait_for_changes(&[(id, len)], Duration::ZERO)
            .unwrap()
            .is_empty()
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

fn refusal(err: Error) -> String {
    let Error::Remote(message) = err else {
        panic!("{err:?}")
    };
    message
}

#[test]
fn the_servers_bounds_surface_as_refusals() {
    let server = Server::start();
    let waiting = HttpRemote::new(&server.base).unwrap();
    let heads: Vec<(CollectionId, u64)> = (0..=100u8).map(|i| (CollectionId([i; 16]), 0)).collect();
    assert!(
        waiting
            .wait_for_changes(&heads[..100], Duration::ZERO)
            .unwrap()
            .is_empty()
    );
    let message = refusal(
        waiting
            .wait_for_changes(&heads, Duration::ZERO)
            .unwrap_err(),
    );
    assert!(
        message.starts_with("server refused: 400 malformed: "),
        "{message}"
    );
    assert!(message.contains("at most 100"), "{message}");
    let message = refusal(
        waiting
            .wait_for_changes(&heads[..1], Duration::from_secs(61))
            .unwrap_err(),
    );
    assert!(
        message.starts_with("server refused: 400 malformed: "),
        "{message}"
    );
    let twice = [heads[0], heads[0]];
    let message = refusal(
        waiting
            .wait_for_changes(&twice, Duration::ZERO)
            .unwrap_err(),
    );
    assert!(
        message.starts_with("server refused: 400 malformed: "),
        "{message}"
    );
    let message = refusal(waiting.wait_for_changes(&[], Duration::ZERO).unwrap_err());
    assert!(
        message.starts_with("server refused: 400 malformed: "),
        "{message}"
    );
}

#[test]
fn a_server_that_is_not_running_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let remote = HttpRemote::builder(&format!("http://127.0.0.1:{port}"))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let message = refusal(
        remote
            .wait_for_changes(&[(CollectionId([1; 16]), 0)], Duration::from_secs(1))
            .unwrap_err(),
    );
    assert!(
        message.starts_with("server unreachable (offline)"),
        "{message}"
    );
}
