//! The answers that are not a success: JSON `{"error": code, "message":
//! text}` with a 4xx status for bad input and 500 for the server's own
//! failures (docs/server.md, Errors). Codes are stable; messages are not.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealshare::{AuthError, VerifyError, Violation};
use serde::Serialize;

use crate::store::StoreError;

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    head: Option<u64>,
    time: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            head: None,
            time: None,
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A conflict at `head`: the log holds `head` operations.
    pub(crate) fn conflict(seq: u64, head: u64) -> Self {
        Self {
            head: Some(head),
            ..Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("the log holds {head} operations, not {seq}: fetch from {head} and rebase"),
            )
        }
    }

    /// The caller may not do this (403): who they proved to be is not
    /// allowed by the collection's verified log.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The request's signature is missing or not accepted (401), with the
    /// server's time so that a client whose clock is off can sign again.
    pub(crate) fn unauthenticated(
        code: &'static str,
        message: impl Into<String>,
        now: u64,
    ) -> Self {
        Self {
            time: Some(now),
            ..Self::new(StatusCode::UNAUTHORIZED, code, message)
        }
    }

    /// A refused signature.
    pub(crate) fn auth(e: &AuthError, now: u64) -> Self {
        let code = match e {
            AuthError::Malformed(_) => "unauthenticated",
            AuthError::Expired { .. } | AuthError::TooLong { .. } => "expired",
            AuthError::BadSignature => "bad_signature",
        };
        Self::unauthenticated(code, e.to_string(), now)
    }

    /// A failure of the server itself: the details go to its log (stderr),
    /// not to the client.
    pub(crate) fn internal(detail: &dyn std::fmt::Display) -> Self {
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
            time: self.time,
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
            StoreError::BadCard(_) | StoreError::BrokenUpload(_) => Self::malformed(message),
            StoreError::CardHandle { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "handle_mismatch", message)
            }
            StoreError::CardExists(_) | StoreError::SameCard(_) => {
                Self::new(StatusCode::CONFLICT, "card_exists", message)
            }
            StoreError::CardNotSelfPublished | StoreError::NotSigner => {
                Self::new(StatusCode::FORBIDDEN, "not_signer", message)
            }
            StoreError::BlobHash { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch", message)
            }
            StoreError::QuotaExceeded { .. } => {
                Self::new(StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded", message)
            }
            StoreError::BlobTooLarge => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
            }
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_full",
                "the server's storage is full: nothing was stored",
            ),
            StoreError::Damaged(_)
            | StoreError::InUse(_)
            | StoreError::Database(_)
            | StoreError::PostgresTls(_)
            | StoreError::Io(_)
            | StoreError::Objects(_) => Self::internal(&message),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_a_507_that_says_so_and_other_io_errors_stay_internal() {
        let full = ApiError::from(StoreError::Io(std::io::ErrorKind::StorageFull.into()));
        assert_eq!(full.status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(full.code, "storage_full");
        let other = ApiError::from(StoreError::Io(std::io::Error::other("disk on fire")));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.message, "internal server error");
    }
}
