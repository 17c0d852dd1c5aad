#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The malicious server and the malicious member: every attack from SECURITY.md's
//! threat model on collections, each refused with the right error, with nothing
//! verified before lost.

mod support;

use sealshare::internal::collection::Client;
use sealshare::internal::log::{Body, Grant, ItemHeader, Rotation};
use sealshare::{CardTrust, Collection, CollectionId, Error, ItemId, Operation, Role, Violation};
use support::{TestClock, TestServer, introduce, refused, user};

/// Alice (owner), Bob (viewer), Carol (collaborator), Dave (admin), Erin (editor),
/// all accepted; Alice added one file.
struct World {
    server: std::sync::Arc<TestServer>,
    clock: TestClock,
    alice: Client,
    bob: Client,
    carol: Client,
    dave: Client,
    erin: Client,
    coll: Collection,
    file: ItemId,
}

fn world() -> World {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let mut carol = user("carol", &server, &clock);
    let mut dave = user("dave", &server, &clock);
    let mut erin = user("erin", &server, &clock);
    introduce(&mut [&mut alice, &mut bob, &mut carol, &mut dave, &mut erin]);
    let mut coll = Collection::create(&mut alice, "Vault", "").unwrap();
    let file = coll
        .add_file(&mut alice, None, "alice.txt", "text/plain", b"by alice")
        .unwrap();
    coll.share_many(
        &mut alice,
        &[
            (bob.account().identity().clone(), Role::Viewer),
            (carol.account().identity().clone(), Role::Collaborator),
            (dave.account().identity().clone(), Role::Admin),
            (erin.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();
    for c in [&mut bob, &mut carol, &mut dave, &mut erin] {
        let mut mine = Collection::open(c, coll.id()).unwrap();
        mine.accept(c).unwrap();
    }
    coll.sync(&mut alice).unwrap();
    clock.advance(60);
    World {
        server,
        clock,
        alice,
        bob,
        carol,
        dave,
        erin,
        coll,
        file,
    }
}

fn forge_at(w: &World, client: &Client, body: Body, time: u64) -> Operation {
    support::forge(&w.server, w.coll.id(), client, body, time)
}

fn forge(w: &World, client: &Client, body: Body) -> Operation {
    forge_at(w, client, body, w.clock.now())
}

/// Alice syncs and must see exactly this violation at the forged operation, with
/// everything before it kept.
fn assert_refused(w: &mut World, expect: impl Fn(&Violation) -> bool) {
    let before = w.coll.state().len();
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    match &err {
        Error::InvalidOperation { seq, violation, .. } => {
            assert_eq!(*seq, before, "the forged operation is the one refused");
            assert!(expect(violation), "unexpected violation: {violation:?}");
        }
        other => panic!("expected an invalid operation, got {other:?}"),
    }
    assert_eq!(w.coll.state().len(), before, "the verified prefix stays");
    assert_eq!(w.coll.read(&w.alice, w.file).unwrap(), b"by alice");
    // A fresh reader sees the same: the prefix verifies, the forgery does not.
    let fresh = Collection::open(&mut w.alice, w.coll.id());
    assert!(fresh.is_err());
}

fn role_too_low(v: &Violation) -> bool {
    matches!(v, Violation::RoleTooLow { .. })
}

/// A header for a new item, copied from an existing one (the attacker's client
/// can build any header; the rules decide).
fn header_like(w: &World, item: ItemId, version: u32) -> ItemHeader {
    let rec = &w.coll.state().items()[&w.file];
    let mut h = rec.latest.header.clone();
    h.item = item;
    h.version = version;
    h
}

#[test]
fn viewer_cannot_add_an_item() {
    let mut w = world();
    let h = header_like(&w, ItemId::random().unwrap(), 1);
    forge(&w, &w.bob, Body::PutItem(Box::new(h)));
    assert_refused(&mut w, role_too_low);
}

#[test]
fn viewer_cannot_edit_an_item() {
    let mut w = world();
    let h = header_like(&w, w.file, 2);
    forge(&w, &w.bob, Body::PutItem(Box::new(h)));
    assert_refused(&mut w, role_too_low);
}

#[test]
fn viewer_cannot_trash_an_item() {
    let mut w = world();
    forge(&w, &w.bob, Body::Trash { item: w.file });
    assert_refused(&mut w, role_too_low);
}

#[test]
fn honest_client_refuses_to_send_what_the_rules_forbid() {
    let mut w = world();
    let mut bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    let before = w.server.log(&w.coll.id()).len();
    assert_eq!(
        refused(bobs.trash(&mut w.bob, w.file)),
        Violation::RoleTooLow {
            author: "bob".into(),
            role: Role::Viewer,
            action: sealshare::internal::log::Action::EditAnyItem,
        }
    );
    assert_eq!(w.server.log(&w.coll.id()).len(), before, "nothing was sent");
}

#[test]
fn collaborator_cannot_trash_someone_elses_item() {
    let mut w = world();
    forge(&w, &w.carol, Body::Trash { item: w.file });
    assert_refused(&mut w, role_too_low);
}

#[test]
fn collaborator_cannot_add_a_member() {
    let mut w = world();
    let mallory = user("mallory", &w.server, &w.clock);
    let card = mallory.account().identity().clone();
    let wrap = w
        .coll
        .state()
        .member("carol")
        .unwrap()
        .key
        .clone()
        .unwrap()
        .1;
    forge(
        &w,
        &w.carol,
        Body::Share {
            epoch: 0,
            grants: vec![Grant {
                card,
                role: Role::Viewer,
                wrap,
            }],
        },
    );
    assert_refused(&mut w, role_too_low);
}

#[test]
fn collaborator_cannot_change_a_role() {
    let mut w = world();
    forge(
        &w,
        &w.carol,
        Body::ChangeRole {
            member: "bob".into(),
            role: Role::Editor,
        },
    );
    assert_refused(&mut w, role_too_low);
}

#[test]
fn admin_cannot_promote_someone_to_owner() {
    let mut w = world();
    forge(
        &w,
        &w.dave,
        Body::ChangeRole {
            member: "bob".into(),
            role: Role::Owner,
        },
    );
    assert_refused(&mut w, |v| matches!(v, Violation::OwnerOnlyByTransfer));
}

#[test]
fn admin_cannot_make_another_admin_or_promote_themselves() {
    let mut w = world();
    forge(
        &w,
        &w.dave,
        Body::ChangeRole {
            member: "erin".into(),
            role: Role::Admin,
        },
    );
    assert_refused(&mut w, |v| matches!(v, Violation::NotBelowOwnRole { .. }));
}

#[test]
fn admin_cannot_remove_the_owner() {
    let mut w = world();
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    // Dave's honest client refuses outright...
    assert_eq!(
        refused(daves.remove(&mut w.dave, "alice")),
        Violation::NotBelowOwnRole {
            author: "dave".into(),
            role: Role::Admin,
            target: "alice".into(),
            target_role: Role::Owner,
        }
    );
    // ...and a forged removal (with a well-formed rotation) is refused by everyone.
    let rotation = Rotation {
        epoch: 1,
        commitment: [7; 32],
        previous_keys: vec![(0, w.coll.state().info().unwrap().1.clone())],
        wraps: vec![],
        links: vec![],
    };
    forge(
        &w,
        &w.dave,
        Body::Remove {
            members: vec!["alice".into()],
            rotation,
        },
    );
    assert_refused(&mut w, |v| matches!(v, Violation::NotBelowOwnRole { .. }));
}

#[test]
fn removed_member_cannot_append_after_removal() {
    let mut w = world();
    w.coll.remove(&mut w.alice, "erin").unwrap();
    w.clock.advance(10);
    forge(&w, &w.erin, Body::Trash { item: w.file });
    assert_refused(&mut w, |v| matches!(v, Violation::NotAMember { .. }));
}

#[test]
fn removed_member_cannot_append_with_a_backdated_time() {
    let mut w = world();
    let before_removal = w.clock.now();
    w.clock.advance(10);
    w.coll.remove(&mut w.alice, "erin").unwrap();
    // The forgery claims a time before the removal, so it also breaks the time
    // rule; the signer is checked first, and a removed member is no signer.
    assert!(before_removal < w.coll.state().last_time());
    forge_at(&w, &w.erin, Body::Trash { item: w.file }, before_removal);
    assert_refused(&mut w, |v| {
        *v == Violation::NotAMember {
            author: "erin".into(),
        }
    });
}

#[test]
fn time_cannot_go_backwards() {
    let mut w = world();
    let past = w.coll.state().last_time() - 1;
    let h = header_like(&w, ItemId::random().unwrap(), 1);
    forge_at(&w, &w.alice, Body::PutItem(Box::new(h)), past);
    assert_refused(&mut w, |v| matches!(v, Violation::TimeWentBackwards { .. }));
}

#[test]
fn server_dropping_a_rotation_is_detected() {
    let mut w = world();
    w.server.drop_next_appends(1);
    w.coll.remove(&mut w.alice, "erin").unwrap();
    // The server answered "accepted" but kept the old log: Alice's next sync
    // sees a log shorter than what she verified.
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(matches!(err, Error::RolledBack { .. }), "{err:?}");
    // Bob, who never saw the removal, writes on the old head; Alice then sees
    // two different operations at one position.
    let mut bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    bobs.change_role(&mut w.bob, "carol", Role::Viewer)
        .unwrap_err(); // viewer: refused locally
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    daves
        .change_role(&mut w.dave, "bob", Role::Collaborator)
        .unwrap();
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(matches!(err, Error::Fork { .. }), "{err:?}");
}

#[test]
fn server_replaying_an_old_operation_is_refused() {
    let mut w = world();
    let log = w.server.log(&w.coll.id());
    w.server.inject(&w.coll.id(), log[1].clone());
    assert_refused(&mut w, |v| matches!(v, Violation::WrongSequence { .. }));
}

#[test]
fn server_reordering_two_operations_is_refused() {
    let mut w = world();
    let known = w.coll.state().len() as usize;
    w.coll.add_folder(&mut w.alice, None, "a").unwrap();
    w.coll.add_folder(&mut w.alice, None, "b").unwrap();
    // A new reader, served the last two swapped.
    let mut log = w.server.log(&w.coll.id());
    log.swap(known, known + 1);
    let id = w.coll.id();
    w.server.set_tamper(Box::new(
        move |c: &CollectionId, _| if *c == id { log.clone() } else { vec![] },
    ));
    let err = Collection::open(&mut w.bob, id).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOperation { seq, violation: Violation::WrongSequence { .. }, .. } if seq == known as u64),
        "{err:?}"
    );
}

#[test]
fn server_truncating_the_log_is_detected() {
    let mut w = world();
    let id = w.coll.id();
    w.server.set_tamper(Box::new(
        move |c: &CollectionId, log| {
            if *c == id { log[..3].to_vec() } else { log }
        },
    ));
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(matches!(err, Error::RolledBack { .. }), "{err:?}");
    assert_eq!(w.coll.read(&w.alice, w.file).unwrap(), b"by alice");
}

#[test]
fn server_forking_the_log_is_reported_once_both_sides_are_seen() {
    let mut w = world();
    let id = w.coll.id();
    let known = w.server.log(&id);
    // Alice writes op N; the server then swaps it for Dave's op N.
    w.coll.add_folder(&mut w.alice, None, "alice's").unwrap();
    let daves = Collection::open(&mut w.dave, id).unwrap();
    w.server.set_log(&id, known.clone());
    let mut daves_view = Collection::open(&mut w.dave, id).unwrap();
    daves_view.add_folder(&mut w.dave, None, "dave's").unwrap();
    drop(daves);
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(
        matches!(err, Error::Fork { seq } if seq == known.len() as u64),
        "{err:?}"
    );
}

#[test]
fn server_swapping_the_recipients_card_is_refused() {
    let mut w = world();
    // The server hands Alice a card for "frank" that is not Frank's.
    let frank = user("frank", &w.server, &w.clock);
    w.alice.observe(frank.account().identity()).unwrap();
    let impostor = user("frank", &w.server, &w.clock);
    let err = w
        .coll
        .share(&mut w.alice, impostor.account().identity(), Role::Viewer)
        .unwrap_err();
    match &err {
        Error::KeyChanged {
            handle,
            pinned,
            presented,
        } => {
            assert_eq!(handle, "frank");
            assert_eq!(**pinned, *frank.account().identity());
            assert_eq!(**presented, *impostor.account().identity());
        }
        other => panic!("expected KeyChanged, got {other:?}"),
    }
    // Dave (an admin who never met Frank) shares with the impostor. The log is
    // everyone's and verifies; Alice's trust is her own: she sees the card as
    // changed, and wraps nothing to it until she accepts it or removes Frank.
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    daves
        .share(&mut w.dave, impostor.account().identity(), Role::Viewer)
        .unwrap();
    let trust_before = w.alice.trust().to_bytes();
    assert_eq!(w.coll.sync(&mut w.alice).unwrap(), 1);
    assert_eq!(
        w.alice.trust().to_bytes(),
        trust_before,
        "sync pins nothing"
    );
    assert!(matches!(
        w.coll.card_trust(&w.alice, "frank"),
        Some(CardTrust::Changed { ref pinned }) if **pinned == *frank.account().identity()
    ));
    assert_eq!(w.coll.unconfirmed_members(&w.alice).len(), 1);
    let before = w.coll.state().len();
    let err = w.coll.rotate(&mut w.alice).unwrap_err();
    assert!(
        matches!(err, Error::KeyChanged { ref presented, .. } if **presented == *impostor.account().identity()),
        "{err:?}"
    );
    assert_eq!(w.coll.state().len(), before, "nothing wrapped in silence");
    assert_eq!(w.server.log(&w.coll.id()).len() as u64, before);
    // Removing Frank needs no wrap to him: it goes through.
    w.coll.remove(&mut w.alice, "frank").unwrap();
    assert!(w.coll.member("frank").is_none());
}

#[test]
fn server_altering_a_signed_operation_is_refused() {
    let mut w = world();
    w.coll.add_folder(&mut w.alice, None, "x").unwrap();
    let mut log = w.server.log(&w.coll.id());
    let last = log.len() - 1;
    let n = log[last].len();
    log[last][n - 100] ^= 1; // inside the encrypted metadata
    let id = w.coll.id();
    w.server.set_tamper(Box::new(move |_, _| log.clone()));
    let err = Collection::open(&mut w.bob, id).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::BadSignature { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn wrapped_key_moved_to_another_collection_or_epoch_does_not_open() {
    let mut w = world();
    // Dave (admin) shares a second collection with Bob, but puts in the share
    // the key wrap Bob received for the first collection.
    let mut other = Collection::create(&mut w.dave, "Other", "").unwrap();
    let moved = w.coll.state().member("bob").unwrap().key.clone().unwrap().1;
    let log = w.server.log(&other.id());
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();
    let op = w
        .dave
        .account()
        .sign_operation(
            other.id(),
            1,
            last.hash(),
            w.clock.now(),
            Body::Share {
                epoch: 0,
                grants: vec![Grant {
                    card: w.bob.account().identity().clone(),
                    role: Role::Viewer,
                    wrap: moved,
                }],
            },
        )
        .unwrap();
    w.server.inject(&other.id(), op.to_bytes().to_vec());
    let bobs = Collection::open(&mut w.bob, other.id()).unwrap();
    let err = bobs.info().unwrap_err();
    assert!(
        matches!(&err, Error::BadEpoch { epoch: 0, signer, .. } if signer == "dave"),
        "{err:?}"
    );
    other.sync(&mut w.dave).unwrap();

    // Moved to another epoch: after a rotation, a wrap for epoch 0 replayed as
    // the epoch-1 wrap does not open either.
    let wrap_epoch0 = w.coll.state().member("bob").unwrap().key.clone().unwrap().1;
    let mut rotation = {
        let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
        daves.rotate(&mut w.dave).unwrap();
        w.coll.sync(&mut w.alice).unwrap();
        let log = w.server.log(&w.coll.id());
        match Operation::from_bytes(log.last().unwrap()).unwrap().body() {
            Body::Rotate { rotation } => rotation.clone(),
            other => panic!("{other:?}"),
        }
    };
    // Build the same rotation again on top, with Bob's wrap swapped.
    rotation.epoch = 2;
    rotation.previous_keys[0].0 = 1;
    for (h, wrap) in rotation.wraps.iter_mut() {
        if h == "bob" {
            *wrap = wrap_epoch0.clone();
        }
    }
    forge(&w, &w.dave, Body::Rotate { rotation });
    let bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    let err = bobs.info().unwrap_err();
    assert!(
        matches!(&err, Error::BadEpoch { epoch: 2, signer, .. } if signer == "dave"),
        "{err:?}"
    );
}

#[test]
fn admin_handing_one_member_a_different_epoch_key_is_caught() {
    let mut w = world();
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    // Dave builds a rotation honestly, then re-wraps a different key to Bob
    // (correct context, wrong key): Bob checks it against the commitment.
    let mut rotation = honest_rotation(&mut daves, &w);
    let bob_card = w.bob.account().identity().clone();
    for (h, wrap) in rotation.wraps.iter_mut() {
        if h == "bob" {
            *wrap = sealshare::internal::crypto::wrap::WrappedSecret::wrap(
                bob_card.kem_key(),
                &sealshare::internal::crypto::wrap::WrapContext {
                    purpose: "epoch-key",
                    collection: &w.coll.id().0,
                    epoch: 1,
                    recipient: &bob_card.fingerprint().to_bytes(),
                },
                &[9u8; 32],
            )
            .unwrap();
        }
    }
    forge(&w, &w.dave, Body::Rotate { rotation });
    // Bob sees the bad epoch, named with who started it, and reads nothing
    // under it.
    let bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    let bad = bobs.bad_epochs();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!((bad[0].epoch, bad[0].signer.as_str()), (1, "dave"));
    let err = bobs.info().unwrap_err();
    assert!(matches!(err, Error::BadEpoch { epoch: 1, .. }), "{err:?}");
    // Everyone else reads on.
    w.coll.sync(&mut w.alice).unwrap();
    assert_eq!(w.coll.read(&w.alice, w.file).unwrap(), b"by alice");
}

/// The rotation Dave's client would send now (taken from what it sends to a copy of
/// the server's log).
fn honest_rotation(daves: &mut Collection, w: &World) -> Rotation {
    let id = w.coll.id();
    let saved = w.server.log(&id);
    daves.rotate(&mut clone_client(w, "dave")).unwrap();
    let log = w.server.log(&id);
    let op = Operation::from_bytes(log.last().unwrap()).unwrap();
    w.server.set_log(&id, saved);
    match op.body() {
        Body::Rotate { rotation } => rotation.clone(),
        other => panic!("{other:?}"),
    }
}

/// A second client for the same account (as on a second device).
fn clone_client(w: &World, who: &str) -> Client {
    assert_eq!(who, "dave");
    let account = w.dave.account();
    let restored =
        sealshare::Account::from_secret_bytes(account.to_secret_bytes().expose()).unwrap();
    let c = w.clock.clone();
    let mut client = Client::with_clock(restored, w.server.clone(), Box::new(move || c.now()));
    for other in [&w.alice, &w.bob, &w.carol, &w.erin] {
        client.observe(other.account().identity()).unwrap();
    }
    client
}

#[test]
fn server_swapping_two_items_blobs_is_detected() {
    let mut w = world();
    let other = w
        .coll
        .add_file(&mut w.alice, None, "other.txt", "text/plain", b"other")
        .unwrap();
    let id = w.coll.id();
    let h1 = w.coll.state().items()[&w.file]
        .latest
        .header
        .content
        .clone()
        .unwrap()
        .ciphertext_hash;
    let h2 = w.coll.state().items()[&other]
        .latest
        .header
        .content
        .clone()
        .unwrap()
        .ciphertext_hash;
    let (b1, b2) = (w.server.blob(&id, &h1), w.server.blob(&id, &h2));
    w.server.set_blob(&id, &h1, b2);
    w.server.set_blob(&id, &h2, b1);
    assert!(matches!(
        w.coll.read(&w.alice, w.file),
        Err(Error::ContentMismatch)
    ));
    assert!(matches!(
        w.coll.read(&w.alice, other),
        Err(Error::ContentMismatch)
    ));
}

#[test]
fn server_truncating_or_extending_content_is_detected() {
    let w = world();
    let id = w.coll.id();
    let h = w.coll.state().items()[&w.file]
        .latest
        .header
        .content
        .clone()
        .unwrap()
        .ciphertext_hash;
    let blob = w.server.blob(&id, &h);
    w.server.set_blob(&id, &h, blob[..blob.len() - 1].to_vec());
    assert!(matches!(
        w.coll.read(&w.alice, w.file),
        Err(Error::ContentMismatch)
    ));
    let mut longer = blob.clone();
    longer.extend_from_slice(&[0; 64]);
    w.server.set_blob(&id, &h, longer);
    assert!(matches!(
        w.coll.read(&w.alice, w.file),
        Err(Error::ContentMismatch)
    ));
    w.server.set_blob(&id, &h, blob);
    assert_eq!(w.coll.read(&w.alice, w.file).unwrap(), b"by alice");
}

#[test]
fn item_header_from_another_collection_is_refused() {
    let mut w = world();
    // The server copies an operation of another collection into this log.
    let mut other = Collection::create(&mut w.alice, "Other", "").unwrap();
    other.add_folder(&mut w.alice, None, "elsewhere").unwrap();
    let foreign = w.server.log(&other.id()).last().unwrap().clone();
    w.server.inject(&w.coll.id(), foreign);
    assert_refused(&mut w, |v| matches!(v, Violation::WrongCollection));

    // A member re-signs the other collection's header into this one: it
    // verifies as an operation, but its key is bound to the other collection.
    let mut w = world();
    let mut other = Collection::create(&mut w.erin, "Other", "").unwrap();
    other.add_folder(&mut w.erin, None, "elsewhere").unwrap();
    let header = other
        .state()
        .items()
        .values()
        .next()
        .unwrap()
        .latest
        .header
        .clone();
    forge(&w, &w.erin, Body::PutItem(Box::new(header.clone())));
    w.coll.sync(&mut w.alice).unwrap();
    assert!(matches!(
        w.coll.item(header.item),
        Err(Error::DecryptionFailed)
    ));
}

/// An editor plants items whose key box no member can open: one sealed under
/// a key of their own, one copied from another item (its key box bound to
/// that item's id). The keyless verifier accepts both (it cannot open what it
/// checks), so every listing must show the good items and report the bad.
#[test]
fn a_planted_unreadable_item_hides_none_of_the_others() {
    use sealshare::internal::crypto::aead::SealedBox;
    use sealshare::internal::crypto::secret::SecretKey;
    use sealshare::{LogState, PublicLinkTerms, PublicView};

    let mut w = world();
    let mut carols = Collection::open(&mut w.carol, w.coll.id()).unwrap();
    let folder = carols.add_folder(&mut w.carol, None, "Drafts").unwrap();
    let draft = carols
        .add_file(
            &mut w.carol,
            Some(folder),
            "draft.md",
            "text/markdown",
            b"by carol",
        )
        .unwrap();

    let wrong_key = ItemId::random().unwrap();
    let mut h = header_like(&w, wrong_key, 1);
    h.wrapped_key = SealedBox::seal(
        &SecretKey::random().unwrap(),
        &[7; 32],
        b"not the item-key context",
    )
    .unwrap();
    forge(&w, &w.erin, Body::PutItem(Box::new(h)));
    let copied = ItemId::random().unwrap();
    let mut h = header_like(&w, copied, 1);
    h.parent = Some(folder);
    forge(&w, &w.erin, Body::PutItem(Box::new(h)));
    // Accepted by a verifier that holds no key, as by every member below.
    let mut keyless = LogState::empty(w.coll.id());
    keyless
        .extend_from_bytes(&w.server.log(&w.coll.id()), u64::MAX)
        .unwrap();
    assert!(keyless.items().contains_key(&wrong_key) && keyless.items().contains_key(&copied));

    let good = [
        (folder, "Drafts"),
        (w.file, "alice.txt"),
        (draft, "draft.md"),
    ];
    let bad = {
        let mut bad = [wrong_key, copied];
        bad.sort();
        bad
    };
    let check =
        |listing: sealshare::ItemListing, good: &[(ItemId, &str)], bad: &[ItemId], who: &str| {
            let shown: Vec<_> = listing
                .items
                .iter()
                .map(|i| (i.id, i.metadata.name.as_str()))
                .collect();
            assert_eq!(shown, good, "{who}: every readable item, sorted by name");
            let reported: Vec<_> = listing.unreadable.iter().map(|u| u.id).collect();
            assert_eq!(reported, bad, "{who}: every unreadable item, by id");
            for u in &listing.unreadable {
                assert!(
                    matches!(u.error, Error::DecryptionFailed),
                    "{who}: {:?}",
                    u.error
                );
            }
        };
    let clients = [
        &mut w.alice,
        &mut w.bob,
        &mut w.carol,
        &mut w.dave,
        &mut w.erin,
    ];
    for client in clients {
        let who = client.account().handle().to_owned();
        let view = Collection::open(client, w.coll.id()).unwrap();
        check(view.items(), &good, &bad, &who);
        check(
            view.children(None),
            &[(folder, "Drafts"), (w.file, "alice.txt")],
            &[wrong_key],
            &format!("{who}, top level"),
        );
        check(
            view.children(Some(folder)),
            &[(draft, "draft.md")],
            &[copied],
            &format!("{who}, in Drafts"),
        );
        assert!(
            view.items().complete().is_err(),
            "{who}: all or nothing fails"
        );
        assert_eq!(view.read(client, draft).unwrap(), b"by carol");
        assert!(matches!(view.item(copied), Err(Error::DecryptionFailed)));
    }

    // The same through a public link to the live collection, made after.
    w.coll.sync(&mut w.alice).unwrap();
    let url = w
        .coll
        .create_public_link(
            &mut w.alice,
            "https://s.example/p",
            &PublicLinkTerms::default(),
        )
        .unwrap();
    let remote: std::sync::Arc<dyn sealshare::Remote> = w.server.clone();
    let public = PublicView::open(remote, &url, None, w.clock.now()).unwrap();
    check(public.items(), &good, &bad, "public link");
    assert_eq!(public.read(w.file).unwrap(), b"by alice");
}

#[test]
fn unknown_operation_kind_or_version_is_refused() {
    let mut w = world();
    let op = forge(&w, &w.alice, Body::Accept);
    let mut bytes = op.to_bytes().to_vec();
    w.server.set_log(&w.coll.id(), {
        let mut log = w.server.log(&w.coll.id());
        log.pop();
        log
    });
    // Unknown body kind (the tag follows the author and time).
    let tag_at = 2 + 16 + 8 + 32 + 4 + "alice".len() + 8;
    bytes[tag_at] = 0x7f;
    w.server.inject(&w.coll.id(), bytes.clone());
    assert_refused(&mut w, |v| matches!(v, Violation::Malformed(_)));
    // Unknown format version.
    let mut log = w.server.log(&w.coll.id());
    let last = log.len() - 1;
    log[last] = {
        let mut b = op.to_bytes().to_vec();
        b[0] = 2;
        b
    };
    w.server.set_log(&w.coll.id(), log);
    assert_refused(&mut w, |v| {
        matches!(
            v,
            Violation::Malformed(sealshare::DecodeError::UnsupportedVersion { found: 2, .. })
        )
    });
}

#[test]
fn owner_cannot_leave_and_pending_member_can_only_accept_or_decline() {
    let mut w = world();
    forge(&w, &w.alice, Body::Leave);
    assert_refused(&mut w, |v| matches!(v, Violation::OwnerCannotLeave));
    let mut w = world();
    let frank = user("frank", &w.server, &w.clock);
    w.coll
        .share(&mut w.alice, frank.account().identity(), Role::Editor)
        .unwrap();
    forge(&w, &frank, Body::Trash { item: w.file });
    assert_refused(&mut w, |v| matches!(v, Violation::NotAccepted { .. }));
}

#[test]
fn a_verifying_server_refuses_bad_appends_without_any_key() {
    let server = TestServer::verifying();
    let clock = TestClock::at(5);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut coll = Collection::create(&mut alice, "c", "").unwrap();
    coll.share(&mut alice, bob.account().identity(), Role::Viewer)
        .unwrap();
    let log = server.log(&coll.id());
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();
    let op = bob
        .account()
        .sign_operation(coll.id(), log.len() as u64, last.hash(), 6, Body::Accept)
        .unwrap();
    use sealshare::Remote;
    server.append(&coll.id(), op.seq(), op.to_bytes()).unwrap();
    let trash = bob
        .account()
        .sign_operation(
            coll.id(),
            op.seq() + 1,
            op.hash(),
            6,
            Body::Rename {
                epoch: 0,
                info: coll.state().info().unwrap().1.clone(),
            },
        )
        .unwrap();
    let err = server
        .append(&coll.id(), trash.seq(), trash.to_bytes())
        .unwrap_err();
    assert!(
        matches!(err, Error::Remote(ref m) if m.contains("needs editor")),
        "{err:?}"
    );
}

/// Every member's fresh replay of the server's log stops at `seq` with the
/// violation `expect` names, and so does Alice's sync.
fn refused_by_everyone(w: &mut World, seq: u64, expect: impl Fn(&Violation) -> bool) {
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOperation { seq: s, violation, .. } if *s == seq && expect(violation)),
        "alice's sync: {err:?}"
    );
    let id = w.coll.id();
    for c in [
        &mut w.alice,
        &mut w.bob,
        &mut w.carol,
        &mut w.dave,
        &mut w.erin,
    ] {
        let who = c.account().handle().to_owned();
        match Collection::open(c, id) {
            Err(Error::InvalidOperation {
                seq: s, violation, ..
            }) if s == seq && expect(&violation) => {}
            Err(other) => panic!("{who}'s replay: {other:?}"),
            Ok(_) => panic!("{who}'s replay accepted the forgery"),
        }
    }
}

#[test]
fn a_purged_item_never_comes_back() {
    let mut w = world();
    let id = w.coll.id();
    let original = w.coll.state().items()[&w.file].latest.header.clone();
    // Alice trashes and purges her file through the public API.
    w.coll.trash(&mut w.alice, w.file).unwrap();
    w.coll.purge(&mut w.alice, w.file).unwrap();
    assert!(w.coll.state().purged().contains(&w.file));
    let checkpoint = w.coll.to_checkpoint(w.alice.account()).unwrap();
    let purged_log = w.server.log(&id);
    let seq = purged_log.len() as u64;

    // A collaborator signs Alice's original header again (same id, version 1),
    // and an editor signs it as the next version: both refused, by every
    // member's fresh replay.
    for (who, version) in [("carol", 1), ("erin", 1), ("erin", 2), ("erin", 3)] {
        w.server.set_log(&id, purged_log.clone());
        let mut h = original.clone();
        h.version = version;
        let author = if who == "carol" { &w.carol } else { &w.erin };
        let op = forge(&w, author, Body::PutItem(Box::new(h)));
        // The check an honest client runs before it signs refuses it too.
        let mut state = w.coll.state().clone();
        assert_eq!(
            state.check(&op),
            Err(Violation::ItemPurged),
            "{who} v{version}"
        );
        refused_by_everyone(&mut w, seq, |v| matches!(v, Violation::ItemPurged));
        assert!(matches!(w.coll.item(w.file), Err(Error::NotFound(_))));
    }

    // A state restored from a checkpoint taken after the purge refuses it too.
    let mut restored = Collection::from_checkpoint(w.alice.account(), &checkpoint).unwrap();
    assert!(restored.state().purged().contains(&w.file));
    let err = restored.sync(&mut w.alice).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                seq: s,
                violation: Violation::ItemPurged,
                ..
            } if s == seq
        ),
        "{err:?}"
    );
    assert!(matches!(restored.item(w.file), Err(Error::NotFound(_))));
}

#[test]
fn a_collaborator_cannot_trash_or_move_their_folder_once_it_holds_others_items() {
    let mut w = world();
    let id = w.coll.id();
    let mut carols = Collection::open(&mut w.carol, id).unwrap();
    let folder = carols.add_folder(&mut w.carol, None, "carol's").unwrap();
    let empty = carols.add_folder(&mut w.carol, None, "empty").unwrap();
    let target = carols.add_folder(&mut w.carol, None, "target").unwrap();
    let mut erins = Collection::open(&mut w.erin, id).unwrap();
    erins
        .add_file(
            &mut w.erin,
            Some(folder),
            "erin.txt",
            "text/plain",
            b"by erin",
        )
        .unwrap();
    carols.sync(&mut w.carol).unwrap();
    w.coll.sync(&mut w.alice).unwrap();
    let saved = w.server.log(&id);
    let seq = saved.len() as u64;
    let editor_needed = |v: &Violation| {
        matches!(
            v,
            Violation::RoleTooLow {
                action: sealshare::internal::log::Action::EditAnyItem,
                ..
            }
        )
    };

    // Carol's honest client refuses before signing anything.
    let needs_editor = Violation::RoleTooLow {
        author: "carol".into(),
        role: Role::Collaborator,
        action: sealshare::internal::log::Action::EditAnyItem,
    };
    assert_eq!(
        refused(carols.trash(&mut w.carol, folder)),
        needs_editor.clone()
    );
    assert_eq!(
        refused(carols.move_item(&mut w.carol, folder, Some(target))),
        needs_editor
    );
    assert_eq!(w.server.log(&id).len(), saved.len(), "nothing was sent");

    // Signed anyway, by hand: every member's verification refuses it.
    let record = &w.coll.state().items()[&folder];
    let mut moved = record.latest.header.clone();
    moved.version += 1;
    moved.parent = Some(target);
    for body in [Body::Trash { item: folder }, Body::PutItem(Box::new(moved))] {
        w.server.set_log(&id, saved.clone());
        forge(&w, &w.carol, body);
        refused_by_everyone(&mut w, seq, editor_needed);
    }
    w.server.set_log(&id, saved.clone());

    // Her own empty folder she moves and trashes as before; an editor acts on
    // the full one.
    carols.move_item(&mut w.carol, empty, Some(target)).unwrap();
    carols.trash(&mut w.carol, empty).unwrap();
    carols.restore(&mut w.carol, empty).unwrap();
    erins.sync(&mut w.erin).unwrap();
    erins.move_item(&mut w.erin, folder, Some(target)).unwrap();
    erins.trash(&mut w.erin, folder).unwrap();
    w.coll.sync(&mut w.alice).unwrap();
    assert!(w.coll.item(folder).unwrap().trashed);
}
