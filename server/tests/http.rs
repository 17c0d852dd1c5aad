#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The server as a real process on a loopback port, over HTTP: logs made by
//! the core's clients stored and served byte for byte, the listing exact,
//! conflicting, refused and malformed appends storing nothing, blobs checked
//! against their id, cards set once, the loopback-only rule, and a restart on
//! the same data folder that rebuilds every verified state from storage.

mod support;

#[path = "../../tests/support/listing.rs"]
mod scenario;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use sealshare::{
    Account, Client, Collection, CollectionId, LogState, MemoryRemote, Operation, Remote, Role,
    ciphertext_hash, system_time,
};
use support::{Server, blob_path, server_command};

/// The server, signing as `clients` (each one's card published).
fn start(data: &std::path::Path, clients: &[&Client]) -> Server {
    let server = Server::start(data);
    for client in clients {
        server.register(client.account());
    }
    server
}

/// A collection on an in-memory server: alice created it, renamed it,
/// added a file and shared it with bob as a viewer, who accepted.
struct Setup {
    memory: Arc<MemoryRemote>,
    alice: Client,
    bob: Client,
    notes: Collection,
}

fn setup() -> Setup {
    let (memory, mut alice, mut bob) = support::alice_and_bob();
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes.rename(&mut alice, "Notes", "shared notes").unwrap();
    notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"hello")
        .unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Viewer)
        .unwrap();
    Collection::open(&mut bob, notes.id())
        .unwrap()
        .accept(&mut bob)
        .unwrap();
    notes.sync(&mut alice).unwrap();
    Setup {
        memory,
        alice,
        bob,
        notes,
    }
}

/// Replays `id`'s log from `memory` to `server` from position `from` on, in
/// order, each append answered with its position.
fn replay(server: &Server, memory: &MemoryRemote, id: &CollectionId, from: u64) -> Vec<Vec<u8>> {
    let log = memory.fetch(id, 0).unwrap();
    for (seq, op) in log.iter().enumerate().skip(from as usize) {
        let answer = server.append(id, seq as u64, op);
        assert_eq!(
            answer.status,
            200,
            "#{seq}: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.json(), serde_json::json!({ "stored": seq }));
    }
    log
}

/// The handles that appear in each log, turned into what each must be listed.
fn expected_listing(
    logs: &BTreeMap<CollectionId, Vec<Vec<u8>>>,
) -> BTreeMap<String, BTreeSet<CollectionId>> {
    let mut out: BTreeMap<String, BTreeSet<CollectionId>> = BTreeMap::new();
    for (id, log) in logs {
        let mut state = LogState::empty(*id);
        state.extend_from_bytes(log, system_time()).unwrap();
        for handle in state.appearing() {
            out.entry(handle.to_owned()).or_default().insert(*id);
        }
    }
    out
}

#[test]
fn logs_made_by_the_core_are_stored_and_served_byte_for_byte_and_listed_exactly() {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let (s, people) = scenario::play(&remote);
    let data = tempfile::tempdir().unwrap();
    let server = start(
        data.path(),
        &[
            &people.alice,
            &people.bob,
            &people.carol,
            &people.dave,
            &people.erin,
        ],
    );

    let mut logs = BTreeMap::new();
    for id in s.alices().union(&s.not_alices()) {
        let log = replay(&server, &memory, id, 0);
        assert!(!log.is_empty());
        assert_eq!(server.fetch(id, 0), log, "byte for byte");
        // From the middle, and past the end.
        let mid = log.len() / 2;
        let (page, more) = server.fetch_page(id, mid as u64);
        assert_eq!((page.as_slice(), more), (&log[mid..], false));
        assert!(server.fetch(id, log.len() as u64).is_empty());
        assert!(server.fetch(id, u64::MAX).is_empty());
        logs.insert(*id, log);
    }
    // An unknown collection is refused as one the caller may not read.
    server
        .get(&format!(
            "/v1/collections/{}/operations",
            CollectionId([7; 16]).to_text()
        ))
        .assert_error(403, "forbidden");

    let expected = expected_listing(&logs);
    assert_eq!(expected["alice"], s.alices());
    assert_eq!(expected["bob"], s.bobs());
    for handle in ["alice", "bob", "carol", "dave", "erin"] {
        assert_eq!(server.listed(handle), expected[handle], "{handle}");
        assert_eq!(
            server.listed(handle),
            scenario::listed(&*memory, handle),
            "{handle}: as the in-memory reference lists"
        );
    }
    // Only a handle's own listing is served.
    server
        .get("/v1/handles/nobody/collections")
        .assert_error(403, "forbidden");
    assert_eq!(
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        ["alice", "bob", "carol", "dave", "erin"],
        "no one else appears"
    );
}

#[test]
fn the_core_client_works_against_the_server_over_http() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (s, mut people) = scenario::play_on(&|account| server.remote_for(account));
    assert_eq!(server.listed("alice"), s.alices());
    assert_eq!(server.listed("bob"), s.bobs());

    // Content goes through the blob routes; a second client reads it back.
    let mut notes = Collection::open(&mut people.bob, s.member).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let small = notes
        .add_file(&mut people.bob, None, "small.txt", "text/plain", b"hi")
        .unwrap();
    let large = notes
        .add_file(
            &mut people.bob,
            None,
            "large.bin",
            "application/octet-stream",
            &big,
        )
        .unwrap();
    let mut theirs = Collection::open(&mut people.alice, s.member).unwrap();
    theirs.sync(&mut people.alice).unwrap();
    assert_eq!(theirs.read(&people.alice, small).unwrap(), b"hi");
    assert_eq!(theirs.read(&people.alice, large).unwrap(), big);
}

#[test]
fn conflicting_refused_and_malformed_appends_store_nothing() {
    let Setup {
        memory,
        mut alice,
        bob,
        mut notes,
    } = setup();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[&alice, &bob]);
    let log = replay(&server, &memory, &id, 0);
    let len = log.len() as u64;
    let unchanged = |server: &Server| assert_eq!(server.fetch(&id, 0), log);

    // A position already taken, or beyond the head: 409 with the head.
    for seq in [0, len - 1, len + 1, u64::MAX] {
        let answer = server.append(&id, seq, &log[0]);
        answer.assert_error(409, "conflict");
        assert_eq!(answer.json()["head"], serde_json::json!(len));
    }
    unchanged(&server);

    // A viewer's signed write at the right place: the rules refuse it.
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();
    let rename = log
        .iter()
        .map(|b| Operation::from_bytes(b).unwrap())
        .find(|op| op.body().name() == "rename")
        .unwrap();
    let forged = bob
        .account()
        .sign_operation(id, len, last.hash(), system_time(), rename.body().clone())
        .unwrap();
    let answer = server.append(&id, len, forged.to_bytes());
    answer.assert_error(422, "refused");
    assert!(
        answer.message().contains("\"bob\" is viewer"),
        "{}",
        answer.message()
    );
    // A signature that does not verify.
    let mut flipped = forged.to_bytes().to_vec();
    *flipped.last_mut().unwrap() ^= 1;
    let answer = server.append(&id, len, &flipped);
    answer.assert_error(422, "refused");
    assert!(
        answer.message().contains("signature"),
        "{}",
        answer.message()
    );
    // An operation of this log replayed at another position.
    let answer = server.append(&id, len, &log[1]);
    answer.assert_error(422, "refused");
    assert!(
        answer.message().contains("sequence number 1"),
        "{}",
        answer.message()
    );
    // An operation of another collection.
    let mut other = Collection::create(&mut alice, "Other", "").unwrap();
    other.rename(&mut alice, "Other", "renamed").unwrap();
    let other_log = memory.fetch(&other.id(), 0).unwrap();
    let answer = server.append(&id, len, &other_log[1]);
    answer.assert_error(422, "refused");
    assert!(
        answer.message().contains("another collection"),
        "{}",
        answer.message()
    );
    let answer = server.append(&CollectionId([9; 16]), 0, &other_log[0]);
    answer.assert_error(422, "refused");
    server
        .get(&format!(
            "/v1/collections/{}/operations",
            CollectionId([9; 16]).to_text()
        ))
        .assert_error(403, "forbidden");
    // An operation claiming a time too far ahead of the server's clock.
    let ahead = bob
        .account()
        .sign_operation(
            id,
            len,
            last.hash(),
            system_time() + 3600,
            rename.body().clone(),
        )
        .unwrap();
    server
        .append(&id, len, ahead.to_bytes())
        .assert_error(422, "not_yet_valid");
    // Bytes that are no operation, and no bytes.
    server
        .append(&id, len, b"garbage")
        .assert_error(400, "malformed");
    server.append(&id, len, b"").assert_error(400, "malformed");
    // A bad id, a missing or bad position, an operation over the limit.
    server
        .post("/v1/collections/not-an-id/operations?seq=0", &log[0])
        .assert_error(400, "malformed");
    server
        .post(
            &format!("/v1/collections/{}/operations", id.to_text()),
            &log[0],
        )
        .assert_error(400, "malformed");
    server
        .post(
            &format!("/v1/collections/{}/operations?seq=-1", id.to_text()),
            &log[0],
        )
        .assert_error(400, "malformed");
    server
        .append(&id, len, &vec![0u8; (8 << 20) + 1])
        .assert_error(413, "too_large");
    unchanged(&server);
    assert_eq!(server.listed("bob"), BTreeSet::from([id]));

    // Honest appends go on after every refusal: the verified state is intact.
    notes.rename(&mut alice, "Notes 2", "").unwrap();
    notes.remove(&mut alice, "bob").unwrap();
    replay(&server, &memory, &id, len);
    assert_eq!(server.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
    assert!(server.listed("bob").is_empty());
    assert_eq!(server.listed("alice"), BTreeSet::from([id]));
}

#[test]
fn concurrent_appends_at_one_position_store_exactly_one() {
    let Setup {
        memory,
        mut alice,
        bob,
        mut notes,
    } = setup();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[&alice, &bob]);
    let log = replay(&server, &memory, &id, 0);
    let len = log.len() as u64;
    notes.rename(&mut alice, "Raced", "").unwrap();
    let next = memory.fetch(&id, len).unwrap().remove(0);
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.append(&id, len, &next)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(stored, 1);
    for a in answers.iter().filter(|a| a.status != 200) {
        a.assert_error(409, "conflict");
        assert_eq!(a.json()["head"], serde_json::json!(len + 1));
    }
    assert_eq!(server.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
}

#[test]
fn blobs_are_checked_against_their_id_and_never_overwritten() {
    let Setup {
        memory,
        alice,
        bob,
        notes,
    } = setup();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[&alice, &bob]);
    let id = notes.id();
    replay(&server, &memory, &id, 0);
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let hash = ciphertext_hash(&blob);

    // Bytes that do not hash to the id are refused, and nothing is stored.
    let wrong = ciphertext_hash(b"something else");
    server
        .put(&blob_path(&id, &wrong), &blob)
        .assert_error(422, "hash_mismatch");
    server
        .get(&blob_path(&id, &wrong))
        .assert_error(404, "not_found");
    let mut altered = blob.clone();
    altered[5] ^= 1;
    server
        .put(&blob_path(&id, &hash), &altered)
        .assert_error(422, "hash_mismatch");
    // Nor is anything left of them in the temporary folder.
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());

    // A good one round-trips; again is fine and changes nothing.
    let answer = server.put(&blob_path(&id, &hash), &blob);
    assert_eq!(
        (answer.status, answer.json()),
        (201, serde_json::json!({ "created": true }))
    );
    let answer = server.get(&blob_path(&id, &hash));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/octet-stream");
    assert_eq!(answer.body, blob);
    let answer = server.put(&blob_path(&id, &hash), &blob);
    assert_eq!(
        (answer.status, answer.json()),
        (200, serde_json::json!({ "created": false }))
    );
    assert_eq!(server.get(&blob_path(&id, &hash)).body, blob);
    // A large one, written and synced a piece at a time, round-trips too;
    // altered at its end it is refused, and leaves nothing behind.
    let large: Vec<u8> = (0..40u32 << 20).map(|i| ((i * 13) >> 3) as u8).collect();
    let large_hash = ciphertext_hash(&large);
    let mut late = large.clone();
    *late.last_mut().unwrap() ^= 1;
    server
        .put(&blob_path(&id, &large_hash), &late)
        .assert_error(422, "hash_mismatch");
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());
    assert_eq!(server.put(&blob_path(&id, &large_hash), &large).status, 201);
    assert!(server.get(&blob_path(&id, &large_hash)).body == large);
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());
    let empty = ciphertext_hash(b"");
    assert_eq!(server.put(&blob_path(&id, &empty), b"").status, 201);
    assert_eq!(server.get(&blob_path(&id, &empty)).body, b"");

    // Blobs belong to their collection: another one's reader is refused.
    server
        .get(&blob_path(&CollectionId([2; 16]), &hash))
        .assert_error(403, "forbidden");
    let file = data
        .path()
        .join("blobs")
        .join(id.to_text())
        .join(support::hex(&hash));
    assert_eq!(std::fs::read(file).unwrap(), blob);

    // Bad ids.
    let path = format!("/v1/collections/{}/blobs/", id.to_text());
    for bad in [
        "abc",
        &support::hex(&hash).to_uppercase(),
        &format!("{}0", support::hex(&hash)),
    ] {
        server
            .put(&format!("{path}{bad}"), &blob)
            .assert_error(400, "malformed");
        server
            .get(&format!("{path}{bad}"))
            .assert_error(400, "malformed");
    }
    server
        .get(&format!(
            "/v1/collections/nope/blobs/{}",
            support::hex(&hash)
        ))
        .assert_error(400, "malformed");
    // Nothing was left behind in the temporary folder.
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_card_is_published_by_its_own_key_and_replaced_only_by_the_previous_one() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let now = system_time();
    let alice = Account::create("alice", now).unwrap();
    let card = alice.identity().to_bytes();
    server.sign_as(&alice);

    // Before publishing, alice's key is nobody's: reading the directory
    // needs a published card.
    server
        .get("/v1/cards/alice")
        .assert_error(401, "unknown_key");
    let answer = server.put("/v1/cards/alice", &card);
    assert_eq!(
        (answer.status, answer.json()),
        (201, serde_json::json!({ "created": true }))
    );
    let answer = server.get("/v1/cards/alice");
    assert_eq!(
        (answer.status, answer.content_type.as_str()),
        (200, "application/octet-stream")
    );
    assert_eq!(answer.body, card);
    let answer = server.put("/v1/cards/alice", &card);
    assert_eq!(
        (answer.status, answer.json()),
        (200, serde_json::json!({ "created": false }))
    );

    // Another key for the same handle, signing its own card, replaces
    // nothing; the first card stays.
    let other = Account::create("alice", now).unwrap();
    let path = "/v1/cards/alice";
    let new_card = other.identity().to_bytes();
    let by_other = server.authorization(
        &sealshare::RequestSigner::for_account(&other),
        "PUT",
        path,
        &new_card,
        30,
    );
    server
        .send("PUT", path, &new_card, Some(&by_other))
        .assert_error(409, "card_exists");
    assert_eq!(server.get(path).body, card);

    // One account cannot publish another's first card, nor its own card
    // under another handle.
    let bob = Account::create("bob", now).unwrap();
    let bobs = bob.identity().to_bytes();
    let by_alice = server.authorization(
        &sealshare::RequestSigner::for_account(&alice),
        "PUT",
        "/v1/cards/bob",
        &bobs,
        30,
    );
    server
        .send("PUT", "/v1/cards/bob", &bobs, Some(&by_alice))
        .assert_error(403, "forbidden");
    server.sign_as(&bob);
    server
        .put("/v1/cards/carol", &bobs)
        .assert_error(403, "forbidden");
    let carol = Account::create("carol", now).unwrap();
    server
        .put("/v1/cards/bob", &carol.identity().to_bytes())
        .assert_error(400, "handle_mismatch");
    let mut forged = bobs.clone();
    *forged.last_mut().unwrap() ^= 1;
    server
        .put("/v1/cards/bob", &forged)
        .assert_error(400, "malformed");
    server
        .put("/v1/cards/bob", b"garbage")
        .assert_error(400, "malformed");
    server
        .put("/v1/cards/bob", &vec![0u8; 8192])
        .assert_error(413, "too_large");
    server.get("/v1/cards/bob").assert_error(404, "not_found");
    assert_eq!(server.put("/v1/cards/bob", &bobs).status, 201);
    assert_eq!(server.get("/v1/cards/bob").body, bobs);

    // The published key signs its replacement: the new card is served,
    // and the change recorded.
    let by_previous = server.authorization(
        &sealshare::RequestSigner::for_account(&alice),
        "PUT",
        path,
        &new_card,
        30,
    );
    let answer = server.send("PUT", path, &new_card, Some(&by_previous));
    assert_eq!(answer.status, 201, "{}", answer.message());
    let by_bob = server.authorization(
        &sealshare::RequestSigner::for_account(&bob),
        "GET",
        path,
        b"",
        30,
    );
    assert_eq!(server.send("GET", path, b"", Some(&by_bob)).body, new_card);
    // The replaced key is nobody's any more.
    server.get(path).assert_error(401, "unknown_key");
    server.stop();
    let store = support::open_store(data.path());
    assert_eq!(
        store.card_changes("alice").unwrap(),
        1,
        "one replacement recorded"
    );
    assert_eq!(store.card_changes("bob").unwrap(), 0);
}

#[test]
fn unknown_routes_and_methods_answer_json_errors() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    server.get("/").assert_error(404, "not_found");
    server.get("/v1/nothing").assert_error(404, "not_found");
    server
        .post("/v1/cards/alice", b"")
        .assert_error(405, "method_not_allowed");
    server
        .put("/v1/handles/alice/collections", b"")
        .assert_error(405, "method_not_allowed");
}

#[test]
fn the_server_refuses_plain_http_beyond_loopback() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:8080", "10.0.0.1:0"] {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("data");
        let out = server_command()
            .args(support::store_args(&dir))
            .args(["--listen", addr])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{addr}");
        assert!(
            stderr.contains("plain HTTP") && stderr.contains("--tls-cert"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
        assert!(!dir.exists(), "nothing was created for {addr}");
    }
    // Said to sit behind a TLS proxy, it serves there.
    let data = tempfile::tempdir().unwrap();
    let mut child = server_command()
        .arg("--data")
        .arg(data.path())
        .args(["--listen", "0.0.0.0:0", "--behind-proxy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("listening on 0.0.0.0:"), "{line}");
}

/// With SQLite, one server holds a data folder: a second one exits. With
/// PostgreSQL, several share the database and the folder: a second one
/// serves the same cards and logs, and what it stores the first one serves.
#[test]
fn one_data_folder_serves_one_server() {
    let data = tempfile::tempdir().unwrap();
    if !support::on_postgres() {
        let server = Server::start(data.path());
        let out = server_command()
            .args(support::store_args(data.path()))
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("in use by another process"), "{stderr}");
        server.stop();
        return;
    }
    let Setup {
        memory,
        mut alice,
        bob,
        mut notes,
    } = setup();
    let id = notes.id();
    let first = start(data.path(), &[&alice, &bob]);
    let second = Server::start(data.path());
    second.sign_as(alice.account());
    second.sign_as(bob.account());
    assert_ne!(first.pid(), second.pid());
    assert_eq!(first.server_id(), second.server_id());
    let log = replay(&first, &memory, &id, 0);
    assert_eq!(second.fetch(&id, 0), log);
    assert_eq!(
        second.get("/v1/cards/alice").body,
        alice.account().identity().to_bytes()
    );
    notes.rename(&mut alice, "Through the second", "").unwrap();
    replay(&second, &memory, &id, log.len() as u64);
    assert_eq!(first.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
    assert_eq!(first.listed("bob"), BTreeSet::from([id]));
    let blob = b"sealed through the second".to_vec();
    let hash = ciphertext_hash(&blob);
    assert_eq!(second.put(&blob_path(&id, &hash), &blob).status, 201);
    assert_eq!(first.get(&blob_path(&id, &hash)).body, blob);
    second.stop();
    first.stop();
}

#[test]
fn a_restarted_server_has_its_logs_and_rebuilds_the_verified_state() {
    let Setup {
        memory,
        mut alice,
        bob,
        mut notes,
    } = setup();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[&alice, &bob]);
    let log = replay(&server, &memory, &id, 0);
    let card = alice.account().identity().to_bytes();
    let blob = b"sealed bytes".to_vec();
    let hash = ciphertext_hash(&blob);
    assert_eq!(server.put(&blob_path(&id, &hash), &blob).status, 201);
    let pid = server.pid();
    server.stop();

    let server = Server::start(data.path());
    server.sign_as(alice.account());
    server.sign_as(bob.account());
    assert_ne!(server.pid(), pid);
    assert_eq!(server.fetch(&id, 0), log);
    assert_eq!(server.listed("bob"), BTreeSet::from([id]));
    assert_eq!(server.get("/v1/cards/alice").body, card);
    assert_eq!(server.get(&blob_path(&id, &hash)).body, blob);

    // The state is rebuilt from storage: a refused write is still refused,
    // and the next honest operation verifies and is stored.
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();
    let forged = bob
        .account()
        .sign_operation(
            id,
            log.len() as u64,
            last.hash(),
            system_time(),
            last.body().clone(),
        )
        .unwrap();
    server
        .append(&id, log.len() as u64, forged.to_bytes())
        .assert_error(422, "refused");
    notes.remove(&mut alice, "bob").unwrap();
    replay(&server, &memory, &id, log.len() as u64);
    assert_eq!(server.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
    assert!(server.listed("bob").is_empty());
    server.stop();

    // And once more, with nothing cached at all.
    let server = Server::start(data.path());
    server.sign_as(alice.account());
    assert_eq!(server.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
    notes.rename(&mut alice, "After two restarts", "").unwrap();
    let len = server.fetch(&id, 0).len() as u64;
    replay(&server, &memory, &id, len);
    assert_eq!(server.fetch(&id, 0), memory.fetch(&id, 0).unwrap());
}

#[test]
fn a_client_beyond_its_rate_is_refused_with_retry_after() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--rate-limit", "5", "--limit-loopback"]);
    let answers: Vec<_> = (0..60).map(|_| server.get("/v1/server")).collect();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    // The burst (20) passes, then the rate: most of the 60 are refused.
    assert!(refused.len() >= 30, "{} refused", refused.len());
    refused[0].assert_error(429, "rate_limited");
    assert!(answers[..20].iter().all(|a| a.status == 200));
    // Unlimited by default for loopback (a proxy on the same machine).
    let other = tempfile::tempdir().unwrap();
    let server = Server::start(other.path());
    assert!((0..200).all(|_| server.get("/v1/server").status == 200));
}

#[test]
fn a_blob_declared_over_the_limit_is_refused_before_its_body() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let addr = server.base.strip_prefix("http://").unwrap();
    let collection = CollectionId([1; 16]).to_text();
    for (method, path) in [
        (
            "PUT",
            format!(
                "/v1/collections/{collection}/blobs/{}",
                support::hex(&[0; 32])
            ),
        ),
        ("POST", format!("/v1/collections/{collection}/blobs")),
    ] {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        write!(
            tcp,
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n",
            (1u64 << 30) + 1
        )
        .unwrap();
        let mut answer = String::new();
        let _ = tcp.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{method}: {answer}");
        assert!(answer.contains("too_large"), "{method}: {answer}");
    }
    assert_eq!(
        std::fs::read_dir(data.path().join("blobs"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_streamed_blob_is_stored_under_the_hash_the_server_computes_and_signed_as_streamed() {
    let Setup {
        memory,
        alice,
        bob,
        notes,
    } = setup();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &[&alice, &bob]);
    let id = notes.id();
    replay(&server, &memory, &id, 0);
    let path = format!("/v1/collections/{}/blobs", id.to_text());
    let blob: Vec<u8> = (0..3u32 << 20).map(|i| (i * 11) as u8).collect();
    let hash = ciphertext_hash(&blob);
    let alice_signs = sealshare::RequestSigner::for_account(alice.account());

    // A signature over the body's digest is not one over a streamed body.
    let over_body = {
        let target = sealshare::RequestTarget {
            method: "POST",
            path_and_query: &path,
            body_digest: sealshare::body_digest(&blob),
            server: server.server_id(),
        };
        alice_signs
            .sign(&target, system_time() + 30)
            .unwrap()
            .to_header()
    };
    let answer = server.send("POST", &path, &blob, Some(&over_body));
    assert_eq!(answer.status, 401, "{:?}", answer.json());
    // Signed as streamed by one who may not write: refused.
    let bob_header = server.authorization(
        &sealshare::RequestSigner::for_account(bob.account()),
        "POST",
        &path,
        &blob,
        30,
    );
    server
        .send("POST", &path, &blob, Some(&bob_header))
        .assert_error(403, "forbidden");
    assert!(!blob_file(data.path(), &id, &hash).exists());
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());

    // By a writer: stored under its hash, which the answer names; again,
    // it is there already and nothing changes.
    let header = server.authorization(&alice_signs, "POST", &path, &blob, 30);
    let answer = server.send("POST", &path, &blob, Some(&header));
    assert_eq!(
        (answer.status, answer.json()),
        (
            201,
            serde_json::json!({ "created": true, "id": support::hex(&hash) })
        )
    );
    assert_eq!(
        std::fs::read(blob_file(data.path(), &id, &hash)).unwrap(),
        blob
    );
    let header = server.authorization(&alice_signs, "POST", &path, &blob, 30);
    let answer = server.send("POST", &path, &blob, Some(&header));
    assert_eq!(
        (answer.status, answer.json()),
        (
            200,
            serde_json::json!({ "created": false, "id": support::hex(&hash) })
        )
    );
    // The same signed request again is a replay.
    server
        .send("POST", &path, &blob, Some(&header))
        .assert_error(401, "replayed");
    assert_eq!(support::temporary_blobs(data.path()), Vec::<PathBuf>::new());
}

/// Where the data folder keeps the blob `hash` of `collection`.
fn blob_file(data: &std::path::Path, collection: &CollectionId, hash: &[u8; 32]) -> PathBuf {
    data.join("blobs")
        .join(collection.to_text())
        .join(support::hex(hash))
}
