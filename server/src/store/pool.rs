//! Connections to PostgreSQL: opened as needed, up to a bound, and kept for
//! the next request; one that breaks (the database restarted, the network
//! failed) is dropped, so its request fails and the next one connects anew.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::StoreError;

/// How long a request waits for a connection when all are in use.
const WAIT: Duration = Duration::from_secs(30);

/// Which certificates the server trusts as roots for TLS to PostgreSQL.
#[derive(Debug, Clone, Default)]
pub enum PostgresRoots {
    /// The system's (`/etc/ssl/certs` and the like).
    #[default]
    System,
    /// Only those in this PEM text (one or more `CERTIFICATE` blocks): for
    /// a database whose certificate is self-signed or from a private CA.
    Pem(Vec<u8>),
}

/// A database to connect to: the URL's settings, and TLS if the URL asks
/// for it (`sslmode=require`). With TLS, the database's certificate must
/// chain to the trusted roots and name the URL's host; without, the
/// connection is plain TCP (`sslmode` unset, `prefer` or `disable`).
#[derive(Clone)]
pub(super) struct Endpoint {
    pub(super) config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl Endpoint {
    /// `config`, over TLS trusting `roots` if it says `sslmode=require`.
    pub(super) fn new(config: Config, roots: &PostgresRoots) -> Result<Self, StoreError> {
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(MakeRustlsConnect::new(client_config(roots)?)),
            _ => None,
        };
        Ok(Self { config, tls })
    }
}

/// The rustls settings of connections to PostgreSQL: ring, TLS 1.2 and 1.3,
/// trusting `roots`.
fn client_config(roots: &PostgresRoots) -> Result<rustls::ClientConfig, StoreError> {
    let bad = |what: String| StoreError::PostgresTls(what);
    let mut store = rustls::RootCertStore::empty();
    match roots {
        PostgresRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(bad(format!(
                    "no root certificate found on this system ({} errors); give --postgres-roots",
                    found.errors.len()
                )));
            }
        }
        PostgresRoots::Pem(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| bad(format!("the roots are not PEM: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| bad(format!("a root certificate does not parse: {e}")))?;
            }
            if store.is_empty() {
                return Err(bad("the roots hold no PEM CERTIFICATE block".to_owned()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth())
}

/// Opens a connection to `db`.
pub(super) fn connect(db: &Endpoint) -> Result<Client, StoreError> {
    Ok(match &db.tls {
        None => db.config.connect(NoTls)?,
        Some(tls) => db.config.connect(tls.clone())?,
    })
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
    db: &Endpoint,
) -> Result<&'a mut Client, StoreError> {
    if conn.as_ref().is_none_or(Client::is_closed) {
        *conn = None;
    }
    match conn {
        Some(client) => Ok(client),
        None => Ok(conn.insert(connect(db)?)),
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
    db: Endpoint,
    max: usize,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl Pool {
    /// A pool of at most `max` connections to `db`; none is opened yet.
    pub(super) fn new(db: Endpoint, max: usize) -> Self {
        Self {
            db,
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
                return connect(&self.db).inspect_err(|_| {
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
