#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Invite links, invitations by handle, and public links: each term enforced by
//! every client from the signed log, and the malicious cases refused.

mod support;

use sealshare::collection::Client;
use sealshare::crypto::password::Argon2Params;
use sealshare::crypto::sign::SigningKey;
use sealshare::log::link::{LinkKeys, LinkKind, LinkTerms};
use sealshare::log::{Body, LinkId};
use sealshare::{
    Collection, CollectionId, Error, InviteTerms, LinkUrl, Operation, PublicLinkTerms,
    PublicScopeChoice, PublicView, Role, Violation,
};
use support::{TestClock, TestServer, introduce, user};

const BASE: &str = "https://notes.example/join";

fn fast_password() -> Argon2Params {
    Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    }
}

/// Signs `body` as `client` on the head the server stores, at `time`, and
/// injects it (a client that ignores the rules).
fn forge(server: &TestServer, id: CollectionId, client: &Client, body: Body, time: u64) {
    let log = server.log(&id);
    let last = Operation::from_bytes(log.last().unwrap()).unwrap();
    let op = client
        .account()
        .sign_operation(id, log.len() as u64, last.hash(), time, body)
        .unwrap();
    server.inject(&id, op.to_bytes().to_vec());
}

fn refused_with(coll: &mut Collection, client: &mut Client, expect: impl Fn(&Violation) -> bool) {
    let before = coll.state().len();
    match coll.sync(client).unwrap_err() {
        Error::InvalidOperation { seq, violation, .. } => {
            assert_eq!(seq, before);
            assert!(expect(&violation), "{violation:?}");
        }
        other => panic!("expected a refused operation, got {other:?}"),
    }
    assert_eq!(coll.state().len(), before);
}

#[test]
fn jupyterhub_invite_link_story() {
    let server = TestServer::new();
    let clock = TestClock::at(1_000_000);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "Course", "").unwrap();
    let notes = coll
        .add_file(&mut owner, None, "notes.ipynb", "application/json", b"{}")
        .unwrap();
    let url = coll
        .create_invite_link(
            &mut owner,
            BASE,
            InviteTerms {
                role: Role::Collaborator,
                ..Default::default()
            },
        )
        .unwrap();
    let text = url.to_url();
    assert!(text.starts_with("https://notes.example/join#"));

    // Three users join through the one link and read at once.
    let mut joined = Vec::new();
    for (i, name) in ["ann", "ben", "cat"].into_iter().enumerate() {
        clock.advance(60);
        let mut c = user(name, &server, &clock);
        let mut theirs = Collection::join(&mut c, &LinkUrl::parse(&text).unwrap()).unwrap();
        assert_eq!(theirs.read(&c, notes).unwrap(), b"{}");
        assert_eq!(theirs.role_of(name), Some(Role::Collaborator));
        theirs
            .add_folder(&mut c, None, &format!("work of {name} #{i}"))
            .unwrap();
        joined.push((c, theirs));
    }

    // The owner sees who joined, through which link, and when.
    coll.sync(&mut owner).unwrap();
    let rec = coll.links().next().unwrap();
    let who: Vec<&str> = rec.joins.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(who, ["ann", "ben", "cat"]);
    assert_eq!(rec.joins[0].1, 1_000_060);
    assert_eq!(coll.member("ben").unwrap().joined_via, Some(url.link()));

    // Revoking the link rotates the key (it carries one): a fourth user is refused.
    let epoch = coll.state().epoch();
    coll.revoke_link(&mut owner, url.link()).unwrap();
    assert_eq!(coll.state().epoch(), epoch + 1);
    let mut dan = user("dan", &server, &clock);
    assert!(matches!(
        Collection::join(&mut dan, &url),
        Err(Error::LinkRevoked)
    ));

    // The owner revokes one joined user, then all of them.
    coll.remove(&mut owner, "ann").unwrap();
    coll.revoke_all_joined(&mut owner).unwrap();
    assert_eq!(coll.members().count(), 1);
    let (mut ben, mut bens) = joined.remove(1);
    let later = coll
        .add_file(&mut owner, None, "answers", "text/plain", b"42")
        .unwrap();
    let _ = bens.sync(&mut ben);
    assert!(bens.read(&ben, later).is_err());
}

#[test]
fn expired_link_is_refused_even_by_a_server_that_accepts_the_join() {
    let server = TestServer::new();
    let clock = TestClock::at(5_000);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let url = coll
        .create_invite_link(&mut owner, BASE, InviteTerms::default())
        .unwrap();
    let expires = coll.links().next().unwrap().terms.expires_at;
    assert_eq!(expires, 5_000 + 3600, "one hour by default");
    clock.set(expires + 1);
    let mut late = user("late", &server, &clock);
    assert!(matches!(
        Collection::join(&mut late, &url),
        Err(Error::LinkExpired { expired_at }) if expired_at == expires
    ));
    // A client that ignores expiry, and a server that stores its join anyway.
    let id = coll.id();
    let card = late.account().identity().clone();
    let secret_key = link_signing_key(&url);
    let proof = secret_key.sign(
        sealshare::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::log::op::join_proof_message(&id, &url.link(), &card, Role::Viewer),
    );
    forge(
        &server,
        id,
        &late,
        Body::Join {
            link: url.link(),
            role: Role::Viewer,
            card,
            proof,
            wrap: None,
        },
        expires + 1,
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::LinkExpired { .. })
    });
}

/// The link's signing key, derived from the secret in the URL as SPEC.md says.
fn link_signing_key(url: &LinkUrl) -> SigningKey {
    let secret = link_secret(url);
    let ctx = [url.collection().0, url.link().0].concat();
    SigningKey::from_seed(
        &sealshare::crypto::kdf::derive_key(&secret, b"", "link-signing", &ctx).unwrap(),
    )
}

fn link_secret(url: &LinkUrl) -> [u8; 32] {
    let text = url.to_url();
    let fragment = text.split_once('#').unwrap().1;
    let payload = sealshare::wire::from_text(fragment, "link", 98).unwrap();
    payload[34..66].try_into().unwrap()
}

#[test]
fn approval_mode_use_limits_and_role_caps() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut admin = user("admin", &server, &clock);
    introduce(&mut [&mut owner, &mut admin]);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let secret_doc = coll
        .add_file(&mut owner, None, "doc", "text/plain", b"doc")
        .unwrap();
    coll.share(&mut owner, admin.account().identity(), Role::Admin)
        .unwrap();
    let mut admins = Collection::open(&mut admin, coll.id()).unwrap();
    admins.accept(&mut admin).unwrap();

    // Approval: the joiner is a member at once but holds no key until approved.
    let approval = admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                approval: true,
                role: Role::Editor,
                ..Default::default()
            },
        )
        .unwrap();
    let mut eve = user("eve", &server, &clock);
    let mut eves = Collection::join(&mut eve, &approval).unwrap();
    assert!(eves.member("eve").unwrap().awaits_approval());
    assert!(matches!(
        eves.read(&eve, secret_doc),
        Err(Error::NotAllowed(_))
    ));
    admins.sync(&mut admin).unwrap();
    admins.approve(&mut admin, "eve").unwrap();
    eves.sync(&mut eve).unwrap();
    assert_eq!(eves.read(&eve, secret_doc).unwrap(), b"doc");
    assert_eq!(
        eves.member("eve").unwrap().approved_by.as_deref(),
        Some("admin")
    );

    // A use limit of two: the third join is refused by every client.
    let limited = admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                max_uses: 2,
                ..Default::default()
            },
        )
        .unwrap();
    for name in ["u1", "u2"] {
        let mut c = user(name, &server, &clock);
        Collection::join(&mut c, &limited).unwrap();
    }
    let mut u3 = user("u3", &server, &clock);
    let err = Collection::join(&mut u3, &limited).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::LinkUsedUp,
                ..
            }
        ),
        "{err:?}"
    );

    // Several links at once, each with its own terms.
    admins.sync(&mut admin).unwrap();
    let terms: Vec<_> = admins.links().map(|l| l.terms.kind.clone()).collect();
    assert_eq!(terms.len(), 2);

    // Role caps: an admin's link may grant at most admin, never owner.
    admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                role: Role::Admin,
                ..Default::default()
            },
        )
        .unwrap();
    let err = admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                role: Role::Owner,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::OwnerOnlyByTransfer,
                ..
            }
        ),
        "{err:?}"
    );

    // A join claiming another role than its link's is refused.
    coll.sync(&mut owner).unwrap();
    let u4 = user("u4", &server, &clock);
    let card = u4.account().identity().clone();
    let key = link_signing_key(&approval);
    let proof = key.sign(
        sealshare::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::log::op::join_proof_message(&coll.id(), &approval.link(), &card, Role::Admin),
    );
    forge(
        &server,
        coll.id(),
        &u4,
        Body::Join {
            link: approval.link(),
            role: Role::Admin,
            card,
            proof,
            wrap: None,
        },
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::WrongLinkRole { .. })
    });
}

#[test]
fn pending_invitation_is_completed_after_sign_up_or_cancelled() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let doc = coll
        .add_file(&mut owner, None, "doc", "text/plain", b"hello")
        .unwrap();
    coll.invite(&mut owner, "frank@example.com", Role::Editor)
        .unwrap();
    coll.invite(&mut owner, "gina@example.com", Role::Viewer)
        .unwrap();
    assert_eq!(coll.state().invitations().len(), 2);
    assert_eq!(
        coll.state().invitations()["frank@example.com"].role,
        Role::Editor
    );

    // Frank signs up; the owner's client completes the invitation with his card.
    let mut frank = user("frank@example.com", &server, &clock);
    coll.complete_invitation(&mut owner, frank.account().identity())
        .unwrap();
    let mut franks = Collection::open(&mut frank, coll.id()).unwrap();
    franks.accept(&mut frank).unwrap();
    assert_eq!(franks.read(&frank, doc).unwrap(), b"hello");
    assert_eq!(franks.role_of("frank@example.com"), Some(Role::Editor));

    // Gina's invitation is cancelled before she signs up.
    coll.sync(&mut owner).unwrap();
    coll.cancel_invitation(&mut owner, "gina@example.com")
        .unwrap();
    let gina = user("gina@example.com", &server, &clock);
    let err = coll
        .complete_invitation(&mut owner, gina.account().identity())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOperation {
                violation: Violation::NoSuchInvitation(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(coll.state().invitations().is_empty());
}

#[test]
fn the_link_secret_never_reaches_the_server() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    coll.add_file(&mut owner, None, "doc", "text/plain", b"hello")
        .unwrap();
    let invite = coll
        .create_invite_link(&mut owner, BASE, InviteTerms::default())
        .unwrap();
    let approval = coll
        .create_invite_link(
            &mut owner,
            BASE,
            InviteTerms {
                approval: true,
                ..Default::default()
            },
        )
        .unwrap();
    let public = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                password: Some("pw".into()),
                password_params: fast_password(),
                ..Default::default()
            },
        )
        .unwrap();
    let snapshot = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                scope: PublicScopeChoice::Snapshot,
                ..Default::default()
            },
        )
        .unwrap();
    let mut joiner = user("joiner", &server, &clock);
    Collection::join(&mut joiner, &invite).unwrap();
    let mut other = user("other", &server, &clock);
    Collection::join(&mut other, &approval).unwrap();
    coll.sync(&mut owner).unwrap();
    coll.revoke_all_links(&mut owner).unwrap();

    let everything = server.all_bytes();
    for url in [&invite, &approval, &public, &snapshot] {
        let secret = link_secret(url);
        let ctx = [url.collection().0, url.link().0].concat();
        let mut needles = vec![secret.to_vec(), url.to_url().into_bytes()];
        needles.push(url.to_url().split_once('#').unwrap().1.as_bytes().to_vec());
        for label in ["link-signing", "link-kem", "link-items"] {
            let k = sealshare::crypto::kdf::derive_key(&secret, b"", label, &ctx).unwrap();
            needles.push(k.expose().to_vec());
        }
        for needle in needles {
            assert!(
                !everything
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "a link secret (or a key derived from it) reached the server"
            );
        }
    }
}

#[test]
fn public_links_give_exactly_their_scope() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "Album", "").unwrap();
    let a = coll
        .add_file(&mut owner, None, "a.jpg", "image/jpeg", b"A")
        .unwrap();
    let b = coll
        .add_file(&mut owner, None, "b.jpg", "image/jpeg", b"B")
        .unwrap();
    let live = coll
        .create_public_link(&mut owner, BASE, &PublicLinkTerms::default())
        .unwrap();
    let snap = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                scope: PublicScopeChoice::Snapshot,
                ..Default::default()
            },
        )
        .unwrap();
    let only_a = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                scope: PublicScopeChoice::Items(vec![a]),
                download: false,
                device_limit: 3,
                ..Default::default()
            },
        )
        .unwrap();
    coll.update_file(&mut owner, a, None, b"A2").unwrap();
    let c = coll
        .add_file(&mut owner, None, "c.jpg", "image/jpeg", b"C")
        .unwrap();
    let remote: std::sync::Arc<dyn sealshare::Remote> = server.clone();
    let names = |v: &PublicView| {
        v.items()
            .unwrap()
            .into_iter()
            .map(|i| i.metadata.name)
            .collect::<Vec<_>>()
    };

    let live_view = PublicView::open(remote.clone(), &live, None, clock.now()).unwrap();
    assert_eq!(names(&live_view), ["a.jpg", "b.jpg", "c.jpg"]);
    assert_eq!(live_view.read(a).unwrap(), b"A2");
    assert_eq!(live_view.name().unwrap(), "Album");

    let snap_view = PublicView::open(remote.clone(), &snap, None, clock.now()).unwrap();
    assert_eq!(names(&snap_view), ["a.jpg", "b.jpg"]);
    assert_eq!(
        snap_view.read(a).unwrap(),
        b"A",
        "the version of the snapshot"
    );
    assert!(snap_view.read(c).is_err());

    let item_view = PublicView::open(remote.clone(), &only_a, None, clock.now()).unwrap();
    assert_eq!(names(&item_view), ["a.jpg"]);
    assert!(item_view.read(b).is_err());
    match &item_view.terms().unwrap().kind {
        LinkKind::Public {
            download,
            device_limit,
            ..
        } => {
            assert!(!download);
            assert_eq!(*device_limit, 3);
        }
        other => panic!("{other:?}"),
    }

    // Revoking the live link rotates the key: the reader sees nothing new.
    let mut live_view = live_view;
    coll.revoke_link(&mut owner, live.link()).unwrap();
    let d = coll
        .add_file(&mut owner, None, "d.jpg", "image/jpeg", b"D")
        .unwrap();
    assert!(matches!(
        live_view.refresh(clock.now()),
        Err(Error::LinkRevoked)
    ));
    assert!(live_view.read(d).is_err());
    assert!(matches!(
        PublicView::open(remote.clone(), &live, None, clock.now()),
        Err(Error::LinkRevoked)
    ));
}

#[test]
fn public_link_password_expiry_and_a_swapped_log() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let doc = coll
        .add_file(&mut owner, None, "doc", "text/plain", b"hi")
        .unwrap();
    let terms = PublicLinkTerms {
        password: Some("correct horse".into()),
        password_params: fast_password(),
        valid_for: 100,
        ..Default::default()
    };
    let url = coll.create_public_link(&mut owner, BASE, &terms).unwrap();
    let remote: std::sync::Arc<dyn sealshare::Remote> = server.clone();
    let now = clock.now();
    assert!(matches!(
        PublicView::open(remote.clone(), &url, None, now),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(
        PublicView::open(remote.clone(), &url, Some("wrong"), now),
        Err(Error::WrongPassword)
    ));
    let view = PublicView::open(remote.clone(), &url, Some("correct horse"), now).unwrap();
    assert_eq!(view.read(doc).unwrap(), b"hi");
    assert!(matches!(
        PublicView::open(remote.clone(), &url, Some("correct horse"), now + 101),
        Err(Error::LinkExpired { .. })
    ));

    // The server serves another collection's log (made by someone else) under
    // this id: the creator key pinned in the link does not match.
    let mut mallory = user("owner", &server, &clock);
    let fake = Collection::create(&mut mallory, "c", "").unwrap();
    let fake_log = server.log(&fake.id());
    server.set_log(&coll.id(), fake_log);
    assert!(matches!(
        PublicView::open(remote.clone(), &url, Some("correct horse"), now),
        Err(Error::Fork { seq: 0 })
    ));
}

#[test]
fn malicious_link_operations_are_refused() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut viewer = user("viewer", &server, &clock);
    let mut admin = user("admin", &server, &clock);
    introduce(&mut [&mut owner, &mut viewer, &mut admin]);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    coll.share_many(
        &mut owner,
        &[
            (viewer.account().identity().clone(), Role::Viewer),
            (admin.account().identity().clone(), Role::Admin),
        ],
    )
    .unwrap();
    for c in [&mut viewer, &mut admin] {
        Collection::open(c, coll.id()).unwrap().accept(c).unwrap();
    }
    coll.sync(&mut owner).unwrap();
    let id = coll.id();
    let terms = |role: Role| LinkTerms {
        link: LinkId::random().unwrap(),
        kind: LinkKind::Invite {
            role,
            max_uses: 0,
            approval: true,
        },
        expires_at: clock.now() + 3600,
        password: None,
        verifying_key: SigningKey::generate().unwrap().verifying_key().to_bytes(),
        kem_key: sealshare::crypto::x25519::KemSecretKey::generate()
            .unwrap()
            .public_key()
            .to_bytes(),
        keys: LinkKeys::None,
    };

    // A viewer creates a link.
    let mut viewers = Collection::open(&mut viewer, id).unwrap();
    assert!(
        viewers
            .create_invite_link(&mut viewer, BASE, InviteTerms::default())
            .is_err()
    );
    forge(
        &server,
        id,
        &viewer,
        Body::CreateLink(Box::new(terms(Role::Viewer))),
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::RoleTooLow { .. })
    });
    server.set_log(&id, server.log(&id)[..coll.state().len() as usize].to_vec());

    // An admin creates a link granting Owner.
    forge(
        &server,
        id,
        &admin,
        Body::CreateLink(Box::new(terms(Role::Owner))),
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::OwnerOnlyByTransfer)
    });
    server.set_log(&id, server.log(&id)[..coll.state().len() as usize].to_vec());

    // A join that proves no link secret.
    let url = coll
        .create_invite_link(
            &mut owner,
            BASE,
            InviteTerms {
                approval: true,
                ..Default::default()
            },
        )
        .unwrap();
    let mallory = user("mallory", &server, &clock);
    let card = mallory.account().identity().clone();
    let wrong_key = SigningKey::generate().unwrap();
    let proof = wrong_key.sign(
        sealshare::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::log::op::join_proof_message(&id, &url.link(), &card, Role::Viewer),
    );
    forge(
        &server,
        id,
        &mallory,
        Body::Join {
            link: url.link(),
            role: Role::Viewer,
            card: card.clone(),
            proof,
            wrap: None,
        },
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::BadJoinProof)
    });
    server.set_log(&id, server.log(&id)[..coll.state().len() as usize].to_vec());

    // A join replayed into another collection (same link id and secret cannot
    // be there; the proof names the collection).
    let mut joiner = user("joiner", &server, &clock);
    Collection::join(&mut joiner, &url).unwrap();
    let join_op = server.log(&id).last().unwrap().clone();
    let mut other = Collection::create(&mut owner, "other", "").unwrap();
    server.inject(&other.id(), join_op.clone());
    refused_with(&mut other, &mut owner, |v| {
        matches!(v, Violation::WrongCollection)
    });
    server.set_log(&other.id(), server.log(&other.id())[..1].to_vec());
    let decoded = Operation::from_bytes(&join_op).unwrap();
    forge(
        &server,
        other.id(),
        &joiner,
        decoded.body.clone(),
        clock.now(),
    );
    refused_with(&mut other, &mut owner, |v| {
        matches!(v, Violation::NoSuchLink)
    });

    // The server alters a link's terms (say, the role or expiry).
    coll.sync(&mut owner).unwrap();
    let log = server.log(&id);
    let at = log
        .iter()
        .position(|b| matches!(Operation::from_bytes(b).unwrap().body, Body::CreateLink(_)))
        .unwrap();
    let mut altered = log.clone();
    let n = altered[at].len();
    altered[at][n - 200] ^= 0x04;
    server.set_log(&id, altered);
    let err = Collection::open(&mut owner, id).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOperation { seq, .. } if seq == at as u64),
        "{err:?}"
    );
}

#[test]
fn public_links_stream_content_and_refuse_a_swapped_blob() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "Videos", "").unwrap();
    // Several 64 KiB chunks, and not a whole number of them.
    let first: Vec<u8> = (0..300_001u32).map(|i| (i % 251) as u8).collect();
    let second: Vec<u8> = first.iter().map(|b| b ^ 0x5a).collect();
    let clip = coll
        .add_file_from_reader(&mut owner, None, "clip.mp4", "video/mp4", &mut &first[..])
        .unwrap();
    let snap = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                scope: PublicScopeChoice::Snapshot,
                ..Default::default()
            },
        )
        .unwrap();
    let live = coll
        .create_public_link(&mut owner, BASE, &PublicLinkTerms::default())
        .unwrap();
    coll.update_file(&mut owner, clip, None, &second).unwrap();
    let remote: std::sync::Arc<dyn sealshare::Remote> = server.clone();
    let streamed = |view: &PublicView| {
        let mut out = Vec::new();
        let n = view.read_into(clip, &mut out)?;
        assert_eq!(n, out.len() as u64);
        Ok::<_, Error>(out)
    };

    let live_view = PublicView::open(remote.clone(), &live, None, clock.now()).unwrap();
    assert_eq!(streamed(&live_view).unwrap(), second);
    let snap_view = PublicView::open(remote.clone(), &snap, None, clock.now()).unwrap();
    assert_eq!(
        streamed(&snap_view).unwrap(),
        first,
        "the version of the snapshot"
    );
    assert_eq!(snap_view.read(clip).unwrap(), first);

    // A server that answers with the other version's blob is caught.
    let id = coll.id();
    let hash = |v: usize| {
        coll.state().items()[&clip]
            .versions()
            .nth(v)
            .and_then(|v| v.header.content.clone())
            .unwrap()
            .ciphertext_hash
    };
    let (old, new) = (hash(0), hash(1));
    server.set_blob(&id, &new, server.blob(&id, &old));
    assert!(matches!(streamed(&live_view), Err(Error::ContentMismatch)));
    assert!(matches!(live_view.read(clip), Err(Error::ContentMismatch)));
}
