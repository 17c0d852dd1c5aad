//! Several writers on one log: rebases, and a server that verifies every append.

use super::*;

#[test]
fn two_writers_on_one_head_the_second_is_rebased_and_uploads_once() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("ed", Role::Editor),
        ("col", Role::Collaborator),
        ("vi", Role::Viewer),
    ]);
    let [(mut ed, mut eds), (mut col, mut cols), (mut vi, mut vis)]: [_; 3] =
        people.try_into().unwrap();
    let id = coll.id();
    let shared = coll
        .add_file(&mut owner, None, "shared.txt", "text/plain", b"v1")
        .unwrap();

    // Round 1: two new items prepared on the same head.
    eds.sync(&mut ed).unwrap();
    cols.sync(&mut col).unwrap();
    let head = cols.state().len();
    assert_eq!(eds.state().head(), cols.state().head());
    let first = eds
        .add_file(&mut ed, None, "ed.txt", "text/plain", b"from ed")
        .unwrap();
    assert_eq!(eds.state().items()[&first].latest.seq, head);
    let (puts, blobs) = (server.blob_puts(), server.blob_ids(&id).len());
    let second = cols
        .add_file(&mut col, None, "col.txt", "text/plain", b"from col")
        .unwrap();
    let landed = &cols.state().items()[&second].latest;
    assert_eq!(landed.seq, head + 1, "rebased onto ed's operation");
    assert_eq!(server.blob_puts(), puts + 1, "sealed and uploaded once");
    assert_eq!(server.blob_ids(&id).len(), blobs + 1);
    let digest = landed.header.content.as_ref().unwrap().ciphertext_hash;
    assert!(server.blob_ids(&id).contains(&digest));
    assert_eq!(ops(&server, id) as u64, head + 2);
    coll.sync(&mut owner).unwrap();
    assert_eq!(coll.read(&owner, first).unwrap(), b"from ed");
    assert_eq!(coll.read(&owner, second).unwrap(), b"from col");

    // Round 2: two new versions of one file; the rebase renumbers the version.
    clock.advance(10);
    eds.sync(&mut ed).unwrap();
    let head = coll.state().len();
    assert_eq!(
        coll.update_file(&mut owner, shared, None, b"owner's v2")
            .unwrap(),
        2
    );
    let puts = server.blob_puts();
    assert_eq!(
        eds.update_file(&mut ed, shared, None, b"ed's v3").unwrap(),
        3
    );
    assert_eq!(eds.state().items()[&shared].latest.seq, head + 1);
    assert_eq!(server.blob_puts(), puts + 1, "sealed and uploaded once");
    coll.sync(&mut owner).unwrap();
    let authors: Vec<String> = coll
        .item(shared)
        .unwrap()
        .versions
        .into_iter()
        .map(|v| v.author)
        .collect();
    assert_eq!(authors, ["owner", "owner", "ed"]);
    assert_eq!(coll.read(&owner, shared).unwrap(), b"ed's v3");
    assert_eq!(coll.read_version(&owner, shared, 2).unwrap(), b"owner's v2");

    // Round 3: a member leaves meanwhile; the rebase rotates the key first and
    // still only re-seals the item key, not the content.
    clock.advance(10);
    cols.sync(&mut col).unwrap();
    vis.sync(&mut vi).unwrap();
    let head = cols.state().len();
    let epoch = cols.state().epoch();
    vis.leave(&mut vi).unwrap();
    let puts = server.blob_puts();
    let third = cols
        .add_file(&mut col, None, "after.txt", "text/plain", b"after")
        .unwrap();
    assert_eq!(server.blob_puts(), puts + 1, "sealed and uploaded once");
    assert_eq!(cols.state().epoch(), epoch + 1);
    let landed = &cols.state().items()[&third].latest;
    assert_eq!(landed.seq, head + 2, "after the leave and the rotation");
    assert_eq!(landed.header.epoch, epoch + 1);
    coll.sync(&mut owner).unwrap();
    assert_eq!(coll.read(&owner, third).unwrap(), b"after");
    vis.sync(&mut vi).unwrap();
    assert!(vis.read(&vi, third).is_err());
}

#[test]

fn a_rebased_new_version_keeps_a_concurrent_move() {
    let Team {
        server: _,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("ed", Role::Editor)]);
    let [(mut ed, mut eds)]: [_; 1] = people.try_into().unwrap();
    let folder = coll.add_folder(&mut owner, None, "Reports").unwrap();
    let f = coll
        .add_file(&mut owner, None, "q3.txt", "text/plain", b"v1")
        .unwrap();
    eds.sync(&mut ed).unwrap();

    // On the same head: the owner files it into the folder, the editor saves new content.
    clock.advance(10);
    coll.move_item(&mut owner, f, Some(folder)).unwrap();
    assert_eq!(eds.update_file(&mut ed, f, None, b"v3").unwrap(), 3);

    coll.sync(&mut owner).unwrap();
    let item = coll.item(f).unwrap();
    assert_eq!(coll.read(&owner, f).unwrap(), b"v3");
    assert_eq!(
        item.parent,
        Some(folder),
        "the editor's rebased version silently moved the file back out of the folder"
    );
}

#[test]
fn a_verifying_server_refuses_no_honest_operation() {
    let server = TestServer::verifying();
    let clock = TestClock::at(7_000_000);
    let handles = ["owner", "ad", "ed", "co", "vi", "gone"];
    let mut cs: Vec<Client> = handles.iter().map(|h| user(h, &server, &clock)).collect();
    {
        let mut all: Vec<&mut Client> = cs.iter_mut().collect();
        introduce(&mut all);
    }
    let cards: Vec<_> = cs.iter().map(|c| c.account().identity().clone()).collect();
    let [mut owner, mut ad, mut ed, mut co, mut vi, mut gone]: [_; 6] = cs.try_into().unwrap();

    let mut coll = Collection::create(&mut owner, "Lab", "").unwrap();
    let id = coll.id();
    coll.rename(&mut owner, "Lab book", "experiments").unwrap();
    clock.advance(1);
    coll.share_many(
        &mut owner,
        &[
            (cards[1].clone(), Role::Admin),
            (cards[2].clone(), Role::Editor),
            (cards[3].clone(), Role::Collaborator),
            (cards[4].clone(), Role::Viewer),
            (cards[5].clone(), Role::Viewer),
        ],
    )
    .unwrap();
    clock.advance(1);
    let mut ads = Collection::open(&mut ad, id).unwrap();
    ads.accept(&mut ad).unwrap();
    let mut eds = Collection::open(&mut ed, id).unwrap();
    eds.accept(&mut ed).unwrap();
    let mut cos = Collection::open(&mut co, id).unwrap();
    cos.accept(&mut co).unwrap();
    let mut vis = Collection::open(&mut vi, id).unwrap();
    vis.accept(&mut vi).unwrap();
    Collection::open(&mut gone, id)
        .unwrap()
        .decline(&mut gone)
        .unwrap();

    // Items: the first write after the decline rotates the key.
    clock.advance(1);
    coll.sync(&mut owner).unwrap();
    let top = coll.add_folder(&mut owner, None, "top").unwrap();
    eds.sync(&mut ed).unwrap();
    let mid = eds.add_folder(&mut ed, Some(top), "mid").unwrap();
    cos.sync(&mut co).unwrap();
    let data = cos
        .add_file(&mut co, Some(mid), "data.csv", "text/csv", b"1,2")
        .unwrap();
    cos.update_file(&mut co, data, Some("data-v2.csv"), b"1,2,3")
        .unwrap();
    cos.trash(&mut co, data).unwrap();
    cos.restore(&mut co, data).unwrap();
    eds.sync(&mut ed).unwrap();
    eds.update_file(&mut ed, data, None, b"1,2,3,4").unwrap();
    eds.move_item(&mut ed, data, Some(top)).unwrap();
    eds.rename_folder(&mut ed, mid, "middle").unwrap();
    eds.trash(&mut ed, mid).unwrap();
    ads.sync(&mut ad).unwrap();
    ads.purge(&mut ad, mid).unwrap();
    ads.rename(&mut ad, "Lab book 2", "").unwrap();

    // Members and keys.
    clock.advance(1);
    ads.change_role(&mut ad, "co", Role::Editor).unwrap();
    ads.change_role(&mut ad, "co", Role::Collaborator).unwrap();
    coll.sync(&mut owner).unwrap();
    coll.rotate(&mut owner).unwrap();
    vis.sync(&mut vi).unwrap();
    // A viewer may not pick the next key (refused before anything is sent);
    // a collaborator may.
    assert_eq!(
        refused(vis.rotate(&mut vi)),
        too_low("vi", Role::Viewer, Action::RotateKey)
    );
    cos.sync(&mut co).unwrap();
    cos.rotate(&mut co).unwrap();
    let url = ads
        .create_invite_link(&mut ad, "https://lab.example/join", InviteTerms::default())
        .unwrap();
    clock.advance(60);
    let mut late = user("late", &server, &clock);
    let lates = Collection::join(&mut late, &url).unwrap();
    assert_eq!(lates.name().unwrap(), "Lab book 2");
    ads.sync(&mut ad).unwrap();
    ads.revoke_link(&mut ad, url.link()).unwrap();

    // Two writers on one head: the rebased operation is accepted too.
    eds.sync(&mut ed).unwrap();
    cos.sync(&mut co).unwrap();
    eds.add_folder(&mut ed, None, "race-ed").unwrap();
    cos.add_folder(&mut co, None, "race-co").unwrap();

    // The server does refuse what honest clients would: a viewer's trash.
    vis.sync(&mut vi).unwrap();
    let len = ops(&server, id);
    let forged = vi
        .account()
        .sign_operation(
            id,
            vis.state().len(),
            vis.state().head(),
            clock.now(),
            Body::Trash { item: data },
        )
        .unwrap();
    assert!(matches!(
        server.append(&id, forged.seq(), forged.to_bytes()),
        Err(Error::Remote(m)) if m.contains("append refused")
    ));
    assert_eq!(ops(&server, id), len);

    // Removal, transfer, unshare.
    clock.advance(1);
    ads.sync(&mut ad).unwrap();
    ads.remove(&mut ad, "vi").unwrap();
    coll.sync(&mut owner).unwrap();
    coll.remove_many(&mut owner, &["late", "ed"]).unwrap();
    coll.transfer_ownership(&mut owner, "ad").unwrap();
    coll.leave(&mut owner).unwrap();
    ads.sync(&mut ad).unwrap();
    ads.add_file(&mut ad, None, "after.txt", "text/plain", b"after")
        .unwrap();
    ads.unshare(&mut ad).unwrap();

    // Everything was accepted, and the stored log replays from scratch.
    let stored = server.log(&id);
    assert_eq!(stored.len() as u64, ads.state().len());
    let mut replay = LogState::empty(id);
    replay.extend_from_bytes(&stored, u64::MAX).unwrap();
    assert_eq!(replay.head(), ads.state().head());
    assert_eq!(replay.owner(), "ad");
    assert_eq!(replay.members().len(), 1);
}

/// A move rebased over a concurrent new version keeps that version's content
/// and key: the moved item stays readable, with the newer content, in its new
/// folder (a move must never pair an old item key with newer metadata).
#[test]
fn a_move_rebased_over_a_new_version_keeps_the_item_readable() {
    let Team {
        mut owner,
        mut coll,
        people,
        ..
    } = Team::new(&[("ed", Role::Editor)]);
    let [(mut ed, mut eds)]: [_; 1] = people.try_into().unwrap();
    let file = coll
        .add_file(&mut owner, None, "notes.txt", "text/plain", b"v1")
        .unwrap();
    let folder = coll.add_folder(&mut owner, None, "Archive").unwrap();
    eds.sync(&mut ed).unwrap();
    // The owner saves v2; Ed, on the head before it, moves the file.
    coll.update_file(&mut owner, file, None, b"v2").unwrap();
    eds.move_item(&mut ed, file, Some(folder)).unwrap();
    for (c, client) in [(&mut coll, &mut owner), (&mut eds, &mut ed)] {
        c.sync(client).unwrap();
        let item = c.item(file).unwrap();
        assert_eq!(item.parent, Some(folder));
        assert_eq!(item.metadata.name, "notes.txt");
        assert_eq!(c.read(client, file).unwrap(), b"v2");
    }
    assert!(coll.items().is_complete(), "every item still reads");
}
