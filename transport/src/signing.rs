//! Signing each request (SPEC.md §Signed requests): which key signs it (the
//! account, a link, a link's device), the server's id and clock, one retry
//! after an `expired` refusal, a link's key after the account's 403, and a
//! device's registration when a limited link's content asks for it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use sealshare::{
    CollectionId, Error, LinkDevice, RequestSigner, RequestTarget, Result, ServerId, body_digest,
    system_time,
};

use crate::http::{
    Method, Response, expect, is_connection_error, malformed, read_body, refusal_code,
    refusal_time, transport_error,
};
use crate::{FIRST_BACKOFF, HttpRemote, LIFETIME, MAX_ERROR};

/// Which key signs a request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum As {
    /// The account, else the collection's link.
    Account,
    /// The link given for this collection.
    Link(CollectionId),
    /// The link's device given for this collection, else its link: for its
    /// content.
    Blob(CollectionId),
}

impl HttpRemote {
    /// The server's id, asked for once.
    pub(crate) fn server_id(&self) -> Result<ServerId> {
        if let Some(id) = self.server.get() {
            return Ok(*id);
        }
        let response = self.send_signed(Method::Get, "/v1/server", &[], None)?;
        let body = read_body(expect(response, &[200])?, MAX_ERROR)?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| malformed(format!("GET /v1/server: {e}")))?;
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|text| ServerId::from_text(text).ok())
            .ok_or_else(|| malformed("GET /v1/server without a server id".into()))?;
        if let Some(time) = value.get("time").and_then(serde_json::Value::as_u64) {
            self.follow_clock(time);
        }
        let gate = value
            .get("device_gate")
            .and_then(|v| v.as_str())
            .and_then(|text| {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text)
                    .ok()
            })
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok());
        let _ = self.gate.set(gate);
        Ok(*self.server.get_or_init(|| id))
    }

    /// Follows the server's clock: `time` is its time now.
    pub(crate) fn follow_clock(&self, time: u64) {
        let offset = i128::from(time) - i128::from(system_time());
        let offset = i64::try_from(offset).unwrap_or(0);
        self.offset.store(offset, Ordering::Relaxed);
    }

    /// The server's time, as far as this client knows.
    pub(crate) fn server_now(&self) -> u64 {
        let offset = self.offset.load(Ordering::Relaxed);
        system_time().saturating_add_signed(offset)
    }

    /// The signers to try for a request, in order.
    pub(crate) fn signers(&self, who: As) -> Vec<Arc<RequestSigner>> {
        let mut out: Vec<_> = self.account.iter().cloned().collect();
        let links = |collection| {
            let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            links.get(&collection).cloned()
        };
        match who {
            As::Account => {}
            As::Link(collection) => out.extend(links(collection)),
            As::Blob(collection) => match self.device(&collection) {
                Some(device) => out.push(Arc::new(device.signer())),
                None => out.extend(links(collection)),
            },
        }
        out
    }

    pub(crate) fn device(&self, collection: &CollectionId) -> Option<Arc<LinkDevice>> {
        let devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        devices.get(collection).cloned()
    }

    /// Registers `device` with the server as one of its link's devices.
    pub(crate) fn register_device(&self, device: &LinkDevice) -> Result<()> {
        self.server_id()?;
        let gate = self.gate.get().copied().flatten().ok_or_else(|| {
            malformed("the server enforces a device limit but announces no gate key".into())
        })?;
        let proof = device.proof(&gate)?;
        let path = format!(
            "/v1/collections/{}/links/{}/devices",
            device.collection().to_text(),
            device.link().to_text()
        );
        let signer = device.signer();
        let server = self.server_id()?;
        let signed_path = format!("{}{path}", self.prefix);
        let target = RequestTarget {
            method: "POST",
            path_and_query: &signed_path,
            body_digest: body_digest(&proof),
            server,
        };
        let auth = signer.sign(&target, self.server_now().saturating_add(LIFETIME))?;
        let response = self.send_signed(Method::Post, &path, &proof, Some(&auth.to_header()))?;
        expect(response, &[200, 201]).map(|_| ())
    }

    /// Sends one request, signed; GET and PUT are retried (each attempt
    /// signed anew) on connection errors and 500, 502, 503 and 504
    /// answers, POST never. A request refused as expired is
    /// signed again by the server's time, once. Reading a collection
    /// (`who` is [`As::Link`]) that the account may not read is tried again
    /// with the collection's link, if one was given.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        digest: [u8; 32],
        who: As,
    ) -> Result<Response> {
        let signers = self.signers(who);
        if signers.is_empty() {
            return Err(Error::Remote(
                "no key to sign with: this remote has no account, and no link was given for this collection".into(),
            ));
        }
        let server = self.server_id()?;
        let signed_path = format!("{}{path}", self.prefix);
        let mut last = None;
        for signer in signers {
            let mut resigned = false;
            loop {
                let target = RequestTarget {
                    method: method.name(),
                    path_and_query: &signed_path,
                    body_digest: digest,
                    server,
                };
                // Each attempt is signed anew: a retry after a server error
                // or a broken connection must not reuse a nonce that the
                // server may have claimed (it would be refused as replayed,
                // hiding the first failure).
                let sign = || {
                    let expiry = self.server_now().saturating_add(LIFETIME);
                    Ok(Some(signer.sign(&target, expiry)?.to_header()))
                };
                let response = self.send_attempts(method, path, body, &sign)?;
                let status = response.status().as_u16();
                if status == 401 && !resigned {
                    let (response, time) = refusal_time(response)?;
                    if let Some(time) = time {
                        drop(response);
                        self.follow_clock(time);
                        resigned = true;
                        continue;
                    }
                    return Ok(response);
                }
                if status == 403 {
                    let (response, code) = refusal_code(response)?;
                    if code.as_deref() == Some("device_not_registered")
                        && !resigned
                        && let As::Blob(collection) = who
                        && let Some(device) = self.device(&collection)
                    {
                        self.register_device(&device)?;
                        resigned = true;
                        continue;
                    }
                    last = Some(response);
                    break;
                }
                return Ok(response);
            }
        }
        last.ok_or_else(|| malformed("no answer".into()))
    }

    /// Sends one request with its `authorization` (none only for `GET
    /// /v1/server` and sign-in), with the retries of its method: only
    /// unsigned requests and POSTs, which are never retried, come here with
    /// a header made beforehand.
    pub(crate) fn send_signed(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<Response> {
        debug_assert!(authorization.is_none() || method == Method::Post);
        self.send_attempts(method, path, body, &|| Ok(authorization.map(str::to_owned)))
    }

    /// Sends one request, with the `authorization` that `sign` makes for
    /// each attempt; GET and PUT are retried on connection errors and on
    /// 500, 502, 503 and 504 answers, with backoff, POST never.
    fn send_attempts(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        sign: &dyn Fn() -> Result<Option<String>>,
    ) -> Result<Response> {
        let url = format!("{}{path}", self.base);
        let attempts = if method == Method::Post {
            1
        } else {
            self.retries + 1
        };
        let mut pause = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let authorization = sign()?;
            let authorization = authorization.as_deref();
            let sent = match method {
                Method::Get => {
                    let mut request = self.agent.get(&url);
                    if let Some(value) = authorization {
                        request = request.header("authorization", value);
                    }
                    request.call()
                }
                Method::Put | Method::Post => {
                    let mut request = if method == Method::Put {
                        self.agent.put(&url)
                    } else {
                        self.agent.post(&url)
                    };
                    if let Some(value) = authorization {
                        request = request.header("authorization", value);
                    }
                    request.content_type("application/octet-stream").send(body)
                }
            };
            let retry = match &sent {
                // Only the failures that pass: not a 501, nor a 507 (a
                // quota, a full disk), which an attempt more only repeats.
                Ok(response) => matches!(response.status().as_u16(), 500 | 502 | 503 | 504),
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
}
