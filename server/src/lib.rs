//! The sealshare reference server: stores collections' logs, identity cards
//! and content blobs, verifies every append with the keyless verifier as
//! every client would, keeps the index behind `collections_of`, and serves it
//! all over HTTP under `/v1` (docs/server.md).
//!
//! This is the first piece: an embedded store (SQLite and files) and the
//! routes, with no authentication, so the binary listens on loopback only,
//! over plain HTTP or TLS ([`tls`]).

pub mod api;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use api::{Clock, router};
pub use store::{Store, StoreError};

/// Why the server was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// There is no authentication yet: an address other than loopback would
    /// open every collection's log, cards and blobs to the network.
    #[error(
        "refusing to listen on {0}: this server has no authentication yet, so it listens only on a loopback address (127.0.0.0/8 or ::1)"
    )]
    NotLoopback(SocketAddr),
}

/// Accepts `addr` only if it is a loopback address.
pub fn check_listen(addr: SocketAddr) -> Result<SocketAddr, StartError> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(StartError::NotLoopback(addr))
    }
}

/// The API over `store`, verifying appends with the system clock.
pub fn app(store: Arc<Store>) -> axum::Router {
    router(store, Arc::new(sealshare::system_time))
}
