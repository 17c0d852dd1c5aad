//! The HTTP API under `/v1` (docs/server.md describes every route). Every
//! answer that is not a success is JSON (`crate::error`); a handler never
//! panics. Every route but `GET /v1/server` checks the request's signature
//! first (`crate::auth`), then what the proven caller may do. Store calls
//! run on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::routing::{get, post, put};
use sealshare::{CollectionId, body_digest};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, authenticate, require_card};
use crate::error::ApiError;
use crate::signin;
pub use crate::state::Clock;
use crate::state::{Answer, AppState, blocking, collection_id, json, no_body, octets};
use crate::store::{Appended, MAX_CARD_LEN, MAX_OP_LEN, Put, Store};

#[path = "blob_routes.rs"]
mod blobs;
#[path = "devices.rs"]
pub mod devices;
#[path = "wait.rs"]
pub mod wait;

/// The header of a fetch answer saying whether the log holds operations
/// after those in the answer (`true` or `false`).
pub const MORE_HEADER: &str = "sealshare-more";

/// Unpadded base64url, as every key in the API's JSON.
fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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

#[derive(Serialize)]
struct Created {
    created: bool,
}

/// The answer to storing a card or a blob under its id.
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
            put(blobs::put_blob).get(blobs::get_blob),
        )
        .route("/v1/collections/{id}/blobs", post(blobs::post_blob))
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
