#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The trust store through an app's life, attacked: a server that plants cards
//! before first contact, refused operations that carry cards, listings, and a
//! member who reinstalls. Each test is named in SECURITY.md.

mod support;

use sealshare::internal::crypto::sign::Signature;
use sealshare::internal::log::{Body, LinkId};
use sealshare::{
    CardTrust, Client, Collection, CollectionList, Error, PinReason, Role, TrustStore, Violation,
};
use support::{TestClock, TestServer, introduce, user};

/// Injects a Join signed by `joiner` through a link that does not exist.
fn forged_join(server: &TestServer, coll: &Collection, joiner: &Client, now: u64) {
    let body = Body::Join {
        link: LinkId([7; 16]),
        role: Role::Viewer,
        card: joiner.account().identity().clone(),
        proof: Signature::from_bytes([0; 64]),
        wrap: None,
    };
    support::forge(server, coll.id(), joiner, body, now);
}

#[test]
fn a_refused_operation_pins_nothing_and_reports_its_rule() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    // The server plants a join by an impostor "bob" (a handle Alice pinned)
    // and by "zed" (one she never met), through no link.
    let impostor = user("bob", &server, &clock);
    let zed = user("zed", &server, &clock);
    for joiner in [&impostor, &zed] {
        let known = server.log(&coll.id());
        forged_join(&server, &coll, joiner, clock.now());
        let before = alice.trust().to_bytes();
        let err = coll.sync(&mut alice).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOperation {
                    violation: Violation::NoSuchLink,
                    ..
                }
            ),
            "the rule it broke, not a key change: {err:?}"
        );
        assert_eq!(alice.trust().to_bytes(), before, "byte for byte");
        assert!(alice.introductions(joiner.account().handle()).is_empty());
        server.set_log(&coll.id(), known);
    }
    assert!(alice.trust().get("zed").is_none());
    // Opened from scratch on a new device, the same.
    let mut fresh = Client::with_clock(
        sealshare::Account::from_secret_bytes(alice.account().to_secret_bytes().expose()).unwrap(),
        server.clone(),
        Box::new(move || 10_000),
    );
    forged_join(&server, &coll, &zed, clock.now());
    let before = fresh.trust().to_bytes();
    assert!(Collection::open(&mut fresh, coll.id()).is_err());
    assert_eq!(fresh.trust().to_bytes(), before);
}

#[test]
fn listings_and_pending_shares_pin_nothing() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut carol = user("carol", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut carol]);
    // A collection Bob is in, and one he is not: the server lists both.
    let mut shared = Collection::create(&mut alice, "Shared", "").unwrap();
    shared
        .share_many(
            &mut alice,
            &[
                (bob.account().identity().clone(), Role::Viewer),
                (carol.account().identity().clone(), Role::Editor),
            ],
        )
        .unwrap();
    let mut other = Collection::create(&mut carol, "Carol's", "").unwrap();
    let stranger = user("stranger", &server, &clock);
    carol.observe(stranger.account().identity()).unwrap();
    other
        .share(&mut carol, stranger.account().identity(), Role::Viewer)
        .unwrap();
    let before = bob.trust().to_bytes();
    let list = CollectionList::fetch(&mut bob).unwrap();
    assert_eq!(list.pending.len(), 1);
    assert_eq!(bob.trust().to_bytes(), before, "a listing pins nothing");
    // The pending share introduced Alice and Carol, by Alice; nothing is pinned.
    let mut mine = Collection::open(&mut bob, shared.id()).unwrap();
    assert_eq!(
        bob.trust().to_bytes(),
        before,
        "a pending share pins nothing"
    );
    let intro = bob.introductions("carol");
    assert_eq!(intro.len(), 1);
    assert_eq!(intro[0].by, "alice");
    assert_eq!(intro[0].card, *carol.account().identity());
    // A log Bob is not in, opened anyway (as a lying server's listing makes
    // a client do): it verifies, introduces nothing and pins nothing.
    Collection::open(&mut bob, other.id()).unwrap();
    assert_eq!(bob.trust().to_bytes(), before);
    assert!(bob.introductions("stranger").is_empty(), "not Bob's log");
    assert_eq!(
        mine.card_trust(&bob, "carol"),
        Some(CardTrust::Unpinned),
        "introduced is not pinned"
    );
    // Accepting is Bob's act: it pins the one who shared, and only them.
    mine.accept(&mut bob).unwrap();
    let alice_pin = bob.trust().get("alice").unwrap();
    assert_eq!(alice_pin.card, *alice.account().identity());
    assert_eq!(alice_pin.how, PinReason::AcceptedShare);
    assert!(bob.trust().get("carol").is_none());
}

#[test]
fn disagreeing_introductions_are_all_shown_and_the_verified_card_wins() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut dave = user("dave", &server, &clock);
    let mut eve = user("eve", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let frank = user("frank", &server, &clock);
    let fake_frank = user("frank", &server, &clock);
    introduce(&mut [&mut alice, &mut dave, &mut eve, &mut bob]);
    // Dave introduces the real Frank to Bob in one collection, Eve another
    // "frank" in a second.
    for (introducer, card) in [(&mut dave, &frank), (&mut eve, &fake_frank)] {
        let mut c = Collection::create(introducer, "c", "").unwrap();
        c.share_many(
            introducer,
            &[
                (bob.account().identity().clone(), Role::Viewer),
                (card.account().identity().clone(), Role::Viewer),
            ],
        )
        .unwrap();
        Collection::open(&mut bob, c.id()).unwrap();
    }
    let intro = bob.introductions("frank");
    assert_eq!(intro.len(), 2, "both are shown");
    let by: Vec<_> = intro
        .iter()
        .map(|i| (i.by.as_str(), i.card.clone()))
        .collect();
    assert!(by.contains(&("dave", frank.account().identity().clone())));
    assert!(by.contains(&("eve", fake_frank.account().identity().clone())));
    assert!(bob.trust().get("frank").is_none());
    // Bob meets Frank and verifies him: that card wins everywhere.
    let now = clock.now();
    bob.observe(frank.account().identity()).unwrap();
    bob.trust_mut()
        .mark_verified("frank", &frank.account().identity().fingerprint(), now)
        .unwrap();
    assert!(matches!(
        bob.assess(fake_frank.account().identity()),
        CardTrust::Changed { ref pinned } if **pinned == *frank.account().identity()
    ));
    assert_eq!(
        bob.assess(frank.account().identity()),
        CardTrust::Verified { at: now }
    );
}

/// Bob reinstalls: new keys under the same handle. Alice removes the old
/// device, sees the change with both cards, accepts it and shares again.
/// Every member then opens the collection from scratch, any number of times
/// over, and Carol, who had pinned the old card, sees the change too.
#[test]
fn a_member_who_reinstalls_keeps_the_collection_openable_for_everyone() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let mut carol = user("carol", &server, &clock);
    introduce(&mut [&mut alice, &mut bob, &mut carol]);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    let file = coll
        .add_file(&mut alice, None, "a.txt", "text/plain", b"before")
        .unwrap();
    coll.share_many(
        &mut alice,
        &[
            (bob.account().identity().clone(), Role::Editor),
            (carol.account().identity().clone(), Role::Editor),
        ],
    )
    .unwrap();
    for c in [&mut bob, &mut carol] {
        Collection::open(c, coll.id()).unwrap().accept(c).unwrap();
    }
    let mut carol_pins = bob.account().identity().clone();

    for round in 0..2 {
        // Bob reinstalls.
        let mut bob = user("bob", &server, &clock);
        bob.observe(alice.account().identity()).unwrap();
        let new_bob = bob.account().identity().clone();
        coll.remove(&mut alice, "bob").unwrap();
        let err = coll.share(&mut alice, &new_bob, Role::Editor).unwrap_err();
        let Error::KeyChanged {
            pinned, presented, ..
        } = err
        else {
            panic!("expected KeyChanged, got {err:?}");
        };
        assert_ne!(pinned.fingerprint(), presented.fingerprint());
        assert_eq!(*presented, new_bob);
        let now = clock.now();
        alice.trust_mut().confirm_changed_key(&presented, now);
        coll.share(&mut alice, &new_bob, Role::Editor).unwrap();
        let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
        bobs.accept(&mut bob).unwrap();
        bobs.add_file(
            &mut bob,
            None,
            &format!("bob{round}.txt"),
            "text/plain",
            b"new",
        )
        .unwrap();
        assert_eq!(alice.trust().history("bob").len(), round + 2);

        // Alice on a new device, with her trust store restored.
        let mut alice2 = Client::with_clock(
            sealshare::Account::from_secret_bytes(alice.account().to_secret_bytes().expose())
                .unwrap(),
            server.clone(),
            Box::new(move || 10_000),
        );
        alice2.set_trust_store(TrustStore::from_bytes(&alice.trust().to_bytes()).unwrap());
        let c = Collection::open(&mut alice2, coll.id()).unwrap();
        assert_eq!(c.read(&alice2, file).unwrap(), b"before");
        assert_eq!(c.card_trust(&alice2, "bob"), Some(CardTrust::Pinned));
        // The new Bob, from scratch, reads what was there before he reinstalled.
        let c = Collection::open(&mut bob, coll.id()).unwrap();
        assert_eq!(c.read(&bob, file).unwrap(), b"before");
        // Carol pinned the first card: she opens, sees the change, and wraps
        // nothing to the new card until she accepts it.
        let mut cs = Collection::open(&mut carol, coll.id()).unwrap();
        assert_eq!(cs.read(&carol, file).unwrap(), b"before");
        let changed = cs.unconfirmed_members(&carol);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].1, carol_pins);
        assert!(matches!(
            cs.rotate(&mut carol),
            Err(Error::KeyChanged { .. })
        ));
        let now = clock.now();
        carol.trust_mut().confirm_changed_key(&new_bob, now);
        carol_pins = new_bob.clone();
        cs.rotate(&mut carol).unwrap();
    }
}

/// The saved trust store is checked against a generation kept inside the
/// keystore: an older copy put back (or none at all) is not believed, its
/// verified marks are dropped, and the app is told.
#[test]
fn a_rolled_back_trust_store_is_not_believed() {
    use sealshare::internal::crypto::password::Argon2Params;
    use sealshare::{Account, Keystore, TrustRestored};
    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let bob = user("bob", &server, &clock);
    let (account, mut keystore, _) = Account::create_protected("alice", 1, "pw", CHEAP).unwrap();
    let c = clock.clone();
    let mut alice = Client::with_clock(account, server.clone(), Box::new(move || c.now()));
    // Saved once with Bob pinned, then again with Bob verified.
    alice.observe(bob.account().identity()).unwrap();
    let old = alice.save_trust();
    alice.account().reseal_keystore(&mut keystore).unwrap();
    let now = clock.now();
    alice
        .trust_mut()
        .mark_verified("bob", &bob.account().identity().fingerprint(), now)
        .unwrap();
    let new = alice.save_trust();
    alice.account().reseal_keystore(&mut keystore).unwrap();
    let stored = Keystore::from_bytes(&keystore.to_bytes()).unwrap();

    let restart = |saved: Option<&[u8]>| {
        let account = Account::unlock_within(
            &stored,
            "pw",
            sealshare::internal::crypto::password::Argon2Budget::DEFAULT,
        )
        .unwrap();
        let mut client = Client::with_clock(account, server.clone(), Box::new(|| 20_000));
        let restored = client.restore_trust(saved.map(|b| TrustStore::from_bytes(b).unwrap()));
        (client, restored)
    };
    let (client, restored) = restart(Some(&new));
    assert_eq!(restored, TrustRestored::Current);
    assert!(client.trust().get("bob").unwrap().verified_at.is_some());
    let (mut client, restored) = restart(Some(&old));
    assert!(
        matches!(restored, TrustRestored::RolledBack { .. }),
        "{restored:?}"
    );
    assert!(client.trust().iter().all(|c| c.verified_at.is_none()));
    assert!(client.trust().get("bob").is_some(), "pins are kept");
    // The next save is not older than what the keystore expects.
    assert!(
        TrustStore::from_bytes(&client.save_trust())
            .unwrap()
            .generation()
            >= alice.trust().generation()
    );
    let (client, restored) = restart(None);
    assert!(
        matches!(restored, TrustRestored::Missing { .. }),
        "{restored:?}"
    );
    assert!(client.trust().get("bob").is_none());
    // A keystore the account was not opened from is refused, unchanged.
    let (_, mut other, _) = Account::create_protected("alice", 1, "pw", CHEAP).unwrap();
    let before = other.to_bytes();
    assert!(matches!(
        alice.account().reseal_keystore(&mut other),
        Err(Error::DecryptionFailed)
    ));
    assert_eq!(other.to_bytes(), before);
}

/// A key change that is not accepted: nothing its card signs is shown as the
/// member's. An admin swaps Bob for an impostor; the impostor's file is
/// judged as signed by a changed card, Bob's earlier one as an earlier key;
/// once the real Bob is back, the impostor's file is no longer his.
#[test]
fn what_an_unconfirmed_card_signs_is_not_believed_as_the_members() {
    use sealshare::SignerTrust;
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    let mut dave = user("dave", &server, &clock);
    let mut impostor = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob, &mut dave]);
    dave.trust_mut()
        .confirm_changed_key(impostor.account().identity(), 1);
    impostor.observe(alice.account().identity()).unwrap();
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    coll.share_many(
        &mut alice,
        &[
            (bob.account().identity().clone(), Role::Editor),
            (dave.account().identity().clone(), Role::Admin),
        ],
    )
    .unwrap();
    let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
    bobs.accept(&mut bob).unwrap();
    let by_bob = bobs
        .add_file(&mut bob, None, "bob.txt", "text/plain", b"real")
        .unwrap();
    let mut daves = Collection::open(&mut dave, coll.id()).unwrap();
    daves.accept(&mut dave).unwrap();
    daves.remove(&mut dave, "bob").unwrap();
    daves
        .share(&mut dave, impostor.account().identity(), Role::Editor)
        .unwrap();
    let mut fakes = Collection::open(&mut impostor, coll.id()).unwrap();
    fakes.accept(&mut impostor).unwrap();
    let by_fake = fakes
        .add_file(&mut impostor, None, "fake.txt", "text/plain", b"fake")
        .unwrap();

    coll.sync(&mut alice).unwrap();
    let judge = |c: &Collection, client: &Client, item| {
        let item = c.item(item).unwrap();
        let v = item.versions.last().unwrap();
        c.signers(client).judge(&v.author, v.seq)
    };
    assert!(matches!(
        judge(&coll, &alice, by_fake),
        SignerTrust::Current(CardTrust::Changed { .. })
    ));
    assert_eq!(judge(&coll, &alice, by_bob), SignerTrust::Earlier);
    // Alice removes the impostor and shares with the real Bob again.
    coll.remove(&mut alice, "bob").unwrap();
    coll.share(&mut alice, bob.account().identity(), Role::Editor)
        .unwrap();
    bobs.sync(&mut bob).unwrap();
    bobs.accept(&mut bob).unwrap();
    let again = bobs
        .add_file(&mut bob, None, "again.txt", "text/plain", b"real")
        .unwrap();
    coll.sync(&mut alice).unwrap();
    assert_eq!(judge(&coll, &alice, by_fake), SignerTrust::Earlier);
    assert_eq!(
        judge(&coll, &alice, again),
        SignerTrust::Current(CardTrust::Pinned)
    );
    // Alice's own first operation, the creation, is hers.
    assert_eq!(
        coll.signers(&alice).judge("alice", 0),
        SignerTrust::Current(CardTrust::Pinned)
    );
}

/// Sharing, approving and completing an invitation pin the card they name,
/// but only once the operation is in the log: a share the rules refuse (a
/// viewer sharing) leaves the trust store as it was.
#[test]
fn a_refused_share_pins_nothing() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut carol = user("carol", &server, &clock);
    let dan = user("dan", &server, &clock);
    introduce(&mut [&mut alice, &mut carol]);
    let mut coll = Collection::create(&mut alice, "Notes", "").unwrap();
    coll.share(&mut alice, carol.account().identity(), Role::Viewer)
        .unwrap();
    let mut carols = Collection::open(&mut carol, coll.id()).unwrap();
    carols.accept(&mut carol).unwrap();
    let before = carol.trust().to_bytes();
    let err = carols
        .share(&mut carol, dan.account().identity(), Role::Viewer)
        .unwrap_err();
    assert!(matches!(err, Error::NotAllowedByRole(_)), "{err:?}");
    assert_eq!(carol.trust().to_bytes(), before, "byte for byte");
    // The owner's share goes through, and pins Dan's card.
    coll.share(&mut alice, dan.account().identity(), Role::Viewer)
        .unwrap();
    assert_eq!(
        alice.trust().get("dan").unwrap().card,
        *dan.account().identity()
    );
}

#[test]
fn a_saved_state_resumes_its_collections_and_opens_only_for_its_account_and_when_current() {
    let server = TestServer::new();
    let clock = TestClock::at(10_000);
    let mut alice = user("alice", &server, &clock);
    let mut bob = user("bob", &server, &clock);
    introduce(&mut [&mut alice, &mut bob]);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let memo = notes
        .add_file(&mut alice, None, "memo", "text/plain", b"hello")
        .unwrap();
    alice
        .trust_mut()
        .mark_verified("bob", &bob.account().identity().fingerprint(), 10_000)
        .unwrap();
    let sealed = alice.save_state([&notes]).unwrap();

    // The same account on a fresh client resumes: trust with its marks, and
    // the collection as its checkpoint left it, readable without a sync.
    let copy = alice.account().duplicate().unwrap();
    let mut resumed = Client::with_clock(copy, server.clone(), Box::new(|| 10_000));
    let (restored, collections) = resumed.restore_state(Some(&sealed)).unwrap();
    assert_eq!(restored, sealshare::TrustRestored::Current);
    assert!(resumed.trust().get("bob").unwrap().verified_at.is_some());
    assert_eq!(collections.len(), 1);
    assert_eq!(collections[0].read(&resumed, memo).unwrap(), b"hello");

    // A state older than the last one saved is not believed: its marks are
    // dropped, and it gives back no checkpoint, which would be older too.
    alice
        .trust_mut()
        .mark_verified("bob", &bob.account().identity().fingerprint(), 10_001)
        .unwrap();
    let newer = alice.save_state([&notes]).unwrap();
    let copy = alice.account().duplicate().unwrap();
    let mut resumed = Client::with_clock(copy, server.clone(), Box::new(|| 10_000));
    let (restored, collections) = resumed.restore_state(Some(&sealed)).unwrap();
    assert!(
        matches!(restored, sealshare::TrustRestored::RolledBack { .. }),
        "{restored:?}"
    );
    assert!(collections.is_empty());
    let (restored, collections) = resumed.restore_state(Some(&newer)).unwrap();
    assert_eq!(restored, sealshare::TrustRestored::Current);
    assert_eq!(collections.len(), 1);

    // Another account cannot open it, and its trust store stays as it was.
    let mut other = user("carol", &server, &clock);
    let before = other.save_trust();
    assert!(matches!(
        other.restore_state(Some(&sealed)),
        Err(Error::DecryptionFailed)
    ));
    assert_eq!(other.save_trust(), before);
}
