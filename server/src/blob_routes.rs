//! The blob routes: `PUT .../blobs/{hex}` (a blob under its id),
//! `POST .../blobs` (a blob streamed before its id is known, stored under
//! the hash the server computes) and `GET .../blobs/{hex}`. Bodies stream
//! both ways, bounded, in constant memory; an upload is checked (signature,
//! right to write, quota) before its body is read.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use sealshare::{CollectionId, STREAMED_BODY};
use serde::Serialize;

use super::put_answer;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::{Answer, AppState, blob_id, blocking, collection_id, json, no_body};
use crate::store::devices::ContentAccess;
use crate::store::{BlobUpload, MAX_BLOB_LEN, Put, QuotaRoom, StoreError, Stored, Who, hex};

pub(super) async fn put_blob(
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
pub(super) async fn post_blob(
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
/// (with the declared length). Answers who uploads, and the room left under
/// their quota.
async fn admit_blob(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    id: CollectionId,
    digest: [u8; 32],
) -> Result<Uploader, ApiError> {
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
        let room = store.admit_upload(&handle, declared)?;
        Ok(Some(Uploader { handle, room }))
    })
    .await?
    .ok_or_else(refused)
}

/// Who uploads a blob, admitted.
struct Uploader {
    handle: String,
    /// The room left under their quota, if they have one.
    room: Option<QuotaRoom>,
}

/// Stores `body` through `upload` for `uploader` (refused once it passes
/// the room left under their quota), and charges a blob stored now to
/// their usage.
async fn store_blob(
    app: &AppState,
    uploader: Uploader,
    mut upload: BlobUpload,
    body: Body,
) -> Result<Stored, ApiError> {
    if let Some(room) = uploader.room {
        upload.limit_to(room);
    }
    let stored = stream_blob(upload, body).await?;
    if stored.put == Put::Created {
        let store = app.store.clone();
        let handle = uploader.handle;
        blocking(move || store.charge_blob(&handle, stored.len)).await?;
    }
    Ok(stored)
}

/// Reads `body` to its end, or to [`MAX_BLOB_LEN`] bytes, dropping it.
async fn drain(body: Body) {
    drain_rest(&mut body.into_data_stream(), 0).await;
}

/// Reads what is left of `stream`, `read` bytes into it, to its end or to
/// [`MAX_BLOB_LEN`] bytes in all, dropping it: so that a client still
/// sending gets the refusal rather than a broken connection.
async fn drain_rest(stream: &mut axum::body::BodyDataStream, mut read: usize) {
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
    let mut read = 0usize;
    match write_body(&mut upload, &mut stream, &mut read).await {
        Ok(()) => Ok(upload.finish().await?),
        Err(e @ StoreError::BrokenUpload(_)) => Err(e.into()),
        Err(e) => {
            // Refused midway (quota, a full disk, a failed write): the rest
            // is read and dropped, so that the client, still sending, gets
            // this answer rather than a broken connection.
            drain_rest(&mut stream, read).await;
            Err(e.into())
        }
    }
}

/// Writes `stream` through `upload` to its end, counting what is `read`.
async fn write_body(
    upload: &mut BlobUpload,
    stream: &mut axum::body::BodyDataStream,
    read: &mut usize,
) -> Result<(), StoreError> {
    let mut piece: Vec<u8> = Vec::with_capacity(UPLOAD_PIECE);
    loop {
        let next = stream.next().await;
        let done = next.is_none();
        if let Some(chunk) = next {
            let chunk = chunk.map_err(|e| StoreError::BrokenUpload(e.to_string()))?;
            *read = read.saturating_add(chunk.len());
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
            return Ok(());
        }
    }
}

pub(super) async fn get_blob(
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
