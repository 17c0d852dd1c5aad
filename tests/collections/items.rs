//! Files and folders: content, versions, moves, trash.

use super::*;

#[test]
fn content_streams_in_and_out() {
    let Team {
        server,
        mut owner,
        mut coll,
        ..
    } = Team::new(&[]);
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
        Err(Error::ContentMismatch)
    ));
    assert!(out.is_empty());
}

#[test]
fn moving_an_item_re_encrypts_nothing() {
    let Team {
        server,
        mut owner,
        mut coll,
        ..
    } = Team::new(&[]);
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

#[test]
fn a_file_keeps_every_version_with_its_author() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("ed", Role::Editor),
        ("co", Role::Collaborator),
        ("vi", Role::Viewer),
    ]);
    let [(mut ed, mut eds), (mut co, mut cos), (mut vi, mut vis)]: [_; 3] =
        people.try_into().unwrap();
    let id = coll.id();
    let puts = server.blob_puts();

    let t1 = clock.now();
    let f = coll
        .add_file(&mut owner, None, "report.txt", "text/plain", b"draft")
        .unwrap();
    let item = coll.item(f).unwrap();
    assert_eq!(
        (item.kind, item.creator.as_str(), item.parent, item.trashed),
        (ItemKind::File, "owner", None, false)
    );
    assert_eq!(item.version(), 1);
    assert_eq!(
        item.metadata,
        ItemMetadata {
            name: "report.txt".into(),
            media_type: "text/plain".into(),
            size: 5,
            created: t1,
            modified: t1,
        }
    );

    clock.advance(60);
    let t2 = clock.now();
    eds.sync(&mut ed).unwrap();
    assert_eq!(
        eds.update_file(&mut ed, f, None, b"second draft").unwrap(),
        2
    );
    clock.advance(60);
    let t3 = clock.now();
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        coll.update_file(&mut owner, f, Some("report-final.txt"), b"final")
            .unwrap(),
        3
    );
    assert_eq!(server.blob_puts(), puts + 3, "one upload per version");

    // A collaborator may not edit someone else's file, a viewer no file.
    cos.sync(&mut co).unwrap();
    vis.sync(&mut vi).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(cos.update_file(&mut co, f, None, b"mine")),
        too_low("co", Role::Collaborator, Action::EditAnyItem)
    );
    assert_eq!(
        refused(vis.update_file(&mut vi, f, None, b"mine")),
        too_low("vi", Role::Viewer, Action::EditAnyItem)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    // Every member sees every version, with its author and time.
    let item = vis.item(f).unwrap();
    let versions: Vec<(u32, &str, u64)> = item
        .versions
        .iter()
        .map(|v| (v.version, v.author.as_str(), v.time))
        .collect();
    assert_eq!(
        versions,
        [(1, "owner", t1), (2, "ed", t2), (3, "owner", t3)]
    );
    assert_eq!(item.creator, "owner");
    assert_eq!(
        item.metadata,
        ItemMetadata {
            name: "report-final.txt".into(),
            media_type: "text/plain".into(),
            size: 5,
            created: t1,
            modified: t3,
        }
    );
    assert_eq!(vis.read(&vi, f).unwrap(), b"final");
    assert_eq!(vis.read_version(&vi, f, 1).unwrap(), b"draft");
    assert_eq!(vis.read_version(&vi, f, 2).unwrap(), b"second draft");
    assert_eq!(vis.read_version(&vi, f, 3).unwrap(), b"final");
    assert!(matches!(
        vis.read_version(&vi, f, 4),
        Err(Error::NotFound(_))
    ));
    let texts: Vec<String> = vis.history().into_iter().map(|h| h.text).collect();
    assert_eq!(
        texts[texts.len() - 3..],
        [
            "owner added file \"report-final.txt\"",
            "ed saved version 2 of \"report-final.txt\"",
            "owner saved version 3 of \"report-final.txt\"",
        ]
    );
}

#[test]
fn folders_nest_three_deep_and_every_member_sees_the_same_tree() {
    let Team {
        server,
        clock: _,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("vi", Role::Viewer), ("co", Role::Collaborator)]);
    let [(mut vi, mut vis), (mut co, mut cos)]: [_; 2] = people.try_into().unwrap();
    let id = coll.id();

    let top = coll.add_folder(&mut owner, None, "Projects").unwrap();
    let mid = coll.add_folder(&mut owner, Some(top), "2025").unwrap();
    let deep = coll.add_folder(&mut owner, Some(mid), "Q3").unwrap();
    let note = coll
        .add_file(&mut owner, Some(deep), "notes.md", "text/markdown", b"# Q3")
        .unwrap();
    coll.add_file(&mut owner, Some(top), "README", "text/plain", b"read me")
        .unwrap();

    vis.sync(&mut vi).unwrap();
    assert_eq!(names(&vis.children(None).complete().unwrap()), ["Projects"]);
    assert_eq!(
        names(&vis.children(Some(top)).complete().unwrap()),
        ["2025", "README"]
    );
    assert_eq!(names(&vis.children(Some(mid)).complete().unwrap()), ["Q3"]);
    assert_eq!(
        names(&vis.children(Some(deep)).complete().unwrap()),
        ["notes.md"]
    );
    assert_eq!(vis.item(note).unwrap().parent, Some(deep));
    assert_eq!(vis.item(deep).unwrap().parent, Some(mid));
    assert_eq!(vis.item(mid).unwrap().parent, Some(top));
    assert_eq!(vis.item(top).unwrap().parent, None);
    let folder = vis.item(deep).unwrap();
    assert_eq!(folder.kind, ItemKind::Folder);
    assert_eq!(
        (folder.metadata.media_type.as_str(), folder.metadata.size),
        ("", 0)
    );
    assert_eq!(vis.read(&vi, note).unwrap(), b"# Q3");
    assert!(matches!(
        vis.read(&vi, deep),
        Err(Error::InvalidArgument(_))
    ));

    // A collaborator adds a fourth level; the owner renames a folder in the middle.
    cos.sync(&mut co).unwrap();
    let drafts = cos.add_folder(&mut co, Some(deep), "drafts").unwrap();
    let idea = cos
        .add_file(&mut co, Some(drafts), "idea.txt", "text/plain", b"idea")
        .unwrap();
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        coll.rename_folder(&mut owner, mid, "2025 (archived)")
            .unwrap(),
        2
    );
    vis.sync(&mut vi).unwrap();
    let mut path = Vec::new();
    let mut cursor = Some(idea);
    while let Some(at) = cursor {
        let item = vis.item(at).unwrap();
        path.push(item.metadata.name);
        cursor = item.parent;
    }
    assert_eq!(
        path,
        ["idea.txt", "drafts", "Q3", "2025 (archived)", "Projects"]
    );
    assert_eq!(names(&vis.children(Some(mid)).complete().unwrap()), ["Q3"]);

    // The tree stays a tree.
    let before = ops(&server, id);
    assert_eq!(
        refused(coll.add_folder(&mut owner, Some(note), "under a file")),
        Violation::BadParent("not a folder")
    );
    assert_eq!(
        refused(coll.move_item(&mut owner, top, Some(drafts))),
        Violation::BadParent("a folder cannot be inside itself")
    );
    assert_eq!(
        refused(coll.add_folder(&mut owner, Some(ItemId::random().unwrap()), "x")),
        Violation::BadParent("no such folder")
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
}

#[test]
fn trash_restore_and_purge() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("ed", Role::Editor), ("ad", Role::Admin)]);
    let [(mut ed, mut eds), (mut ad, mut ads)]: [_; 2] = people.try_into().unwrap();
    let id = coll.id();
    let folder = coll.add_folder(&mut owner, None, "Old").unwrap();
    let inside = coll
        .add_file(&mut owner, Some(folder), "inside.txt", "text/plain", b"in")
        .unwrap();
    let loose = coll
        .add_file(&mut owner, None, "loose.txt", "text/plain", b"loose")
        .unwrap();

    // An editor trashes anyone's item: it leaves the folder view, stays listed as trashed.
    clock.advance(10);
    eds.sync(&mut ed).unwrap();
    eds.trash(&mut ed, loose).unwrap();
    assert!(eds.item(loose).unwrap().trashed);
    assert_eq!(
        eds.state().items()[&loose].trashed,
        Some(("ed".to_owned(), clock.now()))
    );
    assert_eq!(names(&eds.children(None).complete().unwrap()), ["Old"]);
    assert!(
        eds.items()
            .complete()
            .unwrap()
            .iter()
            .any(|i| i.id == loose && i.trashed)
    );
    assert_eq!(
        eds.history().pop().unwrap().text,
        "ed trashed \"loose.txt\""
    );
    let before = ops(&server, id);
    assert_eq!(
        refused(eds.trash(&mut ed, loose)),
        Violation::TrashState("already in the trash")
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    // Restored, it is back where it was.
    eds.restore(&mut ed, loose).unwrap();
    assert!(!eds.item(loose).unwrap().trashed);
    assert_eq!(
        names(&eds.children(None).complete().unwrap()),
        ["Old", "loose.txt"]
    );
    assert_eq!(eds.read(&ed, loose).unwrap(), b"loose");
    assert_eq!(
        eds.history().pop().unwrap().text,
        "ed restored \"loose.txt\""
    );
    let before = ops(&server, id);
    assert_eq!(
        refused(eds.restore(&mut ed, loose)),
        Violation::TrashState("not in the trash")
    );

    // Purging needs Admin, a trashed item, and an empty folder.
    eds.trash(&mut ed, loose).unwrap();
    let before_purges = ops(&server, id);
    assert_eq!(before_purges, before + 1);
    assert_eq!(
        refused(eds.purge(&mut ed, loose)),
        too_low("ed", Role::Editor, Action::Purge)
    );
    ads.sync(&mut ad).unwrap();
    assert_eq!(
        refused(ads.purge(&mut ad, inside)),
        Violation::TrashState("not in the trash")
    );
    assert_eq!(ops(&server, id), before_purges, "nothing sent");
    ads.trash(&mut ad, folder).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.purge(&mut ad, folder)),
        Violation::FolderNotEmpty
    );
    assert_eq!(
        refused(ads.add_folder(&mut ad, Some(folder), "new")),
        Violation::BadParent("the folder is in the trash")
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
    ads.trash(&mut ad, inside).unwrap();
    assert_eq!(
        refused(ads.purge(&mut ad, folder)),
        Violation::FolderNotEmpty,
        "a trashed item still fills its folder"
    );
    ads.purge(&mut ad, inside).unwrap();
    ads.purge(&mut ad, folder).unwrap();
    assert!(
        ads.history()
            .pop()
            .unwrap()
            .text
            .starts_with("ad purged item ")
    );
    // The owner purges too.
    coll.sync(&mut owner).unwrap();
    coll.purge(&mut owner, loose).unwrap();
    for gone in [inside, folder, loose] {
        assert!(matches!(coll.item(gone), Err(Error::NotFound(_))));
    }
    assert!(coll.items().complete().unwrap().is_empty());
    eds.sync(&mut ed).unwrap();
    assert!(eds.items().complete().unwrap().is_empty());
}

#[test]
fn a_collaborator_trashes_and_restores_only_their_own_items() {
    let Team {
        server,
        clock: _,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("co", Role::Collaborator), ("cy", Role::Collaborator)]);
    let [(mut co, mut cos), (mut cy, mut cys)]: [_; 2] = people.try_into().unwrap();
    let id = coll.id();
    let owners = coll
        .add_file(&mut owner, None, "owner.txt", "text/plain", b"o")
        .unwrap();
    cos.sync(&mut co).unwrap();
    let mine = cos
        .add_file(&mut co, None, "mine.txt", "text/plain", b"m")
        .unwrap();
    cys.sync(&mut cy).unwrap();
    let theirs = cys
        .add_file(&mut cy, None, "cy.txt", "text/plain", b"c")
        .unwrap();

    cos.sync(&mut co).unwrap();
    let before = ops(&server, id);
    for other in [owners, theirs] {
        assert_eq!(
            refused(cos.trash(&mut co, other)),
            too_low("co", Role::Collaborator, Action::EditAnyItem)
        );
    }
    assert_eq!(ops(&server, id), before, "nothing sent");

    cos.trash(&mut co, mine).unwrap();
    assert!(cos.item(mine).unwrap().trashed);
    cos.restore(&mut co, mine).unwrap();
    assert!(!cos.item(mine).unwrap().trashed);
    assert_eq!(
        cos.update_file(&mut co, mine, Some("mine-2.txt"), b"m2")
            .unwrap(),
        2
    );

    // Restoring someone else's item is editing it too; its creator may.
    coll.sync(&mut owner).unwrap();
    coll.trash(&mut owner, theirs).unwrap();
    cos.sync(&mut co).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(cos.restore(&mut co, theirs)),
        too_low("co", Role::Collaborator, Action::EditAnyItem)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
    cys.sync(&mut cy).unwrap();
    cys.restore(&mut cy, theirs).unwrap();
    assert!(!cys.item(theirs).unwrap().trashed);
}

#[test]

fn a_refused_item_write_uploads_no_content() {
    let Team {
        server,
        clock: _,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[("vi", Role::Viewer), ("co", Role::Collaborator)]);
    let [(mut vi, mut vis), (mut co, mut cos)]: [_; 2] = people.try_into().unwrap();
    let id = coll.id();
    let owners = coll
        .add_file(&mut owner, None, "owner.txt", "text/plain", b"o")
        .unwrap();
    vis.sync(&mut vi).unwrap();
    cos.sync(&mut co).unwrap();
    let (puts, blobs, len) = (
        server.blob_puts(),
        server.blob_ids(&id).len(),
        ops(&server, id),
    );

    // A viewer's new file and a collaborator's edit of someone else's file
    // are refused by the roles table: neither should upload its content.
    let big = vec![7u8; 1 << 20];
    assert_eq!(
        refused(vis.add_file(&mut vi, None, "video.bin", "video/mp4", &big)),
        too_low("vi", Role::Viewer, Action::AddItem)
    );
    assert_eq!(
        refused(cos.update_file(&mut co, owners, None, &big)),
        too_low("co", Role::Collaborator, Action::EditAnyItem)
    );
    assert_eq!(ops(&server, id), len, "no operation sent");
    assert_eq!(server.blob_puts(), puts, "no content uploaded");
    assert_eq!(server.blob_ids(&id).len(), blobs, "no orphan blob stored");
}
