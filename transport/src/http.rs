//! Sending requests and reading answers: the kinds of request, the bounded
//! reads of an answer's body, and the errors an app can act on (offline,
//! refused with the server's code, malformed).

use std::io::Read;

use sealshare::{CollectionId, Error, Result};

use crate::MAX_ERROR;

/// An answer with its status.
pub(crate) type Response = ureq::http::Response<ureq::Body>;

/// What kind of request: only idempotent ones are retried.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// A 401 answer, read, and the server's time it carries if the refusal is
/// for the request's expiry (so signing again by that time can succeed).
/// The answer is rebuilt from what was read, for [`expect`] to report.
pub(crate) fn refusal_time(response: Response) -> Result<(Response, Option<u64>)> {
    let status = response.status();
    let body = read_body(response, MAX_ERROR)?;
    let value: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let time = value.as_ref().and_then(|v| {
        (v.get("error")?.as_str()? == "expired")
            .then(|| v.get("time")?.as_u64())
            .flatten()
    });
    let rebuilt = ureq::http::Response::builder()
        .status(status)
        .body(ureq::Body::builder().data(body))
        .map_err(|e| malformed(e.to_string()))?;
    Ok((rebuilt, time))
}

/// A 403 answer, read, with its error code; rebuilt for [`expect`].
pub(crate) fn refusal_code(response: Response) -> Result<(Response, Option<String>)> {
    let status = response.status();
    let body = read_body(response, MAX_ERROR)?;
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
    let rebuilt = ureq::http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(ureq::Body::builder().data(body))
        .map_err(|e| malformed(e.to_string()))?;
    Ok((rebuilt, code))
}

/// Reads until `buf` is full or the body ends; how much was read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(body_error(&e)),
        }
    }
    Ok(done)
}

pub(crate) fn is_connection_error(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_)
    )
}

pub(crate) fn transport_error(url: &str, method: Method, e: &ureq::Error) -> Error {
    if is_connection_error(e) {
        let append = if method == Method::Post {
            "; the append may or may not have been stored: sync to see whether it landed"
        } else {
            ""
        };
        Error::Remote(format!("server unreachable (offline): {url}: {e}{append}"))
    } else {
        malformed(format!("{url}: {e}"))
    }
}

pub(crate) fn malformed(what: String) -> Error {
    Error::Remote(format!("malformed answer: {what}"))
}

pub(crate) fn body_error(e: &std::io::Error) -> Error {
    // ureq reports a body over its limit as an I/O error wrapping its own.
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::TimedOut
        || e.kind() == std::io::ErrorKind::ConnectionReset
        || e.kind() == std::io::ErrorKind::ConnectionAborted
        || e.kind() == std::io::ErrorKind::UnexpectedEof
    {
        Error::Remote(format!(
            "server unreachable (offline): the answer broke off: {text}"
        ))
    } else {
        malformed(text)
    }
}

/// The answer if its status is one of `ok`; otherwise the server's refusal.
pub(crate) fn expect(response: Response, ok: &[u16]) -> Result<Response> {
    let status = response.status().as_u16();
    if ok.contains(&status) {
        return Ok(response);
    }
    let body = response
        .into_body()
        .into_with_config()
        .limit(MAX_ERROR)
        .read_to_vec();
    let parsed = body.ok().and_then(|b| {
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        let code = v.get("error")?.as_str()?.to_owned();
        let message = v.get("message")?.as_str()?.to_owned();
        Some((code, message))
    });
    Err(match parsed {
        Some((code, message)) => {
            Error::Remote(format!("server refused: {status} {code}: {message}"))
        }
        None => malformed(format!("status {status} without the documented JSON error")),
    })
}

/// The body of a success, at most `limit` bytes.
pub(crate) fn read_body(response: Response, limit: u64) -> Result<Vec<u8>> {
    response
        .into_body()
        .into_with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::Io(io) => body_error(&io),
            ureq::Error::Timeout(_) => Error::Remote(format!(
                "server unreachable (offline): the answer timed out: {e}"
            )),
            other => malformed(other.to_string()),
        })
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` percent-encoded as a path segment (all but the unreserved bytes).
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn blob_path(collection: &CollectionId, id: &[u8; 32]) -> String {
    format!("/v1/collections/{}/blobs/{}", collection.to_text(), hex(id))
}
