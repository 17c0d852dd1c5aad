#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Several server processes on one PostgreSQL database and one data folder
//! (`SEALSHARE_TEST_STORE=postgres`; with SQLite, which one process holds,
//! these tests have nothing to check and say so): racing appends through
//! both store exactly one, a request replayed to the other process is
//! refused, each process's temporary folder is its own, and a long poll on
//! one process wakes on an append through the other.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealshare::{Client, Collection, MemoryRemote, Remote, RequestSigner, Role};
use support::{Server, blob_path};

/// False, with a note, on the SQLite run.
fn on_postgres(test: &str) -> bool {
    let on = support::on_postgres();
    if !on {
        eprintln!(
            "{test}: runs on PostgreSQL only (SEALSHARE_TEST_STORE=postgres); nothing to do on SQLite"
        );
    }
    on
}

/// alice's collection, shared with bob, on an in-memory store.
fn notes() -> (Arc<MemoryRemote>, Client, Client, Collection) {
    let (memory, mut alice, bob) = support::alice_and_bob();
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"hello")
        .unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    (memory, alice, bob, notes)
}

#[test]
fn two_processes_on_one_database_store_one_of_racing_appends_and_refuse_replays() {
    if !on_postgres("two_processes_on_one_database") {
        return;
    }
    let (memory, mut alice, bob, mut notes) = notes();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let first = Server::start(data.path());
    first.register(alice.account());
    first.register(bob.account());
    let second = Server::start(data.path());
    second.sign_as(alice.account());
    second.sign_as(bob.account());
    assert_ne!(first.pid(), second.pid());
    assert_eq!(
        first.server_id(),
        second.server_id(),
        "one database, one id"
    );

    // A log long enough that rebuilding its verified state takes a while,
    // appended through both processes.
    for i in 0..150 {
        notes.rename(&mut alice, &format!("Notes {i}"), "").unwrap();
    }
    let log = memory.fetch(&id, 0).unwrap();
    for (seq, op) in log.iter().enumerate() {
        let server = if seq < log.len() / 2 { &first } else { &second };
        assert_eq!(server.append(&id, seq as u64, op).status, 200, "#{seq}");
    }
    let len = log.len() as u64;
    // Each process has its database connections open (a burst of reads)...
    let burst = |server: &Server| {
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| assert_eq!(server.fetch(&id, 0).len(), log.len()));
            }
        });
    };
    burst(&first);
    burst(&second);
    // ... and a stale verified state: a third process appends one more.
    notes.rename(&mut alice, "By a third process", "").unwrap();
    let third = Server::start(data.path());
    third.sign_as(alice.account());
    let by_third = memory.fetch(&id, len).unwrap().remove(0);
    assert_eq!(third.append(&id, len, &by_third).status, 200);
    third.stop();
    let len = len + 1;
    notes.rename(&mut alice, "Raced", "").unwrap();
    let next = memory.fetch(&id, len).unwrap().remove(0);

    // 8 threads through each process append the same operation at the same
    // position, all at once: exactly one is stored, every other is a
    // conflict. Both processes rebuild their state first, inside the
    // transaction (under the lock), so their appends overlap.
    let start = std::sync::Barrier::new(16);
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let server = if i % 2 == 0 { &first } else { &second };
                let (next, start) = (&next, &start);
                scope.spawn(move || {
                    start.wait();
                    server.append(&id, len, next)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_error(409, "conflict");
        assert_eq!(answer.json()["head"], serde_json::json!(len + 1));
    }
    let full = memory.fetch(&id, 0).unwrap();
    assert_eq!(first.fetch(&id, 0), full);
    assert_eq!(second.fetch(&id, 0), full);
    // Whichever process won, the other's cached state is checked against
    // the stored log: the next operation verifies through either.
    notes.rename(&mut alice, "After the race", "").unwrap();
    let after = memory.fetch(&id, len + 1).unwrap().remove(0);
    assert_eq!(second.append(&id, len + 1, &after).status, 200);
    assert_eq!(first.fetch(&id, 0), memory.fetch(&id, 0).unwrap());

    // A request accepted by one process is refused as replayed by the
    // other, both ways.
    let path = format!("/v1/collections/{}/operations?from=0", id.to_text());
    let signer = RequestSigner::for_account(bob.account());
    let header = first.authorization(&signer, "GET", &path, b"", 30);
    assert_eq!(first.send("GET", &path, b"", Some(&header)).status, 200);
    second
        .send("GET", &path, b"", Some(&header))
        .assert_error(401, "replayed");
    let header = second.authorization(&signer, "GET", &path, b"", 30);
    assert_eq!(second.send("GET", &path, b"", Some(&header)).status, 200);
    first
        .send("GET", &path, b"", Some(&header))
        .assert_error(401, "replayed");

    // Blobs are shared through the folder; each process writes them in its
    // own temporary folder, removed when it stops.
    let blob = b"sealed".to_vec();
    let hash = sealshare::ciphertext_hash(&blob);
    assert_eq!(first.put(&blob_path(&id, &hash), &blob).status, 201);
    assert_eq!(second.put(&blob_path(&id, &hash), &blob).status, 200);
    assert_eq!(second.get(&blob_path(&id, &hash)).body, blob);
    assert_eq!(
        std::fs::read_dir(data.path().join("tmp")).unwrap().count(),
        2
    );
    first.stop();
    second.stop();
    assert_eq!(
        std::fs::read_dir(data.path().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn a_wait_on_one_process_wakes_on_an_append_through_another() {
    if !on_postgres("a_wait_on_one_process_wakes_on_an_append_through_another") {
        return;
    }
    let (memory, alice, _bob, mut notes) = notes();
    let id = notes.id();
    let data = tempfile::tempdir().unwrap();
    let first = Server::start(data.path());
    first.register(alice.account());
    let second = Server::start(data.path());
    second.sign_as(alice.account());
    let mut alice = alice;
    let log = memory.fetch(&id, 0).unwrap();
    for (seq, op) in log.iter().enumerate() {
        assert_eq!(first.append(&id, seq as u64, op).status, 200, "#{seq}");
    }
    let len = log.len() as u64;
    notes.rename(&mut alice, "Renamed", "").unwrap();
    let next = memory.fetch(&id, len).unwrap().remove(0);

    let path = format!("/v1/wait?c={}:{len}&timeout=30", id.to_text());
    let waiter = {
        let http = (*first).clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let answer = http.get(&path);
            (answer, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(second.append(&id, len, &next).status, 200);
    let (answer, took) = waiter.join().unwrap();
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.json(),
        serde_json::json!({ "changed": [{ "collection": id.to_text(), "head": len + 1 }] })
    );
    assert!(took >= Duration::from_millis(400), "it waited: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "woken by the append through the other process: {took:?}"
    );
    first.stop();
    second.stop();
}

#[test]
fn a_killed_process_temporary_folder_is_removed_by_the_next_but_a_live_ones_is_kept() {
    if !on_postgres("a_killed_process_temporary_folder") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let tmp = data.path().join("tmp");
    let folders = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let killed = Server::start(data.path());
    let live = Server::start(data.path());
    let of = |server: &Server| format!("{}-", server.pid());
    let two = folders();
    assert_eq!(two.len(), 2, "{two:?}");
    // Killed without a chance to clean up: its folder stays until the next
    // process starts, which removes it and keeps the live one's.
    let killed_prefix = of(&killed);
    drop(killed);
    assert!(folders().iter().any(|n| n.starts_with(&killed_prefix)));
    let next = Server::start(data.path());
    let now = folders();
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(
        !now.iter().any(|n| n.starts_with(&killed_prefix)),
        "{now:?}"
    );
    assert!(now.iter().any(|n| n.starts_with(&of(&live))), "{now:?}");
    assert!(now.iter().any(|n| n.starts_with(&of(&next))), "{now:?}");
    next.stop();
    live.stop();
    assert!(folders().is_empty());
}

#[test]
fn a_sqlite_server_does_not_open_a_folder_postgres_servers_use() {
    if !on_postgres("a_sqlite_server_does_not_open_a_folder_postgres_servers_use") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let out = support::server_command()
        .arg("--data")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    // The server's temporary folder is untouched, and it goes on serving.
    assert_eq!(
        std::fs::read_dir(data.path().join("tmp")).unwrap().count(),
        1
    );
    assert_eq!(server.send("GET", "/v1/server", b"", None).status, 200);
    server.stop();
}

/// The certificate of the tests' cluster (scripts/postgres.sh), which
/// names only 127.0.0.1.
fn cluster_certificate() -> String {
    let ca = std::env::var("SEALSHARE_TEST_POSTGRES_CA").unwrap_or_default();
    assert!(
        !ca.is_empty() && std::path::Path::new(&ca).is_file(),
        "SEALSHARE_TEST_STORE=postgres needs SEALSHARE_TEST_POSTGRES_CA, the cluster's certificate \
         (run `eval \"$(bash scripts/postgres.sh start)\"` first)"
    );
    ca
}

/// A server process started with these arguments, and what it said on
/// failing to start.
fn failed_start(args: &[&std::ffi::OsStr]) -> String {
    let out = support::server_command()
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "started with {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn with_sslmode_require_every_connection_is_tls_to_the_certificate_trusted_for_the_host() {
    if !on_postgres(
        "with_sslmode_require_every_connection_is_tls_to_the_certificate_trusted_for_the_host",
    ) {
        return;
    }
    let ca = cluster_certificate();
    let data = tempfile::tempdir().unwrap();
    let url = support::create_database();
    let name = url.rsplit_once('/').unwrap().1.to_owned();
    let tls_url = format!("{url}?sslmode=require");

    // Trusting the cluster's certificate: served, and every connection the
    // server holds (its writer, its listener, its pool) is encrypted.
    let mut command = support::server_command();
    command
        .arg("--data")
        .arg(data.path())
        .args(["--postgres", &tls_url, "--postgres-roots", &ca])
        .args(["--listen", "127.0.0.1:0"]);
    let server = Server::spawn(command);
    let (memory, alice, bob, notes) = notes();
    let _ = server.remote_for(alice.account());
    let _ = server.remote_for(bob.account());
    let ops = memory.fetch(&notes.id(), 0).unwrap();
    for (seq, op) in ops.iter().enumerate() {
        assert_eq!(server.append(&notes.id(), seq as u64, op).status, 200);
    }
    assert_eq!(server.fetch(&notes.id(), 0), ops);
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT a.application_name, s.ssl FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = $1 AND a.application_name LIKE 'sealshare-server%'",
            &[&name],
        )
        .unwrap();
    let connections: Vec<(String, bool)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(connections.len() >= 2, "{connections:?}");
    assert!(
        connections
            .iter()
            .any(|(app, _)| app.ends_with(" listener")),
        "{connections:?}"
    );
    assert!(connections.iter().all(|(_, ssl)| *ssl), "{connections:?}");
    server.stop();

    // Refused at start, with the reason: a certificate that is not the
    // cluster's; the cluster's own for a host it does not name; roots that
    // are no certificate.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let other_ca = data.path().join("other.pem");
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let junk = data.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let by_name = tls_url.replace("127.0.0.1", "localhost");
    let ca = std::path::PathBuf::from(ca);
    for (url, roots, reason) in [
        (&tls_url, &other_ca, "UnknownIssuer"),
        (&by_name, &ca, "not valid for name"),
        (&tls_url, &junk, "TLS to PostgreSQL"),
    ] {
        let stderr = failed_start(&[
            "--data".as_ref(),
            data.path().as_os_str(),
            "--postgres".as_ref(),
            url.as_ref(),
            "--postgres-roots".as_ref(),
            roots.as_os_str(),
        ]);
        assert!(
            stderr.contains("cannot open the PostgreSQL store") && stderr.contains(reason),
            "{stderr}"
        );
    }
}
