//! What signing in on a new device needs kept (`crate::signin`): the OPAQUE
//! server setup (made on the first start, secret), each handle's OPAQUE
//! records and lockers by kind (`password`, `recovery`), logins between
//! their two steps, and the attempts counted against the limit.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// A login between its two steps lives this long (seconds).
pub const PENDING_LOGIN_LIFETIME: u64 = 120;
/// How many login starts a handle and kind may make per window.
pub const MAX_LOGIN_ATTEMPTS: u32 = 10;
/// The window attempts are counted in (seconds).
pub const ATTEMPT_WINDOW: u64 = 15 * 60;

pub(super) const SCHEMA: &str = "
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
    CREATE TABLE IF NOT EXISTS signin_attempts (
        handle TEXT NOT NULL,
        kind TEXT NOT NULL,
        window INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (handle, kind)
    ) WITHOUT ROWID;
";

/// A handle's OPAQUE record and its locker, for one kind of secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// OPAQUE's registration record (`ServerRegistration`).
    pub record: Vec<u8>,
    /// The client's locker: the keystore sealed under OPAQUE's export key.
    pub locker: Vec<u8>,
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// The OPAQUE server setup, made by `make` and kept on the first call.
    pub fn signin_setup(&self, make: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let guard = self.writer();
        let stored: Option<Vec<u8>> = guard
            .conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'opaque_setup'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(bytes) = stored {
            return Ok(bytes);
        }
        let bytes = make();
        guard.conn.execute(
            "INSERT INTO meta (name, value) VALUES ('opaque_setup', ?1)",
            params![bytes],
        )?;
        Ok(bytes)
    }

    /// Keeps `handle`'s OPAQUE `record` and `locker` for `kind`, replacing
    /// what was there.
    pub fn put_signin(
        &self,
        handle: &str,
        kind: &str,
        record: &[u8],
        locker: &[u8],
    ) -> Result<(), StoreError> {
        self.writer().conn.execute(
            "INSERT INTO signin (handle, kind, record, locker) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (handle, kind) DO UPDATE SET record = ?3, locker = ?4",
            params![handle, kind, record, locker],
        )?;
        Ok(())
    }

    /// `handle`'s OPAQUE record and locker for `kind`, if registered.
    pub fn signin(&self, handle: &str, kind: &str) -> Result<Option<Registration>, StoreError> {
        Ok(self
            .reader()
            .query_row(
                "SELECT record, locker FROM signin WHERE handle = ?1 AND kind = ?2",
                params![handle, kind],
                |r| {
                    Ok(Registration {
                        record: r.get(0)?,
                        locker: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Counts a login start for `handle` and `kind` at `now`: false once
    /// [`MAX_LOGIN_ATTEMPTS`] were made in the current window.
    pub fn count_login_attempt(
        &self,
        handle: &str,
        kind: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let window = int(now / ATTEMPT_WINDOW);
        let mut guard = self.writer();
        let tx = guard.conn.transaction()?;
        let row: Option<(i64, i64)> = tx
            .query_row(
                "SELECT window, count FROM signin_attempts WHERE handle = ?1 AND kind = ?2",
                params![handle, kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let count = match row {
            Some((w, count)) if w == window => count,
            _ => 0,
        };
        if count >= i64::from(MAX_LOGIN_ATTEMPTS) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO signin_attempts (handle, kind, window, count) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (handle, kind) DO UPDATE SET window = ?3, count = ?4",
            params![handle, kind, window, count + 1],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Keeps a login's server state until `expires` (and sweeps those past).
    pub fn put_pending_login(
        &self,
        id: &[u8; 16],
        handle: &str,
        kind: &str,
        state: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        let guard = self.writer();
        guard.conn.execute(
            "DELETE FROM signin_pending WHERE expires < ?1",
            params![int(now)],
        )?;
        guard.conn.execute(
            "INSERT INTO signin_pending (id, handle, kind, state, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&id[..], handle, kind, state, int(now.saturating_add(PENDING_LOGIN_LIFETIME))],
        )?;
        Ok(())
    }

    /// Takes (once) the login `id` for `handle` and `kind`, if it is still
    /// pending at `now`.
    pub fn take_pending_login(
        &self,
        id: &[u8; 16],
        handle: &str,
        kind: &str,
        now: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut guard = self.writer();
        let tx = guard.conn.transaction()?;
        let state: Option<(Vec<u8>, String, String, i64)> = tx
            .query_row(
                "SELECT state, handle, kind, expires FROM signin_pending WHERE id = ?1",
                params![&id[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        tx.execute("DELETE FROM signin_pending WHERE id = ?1", params![&id[..]])?;
        tx.commit()?;
        Ok(state.and_then(|(state, h, k, expires)| {
            (h == handle && k == kind && expires >= int(now)).then_some(state)
        }))
    }
}
