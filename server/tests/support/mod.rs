//! The server as a real process on a free loopback port, a small HTTP client
//! for it, and a `Remote` over that client (the core's client against the
//! real server).
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sealshare::{Appended, CollectionId, Error, Remote, Result};

/// How long a server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The command that runs the built server binary.
pub fn server_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealshare-server"))
}

/// A running `sealshare-server`, killed when dropped (stopped gracefully by
/// [`Server::stop`]).
pub struct Server {
    child: Option<Child>,
    stderr: Option<ChildStderr>,
    http: Http,
}

/// A client of the server's HTTP API.
#[derive(Clone)]
pub struct Http {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    agent: ureq::Agent,
}

impl std::ops::Deref for Server {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

/// An answer: status, headers that matter, body.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub more: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {:?} (status {})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// The error code of a JSON error answer.
    pub fn code(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    /// The message of a JSON error answer.
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts a JSON error with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.content_type.as_str()),
            (status, "application/json"),
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.code(), code, "{}", self.message());
        assert!(!self.message().is_empty());
    }
}

impl Server {
    /// Starts the server on `127.0.0.1:0` with `data`, and reads its port
    /// from its first line of output. Panics (fails the test) if it does not
    /// start.
    pub fn start(data: &Path) -> Self {
        let mut child = server_command()
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining, so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let status = child.wait();
                let mut err = String::new();
                if let Some(mut stderr) = stderr {
                    let _ = stderr.read_to_string(&mut err);
                }
                panic!("the server did not start: {other:?}, {status:?}, stderr: {err}");
            }
        };
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            child: Some(child),
            stderr,
            http: Http {
                base: format!("http://{addr}"),
                agent,
            },
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A `Remote` over this server's API, for the core's clients.
    pub fn remote(&self) -> std::sync::Arc<dyn Remote> {
        std::sync::Arc::new(HttpRemote {
            http: self.http.clone(),
        })
    }

    /// Stops the server with SIGTERM and checks it shuts down cleanly.
    pub fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = child.wait().expect("the server exits");
        let mut err = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        assert!(exit.success(), "{exit:?}, stderr: {err}");
        assert!(err.contains("stopped"), "{err}");
    }
}

impl Http {
    fn answer(
        response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Answer {
        let response = response.expect("the server answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let more = header("sealshare-more");
        let body = response
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("the body reads");
        Answer {
            status,
            content_type,
            more,
            body,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    /// `PUT path` with `body`.
    pub fn put(&self, path: &str, body: &[u8]) -> Answer {
        Self::answer(self.agent.put(format!("{}{path}", self.base)).send(body))
    }

    /// `POST path` with `body`.
    pub fn post(&self, path: &str, body: &[u8]) -> Answer {
        Self::answer(self.agent.post(format!("{}{path}", self.base)).send(body))
    }

    /// Appends `op` at `seq` of `id`'s log.
    pub fn append(&self, id: &CollectionId, seq: u64, op: &[u8]) -> Answer {
        self.post(
            &format!("/v1/collections/{}/operations?seq={seq}", id.to_text()),
            op,
        )
    }

    /// One page of `id`'s log from `from`, decoded.
    pub fn fetch_page(&self, id: &CollectionId, from: u64) -> (Vec<Vec<u8>>, bool) {
        let answer = self.get(&format!(
            "/v1/collections/{}/operations?from={from}",
            id.to_text()
        ));
        assert_eq!(
            answer.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.content_type, "application/octet-stream");
        let more = match answer.more.as_deref() {
            Some("true") => true,
            Some("false") => false,
            other => panic!("sealshare-more: {other:?}"),
        };
        (decode_frames(&answer.body), more)
    }

    /// The whole log of `id` from `from`, page after page.
    pub fn fetch(&self, id: &CollectionId, from: u64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let (page, more) = self.fetch_page(id, from + out.len() as u64);
            out.extend(page);
            if !more {
                return out;
            }
        }
    }

    /// What the server lists for `handle`.
    pub fn listed(&self, handle: &str) -> std::collections::BTreeSet<CollectionId> {
        let answer = self.get(&format!("/v1/handles/{handle}/collections"));
        assert_eq!(answer.status, 200);
        answer
            .json()
            .as_array()
            .expect("a JSON list")
            .iter()
            .map(|v| CollectionId::from_text(v.as_str().expect("a string")).expect("an id"))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Decodes a fetch answer: `u32 big-endian length || bytes`, repeated.
pub fn decode_frames(mut body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (op, rest) = rest.split_at(len);
        out.push(op.to_vec());
        body = rest;
    }
    out
}

/// The core's [`Remote`] over the server's HTTP API: how an app reaches it.
pub struct HttpRemote {
    pub http: Http,
}

fn remote_error(answer: &Answer) -> Error {
    Error::Remote(format!(
        "{} {}: {}",
        answer.status,
        answer.code(),
        answer.message()
    ))
}

impl Remote for HttpRemote {
    fn append(&self, collection: &CollectionId, seq: u64, op: &[u8]) -> Result<Appended> {
        let answer = self.http.append(collection, seq, op);
        match answer.status {
            200 => Ok(Appended::Stored),
            409 => Ok(Appended::Conflict),
            _ => Err(remote_error(&answer)),
        }
    }

    fn fetch(&self, collection: &CollectionId, from: u64) -> Result<Vec<Vec<u8>>> {
        Ok(self.http.fetch(collection, from))
    }

    fn put_blob(&self, collection: &CollectionId, id: &[u8; 32], blob: &[u8]) -> Result<()> {
        let answer = self.http.put(&blob_path(collection, id), blob);
        match answer.status {
            200 | 201 => Ok(()),
            _ => Err(remote_error(&answer)),
        }
    }

    fn get_blob(&self, collection: &CollectionId, id: &[u8; 32]) -> Result<Vec<u8>> {
        let answer = self.http.get(&blob_path(collection, id));
        match answer.status {
            200 => Ok(answer.body),
            _ => Err(remote_error(&answer)),
        }
    }

    fn collections_of(&self, handle: &str) -> Result<Vec<CollectionId>> {
        Ok(self.http.listed(handle).into_iter().collect())
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path of a blob.
pub fn blob_path(collection: &CollectionId, id: &[u8; 32]) -> String {
    format!("/v1/collections/{}/blobs/{}", collection.to_text(), hex(id))
}
