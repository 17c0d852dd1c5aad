#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The stories from the products users know, end to end through the Rust API,
//! with the clock moving between steps so every recorded time means something.

mod support;

use sealshare::internal::crypto::wrap::WrapContext;
use sealshare::internal::log::{Action, Body};
use sealshare::{
    Collection, CollectionId, CollectionList, Error, InviteTerms, LinkUrl, Operation, PendingKind,
    Role, Violation,
};
use support::{TestClock, TestServer, assert_lists_nothing, introduce, refused, user};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// How many operations the server stores for `id`.
fn ops(server: &TestServer, id: CollectionId) -> usize {
    server.log(&id).len()
}

fn too_low(author: &str, role: Role, action: Action) -> Violation {
    Violation::RoleTooLow {
        author: author.to_owned(),
        role,
        action,
    }
}

/// Ente Locker: the owner shares with a viewer and a collaborator; the
/// collaborator adds, cannot delete others' items; the owner changes a role and
/// removes access.
#[test]
fn ente_locker_viewer_and_collaborator() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_700_000_000);
    let mut owner = user("owner@ente", &server, &clock);
    let mut viewer = user("viewer@ente", &server, &clock);
    let mut collab = user("collab@ente", &server, &clock);
    introduce(&mut [&mut owner, &mut viewer, &mut collab]);

    let mut locker = Collection::create(&mut owner, "Documents", "passports and leases").unwrap();
    let id = locker.id();
    let passport = locker
        .add_file(&mut owner, None, "passport.pdf", "application/pdf", b"P")
        .unwrap();

    // The owner shares the collection, one recipient a minute after the other.
    clock.advance(MINUTE);
    let viewer_added = clock.now();
    locker
        .share(&mut owner, viewer.account().identity(), Role::Viewer)
        .unwrap();
    clock.advance(MINUTE);
    let collab_added = clock.now();
    locker
        .share(&mut owner, collab.account().identity(), Role::Collaborator)
        .unwrap();

    // Each finds it under "Shared with me", with their role, and accepts.
    clock.advance(HOUR);
    let mut views = None;
    let mut collabs = None;
    for (client, role, added_at) in [
        (&mut viewer, Role::Viewer, viewer_added),
        (&mut collab, Role::Collaborator, collab_added),
    ] {
        let list = CollectionList::fetch(client).unwrap();
        assert!(list.failed.is_empty(), "{:?}", list.failed);
        assert!(list.shared.is_empty());
        assert_eq!(list.pending.len(), 1);
        let s = list.pending.into_iter().next().unwrap();
        assert_eq!(
            (
                s.kind,
                s.name.as_deref(),
                s.owner.as_str(),
                s.role,
                s.by.as_str(),
                s.at,
            ),
            (
                PendingKind::Share,
                Some("Documents"),
                "owner@ente",
                role,
                "owner@ente",
                added_at,
            )
        );
        let mut view = s.collection;
        view.accept(client).unwrap();
        assert_eq!(view.read(client, passport).unwrap(), b"P");
        if role == Role::Viewer {
            views = Some(view);
        } else {
            collabs = Some(view);
        }
        clock.advance(MINUTE);
    }
    let (mut views, mut collabs) = (views.unwrap(), collabs.unwrap());

    // The viewer views, and cannot add.
    let before = ops(&server, id);
    assert_eq!(
        refused(views.add_folder(&mut viewer, None, "mine")),
        too_low("viewer@ente", Role::Viewer, Action::AddItem)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    // The collaborator adds; cannot delete others' items nor manage access.
    clock.advance(MINUTE);
    let lease = collabs
        .add_file(&mut collab, None, "lease.pdf", "application/pdf", b"L")
        .unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(collabs.trash(&mut collab, passport)),
        too_low("collab@ente", Role::Collaborator, Action::EditAnyItem)
    );
    assert_eq!(
        refused(collabs.remove(&mut collab, "viewer@ente")),
        too_low("collab@ente", Role::Collaborator, Action::ManageMembers)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
    collabs.trash(&mut collab, lease).unwrap(); // their own: allowed
    collabs.restore(&mut collab, lease).unwrap();

    views.sync(&mut viewer).unwrap();
    assert_eq!(views.read(&viewer, lease).unwrap(), b"L");
    assert_eq!(views.item(lease).unwrap().creator, "collab@ente");

    // The owner sees who has access, since when.
    locker.sync(&mut owner).unwrap();
    let who: Vec<(&str, Role, &str, Option<u64>)> = locker
        .members()
        .map(|m| (m.card.handle(), m.role, m.added_by.as_str(), m.accepted_at))
        .collect();
    assert_eq!(
        who,
        [
            (
                "collab@ente",
                Role::Collaborator,
                "owner@ente",
                Some(collab_added + HOUR + MINUTE)
            ),
            ("owner@ente", Role::Owner, "owner@ente", Some(1_700_000_000)),
            (
                "viewer@ente",
                Role::Viewer,
                "owner@ente",
                Some(collab_added + HOUR)
            ),
        ]
    );

    // A day later the owner makes the viewer a collaborator: they add at once.
    clock.advance(DAY);
    locker
        .change_role(&mut owner, "viewer@ente", Role::Collaborator)
        .unwrap();
    views.sync(&mut viewer).unwrap();
    assert_eq!(views.role_of("viewer@ente"), Some(Role::Collaborator));
    views.add_folder(&mut viewer, None, "now allowed").unwrap();

    // Then removes the first collaborator's access.
    clock.advance(DAY);
    locker.sync(&mut owner).unwrap();
    locker.remove(&mut owner, "collab@ente").unwrap();
    let after = locker
        .add_file(&mut owner, None, "new.pdf", "application/pdf", b"N")
        .unwrap();
    collabs.sync(&mut collab).unwrap();
    assert!(collabs.member("collab@ente").is_none());
    assert!(matches!(
        collabs.read(&collab, after),
        Err(Error::NotAllowed(_))
    ));
    assert!(collabs.add_folder(&mut collab, None, "x").is_err());
    assert_lists_nothing(&mut collab);
    views.sync(&mut viewer).unwrap();
    assert_eq!(views.read(&viewer, after).unwrap(), b"N");

    let texts: Vec<String> = locker.history().into_iter().map(|h| h.text).collect();
    for line in [
        "owner@ente changed viewer@ente from viewer to collaborator",
        "owner@ente removed collab@ente (new key epoch 1)",
    ] {
        assert!(texts.iter().any(|t| t == line), "{line:?} in {texts:#?}");
    }
}

/// Joplin: a notebook with sub-notebooks and attachments shared with two users;
/// both accept; one is removed; the owner unshares and only the owner keeps it.
#[test]
fn joplin_notebook_with_subnotebooks() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_700_000_000);
    let mut owner = user("laurent", &server, &clock);
    let mut a = user("ana", &server, &clock);
    let mut b = user("bo", &server, &clock);
    introduce(&mut [&mut owner, &mut a, &mut b]);

    let mut nb = Collection::create(&mut owner, "Travel", "trips and plans").unwrap();
    let europe = nb.add_folder(&mut owner, None, "Europe").unwrap();
    let france = nb.add_folder(&mut owner, Some(europe), "France").unwrap();
    let paris = nb.add_folder(&mut owner, Some(france), "Paris").unwrap();
    let note = nb
        .add_file(
            &mut owner,
            Some(paris),
            "plan.md",
            "text/markdown",
            b"# Day 1",
        )
        .unwrap();
    let photo = nb
        .add_file(
            &mut owner,
            Some(paris),
            "louvre.jpg",
            "image/jpeg",
            &[7u8; 200_000],
        )
        .unwrap();
    let packing = nb
        .add_file(&mut owner, None, "packing.md", "text/markdown", b"- socks")
        .unwrap();

    clock.advance(5 * MINUTE);
    let shared_at = clock.now();
    nb.share_many(
        &mut owner,
        &[
            (a.account().identity().clone(), Role::Editor),
            (b.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();

    // The recipients are notified (the share waits under "Shared with me") and accept.
    let mut views = Vec::new();
    for c in [&mut a, &mut b] {
        let list = CollectionList::fetch(c).unwrap();
        assert_eq!(list.pending.len(), 1);
        let s = list.pending.into_iter().next().unwrap();
        assert_eq!(
            (s.kind, s.name.as_deref(), s.owner.as_str(), s.at),
            (PendingKind::Share, Some("Travel"), "laurent", shared_at)
        );
        clock.advance(2 * MINUTE);
        let mut view = s.collection;
        view.accept(c).unwrap();
        views.push(view);
    }
    let [mut anas, mut bos]: [Collection; 2] = views.try_into().unwrap();
    nb.sync(&mut owner).unwrap();
    assert_eq!(
        nb.member("ana").unwrap().accepted_at,
        Some(shared_at + 2 * MINUTE)
    );
    assert_eq!(
        nb.member("bo").unwrap().accepted_at,
        Some(shared_at + 4 * MINUTE)
    );

    // Everything, sub-notebooks, notes and attachments, is shared.
    assert_eq!(anas.children(Some(paris)).complete().unwrap().len(), 2);
    assert_eq!(anas.read(&a, packing).unwrap(), b"- socks");
    assert_eq!(bos.read(&b, photo).unwrap(), vec![7u8; 200_000]);
    assert_eq!(bos.item(paris).unwrap().parent, Some(france));
    assert_eq!(bos.item(france).unwrap().parent, Some(europe));
    clock.advance(HOUR);
    bos.update_file(&mut b, note, None, b"# Day 1\nMuseum")
        .unwrap();
    anas.sync(&mut a).unwrap();
    let versions = anas.item(note).unwrap().versions;
    assert_eq!(
        versions
            .iter()
            .map(|v| v.author.as_str())
            .collect::<Vec<_>>(),
        ["laurent", "bo"]
    );

    // Bo is removed: his sync shows it, and he reads nothing new.
    clock.advance(DAY);
    nb.sync(&mut owner).unwrap();
    nb.remove(&mut owner, "bo").unwrap();
    clock.advance(MINUTE);
    let lyon = nb
        .add_file(
            &mut owner,
            Some(france),
            "lyon.md",
            "text/markdown",
            b"Lyon",
        )
        .unwrap();
    bos.sync(&mut b).unwrap();
    assert!(bos.member("bo").is_none());
    assert_eq!(bos.members().count(), 2);
    assert!(matches!(bos.read(&b, lyon), Err(Error::NotAllowed(_))));
    assert_lists_nothing(&mut b);
    anas.sync(&mut a).unwrap();
    assert_eq!(anas.read(&a, lyon).unwrap(), b"Lyon");

    // Unshare: gone from everyone but the owner.
    clock.advance(DAY);
    nb.unshare(&mut owner).unwrap();
    assert_eq!(nb.members().count(), 1);
    clock.advance(MINUTE);
    let rome = nb
        .add_file(
            &mut owner,
            Some(europe),
            "rome.md",
            "text/markdown",
            b"Rome",
        )
        .unwrap();
    for (c, view, me) in [(&mut a, &mut anas, "ana"), (&mut b, &mut bos, "bo")] {
        view.sync(c).unwrap();
        assert!(view.member(me).is_none(), "{me}");
        assert_eq!(view.members().count(), 1, "{me}");
        assert!(view.read(c, rome).is_err(), "{me}");
        assert_lists_nothing(c);
    }

    // The owner keeps the whole notebook.
    assert_eq!(nb.read(&owner, note).unwrap(), b"# Day 1\nMuseum");
    assert_eq!(nb.read(&owner, photo).unwrap(), vec![7u8; 200_000]);
    assert_eq!(nb.read(&owner, lyon).unwrap(), b"Lyon");
    assert_eq!(nb.read(&owner, rome).unwrap(), b"Rome");
    assert_eq!(nb.children(Some(paris)).complete().unwrap().len(), 2);
    assert_eq!(nb.items().complete().unwrap().len(), 8);
    assert_eq!(
        nb.info().unwrap(),
        ("Travel".into(), "trips and plans".into())
    );
}

/// JupyterHub: an invite link valid one hour, used by several people; the owner
/// sees who accepted and when; revokes one user, then all users.
#[test]
fn jupyterhub_revoke_one_and_all() {
    let server = TestServer::verifying();
    let start = 1_700_000_000;
    let clock = TestClock::at(start);
    let mut owner = user("instructor", &server, &clock);
    let mut hub = Collection::create(&mut owner, "Course notebooks", "").unwrap();
    let id = hub.id();
    let lab = hub
        .add_file(&mut owner, None, "lab1.ipynb", "application/json", b"{}")
        .unwrap();
    let url = hub
        .create_invite_link(
            &mut owner,
            "https://hub.example/share",
            InviteTerms::default(),
        )
        .unwrap();
    let link = hub.links().next().unwrap();
    assert_eq!(link.terms.expires_at, start + HOUR, "one hour by default");
    let text = url.to_url();

    // Three students join through the one link, ten minutes apart, and read.
    let mut students = Vec::new();
    for i in 0..3u64 {
        clock.advance(10 * MINUTE);
        let mut s = user(&format!("student{i}"), &server, &clock);
        let view = Collection::join(&mut s, &LinkUrl::parse(&text).unwrap()).unwrap();
        assert_eq!(view.read(&s, lab).unwrap(), b"{}");
        assert_eq!(view.role_of(&format!("student{i}")), Some(Role::Viewer));
        students.push((s, view));
    }

    // The owner sees who accepted, through which link, and when.
    hub.sync(&mut owner).unwrap();
    let joins = hub.links().next().unwrap().joins.clone();
    assert_eq!(
        joins,
        [
            ("student0".to_owned(), start + 10 * MINUTE),
            ("student1".to_owned(), start + 20 * MINUTE),
            ("student2".to_owned(), start + 30 * MINUTE),
        ]
    );
    for (handle, at) in &joins {
        let m = hub.member(handle).unwrap();
        assert_eq!(m.joined_via, Some(url.link()));
        assert_eq!(m.accepted_at, Some(*at));
        assert_eq!(m.role, Role::Viewer);
    }

    // Revoke one user.
    clock.advance(5 * MINUTE);
    hub.remove(&mut owner, "student0").unwrap();
    let lab2 = hub
        .add_file(&mut owner, None, "lab2.ipynb", "application/json", b"{2}")
        .unwrap();
    for (i, (s, v)) in students.iter_mut().enumerate() {
        v.sync(s).unwrap();
        let me = format!("student{i}");
        assert_eq!(v.member(&me).is_some(), i != 0, "{me}");
        assert_eq!(v.read(s, lab2).is_ok(), i != 0, "{me}");
    }

    // Revoke all users at once: unshare removes every member and revokes the link.
    clock.advance(5 * MINUTE);
    let revoked_at = clock.now();
    hub.unshare(&mut owner).unwrap();
    assert_eq!(hub.members().count(), 1);
    assert_eq!(
        hub.links().next().unwrap().revoked,
        Some(("instructor".to_owned(), revoked_at))
    );
    assert_eq!(
        hub.history().pop().unwrap().text,
        "instructor unshared from everyone (2 removed, new key epoch 2)"
    );
    let lab3 = hub
        .add_file(&mut owner, None, "lab3.ipynb", "application/json", b"{3}")
        .unwrap();
    for (i, (s, v)) in students.iter_mut().enumerate() {
        v.sync(s).unwrap();
        assert!(v.member(&format!("student{i}")).is_none());
        assert!(v.read(s, lab3).is_err());
        assert!(
            v.read(s, lab).is_ok(),
            "what they had stays readable to them"
        );
    }

    // The link admits no one any more, although its hour is not over.
    assert!(clock.now() < start + HOUR);
    let mut late = user("student9", &server, &clock);
    let before = ops(&server, id);
    assert!(matches!(
        Collection::join(&mut late, &url),
        Err(Error::LinkRevoked)
    ));
    assert_eq!(ops(&server, id), before);
}

/// A removed member keeps their `Collection` and every key they ever had, yet
/// cannot open anything added after their removal (they cannot even get the
/// new epoch key); everything older stays readable for the others.
#[test]
fn removed_member_cannot_open_new_items() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_700_000_000);
    let mut owner = user("owner", &server, &clock);
    let mut stays = user("stays", &server, &clock);
    let mut leaves = user("removed", &server, &clock);
    introduce(&mut [&mut owner, &mut stays, &mut leaves]);
    let mut coll = Collection::create(&mut owner, "Vault", "").unwrap();
    let id = coll.id();
    let old = coll
        .add_file(&mut owner, None, "old", "text/plain", b"old")
        .unwrap();
    clock.advance(MINUTE);
    coll.share_many(
        &mut owner,
        &[
            (stays.account().identity().clone(), Role::Viewer),
            (leaves.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();
    clock.advance(MINUTE);
    let mut removed_view = Collection::open(&mut leaves, id).unwrap();
    removed_view.accept(&mut leaves).unwrap();
    let mut stays_view = Collection::open(&mut stays, id).unwrap();
    stays_view.accept(&mut stays).unwrap();
    clock.advance(MINUTE);
    coll.sync(&mut owner).unwrap();
    let older = coll
        .add_file(&mut owner, None, "older", "text/plain", b"older")
        .unwrap();
    removed_view.sync(&mut leaves).unwrap();
    assert_eq!(removed_view.read(&leaves, older).unwrap(), b"older");
    // The member also keeps a checkpoint with every key they held.
    let keys_kept = removed_view.to_checkpoint(leaves.account()).unwrap();

    clock.advance(HOUR);
    coll.remove(&mut owner, "removed").unwrap();
    let removal = coll.state().len() - 1;
    clock.advance(MINUTE);
    let new = coll
        .add_file(&mut owner, None, "new", "text/plain", b"new")
        .unwrap();

    // Before syncing, their old object does not even know the item.
    assert!(matches!(
        removed_view.read(&leaves, new),
        Err(Error::NotFound(_))
    ));
    // After syncing, it sees the removal and the item, and opens neither.
    removed_view.sync(&mut leaves).unwrap();
    assert!(removed_view.member("removed").is_none());
    assert_eq!(removed_view.state().epoch(), 1);
    let err = removed_view.read(&leaves, new).unwrap_err();
    assert!(matches!(err, Error::NotAllowed(_)), "{err}");
    assert!(removed_view.item(new).is_err(), "not even its name");
    // What they had stays open to them.
    assert_eq!(removed_view.read(&leaves, old).unwrap(), b"old");
    assert_eq!(removed_view.read(&leaves, older).unwrap(), b"older");

    // The new epoch key was wrapped only to the members who stay: their own key
    // opens none of those wraps, however they present themselves.
    let op = Operation::from_bytes(&server.log(&id)[removal as usize]).unwrap();
    let Body::Remove { members, rotation } = &op.body() else {
        panic!("operation {removal} is not the removal: {:?}", op.body())
    };
    assert_eq!(members, &["removed"]);
    let wrapped_to: Vec<&str> = rotation.wraps.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(wrapped_to, ["owner", "stays"]);
    let mine = leaves.account().identity().fingerprint().to_bytes();
    for (handle, wrap) in &rotation.wraps {
        let theirs = coll.member(handle).unwrap().card.fingerprint().to_bytes();
        for recipient in [&mine, &theirs] {
            let context = WrapContext {
                purpose: "epoch-key",
                collection: &id.0,
                epoch: rotation.epoch,
                recipient,
            };
            assert!(leaves.account().unwrap_key(wrap, &context).is_err());
        }
    }
    // The honest recipients do open theirs (so the check above means something).
    let context = WrapContext {
        purpose: "epoch-key",
        collection: &id.0,
        epoch: rotation.epoch,
        recipient: &stays.account().identity().fingerprint().to_bytes(),
    };
    assert!(
        stays
            .account()
            .unwrap_key(&rotation.wraps[1].1, &context)
            .is_ok()
    );

    // A checkpoint with every key they ever held opens nothing new either.
    let mut kept = Collection::from_checkpoint(leaves.account(), &keys_kept).unwrap();
    // Unsynced, it still believes them an editor; its write is rebased onto
    // the removal and refused there, and nothing is stored.
    let before = ops(&server, id);
    assert_eq!(
        refused(kept.trash(&mut leaves, old)),
        Violation::NotAMember {
            author: "removed".into()
        }
    );
    kept.sync(&mut leaves).unwrap();
    assert!(kept.item(new).is_err());
    assert!(kept.read(&leaves, new).is_err());
    assert!(kept.read(&leaves, old).is_ok());
    assert!(removed_view.add_folder(&mut leaves, None, "x").is_err());
    assert!(removed_view.rename(&mut leaves, "mine", "").is_err());
    assert_eq!(ops(&server, id), before, "nothing sent");

    // Everything, older and newer, stays readable for the remaining members.
    stays_view.sync(&mut stays).unwrap();
    assert_eq!(stays_view.read(&stays, old).unwrap(), b"old");
    assert_eq!(stays_view.read(&stays, older).unwrap(), b"older");
    assert_eq!(stays_view.read(&stays, new).unwrap(), b"new");
    let mut fresh = Collection::open(&mut stays, id).unwrap();
    fresh.sync(&mut stays).unwrap();
    assert_eq!(fresh.read(&stays, old).unwrap(), b"old");
}
