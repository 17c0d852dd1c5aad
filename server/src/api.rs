//! The HTTP API under `/v1` (docs/server.md describes every route). Every
//! answer that is not a success is JSON (`crate::error`); a handler never
//! panics. Every route but `GET /v1/server` checks the request's signature
//! first (`crate::auth`), then what the proven caller may do. Store calls
//! run on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::StreamExt;
use sealshare::{CollectionId, STREAMED_BODY, body_digest};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, authenticate, require_card};
use crate::error::ApiError;
use crate::signin;
use crate::store::devices::ContentAccess;
use crate::store::{
    Appended, BlobUpload, MAX_BLOB_LEN, MAX_CARD_LEN, MAX_OP_LEN, Put, Store, StoreError, Stored,
    Who, hex, parse_blob_id,
};

#[path = "devices.rs"]
pub mod devices;
#[path = "wait.rs"]
pub mod wait;

/// The header of a fetch answer saying whether the log holds operations
/// after those in the answer (`true` or `false`).
pub const MORE_HEADER: &str = "sealshare-more";

/// The clock appends and signatures are checked with, in seconds since the
/// Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What every handler reaches.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) clock: Clock,
}

type Answer = Result<Response, ApiError>;

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

fn collection_id(text: &str) -> Result<CollectionId, ApiError> {
    CollectionId::from_text(text)
        .map_err(|e| ApiError::malformed(format!("not a collection id: {e}")))
}

fn blob_id(text: &str) -> Result<[u8; 32], ApiError> {
    parse_blob_id(text)
        .ok_or_else(|| ApiError::malformed("a blob id is 64 lowercase hexadecimal digits"))
}

/// Unpadded base64url, as every key in the API's JSON.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The empty body's digest, for requests without one.
fn no_body() -> [u8; 32] {
    body_digest(b"")
}

/// Refuses unless `caller` may read `collection`: the same answer for a
/// collection that does not exist, so nothing is learnt about it.
pub(crate) async fn require_reader(
    app: &AppState,
    caller: &Caller,
    collection: CollectionId,
) -> Result<(), ApiError> {
    let who = caller.who(&collection)?;
    let store = app.store.clone();
    let now = caller.now;
    if blocking(move || store.may_read(&collection, &who, now)).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "not a reader of this collection: its log does not hold this key for a member, an invitee or a live link (or there is no such collection)",
        ))
    }
}

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

pub(crate) fn json_answer(status: StatusCode, value: &impl Serialize) -> Answer {
    json(status, value)
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

#[derive(Serialize)]
struct ServerBody {
    id: String,
    time: u64,
    /// The public key devices of public links prove to.
    device_gate: String,
}

/// `GET /v1/server`: the server's id and time, which a client signs
/// requests for. The one route that needs no signature.
async fn server_info(State(app): State<AppState>) -> Answer {
    let store = app.store.clone();
    let gate = blocking(move || store.device_gate()).await?;
    json(
        StatusCode::OK,
        &ServerBody {
            id: app.store.server_id().to_text(),
            time: (app.clock)(),
            device_gate: base64_url(&gate.public_key()),
        },
    )
}

async fn put_card(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path(handle) = path?;
    let body = body?;
    let caller = authenticate(&app, &method, &uri, &headers, body_digest(&body)).await?;
    let (signer, key) = caller.account()?;
    if signer != handle {
        return Err(ApiError::forbidden(format!(
            "{signer:?} publishes only its own card, not {handle:?}'s"
        )));
    }
    let now = caller.now;
    let put = blocking(move || app.store.put_card(&handle, &body, &key, now)).await?;
    put_answer(put)
}

async fn get_card(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let Path(handle) = path?;
    let caller = authenticate(&app, &method, &uri, &headers, no_body()).await?;
    let (me, key) = caller.account()?;
    require_card(&app, me, key, caller.now).await?;
    let what = format!("no card is published for {handle:?}");
    let (card, reset) = blocking(move || {
        let card = app.store.card(&handle)?;
        let reset = match card {
            Some(_) => app.store.last_card_reset(&handle)?,
            None => None,
        };
        Ok((card, reset))
    })
    .await?;
    let Some(bytes) = card else {
        return Err(ApiError::not_found(what));
    };
    let mut response = octets(bytes);
    // The time of the account's last reset by the operator, if any: the
    // card may then differ from one a client pinned, by the operator's act
    // rather than the old key's (docs/server.md, Account reset).
    if let Some(at) = reset {
        response
            .headers_mut()
            .insert(CARD_RESET_HEADER, HeaderValue::from(at));
    }
    Ok(response)
}

/// The header of `GET /v1/cards/{handle}` that carries the time (seconds
/// since the Unix epoch) of the handle's last account reset, when it had one.
pub const CARD_RESET_HEADER: &str = "sealshare-card-reset";

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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<SeqQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path(id) = path?;
    let id = collection_id(&id)?;
    let Query(SeqQuery { seq }) = query?;
    let body = body?;
    let caller = authenticate(&app, &method, &uri, &headers, body_digest(&body)).await?;
    let (_, key) = caller.account()?;
    let now = caller.now;
    match blocking(move || app.store.append(&id, seq, &body, &key, now)).await? {
        Appended::Stored => json(StatusCode::OK, &StoredBody { stored: seq }),
        Appended::Conflict { head } => Err(ApiError::conflict(seq, head)),
    }
}

#[derive(Deserialize)]
struct FromQuery {
    #[serde(default)]
    from: u64,
}

async fn fetch(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<FromQuery>, QueryRejection>,
) -> Answer {
    let Path(id) = path?;
    let id = collection_id(&id)?;
    let Query(FromQuery { from }) = query?;
    let caller = authenticate(&app, &method, &uri, &headers, no_body()).await?;
    require_reader(&app, &caller, id).await?;
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> Answer {
    refuse_declared_oversize(&headers)?;
    let admitted = async {
        let Path((id, blob)) = path?;
        let id = collection_id(&id)?;
        let blob = blob_id(&blob)?;
        // Signed over the blob's id, which the store checks the bytes against.
        let uploader = admit_blob(&app, &method, &uri, &headers, id, blob).await?;
        Ok::<_, ApiError>((uploader, app.store.begin_blob(&id, &blob).await?))
    };
    match admitted.await {
        Ok((uploader, upload)) => put_answer(store_blob(&app, uploader, upload, body).await?.put),
        Err(refused) => {
            // Read (and drop) the body before refusing: a client that sends
            // the whole body before it reads the answer gets the refusal,
            // not a broken connection. At most a blob's bound is read.
            drain(body).await;
            Err(refused)
        }
    }
}

/// The answer to a streamed upload: whether it was stored now, and its id.
#[derive(Serialize)]
struct StreamedBody {
    created: bool,
    id: String,
}

/// `POST /v1/collections/{id}/blobs`: a blob whose id the client knows only
/// once it has sent it, stored under the hash the server computes.
async fn post_blob(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Answer {
    refuse_declared_oversize(&headers)?;
    let admitted = async {
        let Path(id) = path?;
        let id = collection_id(&id)?;
        let uploader = admit_blob(&app, &method, &uri, &headers, id, STREAMED_BODY).await?;
        Ok::<_, ApiError>((uploader, app.store.begin_streamed_blob(&id).await?))
    };
    match admitted.await {
        Ok((uploader, upload)) => {
            let stored = store_blob(&app, uploader, upload, body).await?;
            let created = stored.put == Put::Created;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            json(
                status,
                &StreamedBody {
                    created,
                    id: hex(&stored.id),
                },
            )
        }
        Err(refused) => {
            drain(body).await;
            Err(refused)
        }
    }
}

/// Refuses an upload before a byte is read when its length says it is too
/// large (the connection then closes: the client was told not to send it).
fn refuse_declared_oversize(headers: &HeaderMap) -> Result<(), ApiError> {
    if declared_length(headers).is_some_and(|len| len > MAX_BLOB_LEN as u64) {
        return Err(ApiError::from(StoreError::BlobTooLarge));
    }
    Ok(())
}

/// The body's length, if the request says it.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// The checks of a blob's upload into `id` before its body: the signature
/// (over `digest`), the caller's right to write, and the caller's quota
/// (with the declared length). Answers the uploader's handle.
async fn admit_blob(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    id: CollectionId,
    digest: [u8; 32],
) -> Result<String, ApiError> {
    let caller = authenticate(app, method, uri, headers, digest).await?;
    let who = caller.who(&id)?;
    let refused = || {
        ApiError::forbidden("only a member whose role writes items puts blobs into this collection")
    };
    // Only an account may write (`may_put_blob`).
    let Who::Account { handle, .. } = &who else {
        return Err(refused());
    };
    let handle = handle.clone();
    let store = app.store.clone();
    let declared = declared_length(headers);
    blocking(move || {
        if !store.may_put_blob(&id, &who)? {
            return Ok(None);
        }
        store.admit_upload(&handle, declared)?;
        Ok(Some(handle))
    })
    .await?
    .ok_or_else(refused)
}

/// Stores `body` through `upload` for `uploader`, and charges a blob stored
/// now to its usage.
async fn store_blob(
    app: &AppState,
    uploader: String,
    upload: BlobUpload,
    body: Body,
) -> Result<Stored, ApiError> {
    let stored = stream_blob(upload, body).await?;
    if stored.put == Put::Created {
        let store = app.store.clone();
        blocking(move || store.charge_blob(&uploader, stored.len)).await?;
    }
    Ok(stored)
}

/// Reads `body` to its end, or to [`MAX_BLOB_LEN`] bytes, dropping it.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        read = read.saturating_add(chunk.len());
        if read > MAX_BLOB_LEN {
            return;
        }
    }
}

/// How much of a blob is gathered before it is written out, from chunks of
/// less than a quarter of it (larger ones are written as they come).
const UPLOAD_PIECE: usize = 1 << 20;

/// Stores `body` through `upload` as it arrives: hashed (on the blocking
/// pool) and uploaded a piece at a time, in constant memory.
async fn stream_blob(mut upload: BlobUpload, body: Body) -> Result<Stored, ApiError> {
    let mut stream = body.into_data_stream();
    let mut piece: Vec<u8> = Vec::with_capacity(UPLOAD_PIECE);
    loop {
        let next = stream.next().await;
        let done = next.is_none();
        if let Some(chunk) = next {
            let chunk =
                chunk.map_err(|e| ApiError::malformed(format!("the upload broke off: {e}")))?;
            if piece.is_empty() && chunk.len() >= UPLOAD_PIECE / 4 {
                // Large enough as it came: no copy.
                upload.write(chunk).await?;
                continue;
            }
            piece.extend_from_slice(&chunk);
        }
        if piece.len() >= UPLOAD_PIECE || (done && !piece.is_empty()) {
            let full = std::mem::replace(&mut piece, Vec::with_capacity(UPLOAD_PIECE));
            upload.write(Bytes::from(full)).await?;
        }
        if done {
            break;
        }
    }
    Ok(upload.finish().await?)
}

async fn get_blob(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Answer {
    let Path((id, blob)) = path?;
    let id = collection_id(&id)?;
    let blob = blob_id(&blob)?;
    let caller = authenticate(&app, &method, &uri, &headers, no_body()).await?;
    let who = caller.who(&id)?;
    let store = app.store.clone();
    let now = caller.now;
    match blocking(move || store.may_read_content(&id, &who, now)).await? {
        ContentAccess::Allowed => {}
        ContentAccess::DeviceNotRegistered => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "device_not_registered",
                "this public link has a device limit: register the device first (POST .../links/{link}/devices)",
            ));
        }
        ContentAccess::Denied => {
            return Err(ApiError::forbidden(
                "not a reader of this collection's content",
            ));
        }
    }
    let Some(read) = app.store.get_blob(&id, &blob).await? else {
        return Err(ApiError::not_found("no such blob in this collection"));
    };
    let len = read.len;
    let mut response = Body::from_stream(read.stream).into_response();
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let Path(handle) = path?;
    let caller = authenticate(&app, &method, &uri, &headers, no_body()).await?;
    let (me, key) = caller.account()?;
    if me != handle {
        return Err(ApiError::forbidden(format!(
            "{me:?} lists only its own collections, not {handle:?}'s"
        )));
    }
    require_card(&app, me, key, caller.now).await?;
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
        .route("/v1/server", get(server_info))
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
            put(put_blob).get(get_blob),
        )
        .route("/v1/collections/{id}/blobs", post(post_blob))
        .route("/v1/handles/{handle}/collections", get(collections_of))
        .route(
            "/v1/accounts/{handle}/signin/{kind}/register/start",
            post(signin::register_start).layer(DefaultBodyLimit::max(signin::MAX_SIGNIN_BODY)),
        )
        .route(
            "/v1/accounts/{handle}/signin/{kind}/register/finish",
            post(signin::register_finish).layer(DefaultBodyLimit::max(signin::MAX_SIGNIN_BODY)),
        )
        .route(
            "/v1/accounts/{handle}/signin/{kind}/login/start",
            post(signin::login_start).layer(DefaultBodyLimit::max(signin::MAX_SIGNIN_BODY)),
        )
        .route(
            "/v1/accounts/{handle}/signin/{kind}/login/finish",
            post(signin::login_finish).layer(DefaultBodyLimit::max(signin::MAX_SIGNIN_BODY)),
        )
        .route("/v1/wait", get(wait::wait))
        .route(
            "/v1/collections/{id}/links/{link}/devices",
            post(devices::register).layer(DefaultBodyLimit::max(64)),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_state(AppState { store, clock })
}
