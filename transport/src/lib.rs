//! A [`sealshare::Remote`] over HTTP: the client of the reference server's
//! `/v1` API (docs/server.md).
//!
//! ```no_run
//! use std::sync::Arc;
//! use sealshare_http::HttpRemote;
//!
//! let remote = Arc::new(HttpRemote::new("http://127.0.0.1:8080")?);
//! # let _: Arc<dyn sealshare::Remote> = remote;
//! # Ok::<(), sealshare::Error>(())
//! ```
//!
//! Every failure is a [`sealshare::Error::Remote`] whose message starts with
//! one of `server unreachable (offline)`, `server refused` (with the status,
//! the server's error code and its message) or `malformed answer`.
//!
//! Idempotent requests (every GET, and the PUT of a blob) are retried on
//! connection errors and 5xx answers, with a doubling pause from 100 ms. An
//! append (a POST that may have been stored) is never retried: a transport
//! failure during one is an error saying so, and the core, on its next sync,
//! fetches and sees whether it landed.

use std::io::Read;
use std::time::Duration;

use sealshare::{Appended, CollectionId, Error, Remote, Result};

mod wait;

/// The most operation bytes one fetch answer holds (docs/server.md, Limits).
const PAGE_BYTES: u64 = 32 * 1024 * 1024;
/// The most operations one fetch answer holds.
const PAGE_OPS: u64 = 10_000;
/// The largest operation the server stores.
const MAX_OPERATION: u32 = 8 * 1024 * 1024;
/// The largest JSON error read.
const MAX_ERROR: u64 = 4 * 1024;
/// The largest JSON success answer read (a listing of collection ids).
const MAX_JSON: u64 = 16 * 1024 * 1024;
/// The largest blob.
const MAX_BLOB: u64 = 1024 * 1024 * 1024;
/// The most bytes of operations one fetch gathers across pages, by default.
const MAX_LOG_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// The first pause before a retry; each next one is twice as long.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A [`Remote`] over the reference server's `/v1` HTTP API.
///
/// Plain `http://` only unless the crate's `tls` feature is on (rustls with
/// the platform's verifier); the reference server listens on loopback
/// without TLS for now.
#[derive(Debug, Clone)]
pub struct HttpRemote {
    base: String,
    agent: ureq::Agent,
    retries: u32,
    max_log_bytes: u64,
}

/// Settings of an [`HttpRemote`]: [`HttpRemote::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    base: String,
    connect_timeout: Duration,
    read_timeout: Duration,
    retries: u32,
    max_log_bytes: u64,
}

impl Builder {
    /// The most bytes of operations one [`Remote::fetch`] gathers across
    /// pages before it gives up with a malformed-answer error (default
    /// 4 GiB): a server that always says there is more cannot make the
    /// client hold more than this.
    pub fn max_log_bytes(mut self, bytes: u64) -> Self {
        self.max_log_bytes = bytes;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the server may take to start answering, and how long each
    /// read of an answer's body may wait (default 60 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How many times an idempotent request is tried again after a
    /// connection error or a 5xx answer (default 2: three attempts, pausing
    /// 100 ms then 200 ms). Appends are never retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries.min(10);
        self
    }

    /// The remote; fails if the base URL is not `http://host[:port]` (or
    /// `https://` with the `tls` feature).
    pub fn build(self) -> Result<HttpRemote> {
        let base = self.base.trim_end_matches('/').to_owned();
        let scheme_ok =
            base.starts_with("http://") || (cfg!(feature = "tls") && base.starts_with("https://"));
        if !scheme_ok || base.contains('?') || base.contains('#') {
            return Err(Error::Remote(format!(
                "invalid server URL {base:?}: expected http://host[:port]{}",
                if cfg!(feature = "tls") {
                    " or https://host[:port]"
                } else {
                    " (https needs the `tls` feature of sealshare-http)"
                }
            )));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_recv_response(Some(self.read_timeout))
            .timeout_per_read(Some(self.read_timeout));
        let config = tls(config);
        Ok(HttpRemote {
            base,
            agent: config.build().into(),
            retries: self.retries,
            max_log_bytes: self.max_log_bytes,
        })
    }
}

#[cfg(feature = "tls")]
fn tls(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    config.tls_config(
        TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::PlatformVerifier)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .build(),
    )
}

#[cfg(not(feature = "tls"))]
fn tls(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    config
}

/// An answer with its status.
type Response = ureq::http::Response<ureq::Body>;

/// What kind of request: only idempotent ones are retried.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Put,
    Post,
}

impl HttpRemote {
    /// A remote for the server at `base_url` (for example
    /// `http://127.0.0.1:8080`), with the default timeouts and retries.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// Settings for a remote for the server at `base_url`.
    pub fn builder(base_url: &str) -> Builder {
        Builder {
            base: base_url.to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retries: 2,
            max_log_bytes: MAX_LOG_BYTES,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request; GET and PUT are retried on connection errors and
    /// 5xx answers, POST never.
    fn send(&self, method: Method, path: &str, body: &[u8]) -> Result<Response> {
        let url = format!("{}{path}", self.base);
        let attempts = if method == Method::Post {
            1
        } else {
            self.retries + 1
        };
        let mut pause = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let sent = match method {
                Method::Get => self.agent.get(&url).call(),
                Method::Put => self
                    .agent
                    .put(&url)
                    .content_type("application/octet-stream")
                    .send(body),
                Method::Post => self
                    .agent
                    .post(&url)
                    .content_type("application/octet-stream")
                    .send(body),
            };
            let retry = match &sent {
                Ok(response) => response.status().is_server_error(),
                Err(e) => is_connection_error(e),
            };
            if !retry || attempt >= attempts {
                return sent.map_err(|e| transport_error(&url, method, &e));
            }
            std::thread::sleep(pause);
            pause = pause.saturating_mul(2);
            attempt += 1;
        }
    }

    /// One page of the log from `from`, and whether there is more.
    fn fetch_page(&self, collection: &CollectionId, from: u64) -> Result<(Vec<Vec<u8>>, bool)> {
        let path = format!(
            "/v1/collections/{}/operations?from={from}",
            collection.to_text()
        );
        let response = expect(self.send(Method::Get, &path, &[])?, &[200])?;
        let more = match response
            .headers()
            .get("sealshare-more")
            .and_then(|v| v.to_str().ok())
        {
            Some("true") => true,
            Some("false") => false,
            other => {
                return Err(malformed(format!(
                    "fetch answer with sealshare-more {other:?}"
                )));
            }
        };
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(PAGE_BYTES + 4 * PAGE_OPS)
            .reader();
        let mut ops = Vec::new();
        let mut total: u64 = 0;
        loop {
            let mut len = [0u8; 4];
            match read_full(&mut reader, &mut len)? {
                0 => break,
                4 => {}
                n => {
                    return Err(malformed(format!(
                        "fetch answer ends {n} bytes into a frame"
                    )));
                }
            }
            let len = u32::from_be_bytes(len);
            total += u64::from(len);
            if len > MAX_OPERATION || total > PAGE_BYTES || ops.len() as u64 >= PAGE_OPS {
                return Err(malformed(format!(
                    "fetch answer over the page bound (an operation of {len} bytes, {} before it)",
                    ops.len()
                )));
            }
            let mut op = vec![0u8; len as usize];
            if read_full(&mut reader, &mut op)? != op.len() {
                return Err(malformed("fetch answer ends inside an operation".into()));
            }
            ops.push(op);
        }
        if more && ops.is_empty() {
            return Err(malformed(
                "fetch answer with no operation says there are more".into(),
            ));
        }
        Ok((ops, more))
    }
}

/// Reads until `buf` is full or the body ends; how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
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

fn is_connection_error(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_)
    )
}

fn transport_error(url: &str, method: Method, e: &ureq::Error) -> Error {
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

fn malformed(what: String) -> Error {
    Error::Remote(format!("malformed answer: {what}"))
}

fn body_error(e: &std::io::Error) -> Error {
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
fn expect(response: Response, ok: &[u16]) -> Result<Response> {
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
fn read_body(response: Response, limit: u64) -> Result<Vec<u8>> {
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
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` percent-encoded as a path segment (all but the unreserved bytes).
fn segment(text: &str) -> String {
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

fn blob_path(collection: &CollectionId, id: &[u8; 32]) -> String {
    format!("/v1/collections/{}/blobs/{}", collection.to_text(), hex(id))
}

impl Remote for HttpRemote {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let path = format!(
            "/v1/collections/{}/operations?seq={seq}",
            collection.to_text()
        );
        let response = self.send(Method::Post, &path, op)?;
        match response.status().as_u16() {
            200 => Ok(Appended::Stored),
            409 => {
                // Either a conflict or another 409; only the former is one.
                let body = read_body(response, MAX_ERROR)?;
                let code = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
                match code.as_deref() {
                    Some("conflict") => Ok(Appended::Conflict),
                    _ => Err(malformed(format!(
                        "append answered 409 without a conflict: {}",
                        String::from_utf8_lossy(&body)
                    ))),
                }
            }
            _ => expect(response, &[200]).map(|_| Appended::Stored),
        }
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut bytes = 0u64;
        loop {
            let at = from.saturating_add(out.len() as u64);
            let (page, more) = self.fetch_page(collection, at)?;
            bytes = page
                .iter()
                .fold(bytes, |n, op| n.saturating_add(op.len() as u64));
            if bytes > self.max_log_bytes {
                return Err(malformed(format!(
                    "the log served from position {from} is over {} bytes; fetch gave up",
                    self.max_log_bytes
                )));
            }
            out.extend(page);
            if !more {
                return Ok(out);
            }
        }
    }

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        if blob.len() as u64 > MAX_BLOB {
            return Err(Error::Remote(format!(
                "blob of {} bytes over the server's limit of 1 GiB",
                blob.len()
            )));
        }
        let response = self.send(Method::Put, &blob_path(collection, id), blob)?;
        expect(response, &[200, 201]).map(|_| ())
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        let response = self.send(Method::Get, &blob_path(collection, id), &[])?;
        read_body(expect(response, &[200])?, MAX_BLOB)
    }

    fn download_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Box<dyn Read + Send + '_>> {
        let response = self.send(Method::Get, &blob_path(collection, id), &[])?;
        let reader = expect(response, &[200])?
            .into_body()
            .into_with_config()
            .limit(MAX_BLOB)
            .reader();
        Ok(Box::new(reader))
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let path = format!("/v1/handles/{}/collections", segment(handle));
        let response = expect(self.send(Method::Get, &path, &[])?, &[200])?;
        let body = read_body(response, MAX_JSON)?;
        let ids: Vec<String> = serde_json::from_slice(&body)
            .map_err(|e| malformed(format!("listing is not a JSON list of ids: {e}")))?;
        ids.iter()
            .map(|text| {
                CollectionId::from_text(text)
                    .map_err(|e| malformed(format!("listing holds {text:?}, not an id: {e}")))
            })
            .collect()
    }
}
