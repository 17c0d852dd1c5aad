//! `POST /v1/collections/{id}/links/{link}/devices`: registers the device
//! that signs the request as one of a public link's devices, up to the
//! link's device limit (docs/server.md §Link devices). The body is the
//! device's proof (32 bytes) that it holds the link's KEM secret, derived
//! from the URL's secret and the link's password
//! (`sealshare::LinkDevice::proof`, checked with the server's
//! `sealshare::DeviceGate`). A child of the API module, in its own file.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use sealshare::{LinkId, body_digest};

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::{Answer, AppState, blocking, collection_id, json};
use crate::store::Who;
use crate::store::devices::Registered;

/// The handler.
pub(super) async fn register(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((id, link)) = path?;
    let id = collection_id(&id)?;
    let link =
        LinkId::from_text(&link).map_err(|e| ApiError::malformed(format!("not a link id: {e}")))?;
    let body = body?;
    let caller = authenticate(&app, &method, &uri, &headers, body_digest(&body)).await?;
    let Who::Link { link: signed, key } = caller.who(&id)? else {
        return Err(ApiError::forbidden(
            "a device registers itself: the request is signed as the link, with the device's key",
        ));
    };
    if signed != link {
        return Err(ApiError::forbidden(
            "the request is signed as another link of this collection",
        ));
    }
    let proof = <[u8; 32]>::try_from(&body[..])
        .map_err(|_| ApiError::malformed("the body is the device's 32-byte proof"))?;
    let now = caller.now;
    let store = app.store.clone();
    match blocking(move || store.register_link_device(&id, &link, &key, &proof, now)).await? {
        Some(Registered::Now) => json(
            StatusCode::CREATED,
            &serde_json::json!({ "registered": true }),
        ),
        Some(Registered::Already) => {
            json(StatusCode::OK, &serde_json::json!({ "registered": false }))
        }
        Some(Registered::Full) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_limit",
            "the link has as many devices as its limit allows",
        )),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_device_proof",
            "not a live public link with a device limit, or the proof does not show the link's secret (and password)",
        )),
    }
}
