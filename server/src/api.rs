//! The HTTP API under `/v1` (docs/server.md describes every route). Every
//! answer that is not a success is JSON, `{"error": code, "message": text}`,
//! with a 4xx status for bad input and 500 for the server's own failures; a
//! handler never panics. Store calls run on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use sealshare::{CollectionId, VerifyError, Violation};
use serde::{Deserialize, Serialize};
use tokio_util::io::ReaderStream;

use crate::store::{
    Appended, MAX_BLOB_LEN, MAX_CARD_LEN, MAX_OP_LEN, Put, Store, StoreError, parse_blob_id,
};

#[path = "wait.rs"]
pub mod wait;

/// The header of a fetch answer saying whether the log holds operations
/// after those in the answer (`true` or `false`).
pub const MORE_HEADER: &str = "sealshare-more";

/// The clock appends are verified with, in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What every handler reaches.
#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    clock: Clock,
}

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    head: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            head: None,
        }
    }

    fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A failure of the server itself: the details go to its log (stderr),
    /// not to the client.
    fn internal(detail: &dyn std::fmt::Display) -> Self {
        eprintln!("sealshare-server: internal error: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
            head: self.head,
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::Refused(VerifyError::InvalidOperation {
                violation: Violation::Malformed(_),
                ..
            }) => Self::malformed(message),
            StoreError::Refused(VerifyError::NotYetValid { .. }) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not_yet_valid", message)
            }
            StoreError::Refused(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", message)
            }
            StoreError::BadCard(_) => Self::malformed(message),
            StoreError::CardHandle { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "handle_mismatch", message)
            }
            StoreError::CardExists(_) => Self::new(StatusCode::CONFLICT, "card_exists", message),
            StoreError::BlobHash { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch", message)
            }
            StoreError::BlobTooLarge => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
            }
            StoreError::Damaged(_)
            | StoreError::InUse(_)
            | StoreError::Database(_)
            | StoreError::Io(_) => Self::internal(&message),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::malformed(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::malformed(e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.body_text())
        } else {
            Self::malformed(e.body_text())
        }
    }
}

type Answer = Result<Response, ApiError>;

/// Runs `f` on the blocking pool (SQLite, files, verification).
async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

fn collection_id(text: &str) -> Result<CollectionId, ApiError> {
    CollectionId::from_text(text)
        .map_err(|e| ApiError::malformed(format!("not a collection id: {e}")))
}

fn blob_id(text: &str) -> Result<[u8; 32], ApiError> {
    parse_blob_id(text)
        .ok_or_else(|| ApiError::malformed("a blob id is 64 lowercase hexadecimal digits"))
}

fn octets(bytes: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        bytes,
    )
        .into_response()
}

fn json(status: StatusCode, value: &impl Serialize) -> Answer {
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

#[derive(Serialize)]
struct Created {
    created: bool,
}

fn put_answer(put: Put) -> Answer {
    match put {
        Put::Created => json(StatusCode::CREATED, &Created { created: true }),
        Put::Existing => json(StatusCode::OK, &Created { created: false }),
    }
}

async fn put_card(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path(handle) = path?;
    let body = body?;
    let put = blocking(move || app.store.put_card(&handle, &body)).await?;
    put_answer(put)
}

async fn get_card(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let Path(handle) = path?;
    let what = format!("no card is published for {handle:?}");
    match blocking(move || app.store.card(&handle)).await? {
        Some(bytes) => Ok(octets(bytes)),
        None => Err(ApiError::not_found(what)),
    }
}

#[derive(Deserialize)]
struct SeqQuery {
    seq: u64,
}

#[derive(Serialize)]
struct StoredBody {
    stored: u64,
}

async fn append(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<SeqQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path(id) = path?;
    let id = collection_id(&id)?;
    let Query(SeqQuery { seq }) = query?;
    let body = body?;
    let now = (app.clock)();
    match blocking(move || app.store.append(&id, seq, &body, now)).await? {
        Appended::Stored => json(StatusCode::OK, &StoredBody { stored: seq }),
        Appended::Conflict { head } => Err(ApiError {
            head: Some(head),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("the log holds {head} operations, not {seq}: fetch from {head} and rebase"),
            )
        }),
    }
}

#[derive(Deserialize)]
struct FromQuery {
    #[serde(default)]
    from: u64,
}

async fn fetch(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<FromQuery>, QueryRejection>,
) -> Answer {
    let Path(id) = path?;
    let id = collection_id(&id)?;
    let Query(FromQuery { from }) = query?;
    let page = blocking(move || app.store.fetch(&id, from)).await?;
    let size = page.operations.iter().map(|op| 4 + op.len()).sum();
    let mut body = Vec::with_capacity(size);
    for op in &page.operations {
        // Every stored operation is at most MAX_OP_LEN bytes.
        let len = u32::try_from(op.len()).map_err(|e| ApiError::internal(&e))?;
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(op);
    }
    let mut response = octets(body);
    response.headers_mut().insert(
        MORE_HEADER,
        HeaderValue::from_static(if page.more { "true" } else { "false" }),
    );
    Ok(response)
}

async fn put_blob(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((id, blob)) = path?;
    let id = collection_id(&id)?;
    let blob = blob_id(&blob)?;
    let body = body?;
    let put = blocking(move || app.store.put_blob(&id, &blob, &body)).await?;
    put_answer(put)
}

async fn get_blob(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Answer {
    let Path((id, blob)) = path?;
    let id = collection_id(&id)?;
    let blob = blob_id(&blob)?;
    let file = match tokio::fs::File::open(app.store.blob_path(&id, &blob)).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("no such blob in this collection"));
        }
        Err(e) => return Err(ApiError::internal(&e)),
    };
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::internal(&e))?
        .len();
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(response)
}

async fn collections_of(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let Path(handle) = path?;
    let ids = blocking(move || app.store.collections_of(&handle)).await?;
    let texts: Vec<String> = ids.iter().map(CollectionId::to_text).collect();
    json(StatusCode::OK, &texts)
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such route (see docs/server.md)")
}

async fn no_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method (see docs/server.md)",
    )
}

/// The API's routes over `store`, verifying appends with `clock`.
pub fn router(store: Arc<Store>, clock: Clock) -> Router {
    Router::new()
        .route(
            "/v1/cards/{handle}",
            put(put_card)
                .layer(DefaultBodyLimit::max(MAX_CARD_LEN))
                .get(get_card),
        )
        .route(
            "/v1/collections/{id}/operations",
            post(append)
                .layer(DefaultBodyLimit::max(MAX_OP_LEN))
                .get(fetch),
        )
        .route(
            "/v1/collections/{id}/blobs/{blob}",
            put(put_blob)
                .layer(DefaultBodyLimit::max(MAX_BLOB_LEN))
                .get(get_blob),
        )
        .route("/v1/handles/{handle}/collections", get(collections_of))
        .route("/v1/wait", get(wait::wait))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_state(AppState { store, clock })
}
