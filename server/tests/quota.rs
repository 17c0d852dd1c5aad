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
use std::io::Write as _;

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

#[test]
fn past_its_quota_an_account_goes_only_so_far_with_operations_that_add_no_content() {
    let (memory, mut alice, _) = support::alice_and_bob();
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let item = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"hello")
        .unwrap();
    let id = notes.id();
    // Exactly what alice's operations take: she is at her quota, and may go
    // as far again (the quota is under 16 MiB) with the others.
    let quota: usize = memory.fetch(&id, 0).unwrap().iter().map(Vec::len).sum();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--quota", &quota.to_string()]);
    server.register(alice.account());
    replay(&server, &memory, &id, 0);

    // Trashing and restoring again and again is stored until the grace is
    // spent, then refused: the log stops growing.
    let mut past = 0usize;
    let mut refused = None;
    for round in 0..1_000 {
        if round % 2 == 0 {
            notes.trash(&mut alice, item).unwrap();
        } else {
            notes.restore(&mut alice, item).unwrap();
        }
        let seq = memory.fetch(&id, 0).unwrap().len() - 1;
        let op = memory.fetch(&id, seq as u64).unwrap().remove(0);
        let answer = server.append(&id, seq as u64, &op);
        if answer.status == 200 {
            past += op.len();
        } else {
            answer.assert_error(507, "quota_exceeded");
            refused = Some(seq);
            break;
        }
    }
    let seq = refused.expect("the grace ran out");
    assert!(
        past > 0 && past <= quota,
        "{past} bytes past a quota of {quota}"
    );
    assert_eq!(server.fetch(&id, 0).len(), seq);
}

#[test]
fn a_streamed_upload_is_refused_once_it_passes_the_room_left_and_stores_nothing() {
    let (memory, mut alice, _) = support::alice_and_bob();
    let notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let id = notes.id();
    let ops: usize = memory.fetch(&id, 0).unwrap().iter().map(Vec::len).sum();
    let quota = (ops + (4 << 20)).to_string();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--quota", &quota]);
    server.register(alice.account());
    replay(&server, &memory, &id, 0);
    let remote = server.remote_for(alice.account());

    // 12 MiB, streamed as sealshare-http streams what passes 8 MiB: no
    // length is declared, so the server stops it once it passes 4 MiB, and
    // still answers with the reason.
    let large = blob(12 << 20, 7);
    let mut upload = remote.upload_blob(&id).unwrap();
    let written = upload.write_all(&large);
    let err = match written {
        Ok(()) => upload.finish(&ciphertext_hash(&large)).unwrap_err(),
        Err(e) => sealshare::Error::from(e),
    };
    assert!(
        matches!(&err, sealshare::Error::Remote(m) if m.contains("507 quota_exceeded")),
        "{err}"
    );
    assert!(!blob_exists(data.path(), &id, &large));
    assert_eq!(
        support::temporary_blobs(data.path()),
        Vec::<std::path::PathBuf>::new()
    );
    // What fits is stored.
    let small = blob(1 << 20, 8);
    remote
        .put_blob(&id, &ciphertext_hash(&small), &small)
        .unwrap();
}
