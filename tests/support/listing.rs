//! One scenario with every way a handle comes to appear in a collection and
//! every way it stops appearing, played through the public API on any server.
//! Shared by `tests/listing.rs` (the in-memory servers) and the command
//! line's store tests (`cli/src/store.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use sealshare::{Account, Client, Collection, CollectionId, InviteTerms, LinkUrl, Remote, Role};

/// The collections of the scenario, named by how "alice" stands in each.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Alice created it.
    pub owned: CollectionId,
    /// Bob owned it and transferred it to alice.
    pub transferred_to: CollectionId,
    /// Bob shared it with alice, who accepted.
    pub member: CollectionId,
    /// Alice created it and transferred it to bob: she is an admin.
    pub transferred_from: CollectionId,
    /// Carol shared it with alice, who has not accepted.
    pub pending: CollectionId,
    /// Dave invited "alice" by handle; the invitation is open.
    pub invited: CollectionId,
    /// Dave invited "alice" by handle and completed the invitation with her
    /// card: pending, as after a share.
    pub completed: CollectionId,
    /// Erin's invite link needs approval; alice joined and waits.
    pub awaiting: CollectionId,
    /// Bob shared it with alice, she accepted, and he removed her.
    pub removed: CollectionId,
    /// Bob shared it with alice, she accepted, then left.
    pub left: CollectionId,
    /// Bob shared it with alice, and she declined.
    pub declined: CollectionId,
    /// Dave invited "alice" by handle, then cancelled the invitation.
    pub cancelled: CollectionId,
    /// Bob shared it with alice, she accepted, and he unshared it.
    pub unshared: CollectionId,
    /// Bob's own, never shared with alice.
    pub foreign: CollectionId,
}

impl Scenario {
    /// Where "alice" appears: exactly what the server must list for her.
    pub(crate) fn alices(&self) -> BTreeSet<CollectionId> {
        [
            self.owned,
            self.transferred_to,
            self.member,
            self.transferred_from,
            self.pending,
            self.invited,
            self.completed,
            self.awaiting,
        ]
        .into_iter()
        .collect()
    }

    /// Where "alice" does not appear (any more).
    pub(crate) fn not_alices(&self) -> BTreeSet<CollectionId> {
        [
            self.removed,
            self.left,
            self.declined,
            self.cancelled,
            self.unshared,
            self.foreign,
        ]
        .into_iter()
        .collect()
    }

    /// Where "bob" appears (an admin of the one he transferred).
    pub(crate) fn bobs(&self) -> BTreeSet<CollectionId> {
        [
            self.transferred_to,
            self.transferred_from,
            self.member,
            self.removed,
            self.left,
            self.declined,
            self.unshared,
            self.foreign,
        ]
        .into_iter()
        .collect()
    }
}

/// The people of the scenario, each a client of the server.
pub(crate) struct People {
    /// The one whose listing the tests look at.
    pub alice: Client,
    /// Owns most collections.
    pub bob: Client,
    /// Shares one with alice.
    pub carol: Client,
    /// Invites alice by handle.
    pub dave: Client,
    /// Has an invite link that needs approval.
    pub erin: Client,
}

/// Everyone, on `remote`, on the system clock (the command line's store
/// verifies with it), each having pinned everyone else's card.
pub(crate) fn people(remote: &Arc<dyn Remote>) -> People {
    people_on(&|_| remote.clone())
}

/// Everyone, each on the remote `remote_for` gives for their account (a
/// server that signs requests needs one remote per account).
pub(crate) fn people_on(remote_for: &dyn Fn(&Account) -> Arc<dyn Remote>) -> People {
    let now = sealshare::system_time();
    let make = |h: &str| {
        let account = Account::create(h, now).unwrap();
        let remote = remote_for(&account);
        Client::new(account, remote)
    };
    let mut p = People {
        alice: make("alice"),
        bob: make("bob"),
        carol: make("carol"),
        dave: make("dave"),
        erin: make("erin"),
    };
    let cards: Vec<_> = [&p.alice, &p.bob, &p.carol, &p.dave, &p.erin]
        .iter()
        .map(|c| c.account().identity().clone())
        .collect();
    for c in [
        &mut p.alice,
        &mut p.bob,
        &mut p.carol,
        &mut p.dave,
        &mut p.erin,
    ] {
        for card in &cards {
            c.observe(card).unwrap();
        }
    }
    p
}

/// Plays the scenario on `remote`.
pub(crate) fn play(remote: &Arc<dyn Remote>) -> (Scenario, People) {
    play_on(&|_| remote.clone())
}

/// Plays the scenario, each person on the remote `remote_for` gives.
pub(crate) fn play_on(remote_for: &dyn Fn(&Account) -> Arc<dyn Remote>) -> (Scenario, People) {
    let mut p = people_on(remote_for);
    let alice_card = p.alice.account().identity().clone();
    let bob_card = p.bob.account().identity().clone();

    let owned = Collection::create(&mut p.alice, "Owned", "").unwrap().id();

    let mut to = Collection::create(&mut p.bob, "Transferred to alice", "").unwrap();
    to.share(&mut p.bob, &alice_card, Role::Admin).unwrap();
    Collection::open(&mut p.alice, to.id())
        .unwrap()
        .accept(&mut p.alice)
        .unwrap();
    to.sync(&mut p.bob).unwrap();
    to.transfer_ownership(&mut p.bob, "alice").unwrap();

    let shared_by_bob = |p: &mut People, name: &str, accept: bool| -> Collection {
        let mut c = Collection::create(&mut p.bob, name, "").unwrap();
        c.share(&mut p.bob, &alice_card, Role::Viewer).unwrap();
        if accept {
            Collection::open(&mut p.alice, c.id())
                .unwrap()
                .accept(&mut p.alice)
                .unwrap();
            c.sync(&mut p.bob).unwrap();
        }
        c
    };
    let member = shared_by_bob(&mut p, "Member", true).id();

    let mut from = Collection::create(&mut p.alice, "Transferred from alice", "").unwrap();
    from.share(&mut p.alice, &bob_card, Role::Admin).unwrap();
    Collection::open(&mut p.bob, from.id())
        .unwrap()
        .accept(&mut p.bob)
        .unwrap();
    from.sync(&mut p.alice).unwrap();
    from.transfer_ownership(&mut p.alice, "bob").unwrap();

    let mut pending = Collection::create(&mut p.carol, "Pending", "").unwrap();
    pending
        .share(&mut p.carol, &alice_card, Role::Editor)
        .unwrap();

    let mut invited = Collection::create(&mut p.dave, "Invited", "").unwrap();
    invited.invite(&mut p.dave, "alice", Role::Viewer).unwrap();

    let mut completed = Collection::create(&mut p.dave, "Completed", "").unwrap();
    completed
        .invite(&mut p.dave, "alice", Role::Collaborator)
        .unwrap();
    completed
        .complete_invitation(&mut p.dave, &alice_card)
        .unwrap();

    let mut awaiting = Collection::create(&mut p.erin, "Awaiting", "").unwrap();
    let link = awaiting
        .create_invite_link(
            &mut p.erin,
            "https://app.example/join",
            InviteTerms {
                role: Role::Viewer,
                approval: true,
                ..Default::default()
            },
        )
        .unwrap();
    Collection::join(&mut p.alice, &LinkUrl::parse(&link.to_url()).unwrap()).unwrap();

    let mut removed = shared_by_bob(&mut p, "Removed", true);
    removed.remove(&mut p.bob, "alice").unwrap();

    let left = shared_by_bob(&mut p, "Left", true).id();
    Collection::open(&mut p.alice, left)
        .unwrap()
        .leave(&mut p.alice)
        .unwrap();

    let declined = shared_by_bob(&mut p, "Declined", false).id();
    Collection::open(&mut p.alice, declined)
        .unwrap()
        .decline(&mut p.alice)
        .unwrap();

    let mut cancelled = Collection::create(&mut p.dave, "Cancelled", "").unwrap();
    cancelled
        .invite(&mut p.dave, "alice", Role::Viewer)
        .unwrap();
    cancelled.cancel_invitation(&mut p.dave, "alice").unwrap();

    let mut unshared = shared_by_bob(&mut p, "Unshared", true);
    unshared.unshare(&mut p.bob).unwrap();

    let foreign = Collection::create(&mut p.bob, "Foreign", "").unwrap().id();

    let scenario = Scenario {
        owned,
        transferred_to: to.id(),
        member,
        transferred_from: from.id(),
        pending: pending.id(),
        invited: invited.id(),
        completed: completed.id(),
        awaiting: awaiting.id(),
        removed: removed.id(),
        left,
        declined,
        cancelled: cancelled.id(),
        unshared: unshared.id(),
        foreign,
    };
    (scenario, p)
}

/// What `remote` lists for `handle`, as a set (order carries no meaning).
pub(crate) fn listed(remote: &dyn Remote, handle: &str) -> BTreeSet<CollectionId> {
    remote.collections_of(handle).unwrap().into_iter().collect()
}
