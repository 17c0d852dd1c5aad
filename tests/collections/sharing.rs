//! Creating, renaming and sharing a collection; declining and changing roles.

use super::*;

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

    let list = CollectionList::fetch(&mut bob).unwrap();
    assert!(list.failed.is_empty(), "{:?}", list.failed);
    assert!(list.mine.is_empty() && list.shared.is_empty());
    assert_eq!(list.pending.len(), 1);
    let shared = &list.pending[0];
    assert_eq!(shared.kind, PendingKind::Share);
    assert_eq!(shared.name.as_deref(), Some("Recipes"));
    assert_eq!(shared.owner, "alice");
    assert_eq!(shared.role, Role::Viewer);
    assert_eq!(shared.by, "alice");
    assert_eq!(shared.at, 1_010);

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

#[test]
fn create_gives_the_owner_a_named_collection_the_server_cannot_read() {
    let server = TestServer::verifying();
    let clock = TestClock::at(1_000_000);
    let mut alice = user("alice", &server, &clock);
    let coll = Collection::create(&mut alice, "Holidays 2025", "photos from the coast").unwrap();

    assert_eq!(
        coll.info().unwrap(),
        ("Holidays 2025".into(), "photos from the coast".into())
    );
    assert_eq!(coll.owner(), "alice");
    assert_eq!(coll.role_of("alice"), Some(Role::Owner));
    assert_eq!(coll.members().count(), 1);
    let me = coll.member("alice").unwrap();
    assert_eq!(
        (me.added_by.as_str(), me.added_at, me.accepted_at),
        ("alice", 1_000_000, Some(1_000_000))
    );
    assert_eq!(coll.state().epoch(), 0);
    assert_eq!(ops(&server, coll.id()), 1);
    let history = coll.history();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].seq,
            history[0].time,
            history[0].author.as_str(),
            &history[0].event,
            history[0].text.as_str()
        ),
        (
            0,
            1_000_000,
            "alice",
            &EventKind::Created,
            "alice created the collection"
        )
    );

    // The name and description are end-to-end encrypted.
    let stored = server.all_bytes();
    for secret in [&b"Holidays 2025"[..], b"photos from the coast"] {
        assert!(!stored.windows(secret.len()).any(|w| w == secret));
    }
    // The account opens it again from the server alone.
    let reopened = Collection::open(&mut alice, coll.id()).unwrap();
    assert_eq!(reopened.name().unwrap(), "Holidays 2025");

    // An over-long name is refused before anything is sent.
    let long = "n".repeat(sealshare::internal::collection::MAX_NAME_LEN + 1);
    assert!(matches!(
        Collection::create(&mut alice, &long, ""),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(server.collections_of("alice").unwrap(), [coll.id()]);
}

#[test]
fn rename_is_for_editors_and_up_and_a_refused_rename_sends_nothing() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("ed", Role::Editor),
        ("ad", Role::Admin),
        ("co", Role::Collaborator),
        ("vi", Role::Viewer),
    ]);
    let [
        (mut ed, mut eds),
        (mut ad, mut ads),
        (mut co, mut cos),
        (mut vi, mut vis),
    ]: [_; 4] = people.try_into().unwrap();
    let id = coll.id();
    let t0 = clock.now();

    coll.rename(&mut owner, "Q3 plans", "by the owner").unwrap();
    clock.advance(10);
    eds.sync(&mut ed).unwrap();
    eds.rename(&mut ed, "Q3 plans (draft)", "by an editor")
        .unwrap();
    clock.advance(10);
    ads.sync(&mut ad).unwrap();
    ads.rename(&mut ad, "Q3 plans (final)", "by an admin")
        .unwrap();

    for (client, view, role) in [
        (&mut co, &mut cos, Role::Collaborator),
        (&mut vi, &mut vis, Role::Viewer),
    ] {
        view.sync(client).unwrap();
        let before = ops(&server, id);
        let handle = client.account().handle().to_owned();
        let err = view.rename(client, "Mine now", "").unwrap_err();
        assert!(matches!(&err, Error::NotAllowedByRole(_)), "{err}");
        assert_eq!(
            refused::<()>(Err(err)),
            too_low(&handle, role, Action::Rename)
        );
        assert_eq!(ops(&server, id), before, "nothing sent");
        assert_eq!(view.name().unwrap(), "Q3 plans (final)");
    }

    coll.sync(&mut owner).unwrap();
    assert_eq!(
        coll.info().unwrap(),
        ("Q3 plans (final)".into(), "by an admin".into())
    );
    let renames: Vec<(String, u64)> = coll
        .history()
        .into_iter()
        .filter(|h| h.event == EventKind::Renamed)
        .map(|h| (h.text, h.time))
        .collect();
    assert_eq!(
        renames,
        [
            ("owner renamed the collection".to_owned(), t0),
            ("ed renamed the collection".to_owned(), t0 + 10),
            ("ad renamed the collection".to_owned(), t0 + 20),
        ]
    );
    // Too long a name is an argument error, not a rule violation.
    let long = "n".repeat(sealshare::internal::collection::MAX_NAME_LEN + 1);
    assert!(matches!(
        coll.rename(&mut owner, &long, ""),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn share_at_each_role_and_see_who_added_whom_and_when() {
    let server = TestServer::verifying();
    let clock = TestClock::at(2_000_000);
    let mut owner = user("owner", &server, &clock);
    let handles = ["vi", "co", "ed", "ad", "ex", "why"];
    let mut cs: Vec<Client> = handles.iter().map(|h| user(h, &server, &clock)).collect();
    {
        let mut all: Vec<&mut Client> = cs.iter_mut().collect();
        all.push(&mut owner);
        introduce(&mut all);
    }
    let cards: Vec<_> = cs.iter().map(|c| c.account().identity().clone()).collect();
    let mut coll = Collection::create(&mut owner, "Shared", "").unwrap();
    let id = coll.id();
    let doc = coll
        .add_file(&mut owner, None, "doc.txt", "text/plain", b"hello")
        .unwrap();

    let roles = [Role::Viewer, Role::Collaborator, Role::Editor, Role::Admin];
    for (card, role) in cards.iter().zip(roles) {
        clock.advance(10);
        coll.share(&mut owner, card, role).unwrap();
    }
    // Shared at 2_000_010, 020, 030, 040; nobody accepted yet.
    for (i, role) in roles.into_iter().enumerate() {
        let m = coll.member(handles[i]).unwrap();
        assert_eq!(m.role, role);
        assert_eq!(m.added_by, "owner");
        assert_eq!(m.added_at, 2_000_010 + 10 * i as u64);
        assert_eq!(m.accepted_at, None);
        assert_eq!(m.card, cards[i]);
    }

    // Each finds it under "shared with me", accepts a minute after the
    // previous one, and reads.
    let mut views = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        clock.advance(60);
        let c = &mut cs[i];
        let list = CollectionList::fetch(c).unwrap();
        assert!(list.failed.is_empty());
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
                Some("Shared"),
                "owner",
                role,
                "owner",
                2_000_010 + 10 * i as u64,
            )
        );
        let mut view = s.collection;
        view.accept(c).unwrap();
        assert_eq!(view.read(c, doc).unwrap(), b"hello");
        views.push(view);
    }
    coll.sync(&mut owner).unwrap();
    for (i, handle) in handles.iter().take(roles.len()).enumerate() {
        assert_eq!(
            coll.member(handle).unwrap().accepted_at,
            Some(2_000_040 + 60 * (i as u64 + 1))
        );
    }

    // An admin shares below their own role; the list says who added whom.
    clock.advance(60);
    let (ad, ads) = (&mut cs[3], &mut views[3]);
    ads.sync(ad).unwrap();
    ads.share(ad, &cards[4], Role::Editor).unwrap();
    let ex = ads.member("ex").unwrap();
    assert_eq!(
        (ex.role, ex.added_by.as_str(), ex.added_at, ex.accepted_at),
        (Role::Editor, "ad", clock.now(), None)
    );

    // Refused shares send nothing.
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.share(ad, &cards[5], Role::Admin)),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "why".into(),
            target_role: Role::Admin,
        }
    );
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        refused(coll.share(&mut owner, &cards[5], Role::Owner)),
        Violation::OwnerOnlyByTransfer
    );
    assert_eq!(
        refused(coll.share(&mut owner, &cards[0], Role::Editor)),
        Violation::AlreadyMember("vi".into())
    );
    let (ed, eds) = (&mut cs[2], &mut views[2]);
    eds.sync(ed).unwrap();
    assert_eq!(
        refused(eds.share(ed, &cards[5], Role::Viewer)),
        too_low("ed", Role::Editor, Action::ManageMembers)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");

    let listed: Vec<(&str, Role, &str)> = coll
        .members()
        .map(|m| (m.card.handle(), m.role, m.added_by.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("ad", Role::Admin, "owner"),
            ("co", Role::Collaborator, "owner"),
            ("ed", Role::Editor, "owner"),
            ("ex", Role::Editor, "ad"),
            ("owner", Role::Owner, "owner"),
            ("vi", Role::Viewer, "owner"),
        ]
    );
    let texts: Vec<String> = coll.history().into_iter().map(|h| h.text).collect();
    for line in [
        "owner shared with vi as viewer",
        "owner shared with co as collaborator",
        "owner shared with ed as editor",
        "owner shared with ad as admin",
        "vi accepted the share",
        "ad shared with ex as editor",
    ] {
        assert!(texts.iter().any(|t| t == line), "{line:?} in {texts:#?}");
    }
    // Sharing needs no new key: everyone is on epoch 0.
    assert_eq!(coll.state().epoch(), 0);
}

#[test]
fn declining_a_share_is_leaving_it() {
    let server = TestServer::verifying();
    let clock = TestClock::at(3_000_000);
    let mut owner = user("owner", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let mut carl = user("carl", &server, &clock);
    introduce(&mut [&mut owner, &mut bob, &mut carl]);
    let mut coll = Collection::create(&mut owner, "Plans", "").unwrap();
    let plan = coll
        .add_file(&mut owner, None, "plan.md", "text/markdown", b"plan")
        .unwrap();
    clock.advance(10);
    coll.share_many(
        &mut owner,
        &[
            (bob.account().identity().clone(), Role::Viewer),
            (carl.account().identity().clone(), Role::Viewer),
        ],
    )
    .unwrap();

    // Bob declines without ever accepting; Carl accepts, then leaves.
    clock.advance(10);
    let mut bobs = CollectionList::fetch(&mut bob)
        .unwrap()
        .pending
        .remove(0)
        .collection;
    bobs.decline(&mut bob).unwrap();
    clock.advance(10);
    let mut carls = Collection::open(&mut carl, coll.id()).unwrap();
    carls.accept(&mut carl).unwrap();
    clock.advance(10);
    carls.leave(&mut carl).unwrap();

    coll.sync(&mut owner).unwrap();
    let left: Vec<(String, u64, String)> = coll
        .history()
        .into_iter()
        .filter(|h| h.event == EventKind::Left)
        .map(|h| (h.author, h.time, h.text))
        .collect();
    assert_eq!(
        left,
        [
            ("bob".to_owned(), 3_000_020, "bob left".to_owned()),
            ("carl".to_owned(), 3_000_040, "carl left".to_owned()),
        ],
        "a decline is recorded exactly as a leave"
    );
    assert_eq!(coll.members().count(), 1);
    assert!(
        coll.state().needs_rotation(),
        "both held the key, so it must rotate"
    );
    for (c, v, me) in [
        (&mut bob, &mut bobs, "bob"),
        (&mut carl, &mut carls, "carl"),
    ] {
        v.sync(c).unwrap();
        assert!(v.member(me).is_none());
        assert_lists_nothing(c);
    }

    // Bob may be invited again later: the key rotates first, and he gets the new one.
    clock.advance(100);
    let epoch = coll.state().epoch();
    coll.share(&mut owner, bob.account().identity(), Role::Viewer)
        .unwrap();
    assert_eq!(coll.state().epoch(), epoch + 1);
    let again = coll.member("bob").unwrap();
    assert_eq!((again.added_at, again.accepted_at), (3_000_140, None));
    bobs.sync(&mut bob).unwrap();
    bobs.accept(&mut bob).unwrap();
    assert_eq!(bobs.read(&bob, plan).unwrap(), b"plan");
}

#[test]
fn change_role_takes_effect_at_once_and_only_below_ones_own_role() {
    let Team {
        server,
        clock,
        mut owner,
        mut coll,
        people,
    } = Team::new(&[
        ("vi", Role::Viewer),
        ("ed", Role::Editor),
        ("ad", Role::Admin),
        ("co", Role::Collaborator),
    ]);
    let [
        (mut vi, mut vis),
        (mut ed, mut eds),
        (mut ad, mut ads),
        (mut co, mut cos),
    ]: [_; 4] = people.try_into().unwrap();
    let id = coll.id();
    let epoch = coll.state().epoch();

    // A viewer is promoted to editor and may rename at once.
    let t = clock.now();
    coll.change_role(&mut owner, "vi", Role::Editor).unwrap();
    assert_eq!(coll.role_of("vi"), Some(Role::Editor));
    let last = coll.history().pop().unwrap();
    assert_eq!(
        (
            last.time,
            last.author.as_str(),
            last.event.clone(),
            last.text.as_str()
        ),
        (
            t,
            "owner",
            EventKind::RoleChanged {
                member: "vi".into(),
                from: Role::Viewer,
                to: Role::Editor
            },
            "owner changed vi from viewer to editor"
        )
    );
    vis.sync(&mut vi).unwrap();
    assert_eq!(vis.role_of("vi"), Some(Role::Editor));
    vis.rename(&mut vi, "Renamed by vi", "").unwrap();

    // An editor is demoted to viewer and may no longer add.
    clock.advance(10);
    coll.sync(&mut owner).unwrap();
    coll.change_role(&mut owner, "ed", Role::Viewer).unwrap();
    eds.sync(&mut ed).unwrap();
    assert_eq!(
        refused(eds.add_folder(&mut ed, None, "x")),
        too_low("ed", Role::Viewer, Action::AddItem)
    );
    assert_eq!(
        coll.state().epoch(),
        epoch,
        "a role change needs no new key"
    );

    // An admin changes roles below their own, to roles below their own.
    clock.advance(10);
    ads.sync(&mut ad).unwrap();
    ads.change_role(&mut ad, "co", Role::Editor).unwrap();
    let before = ops(&server, id);
    assert_eq!(
        refused(ads.change_role(&mut ad, "co", Role::Admin)),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "co".into(),
            target_role: Role::Admin,
        }
    );
    assert_eq!(
        refused(ads.change_role(&mut ad, "owner", Role::Viewer)),
        Violation::NotBelowOwnRole {
            author: "ad".into(),
            role: Role::Admin,
            target: "owner".into(),
            target_role: Role::Owner,
        }
    );
    coll.sync(&mut owner).unwrap();
    assert_eq!(
        refused(coll.change_role(&mut owner, "ad", Role::Owner)),
        Violation::OwnerOnlyByTransfer
    );
    assert_eq!(
        refused(coll.change_role(&mut owner, "nobody", Role::Viewer)),
        Violation::NoSuchMember("nobody".into())
    );
    cos.sync(&mut co).unwrap();
    assert_eq!(cos.role_of("co"), Some(Role::Editor));
    assert_eq!(
        refused(cos.change_role(&mut co, "ed", Role::Collaborator)),
        too_low("co", Role::Editor, Action::ManageMembers)
    );
    assert_eq!(ops(&server, id), before, "nothing sent");
}
