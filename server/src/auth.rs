//! Checking a request's signature (SPEC.md §Signed requests,
//! docs/server.md §Authentication): the `Authorization` header is parsed
//! within its bound, its expiry and signature checked against this request
//! and this server's id, and only then its nonce recorded, so a request
//! that does not verify claims nothing. What the proven caller may do is
//! decided afterwards, on the collection's verified log (`store::access`).

use axum::http::{HeaderMap, Method, Uri, header};
use sealshare::{CollectionId, Principal, RequestAuth, RequestTarget};

use crate::error::ApiError;
use crate::state::{AppState, blocking};
use crate::store::Who;

/// A caller whose request's signature verified and whose nonce was new.
#[derive(Debug)]
pub(crate) struct Caller {
    auth: RequestAuth,
    /// The server's time the request was checked at.
    pub(crate) now: u64,
}

impl Caller {
    /// The account that signed, with its key; a link's holder is refused.
    pub(crate) fn account(&self) -> Result<(&str, [u8; 32]), ApiError> {
        match self.auth.principal() {
            Principal::Account { handle } => Ok((handle, self.auth.public_key())),
            Principal::Link { .. } => Err(ApiError::forbidden(
                "this request is for an account; a link's key signs only reads of its collection",
            )),
        }
    }

    /// Who the caller is to `collection`: an account, or the holder of a
    /// link of that collection (a link of another collection is refused).
    pub(crate) fn who(&self, collection: &CollectionId) -> Result<Who, ApiError> {
        let key = self.auth.public_key();
        match self.auth.principal() {
            Principal::Account { handle } => Ok(Who::Account {
                handle: handle.clone(),
                key,
            }),
            Principal::Link {
                collection: of,
                link,
            } if of == collection => Ok(Who::Link { link: *link, key }),
            Principal::Link { .. } => Err(ApiError::forbidden(
                "the request is signed by a link of another collection",
            )),
        }
    }
}

/// Checks the signature of the request `method uri` with body digest
/// `digest` ([`sealshare::body_digest`], or a blob's id for its upload) and
/// records its nonce. 401 for a missing, malformed, expired, badly signed or
/// replayed signature, with the server's time in the answer.
pub(crate) async fn authenticate(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    digest: [u8; 32],
) -> Result<Caller, ApiError> {
    let now = (app.clock)();
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthenticated(
            "unauthenticated",
            "no Authorization header: every request but GET /v1/server is signed (docs/server.md, Authentication)",
            now,
        ));
    };
    let value = value.to_str().map_err(|_| {
        ApiError::unauthenticated(
            "unauthenticated",
            "the Authorization header is not text",
            now,
        )
    })?;
    let auth = RequestAuth::parse(value).map_err(|e| ApiError::auth(&e, now))?;
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let target = RequestTarget {
        method: method.as_str(),
        path_and_query,
        body_digest: digest,
        server: app.store.server_id(),
    };
    auth.verify(&target, now)
        .map_err(|e| ApiError::auth(&e, now))?;
    let store = app.store.clone();
    let (key, nonce, expires) = (auth.public_key(), auth.nonce(), auth.expires());
    if !blocking(move || store.claim_nonce(&key, &nonce, expires, now)).await? {
        return Err(ApiError::unauthenticated(
            "replayed",
            "this request's nonce was used before: each signed request is accepted once",
            now,
        ));
    }
    Ok(Caller { auth, now })
}

/// Checks that the account `handle` publishes its card with `key` in the
/// directory: what a route about the account itself (its listing, the
/// directory) asks, since the collection's log has no say there.
pub(crate) async fn require_card(
    app: &AppState,
    handle: &str,
    key: [u8; 32],
    now: u64,
) -> Result<(), ApiError> {
    let store = app.store.clone();
    let name = handle.to_owned();
    match blocking(move || store.card_key(&name)).await? {
        Some(published) if published == key => Ok(()),
        Some(_) => Err(ApiError::unauthenticated(
            "unknown_key",
            format!(
                "the request is signed with a key that is not the one of {handle:?}'s published card"
            ),
            now,
        )),
        None => Err(ApiError::unauthenticated(
            "unknown_key",
            format!(
                "no card is published for {handle:?}: publish it first (PUT /v1/cards/{{handle}})"
            ),
            now,
        )),
    }
}
