#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Invite links, invitations by handle, and public links: each term enforced by
//! every client from the signed log, and the malicious cases refused.

mod support;

use sealshare::internal::collection::Client;
use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::kdf::derive_key;
use sealshare::internal::crypto::password::{self, Argon2Budget, Argon2Params};
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::SigningKey;
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::crypto::x25519::KemSecretKey;
use sealshare::internal::log::link_terms::{
    LinkKeys, LinkKind, LinkTerms, PasswordLock, PublicScope,
};
use sealshare::internal::log::op::Rotation;
use sealshare::internal::log::{Body, LinkId};
use sealshare::{
    Collection, CollectionId, Error, InviteTerms, LinkUrl, LogState, Operation, PublicLinkTerms,
    PublicView, Role, Violation,
};
use support::{TestClock, TestServer, introduce, refused, user};

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
    support::forge(server, id, client, body, time);
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

/// A verifier replaying the whole stored log from scratch (a new device, or a
/// server running the secret-free verifier) refuses it at `seq`.
fn log_refused_at(
    server: &TestServer,
    id: CollectionId,
    seq: u64,
    expect: impl Fn(&Violation) -> bool,
) {
    let mut state = LogState::empty(id);
    match state
        .extend_from_bytes(&server.log(&id), u64::MAX)
        .unwrap_err()
    {
        sealshare::internal::log::VerifyError::InvalidOperation {
            seq: refused,
            violation,
            ..
        } => {
            assert_eq!(refused, seq);
            assert!(expect(&violation), "{violation:?}");
        }
        other => panic!("expected a refused operation, got {other:?}"),
    }
    assert_eq!(state.len(), seq);
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
    // Not only dan's own client: a join made anyway (his own card, a proof made
    // with the link's key, the link's role, the key the link carried wrapped to
    // himself) is refused from the log by the owner, by every member, and by a
    // verifier replaying the log from scratch.
    let id = coll.id();
    for (c, theirs) in &mut joined {
        theirs.sync(c).unwrap();
    }
    let at = coll.state().len();
    forge(
        &server,
        id,
        &dan,
        join_through(&server, &url, &dan),
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::LinkRevoked)
    });
    for (c, theirs) in &mut joined {
        refused_with(theirs, c, |v| matches!(v, Violation::LinkRevoked));
    }
    log_refused_at(&server, id, at, |v| matches!(v, Violation::LinkRevoked));
    server.set_log(&id, server.log(&id)[..at as usize].to_vec());

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
        sealshare::internal::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::internal::log::op::join_proof_message(&id, &url.link(), &card, Role::Viewer),
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
    SigningKey::from_seed(
        &derive_key(&link_secret(url), b"", "link-signing", &link_ctx(url)).unwrap(),
    )
}

fn link_secret(url: &LinkUrl) -> [u8; 32] {
    let text = url.to_url();
    let fragment = text.split_once('#').unwrap().1;
    let payload = sealshare::internal::wire::from_text(fragment, "link", 98).unwrap();
    payload[34..66].try_into().unwrap()
}

/// `collection [16] || link [16]`: the context of every key derived from a link's secret.
fn link_ctx(url: &LinkUrl) -> Vec<u8> {
    [url.collection().0, url.link().0].concat()
}

/// The link's KEM secret key, derived from the secret in the URL as SPEC.md
/// says: `HKDF(secret, salt = password key or empty, "link-kem", ctx)`.
fn link_kem_key(url: &LinkUrl, password_key: Option<&SecretKey>) -> KemSecretKey {
    let salt: &[u8] = password_key.map_or(&[], |k| k.expose());
    KemSecretKey::from_secret(
        &derive_key(&link_secret(url), salt, "link-kem", &link_ctx(url)).unwrap(),
    )
}

/// A link's recipient id in wrap contexts: its id followed by 16 zero bytes.
fn link_recipient(link: LinkId) -> [u8; 32] {
    let mut r = [0u8; 32];
    r[..16].copy_from_slice(&link.0);
    r
}

/// Whether `wrap` opens under `kem` as an epoch key wrapped to `link` (SPEC.md:
/// link epoch wrap, purpose "link-epoch-key").
fn opens_as_link_wrap(
    kem: &KemSecretKey,
    wrap: &WrappedSecret,
    collection: CollectionId,
    epoch: u64,
    link: LinkId,
) -> bool {
    wrap.unwrap_key(
        kem,
        &WrapContext {
            purpose: "link-epoch-key",
            collection: &collection.0,
            epoch,
            recipient: &link_recipient(link),
        },
    )
    .is_ok()
}

/// The terms a link was created with, as the public log records them.
fn terms_in_log(server: &TestServer, id: CollectionId, link: LinkId) -> LinkTerms {
    server
        .log(&id)
        .iter()
        .find_map(|b| match Operation::from_bytes(b).unwrap().body() {
            Body::CreateLink(t) if t.link == link => Some((**t).clone()),
            _ => None,
        })
        .expect("the link's creation in the log")
}

/// The rotation an operation carries, if any.
fn rotation_of(body: &Body) -> Option<&Rotation> {
    match body {
        Body::Remove { rotation, .. } | Body::Unshare { rotation } | Body::Rotate { rotation } => {
            Some(rotation)
        }
        Body::RevokeLinks { rotation, .. } => rotation.as_ref(),
        _ => None,
    }
}

/// A join through the invite link `url` as a client that skips its own checks
/// builds it from the URL and the public log: the joiner's own card, a proof
/// made with the link's signing key, exactly the role the link grants, and,
/// when the link needs no approval, the epoch key the link carries (opened with
/// the link's KEM key) wrapped to the joiner.
fn join_through(server: &TestServer, url: &LinkUrl, joiner: &Client) -> Body {
    let id = url.collection();
    let terms = terms_in_log(server, id, url.link());
    let LinkKind::Invite { role, approval, .. } = terms.kind else {
        panic!("not an invite link")
    };
    let card = joiner.account().identity().clone();
    let proof = link_signing_key(url).sign(
        sealshare::internal::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::internal::log::op::join_proof_message(&id, &url.link(), &card, role),
    );
    let wrap = match (approval, &terms.keys) {
        (true, LinkKeys::None) => None,
        (false, LinkKeys::Epoch { epoch, wrap }) => {
            let key = wrap
                .unwrap_key(
                    &link_kem_key(url, None),
                    &WrapContext {
                        purpose: "link-epoch-key",
                        collection: &id.0,
                        epoch: *epoch,
                        recipient: &link_recipient(url.link()),
                    },
                )
                .unwrap();
            let me = card.fingerprint().to_bytes();
            Some(
                WrappedSecret::wrap_key(
                    card.kem_key(),
                    &WrapContext {
                        purpose: "epoch-key",
                        collection: &id.0,
                        epoch: *epoch,
                        recipient: &me,
                    },
                    &key,
                )
                .unwrap(),
            )
        }
        other => panic!("unexpected link keys {other:?}"),
    };
    Body::Join {
        link: url.link(),
        role,
        card,
        proof,
        wrap,
    }
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
    // u3's own client refuses before signing anything.
    let err = Collection::join(&mut u3, &limited).unwrap_err();
    assert!(
        matches!(&err, Error::NotAllowed(m) if m.contains("use limit")),
        "{err:?}"
    );
    // Not only u3's own client: a join made anyway (u3's own card, a proof made
    // with the link's key, the link's role, the key the link carries wrapped to
    // u3) is refused from the log by the other clients and by a verifier
    // replaying the log from scratch.
    admins.sync(&mut admin).unwrap();
    coll.sync(&mut owner).unwrap();
    let at = coll.state().len();
    forge(
        &server,
        coll.id(),
        &u3,
        join_through(&server, &limited, &u3),
        clock.now(),
    );
    refused_with(&mut admins, &mut admin, |v| {
        matches!(v, Violation::LinkUsedUp)
    });
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::LinkUsedUp)
    });
    log_refused_at(&server, coll.id(), at, |v| {
        matches!(v, Violation::LinkUsedUp)
    });
    server.set_log(&coll.id(), server.log(&coll.id())[..at as usize].to_vec());

    // Several links at once, each with its own terms.
    admins.sync(&mut admin).unwrap();
    let terms: Vec<_> = admins.links().map(|l| l.terms.kind.clone()).collect();
    assert_eq!(terms.len(), 2);

    // Role caps: an admin's link grants strictly below admin (as a share
    // would), never owner.
    admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                role: Role::Editor,
                ..Default::default()
            },
        )
        .unwrap();
    let err = admins
        .create_invite_link(
            &mut admin,
            BASE,
            InviteTerms {
                role: Role::Admin,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotAllowedByRole(m) if m.contains("may only manage members below admin")),
        "{err:?}"
    );
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
    assert_eq!(refused::<()>(Err(err)), Violation::OwnerOnlyByTransfer);

    // A join claiming another role than its link's is refused.
    coll.sync(&mut owner).unwrap();
    let u4 = user("u4", &server, &clock);
    let card = u4.account().identity().clone();
    let key = link_signing_key(&approval);
    let proof = key.sign(
        sealshare::internal::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::internal::log::op::join_proof_message(
            &coll.id(),
            &approval.link(),
            &card,
            Role::Admin,
        ),
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
    server.set_log(
        &coll.id(),
        server.log(&coll.id())[..coll.state().len() as usize].to_vec(),
    );

    // A join through a revoked link, by a client that skips its own check, is
    // refused from the log. The approval link carries no key, so no rotation
    // came with its revocation: the revocation alone stands in the join's way.
    coll.revoke_link(&mut owner, approval.link()).unwrap();
    let u5 = user("u5", &server, &clock);
    let at = coll.state().len();
    forge(
        &server,
        coll.id(),
        &u5,
        join_through(&server, &approval, &u5),
        clock.now(),
    );
    refused_with(&mut coll, &mut owner, |v| {
        matches!(v, Violation::LinkRevoked)
    });
    log_refused_at(&server, coll.id(), at, |v| {
        matches!(v, Violation::LinkRevoked)
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
    assert_eq!(
        refused(coll.complete_invitation(&mut owner, gina.account().identity())),
        Violation::NoSuchInvitation("gina@example.com".into())
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
    let password = "correct horse battery staple";
    let public = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                password: Some(password.into()),
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
                scope: PublicScope::Snapshot,
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
    let id = coll.id();
    for url in [&invite, &approval, &public, &snapshot] {
        let terms = terms_in_log(&server, id, url.link());
        // The keys derived as the library derives them (SPEC.md §Links): for a
        // password link, the KEM and items keys take the password key (Argon2id
        // with the parameters and salt the log stores) as HKDF salt.
        let password_key = terms
            .password
            .map(|lock| password::derive(password.as_bytes(), &lock.salt, lock.params).unwrap());
        assert_eq!(password_key.is_some(), url.link() == public.link());
        let salt: &[u8] = password_key.as_ref().map_or(&[], |k| k.expose());
        let secret = link_secret(url);
        let ctx = link_ctx(url);
        let signing = derive_key(&secret, b"", "link-signing", &ctx).unwrap();
        let kem = derive_key(&secret, salt, "link-kem", &ctx).unwrap();
        let items = derive_key(&secret, salt, "link-items", &ctx).unwrap();
        // They are the keys in use: their public halves are the ones the log
        // records, and the snapshot's item keys open under the items key.
        assert_eq!(
            SigningKey::from_seed(&signing).verifying_key().to_bytes(),
            terms.verifying_key
        );
        assert_eq!(
            KemSecretKey::from_secret(&kem).public_key().to_bytes(),
            terms.kem_key
        );
        if let LinkKeys::Items { sealed } = &terms.keys {
            let aad = [
                b"sealshare/v1/link-items\0".as_slice(),
                &id.0,
                &url.link().0,
            ]
            .concat();
            sealed.open(&items, &aad).unwrap();
        }
        let mut needles = vec![secret.to_vec(), url.to_url().into_bytes()];
        needles.push(url.to_url().split_once('#').unwrap().1.as_bytes().to_vec());
        for k in [&signing, &kem, &items] {
            needles.push(k.expose().to_vec());
        }
        if let Some(k) = &password_key {
            needles.push(k.expose().to_vec());
            needles.push(password.as_bytes().to_vec());
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
                scope: PublicScope::Snapshot,
                ..Default::default()
            },
        )
        .unwrap();
    let only_a = coll
        .create_public_link(
            &mut owner,
            BASE,
            &PublicLinkTerms {
                scope: PublicScope::Items,
                items: vec![a],
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
            .complete()
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

    // Another live link, which stays live: the rotation must wrap the new key
    // to it, and to it alone.
    let still_live = coll
        .create_public_link(&mut owner, BASE, &PublicLinkTerms::default())
        .unwrap();

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

    // Not only because the reader's client checks the revocation: the new key
    // is wrapped to no revoked link. The revocation's rotation lists only the
    // link still live, and no wrap of that rotation, nor of any later one,
    // opens under the KEM key the revoked link's holder derives from its URL.
    let id = coll.id();
    let log = server.log(&id);
    let revoked_at = log
        .iter()
        .position(|b| {
            matches!(Operation::from_bytes(b).unwrap().body(),
                Body::RevokeLinks { links, .. } if links.contains(&live.link()))
        })
        .unwrap();
    let revocation = Operation::from_bytes(&log[revoked_at]).unwrap();
    let Body::RevokeLinks {
        rotation: Some(rotation),
        ..
    } = &revocation.body()
    else {
        panic!("revoking a link that carries the key rotates it")
    };
    let listed: Vec<LinkId> = rotation.links.iter().map(|(l, _)| *l).collect();
    assert_eq!(listed, [still_live.link()]);
    let revoked_kem = link_kem_key(&live, None);
    // The derivation is the library's: the holder opened the key the link
    // carried when it was made, and the link still live opens the new one.
    let LinkKeys::Epoch { epoch, wrap } = terms_in_log(&server, id, live.link()).keys else {
        panic!("a live link carries the epoch key")
    };
    assert!(opens_as_link_wrap(
        &revoked_kem,
        &wrap,
        id,
        epoch,
        live.link()
    ));
    assert!(opens_as_link_wrap(
        &link_kem_key(&still_live, None),
        &rotation.links[0].1,
        id,
        rotation.epoch,
        still_live.link()
    ));
    let mut rotations = 0;
    for bytes in &log[revoked_at..] {
        let op = Operation::from_bytes(bytes).unwrap();
        let Some(r) = rotation_of(op.body()) else {
            continue;
        };
        rotations += 1;
        assert!(r.links.iter().all(|(l, _)| *l != live.link()));
        let wraps = r
            .links
            .iter()
            .map(|(_, w)| w)
            .chain(r.wraps.iter().map(|(_, w)| w));
        for w in wraps {
            for as_link in [live.link(), still_live.link()] {
                assert!(
                    !opens_as_link_wrap(&revoked_kem, w, id, r.epoch, as_link),
                    "a key of epoch {} is wrapped to the revoked link",
                    r.epoch
                );
            }
        }
    }
    assert_eq!(rotations, 1);
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
        kem_key: KemSecretKey::generate().unwrap().public_key().to_bytes(),
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
        sealshare::internal::log::op::JOIN_PROOF_DOMAIN,
        &sealshare::internal::log::op::join_proof_message(&id, &url.link(), &card, Role::Viewer),
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

    // A join replayed into another collection: as it is, it names the first
    // collection.
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
        decoded.body().clone(),
        clock.now(),
    );
    // Re-signed by the joiner for the other collection, where the link does
    // not exist.
    refused_with(&mut other, &mut owner, |v| {
        matches!(v, Violation::NoSuchLink)
    });
    server.set_log(&other.id(), server.log(&other.id())[..1].to_vec());
    // An owner of the other collection publishes a link there with the same id
    // and the same keys, copied from the first collection's public log: the
    // link exists and admits joins, yet the re-signed join is refused, because
    // its proof names the first collection.
    let copied = terms_in_log(&server, id, url.link());
    forge(
        &server,
        other.id(),
        &owner,
        Body::CreateLink(Box::new(copied.clone())),
        clock.now(),
    );
    other.sync(&mut owner).unwrap();
    let there = other.links().next().unwrap();
    assert_eq!(there.terms.link, url.link());
    assert_eq!(there.terms.verifying_key, copied.verifying_key);
    assert!(there.revoked.is_none() && there.joins.is_empty());
    forge(
        &server,
        other.id(),
        &joiner,
        decoded.body().clone(),
        clock.now(),
    );
    refused_with(&mut other, &mut owner, |v| {
        matches!(v, Violation::BadJoinProof)
    });

    // The server alters a link's terms: it raises the role the link grants, or
    // pushes its expiry back. The altered operation still decodes, with the new
    // terms; the creator's signature over it no longer verifies.
    coll.sync(&mut owner).unwrap();
    let log = server.log(&id);
    let at = log
        .iter()
        .position(|b| {
            matches!(Operation::from_bytes(b).unwrap().body(),
                Body::CreateLink(t) if t.link == url.link())
        })
        .unwrap();
    let original = terms_in_log(&server, id, url.link());
    // link_terms = link [16] || 01 || role u8 || max_uses u32 || approval u8
    //              || expires_at u64 || ... (SPEC.md §Operation)
    let start = log[at].windows(16).position(|w| w == url.link().0).unwrap();
    assert_eq!(log[at][start + 16], 0x01, "an invite link");
    assert_eq!(log[at][start + 17], 0x01, "granting viewer");
    let role_at = start + 17;
    let expiry_at = start + 16 + 1 + 1 + 4 + 1;
    for (offset, flip) in [(role_at, 0x05), (expiry_at + 3, 0x01)] {
        let mut altered = log.clone();
        altered[at][offset] ^= flip;
        let decoded = Operation::from_bytes(&altered[at]).unwrap();
        let Body::CreateLink(terms) = decoded.body() else {
            panic!("the altered operation no longer creates a link")
        };
        let expected = if offset == role_at {
            LinkTerms {
                kind: LinkKind::Invite {
                    role: Role::Admin,
                    max_uses: 0,
                    approval: true,
                },
                ..original.clone()
            }
        } else {
            LinkTerms {
                expires_at: original.expires_at + (1 << 32),
                ..original.clone()
            }
        };
        assert_eq!(**terms, expected);
        server.set_log(&id, altered);
        let err = Collection::open(&mut owner, id).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOperation {
                    seq,
                    violation: Violation::BadSignature { ref author },
                    ..
                } if seq == at as u64 && author == "owner"
            ),
            "{err:?}"
        );
        log_refused_at(&server, id, at as u64, |v| {
            matches!(v, Violation::BadSignature { .. })
        });
    }
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
                scope: PublicScope::Snapshot,
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

/// A public link's password parameters are paid by every reader, so they may
/// not exceed the Moderate profile (`Argon2Budget::LINK_PASSWORD`). The client
/// refuses such terms before hashing or signing anything; a hand-signed
/// CreateLink with them is refused by every verifier of the log, though the
/// same operation at exactly Moderate is accepted.
#[test]
fn link_password_parameters_above_moderate_are_refused() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    coll.add_file(&mut owner, None, "doc", "text/plain", b"hi")
        .unwrap();
    let id = coll.id();
    let above = [
        Argon2Params {
            memory_kib: 512 * 1024,
            passes: 2,
            lanes: 1,
        },
        Argon2Params {
            passes: 4,
            ..Argon2Params::MODERATE
        },
        Argon2Params {
            lanes: 5,
            ..Argon2Params::MODERATE
        },
        Argon2Params::SENSITIVE,
    ];

    // The client refuses before anything is hashed or signed.
    for params in above {
        params.check().unwrap(); // within the absolute bounds
        let len = server.log(&id).len();
        let terms = PublicLinkTerms {
            password: Some("correct horse".into()),
            password_params: params,
            ..Default::default()
        };
        match coll.create_public_link(&mut owner, BASE, &terms) {
            Err(Error::UnsafeParameters(msg)) => assert!(msg.contains("budget"), "{msg}"),
            other => panic!("{params:?}: expected UnsafeParameters, got {other:?}"),
        }
        assert_eq!(server.log(&id).len(), len, "nothing was signed");
    }

    // Hand-signed by the owner, past the client's check.
    let hand_built = |params: Argon2Params| LinkTerms {
        link: LinkId::random().unwrap(),
        kind: LinkKind::Public {
            scope: PublicScope::Snapshot,
            device_limit: 0,
            download: true,
        },
        expires_at: clock.now() + 3600,
        password: Some(PasswordLock {
            params,
            salt: [7; 16],
        }),
        verifying_key: SigningKey::generate().unwrap().verifying_key().to_bytes(),
        kem_key: KemSecretKey::generate().unwrap().public_key().to_bytes(),
        keys: LinkKeys::Items {
            sealed: SealedBox::seal(&SecretKey::random().unwrap(), b"", b"").unwrap(),
        },
    };
    // At exactly Moderate, the same hand-built operation is accepted: what
    // refuses the others below is their parameters alone.
    forge(
        &server,
        id,
        &owner,
        Body::CreateLink(Box::new(hand_built(Argon2Params::MODERATE))),
        clock.now(),
    );
    coll.sync(&mut owner).unwrap();
    let accepted = coll.state().len();
    for params in above {
        forge(
            &server,
            id,
            &owner,
            Body::CreateLink(Box::new(hand_built(params))),
            clock.now(),
        );
        let is_it = |v: &Violation| {
            matches!(
                v,
                Violation::LinkTerms("password-hashing parameters out of bounds")
            )
        };
        refused_with(&mut coll, &mut owner, is_it);
        log_refused_at(&server, id, accepted, is_it);
        server.set_log(&id, server.log(&id)[..accepted as usize].to_vec());
    }
}

/// A reader checks a link's stored password parameters against its own budget
/// before deriving anything: a reader with a small budget refuses a link whose
/// parameters exceed it (`UnsafeParameters`, whatever the password), and the
/// same link opens within the default budget.
#[test]
fn a_reader_refuses_link_parameters_above_its_budget() {
    let server = TestServer::new();
    let clock = TestClock::at(10);
    let mut owner = user("owner", &server, &clock);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let doc = coll
        .add_file(&mut owner, None, "doc", "text/plain", b"hi")
        .unwrap();
    let params = Argon2Params {
        passes: 3,
        ..fast_password()
    };
    let terms = PublicLinkTerms {
        password: Some("correct horse".into()),
        password_params: params,
        ..Default::default()
    };
    let url = coll.create_public_link(&mut owner, BASE, &terms).unwrap();
    let remote: std::sync::Arc<dyn sealshare::Remote> = server.clone();
    let now = clock.now();
    let small = Argon2Budget {
        max_memory_kib: 19 * 1024,
        max_work_kib_passes: 19 * 1024 * 2,
        max_lanes: 1,
    };
    for password in ["correct horse", "a guess"] {
        match PublicView::open_within(remote.clone(), &url, Some(password), now, small) {
            Err(Error::UnsafeParameters(msg)) => {
                assert!(msg.contains("memory_kib × passes = 19456 × 3"), "{msg}");
                assert!(msg.contains("budget of 38912"), "{msg}");
            }
            other => panic!("expected UnsafeParameters, got {other:?}"),
        }
    }
    let fewer_lanes = Argon2Budget {
        max_lanes: 0,
        ..Argon2Budget::DEFAULT
    };
    assert!(matches!(
        PublicView::open_within(
            remote.clone(),
            &url,
            Some("correct horse"),
            now,
            fewer_lanes
        ),
        Err(Error::UnsafeParameters(_))
    ));
    // Exactly at the reader's budget, and within the default, it opens.
    for budget in [Argon2Budget::admitting(params), Argon2Budget::DEFAULT] {
        let view =
            PublicView::open_within(remote.clone(), &url, Some("correct horse"), now, budget)
                .unwrap();
        assert_eq!(view.read(doc).unwrap(), b"hi");
    }
    let view = PublicView::open(remote, &url, Some("correct horse"), now).unwrap();
    assert_eq!(view.read(doc).unwrap(), b"hi");
}

#[test]
fn a_public_links_scope_and_its_items_must_agree_and_a_mismatch_sends_nothing() {
    let server = TestServer::new();
    let clock = TestClock::at(1_000);
    let mut alice = user("alice", &server, &clock);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let memo = notes
        .add_file(&mut alice, None, "memo", "text/plain", b"hi")
        .unwrap();
    let before = notes.state().len();
    let no_items = PublicLinkTerms {
        scope: PublicScope::Items,
        ..PublicLinkTerms::default()
    };
    let items_on_live = PublicLinkTerms {
        items: vec![memo],
        ..PublicLinkTerms::default()
    };
    for terms in [no_items, items_on_live] {
        let err = notes
            .create_public_link(&mut alice, "https://s.example/l", &terms)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    notes.sync(&mut alice).unwrap();
    assert_eq!(notes.state().len(), before, "nothing was appended");
    let chosen = PublicLinkTerms {
        scope: PublicScope::Items,
        items: vec![memo],
        ..PublicLinkTerms::default()
    };
    notes
        .create_public_link(&mut alice, "https://s.example/l", &chosen)
        .unwrap();
}
