//! Connections to PostgreSQL: opened as needed, up to a bound, and kept for
//! the next request; one that breaks (the database restarted, the network
//! failed) is dropped, so its request fails and the next one connects anew.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::StoreError;

/// How long a request waits for a connection when all are in use.
const WAIT: Duration = Duration::from_secs(30);

/// Opens a connection with `config`, without TLS.
pub(super) fn connect(config: &Config) -> Result<Client, StoreError> {
    Ok(config.connect(NoTls)?)
}

/// Whether `e`, met on `client`, leaves the connection unusable: it is
/// closed, or the failure was not an error the database answered with (a
/// lost connection, a protocol failure), or a fatal one.
pub(super) fn breaks(client: &Client, e: &StoreError) -> bool {
    if client.is_closed() {
        return true;
    }
    match e {
        StoreError::Database(super::DatabaseError::Postgres(e)) => e
            .as_db_error()
            .is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC")),
        _ => false,
    }
}

/// `conn`, connected anew if it is missing or closed.
pub(super) fn ensure<'a>(
    conn: &'a mut Option<Client>,
    config: &Config,
) -> Result<&'a mut Client, StoreError> {
    if conn.as_ref().is_none_or(Client::is_closed) {
        *conn = None;
    }
    match conn {
        Some(client) => Ok(client),
        None => Ok(conn.insert(connect(config)?)),
    }
}

struct Slots {
    idle: Vec<Client>,
    /// Connections open, idle or in use.
    open: usize,
}

/// At most `max` connections, shared by the requests that read, claim
/// nonces and publish cards.
pub(super) struct Pool {
    config: Config,
    max: usize,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl Pool {
    /// A pool of at most `max` connections with `config`; none is opened yet.
    pub(super) fn new(config: Config, max: usize) -> Self {
        Self {
            config,
            max: max.max(1),
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    // Nothing under this lock can be left half-done by a panic (it guards a
    // list and a count), so a poisoned lock is taken over.
    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `f` on a connection of the pool: an idle one, a new one, or the
    /// first one freed within [`WAIT`]. A connection `f` breaks is dropped.
    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.take()?;
        let result = f(&mut client);
        let keep = match &result {
            Err(e) => !breaks(&client, e),
            Ok(_) => !client.is_closed(),
        };
        let mut slots = self.slots();
        if keep {
            slots.idle.push(client);
        } else {
            slots.open = slots.open.saturating_sub(1);
        }
        drop(slots);
        self.freed.notify_one();
        result
    }

    /// The idle connections, taken out of the pool (to close them).
    pub(super) fn drain(&mut self) -> Vec<Client> {
        let slots = self.slots.get_mut().unwrap_or_else(|p| p.into_inner());
        slots.open = 0;
        std::mem::take(&mut slots.idle)
    }

    fn take(&self) -> Result<Client, StoreError> {
        let mut slots = self.slots();
        loop {
            if let Some(client) = slots.idle.pop() {
                if client.is_closed() {
                    slots.open = slots.open.saturating_sub(1);
                    continue;
                }
                return Ok(client);
            }
            if slots.open < self.max {
                slots.open += 1;
                drop(slots);
                return connect(&self.config).inspect_err(|_| {
                    let mut slots = self.slots();
                    slots.open = slots.open.saturating_sub(1);
                    drop(slots);
                    self.freed.notify_one();
                });
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(slots, WAIT)
                .unwrap_or_else(|p| p.into_inner());
            slots = next;
            if timeout.timed_out() && slots.idle.is_empty() && slots.open >= self.max {
                return Err(StoreError::Io(std::io::Error::other(format!(
                    "all {} connections to the database were in use for {} s",
                    self.max,
                    WAIT.as_secs()
                ))));
            }
        }
    }
}
