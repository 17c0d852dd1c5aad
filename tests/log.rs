#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The log on its own: checkpoints, batch verification of long runs, and that
//! no altered byte of an operation is ever accepted.

mod support;

use sealshare::{Collection, Error, LogState, Operation, Role, Violation};
use support::{TestClock, TestServer, introduce, user};

#[test]
fn checkpoint_restores_the_state_and_verifies_only_what_is_new() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut coll = Collection::create(&mut alice, "Notes", "d").unwrap();
    let folder = coll.add_folder(&mut alice, None, "f").unwrap();
    let file = coll
        .add_file(&mut alice, Some(folder), "a", "text/plain", b"one")
        .unwrap();
    coll.share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    coll.remove(&mut alice, "bob").unwrap();
    coll.update_file(&mut alice, file, None, b"two").unwrap();

    let saved = coll.to_checkpoint(alice.account()).unwrap();
    let mut restored = Collection::from_checkpoint(alice.account(), &saved).unwrap();
    assert_eq!(restored.state().len(), coll.state().len());
    assert_eq!(restored.state().head(), coll.state().head());
    assert_eq!(restored.history(), coll.history());
    assert_eq!(restored.items().unwrap(), coll.items().unwrap());
    assert_eq!(restored.read(&alice, file).unwrap(), b"two");
    assert_eq!(restored.read_version(&alice, file, 1).unwrap(), b"one");

    // New operations after the checkpoint are verified onto it.
    coll.add_folder(&mut alice, None, "later").unwrap();
    assert_eq!(restored.sync(&mut alice).unwrap(), 1);
    assert_eq!(restored.state().head(), coll.state().head());

    // Only the account that sealed it opens it; any altered byte is refused.
    assert!(matches!(
        Collection::from_checkpoint(bob.account(), &saved),
        Err(Error::DecryptionFailed)
    ));
    for i in 0..saved.len() {
        let mut bad = saved.clone();
        bad[i] ^= 0x01;
        assert!(
            Collection::from_checkpoint(alice.account(), &bad).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn checkpoint_server_rollback_below_it_is_detected() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    coll.add_folder(&mut alice, None, "f").unwrap();
    let saved = coll.to_checkpoint(alice.account()).unwrap();
    let log = server.log(&coll.id());
    server.set_log(&coll.id(), log[..1].to_vec());
    let mut restored = Collection::from_checkpoint(alice.account(), &saved).unwrap();
    assert!(matches!(
        restored.sync(&mut alice),
        Err(Error::RolledBack { verified: 2, .. })
    ));
}

/// A long log (past the batch threshold) with members joining mid-way verifies in
/// one batch; a bad signature in the middle stops exactly there.
#[test]
fn long_runs_verify_in_batches_and_stop_at_the_first_bad_signature() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut coll = Collection::create(&mut alice, "Big", "").unwrap();
    for i in 0..20 {
        coll.add_folder(&mut alice, None, &format!("a{i}")).unwrap();
    }
    coll.share(&mut alice, bob.account().identity(), Role::Collaborator)
        .unwrap();
    let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
    bobs.accept(&mut bob).unwrap();
    for i in 0..20 {
        bobs.add_folder(&mut bob, None, &format!("b{i}")).unwrap();
    }
    let log = server.log(&coll.id());
    assert!(log.len() > 40);
    let mut state = LogState::empty(coll.id());
    state.extend_from_bytes(&log).unwrap();
    assert_eq!(state.len(), log.len() as u64);
    assert_eq!(state.items().len(), 40);

    // Corrupt one signature (the last byte of op 30): the prefix stays.
    let mut bad = log.clone();
    let last = bad[30].len() - 1;
    bad[30][last] ^= 0x80;
    let mut state = LogState::empty(coll.id());
    let err = state.extend_from_bytes(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                seq: 30,
                violation: Violation::BadSignature { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state.len(), 30);

    // Bob's operations before he was added are refused even inside a batch.
    let bobs_op = Operation::from_bytes(&log[log.len() - 1]).unwrap();
    let mut spliced = log[..5].to_vec();
    let prev = Operation::from_bytes(&log[4]).unwrap();
    let early = bob
        .account()
        .sign_operation(coll.id(), 5, prev.hash(), prev.time, bobs_op.body.clone())
        .unwrap();
    spliced.push(early.to_bytes().to_vec());
    spliced.extend(log[6..].iter().cloned());
    let mut state = LogState::empty(coll.id());
    let err = state.extend_from_bytes(&spliced).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                seq: 5,
                violation: Violation::NotAMember { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state.len(), 5);
}

#[test]
fn every_altered_byte_of_an_operation_is_refused() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut coll = Collection::create(&mut alice, "c", "").unwrap();
    coll.add_file(&mut alice, None, "f", "text/plain", b"x")
        .unwrap();
    coll.share(&mut alice, bob.account().identity(), Role::Viewer)
        .unwrap();
    coll.remove(&mut alice, "bob").unwrap();
    let log = server.log(&coll.id());
    for (n, op) in log.iter().enumerate() {
        let mut prefix = LogState::empty(coll.id());
        prefix.extend_from_bytes(&log[..n]).unwrap();
        for i in 0..op.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = op.clone();
                bad[i] ^= bit;
                let mut state = prefix.clone();
                assert!(state.extend_from_bytes(&[bad]).is_err(), "op {n} byte {i}");
                assert_eq!(state.len(), n as u64);
            }
        }
    }
}

#[test]
fn operations_round_trip_byte_for_byte() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut coll = Collection::create(&mut alice, "c", "").unwrap();
    coll.add_folder(&mut alice, None, "f").unwrap();
    for bytes in server.log(&coll.id()) {
        let op = Operation::from_bytes(&bytes).unwrap();
        assert_eq!(op.to_bytes(), &bytes[..]);
        let resigned = alice
            .account()
            .sign_operation(op.collection, op.seq, op.prev, op.time, op.body.clone())
            .unwrap();
        assert_eq!(resigned.signed_bytes(), op.signed_bytes());
    }
    assert!(matches!(
        Operation::from_bytes(&[1, 0x10]),
        Err(sealshare::DecodeError::Truncated { .. })
    ));
}
