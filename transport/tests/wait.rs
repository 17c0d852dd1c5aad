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

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{Account, Client, Collection, CollectionId, Error, Remote, Role, system_time};
use sealshare_http::HttpRemote;

#[path = "../../tests/support/server_process.rs"]
mod server_process;

struct Server(server_process::ServerProcess);

impl std::ops::Deref for Server {
    type Target = server_process::ServerProcess;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Server {
    fn start() -> Self {
        Self(server_process::ServerProcess::start())
    }

    /// A client for a new account `handle`, its card published, and a
    /// second remote signing as it (to wait on its own connection).
    fn client(&self, handle: &str) -> (Client, Arc<dyn Remote>, HttpRemote) {
        let account = Account::create(handle, system_time()).unwrap();
        let remote = Arc::new(HttpRemote::new(&self.base, &account).unwrap());
        remote.publish_card(account.identity()).unwrap();
        let waiting = HttpRemote::new(&self.base, &account).unwrap();
        let shared: Arc<dyn Remote> = remote;
        (Client::new(account, shared.clone()), shared, waiting)
    }
}

fn pair(server: &Server) -> (Client, Client, Arc<dyn Remote>, HttpRemote, HttpRemote) {
    let (mut alice, remote, alice_waits) = server.client("alice");
    let (mut bob, _, bob_waits) = server.client("bob");
    alice.observe(bob.account().identity()).unwrap();
    bob.observe(alice.account().identity()).unwrap();
    (alice, bob, remote, alice_waits, bob_waits)
}

/// How long a log is on the server.
fn head(remote: &Arc<dyn Remote>, id: &CollectionId) -> u64 {
    remote.fetch(id, 0).unwrap().len() as u64
}

#[test]
fn an_append_by_another_client_wakes_a_waiter_well_before_its_timeout() {
    let server = Server::start();
    let (mut alice, mut bob, remote, _, waiting) = pair(&server);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    let mut theirs = Collection::open(&mut bob, notes.id()).unwrap();
    theirs.accept(&mut bob).unwrap();
    notes.sync(&mut alice).unwrap();
    let id = notes.id();
    let before = head(&remote, &id);

    // Bob waits (on his own connection), alice renames.
    let waiter = {
        std::thread::spawn(move || {
            let start = Instant::now();
            let changed = waiting
                .wait_for_changes(&[(id, before)], Duration::from_secs(30))
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
    let (mut alice, _bob, remote, waiting, bob_waits) = pair(&server);
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let other = Collection::create(&mut alice, "Other", "").unwrap();
    let (id, len) = (notes.id(), head(&remote, &notes.id()));
    let (id2, len2) = (other.id(), head(&remote, &other.id()));
    assert!(len > 0 && len2 > 0);

    // Bob reads neither: his wait is refused.
    let err = bob_waits
        .wait_for_changes(&[(id, 0)], Duration::from_secs(30))
        .unwrap_err();
    assert!(err.to_string().contains("403 forbidden"), "{err}");
    let start = Instant::now();
    let changed = waiting
        .wait_for_changes(&[(id, 0), (id2, len2)], Duration::from_secs(30))
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
    let (mut alice, _bob, remote, _, _) = pair(&server);
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    let len = head(&remote, &id);

    // A read timeout shorter than the wait: the wait's own is longer.
    let waiting = HttpRemote::builder(&server.base)
        .account(alice.account())
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
    let (mut alice, _, _, waiting, _) = pair(&server);
    let heads: Vec<(CollectionId, u64)> = (0..=100u8)
        .map(|i| {
            let c = Collection::create(&mut alice, &format!("c{i}"), "").unwrap();
            (c.id(), 1)
        })
        .collect();
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
    assert!(matches!(
        waiting.wait_for_changes(&[], Duration::ZERO),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn a_server_that_is_not_running_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let account = Account::create("alice", system_time()).unwrap();
    let remote = HttpRemote::builder(&format!("http://127.0.0.1:{port}"))
        .account(&account)
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
