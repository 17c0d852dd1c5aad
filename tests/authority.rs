#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The authority table and what no member may do to the others, attacked with
//! real keys: members who hold no key signing rotations, grants above the
//! ceiling through links, poisoned epochs and their recovery, far-future times,
//! and refused operations offered to a verifying server. Each test is named in
//! SECURITY.md's tables.

mod support;

use std::sync::Arc;

use sealshare::internal::collection::{Client, MemoryRemote};
use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::kdf;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::links::InviteTerms;
use sealshare::internal::log::{Action, Body, MAX_CLOCK_SKEW, Rotation};
use sealshare::{Account, Collection, Error, ItemId, Operation, Remote, Role, Violation};
use support::{TestClock, TestServer, introduce, refused, user};

const BASE: &str = "https://notes.example/join";

/// Alice (owner), Dave (admin), Carol (collaborator), Bob (viewer), all
/// accepted; Pat shared as editor but not accepted; Mallory joined an
/// approval link at editor and waits. Alice added one file.
struct World {
    server: Arc<TestServer>,
    clock: TestClock,
    alice: Client,
    bob: Client,
    carol: Client,
    dave: Client,
    pat: Client,
    mallory: Client,
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
    let mut pat = user("pat", &server, &clock);
    let mut mallory = user("mallory", &server, &clock);
    introduce(&mut [
        &mut alice,
        &mut bob,
        &mut carol,
        &mut dave,
        &mut pat,
        &mut mallory,
    ]);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    let file = coll
        .add_file(&mut alice, None, "alice.txt", "text/plain", b"by alice")
        .unwrap();
    coll.share_many(
        &mut alice,
        &[
            (bob.account().identity().clone(), Role::Viewer),
            (carol.account().identity().clone(), Role::Collaborator),
            (dave.account().identity().clone(), Role::Admin),
            (pat.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();
    for c in [&mut bob, &mut carol, &mut dave] {
        Collection::open(c, coll.id()).unwrap().accept(c).unwrap();
    }
    let url = coll
        .create_invite_link(
            &mut alice,
            BASE,
            InviteTerms {
                role: Role::Editor,
                approval: true,
                ..InviteTerms::default()
            },
        )
        .unwrap();
    Collection::join(&mut mallory, &url).unwrap();
    coll.sync(&mut alice).unwrap();
    clock.advance(60);
    World {
        server,
        clock,
        alice,
        bob,
        carol,
        dave,
        pat,
        mallory,
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

/// Alice syncs and sees exactly this violation at the forged operation; a
/// fresh replay refuses it too; Alice's next file is sealed under the epoch
/// she had.
fn assert_refused(w: &mut World, expect: impl Fn(&Violation) -> bool) {
    let before = w.coll.state().len();
    let epoch = w.coll.state().epoch();
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    match &err {
        Error::InvalidOperation { seq, violation, .. } => {
            assert_eq!(*seq, before, "the forged operation is the one refused");
            assert!(expect(violation), "unexpected violation: {violation:?}");
        }
        other => panic!("expected an invalid operation, got {other:?}"),
    }
    assert_eq!(w.coll.state().len(), before);
    assert_eq!(w.coll.state().epoch(), epoch);
    assert!(Collection::open(&mut w.alice, w.coll.id()).is_err());
}

/// The commitment to an epoch key (SPEC.md §Epochs), computed by hand.
fn commitment(w: &World, epoch: u64, key: &[u8; 32]) -> [u8; 32] {
    let ctx = [w.coll.id().0.as_slice(), &epoch.to_be_bytes()].concat();
    *kdf::derive_key(key, b"", "epoch-key-commitment", &ctx)
        .unwrap()
        .expose()
}

/// A rotation to `key`, committed and wrapped correctly to every member who
/// holds a key, except that those in `garbage_for` get another key: what an
/// attacker who picks the next key builds. Its previous-key box opens (right
/// key, right associated data) to a key that is not the previous epoch's.
fn rotation_to(w: &World, key: [u8; 32], garbage_for: &[&str]) -> Rotation {
    let id = w.coll.id();
    let epoch = w.coll.state().epoch() + 1;
    let wraps = w
        .coll
        .state()
        .members()
        .values()
        .filter(|m| m.key.is_some())
        .map(|m| {
            let h = m.card.handle();
            let secret = if garbage_for.contains(&h) {
                [9u8; 32]
            } else {
                key
            };
            let ctx = WrapContext {
                purpose: "epoch-key",
                collection: &id.0,
                epoch,
                recipient: &m.card.fingerprint().to_bytes(),
            };
            (
                h.to_owned(),
                WrappedSecret::wrap(m.card.kem_key(), &ctx, &secret).unwrap(),
            )
        })
        .collect();
    let mut aad = b"sealshare/v1/previous-epoch-key\0".to_vec();
    aad.extend_from_slice(&id.0);
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad.extend_from_slice(&(epoch - 1).to_be_bytes());
    let junk = SealedBox::seal(&SecretKey::from_bytes(key), &[0; 32], &aad).unwrap();
    Rotation {
        epoch,
        commitment: commitment(w, epoch, &key),
        previous_keys: vec![(epoch - 1, junk)],
        wraps,
        links: vec![],
    }
}

#[test]
fn a_member_who_holds_no_key_or_only_views_cannot_pick_the_next_key() {
    // Mallory waits for approval, Pat has not accepted, Bob only views: each
    // signs a rotation to a key of their own, wrapped correctly to everyone.
    // Before the authority table, Alice's sync accepted Mallory's and Alice's
    // next file was sealed under Mallory's key.
    type Expect = fn(&Violation) -> bool;
    let cases: [(&str, Expect); 3] = [
        (
            "mallory",
            |v| matches!(v, Violation::AwaitsApproval(h) if h == "mallory"),
        ),
        (
            "pat",
            |v| matches!(v, Violation::NotAccepted { author } if author == "pat"),
        ),
        ("bob", |v| {
            matches!(
                v,
                Violation::RoleTooLow {
                    action: Action::RotateKey,
                    ..
                }
            )
        }),
    ];
    for (who, expect) in cases {
        let mut w = world();
        let rotation = rotation_to(&w, [0x4d; 32], &[]);
        let signer = match who {
            "mallory" => &w.mallory,
            "pat" => &w.pat,
            _ => &w.bob,
        };
        forge(&w, signer, Body::Rotate { rotation });
        assert_refused(&mut w, expect);
    }
    // Their own clients refuse before anything is sent.
    let mut w = world();
    let len = w.server.log(&w.coll.id()).len();
    let mut bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    assert_eq!(
        refused(bobs.rotate(&mut w.bob)),
        Violation::RoleTooLow {
            author: "bob".into(),
            role: Role::Viewer,
            action: Action::RotateKey,
        }
    );
    assert_eq!(w.server.log(&w.coll.id()).len(), len);
}

#[test]
fn a_member_who_has_not_accepted_or_awaits_approval_signs_nothing_but_leave() {
    // Both are editors: standing is checked before role.
    for who in ["pat", "mallory"] {
        for change_role in [false, true] {
            let mut w = world();
            let body = if change_role {
                Body::ChangeRole {
                    member: "bob".into(),
                    role: Role::Collaborator,
                }
            } else {
                Body::Trash { item: w.file }
            };
            let signer = if who == "pat" { &w.pat } else { &w.mallory };
            forge(&w, signer, body);
            assert_refused(&mut w, |v| match v {
                Violation::NotAccepted { author } => author == "pat",
                Violation::AwaitsApproval(author) => author == "mallory",
                _ => false,
            });
        }
    }
    // Leaving is always open to them.
    let mut w = world();
    Collection::open(&mut w.mallory, w.coll.id())
        .unwrap()
        .leave(&mut w.mallory)
        .unwrap();
    w.coll.sync(&mut w.alice).unwrap();
    assert!(w.coll.state().member("mallory").is_none());
}

#[test]
fn a_link_never_grants_its_creators_role_and_lapses_with_its_creator() {
    let mut w = world();
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    // An admin's link at admin is refused by the client and by the log rules.
    let at_admin = daves.create_invite_link(
        &mut w.dave,
        BASE,
        InviteTerms {
            role: Role::Admin,
            ..InviteTerms::default()
        },
    );
    assert!(
        matches!(&at_admin, Err(Error::NotAllowedByRole(m)) if m.contains("is admin and may only manage members below admin")),
        "{at_admin:?}"
    );
    // An editor link by Dave, holding the current key (no approval)...
    let url = daves
        .create_invite_link(
            &mut w.dave,
            BASE,
            InviteTerms {
                role: Role::Editor,
                ..InviteTerms::default()
            },
        )
        .unwrap();
    // ...lapses when Alice demotes Dave to editor: it grants nothing now.
    w.coll.sync(&mut w.alice).unwrap();
    w.coll
        .change_role(&mut w.alice, "dave", Role::Editor)
        .unwrap();
    assert!(!w.coll.state().link_is_live(&url.link(), w.clock.now()));
    let mut zed = user("zed", &w.server, &w.clock);
    introduce(&mut [&mut zed, &mut w.alice]);
    let err = Collection::join(&mut zed, &url).unwrap_err();
    assert!(matches!(err, Error::LinkRevoked), "{err:?}");
    let rec = &w.coll.state().links()[&url.link()];
    assert_eq!(
        rec.revoked.as_ref().map(|(who, _)| who.as_str()),
        Some("alice")
    );
    // Promoting Dave again does not bring it back.
    w.coll
        .change_role(&mut w.alice, "dave", Role::Admin)
        .unwrap();
    assert!(!w.coll.state().link_is_live(&url.link(), w.clock.now()));
    // The lapsed link still holds the current key, so Alice's next write
    // rotates first, and the new key is not sealed for the link.
    assert!(w.coll.state().needs_rotation_at(w.clock.now()));
    let epoch = w.coll.state().epoch();
    w.coll
        .add_file(&mut w.alice, None, "after.txt", "text/plain", b"after")
        .unwrap();
    assert_eq!(w.coll.state().epoch(), epoch + 1);
    let rec = &w.coll.state().links()[&url.link()];
    assert!(rec.epoch_key.is_none(), "no later key for a lapsed link");
}

#[test]
fn a_join_through_a_lapsed_link_forged_past_the_client_is_refused() {
    let mut w = world();
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    let url = daves
        .create_invite_link(
            &mut w.dave,
            BASE,
            InviteTerms {
                role: Role::Collaborator,
                approval: true,
                ..InviteTerms::default()
            },
        )
        .unwrap();
    w.coll.sync(&mut w.alice).unwrap();
    w.coll.remove(&mut w.alice, "dave").unwrap();
    // Zed joins anyway with a valid proof: Dave, who made the link, is gone.
    let zed = user("zed", &w.server, &w.clock);
    let card = zed.account().identity().clone();
    let proof = link_signing_key(&url).sign(
        sealshare::internal::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::internal::log::op::join_proof_message(
            &w.coll.id(),
            &url.link(),
            &card,
            Role::Collaborator,
        ),
    );
    forge(
        &w,
        &zed,
        Body::Join {
            link: url.link(),
            role: Role::Collaborator,
            card,
            proof,
            wrap: None,
        },
    );
    assert_refused(&mut w, |v| matches!(v, Violation::LinkRevoked));
}

/// The link's signing key, derived from the secret in its URL (SPEC.md §Links).
fn link_signing_key(url: &sealshare::LinkUrl) -> sealshare::internal::crypto::sign::SigningKey {
    let text = url.to_url();
    let fragment = text.split_once('#').unwrap().1;
    let payload = sealshare::internal::wire::from_text(fragment, "link", 98).unwrap();
    let secret: [u8; 32] = payload[34..66].try_into().unwrap();
    let ctx = [url.collection().0, url.link().0].concat();
    sealshare::internal::crypto::sign::SigningKey::from_seed(
        &kdf::derive_key(&secret, b"", "link-signing", &ctx).unwrap(),
    )
}

#[test]
fn a_poisoned_epoch_is_reported_with_its_signer_and_an_admin_recovers() {
    let mut w = world();
    let mut bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    // Carol (collaborator) rotates to a key that matches its commitment for no
    // one: every wrap carries another key.
    let everyone = ["alice", "bob", "carol", "dave", "pat"];
    let rotation = rotation_to(&w, [0x66; 32], &everyone);
    forge(&w, &w.carol, Body::Rotate { rotation });
    // Every member syncs fine, sees the bad epoch and who signed it, and
    // still reads what came before it.
    w.coll.sync(&mut w.alice).unwrap();
    let bad = w.coll.bad_epochs();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].epoch, bad[0].signer.as_str()), (1, "carol"));
    bobs.sync(&mut w.bob).unwrap();
    assert_eq!(bobs.bad_epochs()[0].signer, "carol");
    assert_eq!(bobs.read(&w.bob, w.file).unwrap(), b"by alice");
    // A new device of Bob's holds only the bad wrap: it reads nothing yet,
    // and says why and who.
    let fresh = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    let err = fresh.read(&w.bob, w.file).unwrap_err();
    assert!(
        matches!(&err, Error::BadEpoch { epoch: 1, signer, .. } if signer == "carol"),
        "{err:?}"
    );
    // Nothing is sealed under the bad epoch: writing needs a recovery first,
    // and a collaborator may not recover.
    let mut carols = Collection::open(&mut w.carol, w.coll.id()).unwrap();
    let err = carols
        .add_file(&mut w.carol, None, "c.txt", "text/plain", b"c")
        .unwrap_err();
    assert!(matches!(err, Error::BadEpoch { epoch: 1, .. }), "{err:?}");
    let err = carols.rotate(&mut w.carol).unwrap_err();
    assert!(matches!(err, Error::BadEpoch { epoch: 1, .. }), "{err:?}");
    // Alice (owner) rotates: a recovery that passes over epoch 1.
    w.coll.rotate(&mut w.alice).unwrap();
    assert_eq!(w.coll.state().epoch(), 2);
    let id = w.coll.id();
    let last = w.server.log(&id).last().cloned().unwrap();
    match Operation::from_bytes(&last).unwrap().body() {
        Body::Rotate { rotation } => {
            assert!(rotation.is_recovery());
            let carried: Vec<u64> = rotation.previous_keys.iter().map(|(e, _)| *e).collect();
            assert_eq!(
                carried,
                vec![0],
                "every good key Alice holds, not the bad one"
            );
        }
        other => panic!("{other:?}"),
    }
    // Everyone reads and writes again, and the poisoner can be removed.
    let second = w
        .coll
        .add_file(&mut w.alice, None, "second.txt", "text/plain", b"second")
        .unwrap();
    bobs.sync(&mut w.bob).unwrap();
    assert!(bobs.bad_epochs().is_empty(), "the recovery passed over it");
    assert_eq!(bobs.read(&w.bob, second).unwrap(), b"second");
    assert_eq!(bobs.read(&w.bob, w.file).unwrap(), b"by alice");
    let fresh = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    assert_eq!(fresh.read(&w.bob, w.file).unwrap(), b"by alice");
    carols.sync(&mut w.carol).unwrap();
    carols
        .add_file(&mut w.carol, None, "c.txt", "text/plain", b"c")
        .unwrap();
    w.coll.sync(&mut w.alice).unwrap();
    w.coll.remove(&mut w.alice, "carol").unwrap();
    // A newcomer walks back through the recovery to epoch 0.
    let mut nina = user("nina", &w.server, &w.clock);
    introduce(&mut [&mut nina, &mut w.alice]);
    let card = nina.account().identity().clone();
    w.coll.share(&mut w.alice, &card, Role::Viewer).unwrap();
    let ninas = Collection::open(&mut nina, id).unwrap();
    assert_eq!(ninas.read(&nina, w.file).unwrap(), b"by alice");
    assert_eq!(ninas.read(&nina, second).unwrap(), b"second");
}

#[test]
fn a_forged_recovery_by_a_collaborator_is_refused() {
    let mut w = world();
    w.coll.rotate(&mut w.alice).unwrap();
    // Carol's rotation to epoch 2 carries epoch 0's key, not epoch 1's: it
    // passes over an epoch, which only an owner or admin may.
    let mut rotation = rotation_to(&w, [0x56; 32], &[]);
    rotation.previous_keys[0].0 = 0;
    forge(&w, &w.carol, Body::Rotate { rotation });
    assert_refused(&mut w, |v| {
        matches!(
            v,
            Violation::RoleTooLow {
                action: Action::RecoverKey,
                ..
            }
        )
    });
}

#[test]
fn a_wrap_bad_for_one_member_is_theirs_to_report_and_the_next_rotation_heals_it() {
    let mut w = world();
    // Carol rotates honestly except for Bob's wrap, which carries another key.
    let id = w.coll.id();
    let saved = w.server.log(&id);
    let mut carols = Collection::open(&mut w.carol, id).unwrap();
    carols.rotate(&mut w.carol).unwrap();
    let honest = Operation::from_bytes(w.server.log(&id).last().unwrap()).unwrap();
    w.server.set_log(&id, saved);
    let Body::Rotate { rotation } = honest.body() else {
        panic!("not a rotation")
    };
    let mut rotation = rotation.clone();
    let garbage = rotation_to(&w, [0x77; 32], &["bob"]);
    for (h, wrap) in rotation.wraps.iter_mut() {
        if h == "bob" {
            *wrap = garbage
                .wraps
                .iter()
                .find(|(g, _)| g == "bob")
                .unwrap()
                .1
                .clone();
        }
    }
    forge(&w, &w.carol, Body::Rotate { rotation });
    w.coll.sync(&mut w.alice).unwrap();
    assert!(w.coll.bad_epochs().is_empty(), "Alice's wrap is good");
    let mut bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    assert_eq!(bobs.bad_epochs()[0].signer, "carol");
    // Alice's next rotation is ordinary (her keys are all good) and reaches Bob.
    w.coll.rotate(&mut w.alice).unwrap();
    let file = w
        .coll
        .add_file(&mut w.alice, None, "new.txt", "text/plain", b"new")
        .unwrap();
    bobs.sync(&mut w.bob).unwrap();
    assert_eq!(bobs.read(&w.bob, file).unwrap(), b"new");
}

#[test]
fn a_bad_box_of_earlier_keys_is_caught_by_members_who_hold_them_and_recovered() {
    let mut w = world();
    // Dave (admin) rotates honestly except for the previous-key box, which
    // opens to junk: members who already hold epoch 0 check it anyway.
    let rotation = rotation_to(&w, [0x88; 32], &[]);
    forge(&w, &w.dave, Body::Rotate { rotation });
    w.coll.sync(&mut w.alice).unwrap();
    let bad = w.coll.bad_epochs();
    assert_eq!((bad[0].epoch, bad[0].signer.as_str()), (1, "dave"));
    // Alice's next rotation is a recovery carrying epochs 0 and 1, so a
    // newcomer reads the history the bad box would have hidden.
    w.coll.rotate(&mut w.alice).unwrap();
    let mut nina = user("nina", &w.server, &w.clock);
    introduce(&mut [&mut nina, &mut w.alice]);
    let card = nina.account().identity().clone();
    w.coll.share(&mut w.alice, &card, Role::Viewer).unwrap();
    let ninas = Collection::open(&mut nina, w.coll.id()).unwrap();
    assert!(ninas.bad_epochs().is_empty(), "{:?}", ninas.bad_epochs());
    assert_eq!(ninas.read(&nina, w.file).unwrap(), b"by alice");
}

#[test]
fn a_far_future_time_is_held_never_accepted_and_never_poisons_the_log() {
    let mut w = world();
    // Pat accepts claiming the year 3000. Alice's client holds it: the log is
    // not invalid, the prefix stays, and nothing after it is believed yet.
    let year_3000 = 32_503_680_000;
    forge_at(&w, &w.pat, Body::Accept, year_3000);
    let before = w.coll.state().len();
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(
        matches!(err, Error::NotYetValid { claimed, .. } if claimed == year_3000),
        "{err:?}"
    );
    assert_eq!(w.coll.state().len(), before);
    assert_eq!(w.coll.state().last_time(), w.clock.now() - 60);
    // Within the tolerance, it is an ordinary operation.
    w.clock.set(year_3000 - MAX_CLOCK_SKEW);
    w.coll.sync(&mut w.alice).unwrap();
    assert_eq!(w.coll.state().len(), before + 1);
}

/// A verifying server on `clock`, with Alice (owner) and Pat (viewer, pending).
fn verifying_world() -> (Arc<MemoryRemote>, TestClock, Client, Client, Collection) {
    let clock = TestClock::at(1_000_000);
    let c = clock.clone();
    let server = Arc::new(MemoryRemote::with_clock(Box::new(move || c.now())));
    let on = |h: &str| {
        let c = clock.clone();
        Client::with_clock(
            Account::create(h, clock.now()).unwrap(),
            server.clone(),
            Box::new(move || c.now()),
        )
    };
    let mut alice = on("alice");
    let mut pat = on("pat");
    introduce(&mut [&mut alice, &mut pat]);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    let card = pat.account().identity().clone();
    coll.share(&mut alice, &card, Role::Viewer).unwrap();
    (server, clock, alice, pat, coll)
}

#[test]
fn a_verifying_server_refuses_a_far_future_time_and_honest_writes_go_on() {
    let (server, clock, mut alice, pat, mut coll) = verifying_world();
    let id = coll.id();
    let head = Operation::from_bytes(server.fetch(&id, 1).unwrap().last().unwrap()).unwrap();
    let ahead = clock.now() + MAX_CLOCK_SKEW + 1;
    let op = pat
        .account()
        .sign_operation(id, 2, head.hash(), ahead, Body::Accept)
        .unwrap();
    let err = server.append(&id, 2, op.to_bytes()).unwrap_err();
    assert!(matches!(err, Error::NotYetValid { .. }), "{err:?}");
    // Within the tolerance it is taken; the clocks move on by at most that.
    let op = pat
        .account()
        .sign_operation(id, 2, head.hash(), ahead - 1, Body::Accept)
        .unwrap();
    server.append(&id, 2, op.to_bytes()).unwrap();
    // Alice, whose clock is behind the log now, still writes.
    coll.sync(&mut alice).unwrap();
    coll.add_file(&mut alice, None, "a.txt", "text/plain", b"a")
        .unwrap();
    assert_eq!(coll.state().last_time(), ahead - 1);
}

#[test]
fn a_refused_operation_never_wedges_a_verifying_server() {
    let (server, _clock, mut alice, pat, mut coll) = verifying_world();
    let id = coll.id();
    // Pat (pending) demotes the owner: refused with the rule, nothing stored.
    let len = server.fetch(&id, 0).unwrap().len() as u64;
    let head = Operation::from_bytes(server.fetch(&id, len - 1).unwrap().last().unwrap())
        .unwrap()
        .hash();
    let bad = pat
        .account()
        .sign_operation(
            id,
            len,
            head,
            1_000_000,
            Body::ChangeRole {
                member: "alice".into(),
                role: Role::Viewer,
            },
        )
        .unwrap();
    let err = server.append(&id, len, bad.to_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::NotAccepted { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.fetch(&id, 0).unwrap().len() as u64, len);
    // Honest members go on as if it never happened.
    coll.add_file(&mut alice, None, "a.txt", "text/plain", b"a")
        .unwrap();
    let fresh = Collection::open(&mut alice, id).unwrap();
    assert_eq!(fresh.state().len(), len + 1);
}

#[test]
fn a_verifying_server_refuses_a_join_after_its_links_expiry_whatever_time_it_claims() {
    let (server, clock, mut alice, _pat, mut coll) = verifying_world();
    let url = coll
        .create_invite_link(&mut alice, BASE, InviteTerms::default())
        .unwrap();
    clock.advance(3601);
    // Zed's client backdates the join to before the expiry (allowed by the
    // log: time may stay equal to the last operation's); the server refuses.
    let c = clock.clone();
    let mut zed = Client::with_clock(
        Account::create("zed", clock.now()).unwrap(),
        server.clone(),
        Box::new(move || c.now() - 3601),
    );
    let err = Collection::join(&mut zed, &url).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::LinkExpired { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn removing_the_poisoner_is_itself_the_recovery() {
    let mut w = world();
    let mut daves = Collection::open(&mut w.dave, w.coll.id()).unwrap();
    let everyone = ["alice", "bob", "carol", "dave", "pat"];
    let rotation = rotation_to(&w, [0x67; 32], &everyone);
    forge(&w, &w.carol, Body::Rotate { rotation });
    // Dave (admin) removes Carol straight away: the removal's rotation passes
    // over the bad epoch, carrying epoch 0's key to those who stay.
    daves.sync(&mut w.dave).unwrap();
    assert_eq!(daves.bad_epochs()[0].signer, "carol");
    daves.remove(&mut w.dave, "carol").unwrap();
    let last = w.server.log(&w.coll.id()).last().cloned().unwrap();
    match Operation::from_bytes(&last).unwrap().body() {
        Body::Remove { rotation, .. } => assert!(rotation.is_recovery()),
        other => panic!("{other:?}"),
    }
    w.coll.sync(&mut w.alice).unwrap();
    assert!(w.coll.bad_epochs().is_empty());
    let file = w
        .coll
        .add_file(&mut w.alice, None, "after.txt", "text/plain", b"after")
        .unwrap();
    let bobs = Collection::open(&mut w.bob, w.coll.id()).unwrap();
    assert_eq!(bobs.read(&w.bob, file).unwrap(), b"after");
    assert_eq!(bobs.read(&w.bob, w.file).unwrap(), b"by alice");
}

#[test]
fn a_rotation_that_leaves_a_member_out_is_refused() {
    // Dave (admin) rotates honestly but leaves Bob's wrap out, so Bob would
    // read nothing new: every verifier refuses it.
    let mut w = world();
    let mut rotation = rotation_to(&w, [0x68; 32], &[]);
    rotation.wraps.retain(|(h, _)| h != "bob");
    forge(&w, &w.dave, Body::Rotate { rotation });
    assert_refused(&mut w, |v| matches!(v, Violation::RotationRecipients(_)));
}

/// Lists that name nothing, or one thing twice, are refused as exactly that
/// (not as a rotation's recipients, an unnamed member or a revoked link).
#[test]
fn empty_and_repeated_lists_are_refused_as_such() {
    let mut w = world();
    let id = w.coll.id();
    let clean = w.server.log(&id);
    let link = w.coll.links().next().unwrap().terms.link;
    let epoch = w.coll.state().epoch();
    type Expect = fn(&Violation) -> bool;
    let cases: Vec<(Body, Expect)> = vec![
        (
            Body::Share {
                epoch,
                grants: vec![],
            },
            |v| matches!(v, Violation::EmptyList(_)),
        ),
        (
            Body::Remove {
                members: vec![],
                rotation: rotation_to(&w, [0x51; 32], &[]),
            },
            |v| matches!(v, Violation::EmptyList(_)),
        ),
        (
            Body::Remove {
                members: vec!["bob".into(), "bob".into()],
                rotation: rotation_to(&w, [0x52; 32], &[]),
            },
            |v| matches!(v, Violation::NamedTwice(m) if m.contains("bob")),
        ),
        (
            Body::RevokeLinks {
                links: vec![],
                rotation: None,
            },
            |v| matches!(v, Violation::EmptyList(_)),
        ),
        (
            Body::RevokeLinks {
                links: vec![link, link],
                rotation: None,
            },
            |v| matches!(v, Violation::NamedTwice(_)),
        ),
    ];
    for (body, expect) in cases {
        let alice = &w.alice;
        forge(&w, alice, body);
        assert_refused(&mut w, expect);
        w.server.set_log(&id, clean.clone());
    }
}

/// The same empty share from a signer without standing: a member awaiting
/// approval (no key), a pending one, one just demoted below what sharing
/// needs, each refused for who they are before the list is looked at; and a
/// far-future one is held, not refused.
#[test]
fn empty_lists_from_signers_without_standing_are_refused_for_their_standing() {
    let mut w = world();
    let id = w.coll.id();
    w.coll
        .change_role(&mut w.alice, "dave", Role::Collaborator)
        .unwrap();
    let clean = w.server.log(&id);
    let empty = |w: &World| Body::Share {
        epoch: w.coll.state().epoch(),
        grants: vec![],
    };
    type Expect = fn(&Violation) -> bool;
    let signers: [(&Client, Expect); 3] = [
        (&w.mallory, |v| matches!(v, Violation::AwaitsApproval(_))),
        (&w.pat, |v| matches!(v, Violation::NotAccepted { .. })),
        (&w.dave, |v| matches!(v, Violation::RoleTooLow { .. })),
    ];
    let forged: Vec<_> = signers
        .iter()
        .map(|(who, expect)| {
            w.server.set_log(&id, clean.clone());
            (forge(&w, who, empty(&w)).to_bytes().to_vec(), *expect)
        })
        .collect();
    for (op, expect) in forged {
        w.server.set_log(&id, clean.clone());
        w.server.inject(&id, op);
        assert_refused(&mut w, expect);
    }
    w.server.set_log(&id, clean.clone());
    forge_at(&w, &w.alice, empty(&w), w.clock.now() + MAX_CLOCK_SKEW + 60);
    let err = w.coll.sync(&mut w.alice).unwrap_err();
    assert!(matches!(err, Error::NotYetValid { .. }), "{err:?}");
}
