#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `--quota`: what each account stores (the operations it authors, the blobs
//! it uploads) is bounded; over the bound nothing that adds content is
//! stored, while removing a member and rotating the key still are. On both
//! stores, and across a restart.

mod support;

use sealshare::{
    Client, Collection, CollectionId, MemoryRemote, Operation, Remote, Role, ciphertext_hash,
};
use support::{Server, blob_path};

/// Appends `memory`'s operations of `id` from `from` on, each answered 200.
fn replay(server: &Server, memory: &MemoryRemote, id: &CollectionId, from: usize) {
    for (seq, op) in memory.fetch(id, 0).unwrap().iter().enumerate().skip(from) {
        let answer = server.append(id, seq as u64, op);
        assert_eq!(answer.status, 200, "#{seq}: {:?}", answer.json());
    }
}

/// A blob of `len` bytes, different for each `seed`.
fn blob(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn blob_exists(data: &std::path::Path, id: &CollectionId, bytes: &[u8]) -> bool {
    data.join("blobs")
        .join(id.to_text())
        .join(support::hex(&ciphertext_hash(bytes)))
        .is_file()
}

#[test]
fn an_account_over_its_quota_adds_nothing_but_still_removes_and_rotates() {
    let (memory, mut alice, mut bob) = support::alice_and_bob();
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    Collection::open(&mut bob, notes.id())
        .unwrap()
        .accept(&mut bob)
        .unwrap();
    notes.sync(&mut alice).unwrap();
    let id = notes.id();
    // alice's operations so far, and room for 10,000 bytes of blobs.
    let alices: usize = memory
        .fetch(&id, 0)
        .unwrap()
        .iter()
        .filter(|op| Operation::from_bytes(op).unwrap().author() == "alice")
        .map(Vec::len)
        .sum();
    let quota = (alices + 10_000).to_string();

    let data = tempfile::tempdir().unwrap();
    let start = |clients: [&Client; 2], extra: &[&str]| {
        let server = Server::start_with(data.path(), extra);
        for client in clients {
            server.register(client.account());
        }
        server
    };
    let server = start([&alice, &bob], &["--quota", &quota]);
    replay(&server, &memory, &id, 0);

    // 8,000 bytes fit; 8,000 more would not, and are refused before a byte
    // is stored; 1,000 do.
    let (a, b, c) = (blob(8_000, 1), blob(8_000, 2), blob(1_000, 3));
    assert_eq!(
        server.put(&blob_path(&id, &ciphertext_hash(&a)), &a).status,
        201
    );
    server
        .put(&blob_path(&id, &ciphertext_hash(&b)), &b)
        .assert_error(507, "quota_exceeded");
    assert!(!blob_exists(data.path(), &id, &b));
    assert_eq!(
        server.put(&blob_path(&id, &ciphertext_hash(&c)), &c).status,
        201
    );
    // A blob stored already costs nothing again: 999 bytes still fit after
    // `c` is sent a second time, and then the last byte.
    assert_eq!(
        server.put(&blob_path(&id, &ciphertext_hash(&c)), &c).status,
        200
    );
    let (d, e) = (blob(999, 4), blob(1, 5));
    assert_eq!(
        server.put(&blob_path(&id, &ciphertext_hash(&d)), &d).status,
        201
    );
    assert_eq!(
        server.put(&blob_path(&id, &ciphertext_hash(&e)), &e).status,
        201
    );
    // Streamed, as sealshare-http sends large content: refused too.
    let streamed = format!("/v1/collections/{}/blobs", id.to_text());
    server
        .post(&streamed, &blob(10, 6))
        .assert_error(507, "quota_exceeded");

    // At the quota, alice still removes bob, rotating the key.
    let before = memory.fetch(&id, 0).unwrap().len();
    notes.remove(&mut alice, "bob").unwrap();
    replay(&server, &memory, &id, before);
    // But adds no file, and the log stays as it was.
    let len = memory.fetch(&id, 0).unwrap().len();
    notes
        .add_file(&mut alice, None, "b.txt", "text/plain", b"more")
        .unwrap();
    let put_item = memory.fetch(&id, len as u64).unwrap().remove(0);
    let refused = server.append(&id, len as u64, &put_item);
    refused.assert_error(507, "quota_exceeded");
    assert!(
        refused.message().contains("\"alice\" stores"),
        "{}",
        refused.message()
    );
    assert_eq!(server.fetch(&id, 0).len(), len);

    // What alice stores is kept across a restart.
    server.stop();
    let server = start([&alice, &bob], &["--quota", &quota]);
    server
        .put(&blob_path(&id, &ciphertext_hash(&b)), &b)
        .assert_error(507, "quota_exceeded");
    assert_eq!(server.append(&id, len as u64, &put_item).status, 507);

    // Without a quota, the same operation is stored.
    server.stop();
    let server = start([&alice, &bob], &[]);
    assert_eq!(server.append(&id, len as u64, &put_item).status, 200);
}
