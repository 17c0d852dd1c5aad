//! The sign-in tables on PostgreSQL, shared by every server process on the
//! database (`signin.rs` says what they keep; `postgres.rs` makes them).

use sealshare::{CollectionId, LinkId};

use super::StoreError;
use super::devices::{DevicesDb, Registered};
use super::postgres::Postgres;
use super::postgres::{Lock, lock_key};
use super::signin::{Pending, Registration, SigninDb};

/// Whether `text` can be stored as PostgreSQL text (no NUL).
fn storable(text: &str) -> bool {
    !text.contains('\0')
}

impl SigninDb for Postgres {
    fn meta_or_insert(
        &self,
        name: &str,
        make: &dyn Fn() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        self.pool.run(|client| {
            if let Some(row) =
                client.query_opt("SELECT value FROM meta WHERE name = $1", &[&name])?
            {
                return Ok(row.try_get(0)?);
            }
            let made = make();
            // The first insert of any process wins; everyone reads it back.
            client.execute(
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &made],
            )?;
            Ok(client
                .query_one("SELECT value FROM meta WHERE name = $1", &[&name])?
                .try_get(0)?)
        })
    }

    fn put_signin(&self, handle: &str, kind: &str, reg: &Registration) -> Result<(), StoreError> {
        if !storable(handle) {
            return Err(StoreError::Damaged("a handle with a NUL character".into()));
        }
        self.pool.run(|client| {
            client.execute(
                "INSERT INTO signin (handle, kind, record, locker) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (handle, kind) DO UPDATE SET record = $3, locker = $4",
                &[&handle, &kind, &reg.record, &reg.locker],
            )?;
            Ok(())
        })
    }

    fn signin(&self, handle: &str, kind: &str) -> Result<Option<Registration>, StoreError> {
        if !storable(handle) {
            return Ok(None);
        }
        self.pool.run(|client| {
            let row = client.query_opt(
                "SELECT record, locker FROM signin WHERE handle = $1 AND kind = $2",
                &[&handle, &kind],
            )?;
            Ok(match row {
                Some(row) => Some(Registration {
                    record: row.try_get(0)?,
                    locker: row.try_get(1)?,
                }),
                None => None,
            })
        })
    }

    fn count_attempt(&self, handle: &str, kind: &str, window: i64) -> Result<i64, StoreError> {
        if !storable(handle) {
            return Ok(i64::MAX);
        }
        self.pool.run(|client| {
            Ok(client
                .query_one(
                    "INSERT INTO signin_attempts (handle, kind, win, count) VALUES ($1, $2, $3, 1)
                     ON CONFLICT (handle, kind) DO UPDATE SET
                         count = CASE WHEN signin_attempts.win = $3
                                      THEN signin_attempts.count + 1 ELSE 1 END,
                         win = $3
                     RETURNING count",
                    &[&handle, &kind, &window],
                )?
                .try_get(0)?)
        })
    }

    fn put_pending(&self, id: &[u8; 16], p: &Pending, now: i64) -> Result<(), StoreError> {
        if !storable(&p.handle) {
            return Err(StoreError::Damaged("a handle with a NUL character".into()));
        }
        let id: &[u8] = id;
        self.pool.run(|client| {
            client.execute("DELETE FROM signin_pending WHERE expires < $1", &[&now])?;
            client.execute(
                "INSERT INTO signin_pending (id, handle, kind, state, expires)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, &p.handle, &p.kind, &p.state, &p.expires],
            )?;
            Ok(())
        })
    }

    fn take_pending(&self, id: &[u8; 16]) -> Result<Option<Pending>, StoreError> {
        let id: &[u8] = id;
        self.pool.run(|client| {
            let row = client.query_opt(
                "DELETE FROM signin_pending WHERE id = $1 RETURNING state, handle, kind, expires",
                &[&id],
            )?;
            Ok(match row {
                Some(row) => Some(Pending {
                    state: row.try_get(0)?,
                    handle: row.try_get(1)?,
                    kind: row.try_get(2)?,
                    expires: row.try_get(3)?,
                }),
                None => None,
            })
        })
    }
}

impl DevicesDb for Postgres {
    fn register_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
        limit: u32,
        now: i64,
    ) -> Result<Registered, StoreError> {
        let (c, l, d): (&[u8], &[u8], &[u8]) = (&collection.0, &link.0, device);
        let key = lock_key(Lock::Collection, &[c, l].concat());
        self.pool.run(|client| {
            let mut tx = client.transaction()?;
            // Registrations for one link wait for each other, in every
            // process: the count and the insert see the same devices.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
            let known = tx.query_opt(
                "SELECT 1 FROM link_devices WHERE collection = $1 AND link = $2 AND device = $3",
                &[&c, &l, &d],
            )?;
            if known.is_some() {
                return Ok(Registered::Already);
            }
            let count: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM link_devices WHERE collection = $1 AND link = $2",
                    &[&c, &l],
                )?
                .try_get(0)?;
            if count >= i64::from(limit) {
                return Ok(Registered::Full);
            }
            tx.execute(
                "INSERT INTO link_devices (collection, link, device, registered_at) VALUES ($1, $2, $3, $4)",
                &[&c, &l, &d, &now],
            )?;
            tx.commit()?;
            Ok(Registered::Now)
        })
    }

    fn is_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
    ) -> Result<bool, StoreError> {
        let (c, l, d): (&[u8], &[u8], &[u8]) = (&collection.0, &link.0, device);
        self.pool.run(|client| {
            Ok(client
                .query_opt(
                    "SELECT 1 FROM link_devices WHERE collection = $1 AND link = $2 AND device = $3",
                    &[&c, &l, &d],
                )?
                .is_some())
        })
    }
}
