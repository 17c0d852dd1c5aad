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
    assert_eq!(
        restored.items().complete().unwrap(),
        coll.items().complete().unwrap()
    );
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
    state.extend_from_bytes(&log, u64::MAX).unwrap();
    assert_eq!(state.len(), log.len() as u64);
    assert_eq!(state.items().len(), 40);

    // Corrupt one signature in the middle (op 30): the prefix stays. The
    // corruption must get past the encoding checks, so that the batch equation
    // itself has to catch it: flipping a high bit of `s` would make it
    // non-canonical and a bad encoding of `R` would not decompress, and both are
    // refused before any arithmetic. So one change keeps `s` canonical (its
    // lowest byte, with `s` far below the group order) and the other replaces
    // `R` by another valid point of large order (the signer's public key).
    let op30 = Operation::from_bytes(&log[30]).unwrap();
    let sig_at = log[30].len() - 64;
    assert_eq!(&log[30][sig_at..], &op30.signature().to_bytes()[..]);
    let author_key = if op30.author() == "alice" {
        alice.account().identity().signing_key().to_bytes()
    } else {
        bob.account().identity().signing_key().to_bytes()
    };
    let low_s = |op: &mut Vec<u8>| op[sig_at + 32] ^= 0x01;
    let other_r = |op: &mut Vec<u8>| op[sig_at..sig_at + 32].copy_from_slice(&author_key);
    for (what, corrupt) in [
        ("low byte of s", &low_s as &dyn Fn(&mut Vec<u8>)),
        ("R replaced by a valid point", &other_r),
    ] {
        let mut bad = log.clone();
        corrupt(&mut bad[30]);
        assert_ne!(bad[30], log[30], "{what}");
        // Still a well-formed signature: `s` canonical (top byte at most 0x0f,
        // below the group order's 0x10) and `R` a valid point of large order.
        let sig = Operation::from_bytes(&bad[30])
            .unwrap()
            .signature()
            .to_bytes();
        assert!(sig[63] < 0x10, "{what}: s must stay canonical");
        let r: [u8; 32] = sig[..32].try_into().unwrap();
        assert!(
            sealshare::internal::crypto::sign::VerifyingKey::from_bytes(&r).is_ok(),
            "{what}: R must stay a valid point"
        );
        let mut state = LogState::empty(coll.id());
        let err = state.extend_from_bytes(&bad, u64::MAX).unwrap_err();
        assert!(
            matches!(
                &err,
                sealshare::internal::log::VerifyError::InvalidOperation {
                    seq: 30,
                    violation: Violation::BadSignature { author },
                    ..
                } if *author == op30.author()
            ),
            "{what}: {err:?}"
        );
        assert_eq!(state.len(), 30, "{what}");
    }

    // Bob's operations before he was added are refused even inside a batch.
    let bobs_op = Operation::from_bytes(&log[log.len() - 1]).unwrap();
    let mut spliced = log[..5].to_vec();
    let prev = Operation::from_bytes(&log[4]).unwrap();
    let early = bob
        .account()
        .sign_operation(
            coll.id(),
            5,
            prev.hash(),
            prev.time(),
            bobs_op.body().clone(),
        )
        .unwrap();
    spliced.push(early.to_bytes().to_vec());
    spliced.extend(log[6..].iter().cloned());
    let mut state = LogState::empty(coll.id());
    let err = state.extend_from_bytes(&spliced, u64::MAX).unwrap_err();
    assert!(
        matches!(
            err,
            sealshare::internal::log::VerifyError::InvalidOperation {
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
        prefix.extend_from_bytes(&log[..n], u64::MAX).unwrap();
        for i in 0..op.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = op.clone();
                bad[i] ^= bit;
                let mut state = prefix.clone();
                assert!(
                    state.extend_from_bytes(&[bad], u64::MAX).is_err(),
                    "op {n} byte {i}"
                );
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
            .sign_operation(
                op.collection(),
                op.seq(),
                *op.prev(),
                op.time(),
                op.body().clone(),
            )
            .unwrap();
        assert_eq!(resigned.signed_bytes(), op.signed_bytes());
    }
    assert!(matches!(
        Operation::from_bytes(&[1, 0x10]),
        Err(sealshare::DecodeError::Truncated { .. })
    ));
}

#[test]
fn a_restored_checkpoint_rebuilds_the_folder_tree_for_cycle_checks() {
    let server = TestServer::new();
    let clock = TestClock::at(100);
    let mut alice = user("alice", &server, &clock);
    let mut coll = Collection::create(&mut alice, "Tree", "").unwrap();
    let a = coll.add_folder(&mut alice, None, "a").unwrap();
    let b = coll.add_folder(&mut alice, Some(a), "b").unwrap();
    let c = coll.add_folder(&mut alice, Some(b), "c").unwrap();
    let d = coll.add_folder(&mut alice, None, "d").unwrap();
    coll.move_item(&mut alice, d, Some(c)).unwrap();
    let cycle = |coll: &mut Collection, alice: &mut sealshare::Client, from, into| match coll
        .move_item(alice, from, Some(into))
    {
        Err(Error::InvalidArgument(why)) => why
            .strip_prefix("bad parent folder: ")
            .unwrap_or(&why)
            .to_owned(),
        other => panic!("{other:?}"),
    };
    let saved = coll.to_checkpoint(alice.account()).unwrap();
    let mut restored = Collection::from_checkpoint(alice.account(), &saved).unwrap();
    for into in [a, b, c, d] {
        assert_eq!(
            cycle(&mut restored, &mut alice, a, into),
            "a folder cannot be inside itself"
        );
    }
    // Moves after the restore are checked against the rebuilt tree.
    restored.move_item(&mut alice, d, None).unwrap();
    restored.move_item(&mut alice, a, Some(d)).unwrap();
    assert_eq!(
        cycle(&mut restored, &mut alice, d, c),
        "a folder cannot be inside itself"
    );
    coll.sync(&mut alice).unwrap();
    assert_eq!(coll.state().head(), restored.state().head());
    assert_eq!(
        cycle(&mut coll, &mut alice, d, b),
        "a folder cannot be inside itself"
    );
}
