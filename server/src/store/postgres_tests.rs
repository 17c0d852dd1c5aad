//! Unit tests of the PostgreSQL database: fixed lock keys, two stores (as
//! two processes would) on one database, publications racing for one
//! handle, broken connections, and the listener that announces one store's
//! appends to the other's waits. All but the first need
//! `SEALSHARE_TEST_STORE=postgres` (they say so and check nothing on the
//! SQLite run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use sealshare::{Account, system_time};

use super::super::tests::{Place, a_log, on_postgres};
use super::super::{Appended, Put, Store, StoreError, Wake, Watch};
use super::{Lock, bound_waits, lock_key};

/// False, with a note, on the SQLite run.
fn run(test: &str) -> bool {
    let on = on_postgres();
    if !on {
        eprintln!("{test}: runs on PostgreSQL only (SEALSHARE_TEST_STORE=postgres)");
    }
    on
}

/// A second store on `place`'s database, in a folder of its own.
fn another(place: &Place) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_postgres(dir.path(), place.url.as_deref().unwrap()).unwrap();
    (dir, store)
}

#[test]
fn lock_keys_are_fixed_and_apart_by_kind() {
    // Every process and every version of the server must agree on them.
    assert_eq!(
        lock_key(Lock::Collection, &[0; 16]),
        lock_key(Lock::Collection, &[0; 16])
    );
    assert_eq!(
        lock_key(Lock::Collection, &[0; 16]),
        8_800_485_377_438_490_185
    );
    assert_ne!(
        lock_key(Lock::Collection, b"alice"),
        lock_key(Lock::Handle, b"alice")
    );
    assert_ne!(
        lock_key(Lock::Collection, &[0; 16]),
        lock_key(Lock::Collection, &[1; 16])
    );
}

#[test]
fn two_stores_on_one_database_append_in_turn() {
    if !run("two_stores_on_one_database_append_in_turn") {
        return;
    }
    let place = Place::new();
    let first = place.open();
    let (_dir, second) = another(&place);
    assert_eq!(first.server_id(), second.server_id());
    let (id, log, key) = a_log();
    let now = system_time();
    // In turn: each store's cached state is one behind when it appends.
    for (seq, op) in log.iter().enumerate() {
        let store = if seq % 2 == 0 { &first } else { &second };
        assert_eq!(
            store.append(&id, seq as u64, op, &key, now).unwrap(),
            Appended::Stored,
            "#{seq}"
        );
    }
    for store in [&first, &second] {
        assert_eq!(store.fetch(&id, 0).unwrap().operations, log);
        assert_eq!(
            store.append(&id, 2, &log[2], &key, now).unwrap(),
            Appended::Conflict {
                head: log.len() as u64
            }
        );
        assert!(store.collections_of("alice").unwrap().contains(&id));
    }
    // A refused operation in one leaves the other's state usable.
    assert!(matches!(
        first.append(&id, log.len() as u64, b"garbage", &key, now),
        Err(StoreError::Refused(_))
    ));
}

#[test]
fn racing_first_cards_for_one_handle_publish_one() {
    if !run("racing_first_cards_for_one_handle_publish_one") {
        return;
    }
    let place = Place::new();
    let first = place.open();
    let (_dir, second) = another(&place);
    let alice = Account::create("alice", system_time()).unwrap();
    let card = alice.identity().to_bytes();
    let key = alice.identity().signing_key().to_bytes();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = if i % 2 == 0 { &first } else { &second };
                let card = &card;
                scope.spawn(move || store.put_card("alice", card, &key, 1).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answers.iter().filter(|a| **a == Put::Created).count(), 1);
    assert_eq!(second.card("alice").unwrap(), Some(card));
    assert_eq!(first.card_key("alice").unwrap(), Some(key));
    // A handle PostgreSQL cannot hold as text is no one's.
    assert_eq!(first.card("al\0ice").unwrap(), None);
    assert_eq!(first.card_changes("al\0ice").unwrap(), 0);
    assert!(first.collections_of("\0").unwrap().is_empty());
}

#[test]
fn a_broken_connection_fails_its_request_and_the_next_one_reconnects() {
    if !run("a_broken_connection_fails_its_request_and_the_next_one_reconnects") {
        return;
    }
    let place = Place::new();
    let store = place.open();
    let (id, log, key) = a_log();
    let now = system_time();
    store.append(&id, 0, &log[0], &key, now).unwrap();
    assert_eq!(store.log_len(&id).unwrap(), 1);
    // Every connection of the store is ended by the database.
    let url = place.url.as_deref().unwrap();
    let mut admin = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let ended = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert_eq!(
        ended.len(),
        3,
        "the writer's, one pooled connection and the listener's"
    );
    std::thread::sleep(Duration::from_millis(200));
    // The writer's: the next append fails, the one after connects anew.
    assert!(matches!(
        store.append(&id, 1, &log[1], &key, now),
        Err(StoreError::Database(_))
    ));
    assert_eq!(
        store.append(&id, 1, &log[1], &key, now).unwrap(),
        Appended::Stored
    );
    // The pool's: likewise.
    assert!(matches!(store.log_len(&id), Err(StoreError::Database(_))));
    assert_eq!(store.log_len(&id).unwrap(), 2);
    assert_eq!(store.fetch(&id, 0).unwrap().operations, log[..2]);
}

/// How `watch` resolves within `within`, if it does.
fn resolves(watch: &mut Watch<'_>, within: Duration) -> Option<Wake> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async { tokio::time::timeout(within, watch.changed()).await.ok() })
}

/// The listeners' connections to `url`'s database.
fn listeners(admin: &mut ::postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database()
             AND application_name = 'sealshare-server listener'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_listener_announces_the_other_stores_appends_listens_again_once_lost_and_stops_with_its_store()
{
    if !run("a_listener_announces_the_other_stores_appends") {
        return;
    }
    let place = Place::new();
    let first = place.open();
    let (_dir, second) = another(&place);
    let (id, log, key) = a_log();
    let now = system_time();
    let url = place.url.as_deref().unwrap();
    let mut admin = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    assert_eq!(
        listeners(&mut admin),
        2,
        "one for each store, from its open"
    );

    // An append through the second store is announced to the first's waits
    // with its length, and a refused one is not.
    let mut watch = first.notifier().watch(&[(id, 0)]);
    second.append(&id, 0, &log[0], &key, now).unwrap();
    assert_eq!(
        resolves(&mut watch, Duration::from_secs(5)),
        Some(Wake::Changed)
    );
    assert_eq!(watch.announced(), [1]);
    drop(watch);
    let mut watch = first.notifier().watch(&[(id, 1)]);
    assert!(second.append(&id, 1, b"garbage", &key, now).is_err());
    assert_eq!(
        second.append(&id, 0, &log[0], &key, now).unwrap(),
        Appended::Conflict { head: 1 }
    );
    assert_eq!(resolves(&mut watch, Duration::from_millis(500)), None);

    // Both listeners' connections ended by the database: each connects and
    // listens again, then has every wait read again.
    let ended = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database()
             AND application_name = 'sealshare-server listener'",
            &[],
        )
        .unwrap();
    assert_eq!(ended.len(), 2);
    assert_eq!(
        resolves(&mut watch, Duration::from_secs(10)),
        Some(Wake::Recheck)
    );
    assert_eq!(
        resolves(&mut watch, Duration::from_millis(300)),
        None,
        "once"
    );
    second.append(&id, 1, &log[1], &key, now).unwrap();
    assert_eq!(
        resolves(&mut watch, Duration::from_secs(5)),
        Some(Wake::Changed)
    );
    assert_eq!(watch.announced(), [2]);
    drop(watch);

    // Dropped, a store's listener stops and closes its connection.
    drop(first);
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners(&mut admin) > 0 {
        assert!(Instant::now() < deadline, "the listeners' connections stay");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn statements_are_bounded_in_time_unless_the_url_says_otherwise() {
    let settings = |url: &str| {
        let mut config: postgres::Config = url.parse().unwrap();
        bound_waits(&mut config);
        (
            config.get_options().map(str::to_owned),
            config.get_keepalives(),
        )
    };
    assert_eq!(
        settings("postgres://u@127.0.0.1/d"),
        (Some("-c statement_timeout=30000".to_owned()), true)
    );
    assert_eq!(
        settings("postgres://u@127.0.0.1/d?options=-c%20work_mem%3D4MB").0,
        Some("-c work_mem=4MB -c statement_timeout=30000".to_owned())
    );
    assert_eq!(
        settings("postgres://u@127.0.0.1/d?options=-c%20statement_timeout%3D5").0,
        Some("-c statement_timeout=5".to_owned())
    );
}

#[test]
fn an_append_waiting_on_a_lock_held_elsewhere_fails_at_the_statement_timeout() {
    if !run("an_append_waiting_on_a_lock_held_elsewhere_fails_at_the_statement_timeout") {
        return;
    }
    let place = Place::new();
    let url = place.url.clone().unwrap();
    let join = if url.contains('?') { '&' } else { '?' };
    let short = format!("{url}{join}options=-c%20statement_timeout%3D1000");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_postgres(dir.path(), &short).unwrap();
    let (id, log, key) = a_log();
    // Another session holds the collection's append lock and never lets go.
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key(Lock::Collection, &id.0)],
    )
    .unwrap();
    let started = Instant::now();
    let waited = store.append(&id, 0, &log[0], &key, system_time());
    assert!(waited.is_err(), "{waited:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Once the lock is free, the same append is stored: nothing was half-done.
    tx.rollback().unwrap();
    assert_eq!(
        store.append(&id, 0, &log[0], &key, system_time()).unwrap(),
        Appended::Stored
    );
}
