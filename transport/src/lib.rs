//! A [`sealshare::Remote`] over HTTP: the client of the reference server's
//! `/v1` API (docs/server.md).
//!
//! ```no_run
//! use std::sync::Arc;
//! use sealshare::{Account, Client, system_time};
//! use sealshare_http::HttpRemote;
//!
//! let account = Account::create("alice", system_time())?;
//! let remote = Arc::new(HttpRemote::new("http://127.0.0.1:8080", &account)?);
//! remote.publish_card(account.identity())?;
//! let client = Client::new(account, remote);
//! # Ok::<(), sealshare::Error>(())
//! ```
//!
//! Every request is signed (SPEC.md §Signed requests): with the account's
//! identity key, or, for a collection read through a link
//! ([`Remote::use_link`]), with the link's key when the account is not (yet)
//! a reader. The server's id is asked for once (`GET /v1/server`), and its
//! clock followed: a request refused as expired is signed again, once, by
//! the time the server answered with.
//!
//! Every failure is a [`sealshare::Error::Remote`] whose message starts with
//! one of `server unreachable (offline)`, `server refused` (with the status,
//! the server's error code and its message) or `malformed answer`.
//!
//! Idempotent requests (every GET, and the PUT of a blob) are retried on
//! connection errors and 500, 502, 503 and 504 answers, each attempt signed
//! anew (a fresh nonce), with a doubling pause from 100 ms. An
//! append (a POST that may have been stored) is never retried: a transport
//! failure during one is an error saying so, and the core, on its next sync,
//! fetches and sees whether it landed. Content written through
//! [`Remote::upload_blob`] (an item put from a reader) is sent whole up to
//! 8 MiB and streamed past it, in constant memory; a streamed upload is
//! not retried either, since its bytes are gone once sent.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sealshare::Remote;

mod http;
mod signin;
mod signing;
use sealshare::{
    Account, Appended, BlobUpload, CollectionId, Error, Identity, LinkDevice, RequestSigner,
    Result, ServerId, body_digest,
};
pub use signin::SignInSecret;

mod upload;
mod wait;

use http::{Method, blob_path, expect, malformed, read_body, read_full, segment};
use signing::As;

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
/// How much of an answer is read from the connection at a time.
const INPUT_BUFFER: usize = 512 * 1024;
/// The first pause before a retry; each next one is twice as long.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How long after the server's time (as far as this client knows it) a
/// request expires: under the server's bound of 60 s, leaving room for a
/// clock estimate that is a second or so off.
const LIFETIME: u64 = 45;

/// A [`Remote`] over the reference server's `/v1` HTTP API.
///
/// `https://` (with the crate's `tls` feature, the default: rustls, trusting
/// Mozilla's root certificates bundled in the crate, or only the roots given
/// to [`Builder::root_certificates`]) or plain `http://`.
#[derive(Debug, Clone)]
pub struct HttpRemote {
    base: String,
    /// The path part of `base` ("" or "/prefix"): signed with each path.
    prefix: String,
    agent: ureq::Agent,
    retries: u32,
    max_log_bytes: u64,
    account: Option<Arc<RequestSigner>>,
    links: Arc<Mutex<HashMap<CollectionId, Arc<RequestSigner>>>>,
    /// The devices given for public links with a device limit, by collection.
    devices: Arc<Mutex<HashMap<CollectionId, Arc<LinkDevice>>>>,
    server: Arc<OnceLock<ServerId>>,
    /// The server's gate key for device proofs, if it announced one.
    gate: Arc<OnceLock<Option<[u8; 32]>>>,
    /// The server's clock minus this one's, in seconds.
    offset: Arc<AtomicI64>,
}

/// Settings of an [`HttpRemote`]: [`HttpRemote::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    base: String,
    account: Option<Arc<RequestSigner>>,
    connect_timeout: Duration,
    read_timeout: Duration,
    retries: u32,
    max_log_bytes: u64,
    /// PEM: the only roots trusted, if given.
    roots: Option<Vec<u8>>,
}

impl Builder {
    /// Trusts only the certificates in `pem` (one or more PEM `CERTIFICATE`
    /// blocks) as roots for `https://`, instead of the bundled Mozilla
    /// roots: for a server whose certificate is self-signed or from a
    /// certificate authority of its own. [`Builder::build`] fails if `pem`
    /// holds no certificate or one that does not parse, or without the
    /// `tls` feature.
    pub fn root_certificates(mut self, pem: &[u8]) -> Self {
        self.roots = Some(pem.to_vec());
        self
    }

    /// Signs requests as `account` (its identity key). Without an account,
    /// the remote reads only collections it was given a link to
    /// ([`Remote::use_link`]): enough for a public link's reader.
    pub fn account(mut self, account: &Account) -> Self {
        self.account = Some(Arc::new(RequestSigner::for_account(account)));
        self
    }

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

    /// How long the server may take to start answering, how long each read
    /// of an answer's body may wait, and how long each write of a request's
    /// body may wait for the server to take it (default 60 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How many times an idempotent request is tried again after a
    /// connection error or a 500, 502, 503 or 504 answer, signed anew each
    /// time (default 2: three attempts, pausing
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
            .timeout_per_read(Some(self.read_timeout))
            // A server that stops reading an upload fails it, rather than
            // holding the caller (and a streamed upload's thread) forever.
            .timeout_per_write(Some(self.read_timeout))
            // Answers are read 512 KiB at a time rather than ureq's default
            // 128 KiB: a blob downloads about a tenth faster over loopback
            // (`cargo bench -p sealshare-server --bench server -- blobs`),
            // for half a MiB per connection, allocated once it is used.
            .input_buffer_size(INPUT_BUFFER);
        let config = tls(config, self.roots.as_deref())?;
        let authority = base.split_once("://").map_or("", |(_, rest)| rest);
        let prefix = authority
            .find('/')
            .and_then(|i| authority.get(i..))
            .unwrap_or("")
            .to_owned();
        Ok(HttpRemote {
            base,
            prefix,
            agent: config.build().into(),
            retries: self.retries,
            max_log_bytes: self.max_log_bytes,
            account: self.account,
            links: Arc::default(),
            devices: Arc::default(),
            server: Arc::default(),
            gate: Arc::default(),
            offset: Arc::default(),
        })
    }
}

type AgentConfig = ureq::config::ConfigBuilder<ureq::typestate::AgentScope>;

/// `config` with rustls, trusting the bundled roots, or only those in the
/// PEM `roots`.
#[cfg(feature = "tls")]
fn tls(config: AgentConfig, roots: Option<&[u8]>) -> Result<AgentConfig> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider, parse_pem};
    let roots = match roots {
        None => RootCerts::WebPki,
        Some(pem) => {
            let mut certificates = Vec::new();
            for item in parse_pem(pem) {
                match item {
                    Ok(PemItem::Certificate(certificate)) => certificates.push(certificate),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::Remote(format!("root certificates: not PEM: {e}")));
                    }
                }
            }
            if certificates.is_empty() {
                return Err(Error::Remote(
                    "root certificates: no PEM CERTIFICATE block".to_owned(),
                ));
            }
            RootCerts::new_with_certs(&certificates)
        }
    };
    Ok(config.tls_config(
        TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build(),
    ))
}

#[cfg(not(feature = "tls"))]
fn tls(config: AgentConfig, roots: Option<&[u8]>) -> Result<AgentConfig> {
    match roots {
        None => Ok(config),
        Some(_) => Err(Error::Remote(
            "root certificates need the `tls` feature of sealshare-http".to_owned(),
        )),
    }
}

impl HttpRemote {
    /// A remote for the server at `base_url` (for example
    /// `http://127.0.0.1:8080`) that signs as `account`, with the default
    /// timeouts and retries.
    pub fn new(base_url: &str, account: &Account) -> Result<Self> {
        Self::builder(base_url).account(account).build()
    }

    /// Settings for a remote for the server at `base_url`.
    pub fn builder(base_url: &str) -> Builder {
        Builder {
            base: base_url.to_owned(),
            account: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retries: 2,
            max_log_bytes: MAX_LOG_BYTES,
            roots: None,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Publishes `card` in the server's directory (signed with its own key:
    /// `card` must be this remote's account's). True if it was published now,
    /// false if it was there already. A server keeps a handle's first card;
    /// a new one replaces it only in a request signed with the published
    /// card's key.
    pub fn publish_card(&self, card: &Identity) -> Result<bool> {
        let path = format!("/v1/cards/{}", segment(card.handle()));
        let bytes = card.to_bytes();
        let digest = body_digest(&bytes);
        let response = self.send(Method::Put, &path, &bytes, digest, As::Account)?;
        let response = expect(response, &[200, 201])?;
        Ok(response.status().as_u16() == 201)
    }

    /// The card the server's directory holds for `handle`, decoded and its
    /// self-signature checked; `None` if none is published. The directory
    /// is not trusted: pin what it gives ([`sealshare::TrustStore`]).
    pub fn card(&self, handle: &str) -> Result<Option<Identity>> {
        let path = format!("/v1/cards/{}", segment(handle));
        let response = self.send(Method::Get, &path, &[], body_digest(b""), As::Account)?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        let bytes = read_body(expect(response, &[200])?, sealshare::MAX_CARD_LEN as u64)?;
        let card = Identity::from_bytes(&bytes)
            .map_err(|e| malformed(format!("the card served for {handle:?}: {e}")))?;
        if card.handle() != handle {
            return Err(malformed(format!(
                "the card served for {handle:?} is {:?}'s",
                card.handle()
            )));
        }
        Ok(Some(card))
    }

    /// One page of the log from `from`, and whether there is more.
    fn fetch_page(&self, collection: &CollectionId, from: u64) -> Result<(Vec<Vec<u8>>, bool)> {
        let path = format!(
            "/v1/collections/{}/operations?from={from}",
            collection.to_text()
        );
        let response = expect(
            self.send(
                Method::Get,
                &path,
                &[],
                body_digest(b""),
                As::Link(*collection),
            )?,
            &[200],
        )?;
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

impl Remote for HttpRemote {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let path = format!(
            "/v1/collections/{}/operations?seq={seq}",
            collection.to_text()
        );
        let response = self.send(Method::Post, &path, op, body_digest(op), As::Account)?;
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
        // A blob's upload signs its id: the server checks the bytes against it.
        let response = self.send(
            Method::Put,
            &blob_path(collection, id),
            blob,
            *id,
            As::Account,
        )?;
        expect(response, &[200, 201]).map(|_| ())
    }

    /// Sends a blob of up to 8 MiB whole, as [`Remote::put_blob`] does;
    /// streams a larger one as it is written, in constant memory (not
    /// retried: a failure is the caller's to retry).
    fn upload_blob(&self, collection: &CollectionId) -> Result<Box<dyn BlobUpload + '_>> {
        Ok(Box::new(upload::Upload::new(self, *collection)))
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        let response = self.send(
            Method::Get,
            &blob_path(collection, id),
            &[],
            body_digest(b""),
            As::Blob(*collection),
        )?;
        read_body(expect(response, &[200])?, MAX_BLOB)
    }

    fn download_blob(
        &self,
        collection: &CollectionId,
        id: &[u8; 32],
    ) -> Result<Box<dyn Read + Send + '_>> {
        let response = self.send(
            Method::Get,
            &blob_path(collection, id),
            &[],
            body_digest(b""),
            As::Blob(*collection),
        )?;
        let reader = expect(response, &[200])?
            .into_body()
            .into_with_config()
            .limit(MAX_BLOB)
            .reader();
        Ok(Box::new(reader))
    }

    fn use_link(&self, signer: RequestSigner) {
        if let sealshare::Principal::Link { collection, .. } = signer.principal() {
            let collection = *collection;
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            links.insert(collection, Arc::new(signer));
        }
    }

    fn use_link_device(&self, device: LinkDevice) {
        let collection = device.collection();
        let mut devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        devices.insert(collection, Arc::new(device));
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        let path = format!("/v1/handles/{}/collections", segment(handle));
        let response = expect(
            self.send(Method::Get, &path, &[], body_digest(b""), As::Account)?,
            &[200],
        )?;
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
