//! Signing in on a new device (docs/server.md §Signing in): OPAQUE (RFC
//! 9807, `opaque-ke`) registration, by the account itself in signed
//! requests, and login, by anyone (a new device has no key yet), limited to
//! [`MAX_LOGIN_ATTEMPTS`] starts per handle and kind in each
//! [`ATTEMPT_WINDOW`]. The server keeps OPAQUE's record and the client's
//! locker (the keystore sealed under OPAQUE's export key, which the server
//! never sees), and releases the locker only at the end of a login that
//! proved the secret. A handle with no record gets OPAQUE's fake answer, so
//! a login does not tell whether the handle registered.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use opaque_ke::{
    CredentialFinalization, CredentialRequest, RegistrationRequest, RegistrationUpload,
    ServerLogin, ServerLoginParameters, ServerRegistration, ServerSetup,
};
use rand_core::{OsRng, RngCore};
use sealshare::body_digest;

use crate::auth::{authenticate, require_card};
use crate::error::ApiError;
use crate::state::{AppState, blocking, json, octets};
pub use crate::store::signin::{ATTEMPT_WINDOW, MAX_LOGIN_ATTEMPTS};

/// The OPAQUE configuration, the same as the client's (`sealshare-http`):
/// ristretto255 with SHA-512 and 3DH, Argon2id as the client's key
/// stretching.
pub struct Suite;

impl opaque_ke::CipherSuite for Suite {
    type OprfCs = opaque_ke::Ristretto255;
    type KeyExchange = opaque_ke::TripleDh<opaque_ke::Ristretto255, sha2::Sha512>;
    type Ksf = argon2::Argon2<'static>;
}

/// The largest locker kept: a keystore is a few hundred bytes.
pub const MAX_LOCKER_LEN: usize = 64 * 1024;
/// The largest body of a sign-in route.
pub const MAX_SIGNIN_BODY: usize = MAX_LOCKER_LEN + 4096;

type Answer = Result<Response, ApiError>;

fn kind(kind: &str) -> Result<&'static str, ApiError> {
    match kind {
        "password" => Ok("password"),
        "recovery" => Ok("recovery"),
        _ => Err(ApiError::not_found(
            "a sign-in secret is `password` or `recovery`",
        )),
    }
}

/// OPAQUE's credential identifier: `kind || 0x00 || handle`.
fn credential_id(handle: &str, kind: &str) -> Vec<u8> {
    [kind.as_bytes(), &[0], handle.as_bytes()].concat()
}

/// The server setup, made on the first start and kept in the store.
async fn setup(app: &AppState) -> Result<ServerSetup<Suite>, ApiError> {
    let store = app.store.clone();
    let bytes = blocking(move || {
        store.signin_setup(|| ServerSetup::<Suite>::new(&mut OsRng).serialize().to_vec())
    })
    .await?;
    ServerSetup::<Suite>::deserialize(&bytes)
        .map_err(|e| ApiError::internal(&format!("the stored OPAQUE setup: {e}")))
}

fn malformed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::malformed(format!("not an OPAQUE {what}: {e}"))
}

/// Checks that the request is signed by `handle` itself with its published
/// card's key.
async fn require_self(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    handle: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    let caller = authenticate(app, method, uri, headers, body_digest(body)).await?;
    let (me, key) = caller.account()?;
    if me != handle {
        return Err(ApiError::forbidden(format!(
            "{me:?} registers only its own sign-in, not {handle:?}'s"
        )));
    }
    require_card(app, me, key, caller.now).await
}

/// `POST /v1/accounts/{handle}/signin/{kind}/register/start`.
pub(crate) async fn register_start(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((handle, kind_text)) = path?;
    let kind = kind(&kind_text)?;
    let body = body?;
    require_self(&app, &method, &uri, &headers, &handle, &body).await?;
    let request = RegistrationRequest::<Suite>::deserialize(&body)
        .map_err(|e| malformed("registration request", e))?;
    let setup = setup(&app).await?;
    let started =
        ServerRegistration::<Suite>::start(&setup, request, &credential_id(&handle, kind))
            .map_err(|e| malformed("registration request", e))?;
    Ok(octets(started.message.serialize().to_vec()))
}

/// `POST /v1/accounts/{handle}/signin/{kind}/register/finish`: body
/// `u32 length || registration upload || locker`.
pub(crate) async fn register_finish(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((handle, kind_text)) = path?;
    let kind = kind(&kind_text)?;
    let body = body?;
    require_self(&app, &method, &uri, &headers, &handle, &body).await?;
    let (len, rest) = body
        .split_at_checked(4)
        .ok_or_else(|| ApiError::malformed("a registration upload starts with its length"))?;
    let mut be = [0u8; 4];
    be.copy_from_slice(len);
    let len = usize::try_from(u32::from_be_bytes(be)).unwrap_or(usize::MAX);
    let (upload, locker) = rest
        .split_at_checked(len)
        .ok_or_else(|| ApiError::malformed("the registration upload is shorter than its length"))?;
    if locker.is_empty() || locker.len() > MAX_LOCKER_LEN {
        return Err(ApiError::malformed(format!(
            "a locker is 1 to {MAX_LOCKER_LEN} bytes"
        )));
    }
    let upload = RegistrationUpload::<Suite>::deserialize(upload)
        .map_err(|e| malformed("registration upload", e))?;
    let record = ServerRegistration::<Suite>::finish(upload)
        .serialize()
        .to_vec();
    let locker = locker.to_vec();
    blocking(move || app.store.put_signin(&handle, kind, &record, &locker)).await?;
    json(
        StatusCode::CREATED,
        &serde_json::json!({ "registered": true }),
    )
}

/// `POST /v1/accounts/{handle}/signin/{kind}/login/start`: unsigned. Answer:
/// `login id[16] || credential response`.
pub(crate) async fn login_start(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((handle, kind_text)) = path?;
    let kind = kind(&kind_text)?;
    sealshare::internal::identity::check_handle(&handle)
        .map_err(|e| ApiError::malformed(format!("not a handle: {e}")))?;
    let body = body?;
    let request = CredentialRequest::<Suite>::deserialize(&body)
        .map_err(|e| malformed("credential request", e))?;
    let now = (app.clock)();
    let store = app.store.clone();
    let name = handle.clone();
    if !blocking(move || store.count_login_attempt(&name, kind, now)).await? {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "at most {MAX_LOGIN_ATTEMPTS} sign-in attempts per {} minutes for one handle; try again later",
                ATTEMPT_WINDOW / 60
            ),
        ));
    }
    let store = app.store.clone();
    let name = handle.clone();
    let record = blocking(move || store.signin(&name, kind)).await?;
    let password_file = match record {
        Some(registration) => Some(
            ServerRegistration::<Suite>::deserialize(&registration.record)
                .map_err(|e| ApiError::internal(&format!("a stored OPAQUE record: {e}")))?,
        ),
        None => None,
    };
    let setup = setup(&app).await?;
    let started = ServerLogin::start(
        &mut OsRng,
        &setup,
        password_file,
        request,
        &credential_id(&handle, kind),
        ServerLoginParameters::default(),
    )
    .map_err(|e| malformed("credential request", e))?;
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    let state = started.state.serialize().to_vec();
    let store = app.store.clone();
    blocking(move || store.put_pending_login(&id, &handle, kind, &state, now)).await?;
    let mut answer = id.to_vec();
    answer.extend_from_slice(&started.message.serialize());
    Ok(octets(answer))
}

/// `POST /v1/accounts/{handle}/signin/{kind}/login/finish`: unsigned, body
/// `login id[16] || credential finalization`. Answers the locker once the
/// login proved the secret.
pub(crate) async fn login_finish(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let Path((handle, kind_text)) = path?;
    let kind = kind(&kind_text)?;
    let body = body?;
    let (id, finalization) = body
        .split_at_checked(16)
        .ok_or_else(|| ApiError::malformed("a login finish starts with its 16-byte id"))?;
    let mut login = [0u8; 16];
    login.copy_from_slice(id);
    let finalization = CredentialFinalization::<Suite>::deserialize(finalization)
        .map_err(|e| malformed("credential finalization", e))?;
    let now = (app.clock)();
    let refused = || {
        ApiError::unauthenticated(
            "wrong_secret",
            "the login did not prove the secret (or expired): start again",
            now,
        )
    };
    let store = app.store.clone();
    let name = handle.clone();
    let Some(state) = blocking(move || store.take_pending_login(&login, &name, kind, now)).await?
    else {
        return Err(refused());
    };
    let state = ServerLogin::<Suite>::deserialize(&state)
        .map_err(|e| ApiError::internal(&format!("a pending login's state: {e}")))?;
    if state
        .finish(finalization, ServerLoginParameters::default())
        .is_err()
    {
        return Err(refused());
    }
    let store = app.store.clone();
    match blocking(move || store.signin(&handle, kind)).await? {
        Some(registration) => Ok(octets(registration.locker).into_response()),
        None => Err(refused()),
    }
}

/// An OPAQUE login's first message for `password`, as a client sends it:
/// for tests of the server that play a client with no key.
pub fn login_request(password: &str) -> Vec<u8> {
    opaque_ke::ClientLogin::<Suite>::start(&mut OsRng, password.as_bytes())
        .map(|started| started.message.serialize().to_vec())
        .unwrap_or_default()
}
