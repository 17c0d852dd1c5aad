//! The sign-in tables on SQLite (`signin.rs` says what they keep;
//! `sqlite.rs` makes them).

use rusqlite::{OptionalExtension, params};

use rusqlite::TransactionBehavior;
use sealshare::{CollectionId, LinkId};

use super::StoreError;
use super::devices::{DevicesDb, Registered};
use super::signin::{Pending, Registration, SigninDb};
use super::sqlite::Sqlite;

impl SigninDb for Sqlite {
    fn meta_or_insert(
        &self,
        name: &str,
        make: &dyn Fn() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        let guard = self.writer();
        let stored: Option<Vec<u8>> = guard
            .conn
            .query_row(
                "SELECT value FROM meta WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(bytes) = stored {
            return Ok(bytes);
        }
        let bytes = make();
        guard.conn.execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2)",
            params![name, bytes],
        )?;
        Ok(bytes)
    }

    fn put_signin(&self, handle: &str, kind: &str, reg: &Registration) -> Result<(), StoreError> {
        self.writer().conn.execute(
            "INSERT INTO signin (handle, kind, record, locker) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (handle, kind) DO UPDATE SET record = ?3, locker = ?4",
            params![handle, kind, reg.record, reg.locker],
        )?;
        Ok(())
    }

    fn signin(&self, handle: &str, kind: &str) -> Result<Option<Registration>, StoreError> {
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

    fn count_attempt(&self, handle: &str, kind: &str, window: i64) -> Result<i64, StoreError> {
        Ok(self.writer().conn.query_row(
            "INSERT INTO signin_attempts (handle, kind, win, count) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (handle, kind) DO UPDATE SET
                 count = CASE WHEN win = ?3 THEN count + 1 ELSE 1 END,
                 win = ?3
             RETURNING count",
            params![handle, kind, window],
            |r| r.get(0),
        )?)
    }

    fn put_pending(&self, id: &[u8; 16], p: &Pending, now: i64) -> Result<(), StoreError> {
        let guard = self.writer();
        guard.conn.execute(
            "DELETE FROM signin_pending WHERE expires < ?1",
            params![now],
        )?;
        guard.conn.execute(
            "INSERT INTO signin_pending (id, handle, kind, state, expires)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&id[..], p.handle, p.kind, p.state, p.expires],
        )?;
        Ok(())
    }

    fn take_pending(&self, id: &[u8; 16]) -> Result<Option<Pending>, StoreError> {
        Ok(self
            .writer()
            .conn
            .query_row(
                "DELETE FROM signin_pending WHERE id = ?1
                 RETURNING state, handle, kind, expires",
                params![&id[..]],
                |r| {
                    Ok(Pending {
                        state: r.get(0)?,
                        handle: r.get(1)?,
                        kind: r.get(2)?,
                        expires: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}

impl DevicesDb for Sqlite {
    fn register_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
        limit: u32,
        now: i64,
    ) -> Result<Registered, StoreError> {
        let mut guard = self.writer();
        let tx = guard
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (c, l, d) = (&collection.0[..], &link.0[..], &device[..]);
        let known: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM link_devices WHERE collection = ?1 AND link = ?2 AND device = ?3)",
            params![c, l, d],
            |r| r.get(0),
        )?;
        if known {
            return Ok(Registered::Already);
        }
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM link_devices WHERE collection = ?1 AND link = ?2",
            params![c, l],
            |r| r.get(0),
        )?;
        if count >= i64::from(limit) {
            return Ok(Registered::Full);
        }
        tx.execute(
            "INSERT INTO link_devices (collection, link, device, registered_at) VALUES (?1, ?2, ?3, ?4)",
            params![c, l, d, now],
        )?;
        tx.commit()?;
        Ok(Registered::Now)
    }

    fn is_device(
        &self,
        collection: &CollectionId,
        link: &LinkId,
        device: &[u8; 32],
    ) -> Result<bool, StoreError> {
        Ok(self.reader().query_row(
            "SELECT EXISTS (SELECT 1 FROM link_devices WHERE collection = ?1 AND link = ?2 AND device = ?3)",
            params![&collection.0[..], &link.0[..], &device[..]],
            |r| r.get(0),
        )?)
    }
}
