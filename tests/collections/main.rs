#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Collections through the Rust API: one test per user action, each on a
//! server that verifies every append, each asserting what a user relies on:
//! who may do it, what the others then see, and that a refused action sends
//! nothing.

#[path = "../support/mod.rs"]
mod support;

mod items;
mod leaving;
mod mistakes;
mod sharing;
mod writers;

use std::sync::Arc;

use sealshare::internal::log::{Action, Body, EventKind};
use sealshare::{
    Client, Collection, CollectionId, CollectionList, Error, InviteTerms, ItemId, ItemKind,
    ItemMetadata, LogState, PendingKind, Remote, Role, Violation,
};
use support::{TestClock, TestServer, assert_lists_nothing, introduce, refused, user};

/// An owner and members who accepted, each with their own view of the
/// collection, on a server that verifies every append.
struct Team {
    server: Arc<TestServer>,
    clock: TestClock,
    owner: Client,
    coll: Collection,
    people: Vec<(Client, Collection)>,
}

impl Team {
    /// The owner creates "Team" at 1_000_000 and shares it with each handle at
    /// its role a second later; each accepts a second after the previous one.
    /// The clock ends 100 s after the last accept.
    fn new(roles: &[(&str, Role)]) -> Self {
        let server = TestServer::verifying();
        let clock = TestClock::at(1_000_000);
        let mut owner = user("owner", &server, &clock);
        let mut clients: Vec<Client> = roles
            .iter()
            .map(|(h, _)| user(h, &server, &clock))
            .collect();
        {
            let mut all: Vec<&mut Client> = clients.iter_mut().collect();
            all.push(&mut owner);
            introduce(&mut all);
        }
        let mut coll = Collection::create(&mut owner, "Team", "").unwrap();
        clock.advance(1);
        if !roles.is_empty() {
            let grants: Vec<_> = clients
                .iter()
                .zip(roles)
                .map(|(c, (_, r))| (c.account().identity().clone(), *r))
                .collect();
            coll.share_many(&mut owner, &grants).unwrap();
        }
        let people = clients
            .into_iter()
            .map(|mut c| {
                clock.advance(1);
                let mut view = Collection::open(&mut c, coll.id()).unwrap();
                view.accept(&mut c).unwrap();
                (c, view)
            })
            .collect();
        coll.sync(&mut owner).unwrap();
        clock.advance(100);
        Self {
            server,
            clock,
            owner,
            coll,
            people,
        }
    }
}

/// How many operations the server stores for `id`.
fn ops(server: &TestServer, id: CollectionId) -> usize {
    server.log(&id).len()
}

/// `RoleTooLow` for `author` at `role` trying `action`.
fn too_low(author: &str, role: Role, action: Action) -> Violation {
    Violation::RoleTooLow {
        author: author.to_owned(),
        role,
        action,
    }
}

/// The names of `items`, in the order given.
fn names(items: &[sealshare::Item]) -> Vec<&str> {
    items.iter().map(|i| i.metadata.name.as_str()).collect()
}
