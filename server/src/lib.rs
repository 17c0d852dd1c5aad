//! The sealshare reference server: stores collections' logs, identity cards
//! and content blobs, verifies every append with the keyless verifier as
//! every client would, keeps the index behind `collections_of`, and serves it
//! all over HTTP under `/v1` (docs/server.md).
//!
//! This is the first piece: an embedded store (SQLite and files) and the
//! routes, with no authentication, so the binary listens on loopback only,
//! over plain HTTP or TLS ([`tls`]).

pub mod api;
mod auth;
mod error;
pub mod limits;
pub mod signin;
mod state;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use api::{Clock, router};
pub use error::ApiError;
pub use store::{Store, StoreError};

/// Why the server was not started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Plain HTTP on an address other than loopback: signed requests do not
    /// hide what they carry, and who talks to whom, from the network.
    #[error(
        "refusing to serve plain HTTP on {0}: beyond a loopback address (127.0.0.0/8 or ::1) the server terminates TLS itself (--tls-cert, --tls-key), or says it sits behind a TLS proxy (--behind-proxy)"
    )]
    PlainBeyondLoopback(SocketAddr),
}

/// Accepts `addr` if it is a loopback address, or if the server terminates
/// TLS (`tls`), or sits behind a proxy that does (`behind_proxy`).
pub fn check_listen(
    addr: SocketAddr,
    tls: bool,
    behind_proxy: bool,
) -> Result<SocketAddr, StartError> {
    if addr.ip().is_loopback() || tls || behind_proxy {
        Ok(addr)
    } else {
        Err(StartError::PlainBeyondLoopback(addr))
    }
}

/// The API over `store`, verifying appends with the system clock, each
/// client address held to `limit`.
pub fn app(store: Arc<Store>, limit: limits::RateLimit) -> axum::Router {
    let limiter = Arc::new(limits::RateLimiter::new(limit));
    router(store, Arc::new(sealshare::system_time)).layer(axum::middleware::from_fn_with_state(
        limiter,
        limits::limit_requests,
    ))
}
