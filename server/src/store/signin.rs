//! What signing in on a new device needs kept (`crate::signin`): the OPAQUE
//! server setup (made on the first start of any process, secret), each
//! handle's OPAQUE records and lockers by kind (`password`, `recovery`),
//! logins between their two steps (in the database, so the two requests may
//! reach different processes), and the attempts counted against the limit.
//! The SQL is in `signin_sqlite.rs` and `signin_postgres.rs`.

use super::{Store, StoreError};

/// A login between its two steps lives this long (seconds).
pub const PENDING_LOGIN_LIFETIME: u64 = 120;
/// How many login starts a handle and kind may make per window.
pub const MAX_LOGIN_ATTEMPTS: u32 = 10;
/// The window attempts are counted in (seconds).
pub const ATTEMPT_WINDOW: u64 = 15 * 60;

/// A handle's OPAQUE record and its locker, for one kind of secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// OPAQUE's registration record (`ServerRegistration`).
    pub record: Vec<u8>,
    /// The client's locker: the keystore sealed under OPAQUE's export key.
    pub locker: Vec<u8>,
}

/// A pending login, as stored.
pub(super) struct Pending {
    pub(super) state: Vec<u8>,
    pub(super) handle: String,
    pub(super) kind: String,
    pub(super) expires: i64,
}

/// What a database keeps for signing in; each method is one unit.
pub(super) trait SigninDb {
    /// The value `name` of `meta`, inserted as `make()` if missing (the
    /// first insert of any process wins).
    fn meta_or_insert(&self, name: &str, make: &dyn Fn() -> Vec<u8>)
    -> Result<Vec<u8>, StoreError>;
    /// Keeps (replacing) `handle`'s registration for `kind`.
    fn put_signin(&self, handle: &str, kind: &str, reg: &Registration) -> Result<(), StoreError>;
    /// `handle`'s registration for `kind`.
    fn signin(&self, handle: &str, kind: &str) -> Result<Option<Registration>, StoreError>;
    /// Counts one attempt in `window`; the count, this one included.
    fn count_attempt(&self, handle: &str, kind: &str, window: i64) -> Result<i64, StoreError>;
    /// Keeps a pending login (and drops those expired before `now`).
    fn put_pending(&self, id: &[u8; 16], pending: &Pending, now: i64) -> Result<(), StoreError>;
    /// Takes (deletes and returns) the pending login `id`.
    fn take_pending(&self, id: &[u8; 16]) -> Result<Option<Pending>, StoreError>;
}

pub(super) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// The OPAQUE server setup, made by `make` and kept on the first call
    /// of any process on this database.
    pub fn signin_setup(&self, make: impl Fn() -> Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.db.meta_or_insert("opaque_setup", &make)
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
        self.db.put_signin(
            handle,
            kind,
            &Registration {
                record: record.to_vec(),
                locker: locker.to_vec(),
            },
        )
    }

    /// `handle`'s OPAQUE record and locker for `kind`, if registered.
    pub fn signin(&self, handle: &str, kind: &str) -> Result<Option<Registration>, StoreError> {
        self.db.signin(handle, kind)
    }

    /// Counts a login start for `handle` and `kind` at `now`: false once
    /// [`MAX_LOGIN_ATTEMPTS`] were made in the current window.
    pub fn count_login_attempt(
        &self,
        handle: &str,
        kind: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let count = self
            .db
            .count_attempt(handle, kind, int(now / ATTEMPT_WINDOW))?;
        Ok(count <= i64::from(MAX_LOGIN_ATTEMPTS))
    }

    /// Keeps a login's server state for [`PENDING_LOGIN_LIFETIME`].
    pub fn put_pending_login(
        &self,
        id: &[u8; 16],
        handle: &str,
        kind: &str,
        state: &[u8],
        now: u64,
    ) -> Result<(), StoreError> {
        let pending = Pending {
            state: state.to_vec(),
            handle: handle.to_owned(),
            kind: kind.to_owned(),
            expires: int(now.saturating_add(PENDING_LOGIN_LIFETIME)),
        };
        self.db.put_pending(id, &pending, int(now))
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
        Ok(self.db.take_pending(id)?.and_then(|p| {
            (p.handle == handle && p.kind == kind && p.expires >= int(now)).then_some(p.state)
        }))
    }
}
