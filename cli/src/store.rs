//! The embedded store that plays the untrusted server: SQLite for logs and
//! published identity cards, content blobs as files named by their hash.
//! Appends check the expected head inside a transaction, so two processes
//! appending at once lose nothing: one wins, the other is told to rebase.
//! Like any server must, the store runs the keyless verifier on every append
//! (with this machine's clock) and stores only what every client accepts.
//! It lists a handle's collections exactly (`Remote::collections_of`) from a
//! table kept in each append's transaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use std::io::{BufWriter, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sealshare::BlobUpload;
use sealshare::{Appended, CollectionId, Error, Identity, ListingChange, LogState, Remote, Result};

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// A blob written to a temporary file as it is sealed, renamed to its hash at
/// the end: constant memory, and no reader ever sees half a blob.
struct FileUpload {
    file: BufWriter<std::fs::File>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl Write for FileUpload {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.file.write(data)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl BlobUpload for FileUpload {
    fn finish(mut self: Box<Self>, id: &[u8; 32]) -> Result<()> {
        self.file.flush()?;
        std::fs::rename(&self.tmp, self.dir.join(blob_name(id)))?;
        Ok(())
    }
}

/// A store folder: `store.db` and `blobs/`.
pub(crate) struct Store {
    db: Mutex<Connection>,
    blobs: PathBuf,
    /// Each collection's verified state as this process last saw it, brought
    /// up to the stored log inside each append's transaction.
    verified: Mutex<HashMap<CollectionId, LogState>>,
    /// The open batch, if one is ([`Store::batch`]).
    pending: Mutex<Option<Batch>>,
}

fn db_err(e: rusqlite::Error) -> Error {
    Error::Remote(format!("store database: {e}"))
}

/// The name of a blob's file: its id in lowercase hexadecimal.
fn blob_name(id: &[u8; 32]) -> String {
    hex::encode(id)
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("blobs"))?;
        let db = Connection::open(dir.join("store.db")).map_err(db_err)?;
        db.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_err)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS ops (
                 collection BLOB NOT NULL, seq INTEGER NOT NULL, op BLOB NOT NULL,
                 PRIMARY KEY (collection, seq));
             CREATE TABLE IF NOT EXISTS cards (handle TEXT PRIMARY KEY, card BLOB NOT NULL);",
        )
        .map_err(db_err)?;
        let mut db = db;
        create_listing(&mut db)?;
        Ok(Self {
            db: Mutex::new(db),
            blobs: dir.join("blobs"),
            verified: Mutex::new(HashMap::new()),
            pending: Mutex::new(None),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a card (the directory is untrusted too: readers pin cards).
    pub(crate) fn publish_card(&self, card: &Identity) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO cards (handle, card) VALUES (?1, ?2)",
                params![card.handle(), card.to_bytes()],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// The card published for `handle`, verified (self-signature).
    pub(crate) fn card(&self, handle: &str) -> Result<Identity> {
        let bytes: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT card FROM cards WHERE handle = ?1",
                params![handle],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        let bytes =
            bytes.ok_or_else(|| Error::NotFound(format!("no published card for {handle:?}")))?;
        Ok(Identity::from_bytes(&bytes)?)
    }
}

/// Creates the `listing` table (handle, collection: the handle appears in the
/// collection's verified log, `LogState::appears`) if the store has none yet,
/// filled from the logs already stored (a store made before the table
/// existed). Appends keep it from then on.
fn create_listing(db: &mut Connection) -> Result<()> {
    let tx = db
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    let exists: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'listing'",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if exists > 0 {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE TABLE listing (
             handle TEXT NOT NULL, collection BLOB NOT NULL,
             PRIMARY KEY (handle, collection));",
    )
    .map_err(db_err)?;
    let ids: Vec<Vec<u8>> = {
        let mut stmt = tx
            .prepare("SELECT DISTINCT collection FROM ops")
            .map_err(db_err)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(db_err)?
            .collect::<std::result::Result<_, _>>()
            .map_err(db_err)?
    };
    for raw in ids {
        let Ok(id) = <[u8; 16]>::try_from(raw.as_slice()) else {
            continue;
        };
        let ops: Vec<Vec<u8>> = {
            let mut stmt = tx
                .prepare("SELECT op FROM ops WHERE collection = ?1 ORDER BY seq")
                .map_err(db_err)?;
            stmt.query_map(params![&raw], |r| r.get(0))
                .map_err(db_err)?
                .collect::<std::result::Result<_, _>>()
                .map_err(db_err)?
        };
        // Each was verified when it was stored, so no clock applies; a log
        // altered since is indexed as far as it verifies.
        let mut state = LogState::empty(CollectionId(id));
        let _ = state.extend_from_bytes(&ops, u64::MAX);
        for handle in state.appearing() {
            tx.execute(
                "INSERT OR IGNORE INTO listing (handle, collection) VALUES (?1, ?2)",
                params![handle, &raw],
            )
            .map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)
}

/// Appends stored inside an open transaction and not verified yet: they are
/// verified together, their signatures in batches, when the batch commits.
#[derive(Default)]
struct Batch {
    /// Each collection's appends in order, from its verified state's length.
    ops: HashMap<CollectionId, Vec<Vec<u8>>>,
    count: usize,
}

/// A batch commits by itself after this many appends, so it holds the
/// store's write lock, and its operations in memory, for a bounded time.
const BATCH_OPS: usize = if cfg!(test) { 8 } else { 4_096 };

impl Store {
    /// Runs `work` with every append it makes stored in one transaction and
    /// verified, as every append is, when the transaction commits: one
    /// commit and one flush to disk for many operations, their signatures
    /// checked in batches. The transaction commits every [`BATCH_OPS`]
    /// appends and at the end, also when `work` fails (what it appended
    /// stays, as it would without a batch). If verification refuses an
    /// operation, nothing since the last commit is stored, and the error
    /// says which: the caller's view then holds operations the store does
    /// not, so it must not be saved. Other processes wait while the batch
    /// holds the store's write lock.
    pub(crate) fn batch<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        self.begin_batch()?;
        let result = work();
        let committed = self.commit_batch();
        let value = result?;
        committed?;
        Ok(value)
    }

    fn begin_batch(&self) -> Result<()> {
        let conn = self.conn();
        let mut batch = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if batch.is_some() {
            return Err(Error::Bug("a store batch inside a batch"));
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
        *batch = Some(Batch::default());
        Ok(())
    }

    /// Verifies the open batch's appends and commits them, or rolls all of
    /// them back. The batch is closed either way.
    fn commit_batch(&self) -> Result<()> {
        let conn = self.conn();
        let Some(batch) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Ok(());
        };
        match self.verify_batch(&conn, batch) {
            Ok(()) => conn.execute_batch("COMMIT").map_err(db_err),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn verify_batch(&self, conn: &Connection, batch: Batch) -> Result<()> {
        let now = sealshare::system_time();
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        for (collection, ops) in batch.ops {
            let state = verified
                .entry(collection)
                .or_insert_with(|| LogState::empty(collection));
            let mut change = ListingChange::default();
            let outcome = state.verify_appends_listing(&ops, now, &mut change);
            if outcome.is_err() {
                // It holds appends about to be rolled back: read it again.
                verified.remove(&collection);
                outcome?;
                continue;
            }
            index(conn, &collection, &change)?;
        }
        Ok(())
    }

    /// The verified state of `collection`, brought up to the `seq`
    /// operations stored before the one being appended.
    fn caught_up<'a>(
        conn: &Connection,
        verified: &'a mut HashMap<CollectionId, LogState>,
        collection: &CollectionId,
        seq: u64,
    ) -> Result<&'a mut LogState> {
        let state = verified
            .entry(*collection)
            .or_insert_with(|| LogState::empty(*collection));
        if state.len() > seq {
            *state = LogState::empty(*collection);
        }
        if state.len() < seq {
            // Other processes appended since: catch up on what they stored
            // (each verified when it was stored, so no clock applies).
            let mut stmt = conn
                .prepare_cached(
                    "SELECT op FROM ops WHERE collection = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq",
                )
                .map_err(db_err)?;
            let missed = stmt
                .query_map(
                    params![&collection.0[..], state.len() as i64, seq as i64],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .map_err(db_err)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(db_err)?;
            state.extend_from_bytes(&missed, u64::MAX)?;
        }
        Ok(state)
    }
}

/// How many operations `collection` holds (positions are contiguous from 0,
/// so the last position plus one: one index lookup).
fn stored_len(conn: &Connection, collection: &CollectionId) -> Result<u64> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(seq) FROM ops WHERE collection = ?1")
        .map_err(db_err)?
        .query_row(params![&collection.0[..]], |r| r.get(0))
        .map_err(db_err)?;
    Ok(last.map_or(0, |l| l as u64 + 1))
}

/// Keeps the listing index: `change` is what an append changed.
fn index(conn: &Connection, collection: &CollectionId, change: &ListingChange) -> Result<()> {
    for handle in &change.added {
        conn.prepare_cached("INSERT OR IGNORE INTO listing (handle, collection) VALUES (?1, ?2)")
            .map_err(db_err)?
            .execute(params![handle, &collection.0[..]])
            .map_err(db_err)?;
    }
    for handle in &change.dropped {
        conn.prepare_cached("DELETE FROM listing WHERE handle = ?1 AND collection = ?2")
            .map_err(db_err)?
            .execute(params![handle, &collection.0[..]])
            .map_err(db_err)?;
    }
    Ok(())
}

fn insert_op(conn: &Connection, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT INTO ops (collection, seq, op) VALUES (?1, ?2, ?3)")
        .map_err(db_err)?
        .execute(params![&collection.0[..], seq as i64, op])
        .map_err(db_err)?;
    Ok(())
}

impl Remote for Store {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let mut conn = self.conn();
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(batch) = pending.as_mut() {
                if stored_len(&conn, collection)? != seq {
                    return Ok(Appended::Conflict);
                }
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                let ops = batch.ops.entry(*collection).or_default();
                if ops.is_empty() {
                    Self::caught_up(&conn, &mut verified, collection, seq)?;
                }
                drop(verified);
                insert_op(&conn, collection, seq, op)?;
                ops.push(op.to_vec());
                batch.count += 1;
                let full = batch.count >= BATCH_OPS;
                drop(pending);
                drop(conn);
                if full {
                    self.commit_batch()?;
                    self.begin_batch()?;
                }
                return Ok(Appended::Stored);
            }
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        if stored_len(&tx, collection)? != seq {
            return Ok(Appended::Conflict);
        }
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let state = Self::caught_up(&tx, &mut verified, collection, seq)?;
        // A refused operation is stored nowhere; the state keeps its prefix.
        let change = state.verify_append_listing(op, sealshare::system_time())?;
        insert_op(&tx, collection, seq, op)?;
        index(&tx, collection, &change)?;
        tx.commit().map_err(db_err)?;
        Ok(Appended::Stored)
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT op FROM ops WHERE collection = ?1 AND seq >= ?2 ORDER BY seq")
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![&collection.0[..], from as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)
    }

    fn put_blob(&self, _collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        // Written to a temporary name and renamed, so a reader never sees half a blob.
        let path = self.blobs.join(blob_name(id));
        let tmp = self
            .blobs
            .join(format!("{}.tmp{}", blob_name(id), std::process::id()));
        std::fs::write(&tmp, blob)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn get_blob(&self, _collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        std::fs::read(self.blobs.join(blob_name(id)))
            .map_err(|e| Error::Remote(format!("content blob {}: {e}", blob_name(id))))
    }

    fn upload_blob(&self, _collection: &CollectionId) -> Result<Box<dyn BlobUpload + '_>> {
        let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .blobs
            .join(format!("upload-{}-{n}.tmp", std::process::id()));
        Ok(Box::new(FileUpload {
            // The library writes its sealed pieces (up to 256 KiB) whole, which
            // pass straight through; this gathers the header with a small content.
            file: BufWriter::with_capacity(16 << 10, std::fs::File::create(&tmp)?),
            tmp,
            dir: self.blobs.clone(),
        }))
    }

    fn download_blob(
        &self,
        _collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Box<dyn Read + Send + '_>> {
        let file = std::fs::File::open(self.blobs.join(blob_name(id)))
            .map_err(|e| Error::Remote(format!("content blob {}: {e}", blob_name(id))))?;
        // Unbuffered: the library reads in batches of megabytes.
        Ok(Box::new(file))
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT collection FROM listing WHERE handle = ?1 ORDER BY collection")
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![handle], |r| r.get::<_, Vec<u8>>(0))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = row.map_err(db_err)?;
            if let Ok(id) = <[u8; 16]>::try_from(bytes.as_slice()) {
                out.push(CollectionId(id));
            }
        }
        Ok(out)
    }
}

/// The listing scenario shared with the library's tests.
#[cfg(test)]
#[path = "../../tests/support/listing.rs"]
#[allow(unreachable_pub)] // shared with the library's tests, which reach it from outside
mod scenario;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use sealshare::internal::log::Body;
    use sealshare::{Account, Client, Collection, Role, Violation};

    use super::*;

    /// A blob's file is named by its id in lowercase hexadecimal, two digits
    /// a byte, as stores written before this one named them.
    #[test]
    fn a_blob_file_is_named_by_its_id_in_hex() {
        let id: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let spelled: String = id.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(blob_name(&id), spelled);
        assert!(blob_name(&[0xab; 32]).starts_with("abab"));
    }

    /// The store refuses what the rules refuse, storing nothing, and honest
    /// appends go on after it: one member cannot wedge the log.
    #[test]
    fn the_store_refuses_a_refused_operation_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let alice = Account::create("alice", 1).unwrap();
        let bob = Account::create("bob", 1).unwrap();
        let mut client = Client::new(alice, store.clone());
        client.observe(bob.identity()).unwrap();
        let mut coll = Collection::create(&mut client, "Notes", "").unwrap();
        coll.share(&mut client, bob.identity(), Role::Viewer)
            .unwrap();
        let id = coll.id();
        let log = store.fetch(&id, 0).unwrap();
        let head = sealshare::Operation::from_bytes(log.last().unwrap())
            .unwrap()
            .hash();
        // Bob (pending) demotes the owner.
        let bad = bob
            .sign_operation(
                id,
                log.len() as u64,
                head,
                sealshare::system_time(),
                Body::ChangeRole {
                    member: "alice".into(),
                    role: Role::Viewer,
                },
            )
            .unwrap();
        let err = store
            .append(&id, log.len() as u64, bad.to_bytes())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOperation {
                    violation: Violation::NotAccepted { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(store.fetch(&id, 0).unwrap().len(), log.len());
        coll.rename(&mut client, "Notes 2", "").unwrap();
        // A second process (a fresh store object) catches up and verifies too.
        let other = Store::open(dir.path()).unwrap();
        let err = other
            .append(&id, log.len() as u64 + 1, bad.to_bytes())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidOperation { .. }), "{err:?}");
    }

    /// The store lists exactly the collections where a handle appears (a
    /// member, the owner included, pending, awaiting approval, invited), not
    /// those it was removed from, left, declined or whose invitation was
    /// cancelled; a second process agrees, and so does a store made before the
    /// listing table existed, once it fills the table from its logs.
    #[test]
    fn the_store_lists_exactly_where_a_handle_appears() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let remote: Arc<dyn Remote> = store.clone();
        let (s, _) = scenario::play(&remote);
        let check = |store: &Store| {
            assert_eq!(scenario::listed(store, "alice"), s.alices());
            assert_eq!(scenario::listed(store, "bob"), s.bobs());
            assert!(scenario::listed(store, "nobody").is_empty());
        };
        check(&store);
        check(&Store::open(dir.path()).unwrap());
        store.conn().execute_batch("DROP TABLE listing;").unwrap();
        drop(store);
        check(&Store::open(dir.path()).unwrap());
    }

    /// An operation bob (pending) signs demoting the owner, at position `seq`.
    fn demotion(store: &Store, bob: &Account, id: CollectionId) -> (u64, Vec<u8>) {
        let log = store.fetch(&id, 0).unwrap();
        let head = sealshare::Operation::from_bytes(log.last().unwrap())
            .unwrap()
            .hash();
        let seq = log.len() as u64;
        let op = bob
            .sign_operation(
                id,
                seq,
                head,
                sealshare::system_time(),
                Body::ChangeRole {
                    member: "alice".into(),
                    role: Role::Viewer,
                },
            )
            .unwrap();
        (seq, op.to_bytes().to_vec())
    }

    /// A batch verifies its appends when it commits: one refused there
    /// stores nothing since the last commit (a batch commits by itself every
    /// `BATCH_OPS`), says which operation and why, and leaves the store
    /// taking honest appends, in this process and another.
    #[test]
    fn a_refused_operation_in_a_batch_stores_nothing_since_its_last_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let bob = Account::create("bob", 1).unwrap();
        let mut client = Client::new(Account::create("alice", 1).unwrap(), store.clone());
        client.observe(bob.identity()).unwrap();
        let mut coll = Collection::create(&mut client, "Notes", "").unwrap();
        coll.share(&mut client, bob.identity(), Role::Viewer)
            .unwrap();
        let id = coll.id();
        let start = store.fetch(&id, 0).unwrap().len();
        for (good, kept) in [(3, 0), (BATCH_OPS + 2, BATCH_OPS)] {
            let before = store.fetch(&id, 0).unwrap().len();
            let mut bad_seq = 0;
            let err = store
                .batch(|| {
                    for i in 0..good {
                        coll.add_folder(&mut client, None, &format!("f{before}-{i}"))?;
                    }
                    let (seq, bad) = demotion(&store, &bob, id);
                    bad_seq = seq;
                    assert!(matches!(store.append(&id, seq, &bad)?, Appended::Stored));
                    Ok(())
                })
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidOperation {
                        seq,
                        violation: Violation::NotAccepted { .. },
                        ..
                    } if seq == bad_seq
                ),
                "{err:?}"
            );
            assert_eq!(store.fetch(&id, 0).unwrap().len(), before + kept);
            // The caller's view holds what was rolled back: open it again.
            coll = Collection::open(&mut client, id).unwrap();
            assert_eq!(coll.state().len() as usize, before + kept);
        }
        assert_eq!(coll.state().len() as usize, start + BATCH_OPS);
        // Honest appends go on, in a batch, in this process and another.
        store
            .batch(|| coll.add_folder(&mut client, None, "after").map(drop))
            .unwrap();
        let other = Arc::new(Store::open(dir.path()).unwrap());
        let (seq, bad) = demotion(&other, &bob, id);
        assert_eq!(seq as usize, start + BATCH_OPS + 1);
        assert!(other.append(&id, seq, &bad).is_err());
        let Body::Create { info, .. } =
            sealshare::Operation::from_bytes(&other.fetch(&id, 0).unwrap()[0])
                .unwrap()
                .body()
                .clone()
        else {
            panic!("the log starts with its creation")
        };
        let head = coll.state().head();
        let rename = Body::Rename {
            epoch: coll.state().epoch(),
            info,
        };
        let op = client
            .account()
            .sign_operation(id, seq, head, sealshare::system_time(), rename)
            .unwrap();
        assert!(matches!(
            other.append(&id, seq, op.to_bytes()).unwrap(),
            Appended::Stored
        ));
        assert_eq!(other.fetch(&id, 0).unwrap().len(), start + BATCH_OPS + 2);
    }

    /// Inside a batch an append at a position already taken is a conflict,
    /// as outside one, and stores nothing.
    #[test]
    fn an_append_in_a_batch_at_a_taken_position_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let mut client = Client::new(Account::create("alice", 1).unwrap(), store.clone());
        let mut coll = Collection::create(&mut client, "Notes", "").unwrap();
        let id = coll.id();
        store
            .batch(|| {
                coll.add_folder(&mut client, None, "a")?;
                let log = store.fetch(&id, 0)?;
                let taken = log.len() as u64 - 1;
                assert!(matches!(
                    store.append(&id, taken, &log[0])?,
                    Appended::Conflict
                ));
                Ok(())
            })
            .unwrap();
        let other = Store::open(dir.path()).unwrap();
        assert_eq!(other.fetch(&id, 0).unwrap().len(), 2);
    }
}
