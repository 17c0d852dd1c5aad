//! What every handler shares: the store and the clock ([`AppState`]), store
//! calls on the blocking pool, the ids in paths, and the answers' shapes
//! (JSON, octets). Below the routes (`crate::api`), the signature checks
//! (`crate::auth`) and sign-in (`crate::signin`), which all use it.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealshare::{CollectionId, body_digest};
use serde::Serialize;

use crate::error::ApiError;
use crate::store::{Store, StoreError, parse_blob_id};

/// The clock appends and signatures are checked with, in seconds since the
/// Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What every handler reaches.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) clock: Clock,
}

/// A handler's answer: a response, or a refusal as JSON.
pub(crate) type Answer = Result<Response, ApiError>;

/// Runs `f` on the blocking pool (SQLite, files, verification).
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// The collection id in a path.
pub(crate) fn collection_id(text: &str) -> Result<CollectionId, ApiError> {
    CollectionId::from_text(text)
        .map_err(|e| ApiError::malformed(format!("not a collection id: {e}")))
}

/// The blob id in a path.
pub(crate) fn blob_id(text: &str) -> Result<[u8; 32], ApiError> {
    parse_blob_id(text)
        .ok_or_else(|| ApiError::malformed("a blob id is 64 lowercase hexadecimal digits"))
}

/// The empty body's digest, for requests without one.
pub(crate) fn no_body() -> [u8; 32] {
    body_digest(b"")
}

/// `bytes` as `application/octet-stream`.
pub(crate) fn octets(bytes: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        bytes,
    )
        .into_response()
}

/// `value` as JSON, with `status`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Answer {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(&e))?;
    Ok((
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
