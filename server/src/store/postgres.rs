//! The PostgreSQL database (`sealshare-server --postgres URL`), which several
//! server processes may share. Its tables mirror SQLite's, with the nonces
//! beside them, and are made at open (`CREATE TABLE IF NOT EXISTS`; a
//! column added since, as `card_changes.kind`, with `ADD COLUMN IF NOT
//! EXISTS`, under the schema's advisory lock).
//!
//! What makes several processes safe:
//!
//! - an append runs in one transaction that first takes
//!   `pg_advisory_xact_lock` on a 64-bit key derived from the collection id
//!   ([`lock_key`]): appends to one collection are serialized across every
//!   process, and the position check, the verification and the insert see
//!   the log as it is (the primary key `(collection, seq)` is the last
//!   guard). The verified state cached in memory is used only if it is as
//!   long as the stored log, read in that transaction;
//! - a card's publication or replacement runs in one transaction under an
//!   advisory lock on the handle;
//! - a nonce is claimed with `INSERT ... ON CONFLICT DO NOTHING` in the
//!   shared table, so a request replayed to another process is refused.
//!
//! Appends and the verified states go through one writer connection under
//! a lock, as with SQLite; reads, nonces and cards through a small pool. A
//! connection that breaks fails its request and is opened anew for the next.
//!
//! Each append's transaction also sends `NOTIFY sealshare_appends` with the
//! log's new length, and the store's listener (`listen.rs`, one more
//! connection) announces those of every process to the long polls waiting
//! on this one.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Client, Config, GenericClient, Transaction};
use sealshare::{CollectionId, LogState, ServerId};

use super::backend::{
    Charge, Database, PageBuilder, Reads, States, WriteTx, append_in, put_card_in, reset_card_in,
    with_state_in,
};
use super::nonces::SWEEP_EVERY;
use super::pool::{Endpoint, Pool, PostgresRoots, breaks, connect, ensure};
use super::{Appended, CHANGE_BY_KEY, CHANGE_BY_RESET, Put, Reset, StoreError};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS operations (
        collection BYTEA NOT NULL,
        seq BIGINT NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (collection, seq)
    );
    CREATE TABLE IF NOT EXISTS cards (
        handle TEXT PRIMARY KEY NOT NULL,
        bytes BYTEA NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (
        name TEXT PRIMARY KEY NOT NULL,
        value BYTEA NOT NULL
    );
    CREATE TABLE IF NOT EXISTS card_changes (
        handle TEXT NOT NULL,
        replaced_at BIGINT NOT NULL,
        old BYTEA NOT NULL,
        new BYTEA NOT NULL,
        kind TEXT NOT NULL DEFAULT 'key'
    );
    ALTER TABLE card_changes ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'key';
    CREATE TABLE IF NOT EXISTS listing (
        handle TEXT NOT NULL,
        collection BYTEA NOT NULL,
        PRIMARY KEY (handle, collection)
    );
    CREATE TABLE IF NOT EXISTS nonces (
        key BYTEA NOT NULL,
        nonce BYTEA NOT NULL,
        expires BIGINT NOT NULL,
        PRIMARY KEY (key, nonce)
    );
    CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires);
    CREATE TABLE IF NOT EXISTS usage (
        handle TEXT PRIMARY KEY,
        bytes BIGINT NOT NULL
    );
";

/// The sign-in and link-device tables (`signin.rs`, `devices.rs`).
const SIGNIN_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS signin (
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        record BYTEA NOT NULL,
        locker BYTEA NOT NULL,
        PRIMARY KEY (handle, kind)
    );
    CREATE TABLE IF NOT EXISTS signin_pending (
        id BYTEA PRIMARY KEY,
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        state BYTEA NOT NULL,
        expires BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS link_devices (
        collection BYTEA NOT NULL,
        link BYTEA NOT NULL,
        device BYTEA NOT NULL,
        registered_at BIGINT NOT NULL,
        PRIMARY KEY (collection, link, device)
    );
    CREATE TABLE IF NOT EXISTS signin_attempts (
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        win BIGINT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (handle, kind)
    );
";

/// How many connections the pool opens at most, besides the writer's.
const POOL_SIZE: usize = 8;

/// What an advisory lock is taken on; the number is the first byte of what
/// its key is derived from (docs/server.md gives them: never change them).
#[derive(Debug, Clone, Copy)]
pub(super) enum Lock {
    /// Making the tables and the server id, at open.
    Schema = 0,
    /// Appending to a collection's log (its 16-byte id).
    Collection = 1,
    /// Publishing a handle's card (its UTF-8 bytes).
    Handle = 2,
}

/// The key of the advisory lock on `bytes` of kind `kind`: the first 8
/// bytes, big-endian, of a BLAKE3 key derivation over the kind and the
/// bytes. The same in every process and every version of this server (two
/// processes that disagreed would not exclude each other). Two different
/// things may share a key; they then only wait for each other.
pub(super) fn lock_key(kind: Lock, bytes: &[u8]) -> i64 {
    let mut hasher = blake3::Hasher::new_derive_key("sealshare-server PostgreSQL advisory lock v1");
    hasher.update(&[kind as u8]);
    hasher.update(bytes);
    let hash = hasher.finalize();
    i64::from_be_bytes(hash.as_bytes().first_chunk().copied().unwrap_or([0; 8]))
}

/// Takes the advisory lock `key` until the end of the transaction `tx`,
/// waiting while another transaction holds it.
fn lock(tx: &mut Transaction<'_>, key: i64) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
    Ok(())
}

struct Writer {
    /// `None` until connected, and after the connection broke.
    conn: Option<Client>,
    states: States,
}

/// The longest a statement of the server's runs on PostgreSQL, lock waits
/// included, unless the URL's `options` say otherwise.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The silence on a connection before TCP keepalives probe it.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// `config` for a database that may stop answering without closing the
/// connection: keepalives find the connection dead, and no statement (nor
/// its wait for a lock) runs longer than [`STATEMENT_TIMEOUT`], unless the
/// URL's `options` set their own `statement_timeout`.
pub(super) fn bound_waits(config: &mut Config) {
    config.keepalives(true);
    if config.get_keepalives_idle() > KEEPALIVE_IDLE {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    let options = config.get_options().unwrap_or("").to_owned();
    if !options.contains("statement_timeout") {
        let timeout = format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
        config.options(format!("{options} {timeout}").trim());
    }
}

/// A PostgreSQL database, shared with other server processes.
pub(super) struct Postgres {
    db: Endpoint,
    writer: Mutex<Writer>,
    pub(super) pool: Pool,
    claims: AtomicU64,
    quota: Option<u64>,
}

impl Postgres {
    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` string; over TLS trusting `roots` if it says
    /// `sslmode=require`), makes the tables if they are missing, and reads
    /// (or, on the first start of any process, makes) the server's id.
    pub(super) fn open(url: &str, roots: &PostgresRoots) -> Result<(Self, ServerId), StoreError> {
        let mut config = Config::from_str(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("sealshare-server");
        }
        bound_waits(&mut config);
        let db = Endpoint::new(config, roots)?;
        let mut client = connect(&db)?;
        let encoding: String = client.query_one("SHOW server_encoding", &[])?.try_get(0)?;
        if encoding != "UTF8" {
            return Err(StoreError::Damaged(format!(
                "the database's encoding is {encoding}, not UTF8: handles are UTF-8 text"
            )));
        }
        let mut tx = client.transaction()?;
        lock(&mut tx, lock_key(Lock::Schema, b""))?;
        tx.batch_execute(SCHEMA)?;
        tx.batch_execute(SIGNIN_SCHEMA)?;
        let stored = tx.query_opt("SELECT value FROM meta WHERE name = 'server_id'", &[])?;
        let server_id = match stored {
            Some(row) => super::server_id_from(&row.try_get::<_, Vec<u8>>(0)?)?,
            None => {
                let id = super::new_server_id()?;
                let bytes: &[u8] = &id.0;
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ('server_id', $1)",
                    &[&bytes],
                )?;
                id
            }
        };
        tx.commit()?;
        let store = Self {
            writer: Mutex::new(Writer {
                conn: Some(client),
                states: States::new(),
            }),
            pool: Pool::new(db.clone(), POOL_SIZE),
            db,
            claims: AtomicU64::new(0),
            quota: None,
        };
        Ok((store, server_id))
    }

    /// The database, as given at open.
    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.db
    }

    // As with SQLite: an open transaction rolls back when dropped, and an
    // append puts its state back into the cache only once stored, so a
    // poisoned lock is taken over.
    fn writer_lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `f` on the writer's connection (connected anew if it broke) and the
    /// cache; a connection `f` breaks is dropped.
    pub(super) fn writer<R>(
        &self,
        f: impl FnOnce(&mut Client, &mut States) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut guard = self.writer_lock();
        let Writer { conn, states } = &mut *guard;
        let client = ensure(conn, &self.db)?;
        let result = f(client, states);
        if matches!(&result, Err(e) if breaks(client, e)) {
            *conn = None;
        }
        result
    }
}

impl Drop for Postgres {
    /// Closes the connections on a thread of their own: a client closes its
    /// connection on a runtime of its own, which cannot start on a thread
    /// that drives the server's runtime (where the last reference to the
    /// store may be dropped).
    fn drop(&mut self) {
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .conn
            .take();
        let idle = self.pool.drain();
        let closing = std::thread::Builder::new()
            .name("sealshare-server postgres close".into())
            .spawn(move || drop((writer, idle)));
        if let Ok(closing) = closing {
            let _ = closing.join();
        }
    }
}

impl Database for Postgres {
    fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Appended, StoreError> {
        let key = lock_key(Lock::Collection, &collection.0);
        self.writer(|client, states| {
            let mut tx = client.transaction()?;
            lock(&mut tx, key)?;
            append_in(
                Tx(tx, self.quota),
                states,
                collection,
                seq,
                bytes,
                signer,
                now,
            )
        })
    }

    fn put_card(
        &self,
        handle: &str,
        canonical: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Put, StoreError> {
        let key = lock_key(Lock::Handle, handle.as_bytes());
        self.pool.run(|client| {
            let mut tx = client.transaction()?;
            lock(&mut tx, key)?;
            put_card_in(Tx(tx, self.quota), handle, canonical, signer, now)
        })
    }

    fn with_state(
        &self,
        collection: &CollectionId,
        f: &mut dyn FnMut(&LogState, &mut dyn Reads) -> bool,
    ) -> Result<Option<bool>, StoreError> {
        self.writer(|client, states| with_state_in(&mut Conn(client), states, collection, f))
    }

    fn fetch(
        &self,
        collection: &CollectionId,
        from: i64,
        page: &mut PageBuilder,
    ) -> Result<(), StoreError> {
        let id: &[u8] = &collection.0;
        self.pool.run(|client| {
            // The lengths first, to fill the page by size without reading
            // the bytes of an operation that does not go into it; then the
            // bytes of those that do. Stored positions never change, so the
            // two reads agree.
            let lengths = client.query(
                "SELECT octet_length(bytes) FROM operations
                 WHERE collection = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &[&id, &from, &page.row_limit()],
            )?;
            for row in lengths {
                let len: i32 = row.try_get(0)?;
                if !page.fits(usize::try_from(len).unwrap_or(usize::MAX)) {
                    break;
                }
            }
            let count = i64::try_from(page.accepted()).unwrap_or(i64::MAX);
            if count == 0 {
                return Ok(());
            }
            let rows = client.query(
                "SELECT bytes FROM operations
                 WHERE collection = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &[&id, &from, &count],
            )?;
            for row in rows {
                page.push(row.try_get(0)?);
            }
            Ok(())
        })
    }

    fn log_len(&self, collection: &CollectionId) -> Result<u64, StoreError> {
        self.pool.run(|client| log_len(client, collection))
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        if !storable(handle) {
            return Ok(Vec::new());
        }
        self.pool.run(|client| {
            let rows = client.query(
                "SELECT collection FROM listing WHERE handle = $1 ORDER BY collection",
                &[&handle],
            )?;
            Ok(rows
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?)
        })
    }

    fn card(&self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.pool.run(|client| card(client, handle))
    }

    fn card_changes(&self, handle: &str) -> Result<u64, StoreError> {
        if !storable(handle) {
            return Ok(0);
        }
        self.pool.run(|client| {
            let n: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM card_changes WHERE handle = $1",
                    &[&handle],
                )?
                .try_get(0)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn reset_card(&self, handle: &str, canonical: &[u8], now: u64) -> Result<Reset, StoreError> {
        if !storable(handle) {
            return Err(StoreError::Damaged("a handle with a NUL character".into()));
        }
        let key = lock_key(Lock::Handle, handle.as_bytes());
        self.pool.run(|client| {
            let mut tx = client.transaction()?;
            lock(&mut tx, key)?;
            reset_card_in(Tx(tx, self.quota), handle, canonical, now)
        })
    }

    fn last_reset(&self, handle: &str) -> Result<Option<u64>, StoreError> {
        if !storable(handle) {
            return Ok(None);
        }
        self.pool.run(|client| {
            let at: Option<i64> = client
                .query_one(
                    "SELECT MAX(replaced_at) FROM card_changes WHERE handle = $1 AND kind = $2",
                    &[&handle, &CHANGE_BY_RESET],
                )?
                .try_get(0)?;
            Ok(at.map(|at| u64::try_from(at).unwrap_or(0)))
        })
    }

    fn claim_nonce(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let expires = i64::try_from(expires).unwrap_or(i64::MAX);
        let sweep = self
            .claims
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY);
        let (key, nonce): (&[u8], &[u8]) = (key, nonce);
        self.pool.run(|client| {
            if sweep {
                let now = i64::try_from(now).unwrap_or(i64::MAX);
                client.execute("DELETE FROM nonces WHERE expires < $1", &[&now])?;
            }
            let inserted = client.execute(
                "INSERT INTO nonces (key, nonce, expires) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&key, &nonce, &expires],
            )?;
            Ok(inserted == 1)
        })
    }

    fn set_quota(&mut self, quota: Option<u64>) {
        self.quota = quota;
    }

    fn quota(&self) -> Option<u64> {
        self.quota
    }

    fn usage(&self, handle: &str) -> Result<u64, StoreError> {
        self.pool.run(|client| usage(client, handle, false))
    }

    fn charge(&self, handle: &str, bytes: u64) -> Result<(), StoreError> {
        self.pool.run(|client| add_usage(client, handle, bytes))
    }
}

/// How many bytes `handle` stores; with `lock`, its row (if any) is locked
/// until the transaction ends.
fn usage(client: &mut impl GenericClient, handle: &str, lock: bool) -> Result<u64, StoreError> {
    if !storable(handle) {
        return Ok(0);
    }
    let sql = if lock {
        "SELECT bytes FROM usage WHERE handle = $1 FOR UPDATE"
    } else {
        "SELECT bytes FROM usage WHERE handle = $1"
    };
    let bytes: Option<i64> = client
        .query_opt(sql, &[&handle])?
        .map(|row| row.try_get(0))
        .transpose()?;
    Ok(bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0)))
}

/// Adds `bytes` to `handle`'s usage, in one statement (concurrent additions
/// add up).
fn add_usage(client: &mut impl GenericClient, handle: &str, bytes: u64) -> Result<(), StoreError> {
    if !storable(handle) {
        return Ok(());
    }
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    client.execute(
        "INSERT INTO usage (handle, bytes) VALUES ($1, $2) \
         ON CONFLICT (handle) DO UPDATE SET bytes = usage.bytes + excluded.bytes",
        &[&handle, &bytes],
    )?;
    Ok(())
}

/// Whether `handle` can be stored as PostgreSQL text: no NUL character
/// (no stored handle has one: handles have no control characters).
fn storable(handle: &str) -> bool {
    !handle.contains('\0')
}

/// A transaction, under its advisory lock, and the quota.
struct Tx<'a>(Transaction<'a>, Option<u64>);

/// A connection outside any transaction of ours.
struct Conn<'a>(&'a mut Client);

impl Reads for Conn<'_> {
    fn log_len(&mut self, collection: &CollectionId) -> Result<u64, StoreError> {
        log_len(self.0, collection)
    }
    fn operations(&mut self, collection: &CollectionId) -> Result<Vec<Vec<u8>>, StoreError> {
        operations(self.0, collection)
    }
    fn card(&mut self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        card(self.0, handle)
    }
}

impl Reads for Tx<'_> {
    fn log_len(&mut self, collection: &CollectionId) -> Result<u64, StoreError> {
        log_len(&mut self.0, collection)
    }
    fn operations(&mut self, collection: &CollectionId) -> Result<Vec<Vec<u8>>, StoreError> {
        operations(&mut self.0, collection)
    }
    fn card(&mut self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        card(&mut self.0, handle)
    }
}

impl WriteTx for Tx<'_> {
    fn insert_operation(
        &mut self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let id: &[u8] = &collection.0;
        let len = seq.saturating_add(1);
        let seq =
            i64::try_from(seq).map_err(|_| StoreError::Damaged("a position past i64".into()))?;
        self.0.execute(
            "INSERT INTO operations (collection, seq, bytes) VALUES ($1, $2, $3)",
            &[&id, &seq, &bytes],
        )?;
        // The log's new length, to every process's listener: sent only if
        // this transaction commits, when it does, in the order of commits.
        let payload = super::listen::payload(collection, len);
        self.0.execute(
            "SELECT pg_notify($1, $2)",
            &[&super::listen::CHANNEL, &payload],
        )?;
        Ok(())
    }

    fn set_listed(
        &mut self,
        handle: &str,
        collection: &CollectionId,
        listed: bool,
    ) -> Result<(), StoreError> {
        let id: &[u8] = &collection.0;
        let sql = if listed {
            "INSERT INTO listing (handle, collection) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM listing WHERE handle = $1 AND collection = $2"
        };
        self.0.execute(sql, &[&handle, &id])?;
        Ok(())
    }

    fn insert_card(&mut self, handle: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO cards (handle, bytes) VALUES ($1, $2)",
            &[&handle, &bytes],
        )?;
        Ok(())
    }

    fn replace_card(
        &mut self,
        handle: &str,
        old: &[u8],
        new: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        self.change_card(handle, old, new, now, CHANGE_BY_KEY)
    }

    fn reset_card(
        &mut self,
        handle: &str,
        old: Option<&[u8]>,
        new: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        self.change_card(handle, old.unwrap_or_default(), new, now, CHANGE_BY_RESET)
    }

    fn delete_signin(&mut self, handle: &str) -> Result<u64, StoreError> {
        let deleted = self
            .0
            .execute("DELETE FROM signin WHERE handle = $1", &[&handle])?;
        self.0
            .execute("DELETE FROM signin_pending WHERE handle = $1", &[&handle])?;
        Ok(deleted)
    }

    fn charge(&mut self, handle: &str, bytes: u64, what: Charge) -> Result<(), StoreError> {
        if let (Some(quota), Some(limit)) = (self.1, what.limit(self.1)) {
            // Locked to the end of the transaction: a charge elsewhere for
            // the same handle waits, so the check holds when this commits.
            let used = usage(&mut self.0, handle, true)?;
            if used.saturating_add(bytes) > limit {
                return Err(StoreError::QuotaExceeded {
                    handle: handle.to_owned(),
                    used,
                    quota,
                });
            }
        }
        add_usage(&mut self.0, handle, bytes)
    }

    fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit()?)
    }
}

fn card(client: &mut impl GenericClient, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
    if !storable(handle) {
        return Ok(None);
    }
    let row = client.query_opt("SELECT bytes FROM cards WHERE handle = $1", &[&handle])?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

fn operations(
    client: &mut impl GenericClient,
    collection: &CollectionId,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let id: &[u8] = &collection.0;
    let rows = client.query(
        "SELECT bytes FROM operations WHERE collection = $1 ORDER BY seq",
        &[&id],
    )?;
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// The length of a log: its last position plus one (positions are
/// contiguous from 0); one index lookup.
fn log_len(client: &mut impl GenericClient, collection: &CollectionId) -> Result<u64, StoreError> {
    let id: &[u8] = &collection.0;
    let last: Option<i64> = client
        .query_one(
            "SELECT MAX(seq) FROM operations WHERE collection = $1",
            &[&id],
        )?
        .try_get(0)?;
    Ok(last.map_or(0, |l| u64::try_from(l).map_or(0, |l| l + 1)))
}

#[cfg(test)]
#[path = "postgres_tests.rs"]
mod tests;

impl Tx<'_> {
    /// Makes `new` the card of `handle` and records the change from `old`
    /// (empty for none) in `card_changes`, as `kind`.
    fn change_card(
        &mut self,
        handle: &str,
        old: &[u8],
        new: &[u8],
        now: u64,
        kind: &str,
    ) -> Result<(), StoreError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.0.execute(
            "INSERT INTO cards (handle, bytes) VALUES ($1, $2)
             ON CONFLICT (handle) DO UPDATE SET bytes = $2",
            &[&handle, &new],
        )?;
        self.0.execute(
            "INSERT INTO card_changes (handle, replaced_at, old, new, kind)
             VALUES ($1, $2, $3, $4, $5)",
            &[&handle, &now, &old, &new, &kind],
        )?;
        Ok(())
    }
}
