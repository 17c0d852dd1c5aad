//! Test support: an in-memory untrusted server that tests can make misbehave,
//! and helpers to make users.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sealshare::{
    Account, Appended, Client, CollectionId, CollectionList, Error, LogState, Remote, Result,
    Violation,
};

/// How the server rewrites a log before serving it (for attacks on the reader).
pub(crate) type Tamper = Box<dyn Fn(&CollectionId, Vec<Vec<u8>>) -> Vec<Vec<u8>> + Send + Sync>;

#[derive(Default)]
struct Inner {
    logs: BTreeMap<CollectionId, Vec<Vec<u8>>>,
    blobs: HashMap<(CollectionId, [u8; 32]), Vec<u8>>,
    drop_appends: usize,
    blob_puts: usize,
    verifiers: HashMap<CollectionId, LogState>,
}

/// An in-memory storage server. Honest by default; every knob makes it lie.
#[derive(Default)]
pub(crate) struct TestServer {
    inner: Mutex<Inner>,
    tamper: Mutex<Option<Tamper>>,
    /// Run the secret-free verifier on every append and refuse bad ones.
    pub verify_appends: bool,
}

impl TestServer {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub(crate) fn verifying() -> Arc<Self> {
        Arc::new(Self {
            verify_appends: true,
            ..Self::default()
        })
    }

    /// The stored log, as raw operations.
    pub(crate) fn log(&self, id: &CollectionId) -> Vec<Vec<u8>> {
        self.inner
            .lock()
            .unwrap()
            .logs
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the stored log (the server rewrites history).
    pub(crate) fn set_log(&self, id: &CollectionId, ops: Vec<Vec<u8>>) {
        self.inner.lock().unwrap().logs.insert(*id, ops);
    }

    /// Appends raw bytes with no check at all (an injected operation).
    pub(crate) fn inject(&self, id: &CollectionId, op: Vec<u8>) {
        self.inner
            .lock()
            .unwrap()
            .logs
            .entry(*id)
            .or_default()
            .push(op);
    }

    /// Accept (answer "accepted") but silently drop the next `n` appends.
    pub(crate) fn drop_next_appends(&self, n: usize) {
        self.inner.lock().unwrap().drop_appends = n;
    }

    /// Rewrite every served log with `f` from now on.
    pub(crate) fn set_tamper(&self, f: Tamper) {
        *self.tamper.lock().unwrap() = Some(f);
    }

    /// Serve logs as stored again.
    pub(crate) fn clear_tamper(&self) {
        *self.tamper.lock().unwrap() = None;
    }

    /// Every blob id of a collection.
    pub(crate) fn blob_ids(&self, id: &CollectionId) -> Vec<[u8; 32]> {
        let inner = self.inner.lock().unwrap();
        inner
            .blobs
            .keys()
            .filter(|(c, _)| c == id)
            .map(|(_, b)| *b)
            .collect()
    }

    /// Replaces a blob's bytes.
    pub(crate) fn set_blob(&self, id: &CollectionId, blob: &[u8; 32], bytes: Vec<u8>) {
        self.inner.lock().unwrap().blobs.insert((*id, *blob), bytes);
    }

    /// A blob's bytes.
    pub(crate) fn blob(&self, id: &CollectionId, blob: &[u8; 32]) -> Vec<u8> {
        self.inner.lock().unwrap().blobs[&(*id, *blob)].clone()
    }

    /// Every byte the server holds: all logs and all blobs.
    pub(crate) fn all_bytes(&self) -> Vec<u8> {
        let inner = self.inner.lock().unwrap();
        let mut out = Vec::new();
        for log in inner.logs.values() {
            for op in log {
                out.extend_from_slice(op);
            }
        }
        for blob in inner.blobs.values() {
            out.extend_from_slice(blob);
        }
        out
    }

    /// How many blobs were uploaded so far.
    pub(crate) fn blob_puts(&self) -> usize {
        self.inner.lock().unwrap().blob_puts
    }
}

impl Remote for TestServer {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let mut inner = self.inner.lock().unwrap();
        let len = inner.logs.get(collection).map_or(0, |l| l.len()) as u64;
        if len != seq {
            return Ok(Appended::Conflict);
        }
        if self.verify_appends {
            let state = inner
                .verifiers
                .entry(*collection)
                .or_insert_with(|| LogState::empty(*collection));
            state
                .extend_from_bytes(&[op], u64::MAX)
                .map_err(|e| Error::Remote(format!("append refused: {e}")))?;
        }
        if inner.drop_appends > 0 {
            inner.drop_appends -= 1;
            return Ok(Appended::Stored);
        }
        inner.logs.entry(*collection).or_default().push(op.to_vec());
        Ok(Appended::Stored)
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        let log = self.log(collection);
        let log = match &*self.tamper.lock().unwrap() {
            Some(f) => f(collection, log),
            None => log,
        };
        Ok(log.into_iter().skip(from as usize).collect())
    }

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        let mut inner = self.inner.lock().unwrap();
        inner.blob_puts += 1;
        inner.blobs.insert((*collection, *id), blob.to_vec());
        Ok(())
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        self.inner
            .lock()
            .unwrap()
            .blobs
            .get(&(*collection, *id))
            .cloned()
            .ok_or_else(|| Error::Remote("no such blob".into()))
    }

    /// Exact, as every server's must be: the collections whose stored log,
    /// replayed by the keyless verifier up to its first refused operation,
    /// shows `handle` (`LogState::appears`). A test server scans every log on
    /// each call; a real one keeps an index (`LogState::verify_append_listing`).
    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let logs = self.inner.lock().unwrap().logs.clone();
        Ok(logs
            .into_iter()
            .filter(|(id, log)| {
                let mut state = LogState::empty(*id);
                let _ = state.extend_from_bytes(log, u64::MAX);
                state.appears(handle)
            })
            .map(|(id, _)| id)
            .collect())
    }
}

/// A settable clock shared by the test's clients.
#[derive(Clone, Default)]
pub(crate) struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub(crate) fn at(t: u64) -> Self {
        Self(Arc::new(AtomicU64::new(t)))
    }
    pub(crate) fn set(&self, t: u64) {
        self.0.store(t, Ordering::SeqCst);
    }
    pub(crate) fn advance(&self, by: u64) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
    pub(crate) fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A new user with a fresh account, on `server`, with `clock`.
pub(crate) fn user(handle: &str, server: &Arc<TestServer>, clock: &TestClock) -> Client {
    let account = Account::create(handle, clock.now()).unwrap();
    let c = clock.clone();
    Client::with_clock(account, server.clone(), Box::new(move || c.now()))
}

/// Signs `body` as `client` on the head `server` stores for `id`, at `time`,
/// and injects it: a member whose client ignores the rules.
pub(crate) fn forge(
    server: &TestServer,
    id: CollectionId,
    client: &Client,
    body: sealshare::internal::log::Body,
    time: u64,
) -> sealshare::Operation {
    let log = server.log(&id);
    let last = sealshare::Operation::from_bytes(log.last().unwrap()).unwrap();
    let op = client
        .account()
        .sign_operation(id, log.len() as u64, last.hash(), time, body)
        .unwrap();
    server.inject(&id, op.to_bytes().to_vec());
    op
}

/// Every user pins every other user's card (they met and compared safety numbers).
pub(crate) fn introduce(clients: &mut [&mut Client]) {
    let cards: Vec<_> = clients
        .iter()
        .map(|c| c.account().identity().clone())
        .collect();
    for c in clients.iter_mut() {
        for card in &cards {
            c.observe(card).unwrap();
        }
    }
}

/// The account is in no collection, pending in none, and nothing failed.
pub(crate) fn assert_lists_nothing(client: &mut Client) {
    let list = CollectionList::fetch(client).unwrap();
    let me = client.account().handle();
    assert!(list.mine.is_empty(), "{me}: {:?}", list.mine);
    assert!(list.shared.is_empty(), "{me}: {:?}", list.shared);
    assert!(list.pending.is_empty(), "{me}: {:?}", list.pending);
    assert!(list.failed.is_empty(), "{me}: {:?}", list.failed);
}

/// How the library refused a caller's own request: the caller-facing error's
/// stable code and its message. Equal to a [`Violation`] when the rules refused
/// the request with exactly that violation, as
/// [`Error::from_own_request`] maps it.
pub(crate) struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl PartialEq<Violation> for Refused {
    fn eq(&self, rule: &Violation) -> bool {
        let expected = Error::from_own_request(rule.clone());
        self.code == expected.code() && self.message == expected.to_string()
    }
}

/// How the library refused the caller's own request; panics unless it was
/// refused with a caller-facing error (never `InvalidOperation`, which is for
/// operations of a log someone else wrote).
#[track_caller]
pub(crate) fn refused<T: std::fmt::Debug>(result: Result<T>) -> Refused {
    match result {
        Err(
            e @ (Error::NotFound(_)
            | Error::NotAllowed(_)
            | Error::NotAllowedByRole(_)
            | Error::InvalidArgument(_)
            | Error::LinkRevoked
            | Error::LinkExpired { .. }),
        ) => Refused {
            code: e.code(),
            message: e.to_string(),
        },
        other => panic!("expected the caller's request refused before signing, got {other:?}"),
    }
}
