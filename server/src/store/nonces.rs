//! The nonces of accepted requests, kept until their requests expire, so a
//! captured request is accepted once, not once per restart.
//!
//! They live in their own database, `nonces.db`, beside `sealshare.db`: a
//! claim is a write on every request, and in its own file it never waits for
//! an append's transaction nor makes one wait. Its commits are not synced to
//! disk (`synchronous = OFF`, in WAL mode): a process killed at any point
//! loses no committed claim (the operating system has the writes); only a
//! power failure can, and a machine takes longer to come back from one than
//! a request lives ([`sealshare::MAX_REQUEST_LIFETIME`]).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, params};

use super::StoreError;

/// How many claims between two sweeps of expired nonces.
pub(super) const SWEEP_EVERY: u64 = 1024;

/// The nonces seen, with their requests' expiry.
pub(super) struct Nonces {
    conn: Mutex<Connection>,
    claims: AtomicU64,
}

impl Nonces {
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
             CREATE TABLE IF NOT EXISTS nonces (
                 key BLOB NOT NULL,
                 nonce BLOB NOT NULL,
                 expires INTEGER NOT NULL,
                 PRIMARY KEY (key, nonce)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires);",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
            claims: AtomicU64::new(0),
        })
    }

    /// Records `nonce` of a request signed by `key` and valid until
    /// `expires`; false if it was recorded before (a replay). Every
    /// [`SWEEP_EVERY`] claims, nonces whose requests expired before `now`
    /// are dropped: such a request is refused for its expiry anyway.
    pub(super) fn claim(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let expires = i64::try_from(expires).unwrap_or(i64::MAX);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if self
            .claims
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            let now = i64::try_from(now).unwrap_or(i64::MAX);
            conn.execute("DELETE FROM nonces WHERE expires < ?1", params![now])?;
        }
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO nonces (key, nonce, expires) VALUES (?1, ?2, ?3)",
            params![&key[..], &nonce[..], expires],
        )?;
        Ok(inserted == 1)
    }
}
