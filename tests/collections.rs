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
