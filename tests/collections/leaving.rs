//! Removal, leaving, unsharing and ownership: who keeps which key.

use super::*;
use sealshare::Operation;

#[test]
fn remove_member_starts_a_new_epoch_they_cannot_read() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("bob", Role::Viewer),
        ("carl", Role::Editor),
        ("ad", Role::Admin),
        ("dee", Role::Editor),
        ("eve", Role::Viewer),
    ]);
    let [
        (mut bob, mut bobs),
        (mut carl, mut carls),
        (mut ad, mut ads),
        _dee,
        _eve,
    ]: [_; 5] = people.try_into().unwrap();
    let id = coll.id();
    let before_item = coll
        .add_file(&mut owner, None, "before.txt", "text/plain", b"before")
        .unwrap();

    clock.advance(10);
    let puts = server.blob_puts();
    coll.remove(&mut owner, "bob").unwrap();
    assert_eq!(coll.state().epoch(), 1);
    assert!(coll.member("bob").is_none());
    let last = coll.history().pop().unwrap();
    assert_eq!(
        (last.event, last.text.as_str()),
        (
            EventKind::Removed {
                members: vec!["bob".into()],
                epoch: 1
            },
            "owner removed bob (new key epoch 1)"
        )
    );
    // One wrap per remaining member; no item is re-encrypted.
    assert_eq!(server.blob_puts(), puts);
    assert_eq!(
        coll.state().items()[&before_item].latest.header.epoch,
        0,
        "the old item is untouched"
    );
    let after = coll
        .add_file(&mut owner, None, "after.txt", "text/plain", b"after")
        .unwrap();
    assert_eq!(coll.state().items()[&after].latest.header.epoch, 1);

    // Bob's view verifies the log, shows he is out, and opens nothing new.
    bobs.sync(&mut bob).unwrap();
    assert!(bobs.member("bob").is_none());
    assert!(matches!(bobs.read(&bob, after), Err(Error::NotAllowed(_))));
    assert_eq!(bobs.read(&bob, before_item).unwrap(), b"before");
    let before = ops(&server, id);
    assert_eq!(
        refused(bobs.trash(&mut bob, before_item)),
        Violation::NotAMember {
            author: "bob".into()
        }
    );
    assert!(bobs.add_folder(&mut bob, None, "still here?").is_err());
    assert_eq!(ops(&server, id), before, "nothing sent");

    // The others read old and new.
    carls.sync(&mut carl).unwrap();
    assert_eq!(carls.read(&carl, before_item).unwrap(), b"before");
    assert_eq!(carls.read(&carl, after).unwrap(), b"after");

    // An admin removes members below Admin; an editor removes no one.
    clock.advance(10);
    ads.sync(&mut ad).unwrap();
    ads.remove(&mut ad, "dee").unwrap();
    assert_eq!(ads.state().epoch(), 2);
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.remove(&mut ad, "owner")),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "owner".into(),
            target_role: Role::Owner,
        }
    );
    carls.sync(&mut carl).unwrap();
    assert_eq!(
        refused(carls.remove(&mut carl, "eve")),
        too_low("carl", Role::Editor, Action::ManageMembers)
    );
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        refused(coll.remove(&mut owner, "bob")),
        Violation::NoSuchMember("bob".into())
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    // Several at once: one new epoch.
    clock.advance(10);
    coll.remove_many(&mut owner, &["carl", "eve"]).unwrap();
    assert_eq!(coll.state().epoch(), 3);
    let left: Vec<&str> = coll.members().map(|m| m.card.handle()).collect();
    assert_eq!(left, ["ad", "owner"]);
}

#[test]
fn after_a_member_leaves_the_next_write_rotates_the_key_first() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("bob", Role::Viewer),
        ("col", Role::Collaborator),
        ("ed", Role::Editor),
    ]);
    let [(mut bob, mut bobs), (mut col, mut cols), (mut ed, mut eds)]: [_; 3] =
        people.try_into().unwrap();
    let id = coll.id();
    let old = coll
        .add_file(&mut owner, None, "old", "text/plain", b"old")
        .unwrap();
    let epoch = coll.state().epoch();

    clock.advance(10);
    bobs.sync(&mut bob).unwrap();
    bobs.leave(&mut bob).unwrap();
    assert!(bobs.member("bob").is_none());

    // The owner cannot leave (only after a transfer).
    coll.sync(&mut owner).unwrap();
    let before = ops(&server, id);
    assert_eq!(refused(coll.leave(&mut owner)), Violation::OwnerCannotLeave);
    assert_eq!(ops(&server, id), before, "nothing sent");
    assert!(coll.state().needs_rotation());
    assert_eq!(
        coll.state().epoch(),
        epoch,
        "no new key until someone writes"
    );

    // The next writer, a collaborator, rotates the key before encrypting anything.
    clock.advance(10);
    cols.sync(&mut col).unwrap();
    let len = cols.state().len();
    let new = cols
        .add_file(&mut col, None, "new", "text/plain", b"new")
        .unwrap();
    assert_eq!(cols.state().epoch(), epoch + 1);
    assert!(!cols.state().needs_rotation());
    let tail: Vec<(u64, String, String)> = cols
        .history()
        .into_iter()
        .skip(len as usize)
        .map(|h| (h.seq, h.author, h.text))
        .collect();
    assert_eq!(
        tail,
        [
            (
                len,
                "col".to_owned(),
                format!("col rotated the key (epoch {})", epoch + 1)
            ),
            (
                len + 1,
                "col".to_owned(),
                "col added file \"new\"".to_owned()
            ),
        ]
    );
    assert_eq!(cols.state().items()[&new].latest.header.epoch, epoch + 1);

    // Bob kept his view and every key in it, and cannot open the new item.
    bobs.sync(&mut bob).unwrap();
    assert!(bobs.read(&bob, new).is_err());
    assert_eq!(bobs.read(&bob, old).unwrap(), b"old");
    coll.sync(&mut owner).unwrap();
    assert_eq!(coll.read(&owner, new).unwrap(), b"new");

    // One rotation is enough: the next write does not rotate again.
    eds.sync(&mut ed).unwrap();
    eds.add_folder(&mut ed, None, "later").unwrap();
    assert_eq!(eds.state().epoch(), epoch + 1);
}

#[test]
fn unshare_leaves_the_owner_alone_with_everything() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("vi", Role::Viewer),
        ("co", Role::Collaborator),
        ("ad", Role::Admin),
    ]);
    let [vi, (mut co, mut cos), (mut ad, mut ads)]: [_; 3] = people.try_into().unwrap();
    let id = coll.id();
    // One more person is invited but has not accepted yet.
    let mut pe = user("pe", &server, &clock);
    owner.observe(pe.account().identity()).unwrap();
    coll.share(&mut owner, pe.account().identity(), Role::Viewer)
        .unwrap();
    let a = coll
        .add_file(&mut owner, None, "a.txt", "text/plain", b"a")
        .unwrap();
    cos.sync(&mut co).unwrap();
    let b = cos
        .add_file(&mut co, None, "b.txt", "text/plain", b"b")
        .unwrap();

    // Only the owner unshares.
    ads.sync(&mut ad).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.unshare(&mut ad)),
        too_low("ad", Role::Admin, Action::Unshare)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    clock.advance(10);
    let t = clock.now();
    coll.sync(&mut owner).unwrap();
    coll.unshare(&mut owner).unwrap();
    let left: Vec<&str> = coll.members().map(|m| m.card.handle()).collect();
    assert_eq!(left, ["owner"]);
    assert_eq!(coll.state().epoch(), 1);
    let last = coll.history().pop().unwrap();
    assert_eq!(
        (last.time, last.event, last.text.as_str()),
        (
            t,
            EventKind::Unshared {
                removed: vec!["ad".into(), "co".into(), "pe".into(), "vi".into()],
                epoch: 1
            },
            "owner unshared from everyone (4 removed, new key epoch 1)"
        )
    );

    // The owner keeps everything, the members' items included, and goes on.
    assert_eq!(coll.read(&owner, a).unwrap(), b"a");
    assert_eq!(coll.read(&owner, b).unwrap(), b"b");
    let c = coll
        .add_file(&mut owner, None, "c.txt", "text/plain", b"c")
        .unwrap();

    // Everyone else: no longer a member, nothing new readable, nothing listed.
    let mut views = vec![vi, (co, cos), (ad, ads)];
    let pes = Collection::open(&mut pe, id).unwrap();
    views.push((pe, pes));
    for (client, view) in &mut views {
        let me = client.account().handle().to_owned();
        view.sync(client).unwrap();
        assert!(view.member(&me).is_none(), "{me}");
        assert!(view.read(client, c).is_err(), "{me}");
        assert_lists_nothing(client);
    }
}

#[test]
fn transfer_ownership_makes_the_old_owner_an_admin() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("heir", Role::Editor), ("ad", Role::Admin)]);
    let [(mut heir, mut heirs), (mut ad, mut ads)]: [_; 2] = people.try_into().unwrap();
    let id = coll.id();
    let pend = user("pend", &server, &clock);
    owner.observe(pend.account().identity()).unwrap();
    coll.share(&mut owner, pend.account().identity(), Role::Viewer)
        .unwrap();

    // Only the owner transfers, only to a member who accepted; the owner cannot leave.
    ads.sync(&mut ad).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.transfer_ownership(&mut ad, "heir")),
        too_low("ad", Role::Admin, Action::TransferOwnership)
    );
    assert_eq!(
        refused(coll.transfer_ownership(&mut owner, "pend")),
        Violation::NotAccepted {
            author: "pend".into()
        }
    );
    assert_eq!(
        refused(coll.transfer_ownership(&mut owner, "ghost")),
        Violation::NoSuchMember("ghost".into())
    );
    assert_eq!(refused(coll.leave(&mut owner)), Violation::OwnerCannotLeave);
    assert_eq!(ops(&server, id), before, "nothing sent");

    clock.advance(10);
    coll.transfer_ownership(&mut owner, "heir").unwrap();
    assert_eq!(coll.owner(), "heir");
    assert_eq!(coll.role_of("heir"), Some(Role::Owner));
    assert_eq!(coll.role_of("owner"), Some(Role::Admin));
    assert_eq!(coll.members().filter(|m| m.role == Role::Owner).count(), 1);
    let last = coll.history().pop().unwrap();
    assert_eq!(
        (last.event, last.text.as_str()),
        (
            EventKind::Transferred { to: "heir".into() },
            "owner made heir the owner"
        )
    );

    // The old owner now finds it under "shared with me", as an admin...
    let list = CollectionList::fetch(&mut owner).unwrap();
    assert!(list.mine.is_empty() && list.failed.is_empty());
    assert_eq!(list.shared.len(), 1);
    assert_eq!(
        (list.shared[0].owner.as_str(), list.shared[0].role),
        ("heir", Role::Admin)
    );
    // ... who can no longer unshare or transfer.
    let before = ops(&server, id);
    assert_eq!(
        refused(coll.unshare(&mut owner)),
        too_low("owner", Role::Admin, Action::Unshare)
    );
    assert_eq!(
        refused(coll.transfer_ownership(&mut owner, "ad")),
        too_low("owner", Role::Admin, Action::TransferOwnership)
    );
    // The new owner cannot leave.
    heirs.sync(&mut heir).unwrap();
    assert_eq!(refused(heirs.leave(&mut heir)), Violation::OwnerCannotLeave);
    assert_eq!(ops(&server, id), before, "nothing sent");

    // The old owner may leave now; the new owner unshares from everyone.
    clock.advance(10);
    coll.leave(&mut owner).unwrap();
    heirs.sync(&mut heir).unwrap();
    heirs.unshare(&mut heir).unwrap();
    let left: Vec<&str> = heirs.members().map(|m| m.card.handle()).collect();
    assert_eq!(left, ["heir"]);
    ads.sync(&mut ad).unwrap();
    assert!(ads.member("ad").is_none());
}

#[test]

fn ownership_cannot_go_to_a_member_who_holds_no_key() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("bob", Role::Viewer)]);
    let [(mut bob, mut bobs)]: [_; 1] = people.try_into().unwrap();
    let id = coll.id();
    let doc = coll
        .add_file(&mut owner, None, "doc.txt", "text/plain", b"doc")
        .unwrap();
    let url = coll
        .create_invite_link(
            &mut owner,
            "https://example.test/join",
            InviteTerms {
                role: Role::Editor,
                approval: true,
                ..InviteTerms::default()
            },
        )
        .unwrap();
    clock.advance(10);
    let mut joiner = user("joiner", &server, &clock);
    let mut joiners = Collection::join(&mut joiner, &url).unwrap();
    assert!(
        joiners.read(&joiner, doc).is_err(),
        "no key before approval"
    );
    coll.sync(&mut owner).unwrap();
    assert!(coll.member("joiner").unwrap().awaits_approval());

    // Handing the collection to someone without its key would leave an owner
    // who cannot read it and whom no one may approve (approval needs a role
    // above theirs). It must be refused, and nothing sent.
    let before = ops(&server, id);
    let awaits = Violation::AwaitsApproval("joiner".into());
    assert_eq!(
        refused(coll.transfer_ownership(&mut owner, "joiner")),
        awaits
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
    assert_eq!(coll.owner(), "owner");

    // The owner's own client would not send it; a forged one, signed by the owner
    // and slipped into the log by the server, is refused by every client.
    let honest_log = server.log(&id);
    let last = Operation::from_bytes(honest_log.last().unwrap()).unwrap();
    let forged = owner
        .account()
        .sign_operation(
            id,
            before as u64,
            last.hash(),
            clock.now(),
            Body::Transfer {
                to: "joiner".into(),
            },
        )
        .unwrap();
    // A verifying server refuses the append...
    assert!(matches!(
        server.append(&id, before as u64, forged.to_bytes()),
        Err(Error::Remote(_))
    ));
    // ...a lying one stores it anyway.
    server.inject(&id, forged.to_bytes().to_vec());
    let at_forgery = |r: sealshare::Result<u64>| match r {
        Err(Error::InvalidOperation { seq, violation, .. }) => {
            assert_eq!(
                seq, before as u64,
                "the forged operation is the one refused"
            );
            violation
        }
        other => panic!("expected the forged transfer refused, got {other:?}"),
    };
    assert_eq!(at_forgery(bobs.sync(&mut bob)), awaits, "bob");
    assert_eq!(at_forgery(joiners.sync(&mut joiner)), awaits, "joiner");
    assert_eq!(at_forgery(coll.sync(&mut owner)), awaits, "owner");
    for (who, view) in [("bob", &bobs), ("joiner", &joiners), ("owner", &coll)] {
        assert_eq!(view.owner(), "owner", "{who}");
        assert_eq!(view.state().len(), before as u64, "{who}: the prefix stays");
    }
    let mut fresh = LogState::empty(id);
    let err = fresh
        .extend_from_bytes(&server.log(&id), u64::MAX)
        .unwrap_err();
    assert!(
        matches!(&err, sealshare::internal::log::VerifyError::InvalidOperation { violation, .. } if *violation == awaits),
        "{err:?}"
    );
    // The server stops lying; everyone carries on from the verified prefix.
    server.set_log(&id, honest_log);

    // Once approved, the transfer goes through and the new owner reads.
    coll.approve(&mut owner, "joiner").unwrap();
    coll.transfer_ownership(&mut owner, "joiner").unwrap();
    joiners.sync(&mut joiner).unwrap();
    assert_eq!(joiners.owner(), "joiner");
    assert_eq!(joiners.read(&joiner, doc).unwrap(), b"doc");
    bobs.sync(&mut bob).unwrap();
    assert_eq!(bobs.owner(), "joiner");
}

#[test]
fn a_member_added_after_several_rotations_reads_the_whole_history() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("x", Role::Viewer),
        ("y", Role::Viewer),
        ("z", Role::Editor),
    ]);
    let [_x, (mut y, mut ys), (mut z, mut zs)]: [_; 3] = people.try_into().unwrap();

    // Epoch 0: the name and a first file.
    coll.rename(&mut owner, "Archive", "since 2019").unwrap();
    let e0 = coll
        .add_file(&mut owner, None, "e0", "text/plain", b"zero")
        .unwrap();
    // Epoch 1: after a removal.
    clock.advance(10);
    coll.remove(&mut owner, "x").unwrap();
    let e1 = coll
        .add_file(&mut owner, None, "e1", "text/plain", b"one")
        .unwrap();
    // Epoch 2: y leaves, z's next write rotates; z also saves a new version of e0.
    clock.advance(10);
    ys.sync(&mut y).unwrap();
    ys.leave(&mut y).unwrap();
    zs.sync(&mut z).unwrap();
    let e2 = zs
        .add_file(&mut z, None, "e2", "text/plain", b"two")
        .unwrap();
    zs.update_file(&mut z, e0, None, b"zero, v2").unwrap();
    // Epoch 3: an explicit rotation; e1 goes to the trash.
    clock.advance(10);
    coll.sync(&mut owner).unwrap();
    coll.rotate(&mut owner).unwrap();
    let e3 = coll
        .add_file(&mut owner, None, "e3", "text/plain", b"three")
        .unwrap();
    coll.trash(&mut owner, e1).unwrap();
    assert_eq!(coll.state().epoch(), 3);
    let epochs: Vec<u64> = [e0, e1, e2, e3]
        .iter()
        .map(|i| coll.state().items()[i].latest.header.epoch)
        .collect();
    assert_eq!(epochs, [2, 1, 2, 3]);

    clock.advance(10);
    let mut late = user("late", &server, &clock);
    owner.observe(late.account().identity()).unwrap();
    coll.share(&mut owner, late.account().identity(), Role::Viewer)
        .unwrap();
    let mut lates = Collection::open(&mut late, coll.id()).unwrap();
    lates.accept(&mut late).unwrap();

    assert_eq!(
        lates.info().unwrap(),
        ("Archive".into(), "since 2019".into())
    );
    assert_eq!(lates.read(&late, e0).unwrap(), b"zero, v2");
    assert_eq!(lates.read_version(&late, e0, 1).unwrap(), b"zero");
    assert_eq!(lates.read(&late, e1).unwrap(), b"one");
    assert_eq!(lates.read(&late, e2).unwrap(), b"two");
    assert_eq!(lates.read(&late, e3).unwrap(), b"three");
    assert_eq!(
        names(&lates.items().complete().unwrap()),
        ["e0", "e1", "e2", "e3"]
    );
    let texts: Vec<String> = lates.history().into_iter().map(|h| h.text).collect();
    for line in [
        "owner added file \"e0\"",
        "owner removed x (new key epoch 1)",
        "owner added file \"e1\"",
        "y left",
        "z rotated the key (epoch 2)",
        "z added file \"e2\"",
        "z saved version 2 of \"e0\"",
        "owner rotated the key (epoch 3)",
        "owner trashed \"e1\"",
    ] {
        assert!(texts.iter().any(|t| t == line), "{line:?} in {texts:#?}");
    }
}
