#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Collections through the Rust API: every action a user takes, each tested.

mod support;

use sealshare::{Collection, Role, SharedWithMe};
use support::{TestClock, TestServer, introduce, user};

#[test]
fn share_accept_read_and_history() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);

    let mut coll = Collection::create(&mut alice, "Recipes", "family recipes").unwrap();
    assert_eq!(
        coll.info().unwrap(),
        ("Recipes".into(), "family recipes".into())
    );
    let soup = coll
        .add_file(&mut alice, None, "soup.md", "text/markdown", b"leeks")
        .unwrap();
    clock.advance(10);
    coll.share(&mut alice, bob.account().identity(), Role::Viewer)
        .unwrap();

    let list = SharedWithMe::fetch(&mut bob).unwrap();
    assert!(list.failed.is_empty(), "{:?}", list.failed);
    assert_eq!(list.shared.len(), 1);
    let shared = &list.shared[0];
    assert_eq!(shared.name, "Recipes");
    assert_eq!(shared.owner, "alice");
    assert_eq!(shared.role, Role::Viewer);
    assert_eq!(shared.added_by, "alice");
    assert_eq!(shared.added_at, 1_010);
    assert_eq!(shared.accepted_at, None);

    let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
    bobs.accept(&mut bob).unwrap();
    assert_eq!(bobs.read(&bob, soup).unwrap(), b"leeks");
    let item = bobs.item(soup).unwrap();
    assert_eq!(item.metadata.name, "soup.md");
    assert_eq!(item.creator, "alice");

    coll.sync(&mut alice).unwrap();
    let b = coll.member("bob").unwrap();
    assert_eq!(b.accepted_at, Some(1_010));
    let history: Vec<String> = coll.history().into_iter().map(|h| h.text).collect();
    assert_eq!(
        history,
        vec![
            "alice created the collection",
            "alice added file \"soup.md\"",
            "alice shared with bob as viewer",
            "bob accepted the share",
        ]
    );
}

fn setup(
    roles: &[(&str, Role)],
) -> (
    std::sync::Arc<TestServer>,
    TestClock,
    sealshare::collection::Client,
    Vec<sealshare::collection::Client>,
    Collection,
) {
    let server = TestServer::new();
    let clock = TestClock::at(50_000);
    let mut owner = user("owner", &server, &clock);
    let mut others: Vec<_> = roles
        .iter()
        .map(|(h, _)| user(h, &server, &clock))
        .collect();
    {
        let mut all: Vec<&mut sealshare::collection::Client> = others.iter_mut().collect();
        all.push(&mut owner);
        introduce(&mut all);
    }
    let mut coll = Collection::create(&mut owner, "Shared", "desc").unwrap();
    let grants: Vec<_> = others
        .iter()
        .zip(roles)
        .map(|(c, (_, r))| (c.account().identity().clone(), *r))
        .collect();
    if !grants.is_empty() {
        coll.share_many(&mut owner, &grants).unwrap();
    }
    for c in others.iter_mut() {
        Collection::open(c, coll.id()).unwrap().accept(c).unwrap();
    }
    coll.sync(&mut owner).unwrap();
    (server, clock, owner, others, coll)
}

#[test]
fn rename_needs_editor() {
    use sealshare::{Error, Violation};
    let (_s, _c, mut owner, mut others, mut coll) =
        setup(&[("ed", Role::Editor), ("co", Role::Collaborator)]);
    let mut eds = Collection::open(&mut others[0], coll.id()).unwrap();
    eds.rename(&mut others[0], "Renamed", "by an editor")
        .unwrap();
    let mut cos = Collection::open(&mut others[1], coll.id()).unwrap();
    let err = cos.rename(&mut others[1], "No", "").unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::RoleTooLow { .. },
            ..
        }
    ));
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        coll.info().unwrap(),
        ("Renamed".into(), "by an editor".into())
    );
}

#[test]
fn decline_is_leaving_and_a_leave_rotates_before_the_next_write() {
    let server = TestServer::new();
    let clock = TestClock::at(1);
    let mut owner = user("owner", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let mut carl = user("carl", &server, &clock);
    introduce(&mut [&mut owner, &mut bob, &mut carl]);
    let mut coll = Collection::create(&mut owner, "c", "").unwrap();
    coll.share(&mut owner, bob.account().identity(), Role::Viewer)
        .unwrap();
    coll.share(&mut owner, carl.account().identity(), Role::Editor)
        .unwrap();
    Collection::open(&mut bob, coll.id())
        .unwrap()
        .decline(&mut bob)
        .unwrap();
    let mut carls = Collection::open(&mut carl, coll.id()).unwrap();
    carls.accept(&mut carl).unwrap();
    coll.sync(&mut owner).unwrap();
    assert!(coll.member("bob").is_none());
    assert!(coll.state().needs_rotation());
    let epoch = coll.state().epoch();
    coll.add_folder(&mut owner, None, "after bob left").unwrap();
    assert_eq!(coll.state().epoch(), epoch + 1, "rotated before writing");
    assert!(
        coll.history()
            .iter()
            .any(|h| h.text.contains("rotated the key"))
    );
    // Carl leaves too; his view cannot write any more.
    carls.sync(&mut carl).unwrap();
    carls.leave(&mut carl).unwrap();
    assert!(carls.add_folder(&mut carl, None, "x").is_err());
}

#[test]
fn transfer_ownership_keeps_the_old_owner_as_admin() {
    use sealshare::{Error, Violation};
    let (_s, _c, mut owner, mut others, mut coll) = setup(&[("heir", Role::Admin)]);
    coll.transfer_ownership(&mut owner, "heir").unwrap();
    assert_eq!(coll.owner(), "heir");
    assert_eq!(coll.role_of("owner"), Some(Role::Admin));
    let err = coll.unshare(&mut owner).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::RoleTooLow { .. },
            ..
        }
    ));
    let heir = &mut others[0];
    let mut heirs = Collection::open(heir, coll.id()).unwrap();
    heirs.unshare(heir).unwrap();
    assert_eq!(heirs.members().count(), 1);
    coll.sync(&mut owner).unwrap();
    assert!(coll.member("owner").is_none());
}

#[test]
fn folders_versions_trash_restore_purge() {
    use sealshare::{Error, Violation};
    let (_s, clock, mut owner, mut others, mut coll) =
        setup(&[("co", Role::Collaborator), ("ad", Role::Admin)]);
    let top = coll.add_folder(&mut owner, None, "top").unwrap();
    let mid = coll.add_folder(&mut owner, Some(top), "mid").unwrap();
    let deep = coll.add_folder(&mut owner, Some(mid), "deep").unwrap();
    let file = coll
        .add_file(&mut owner, Some(deep), "f.txt", "text/plain", b"v1")
        .unwrap();
    clock.advance(5);
    let mut cos = Collection::open(&mut others[0], coll.id()).unwrap();
    let err = cos
        .update_file(&mut others[0], file, None, b"no")
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::RoleTooLow { .. },
            ..
        }
    ));
    let own = cos
        .add_file(&mut others[0], Some(deep), "mine.txt", "text/plain", b"c1")
        .unwrap();
    cos.update_file(&mut others[0], own, Some("mine-2.txt"), b"c2")
        .unwrap();
    cos.trash(&mut others[0], own).unwrap();
    cos.restore(&mut others[0], own).unwrap();
    coll.sync(&mut owner).unwrap();
    coll.update_file(&mut owner, file, None, b"v2").unwrap();
    let item = coll.item(file).unwrap();
    assert_eq!(item.version(), 2);
    assert_eq!(coll.read_version(&owner, file, 1).unwrap(), b"v1");
    assert_eq!(coll.read(&owner, file).unwrap(), b"v2");
    assert_eq!(coll.item(own).unwrap().metadata.name, "mine-2.txt");
    assert_eq!(coll.children(Some(deep)).unwrap().len(), 2);

    // Purging needs admin, a trashed item, and an empty folder.
    let err = coll.purge(&mut owner, file).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::TrashState(_),
            ..
        }
    ));
    coll.trash(&mut owner, deep).unwrap();
    let err = coll.purge(&mut owner, deep).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::FolderNotEmpty,
            ..
        }
    ));
    coll.restore(&mut owner, deep).unwrap();
    coll.trash(&mut owner, file).unwrap();
    cos.sync(&mut others[0]).unwrap();
    let err = cos.purge(&mut others[0], file).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOperation {
            violation: Violation::RoleTooLow { .. },
            ..
        }
    ));
    let mut ads = Collection::open(&mut others[1], coll.id()).unwrap();
    ads.purge(&mut others[1], file).unwrap();
    assert!(ads.item(file).is_err());
    // A folder cannot move inside itself.
    assert!(
        coll.add_folder(&mut owner, Some(file), "under a purged file")
            .is_err()
    );
}

#[test]
fn a_new_member_reads_the_whole_history_across_rotations() {
    let (server, clock, mut owner, _others, mut coll) =
        setup(&[("x", Role::Viewer), ("y", Role::Viewer)]);
    let mut items = vec![
        coll.add_file(&mut owner, None, "e0", "text/plain", b"0")
            .unwrap(),
    ];
    coll.remove(&mut owner, "x").unwrap();
    items.push(
        coll.add_file(&mut owner, None, "e1", "text/plain", b"1")
            .unwrap(),
    );
    coll.remove(&mut owner, "y").unwrap();
    items.push(
        coll.add_file(&mut owner, None, "e2", "text/plain", b"2")
            .unwrap(),
    );
    assert_eq!(coll.state().epoch(), 2);
    let mut late = user("late", &server, &clock);
    owner.observe(late.account().identity()).unwrap();
    coll.share(&mut owner, late.account().identity(), Role::Viewer)
        .unwrap();
    let mut lates = Collection::open(&mut late, coll.id()).unwrap();
    lates.accept(&mut late).unwrap();
    for (i, item) in items.iter().enumerate() {
        assert_eq!(lates.read(&late, *item).unwrap(), i.to_string().as_bytes());
    }
    assert_eq!(lates.info().unwrap().0, "Shared");
}

#[test]
fn concurrent_writers_are_rebased_without_reencrypting() {
    let (server, _clock, mut owner, mut others, mut coll) = setup(&[("ed", Role::Editor)]);
    let ed = &mut others[0];
    let mut eds = Collection::open(ed, coll.id()).unwrap();
    // Both know the same head; the owner lands first.
    coll.add_folder(&mut owner, None, "owner's").unwrap();
    let head_before = eds.state().len();
    let puts = server.blob_puts();
    let item = eds
        .add_file(ed, None, "ed's.txt", "text/plain", b"hello")
        .unwrap();
    assert_eq!(
        server.blob_puts(),
        puts + 1,
        "the content was sealed and uploaded once"
    );
    assert_eq!(
        eds.state().len(),
        head_before + 2,
        "the owner's op, then ed's rebased op"
    );
    coll.sync(&mut owner).unwrap();
    assert_eq!(coll.read(&owner, item).unwrap(), b"hello");
    assert_eq!(coll.item(item).unwrap().creator, "ed");

    // A rebase across a rotation re-seals only the item key.
    let mut eds2 = Collection::open(ed, coll.id()).unwrap();
    coll.remove(&mut owner, "owner-less").unwrap_err(); // no such member: nothing sent
    coll.rotate(&mut owner).unwrap();
    let item2 = eds2
        .add_file(ed, None, "after rotation", "text/plain", b"x")
        .unwrap();
    assert_eq!(eds2.state().items()[&item2].latest.header.epoch, 1);
    coll.sync(&mut owner).unwrap();
    assert_eq!(coll.read(&owner, item2).unwrap(), b"x");
}

#[test]
fn the_verifying_server_accepts_every_honest_operation() {
    let server = TestServer::verifying();
    let clock = TestClock::at(9);
    let mut owner = user("owner", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut owner, &mut bob]);
    let mut coll = Collection::create(&mut owner, "v", "").unwrap();
    let f = coll.add_folder(&mut owner, None, "f").unwrap();
    let d = coll
        .add_file(&mut owner, Some(f), "d", "text/plain", b"d")
        .unwrap();
    coll.share(&mut owner, bob.account().identity(), Role::Admin)
        .unwrap();
    let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
    bobs.accept(&mut bob).unwrap();
    bobs.trash(&mut bob, d).unwrap();
    bobs.purge(&mut bob, d).unwrap();
    bobs.rename(&mut bob, "w", "").unwrap();
    coll.sync(&mut owner).unwrap();
    coll.change_role(&mut owner, "bob", Role::Editor).unwrap();
    coll.remove(&mut owner, "bob").unwrap();
    coll.unshare(&mut owner).unwrap();
    assert_eq!(coll.state().len(), server.log(&coll.id()).len() as u64);
}

#[test]
fn content_streams_in_and_out() {
    let (server, _c, mut owner, _o, mut coll) = setup(&[]);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let item = coll
        .add_file_from_reader(
            &mut owner,
            None,
            "big.bin",
            "application/octet-stream",
            &mut data.as_slice(),
        )
        .unwrap();
    assert_eq!(coll.item(item).unwrap().metadata.size, data.len() as u64);
    let mut out = Vec::new();
    assert_eq!(
        coll.read_into(&owner, item, &mut out).unwrap(),
        data.len() as u64
    );
    assert_eq!(out, data);
    // A tampered blob is refused before any plaintext is written.
    let id = server.blob_ids(&coll.id())[0];
    let mut blob = server.blob(&coll.id(), &id);
    blob[100] ^= 1;
    server.set_blob(&coll.id(), &id, blob);
    let mut out = Vec::new();
    assert!(matches!(
        coll.read_into(&owner, item, &mut out),
        Err(sealshare::Error::ContentMismatch)
    ));
    assert!(out.is_empty());
}

#[test]
fn moving_an_item_re_encrypts_nothing() {
    let (server, _c, mut owner, _o, mut coll) = setup(&[]);
    let a = coll.add_folder(&mut owner, None, "a").unwrap();
    let b = coll.add_folder(&mut owner, None, "b").unwrap();
    let f = coll
        .add_file(&mut owner, Some(a), "f.txt", "text/plain", b"same")
        .unwrap();
    let puts = server.blob_puts();
    assert_eq!(coll.move_item(&mut owner, f, Some(b)).unwrap(), 2);
    assert_eq!(server.blob_puts(), puts, "no content uploaded");
    let moved = coll.item(f).unwrap();
    assert_eq!(moved.parent, Some(b));
    assert_eq!(moved.metadata.name, "f.txt");
    assert_eq!(coll.read(&owner, f).unwrap(), b"same");
    // A folder cannot move into itself or below itself.
    let inner = coll.add_folder(&mut owner, Some(a), "inner").unwrap();
    assert!(coll.move_item(&mut owner, a, Some(inner)).is_err());
    assert!(coll.move_item(&mut owner, a, Some(a)).is_err());
}
