//! [`HttpRemote::wait_for_changes`]: the long poll `GET /v1/wait`
//! (docs/server.md).

use std::time::Duration;

use sealshare::{CollectionId, Error, RequestTarget, Result, body_digest};

use crate::http::{Method, expect, malformed, read_body, transport_error};
use crate::signing::As;
use crate::{HttpRemote, LIFETIME};

/// The largest wait answer read: at most 100 entries of a 22-character id
/// and a number each.
const MAX_WAIT_ANSWER: u64 = 64 * 1024;
/// The margin over the wait's timeout if the agent has no read timeout.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

impl HttpRemote {
    /// Waits until the log of one of `heads`' collections holds more
    /// operations than the length given with it, or until `timeout` runs
    /// out; answers the collections that did, each with the length the
    /// server knows now (greater than the one given), in the order given.
    /// An empty list means no change within the timeout (or a server that
    /// is stopping): wait again.
    ///
    /// Answers at once if a collection is already longer than its length.
    /// `timeout` is rounded up to whole seconds; the server takes at most
    /// 60 s and at most 100 collections, each once, and refuses more
    /// (`server refused: 400 malformed`), as it refuses a wait when too
    /// many are waiting (`server refused: 503 busy`: wait a little and try
    /// again). The request may take `timeout` plus the remote's read
    /// timeout before it fails as unreachable. It is not retried: the
    /// caller's loop is the retry.
    pub fn wait_for_changes(
        &self,
        heads: &[(CollectionId, u64)],
        timeout: Duration,
    ) -> Result<Vec<(CollectionId, u64)>> {
        let secs = timeout
            .as_secs()
            .saturating_add(u64::from(timeout.subsec_nanos() > 0));
        let mut path = String::from("/v1/wait?");
        for (id, head) in heads {
            path.push_str(&format!("c={}:{head}&", id.to_text()));
        }
        path.push_str(&format!("timeout={secs}"));
        let url = format!("{}{path}", self.base);
        // Signed as the account, or else as the link given for the first
        // collection (a public link's reader).
        let first = heads
            .first()
            .map(|(id, _)| *id)
            .ok_or_else(|| Error::InvalidArgument("a wait names at least one collection".into()))?;
        let signer = self
            .signers(As::Link(first))
            .into_iter()
            .next()
            .ok_or_else(|| Error::Remote("no key to sign with: this remote has no account, and no link was given for this collection".into()))?;
        let target = RequestTarget {
            method: "GET",
            path_and_query: &format!("{}{path}", self.prefix),
            body_digest: body_digest(b""),
            server: self.server_id()?,
        };
        let authorization = signer
            .sign(&target, self.server_now().saturating_add(LIFETIME))?
            .to_header();
        // The server answers after up to `secs`: the wait for its answer
        // is that long plus the remote's read timeout (the agent's).
        let read_timeout = self
            .agent
            .config()
            .timeouts()
            .recv_response
            .unwrap_or(DEFAULT_READ_TIMEOUT);
        let patience = Duration::from_secs(secs).saturating_add(read_timeout);
        let response = self
            .agent
            .get(&url)
            .config()
            .timeout_recv_response(Some(patience))
            .timeout_per_read(Some(patience))
            .build()
            .header("authorization", &authorization)
            .call()
            .map_err(|e| transport_error(&url, Method::Get, &e))?;
        let body = read_body(expect(response, &[200])?, MAX_WAIT_ANSWER)?;
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| malformed(format!("wait answer is not JSON: {e}")))?;
        let changed = answer
            .get("changed")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| malformed(format!("wait answer without a changed list: {answer}")))?;
        let mut out = Vec::with_capacity(changed.len());
        for entry in changed {
            let id = entry
                .get("collection")
                .and_then(serde_json::Value::as_str)
                .and_then(|text| CollectionId::from_text(text).ok());
            let len = entry.get("head").and_then(serde_json::Value::as_u64);
            let (Some(id), Some(len)) = (id, len) else {
                return Err(malformed(format!(
                    "wait answer entry is not a collection id and a head: {entry}"
                )));
            };
            // Only what was asked about, once each, and only grown.
            let asked = heads.iter().find(|(asked, _)| *asked == id);
            let fits = asked.is_some_and(|&(_, head)| len > head)
                && !out.iter().any(|(seen, _)| *seen == id);
            if !fits {
                return Err(malformed(format!(
                    "wait answer names {} at {len}, which is not a change asked about",
                    id.to_text()
                )));
            }
            out.push((id, len));
        }
        Ok(out)
    }
}
