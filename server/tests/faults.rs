#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Load and faults against the real server process: fifty clients appending
//! to one collection at once lose nothing; a server killed with SIGKILL in
//! the middle of appends and blob uploads comes back with every
//! acknowledged append and blob, and nothing half-written visible.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sealshare::{
    Account, Client, Collection, CollectionId, LogState, MemoryRemote, Remote, Role,
    ciphertext_hash, system_time,
};
use support::{Server, blob_path};

#[test]
fn fifty_clients_appending_to_one_collection_at_once_lose_nothing() {
    const CLIENTS: usize = 50;
    const EACH: usize = 3;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let now = system_time();
    let owner_account = Account::create("owner", now).unwrap();
    let mut owner = Client::new(
        owner_account.duplicate().unwrap(),
        server.remote_for(&owner_account),
    );
    let mut notes = Collection::create(&mut owner, "Load", "").unwrap();
    let mut members = Vec::new();
    let mut cards = Vec::new();
    for i in 0..CLIENTS {
        let account = Account::create(&format!("m{i}"), now).unwrap();
        let remote = server.remote_for(&account);
        owner.observe(account.identity()).unwrap();
        cards.push((account.identity().clone(), Role::Collaborator));
        let mut client = Client::new(account, remote);
        client.observe(owner.account().identity()).unwrap();
        members.push(client);
    }
    notes.share_many(&mut owner, &cards).unwrap();
    let id = notes.id();
    let mut opened: Vec<(Client, Collection)> = members
        .into_iter()
        .map(|mut client| {
            let mut c = Collection::open(&mut client, id).unwrap();
            c.accept(&mut client).unwrap();
            (client, c)
        })
        .collect();

    // All at once: each client adds its items, retrying (as an app would)
    // when the log kept moving under it.
    let written = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for (i, (client, c)) in opened.iter_mut().enumerate() {
            let written = &written;
            scope.spawn(move || {
                for j in 0..EACH {
                    let name = format!("{i}-{j}.txt");
                    loop {
                        match c.add_file(client, None, &name, "text/plain", name.as_bytes()) {
                            Ok(_) => break,
                            Err(e) if e.to_string().contains("kept moving") => continue,
                            Err(e) => panic!("{name}: {e}"),
                        }
                    }
                    written.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(written.load(Ordering::Relaxed), CLIENTS * EACH);

    // The whole log verifies from scratch, and every item is there, once.
    notes.sync(&mut owner).unwrap();
    let log = server.fetch(&id, 0);
    let mut state = LogState::empty(id);
    state.extend_from_bytes(&log, system_time()).unwrap();
    let names: std::collections::BTreeSet<String> = notes
        .items()
        .items
        .iter()
        .map(|i| i.metadata.name.clone())
        .collect();
    assert_eq!(names.len(), CLIENTS * EACH);
    for i in 0..CLIENTS {
        for j in 0..EACH {
            assert!(names.contains(&format!("{i}-{j}.txt")));
        }
    }
}

#[test]
fn a_server_killed_mid_write_keeps_every_acknowledged_append_and_blob() {
    // A long log made ahead, appended one operation at a time.
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let account = Account::create("alice", system_time()).unwrap();
    let mut alice = Client::new(account.duplicate().unwrap(), remote);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    for i in 0..1500 {
        notes.rename(&mut alice, &format!("Notes {i}"), "").unwrap();
    }
    let id: CollectionId = notes.id();
    let log = memory.fetch(&id, 0).unwrap();

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    server.register(&account);
    let acked_ops = AtomicUsize::new(0);
    let acked_blobs: Mutex<Vec<[u8; 32]>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for (seq, op) in log.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                match server.try_append(&id, seq as u64, op) {
                    Some(200) => {
                        acked_ops.store(seq + 1, Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        });
        scope.spawn(|| {
            let mut n = 0u32;
            // Blobs wait for the collection to exist.
            while acked_ops.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            while !stop.load(Ordering::Relaxed) {
                let blob: Vec<u8> = (0..(256 * 1024u32)).map(|i| (i ^ n) as u8).collect();
                let hash = ciphertext_hash(&blob);
                match server.try_put(&blob_path(&id, &hash), &blob) {
                    Some(201) => acked_blobs.lock().unwrap().push(hash),
                    _ => return,
                }
                n += 1;
            }
        });
        // Let both run, then kill the server outright.
        while acked_ops.load(Ordering::SeqCst) < 50 || acked_blobs.lock().unwrap().len() < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
    });
    let acked = acked_ops.load(Ordering::SeqCst);
    let blobs = acked_blobs.into_inner().unwrap();
    assert!(
        acked < log.len(),
        "killed before the appends ended ({acked} acknowledged)"
    );

    // Back up on the same data: every acknowledged append is there, the
    // stored log is a prefix of the log sent and verifies, and the next
    // operation is accepted where it left off.
    let server = Server::start(data.path());
    server.sign_as(&account);
    let stored = server.fetch(&id, 0);
    assert!(
        stored.len() >= acked,
        "{} stored, {acked} acknowledged",
        stored.len()
    );
    assert_eq!(stored[..], log[..stored.len()], "a prefix of what was sent");
    let mut state = LogState::empty(id);
    state.extend_from_bytes(&stored, system_time()).unwrap();
    if stored.len() < log.len() {
        let answer = server.append(&id, stored.len() as u64, &log[stored.len()]);
        assert_eq!(answer.status, 200, "{}", answer.message());
    }
    // Every acknowledged blob reads back whole; every blob file there is
    // whole (named by its own hash); nothing is left in the temporary folder.
    for hash in &blobs {
        let answer = server.get(&blob_path(&id, hash));
        assert_eq!(answer.status, 200);
        assert_eq!(ciphertext_hash(&answer.body), *hash);
    }
    let dir = data.path().join("blobs").join(id.to_text());
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            support::hex(&ciphertext_hash(&bytes)),
            path.file_name().unwrap().to_string_lossy(),
            "no half-written blob under its name"
        );
    }
    assert_eq!(half_written(&data.path().join("tmp")), Vec::<String>::new());
}

/// The files in the temporary folder (and its per-process folders, on
/// PostgreSQL) but their locks: blobs being written, or left half-written.
fn half_written(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(half_written(&path));
        } else if path.file_name().is_some_and(|n| n != "lock") {
            out.push(path.display().to_string());
        }
    }
    out
}
