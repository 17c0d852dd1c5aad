//! The default database: SQLite in the data folder, which one server process
//! holds (`DIR/lock`).
//!
//! - `sealshare.db` (WAL mode, `synchronous = FULL`) has the tables
//!   `operations`, `cards`, `listing`, `meta` and `card_changes` (whose
//!   `kind` says `key` for a replacement signed by the published card's key,
//!   `reset` for an account reset; a database made before resets gets the
//!   column at open, its rows `key`), and the sign-in tables;
//! - `nonces.db` has the nonces (see the `nonces` module).
//!
//! Appends and card publications go through one writer connection, each in
//! one `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock at
//! once; reads go through their own connection, so they wait for no
//! append's verification.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sealshare::{CollectionId, LogState, ServerId};

use super::backend::{
    Charge, Database, PageBuilder, Reads, States, WriteTx, append_in, put_card_in, reset_card_in,
    with_state_in,
};
use super::nonces::Nonces;
use super::{Appended, CHANGE_BY_KEY, CHANGE_BY_RESET, Put, Reset, StoreError};

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
        new BLOB NOT NULL,
        kind TEXT NOT NULL DEFAULT 'key'
    );
    CREATE TABLE IF NOT EXISTS listing (
        handle TEXT NOT NULL,
        collection BLOB NOT NULL,
        PRIMARY KEY (handle, collection)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS usage (
        handle TEXT PRIMARY KEY NOT NULL,
        bytes INTEGER NOT NULL
    ) WITHOUT ROWID;
";

/// The sign-in and link-device tables (`signin.rs`, `devices.rs`).
const SIGNIN_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS signin (
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        record BLOB NOT NULL,
        locker BLOB NOT NULL,
        PRIMARY KEY (handle, kind)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS signin_pending (
        id BLOB PRIMARY KEY NOT NULL,
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        state BLOB NOT NULL,
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS link_devices (
        collection BLOB NOT NULL,
        link BLOB NOT NULL,
        device BLOB NOT NULL,
        registered_at INTEGER NOT NULL,
        PRIMARY KEY (collection, link, device)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS signin_attempts (
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        win INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (handle, kind)
    ) WITHOUT ROWID;
";

/// The writer's side: the one connection that writes, and the verified
/// state of each collection it has seen. Kept under one lock, so the cache
/// and the database change together.
pub(super) struct Writer {
    pub(super) conn: Connection,
    states: States,
}

/// The SQLite databases of a data folder.
pub(super) struct Sqlite {
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    nonces: Nonces,
    quota: Option<u64>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    Ok(conn)
}

impl Sqlite {
    /// Opens (creating if needed) the databases in `dir`, which the caller
    /// holds locked, and the server's id kept in `meta`.
    pub(super) fn open(dir: &Path) -> Result<(Self, ServerId), StoreError> {
        let db = dir.join("sealshare.db");
        let conn = open_connection(&db)?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        conn.execute_batch(SIGNIN_SCHEMA)?;
        let server_id = server_id(&conn)?;
        let reader = open_connection(&db)?;
        let nonces = Nonces::open(&dir.join("nonces.db"))?;
        let db = Self {
            writer: Mutex::new(Writer {
                conn,
                states: States::new(),
            }),
            reader: Mutex::new(reader),
            nonces,
            quota: None,
        };
        Ok((db, server_id))
    }

    // A panic while a lock is held cannot leave the database half-changed
    // (an open transaction rolls back when dropped) nor the cache wrong (an
    // append takes the state out of the cache and puts it back only once
    // stored), so a poisoned lock is taken over.
    pub(super) fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `f` in a `BEGIN IMMEDIATE` transaction of the writer's connection.
    fn write<R>(
        &self,
        f: impl FnOnce(Tx<'_>, &mut States) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut guard = self.writer();
        let Writer { conn, states } = &mut *guard;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        f(Tx(tx, self.quota), states)
    }
}

impl Database for Sqlite {
    fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Appended, StoreError> {
        self.write(|tx, states| append_in(tx, states, collection, seq, bytes, signer, now))
    }

    fn put_card(
        &self,
        handle: &str,
        canonical: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Put, StoreError> {
        self.write(|tx, _| put_card_in(tx, handle, canonical, signer, now))
    }

    fn with_state(
        &self,
        collection: &CollectionId,
        f: &mut dyn FnMut(&LogState, &mut dyn Reads) -> bool,
    ) -> Result<Option<bool>, StoreError> {
        let mut guard = self.writer();
        let Writer { conn, states } = &mut *guard;
        with_state_in(&mut Conn(conn), states, collection, f)
    }

    fn fetch(
        &self,
        collection: &CollectionId,
        from: i64,
        page: &mut PageBuilder,
    ) -> Result<(), StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT bytes FROM operations WHERE collection = ?1 AND seq >= ?2
             ORDER BY seq LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![&collection.0[..], from, page.row_limit()])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            if !page.fits(bytes.len()) {
                break;
            }
            page.push(bytes);
        }
        Ok(())
    }

    fn log_len(&self, collection: &CollectionId) -> Result<u64, StoreError> {
        log_len(&self.reader(), collection)
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT collection FROM listing WHERE handle = ?1 ORDER BY collection",
        )?;
        let rows = stmt.query_map(params![handle], |r| r.get::<_, Vec<u8>>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn card(&self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        card(&self.reader(), handle)
    }

    fn card_changes(&self, handle: &str) -> Result<u64, StoreError> {
        let n: i64 = self.reader().query_row(
            "SELECT COUNT(*) FROM card_changes WHERE handle = ?1",
            params![handle],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn reset_card(&self, handle: &str, canonical: &[u8], now: u64) -> Result<Reset, StoreError> {
        self.write(|tx, _| reset_card_in(tx, handle, canonical, now))
    }

    fn last_reset(&self, handle: &str) -> Result<Option<u64>, StoreError> {
        let at: Option<i64> = self.reader().query_row(
            "SELECT MAX(replaced_at) FROM card_changes WHERE handle = ?1 AND kind = ?2",
            params![handle, CHANGE_BY_RESET],
            |r| r.get(0),
        )?;
        Ok(at.map(|at| u64::try_from(at).unwrap_or(0)))
    }

    fn claim_nonce(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.nonces.claim(key, nonce, expires, now)
    }

    fn set_quota(&mut self, quota: Option<u64>) {
        self.quota = quota;
    }

    fn quota(&self) -> Option<u64> {
        self.quota
    }

    fn usage(&self, handle: &str) -> Result<u64, StoreError> {
        usage(&self.reader(), handle)
    }

    fn charge(&self, handle: &str, bytes: u64) -> Result<(), StoreError> {
        self.write(|mut tx, _| {
            tx.charge(handle, bytes, Charge::Admitted)?;
            tx.commit()
        })
    }
}

/// How many bytes `handle` stores.
fn usage(conn: &Connection, handle: &str) -> Result<u64, StoreError> {
    let bytes: Option<i64> = conn
        .query_row(
            "SELECT bytes FROM usage WHERE handle = ?1",
            params![handle],
            |r| r.get(0),
        )
        .optional()?;
    Ok(bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0)))
}

/// Brings the tables of a database made by an earlier version up to date:
/// `card_changes.kind` (every earlier change was by key).
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_kind: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('card_changes') WHERE name = 'kind')",
        [],
        |r| r.get(0),
    )?;
    if !has_kind {
        conn.execute_batch("ALTER TABLE card_changes ADD COLUMN kind TEXT NOT NULL DEFAULT 'key'")?;
    }
    Ok(())
}

/// A write transaction of the writer's connection, and the quota.
struct Tx<'a>(Transaction<'a>, Option<u64>);

/// A connection outside any transaction of ours.
struct Conn<'a>(&'a Connection);

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
        log_len(&self.0, collection)
    }
    fn operations(&mut self, collection: &CollectionId) -> Result<Vec<Vec<u8>>, StoreError> {
        operations(&self.0, collection)
    }
    fn card(&mut self, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
        card(&self.0, handle)
    }
}

impl WriteTx for Tx<'_> {
    fn insert_operation(
        &mut self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let seq =
            i64::try_from(seq).map_err(|_| StoreError::Damaged("a position past i64".into()))?;
        self.0.execute(
            "INSERT INTO operations (collection, seq, bytes) VALUES (?1, ?2, ?3)",
            params![&collection.0[..], seq, bytes],
        )?;
        Ok(())
    }

    fn set_listed(
        &mut self,
        handle: &str,
        collection: &CollectionId,
        listed: bool,
    ) -> Result<(), StoreError> {
        let sql = if listed {
            "INSERT OR IGNORE INTO listing (handle, collection) VALUES (?1, ?2)"
        } else {
            "DELETE FROM listing WHERE handle = ?1 AND collection = ?2"
        };
        self.0.execute(sql, params![handle, &collection.0[..]])?;
        Ok(())
    }

    fn insert_card(&mut self, handle: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO cards (handle, bytes) VALUES (?1, ?2)",
            params![handle, bytes],
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
            .execute("DELETE FROM signin WHERE handle = ?1", params![handle])?;
        self.0.execute(
            "DELETE FROM signin_pending WHERE handle = ?1",
            params![handle],
        )?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    fn charge(&mut self, handle: &str, bytes: u64, what: Charge) -> Result<(), StoreError> {
        // The writer's transactions are serialized: read, check, write.
        let used = usage(&self.0, handle)?;
        let total = used.saturating_add(bytes);
        if let (Some(quota), Some(limit)) = (self.1, what.limit(self.1))
            && total > limit
        {
            return Err(StoreError::QuotaExceeded {
                handle: handle.to_owned(),
                used,
                quota,
            });
        }
        self.0.execute(
            "INSERT INTO usage (handle, bytes) VALUES (?1, ?2) \
             ON CONFLICT (handle) DO UPDATE SET bytes = excluded.bytes",
            params![handle, i64::try_from(total).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit()?)
    }
}

fn card(conn: &Connection, handle: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT bytes FROM cards WHERE handle = ?1",
            params![handle],
            |r| r.get(0),
        )
        .optional()?)
}

fn operations(conn: &Connection, collection: &CollectionId) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM operations WHERE collection = ?1 ORDER BY seq")?;
    let ops = stmt
        .query_map(params![&collection.0[..]], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ops)
}

/// The length of a log: positions are contiguous from 0 (every append lands
/// at the length), so the last position plus one; one index lookup.
fn log_len(conn: &Connection, collection: &CollectionId) -> Result<u64, StoreError> {
    let last: Option<i64> = conn.query_row(
        "SELECT MAX(seq) FROM operations WHERE collection = ?1",
        params![&collection.0[..]],
        |r| r.get(0),
    )?;
    Ok(last.map_or(0, |l| u64::try_from(l).map_or(0, |l| l + 1)))
}

/// The server's id, made on the first start and kept in `meta`.
fn server_id(conn: &Connection) -> Result<ServerId, StoreError> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE name = 'server_id'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(bytes) = stored {
        return super::server_id_from(&bytes);
    }
    let id = super::new_server_id()?;
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('server_id', ?1)",
        params![&id.0[..]],
    )?;
    Ok(id)
}

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
        self.0.execute(
            "INSERT INTO cards (handle, bytes) VALUES (?1, ?2)
             ON CONFLICT (handle) DO UPDATE SET bytes = ?2",
            params![handle, new],
        )?;
        self.0.execute(
            "INSERT INTO card_changes (handle, replaced_at, old, new, kind)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                handle,
                i64::try_from(now).unwrap_or(i64::MAX),
                old,
                new,
                kind
            ],
        )?;
        Ok(())
    }
}
