//! The embedded store behind the server, in one data folder:
//!
//! - `sealshare.db`, a SQLite database with three tables: `operations`
//!   (collection, seq, bytes; one row per operation, primary key
//!   (collection, seq)), `cards` (handle, bytes) and `listing` (handle,
//!   collection: the handle appears in the collection's verified log);
//! - `blobs/<collection id text>/<hex hash>`, one file per content blob,
//!   written to `tmp/` first and linked into place, so no reader ever sees
//!   half a blob and an existing blob is never overwritten.
//!
//! Every append runs the keyless verifier (`LogState::verify_append_listing`)
//! on the collection's verified state and stores only what every client
//! accepts, in one `BEGIN IMMEDIATE` transaction with the position check and
//! the listing index. The verified states are cached in memory and rebuilt
//! from the stored operations when missing. Each committed append is
//! announced to the long polls waiting on its collection ([`notify`]).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sealshare::{
    CollectionId, Identity, LogState, Operation, ServerId, VerifyError, ciphertext_hash,
};

mod access;
mod nonces;
pub mod signin;

pub use access::{Who, may_put_blob, may_read};
use nonces::Nonces;

pub mod notify;

pub use notify::{MAX_WAITERS, Notifier, WaitSlot, Watch};

/// The most operations one fetch answers; the client fetches again from
/// where the answer ended.
pub const MAX_FETCH_OPS: usize = 10_000;
/// The most bytes of operations one fetch answers, but for its first
/// operation, which is always there when the log has one from that position.
pub const MAX_FETCH_BYTES: usize = 32 << 20;
/// The largest operation accepted: the core's limit on an encoded
/// operation (SPEC.md §Operation, 8 MiB).
pub const MAX_OP_LEN: usize = sealshare::MAX_OP_LEN;
/// The largest content blob accepted (1 GiB).
pub const MAX_BLOB_LEN: usize = 1 << 30;
/// The largest identity card accepted: the core's limit (a handle of at most
/// `sealshare::MAX_HANDLE_LEN` bytes and the keys).
pub const MAX_CARD_LEN: usize = sealshare::MAX_CARD_LEN;

/// Why the store refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The operation does not verify onto the log: the rules refuse it, its
    /// bytes do not decode, or it claims a time too far ahead of this clock.
    #[error("{0}")]
    Refused(#[from] VerifyError),
    /// The bytes are not a valid, self-signed identity card.
    #[error("not a valid identity card: {0}")]
    BadCard(sealshare::CryptoError),
    /// The card names another handle than the one it is published under.
    #[error("the card is for {card:?}, not for {path:?}")]
    CardHandle {
        /// The handle of the path.
        path: String,
        /// The handle the card names.
        card: String,
    },
    /// Another card is already published for the handle, and the request
    /// replacing it is not signed with that card's key.
    #[error(
        "another card is already published for {0:?}: a new card replaces it only in a request signed with the published card's key"
    )]
    CardExists(String),
    /// A first card published in a request not signed with its own key.
    #[error("a card is published in a request signed with its own key")]
    CardNotSelfPublished,
    /// An operation appended in a request not signed with the key that
    /// signs the operation.
    #[error(
        "an operation is appended in a request signed by its own signer (the key the log expects for its author)"
    )]
    NotSigner,
    /// The blob's bytes do not hash to the id it is stored under.
    #[error("the blob's ciphertext hash is {actual}, not the id {id}")]
    BlobHash {
        /// The id asked for.
        id: String,
        /// The hash of the bytes sent.
        actual: String,
    },
    /// The blob is larger than [`MAX_BLOB_LEN`].
    #[error("a blob is at most {MAX_BLOB_LEN} bytes")]
    BlobTooLarge,
    /// The stored data is not what this server stores: the database was
    /// altered or damaged.
    #[error("damaged store: {0}")]
    Damaged(String),
    /// Another process holds the data folder.
    #[error("{0} is in use by another process")]
    InUse(PathBuf),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The file system failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
}

/// The answer to an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The operation is stored at the position asked for.
    Stored,
    /// The log holds `head` operations, not the number asked for: nothing
    /// was stored. The client fetches what it missed and tries again at `head`.
    Conflict {
        /// The log's next position (its length).
        head: u64,
    },
}

/// Whether a card or blob was stored by this request or already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Stored now.
    Created,
    /// The same bytes were already stored; nothing changed.
    Existing,
}

/// A page of a log (see [`Store::fetch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The operations from the position asked for on, in order.
    pub operations: Vec<Vec<u8>>,
    /// Whether the log holds operations after the last one in this page.
    pub more: bool,
}

/// The writer's side: the one connection that appends, and the verified
/// state of each collection it has seen. Kept under one lock, so the cache
/// and the database change together.
struct Writer {
    conn: Connection,
    /// Each collection's verified state, as long as the stored log.
    states: HashMap<CollectionId, LogState>,
}

/// The store in a data folder (see the module's documentation).
pub struct Store {
    writer: Mutex<Writer>,
    /// Reads (fetch, cards, listing) go through their own connection, so
    /// they wait for no append's verification (the database is in WAL mode).
    reader: Mutex<Connection>,
    blobs: PathBuf,
    tmp: PathBuf,
    uploads: AtomicU64,
    nonces: Nonces,
    server_id: ServerId,
    /// The long polls waiting for appends.
    notify: Notifier,
    /// `DIR/lock`, locked for as long as the store is open: one server per
    /// data folder (the cache of verified states and the temporary files
    /// assume it).
    _lock: File,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS operations (
        collection BLOB NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (collection, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS cards (
        handle TEXT PRIMARY KEY NOT NULL,
        bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meta (
        name TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS card_changes (
        handle TEXT NOT NULL,
        replaced_at INTEGER NOT NULL,
        old BLOB NOT NULL,
        new BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS listing (
        handle TEXT NOT NULL,
        collection BLOB NOT NULL,
        PRIMARY KEY (handle, collection)
    ) WITHOUT ROWID;
";

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    Ok(conn)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a blob id: exactly 64 lowercase hex digits.
pub fn parse_blob_id(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let [hi, lo] = pair else { return None };
        *byte = (digit(*hi)? << 4) | digit(*lo)?;
    }
    Some(out)
}

impl Store {
    /// Opens the store in `dir`, creating the folder, the database and its
    /// tables if needed, and removing temporary files a previous process
    /// left. Fails with [`StoreError::InUse`] while another store (in this
    /// process or another) has the folder open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        if let Err(e) = lock.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => StoreError::InUse(dir.to_owned()),
                std::fs::TryLockError::Error(e) => StoreError::Io(e),
            });
        }
        let blobs = dir.join("blobs");
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&blobs)?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let db = dir.join("sealshare.db");
        let conn = open_connection(&db)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(signin::SCHEMA)?;
        let server_id = server_id(&conn)?;
        let reader = open_connection(&db)?;
        let nonces = Nonces::open(&dir.join("nonces.db"))?;
        Ok(Self {
            writer: Mutex::new(Writer {
                conn,
                states: HashMap::new(),
            }),
            reader: Mutex::new(reader),
            blobs,
            tmp,
            uploads: AtomicU64::new(0),
            nonces,
            server_id,
            notify: Notifier::default(),
            _lock: lock,
        })
    }

    // A panic while a lock is held cannot leave the database half-changed
    // (an open transaction rolls back when dropped) nor the cache wrong (an
    // append takes the state out of the cache and puts it back only once
    // stored), so a poisoned lock is taken over.
    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `bytes` at position `seq` of `collection`'s log, verified with
    /// the clock `now` (seconds since the Unix epoch).
    ///
    /// In one `BEGIN IMMEDIATE` transaction (so no other writer, in this
    /// process or another, comes in between): the log must hold exactly `seq`
    /// operations (else [`Appended::Conflict`] with its length); the
    /// operation must verify onto the log's state as every client verifies
    /// it (else [`StoreError::Refused`]); then it is stored and the listing
    /// index updated. Nothing is stored unless all of it is.
    ///
    /// `signer` is the key the request was signed with: it must be the key
    /// that signs the operation (else [`StoreError::NotSigner`]), so nobody
    /// appends an operation on another's behalf.
    pub fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Appended, StoreError> {
        let mut guard = self.writer();
        let Writer { conn, states } = &mut *guard;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = &collection.0[..];
        let len = log_len(&tx, id)?;
        if len != seq {
            return Ok(Appended::Conflict { head: len });
        }
        // Out of the cache while it is used: put back only if it matches the
        // database at the end, whatever fails in between.
        let mut state = match states.remove(collection) {
            // As long as the stored log: it is the state of that log, since
            // positions once stored never change. Shorter or longer (another
            // process wrote to the same folder, or never), rebuilt.
            Some(state) if state.len() == len => state,
            _ => rebuild(&tx, collection)?,
        };
        // Signed by the operation's own signer: checked before verifying (a
        // bad operation is refused by the verifier below, with its reason).
        if let Ok(op) = Operation::from_bytes(bytes)
            && state.signer_of(&op).map(|k| k.to_bytes()) != Some(*signer)
        {
            states.insert(*collection, state);
            return Err(StoreError::NotSigner);
        }
        // A refused operation leaves the state unchanged ("a refused
        // operation changes nothing": the rules check before they apply), so
        // it goes back into the cache as it was.
        let change = match state.verify_append_listing(bytes, now) {
            Ok(change) => change,
            Err(e) => {
                states.insert(*collection, state);
                return Err(StoreError::Refused(e));
            }
        };
        tx.execute(
            "INSERT INTO operations (collection, seq, bytes) VALUES (?1, ?2, ?3)",
            params![id, seq, bytes],
        )?;
        for handle in &change.added {
            tx.execute(
                "INSERT OR IGNORE INTO listing (handle, collection) VALUES (?1, ?2)",
                params![handle, id],
            )?;
        }
        for handle in &change.dropped {
            tx.execute(
                "DELETE FROM listing WHERE handle = ?1 AND collection = ?2",
                params![handle, id],
            )?;
        }
        // On any error above or here the state, which holds the new
        // operation, is dropped: the next append rebuilds it from storage.
        tx.commit()?;
        states.insert(*collection, state);
        // Still under the writer's lock, so announcements come in order.
        self.notify.announce(collection, seq.saturating_add(1));
        Ok(Appended::Stored)
    }

    /// The operations of `collection`'s log from position `from` on, in
    /// order: at most [`MAX_FETCH_OPS`] of them and [`MAX_FETCH_BYTES`] in
    /// all (a first operation is there whatever its size). Empty for an unknown
    /// collection or a position at or past the end.
    pub fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Page, StoreError> {
        self.fetch_bounded(collection, from, MAX_FETCH_OPS, MAX_FETCH_BYTES)
    }

    /// As [`Store::fetch`], with these bounds.
    fn fetch_bounded(
        &self,
        collection: &CollectionId,
        from: u64,
        max_ops: usize,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Page::default());
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT bytes FROM operations WHERE collection = ?1 AND seq >= ?2
             ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(max_ops.saturating_add(1)).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![&collection.0[..], from, limit])?;
        let mut page = Page::default();
        let mut total = 0usize;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            total = total.saturating_add(bytes.len());
            let full = page.operations.len() >= max_ops
                || (total > max_bytes && !page.operations.is_empty());
            if full {
                page.more = true;
                break;
            }
            page.operations.push(bytes);
        }
        Ok(page)
    }

    /// The long polls of this store: [`Store::append`] announces to it each
    /// new length once committed.
    pub fn notifier(&self) -> &Notifier {
        &self.notify
    }

    /// How many operations `collection`'s log holds.
    pub fn log_len(&self, collection: &CollectionId) -> Result<u64, StoreError> {
        log_len(&self.reader(), &collection.0[..])
    }

    /// The collections in which `handle` appears, from the listing index.
    pub fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT collection FROM listing WHERE handle = ?1 ORDER BY collection",
        )?;
        let rows = stmt.query_map(params![handle], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let raw = row?;
            let id = <[u8; 16]>::try_from(raw.as_slice()).map_err(|_| {
                StoreError::Damaged(format!("a listed collection id of {} bytes", raw.len()))
            })?;
            out.push(CollectionId(id));
        }
        Ok(out)
    }

    /// Publishes `bytes` as `handle`'s card: they must decode as a
    /// self-signed card for `handle`, in a request signed by `signer`.
    ///
    /// - A handle's first card is published only by its own key (else
    ///   [`StoreError::CardNotSelfPublished`]).
    /// - The same card again is [`Put::Existing`].
    /// - Another card replaces the published one only if `signer` is the
    ///   published card's key (else [`StoreError::CardExists`]); the
    ///   replacement is recorded in `card_changes` with the time `now`.
    ///   Clients see the new card as a key change (`TrustStore`).
    pub fn put_card(
        &self,
        handle: &str,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Put, StoreError> {
        let card = Identity::from_bytes(bytes).map_err(StoreError::BadCard)?;
        if card.handle() != handle {
            return Err(StoreError::CardHandle {
                path: handle.to_owned(),
                card: card.handle().to_owned(),
            });
        }
        // The canonical encoding, whatever was sent (they are the same bytes
        // for any card that decodes, which this makes sure of).
        let canonical = card.to_bytes();
        let mut guard = self.writer();
        let tx = guard
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Vec<u8>> = tx
            .query_row(
                "SELECT bytes FROM cards WHERE handle = ?1",
                params![handle],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(stored) if stored == canonical => Ok(Put::Existing),
            Some(stored) => {
                let published = Identity::from_bytes(&stored).map_err(|e| {
                    StoreError::Damaged(format!("the stored card of {handle:?}: {e}"))
                })?;
                if published.signing_key().as_bytes() != signer {
                    return Err(StoreError::CardExists(handle.to_owned()));
                }
                tx.execute(
                    "UPDATE cards SET bytes = ?2 WHERE handle = ?1",
                    params![handle, canonical],
                )?;
                tx.execute(
                    "INSERT INTO card_changes (handle, replaced_at, old, new) VALUES (?1, ?2, ?3, ?4)",
                    params![handle, i64::try_from(now).unwrap_or(i64::MAX), stored, canonical],
                )?;
                tx.commit()?;
                Ok(Put::Created)
            }
            None => {
                if card.signing_key().as_bytes() != signer {
                    return Err(StoreError::CardNotSelfPublished);
                }
                tx.execute(
                    "INSERT INTO cards (handle, bytes) VALUES (?1, ?2)",
                    params![handle, canonical],
                )?;
                tx.commit()?;
                Ok(Put::Created)
            }
        }
    }

    /// The signing key of the card published for `handle`, if any.
    pub fn card_key(&self, handle: &str) -> Result<Option<[u8; 32]>, StoreError> {
        card_key(&self.reader(), handle)
    }

    /// How many times `handle`'s card was replaced.
    pub fn card_changes(&self, handle: &str) -> Result<u64, StoreError> {
        let n: i64 = self.reader().query_row(
            "SELECT COUNT(*) FROM card_changes WHERE handle = ?1",
            params![handle],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// This server's id, chosen when its database was made.
    pub fn server_id(&self) -> ServerId {
        self.server_id
    }

    /// Records the nonce of an accepted request (see the `nonces` module):
    /// false if it was seen before, and the request is a replay.
    pub fn claim_nonce(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.nonces.claim(key, nonce, expires, now)
    }

    /// Whether `who` may read `collection` at `now` ([`may_read`]); false for
    /// an unknown collection.
    pub fn may_read(
        &self,
        collection: &CollectionId,
        who: &Who,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.with_state(collection, |state, conn| {
            may_read(state, who, now, &mut |handle| {
                card_key(conn, handle).ok().flatten()
            })
        })
        .map(|answer| answer.unwrap_or(false))
    }

    /// Whether `who` may put a blob into `collection` ([`may_put_blob`]);
    /// false for an unknown collection.
    pub fn may_put_blob(&self, collection: &CollectionId, who: &Who) -> Result<bool, StoreError> {
        self.with_state(collection, |state, _| may_put_blob(state, who))
            .map(|answer| answer.unwrap_or(false))
    }

    /// `f` of `collection`'s verified state (from the cache, or rebuilt from
    /// storage into it), under the writer's lock; `None` for an empty log.
    fn with_state<T>(
        &self,
        collection: &CollectionId,
        f: impl FnOnce(&LogState, &Connection) -> T,
    ) -> Result<Option<T>, StoreError> {
        let mut guard = self.writer();
        let Writer { conn, states } = &mut *guard;
        let len = log_len(conn, &collection.0[..])?;
        if len == 0 {
            return Ok(None);
        }
        if states.get(collection).is_none_or(|s| s.len() != len) {
            let state = rebuild(conn, collection)?;
            states.insert(*collection, state);
        }
        Ok(states.get(collection).map(|state| f(state, conn)))
    }

    /// The card published for `handle`, if any.
    pub fn card(&self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .reader()
            .query_row(
                "SELECT bytes FROM cards WHERE handle = ?1",
                params![handle],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Where the blob `id` of `collection` is (or would be) stored.
    pub fn blob_path(&self, collection: &CollectionId, id: &[u8; 32]) -> PathBuf {
        self.blobs.join(collection.to_text()).join(hex(id))
    }

    /// Stores a content blob under `id`, which must be its ciphertext hash
    /// ([`sealshare::ciphertext_hash`]). An existing blob is never
    /// overwritten: the same id again is [`Put::Existing`] (the id is the
    /// hash, so the bytes are the same).
    ///
    /// The whole blob is in memory: streaming it to a file while hashing
    /// needs an incremental form of the ciphertext hash, and comes with the
    /// transport that streams.
    pub fn put_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
        bytes: &[u8],
    ) -> Result<Put, StoreError> {
        if bytes.len() > MAX_BLOB_LEN {
            return Err(StoreError::BlobTooLarge);
        }
        let actual = ciphertext_hash(bytes);
        if actual != *id {
            return Err(StoreError::BlobHash {
                id: hex(id),
                actual: hex(&actual),
            });
        }
        let path = self.blob_path(collection, id);
        if path.exists() {
            return Ok(Put::Existing);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let n = self.uploads.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("blob-{n}"));
        let written = write_and_link(&tmp, &path, bytes);
        let removed = std::fs::remove_file(&tmp);
        let put = written?;
        removed?;
        Ok(put)
    }
}

/// Writes `bytes` to the new file `tmp`, then links it as `path` unless
/// `path` exists. A hard link never replaces a file: of two uploads of the
/// same blob at once, one links and the other finds it there.
fn write_and_link(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<Put> {
    let mut file = File::create_new(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    match std::fs::hard_link(tmp, path) {
        Ok(()) => Ok(Put::Created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Put::Existing),
        Err(e) => Err(e),
    }
}

/// The signing key of the card published for `handle`, if any.
fn card_key(conn: &Connection, handle: &str) -> Result<Option<[u8; 32]>, StoreError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row(
            "SELECT bytes FROM cards WHERE handle = ?1",
            params![handle],
            |r| r.get(0),
        )
        .optional()?;
    bytes
        .map(|b| {
            Identity::from_bytes(&b)
                .map(|card| card.signing_key().to_bytes())
                .map_err(|e| StoreError::Damaged(format!("the stored card of {handle:?}: {e}")))
        })
        .transpose()
}

/// The server's id, made on the first start and kept in `meta`.
fn server_id(conn: &Connection) -> Result<ServerId, StoreError> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE name = 'server_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(bytes) = stored {
        let id = <[u8; 16]>::try_from(bytes.as_slice())
            .map_err(|_| StoreError::Damaged(format!("a server id of {} bytes", bytes.len())))?;
        return Ok(ServerId(id));
    }
    let id = ServerId::generate()
        .map_err(|e| StoreError::Io(std::io::Error::other(format!("no randomness: {e}"))))?;
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('server_id', ?1)",
        params![&id.0[..]],
    )?;
    Ok(id)
}

/// The length of a log: positions are contiguous from 0 (every append lands
/// at the length), so the last position plus one; one index lookup.
fn log_len(conn: &Connection, id: &[u8]) -> Result<u64, StoreError> {
    let last: Option<i64> = conn.query_row(
        "SELECT MAX(seq) FROM operations WHERE collection = ?1",
        params![id],
        |r| r.get(0),
    )?;
    Ok(last.map_or(0, |l| u64::try_from(l).map_or(0, |l| l + 1)))
}

/// The verified state of the stored log, replayed from its operations. Each
/// was verified when it was stored (with the clock of then, and the link
/// expiry check only an append makes), so no clock applies now.
fn rebuild(conn: &Connection, collection: &CollectionId) -> Result<LogState, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM operations WHERE collection = ?1 ORDER BY seq")?;
    let ops = stmt
        .query_map(params![&collection.0[..]], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = LogState::empty(*collection);
    state.extend_from_bytes(&ops, u64::MAX).map_err(|e| {
        StoreError::Damaged(format!(
            "the stored log of {} does not verify: {e}",
            collection.to_text()
        ))
    })?;
    Ok(state)
}

#[cfg(test)]
mod tests;
