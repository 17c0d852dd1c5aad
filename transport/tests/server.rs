#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `HttpRemote` against the real `sealshare-server` process on a free
//! loopback port: two clients sharing a collection, a conflict the core
//! rebases over, an unreachable server, and a refusal with its code.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{
    Account, Client, Collection, CollectionList, Error, Remote, Role, ciphertext_hash, system_time,
};
use sealshare_http::HttpRemote;

mod fake_server;
#[path = "../../tests/support/server_process.rs"]
mod server_process;

use fake_server::{request_line, server_info_answer};

/// The server process, and accounts on it.
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

    /// A new account `handle` on this server, its card published, and its
    /// remote.
    fn account(&self, handle: &str) -> (Account, Arc<HttpRemote>) {
        let account = Account::create(handle, system_time()).unwrap();
        let remote = Arc::new(HttpRemote::new(&self.base, &account).unwrap());
        assert!(remote.publish_card(account.identity()).unwrap());
        (account, remote)
    }

    /// A client for a new account `handle`, its card published.
    fn client(&self, handle: &str) -> (Client, Arc<HttpRemote>) {
        let (account, remote) = self.account(handle);
        (Client::new(account, remote.clone()), remote)
    }
}

/// alice and bob, each with a remote signing as them, and each knowing the
/// other's card from the server's directory.
fn pair(server: &Server) -> (Client, Client, Arc<HttpRemote>, Arc<HttpRemote>) {
    let (mut alice, a) = server.client("alice");
    let (mut bob, b) = server.client("bob");
    alice.observe(&a.card("bob").unwrap().unwrap()).unwrap();
    bob.observe(&b.card("alice").unwrap().unwrap()).unwrap();
    (alice, bob, a, b)
}

#[test]
fn two_clients_share_a_collection_over_http() {
    let server = Server::start();
    let (mut alice, mut bob, remote, _) = pair(&server);

    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let item = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"hello over http")
        .unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();

    let list = CollectionList::fetch(&mut bob).unwrap();
    assert!(list.failed.is_empty(), "{:?}", list.failed);
    assert_eq!(list.pending.len(), 1);
    let pending = list.pending.into_iter().next().unwrap();
    assert_eq!(pending.owner, "alice");
    let mut theirs = pending.collection;
    assert_eq!(theirs.id(), notes.id());
    theirs.accept(&mut bob).unwrap();
    assert_eq!(theirs.read(&bob, item).unwrap(), b"hello over http");

    let list = CollectionList::fetch(&mut bob).unwrap();
    assert_eq!(list.shared.len(), 1);
    assert_eq!(
        remote.collections_of("alice").unwrap(),
        vec![notes.id()],
        "alice is listed once"
    );
}

#[test]
fn a_concurrent_append_is_a_conflict_the_core_rebases_over() {
    let server = Server::start();
    let (mut alice, mut bob, remote, _) = pair(&server);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    let mut theirs = Collection::open(&mut bob, notes.id()).unwrap();
    theirs.accept(&mut bob).unwrap();
    notes.sync(&mut alice).unwrap();

    // At the same head, alice writes first; bob's append at that position
    // is answered 409 and the core rebases it onto the new head.
    let head = remote.fetch(&notes.id(), 0).unwrap().len() as u64;
    let a = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"from alice")
        .unwrap();
    assert_eq!(
        remote.append(&notes.id(), head, b"anything").unwrap(),
        sealshare::Appended::Conflict,
        "the position is taken"
    );
    let b = theirs
        .add_file(&mut bob, None, "b.txt", "text/plain", b"from bob")
        .unwrap();

    // And two threads writing at once: both land.
    let id = notes.id();
    let t = std::thread::spawn(move || {
        for i in 0..3 {
            theirs
                .add_file(&mut bob, None, &format!("bob{i}"), "text/plain", b"b")
                .unwrap();
        }
        (bob, theirs)
    });
    for i in 0..3 {
        notes
            .add_file(&mut alice, None, &format!("alice{i}"), "text/plain", b"a")
            .unwrap();
    }
    let (bob, mut theirs) = t.join().unwrap();

    notes.sync(&mut alice).unwrap();
    let mut bob = bob;
    theirs.sync(&mut bob).unwrap();
    assert_eq!(notes.read(&alice, b).unwrap(), b"from bob");
    assert_eq!(theirs.read(&bob, a).unwrap(), b"from alice");
    let log = remote.fetch(&id, 0).unwrap();
    assert_eq!(remote.fetch(&id, head).unwrap(), log[head as usize..]);
    assert!(
        log.len() as u64 >= head + 8,
        "every write landed: {}",
        log.len()
    );
}

#[test]
fn a_server_that_is_not_running_is_unreachable_within_the_timeout() {
    // A port that was free a moment ago, now closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let account = Account::create("alice", system_time()).unwrap();
    let remote = HttpRemote::builder(&format!("http://127.0.0.1:{port}"))
        .account(&account)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .retries(2)
        .build()
        .unwrap();
    let id = sealshare::CollectionId([3; 16]);
    let started = Instant::now();
    let err = remote.fetch(&id, 0).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Remote(m) if m.starts_with("server unreachable (offline)")),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An append never sent (the server's id could not be asked for) is
    // offline, and claims nothing about having landed.
    let err = remote.append(&id, 0, b"op").unwrap_err();
    assert!(
        matches!(&err, Error::Remote(m) if m.starts_with("server unreachable (offline)") && !m.contains("may or may not")),
        "{err}"
    );

    // An append whose connection breaks once sent is tried once, and says it
    // may have landed.
    let addr = hang_up_server();
    let remote = HttpRemote::builder(&format!("http://{addr}"))
        .account(&account)
        .read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = remote.append(&id, 0, b"op").unwrap_err();
    assert!(
        matches!(&err, Error::Remote(m) if m.starts_with("server unreachable (offline)") && m.contains("may or may not have been stored")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_millis(1000));

    assert!(HttpRemote::new("ftp://example.invalid", &account).is_err());
}

#[test]
fn a_refusal_surfaces_with_the_servers_code_and_message() {
    let server = Server::start();
    let (mut alice, remote) = server.client("alice");
    let id = Collection::create(&mut alice, "Notes", "").unwrap().id();
    let blob = b"some ciphertext".to_vec();
    let wrong = [0u8; 32];
    let err = remote.put_blob(&id, &wrong, &blob).unwrap_err();
    let Error::Remote(message) = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("server refused: 422 hash_mismatch: "),
        "{message}"
    );
    assert!(message.len() > "server refused: 422 hash_mismatch: ".len());

    // The right id stores it, twice over, and it reads back.
    let hash = ciphertext_hash(&blob);
    remote.put_blob(&id, &hash, &blob).unwrap();
    remote.put_blob(&id, &hash, &blob).unwrap();
    assert_eq!(remote.get_blob(&id, &hash).unwrap(), blob);
    let mut read = Vec::new();
    std::io::Read::read_to_end(&mut remote.download_blob(&id, &hash).unwrap(), &mut read).unwrap();
    assert_eq!(read, blob);

    // A missing blob, and a malformed operation.
    let err = remote.get_blob(&id, &[1; 32]).unwrap_err();
    assert!(err.to_string().contains("404 not_found"), "{err}");
    let err = remote.append(&id, 1, b"not an operation").unwrap_err();
    assert!(err.to_string().contains("400 malformed"), "{err}");
    assert_eq!(remote.fetch(&id, 0).unwrap().len(), 1);
    let err = remote.collections_of("nobody").unwrap_err();
    assert!(err.to_string().contains("403 forbidden"), "{err}");
    let err = remote
        .fetch(&sealshare::CollectionId([5; 16]), 0)
        .unwrap_err();
    assert!(err.to_string().contains("403 forbidden"), "{err}");
}

/// A server that tells its id and hangs up on every other request.
fn hang_up_server() -> std::net::SocketAddr {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let Some(first) = request_line(&mut reader) else {
                continue;
            };
            if first.starts_with("GET /v1/server ") {
                let _ = stream.write_all(server_info_answer("connection: close\r\n").as_bytes());
            }
        }
    });
    addr
}

/// A lying server: every fetch answers one 64 KiB operation and says there
/// is more, forever.
fn endless_server() -> std::net::SocketAddr {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                // Each request's head (GETs have no body).
                while let Some(first) = request_line(&mut reader) {
                    if first.starts_with("GET /v1/server ") {
                        if stream.write_all(server_info_answer("").as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    let op = vec![7u8; 64 << 10];
                    let mut body = (op.len() as u32).to_be_bytes().to_vec();
                    body.extend_from_slice(&op);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nsealshare-more: true\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(&body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_server_that_always_has_more_cannot_make_the_client_hold_more_than_its_bound() {
    let addr = endless_server();
    let account = Account::create("alice", system_time()).unwrap();
    let remote = HttpRemote::builder(&format!("http://{addr}"))
        .account(&account)
        .max_log_bytes(1 << 20)
        .build()
        .unwrap();
    let err = remote
        .fetch(&sealshare::CollectionId([3; 16]), 0)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("malformed answer") && text.contains("gave up"),
        "{text}"
    );
}

#[test]
fn a_joiner_and_a_public_reader_read_through_their_links_over_http() {
    use sealshare::{InviteTerms, PublicLinkTerms, PublicView};
    let server = Server::start();
    let (mut alice, _) = server.client("alice");
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let item = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"for the link")
        .unwrap();
    let invite = notes
        .create_invite_link(
            &mut alice,
            "https://share.example/l",
            InviteTerms::default(),
        )
        .unwrap();
    let public = notes
        .create_public_link(
            &mut alice,
            "https://share.example/l",
            &PublicLinkTerms::default(),
        )
        .unwrap();

    // Carol, a stranger to the collection, joins through the invite link:
    // she reads its log with the link's key, then appends her join as
    // herself.
    let (mut carol, _) = server.client("carol");
    let mut joined = Collection::join(&mut carol, &invite).unwrap();
    joined.sync(&mut carol).unwrap();
    assert_eq!(joined.read(&carol, item).unwrap(), b"for the link");

    // A reader with no account at all opens the public link.
    let anonymous = Arc::new(HttpRemote::builder(&server.base).build().unwrap());
    let mut view = PublicView::open(anonymous.clone(), &public, None, system_time()).unwrap();
    assert_eq!(view.read(item).unwrap(), b"for the link");
    // Without the link, that remote has nothing to sign with.
    let err = anonymous
        .fetch(&sealshare::CollectionId([1; 16]), 0)
        .unwrap_err();
    assert!(err.to_string().contains("no key to sign with"), "{err}");

    // Revoked: the server refuses the reader from then on.
    notes.revoke_link(&mut alice, public.link()).unwrap();
    let err = view.refresh(system_time()).unwrap_err();
    assert!(err.to_string().contains("403 forbidden"), "{err}");
}

#[test]
fn a_second_device_signs_in_with_the_password_or_the_phrase_and_nothing_else() {
    use sealshare::{Argon2Params, Keystore, RecoveryPhrase};
    use sealshare_http::SignInSecret;
    let server = Server::start();
    let fast = Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    let (account, keystore, phrase) =
        Account::create_protected("alice", system_time(), "correct horse", fast).unwrap();
    let remote = HttpRemote::new(&server.base, &account).unwrap();
    remote.publish_card(account.identity()).unwrap();
    remote
        .register_keystore(&keystore, SignInSecret::Password("correct horse"))
        .unwrap();
    remote
        .register_keystore(&keystore, SignInSecret::RecoveryPhrase(&phrase))
        .unwrap();

    // A new device, with no key at all, signs in with the password.
    let device = HttpRemote::builder(&server.base).build().unwrap();
    let got: Keystore = device
        .sign_in("alice", SignInSecret::Password("correct horse"))
        .unwrap();
    assert_eq!(got.to_bytes(), keystore.to_bytes());
    let again = Account::unlock(&got, "correct horse").unwrap();
    assert_eq!(again.identity(), account.identity());
    // And with the recovery phrase.
    let words = RecoveryPhrase::parse(&phrase.words()).unwrap();
    let got = device
        .sign_in("alice", SignInSecret::RecoveryPhrase(&words))
        .unwrap();
    assert_eq!(
        Account::recover(&got, &words).unwrap().identity(),
        account.identity()
    );

    // A wrong password, an unknown handle: refused alike, nothing released.
    for (handle, password) in [("alice", "wrong horse"), ("nobody", "correct horse")] {
        assert!(matches!(
            device.sign_in(handle, SignInSecret::Password(password)),
            Err(Error::WrongPassword)
        ));
    }
    // Another account registers only under its own handle (the server's
    // tests refuse one registering under alice's), so alice's stays.
    let (mallory, _) = server.account("mallory");
    let theirs = HttpRemote::new(&server.base, &mallory).unwrap();
    theirs
        .register_keystore(&keystore, SignInSecret::Password("x"))
        .unwrap();
    assert!(
        device
            .sign_in("alice", SignInSecret::Password("x"))
            .is_err()
    );
    // The attempts are limited: after ten starts in the window, refused.
    let mut limited = false;
    for _ in 0..12 {
        match device.sign_in("alice", SignInSecret::Password("guess")) {
            Err(Error::WrongPassword) => {}
            Err(e) if e.to_string().contains("429 rate_limited") => {
                limited = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(limited, "guessing is rate-limited");
}

#[test]
fn a_public_link_serves_its_content_to_at_most_its_device_limit() {
    use sealshare::{Argon2Params, DeviceKey, PublicLinkTerms, PublicView};
    let server = Server::start();
    let (mut alice, _) = server.client("alice");
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let item = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"for two devices")
        .unwrap();
    let link = notes
        .create_public_link(
            &mut alice,
            "https://share.example/l",
            &PublicLinkTerms {
                device_limit: 2,
                password: Some("sesame".into()),
                password_params: Argon2Params {
                    memory_kib: 19 * 1024,
                    passes: 2,
                    lanes: 1,
                },
                ..Default::default()
            },
        )
        .unwrap();
    let open = |device: &DeviceKey| {
        let remote = Arc::new(HttpRemote::builder(&server.base).build().unwrap());
        PublicView::open_on_device(remote, &link, Some("sesame"), system_time(), device).unwrap()
    };
    let (first, second, third) = (
        DeviceKey::generate().unwrap(),
        DeviceKey::generate().unwrap(),
        DeviceKey::generate().unwrap(),
    );
    // Two devices register and read; the first again, on a new connection
    // with its kept key, counts once.
    assert_eq!(open(&first).read(item).unwrap(), b"for two devices");
    assert_eq!(open(&second).read(item).unwrap(), b"for two devices");
    assert_eq!(open(&first).read(item).unwrap(), b"for two devices");
    // A third is refused its content (it still sees the log's listing).
    let view = open(&third);
    assert_eq!(view.items().items.len(), 1);
    let err = view.read(item).unwrap_err();
    assert!(err.to_string().contains("403 device_limit"), "{err}");
}

/// The blob files being written in `data`'s temporary folder, and their
/// sizes.
fn uploads_in_progress(data: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("blob-"))
            {
                let len = entry.metadata().map_or(0, |m| m.len());
                out.push((path, len));
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("tmp"), &mut out);
    out
}

/// Waits up to 20 s for `what` to hold.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_large_blob_streams_to_the_server_as_it_is_written_and_one_given_up_stores_nothing() {
    let server = Server::start();
    let (mut alice, remote) = server.client("alice");
    let (_, bob) = server.client("bob");
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    let blobs = server.data().join("blobs").join(id.to_text());
    let stored = |hash: &[u8; 32]| {
        blobs
            .join(hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
            .is_file()
    };
    let large: Vec<u8> = (0..24u32 << 20).map(|i| ((i * 31) >> 5) as u8).collect();
    let hash = ciphertext_hash(&large);

    // The server is writing the blob before its end is even written: the
    // client holds no more than a few pieces of it.
    let mut upload = remote.upload_blob(&id).unwrap();
    for piece in large[..20 << 20].chunks(64 * 1024) {
        upload.write_all(piece).unwrap();
    }
    eventually("the server writes the blob while it is uploaded", || {
        uploads_in_progress(server.data())
            .iter()
            .any(|(_, len)| *len >= 8 << 20)
    });
    for piece in large[20 << 20..].chunks(64 * 1024) {
        upload.write_all(piece).unwrap();
    }
    upload.finish(&hash).unwrap();
    assert!(stored(&hash));
    assert!(remote.get_blob(&id, &hash).unwrap() == large);
    assert!(uploads_in_progress(server.data()).is_empty());

    // An upload given up midway (dropped unfinished) is broken off: the
    // server stores nothing of it and removes what it had written.
    let other: Vec<u8> = large.iter().map(|b| b ^ 0x5a).collect();
    let mut upload = remote.upload_blob(&id).unwrap();
    upload.write_all(&other[..16 << 20]).unwrap();
    eventually("the server writes the upload", || {
        !uploads_in_progress(server.data()).is_empty()
    });
    drop(upload);
    eventually("the broken-off upload is removed", || {
        uploads_in_progress(server.data()).is_empty()
    });
    assert!(!stored(&ciphertext_hash(&other[..16 << 20])));
    assert_eq!(std::fs::read_dir(&blobs).unwrap().count(), 1);

    // The server names what it stored; an id that is not it is an error.
    let mut upload = remote.upload_blob(&id).unwrap();
    upload.write_all(&other).unwrap();
    let err = upload.finish(&hash).unwrap_err();
    assert!(
        matches!(&err, Error::Remote(m) if m.contains("stored the upload as")),
        "{err}"
    );

    // One who may not write gets the server's refusal, and nothing is stored.
    let third: Vec<u8> = large.iter().map(|b| b ^ 0x33).collect();
    let mut upload = bob.upload_blob(&id).unwrap();
    let written = upload.write_all(&third);
    let err = match written {
        Ok(()) => upload.finish(&ciphertext_hash(&third)).unwrap_err(),
        Err(e) => Error::from(e),
    };
    assert!(
        matches!(&err, Error::Remote(m) if m.starts_with("server refused: 403 forbidden")),
        "{err}"
    );
    assert!(!stored(&ciphertext_hash(&third)));

    // A small blob goes whole under its id; both kinds read back through
    // the core.
    let small = b"small enough to send whole".to_vec();
    let mut upload = remote.upload_blob(&id).unwrap();
    upload.write_all(&small).unwrap();
    upload.finish(&ciphertext_hash(&small)).unwrap();
    assert_eq!(
        remote.get_blob(&id, &ciphertext_hash(&small)).unwrap(),
        small
    );
    let content: Vec<u8> = (0..12u32 << 20).map(|i| (i % 251) as u8).collect();
    let item = notes
        .add_file_from_reader(
            &mut alice,
            None,
            "big.bin",
            "application/octet-stream",
            &mut content.as_slice(),
        )
        .unwrap();
    assert!(notes.read(&alice, item).unwrap() == content);
}

/// A server that answers `GET /v1/server`, then reads the head of any other
/// request and never a byte of its body, holding the connection open.
fn stalling_server() -> std::net::SocketAddr {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                while let Some(first) = request_line(&mut reader) {
                    if !first.starts_with("GET /v1/server ") {
                        std::thread::sleep(Duration::from_secs(120));
                        return;
                    }
                    if stream.write_all(server_info_answer("").as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// `f`'s result, or a failed test if it takes longer than `limit` (rather
/// than a test run that hangs).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(f());
    });
    result
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still waiting after {limit:?}"))
}

#[test]
fn a_server_that_stops_reading_an_upload_fails_it_within_the_timeout() {
    let addr = stalling_server();
    let account = Account::create("alice", system_time()).unwrap();
    let remote = Arc::new(
        HttpRemote::builder(&format!("http://{addr}"))
            .account(&account)
            .read_timeout(Duration::from_secs(1))
            .retries(0)
            .build()
            .unwrap(),
    );
    let id = sealshare::CollectionId([3; 16]);
    let blob = Arc::new(vec![5u8; 64 << 20]);
    let offline = |err: &Error| matches!(err, Error::Remote(m) if m.starts_with("server unreachable (offline)"));

    // Whole, under its id.
    let (r, b) = (remote.clone(), blob.clone());
    let err = within(Duration::from_secs(30), move || {
        r.put_blob(&id, &ciphertext_hash(&b), &b).unwrap_err()
    });
    assert!(offline(&err), "{err}");

    // Streamed as it is written: a write fails, or the finish does.
    let err = within(Duration::from_secs(30), move || {
        let mut upload = remote.upload_blob(&id).unwrap();
        match upload.write_all(&blob) {
            Ok(()) => upload.finish(&ciphertext_hash(&blob)).unwrap_err(),
            Err(e) => Error::from(e),
        }
    });
    assert!(offline(&err), "{err}");
}
