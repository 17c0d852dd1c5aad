//! Unit tests of account resets ([`Store::reset_account`]): what a reset
//! replaces, records and deletes; what a refused reset leaves; a database
//! made before resets, migrated at open. They run on SQLite, or on
//! PostgreSQL with `SEALSHARE_TEST_STORE=postgres`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sealshare::Account;

use super::signin::Registration;
use super::tests::Place;
use super::{Put, Store, StoreError};

/// A card for `handle` (a new key each call), and its key.
fn card(handle: &str) -> (Vec<u8>, [u8; 32]) {
    let account = Account::create(handle, 1).unwrap();
    (
        account.identity().to_bytes(),
        account.identity().signing_key().to_bytes(),
    )
}

/// Registers `handle` for sign-in with both kinds, and a pending login.
fn register(store: &Store, handle: &str) {
    for kind in ["password", "recovery"] {
        let (record, locker) = (
            format!("{handle} {kind} record"),
            format!("{handle} locker"),
        );
        store
            .put_signin(handle, kind, record.as_bytes(), locker.as_bytes())
            .unwrap();
    }
    let id = [handle.len() as u8; 16];
    store
        .put_pending_login(&id, handle, "password", b"state", 10)
        .unwrap();
}

fn registered(store: &Store, handle: &str) -> Vec<Registration> {
    ["password", "recovery"]
        .iter()
        .filter_map(|kind| store.signin(handle, kind).unwrap())
        .collect()
}

#[test]
fn a_reset_replaces_the_card_records_it_and_deletes_sign_in_and_lockers() {
    let place = Place::new();
    let store = place.open();
    let (old, old_key) = card("alice");
    let (bobs, bob_key) = card("bob");
    store.put_card("alice", &old, &old_key, 5).unwrap();
    store.put_card("bob", &bobs, &bob_key, 5).unwrap();
    register(&store, "alice");
    register(&store, "bob");

    let (new, new_key) = card("alice");
    let reset = store.reset_account("alice", &new, 50).unwrap();
    assert_eq!(reset.previous.as_deref(), Some(&old[..]));
    assert_eq!(reset.signins_deleted, 2);

    assert_eq!(store.card("alice").unwrap(), Some(new.clone()));
    assert_eq!(store.card_key("alice").unwrap(), Some(new_key));
    assert_eq!(store.card_changes("alice").unwrap(), 1);
    assert_eq!(store.last_card_reset("alice").unwrap(), Some(50));
    // Her sign-in records and lockers are gone, and the login begun with
    // them no longer finishes; bob's are untouched.
    assert!(registered(&store, "alice").is_empty());
    assert_eq!(
        store
            .take_pending_login(&[5; 16], "alice", "password", 20)
            .unwrap(),
        None
    );
    assert_eq!(registered(&store, "bob").len(), 2);
    assert_eq!(store.card("bob").unwrap(), Some(bobs));
    assert_eq!(store.last_card_reset("bob").unwrap(), None);

    // The old key no longer replaces the card; the new one does, and that
    // is recorded as a change by key, not as a reset.
    let (other, _) = card("alice");
    assert!(matches!(
        store.put_card("alice", &other, &old_key, 60),
        Err(StoreError::CardExists(_))
    ));
    assert_eq!(store.card("alice").unwrap(), Some(new.clone()));
    assert_eq!(
        store.put_card("alice", &new, &new_key, 60).unwrap(),
        Put::Existing
    );
    assert_eq!(
        store.put_card("alice", &other, &new_key, 70).unwrap(),
        Put::Created
    );
    assert_eq!(store.card_changes("alice").unwrap(), 2);
    assert_eq!(store.last_card_reset("alice").unwrap(), Some(50));

    // Kept across a restart.
    drop(store);
    let store = place.open();
    assert_eq!(store.last_card_reset("alice").unwrap(), Some(50));
    assert_eq!(store.card("alice").unwrap(), Some(other));
}

#[test]
fn a_reset_of_a_handle_without_a_card_publishes_it() {
    let place = Place::new();
    let store = place.open();
    let (new, new_key) = card("carol");
    let reset = store.reset_account("carol", &new, 40).unwrap();
    assert_eq!(reset.previous, None);
    assert_eq!(reset.signins_deleted, 0);
    assert_eq!(store.card_key("carol").unwrap(), Some(new_key));
    assert_eq!(store.last_card_reset("carol").unwrap(), Some(40));
    assert_eq!(
        store.put_card("carol", &new, &new_key, 41).unwrap(),
        Put::Existing
    );
}

#[test]
fn a_refused_reset_changes_nothing() {
    let place = Place::new();
    let store = place.open();
    let (old, old_key) = card("alice");
    store.put_card("alice", &old, &old_key, 5).unwrap();
    register(&store, "alice");
    let (bobs, _) = card("bob");
    let mut forged = card("alice").0;
    let last = forged.len() - 1;
    forged[last] ^= 1;
    for (bytes, what) in [
        (&bobs[..], "a card for another handle"),
        (&b"not a card"[..], "bytes that do not decode"),
        (&forged[..], "a card whose self-signature fails"),
        (&[][..], "nothing"),
        (&old[..], "the card already published"),
    ] {
        let refused = store.reset_account("alice", bytes, 50);
        match refused {
            Err(StoreError::CardHandle { .. } | StoreError::BadCard(_))
                if what != "the card already published" => {}
            Err(StoreError::SameCard(_)) if what == "the card already published" => {}
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(store.card("alice").unwrap(), Some(old.clone()), "{what}");
        assert_eq!(store.card_changes("alice").unwrap(), 0, "{what}");
        assert_eq!(store.last_card_reset("alice").unwrap(), None, "{what}");
        assert_eq!(registered(&store, "alice").len(), 2, "{what}");
    }
    // Bob's card was not published under either handle.
    assert_eq!(store.card("bob").unwrap(), None);
    assert!(matches!(
        store.reset_account("al\0ice", &old, 50),
        Err(StoreError::CardHandle { .. })
    ));
}

#[test]
fn a_database_made_before_resets_gets_the_kind_of_change_at_open() {
    let place = Place::new();
    let (old, _) = card("alice");
    let (new, new_key) = card("alice");
    // The table as earlier versions made it, with one change by key.
    let before = "CREATE TABLE card_changes (
        handle TEXT NOT NULL, replaced_at BIGINT NOT NULL, old BYTEA NOT NULL, new BYTEA NOT NULL
    )";
    match &place.url {
        Some(url) => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
            client.batch_execute(before).unwrap();
            client
                .execute(
                    "INSERT INTO card_changes VALUES ('alice', 3, $1, $2)",
                    &[&old, &new],
                )
                .unwrap();
        }
        None => {
            let conn = rusqlite::Connection::open(place.dir.path().join("sealshare.db")).unwrap();
            conn.execute_batch(&before.replace("BYTEA", "BLOB"))
                .unwrap();
            conn.execute(
                "INSERT INTO card_changes VALUES ('alice', 3, ?1, ?2)",
                rusqlite::params![old, new],
            )
            .unwrap();
        }
    }
    let store = place.open();
    assert_eq!(store.card_changes("alice").unwrap(), 1);
    assert_eq!(store.last_card_reset("alice").unwrap(), None);
    store.reset_account("alice", &new, 90).unwrap();
    assert_eq!(store.card_changes("alice").unwrap(), 2);
    assert_eq!(store.last_card_reset("alice").unwrap(), Some(90));
    assert_eq!(store.card_key("alice").unwrap(), Some(new_key));
    // Opened again, the migration is not made twice.
    drop(store);
    let store = place.open();
    assert_eq!(store.last_card_reset("alice").unwrap(), Some(90));
}
