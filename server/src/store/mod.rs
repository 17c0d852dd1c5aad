//! The store behind the server: a database, and the blobs in the data
//! folder or a bucket.
//!
//! - The database holds the logs (`operations`: collection, seq, bytes; one
//!   row per operation, primary key (collection, seq)), the cards (`cards`,
//!   with their replacements and account resets in `card_changes`), the
//!   listing index
//!   (`listing`: handle, collection; the handle appears in the collection's
//!   verified log), the server's id (`meta`) and the nonces of accepted
//!   requests. It is SQLite in the data folder by default (`sqlite.rs`, one
//!   server process per folder), or PostgreSQL ([`Store::open_postgres`],
//!   `postgres.rs`), which several server processes may share (each
//!   hearing of the others' appends, for its long polls, through
//!   `listen.rs`).
//! - `blobs/<collection id text>/<hex hash>`, one object per content blob,
//!   in the data folder or an S3-compatible bucket (`objects.rs`), uploaded
//!   to a temporary key first and copied into place create-only, so no
//!   reader ever sees half a blob and an existing blob is never overwritten
//!   (`blobs.rs`).
//!
//! Every append runs the keyless verifier (`LogState::verify_append_listing`)
//! on the collection's verified state and stores only what every client
//! accepts, in one transaction with the position check and the listing
//! index (`backend.rs`, the same for both databases). The verified states
//! are cached in memory, used only while as long as the stored log, and
//! rebuilt from the stored operations otherwise.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use sealshare::{CollectionId, Identity, ServerId, VerifyError};

mod access;
mod backend;
mod blob_file;
mod blobs;
pub mod devices;
mod listen;
mod nonces;
pub mod notify;
mod objects;
mod pool;
mod postgres;
pub mod signin;
mod signin_postgres;
mod signin_sqlite;
mod sqlite;

pub use access::{Who, may_put_blob, may_read};
use backend::{Database, PageBuilder, key_of};
use blobs::Blobs;
pub use blobs::{BlobRead, BlobUpload, Stored};
pub use notify::{MAX_WAITERS, Notifier, WaitSlot, Wake, Watch};
pub use objects::{BadBlobStorage, BlobStorage};
pub use pool::PostgresRoots;

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
    /// An account reset to the card already published for the handle:
    /// nothing to reset, and nothing changed.
    #[error("this card is already the one published for {0:?}: nothing to reset")]
    SameCard(String),
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
    /// The account already stores as much as the server's quota allows (or
    /// would with this): it may still remove, rotate, leave and the like,
    /// but adds no content ([`sealshare::Operation::adds_content`]) and no
    /// blob.
    #[error(
        "{handle:?} stores {used} bytes of its quota of {quota}: this would pass it \
         (remove, rotate, leave and trash still work; nothing that adds content does)"
    )]
    QuotaExceeded {
        /// The account.
        handle: String,
        /// What it stores.
        used: u64,
        /// The quota.
        quota: u64,
    },
    /// The body of an upload broke off before its end: nothing is stored.
    #[error("the upload broke off: {0}")]
    BrokenUpload(String),
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
    /// The database failed, or could not be reached.
    #[error("database: {0}")]
    Database(#[from] DatabaseError),
    /// The roots for TLS to PostgreSQL cannot be used (none found on the
    /// system, or the PEM given holds none that parses).
    #[error("TLS to PostgreSQL: {0}")]
    PostgresTls(String),
    /// The file system failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// The blobs' storage (the folder or the bucket) failed, or could not
    /// be reached.
    #[error("blob storage: {}", with_causes(.0))]
    Objects(#[from] object_store::Error),
}

/// A failure of one of the databases.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// SQLite failed.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed or could not be reached. Shown with its causes
    /// (the database's message, the connection's failure).
    #[error("{}", with_causes(.0))]
    Postgres(#[from] ::postgres::Error),
}

/// `e` and the chain of its sources, `: `-separated.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.into())
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        Self::Database(e.into())
    }
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

/// How far past its quota an account may go, at most, with operations that
/// add no content (removing a member, rotating the key, leaving, trash): as
/// much again as the quota, up to this. Enough for hundreds of removals and
/// rotations in large collections, and a bound all the same on what one
/// account makes the server store.
pub const QUOTA_GRACE: u64 = 16 * 1024 * 1024;

/// What an account may still store under its quota, as an upload began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRoom {
    /// The account.
    pub handle: String,
    /// What it stored then.
    pub used: u64,
    /// Its quota.
    pub quota: u64,
}

impl QuotaRoom {
    /// How many bytes fit.
    pub fn left(&self) -> u64 {
        self.quota.saturating_sub(self.used)
    }

    /// The refusal of what does not fit.
    pub fn exceeded(&self) -> StoreError {
        StoreError::QuotaExceeded {
            handle: self.handle.clone(),
            used: self.used,
            quota: self.quota,
        }
    }
}

/// Whether a card or blob was stored by this request or already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Stored now.
    Created,
    /// The same bytes were already stored; nothing changed.
    Existing,
}

/// What an account reset did (see [`Store::reset_account`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// The card it replaced; `None` if no card was published for the handle.
    pub previous: Option<Vec<u8>>,
    /// How many sign-in records (each with its locker: one per kind of
    /// secret, password and recovery phrase) were deleted.
    pub signins_deleted: u64,
}

/// The kind of a card change recorded in `card_changes`, as stored in its
/// `kind` column: a replacement signed by the published card's key.
pub const CHANGE_BY_KEY: &str = "key";
/// The kind of a card change recorded in `card_changes`: an account reset,
/// made by the server's operator ([`Store::reset_account`]).
pub const CHANGE_BY_RESET: &str = "reset";

/// A page of a log (see [`Store::fetch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The operations from the position asked for on, in order.
    pub operations: Vec<Vec<u8>>,
    /// Whether the log holds operations after the last one in this page.
    pub more: bool,
}

/// The store: a database (SQLite in the data folder, or PostgreSQL) and the
/// blobs, in the data folder or a bucket (see the module's documentation).
pub struct Store {
    db: Box<dyn Database>,
    blobs: Blobs,
    server_id: ServerId,
    /// The long polls waiting for appends made through this store (and,
    /// on PostgreSQL, through any process on its database).
    notify: Arc<Notifier>,
    /// On PostgreSQL, what announces the appends made through other
    /// processes (`listen.rs`); stopped when the store is dropped.
    _listener: Option<listen::Listener>,
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

/// A fresh random server id (also the randomness of temporary names).
fn new_server_id() -> Result<ServerId, StoreError> {
    ServerId::generate()
        .map_err(|e| StoreError::Io(std::io::Error::other(format!("no randomness: {e}"))))
}

/// A server id as stored in `meta`.
fn server_id_from(bytes: &[u8]) -> Result<ServerId, StoreError> {
    let id = <[u8; 16]>::try_from(bytes)
        .map_err(|_| StoreError::Damaged(format!("a server id of {} bytes", bytes.len())))?;
    Ok(ServerId(id))
}

impl Store {
    /// Opens the store in `dir` with SQLite, creating the folder, the
    /// databases and their tables if needed, and removing temporary files a
    /// previous process left. Fails with [`StoreError::InUse`] while another
    /// store (in this process or another, SQLite or PostgreSQL) has the
    /// folder open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_blobs(dir, &BlobStorage::Folder)
    }

    /// [`Store::open`], with the blobs kept in `storage`. The data folder is
    /// locked the same whatever the storage: it holds the databases.
    pub fn open_with_blobs(dir: &Path, storage: &BlobStorage) -> Result<Self, StoreError> {
        let blobs = Blobs::exclusive(dir, storage)?;
        let (db, server_id) = sqlite::Sqlite::open(dir)?;
        Ok(Self {
            db: Box::new(db),
            blobs,
            server_id,
            notify: Arc::new(Notifier::default()),
            _listener: None,
        })
    }

    /// Opens the store on the PostgreSQL database at `url` (a
    /// `postgres://user:password@host:port/database` URL or a `key=value`
    /// connection string; over TLS if it says `sslmode=require`, trusting
    /// the system's roots), creating its tables if needed, with the
    /// blobs in `dir`. Other processes may use the same database and folder
    /// at the same time (docs/server.md, Several processes): appends and
    /// card publications are serialized through the database's advisory
    /// locks, nonces are claimed in the shared table. Fails with
    /// [`StoreError::InUse`] while a SQLite store has the folder open, and
    /// with [`StoreError::Database`] if the database cannot be reached.
    pub fn open_postgres(dir: &Path, url: &str) -> Result<Self, StoreError> {
        Self::open_postgres_with_blobs(dir, url, &BlobStorage::Folder)
    }

    /// [`Store::open_postgres`], with the blobs kept in `storage`.
    pub fn open_postgres_with_blobs(
        dir: &Path,
        url: &str,
        storage: &BlobStorage,
    ) -> Result<Self, StoreError> {
        Self::open_postgres_with(dir, url, storage, &PostgresRoots::System)
    }

    /// [`Store::open_postgres_with_blobs`], trusting only `roots` for TLS to
    /// the database (a URL with `sslmode=require`): every connection then
    /// checks that the database's certificate chains to them and names the
    /// URL's host, and fails with [`StoreError::Database`] otherwise. Bad
    /// roots fail with [`StoreError::PostgresTls`].
    pub fn open_postgres_with(
        dir: &Path,
        url: &str,
        storage: &BlobStorage,
        roots: &PostgresRoots,
    ) -> Result<Self, StoreError> {
        let blobs = Blobs::shared(dir, storage)?;
        let (db, server_id) = postgres::Postgres::open(url, roots)?;
        let notify = Arc::new(Notifier::default());
        let listener = listen::Listener::start(db.endpoint(), Arc::clone(&notify))?;
        Ok(Self {
            db: Box::new(db),
            blobs,
            server_id,
            notify,
            _listener: Some(listener),
        })
    }

    /// Appends `bytes` at position `seq` of `collection`'s log, verified with
    /// the clock `now` (seconds since the Unix epoch).
    ///
    /// In one transaction that no other append to this collection comes
    /// into, in this process or another (SQLite's `BEGIN IMMEDIATE`, or
    /// PostgreSQL's advisory lock on the collection): the log must hold
    /// exactly `seq` operations (else [`Appended::Conflict`] with its
    /// length); the operation must verify onto the log's state as every
    /// client verifies it (else [`StoreError::Refused`]); then it is stored
    /// and the listing index updated. Nothing is stored unless all of it is.
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
        let appended = self.db.append(collection, seq, bytes, signer, now)?;
        if appended == Appended::Stored {
            // Committed: the long polls on this collection in this process
            // wake (an announcement never lowers a length, so two appends
            // announcing out of order is harmless). On PostgreSQL those of
            // the other processes wake through their listeners.
            self.notify.announce(collection, seq.saturating_add(1));
        }
        Ok(appended)
    }

    /// [`Store::append`] as another process makes it: committed, but
    /// announced to no wait of this store (but through its listener, on
    /// PostgreSQL).
    #[cfg(test)]
    pub(crate) fn append_unannounced(
        &self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Appended, StoreError> {
        self.db.append(collection, seq, bytes, signer, now)
    }

    /// Limits what each account stores to `quota` bytes (`None`: no limit,
    /// the default): the operations it authors and the blobs it uploads
    /// count. Over it, appends that add content and blob uploads are
    /// refused with [`StoreError::QuotaExceeded`]; every other operation
    /// goes through up to [`QUOTA_GRACE`] past it (as much again as the
    /// quota, if that is less), so a member over the quota can still
    /// remove someone and rotate the key.
    pub fn set_quota(&mut self, quota: Option<u64>) {
        self.db.set_quota(quota);
    }

    /// How many bytes `handle` stores (counted since this version of the
    /// server first ran on the store).
    pub fn usage(&self, handle: &str) -> Result<u64, StoreError> {
        self.db.usage(handle)
    }

    /// Whether `handle` may start uploading a blob, of `declared` bytes if
    /// the length is known: refused if its usage already reaches the quota,
    /// or would pass it with them. Answers the room left under the quota,
    /// if there is one, for [`BlobUpload::limit_to`]. An upload admitted is
    /// charged in full once stored ([`Store::charge_blob`]), so uploads
    /// running at once may pass the quota by what they hold.
    pub fn admit_upload(
        &self,
        handle: &str,
        declared: Option<u64>,
    ) -> Result<Option<QuotaRoom>, StoreError> {
        let Some(quota) = self.db.quota() else {
            return Ok(None);
        };
        let used = self.db.usage(handle)?;
        let room = QuotaRoom {
            handle: handle.to_owned(),
            used,
            quota,
        };
        if used >= quota || used.saturating_add(declared.unwrap_or(0)) > quota {
            return Err(room.exceeded());
        }
        Ok(Some(room))
    }

    /// Adds a blob of `bytes` that `handle` uploaded, newly stored, to what
    /// it stores.
    pub fn charge_blob(&self, handle: &str, bytes: u64) -> Result<(), StoreError> {
        self.db.charge(handle, bytes)
    }

    /// The long polls waiting on this store's appends.
    pub fn notifier(&self) -> &Notifier {
        &self.notify
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
        let mut page = PageBuilder::new(max_ops, max_bytes);
        self.db.fetch(collection, from, &mut page)?;
        Ok(page.finish())
    }

    /// How many operations `collection`'s log holds.
    pub fn log_len(&self, collection: &CollectionId) -> Result<u64, StoreError> {
        self.db.log_len(collection)
    }

    /// The collections in which `handle` appears, from the listing index.
    pub fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>, StoreError> {
        self.db
            .collections_of(handle)?
            .into_iter()
            .map(|raw| {
                <[u8; 16]>::try_from(raw.as_slice())
                    .map(CollectionId)
                    .map_err(|_| {
                        StoreError::Damaged(format!(
                            "a listed collection id of {} bytes",
                            raw.len()
                        ))
                    })
            })
            .collect()
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
    ///
    /// The check and the write are one transaction that no other
    /// publication for `handle` comes into, in this process or another.
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
        self.db.put_card(handle, &canonical, signer, now)
    }

    /// Resets `handle`'s account: the operator's act for a user who lost
    /// every device, password and recovery phrase, and comes back under the
    /// same handle with a new key. `bytes` must decode as a self-signed card
    /// for `handle` (else [`StoreError::BadCard`] or
    /// [`StoreError::CardHandle`]) and differ from the published card (else
    /// [`StoreError::SameCard`]).
    ///
    /// In one transaction that no publication for `handle` comes into, in
    /// this process or another: the card replaces the published one, or is
    /// published if there was none (no signature by any key is asked for:
    /// the operator vouches for the person); the reset is recorded in
    /// `card_changes` (kind [`CHANGE_BY_RESET`], with the time `now`; an
    /// empty `old` when there was no card); and the handle's sign-in records
    /// and lockers are deleted, since they hold the old keystore. Nothing
    /// changes unless all of it does. Clients that pinned the old card see
    /// a key change (`TrustStore`, `Error::KeyChanged`).
    pub fn reset_account(&self, handle: &str, bytes: &[u8], now: u64) -> Result<Reset, StoreError> {
        let card = Identity::from_bytes(bytes).map_err(StoreError::BadCard)?;
        if card.handle() != handle {
            return Err(StoreError::CardHandle {
                path: handle.to_owned(),
                card: card.handle().to_owned(),
            });
        }
        self.db.reset_card(handle, &card.to_bytes(), now)
    }

    /// The time (seconds since the Unix epoch) of the last account reset of
    /// `handle` ([`Store::reset_account`]), if there was one.
    pub fn last_card_reset(&self, handle: &str) -> Result<Option<u64>, StoreError> {
        self.db.last_reset(handle)
    }

    /// The signing key of the card published for `handle`, if any.
    pub fn card_key(&self, handle: &str) -> Result<Option<[u8; 32]>, StoreError> {
        self.db
            .card(handle)?
            .map(|bytes| key_of(handle, &bytes))
            .transpose()
    }

    /// How many times `handle`'s card was replaced, by its key or by an
    /// account reset.
    pub fn card_changes(&self, handle: &str) -> Result<u64, StoreError> {
        self.db.card_changes(handle)
    }

    /// This server's id, chosen when its database was made.
    pub fn server_id(&self) -> ServerId {
        self.server_id
    }

    /// Records the nonce of an accepted request, until `expires`: false if
    /// it was seen before (by this process or, on PostgreSQL, any process
    /// on the same database), and the request is a replay.
    pub fn claim_nonce(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.db.claim_nonce(key, nonce, expires, now)
    }

    /// Whether `who` may read `collection` at `now` ([`may_read`]), on the
    /// verified state of the stored log; false for an unknown collection.
    pub fn may_read(
        &self,
        collection: &CollectionId,
        who: &Who,
        now: u64,
    ) -> Result<bool, StoreError> {
        let answer = self.db.with_state(collection, &mut |state, conn| {
            may_read(state, who, now, &mut |handle| {
                let card = conn.card(handle).ok().flatten()?;
                key_of(handle, &card).ok()
            })
        })?;
        Ok(answer.unwrap_or(false))
    }

    /// Whether `who` may put a blob into `collection` ([`may_put_blob`]), on
    /// the verified state of the stored log; false for an unknown collection.
    pub fn may_put_blob(&self, collection: &CollectionId, who: &Who) -> Result<bool, StoreError> {
        let answer = self
            .db
            .with_state(collection, &mut |state, _| may_put_blob(state, who))?;
        Ok(answer.unwrap_or(false))
    }

    /// The card published for `handle`, if any.
    pub fn card(&self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.card(handle)
    }

    /// The blob `id` of `collection`, streamed from the storage, or `None`
    /// if it is not stored. Only whole blobs are ever found.
    pub async fn get_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Option<BlobRead>, StoreError> {
        self.blobs.get(collection, id).await
    }

    /// Stores a content blob under `id`, which must be its ciphertext hash
    /// ([`sealshare::ciphertext_hash`]). An existing blob is never
    /// overwritten: the same id again is [`Put::Existing`] (the id is the
    /// hash, so the bytes are the same). [`Store::begin_blob`] with one
    /// piece.
    pub async fn put_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
        bytes: &[u8],
    ) -> Result<Put, StoreError> {
        if bytes.len() > MAX_BLOB_LEN {
            return Err(StoreError::BlobTooLarge);
        }
        let mut upload = self.begin_blob(collection, id).await?;
        upload.write(Bytes::copy_from_slice(bytes)).await?;
        Ok(upload.finish().await?.put)
    }

    /// Starts storing the blob `id` of `collection` as it arrives, in
    /// constant memory: [`BlobUpload::write`] each piece, then
    /// [`BlobUpload::finish`], which stores it only if its ciphertext hash
    /// is `id` (the same rules as [`Store::put_blob`]).
    pub async fn begin_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<BlobUpload, StoreError> {
        self.blobs.begin(collection, Some(id)).await
    }

    /// Starts storing a blob of `collection` whose id is not known yet, as
    /// it arrives: [`BlobUpload::finish`] stores it under its ciphertext
    /// hash and answers that hash. An existing blob is never overwritten.
    pub async fn begin_streamed_blob(
        &self,
        collection: &CollectionId,
    ) -> Result<BlobUpload, StoreError> {
        self.blobs.begin(collection, None).await
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reset_tests;
