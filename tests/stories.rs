#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The stories from the products users know, end to end through the Rust API.

mod support;

use sealshare::{Collection, Error, Role, SharedWithMe, Violation};
use support::{TestClock, TestServer, introduce, user};

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
    let passport = locker
        .add_file(&mut owner, None, "passport.pdf", "application/pdf", b"P")
        .unwrap();
    clock.advance(60);
    locker
        .share(&mut owner, viewer.account().identity(), Role::Viewer)
        .unwrap();
    locker
        .share(&mut owner, collab.account().identity(), Role::Collaborator)
        .unwrap();

    let mut views = SharedWithMe::fetch(&mut viewer)
        .unwrap()
        .shared
        .remove(0)
        .collection;
    views.accept(&mut viewer).unwrap();
    let mut collabs = SharedWithMe::fetch(&mut collab)
        .unwrap()
        .shared
        .remove(0)
        .collection;
    collabs.accept(&mut collab).unwrap();

    clock.advance(60);
    let lease = collabs
        .add_file(&mut collab, None, "lease.pdf", "application/pdf", b"L")
        .unwrap();
    let err = collabs.trash(&mut collab, passport).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::RoleTooLow { .. },
            ..
        }
    ));
    collabs.trash(&mut collab, lease).unwrap(); // their own: allowed
    collabs.restore(&mut collab, lease).unwrap();

    views.sync(&mut viewer).unwrap();
    assert_eq!(views.read(&viewer, lease).unwrap(), b"L");
    assert_eq!(views.item(lease).unwrap().creator, "collab@ente");
    assert!(views.add_folder(&mut viewer, None, "mine").is_err());

    // The owner sees who has access, changes a role, removes access.
    locker.sync(&mut owner).unwrap();
    let who: Vec<(String, Role)> = locker
        .members()
        .map(|m| (m.card.handle().to_owned(), m.role))
        .collect();
    assert_eq!(who.len(), 3);
    locker
        .change_role(&mut owner, "viewer@ente", Role::Collaborator)
        .unwrap();
    views.sync(&mut viewer).unwrap();
    views.add_folder(&mut viewer, None, "now allowed").unwrap();
    locker.sync(&mut owner).unwrap();
    locker.remove(&mut owner, "collab@ente").unwrap();
    let after = locker
        .add_file(&mut owner, None, "new.pdf", "application/pdf", b"N")
        .unwrap();
    let _ = collabs.sync(&mut collab);
    assert!(collabs.read(&collab, after).is_err());
    assert!(collabs.add_folder(&mut collab, None, "x").is_err());
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

    let mut nb = Collection::create(&mut owner, "Travel", "").unwrap();
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
    nb.share_many(
        &mut owner,
        &[
            (a.account().identity().clone(), Role::Editor),
            (b.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();
    let mut anas = Collection::open(&mut a, nb.id()).unwrap();
    anas.accept(&mut a).unwrap();
    let mut bos = Collection::open(&mut b, nb.id()).unwrap();
    bos.accept(&mut b).unwrap();

    // Everything, sub-notebooks and attachments, is shared.
    assert_eq!(anas.children(Some(paris)).unwrap().len(), 2);
    assert_eq!(bos.read(&b, photo).unwrap(), vec![7u8; 200_000]);
    assert_eq!(bos.item(paris).unwrap().parent, Some(france));
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

    // Bo is removed: he reads nothing new.
    nb.sync(&mut owner).unwrap();
    nb.remove(&mut owner, "bo").unwrap();
    let lyon = nb
        .add_file(
            &mut owner,
            Some(france),
            "lyon.md",
            "text/markdown",
            b"Lyon",
        )
        .unwrap();
    let _ = bos.sync(&mut b);
    assert!(bos.read(&b, lyon).is_err());
    anas.sync(&mut a).unwrap();
    assert_eq!(anas.read(&a, lyon).unwrap(), b"Lyon");

    // Unshare: only the owner keeps it.
    nb.unshare(&mut owner).unwrap();
    assert_eq!(nb.members().count(), 1);
    let rome = nb
        .add_file(&mut owner, None, "rome.md", "text/markdown", b"Rome")
        .unwrap();
    anas.sync(&mut a).unwrap();
    assert!(anas.member("ana").is_none());
    assert!(anas.read(&a, rome).is_err());
    assert!(SharedWithMe::fetch(&mut a).unwrap().shared.is_empty());
    assert_eq!(nb.read(&owner, note).unwrap(), b"# Day 1\nMuseum");
}

/// JupyterHub: revoke one user, then all users.
#[test]
fn jupyterhub_revoke_one_and_all() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_700_000_000);
    let mut owner = user("instructor", &server, &clock);
    let mut students: Vec<_> = (0..4)
        .map(|i| user(&format!("student{i}"), &server, &clock))
        .collect();
    for s in students.iter_mut() {
        owner.observe(s.account().identity()).unwrap();
    }
    let mut hub = Collection::create(&mut owner, "Notebooks", "").unwrap();
    let lab = hub
        .add_file(&mut owner, None, "lab1.ipynb", "application/json", b"{}")
        .unwrap();
    let grants: Vec<_> = students
        .iter()
        .map(|s| (s.account().identity().clone(), Role::Viewer))
        .collect();
    hub.share_many(&mut owner, &grants).unwrap();
    let mut views: Vec<_> = students
        .iter_mut()
        .map(|s| {
            let mut c = Collection::open(s, hub.id()).unwrap();
            c.accept(s).unwrap();
            c
        })
        .collect();
    hub.sync(&mut owner).unwrap();

    hub.remove(&mut owner, "student0").unwrap();
    let lab2 = hub
        .add_file(&mut owner, None, "lab2.ipynb", "application/json", b"{2}")
        .unwrap();
    for (i, (s, v)) in students.iter_mut().zip(views.iter_mut()).enumerate() {
        let _ = v.sync(s);
        assert_eq!(v.read(s, lab2).is_ok(), i != 0, "student{i}");
    }

    // Revoke all users at once.
    let rest: Vec<String> = (1..4).map(|i| format!("student{i}")).collect();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    hub.remove_many(&mut owner, &rest).unwrap();
    let lab3 = hub
        .add_file(&mut owner, None, "lab3.ipynb", "application/json", b"{3}")
        .unwrap();
    for (s, v) in students.iter_mut().zip(views.iter_mut()) {
        let _ = v.sync(s);
        assert!(v.read(s, lab3).is_err());
        assert!(
            v.read(s, lab).is_ok(),
            "what they had stays readable to them"
        );
    }
    assert_eq!(hub.members().count(), 1);
}

/// A removed member cannot open anything added after removal, with every key
/// they ever had; everything older stays readable for the others.
#[test]
fn removed_member_cannot_open_new_items() {
    let server = TestServer::new();
    let clock = TestClock::at(1_700_000_000);
    let mut owner = user("owner", &server, &clock);
    let mut stays = user("stays", &server, &clock);
    let mut leaves = user("removed", &server, &clock);
    introduce(&mut [&mut owner, &mut stays, &mut leaves]);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    let old = coll
        .add_file(&mut owner, None, "old", "text/plain", b"old")
        .unwrap();
    coll.share_many(
        &mut owner,
        &[
            (stays.account().identity().clone(), Role::Viewer),
            (leaves.account().identity().clone(), Role::Viewer),
        ],
    )
    .unwrap();
    let mut removed_view = Collection::open(&mut leaves, coll.id()).unwrap();
    removed_view.accept(&mut leaves).unwrap();
    // The removed member keeps a checkpoint with every key they held.
    let keys_kept = removed_view.to_checkpoint(leaves.account()).unwrap();

    coll.sync(&mut owner).unwrap();
    coll.remove(&mut owner, "removed").unwrap();
    let new = coll
        .add_file(&mut owner, None, "new", "text/plain", b"new")
        .unwrap();

    // Even with the whole new log and every old key, the new item stays closed.
    let mut kept = Collection::from_checkpoint(leaves.account(), &keys_kept).unwrap();
    let _ = kept.sync(&mut leaves);
    assert!(kept.item(new).is_err());
    assert!(kept.read(&leaves, new).is_err());
    assert!(kept.read(&leaves, old).is_ok());
    // The new epoch key was wrapped only to the remaining members.
    let rotation_wraps: Vec<String> = coll.state().members().keys().cloned().collect();
    assert_eq!(rotation_wraps, ["owner", "stays"]);

    let mut stays_view = Collection::open(&mut stays, coll.id()).unwrap();
    stays_view.accept(&mut stays).unwrap();
    assert_eq!(stays_view.read(&stays, old).unwrap(), b"old");
    assert_eq!(stays_view.read(&stays, new).unwrap(), b"new");
}
