//! Unit tests of the store: paging, refused appends, the data folder's lock,
//! nonces, the access rules. They run on SQLite, or with
//! `SEALSHARE_TEST_STORE=postgres` on a new database of the PostgreSQL
//! server `SEALSHARE_TEST_POSTGRES` (`postgres://user@host:port`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use sealshare::{Account, Client, Collection, LogState, MemoryRemote, Remote, system_time};

use super::*;

/// Whether the tests run on PostgreSQL (`SEALSHARE_TEST_STORE=postgres`).
pub(super) fn on_postgres() -> bool {
    std::env::var("SEALSHARE_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// A new, empty database on the tests' PostgreSQL server: its URL. Panics
/// without `SEALSHARE_TEST_POSTGRES`: a PostgreSQL run never skips.
pub(super) fn new_database() -> String {
    let url = std::env::var("SEALSHARE_TEST_POSTGRES").expect(
        "SEALSHARE_TEST_STORE=postgres needs SEALSHARE_TEST_POSTGRES=postgres://user@host:port \
         (eval \"$(bash scripts/postgres.sh start)\")",
    );
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let server = format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest));
    let name = format!("t_{}", hex(&new_server_id().unwrap().0));
    let mut client =
        ::postgres::Client::connect(&format!("{server}/postgres"), ::postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    format!("{server}/{name}")
}

/// A store's place: a temporary data folder, and on PostgreSQL a database.
pub(super) struct Place {
    pub(super) dir: tempfile::TempDir,
    pub(super) url: Option<String>,
}

impl Place {
    /// A new place for the store the tests run on.
    pub(super) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            url: on_postgres().then(new_database),
        }
    }

    /// The store there, opened as the server opens it.
    pub(super) fn open(&self) -> Store {
        match &self.url {
            Some(url) => Store::open_postgres(self.dir.path(), url).unwrap(),
            None => Store::open(self.dir.path()).unwrap(),
        }
    }
}

/// A log of a few operations, made on the in-memory reference server, and
/// the key of their signer.
pub(super) fn a_log() -> (CollectionId, Vec<Vec<u8>>, [u8; 32]) {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let mut alice = Client::new(Account::create("alice", system_time()).unwrap(), remote);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    for i in 0..4 {
        notes.rename(&mut alice, &format!("Notes {i}"), "").unwrap();
    }
    let id = notes.id();
    let key = alice.account().identity().signing_key().to_bytes();
    (id, memory.fetch(&id, 0).unwrap(), key)
}

#[test]
fn a_fetch_is_paged_by_count_and_by_size() {
    let place = Place::new();
    let store = place.open();
    let (id, log, key) = a_log();
    for (seq, op) in log.iter().enumerate() {
        let answer = store
            .append(&id, seq as u64, op, &key, system_time())
            .unwrap();
        assert_eq!(answer, Appended::Stored);
    }
    assert_eq!(
        store.fetch(&id, 0).unwrap(),
        Page {
            operations: log.clone(),
            more: false
        }
    );
    // By count: pages of two, the last one saying there is no more.
    let page = store.fetch_bounded(&id, 0, 2, usize::MAX).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[..2], true));
    let page = store.fetch_bounded(&id, 3, 2, usize::MAX).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[3..], false));
    // By size: up to the bound, and always one.
    let page = store.fetch_bounded(&id, 0, usize::MAX, 1).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[..1], true));
    let bound = log[0].len() + log[1].len();
    let page = store.fetch_bounded(&id, 0, usize::MAX, bound).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[..2], true));
    let page = store.fetch_bounded(&id, 0, usize::MAX, bound - 1).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[..1], true));
    let page = store.fetch_bounded(&id, 4, usize::MAX, 1).unwrap();
    assert_eq!((page.operations.as_slice(), page.more), (&log[4..], false));
}

#[test]
fn a_refused_append_leaves_the_cached_state_as_it_was() {
    let place = Place::new();
    let store = place.open();
    let (id, log, key) = a_log();
    let now = system_time();
    store.append(&id, 0, &log[0], &key, now).unwrap();
    store.append(&id, 1, &log[1], &key, now).unwrap();
    // Refused at position 2: another position's operation, garbage.
    for bad in [&log[3][..], &log[1][..], b"garbage"] {
        assert!(matches!(
            store.append(&id, 2, bad, &key, now),
            Err(StoreError::Refused(_))
        ));
    }
    assert_eq!(
        store.append(&id, 5, &log[2], &key, now).unwrap(),
        Appended::Conflict { head: 2 }
    );
    // The right operation, sent by someone else than its signer.
    assert!(matches!(
        store.append(&id, 2, &log[2], &[9; 32], now),
        Err(StoreError::NotSigner)
    ));
    // The cached state is the stored log's: the next operations verify.
    for (seq, op) in log.iter().enumerate().skip(2) {
        assert_eq!(
            store.append(&id, seq as u64, op, &key, now).unwrap(),
            Appended::Stored
        );
    }
    assert_eq!(store.fetch(&id, 0).unwrap().operations, log);
    assert_eq!(store.log_len(&id).unwrap(), log.len() as u64);
}

#[test]
fn a_data_folder_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::InUse(_))));
    drop(store);
    Store::open(dir.path()).unwrap();
}

#[test]
fn blob_ids_are_64_lowercase_hex_digits() {
    let id = [0xabu8; 32];
    assert_eq!(parse_blob_id(&hex(&id)), Some(id));
    assert_eq!(parse_blob_id(&hex(&id).to_uppercase()), None);
    assert_eq!(parse_blob_id(&hex(&id[..31])), None);
    assert_eq!(parse_blob_id(&format!("{}zz", &hex(&id)[..62])), None);
    assert_eq!(parse_blob_id("é".repeat(32).as_str()), None);
}

#[test]
fn a_nonce_is_claimed_once_and_forgotten_only_after_its_expiry() {
    let place = Place::new();
    let store = place.open();
    let (key, nonce) = ([1; 32], [2; 16]);
    assert!(store.claim_nonce(&key, &nonce, 200, 100).unwrap());
    assert!(!store.claim_nonce(&key, &nonce, 200, 100).unwrap());
    // Another key's same nonce is its own.
    assert!(store.claim_nonce(&[3; 32], &nonce, 200, 100).unwrap());
    // Kept across a restart.
    drop(store);
    let store = place.open();
    assert!(!store.claim_nonce(&key, &nonce, 200, 150).unwrap());
    // A sweep after the expiry forgets it (a request that old is refused
    // for its expiry before its nonce is looked at).
    for i in 0..(nonces_sweep() + 1) {
        let mut other = [0u8; 16];
        other[..8].copy_from_slice(&i.to_be_bytes());
        store.claim_nonce(&[4; 32], &other, 1000, 300).unwrap();
    }
    assert!(store.claim_nonce(&key, &nonce, 400, 300).unwrap());
}

fn nonces_sweep() -> u64 {
    nonces::SWEEP_EVERY
}

#[test]
fn readers_are_the_keys_the_log_holds_and_writers_are_members_above_viewer() {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let now = system_time();
    let mut alice = Client::new(Account::create("alice", now).unwrap(), remote.clone());
    let bob = Client::new(Account::create("bob", now).unwrap(), remote.clone());
    alice.observe(bob.account().identity()).unwrap();
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    notes
        .share(
            &mut alice,
            bob.account().identity(),
            sealshare::Role::Viewer,
        )
        .unwrap();
    notes
        .invite(&mut alice, "carol", sealshare::Role::Editor)
        .unwrap();
    let mut state = LogState::empty(notes.id());
    state
        .extend_from_bytes(&memory.fetch(&notes.id(), 0).unwrap(), now)
        .unwrap();
    let key = |c: &Client| c.account().identity().signing_key().to_bytes();
    let account = |handle: &str, key: [u8; 32]| Who::Account {
        handle: handle.into(),
        key,
    };
    let mut no_directory = |_: &str| None;
    assert!(may_read(
        &state,
        &account("alice", key(&alice)),
        now,
        &mut no_directory
    ));
    // Bob, pending, reads; with another key (the directory's, say) not.
    assert!(may_read(
        &state,
        &account("bob", key(&bob)),
        now,
        &mut no_directory
    ));
    assert!(!may_read(
        &state,
        &account("bob", [7; 32]),
        now,
        &mut |_| Some([7; 32])
    ));
    // Alice's key under bob's handle, or bob's under alice's: no.
    assert!(!may_read(
        &state,
        &account("bob", key(&alice)),
        now,
        &mut no_directory
    ));
    assert!(!may_read(
        &state,
        &account("alice", key(&bob)),
        now,
        &mut no_directory
    ));
    // Carol, invited by handle, reads with her published card's key only.
    assert!(may_read(
        &state,
        &account("carol", [5; 32]),
        now,
        &mut |h| (h == "carol").then_some([5; 32])
    ));
    assert!(!may_read(
        &state,
        &account("carol", [6; 32]),
        now,
        &mut |h| (h == "carol").then_some([5; 32])
    ));
    assert!(!may_read(
        &state,
        &account("dave", [5; 32]),
        now,
        &mut |_| Some([5; 32])
    ));
    // An unknown link, whatever the key.
    let link = Who::Link {
        link: sealshare::LinkId([1; 16]),
        key: key(&alice),
    };
    assert!(!may_read(&state, &link, now, &mut no_directory));
    // Blobs: the owner; not bob (pending viewer), not a link, not carol.
    assert!(may_put_blob(&state, &account("alice", key(&alice))));
    assert!(!may_put_blob(&state, &account("bob", key(&bob))));
    assert!(!may_put_blob(&state, &account("carol", [5; 32])));
    assert!(!may_put_blob(&state, &link));
}
