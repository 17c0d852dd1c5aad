#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `sealshare-server reset-account` against the server's store, as an
//! operator runs it: refused while a server holds a SQLite data folder
//! (changing nothing), made beside running servers on PostgreSQL; the reset
//! card then served with the time of the reset (`sealshare-card-reset`),
//! and the old key's requests refused. The command line's side is in
//! `cli/tests/server.rs`.

mod support;

use sealshare::{Account, system_time};
use support::{Server, on_postgres, server_command, store_args};

#[test]
fn a_reset_account_is_served_with_its_time_and_waits_for_a_sqlite_server_to_stop() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let (alice, bob) = (
        Account::create("alice", system_time()).unwrap(),
        Account::create("bob", system_time()).unwrap(),
    );
    server.register(&alice);
    server.register(&bob);
    let old = server.get("/v1/cards/alice");
    assert_eq!(old.status, 200);
    assert_eq!(old.card_reset, None, "never reset");

    // The new card, in its text form (`sealshare identity export`), which
    // the command takes as well as the bytes.
    let new = Account::create("alice", system_time()).unwrap();
    let file = data.path().join("alice.card");
    std::fs::write(&file, new.identity().to_text()).unwrap();
    let reset = || {
        server_command()
            .arg("reset-account")
            .args(store_args(data.path()))
            .arg("--card")
            .arg(&file)
            .arg("alice")
            .output()
            .unwrap()
    };

    let before = system_time();
    // The first server, still running on PostgreSQL; and one started since.
    let (_running, fresh) = if on_postgres() {
        // Beside a running server: the database serializes the reset with
        // every publication; a second server shares the folder.
        let done = reset();
        assert!(done.status.success(), "{done:?}");
        (Some(server), Server::start(data.path()))
    } else {
        let busy = reset();
        assert_eq!(busy.status.code(), Some(1), "{busy:?}");
        let said = String::from_utf8_lossy(&busy.stderr);
        assert!(said.contains("stop it"), "{said}");
        assert_eq!(server.get("/v1/cards/alice").body, old.body, "unchanged");
        server.stop();
        let done = reset();
        assert!(done.status.success(), "{done:?}");
        (None, Server::start(data.path()))
    };
    let after = system_time();

    // Asked by bob: the new card, and when the reset was made.
    fresh.sign_as(&bob);
    let served = fresh.get("/v1/cards/alice");
    assert_eq!(served.body, new.identity().to_bytes());
    let at: u64 = served
        .card_reset
        .as_deref()
        .expect("the reset's time")
        .parse()
        .unwrap();
    assert!((before..=after).contains(&at), "{at} in {before}..={after}");
    assert_eq!(fresh.get("/v1/cards/bob").card_reset, None);
    // The old key is nobody's any more.
    fresh
        .send(
            "GET",
            "/v1/cards/bob",
            b"",
            Some(&fresh.authorization(
                &sealshare::RequestSigner::for_account(&alice),
                "GET",
                "/v1/cards/bob",
                b"",
                30,
            )),
        )
        .assert_error(401, "unknown_key");
}
