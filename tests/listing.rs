#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! What a server lists for a handle (`Remote::collections_of`), and what the
//! client makes of it (`CollectionList`): exactly the collections where the
//! handle appears, each verified once, sorted into mine, shared and pending,
//! and every one that does not verify or does not show the account reported
//! as failed with its id, never dropped.

#[path = "support/mod.rs"]
mod support;

#[path = "support/listing.rs"]
mod scenario;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sealshare::{
    Appended, Collection, CollectionId, CollectionList, Error, LogState, MemoryRemote, PendingKind,
    Remote, Result, Role,
};
use support::TestServer;

fn ids<'a, T: 'a>(
    entries: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&T) -> CollectionId,
) -> BTreeSet<CollectionId> {
    entries.into_iter().map(id).collect()
}

#[test]
fn the_memory_remote_lists_exactly_where_a_handle_appears() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let (s, _) = scenario::play(&remote);
    assert_eq!(scenario::listed(&*remote, "alice"), s.alices());
    assert!(s.alices().is_disjoint(&s.not_alices()));
    assert_eq!(scenario::listed(&*remote, "bob"), s.bobs());
    assert_eq!(
        scenario::listed(&*remote, "carol"),
        BTreeSet::from([s.pending])
    );
    assert_eq!(
        scenario::listed(&*remote, "dave"),
        BTreeSet::from([s.invited, s.completed, s.cancelled])
    );
    assert_eq!(
        scenario::listed(&*remote, "erin"),
        BTreeSet::from([s.awaiting])
    );
    assert!(scenario::listed(&*remote, "nobody").is_empty());
}

#[test]
fn the_test_server_lists_exactly_where_a_handle_appears() {
    let remote: Arc<dyn Remote> = TestServer::verifying();
    let (s, _) = scenario::play(&remote);
    assert_eq!(scenario::listed(&*remote, "alice"), s.alices());
    assert_eq!(scenario::listed(&*remote, "bob"), s.bobs());
}

/// The changes `LogState::verify_append_listing` reports, applied to an
/// index, give after every operation of every log exactly the handles that
/// appear in the state replayed so far.
#[test]
fn each_appends_listing_change_keeps_an_exact_index() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let (s, _) = scenario::play(&remote);
    let now = sealshare::system_time();
    for id in s.alices().union(&s.not_alices()) {
        let mut state = LogState::empty(*id);
        let mut index = BTreeSet::new();
        for (seq, op) in remote.fetch(id, 0).unwrap().iter().enumerate() {
            let change = state.verify_append_listing(op, now).unwrap();
            for h in &change.added {
                assert!(index.insert(h.clone()), "#{seq}: {h} added twice");
            }
            for h in &change.dropped {
                assert!(index.remove(h), "#{seq}: {h} dropped but not listed");
            }
            let appearing: BTreeSet<String> = state.appearing().map(str::to_owned).collect();
            assert_eq!(index, appearing, "collection {id}, after #{seq}");
        }
    }
}

/// `LogState::verify_appends_listing` over a whole log gives the verdict
/// appending each operation alone would: every log of the scenario accepted
/// now, with a change naming exactly who appears; and by a clock past every
/// link's expiry, the join through a link refused at the same operation with
/// the same prefix kept.
#[test]
fn appends_verified_together_agree_with_one_at_a_time() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let (s, _) = scenario::play(&remote);
    let mut refused = 0;
    for now in [sealshare::system_time(), u64::MAX / 2] {
        for id in s.alices().union(&s.not_alices()) {
            let log = remote.fetch(id, 0).unwrap();
            let mut alone = LogState::empty(*id);
            let alone_err = log
                .iter()
                .find_map(|op| alone.verify_append_listing(op, now).err());
            let mut together = LogState::empty(*id);
            let mut change = sealshare::ListingChange::default();
            let err = together
                .verify_appends_listing(&log, now, &mut change)
                .err();
            assert_eq!(
                err.as_ref().map(ToString::to_string),
                alone_err.as_ref().map(ToString::to_string),
                "collection {id} at {now}"
            );
            assert_eq!(together.len(), alone.len());
            let appearing: BTreeSet<String> = together.appearing().map(str::to_owned).collect();
            let added: BTreeSet<String> = change.added.iter().cloned().collect();
            assert_eq!(added, appearing, "collection {id} at {now}");
            assert_eq!(added.len(), change.added.len(), "each handle once");
            assert!(change.dropped.is_empty());
            refused += usize::from(matches!(
                err,
                Some(sealshare::VerifyError::InvalidOperation {
                    violation: sealshare::Violation::LinkExpired { .. },
                    ..
                })
            ));
        }
    }
    assert!(
        refused > 0,
        "the scenario's link join is refused past expiry"
    );
}

#[test]
fn the_listing_separates_mine_shared_and_pending() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let (s, mut p) = scenario::play(&remote);
    let list = CollectionList::fetch(&mut p.alice).unwrap();
    assert!(list.failed.is_empty(), "{:?}", list.failed);

    let mine: BTreeMap<CollectionId, (&str, &str, Role)> = list
        .mine
        .iter()
        .map(|l| {
            (
                l.collection.id(),
                (l.name.as_str(), l.owner.as_str(), l.role),
            )
        })
        .collect();
    assert_eq!(
        mine,
        BTreeMap::from([
            (s.owned, ("Owned", "alice", Role::Owner)),
            (
                s.transferred_to,
                ("Transferred to alice", "alice", Role::Owner)
            ),
        ])
    );

    let shared: BTreeMap<CollectionId, (&str, &str, Role, &str)> = list
        .shared
        .iter()
        .map(|l| {
            (
                l.collection.id(),
                (
                    l.name.as_str(),
                    l.owner.as_str(),
                    l.role,
                    l.added_by.as_str(),
                ),
            )
        })
        .collect();
    assert_eq!(
        shared,
        BTreeMap::from([
            (s.member, ("Member", "bob", Role::Viewer, "bob")),
            (
                s.transferred_from,
                ("Transferred from alice", "bob", Role::Admin, "alice")
            ),
        ])
    );
    for l in list.mine.iter().chain(&list.shared) {
        assert!(l.accepted_at >= l.added_at);
    }

    let pending: BTreeMap<CollectionId, (PendingKind, Option<&str>, &str, Role, &str)> = list
        .pending
        .iter()
        .map(|p| {
            (
                p.collection.id(),
                (
                    p.kind,
                    p.name.as_deref(),
                    p.owner.as_str(),
                    p.role,
                    p.by.as_str(),
                ),
            )
        })
        .collect();
    assert_eq!(
        pending,
        BTreeMap::from([
            (
                s.pending,
                (
                    PendingKind::Share,
                    Some("Pending"),
                    "carol",
                    Role::Editor,
                    "carol"
                )
            ),
            (
                s.invited,
                (PendingKind::Invitation, None, "dave", Role::Viewer, "dave")
            ),
            (
                s.completed,
                (
                    PendingKind::Share,
                    Some("Completed"),
                    "dave",
                    Role::Collaborator,
                    "dave"
                )
            ),
            (
                s.awaiting,
                (PendingKind::Approval, None, "erin", Role::Viewer, "erin")
            ),
        ])
    );

    // A pending share is accepted from the list, and moves to `shared`.
    let mut list = list;
    let at = list
        .pending
        .iter()
        .position(|p| p.collection.id() == s.pending)
        .unwrap();
    list.pending[at].collection.accept(&mut p.alice).unwrap();
    let again = list.refresh(&mut p.alice).unwrap();
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert!(again.shared.iter().any(|l| l.collection.id() == s.pending));
    assert!(!again.pending.iter().any(|p| p.collection.id() == s.pending));
}

/// A server that, once armed, lies: it lists `extra` besides the honest
/// answer, flips a byte of one operation of `flip`, and cuts the last byte
/// off the last operation of `truncate`.
#[derive(Default)]
struct Lying {
    inner: Arc<MemoryRemote>,
    armed: AtomicBool,
    extra: Mutex<Vec<CollectionId>>,
    flip: Mutex<Option<(CollectionId, usize)>>,
    truncate: Mutex<Option<CollectionId>>,
}

impl Remote for Lying {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        self.inner.append(collection, seq, op)
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        let mut log = self.inner.fetch(collection, 0)?;
        if !self.armed.load(Ordering::SeqCst) {
            return Ok(log.into_iter().skip(from as usize).collect());
        }
        if let Some((id, at)) = *self.flip.lock().unwrap()
            && id == *collection
        {
            let op = &mut log[at];
            let middle = op.len() / 2;
            op[middle] ^= 1;
        }
        if *self.truncate.lock().unwrap() == Some(*collection) {
            log.last_mut().unwrap().pop();
        }
        Ok(log.into_iter().skip(from as usize).collect())
    }

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        self.inner.put_blob(collection, id, blob)
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.inner.get_blob(collection, id)
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let mut out = self.inner.collections_of(handle)?;
        if self.armed.load(Ordering::SeqCst) {
            out.extend(self.extra.lock().unwrap().iter());
        }
        Ok(out)
    }
}

#[test]
fn a_lying_servers_extra_and_corrupted_collections_are_failed_not_dropped() {
    let lying = Arc::new(Lying::default());
    let remote: Arc<dyn Remote> = lying.clone();
    let mut p = scenario::people(&remote);
    let alice_card = p.alice.account().identity().clone();
    let mine = Collection::create(&mut p.alice, "Mine", "").unwrap().id();
    let shared = |p: &mut scenario::People, name: &str| {
        let mut c = Collection::create(&mut p.bob, name, "").unwrap();
        c.share(&mut p.bob, &alice_card, Role::Viewer).unwrap();
        let id = c.id();
        Collection::open(&mut p.alice, id)
            .unwrap()
            .accept(&mut p.alice)
            .unwrap();
        id
    };
    let good = shared(&mut p, "Good");
    let flipped = shared(&mut p, "Flipped");
    let truncated = shared(&mut p, "Truncated");
    let not_hers = Collection::create(&mut p.bob, "Bob's", "").unwrap().id();

    *lying.extra.lock().unwrap() = vec![not_hers];
    *lying.flip.lock().unwrap() = Some((flipped, 1));
    *lying.truncate.lock().unwrap() = Some(truncated);
    lying.armed.store(true, Ordering::SeqCst);
    let list = CollectionList::fetch(&mut p.alice).unwrap();

    assert_eq!(
        ids(&list.mine, |l| l.collection.id()),
        BTreeSet::from([mine])
    );
    assert_eq!(
        ids(&list.shared, |l| l.collection.id()),
        BTreeSet::from([good])
    );
    assert!(list.pending.is_empty());
    let failed: BTreeMap<CollectionId, &Error> = list.failed.iter().map(|(i, e)| (*i, e)).collect();
    assert_eq!(
        failed.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([not_hers, flipped, truncated]),
        "{failed:?}"
    );
    assert!(
        matches!(
            failed[&not_hers],
            Error::WrongListing { collection, handle } if *collection == not_hers && handle == "alice"
        ),
        "{:?}",
        failed[&not_hers]
    );
    assert_eq!(failed[&not_hers].code(), "wrong_listing");
    for id in [flipped, truncated] {
        assert!(
            matches!(failed[&id], Error::InvalidOperation { seq, .. } if *seq >= 1),
            "{id}: {:?}",
            failed[&id]
        );
    }
}

/// How many operations of each listed collection are verified.
fn verified_lengths(list: &CollectionList) -> BTreeMap<CollectionId, u64> {
    list.mine
        .iter()
        .chain(&list.shared)
        .map(|l| (l.collection.id(), l.collection.state().len()))
        .chain(
            list.pending
                .iter()
                .map(|p| (p.collection.id(), p.collection.state().len())),
        )
        .collect()
}

/// Counts what the client fetches, and can hide collections from the list.
struct Counting {
    inner: Arc<dyn Remote>,
    fetches: Mutex<Vec<(CollectionId, u64)>>,
    hidden: Mutex<BTreeSet<CollectionId>>,
}

impl Counting {
    fn new(inner: Arc<dyn Remote>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            fetches: Mutex::default(),
            hidden: Mutex::default(),
        })
    }

    fn take(&self) -> Vec<(CollectionId, u64)> {
        std::mem::take(&mut *self.fetches.lock().unwrap())
    }
}

impl Remote for Counting {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        self.inner.append(collection, seq, op)
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        self.fetches.lock().unwrap().push((*collection, from));
        self.inner.fetch(collection, from)
    }

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        self.inner.put_blob(collection, id, blob)
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.inner.get_blob(collection, id)
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let hidden = self.hidden.lock().unwrap();
        Ok(self
            .inner
            .collections_of(handle)?
            .into_iter()
            .filter(|id| !hidden.contains(id))
            .collect())
    }
}

#[test]
fn the_listing_fetches_only_listed_collections_and_each_log_once() {
    let counting = Counting::new(Arc::new(MemoryRemote::new()));
    let remote: Arc<dyn Remote> = counting.clone();
    let (s, mut p) = scenario::play(&remote);
    counting.take();

    let list = CollectionList::fetch(&mut p.alice).unwrap();
    assert!(list.failed.is_empty(), "{:?}", list.failed);
    let fetched = counting.take();
    let mut expected: Vec<(CollectionId, u64)> = s.alices().into_iter().map(|id| (id, 0)).collect();
    let mut seen = fetched.clone();
    seen.sort();
    expected.sort();
    assert_eq!(
        seen, expected,
        "one whole-log fetch of each listed collection, none of the others"
    );
    for id in s.not_alices() {
        assert!(!fetched.iter().any(|(i, _)| *i == id));
    }

    // Listing again from this list fetches each log from its verified head
    // only (the last verified operation, to check the chain).
    let lens = verified_lengths(&list);
    let again = list.refresh(&mut p.alice).unwrap();
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    let mut seen = counting.take();
    seen.sort();
    let expected: Vec<(CollectionId, u64)> = lens.iter().map(|(id, n)| (*id, n - 1)).collect();
    assert_eq!(seen, expected, "incremental: from each verified head");
}

#[test]
fn a_known_collection_is_synced_even_if_the_server_hides_it() {
    let counting = Counting::new(Arc::new(MemoryRemote::new()));
    let remote: Arc<dyn Remote> = counting.clone();
    let (s, mut p) = scenario::play(&remote);
    let list = CollectionList::fetch(&mut p.alice).unwrap();
    let before = list.mine.len() + list.shared.len() + list.pending.len();
    let lens = verified_lengths(&list);

    // The server stops listing a collection alice is in, and bob removes her
    // from another one.
    counting.hidden.lock().unwrap().insert(s.member);
    let mut bobs = Collection::open(&mut p.bob, s.transferred_from).unwrap();
    bobs.remove(&mut p.bob, "alice").unwrap();
    counting.take();
    let again = list.refresh(&mut p.alice).unwrap();
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    let shared = ids(&again.shared, |l| l.collection.id());
    assert!(
        shared.contains(&s.member),
        "hidden, still listed: {shared:?}"
    );
    assert!(!shared.contains(&s.transferred_from), "removed: left out");
    assert_eq!(
        again.mine.len() + again.shared.len() + again.pending.len(),
        before - 1
    );
    // Nothing was opened from scratch: each fetch starts at the verified head.
    let fetched = counting.take();
    assert_eq!(fetched.len(), lens.len());
    for (id, from) in fetched {
        assert_eq!(from, lens[&id] - 1, "{id}");
    }
}
