//! Unit tests of the store: paging, refused appends, the data folder's lock.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use sealshare::{Account, Client, Collection, MemoryRemote, Remote, system_time};

use super::*;

/// A log of a few operations, made on the in-memory reference server.
fn a_log() -> (CollectionId, Vec<Vec<u8>>) {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let mut alice = Client::new(Account::create("alice", system_time()).unwrap(), remote);
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    for i in 0..4 {
        notes.rename(&mut alice, &format!("Notes {i}"), "").unwrap();
    }
    let id = notes.id();
    (id, memory.fetch(&id, 0).unwrap())
}

#[test]
fn a_fetch_is_paged_by_count_and_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (id, log) = a_log();
    for (seq, op) in log.iter().enumerate() {
        let answer = store.append(&id, seq as u64, op, system_time()).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (id, log) = a_log();
    let now = system_time();
    store.append(&id, 0, &log[0], now).unwrap();
    store.append(&id, 1, &log[1], now).unwrap();
    // Refused at position 2: another position's operation, garbage.
    for bad in [&log[3][..], &log[1][..], b"garbage"] {
        assert!(matches!(
            store.append(&id, 2, bad, now),
            Err(StoreError::Refused(_))
        ));
    }
    assert_eq!(
        store.append(&id, 5, &log[2], now).unwrap(),
        Appended::Conflict { head: 2 }
    );
    // The cached state is the stored log's: the next operations verify.
    for (seq, op) in log.iter().enumerate().skip(2) {
        assert_eq!(
            store.append(&id, seq as u64, op, now).unwrap(),
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
