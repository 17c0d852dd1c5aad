//! The server as a real process on a free loopback port, and a small HTTP
//! client for it that signs its requests as the accounts it was given (the
//! author of an operation for an append; for anything else, the first whose
//! answer is not 403), or sends exactly the header a test gives. The core's
//! clients reach the server through `sealshare-http`'s `HttpRemote`.
//!
//! The store is SQLite in the data folder, or, with
//! `SEALSHARE_TEST_STORE=postgres`, a database of its own for each data
//! folder on the PostgreSQL server `SEALSHARE_TEST_POSTGRES`
//! (`postgres://user@host:port`, as `scripts/postgres.sh start` prints),
//! made the first time a server starts on that folder and used again by
//! every server started on it after.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use sealshare::{
    Account, Client, CollectionId, MemoryRemote, Operation, Principal, Remote, RequestSigner,
    RequestTarget, ServerId, body_digest, system_time,
};

/// alice and bob as clients of one in-memory server, each knowing the
/// other's card: where tests make the logs they then send to a real server.
pub fn alice_and_bob() -> (Arc<MemoryRemote>, Client, Client) {
    let memory = Arc::new(MemoryRemote::new());
    let remote: Arc<dyn Remote> = memory.clone();
    let now = system_time();
    let mut alice = Client::new(Account::create("alice", now).unwrap(), remote.clone());
    let mut bob = Client::new(Account::create("bob", now).unwrap(), remote);
    alice.observe(bob.account().identity()).unwrap();
    bob.observe(alice.account().identity()).unwrap();
    (memory, alice, bob)
}

/// How long a server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The command that runs the built server binary.
pub fn server_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealshare-server"))
}

/// Whether the tests' servers keep their data in PostgreSQL
/// (`SEALSHARE_TEST_STORE=postgres`) rather than SQLite (unset or `sqlite`).
pub fn on_postgres() -> bool {
    match std::env::var("SEALSHARE_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("SEALSHARE_TEST_STORE={other:?}: expected postgres or sqlite"),
    }
}

/// The PostgreSQL server of the tests, without a database:
/// `postgres://user@host:port`. Panics if it is not given: a PostgreSQL run
/// never skips.
pub fn postgres_server() -> String {
    let url = std::env::var("SEALSHARE_TEST_POSTGRES").unwrap_or_default();
    assert!(
        !url.is_empty(),
        "SEALSHARE_TEST_STORE=postgres needs SEALSHARE_TEST_POSTGRES=postgres://user@host:port \
         (run `eval \"$(bash scripts/postgres.sh start)\"` first)"
    );
    // Drop a database already named in it: each data folder gets its own.
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, _)) => format!("{scheme}://{authority}"),
            None => url.trim_end_matches('/').to_owned(),
        },
        None => panic!("SEALSHARE_TEST_POSTGRES={url:?} is not a postgres:// URL"),
    }
}

/// Makes a new, empty database on the tests' PostgreSQL server, and answers
/// its URL.
pub fn create_database() -> String {
    let server = postgres_server();
    let id = ServerId::generate().unwrap();
    let name = format!("t_{}", hex(&id.0));
    let mut client = postgres::Client::connect(&format!("{server}/postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach {server}: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    format!("{server}/{name}")
}

/// The database of the data folder `data`: made the first time it is asked
/// for, the same ever after in this test process.
pub fn database_for(data: &Path) -> String {
    static DATABASES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    let mut databases = DATABASES.lock().unwrap_or_else(|e| e.into_inner());
    databases
        .get_or_insert_with(HashMap::new)
        .entry(data.to_owned())
        .or_insert_with(create_database)
        .clone()
}

/// The arguments that give a server the store of `data`: `--data DIR`, and
/// with PostgreSQL `--postgres URL` of that folder's database.
pub fn store_args(data: &Path) -> Vec<OsString> {
    let mut args = vec![OsString::from("--data"), data.as_os_str().to_owned()];
    if on_postgres() {
        args.push("--postgres".into());
        args.push(database_for(data).into());
    }
    args
}

/// The store of `data` opened in this process, as a server opens it.
pub fn open_store(data: &Path) -> sealshare_server::Store {
    if on_postgres() {
        sealshare_server::Store::open_postgres(data, &database_for(data)).unwrap()
    } else {
        sealshare_server::Store::open(data).unwrap()
    }
}

/// The blobs being written, or left behind, in `data`'s temporary folder
/// (with PostgreSQL each process has its own folder in it, with a lock file).
pub fn temporary_blobs(data: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("blob-"))
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&data.join("tmp"), &mut out);
    out
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
    signers: Arc<Mutex<Vec<Arc<RequestSigner>>>>,
    server_id: Arc<OnceLock<ServerId>>,
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
    /// `sealshare-card-reset`: the time of the account's last reset.
    pub card_reset: Option<String>,
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
    /// Starts the server on `127.0.0.1:0` with the store of `data` (see
    /// [`store_args`]), and reads its port from its first line of output.
    /// Panics (fails the test) if it does not start.
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// As [`Server::start`], with these further arguments.
    pub fn start_with(data: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data, extra, &[])
    }

    /// As [`Server::start_with`], with these environment variables set.
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = server_command();
        command
            .args(store_args(data))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied());
        Self::spawn(command)
    }

    /// Starts `command`, a server that listens on `127.0.0.1:0` (as
    /// [`Server::start`], with arguments of the caller's own).
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
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
                signers: Arc::default(),
                server_id: Arc::default(),
            },
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A `Remote` over this server's API signing as `account`, whose card
    /// it publishes first: how an app reaches the server.
    pub fn remote_for(&self, account: &Account) -> Arc<dyn Remote> {
        let remote = sealshare_http::HttpRemote::new(&self.base, account).expect("a remote");
        remote
            .publish_card(account.identity())
            .expect("the card is published");
        self.sign_as(account);
        Arc::new(remote)
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it.
    pub fn kill(&self) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
        // A process in the middle of a sync dies only once it returns: wait
        // until it is gone (or a zombie, its locks released).
        let stat = format!("/proc/{pid}/stat");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        }) {
            assert!(
                std::time::Instant::now() < deadline,
                "the killed server did not die"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
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
    fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
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
        let card_reset = header("sealshare-card-reset");
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
            card_reset,
            body,
        }
    }

    /// Signs this client's requests as `account` too (after those given
    /// before).
    pub fn sign_as(&self, account: &Account) {
        self.sign_with(RequestSigner::for_account(account));
    }

    /// Signs this client's requests with `signer` too.
    pub fn sign_with(&self, signer: RequestSigner) {
        self.signers.lock().unwrap().push(Arc::new(signer));
    }

    /// Signs as `account` and publishes its card, as a new user does.
    pub fn register(&self, account: &Account) {
        self.sign_as(account);
        let answer = self.put(
            &format!("/v1/cards/{}", account.identity().handle()),
            &account.identity().to_bytes(),
        );
        assert!(
            matches!(answer.status, 200 | 201),
            "{:?}",
            String::from_utf8_lossy(&answer.body)
        );
    }

    /// The server's id (`GET /v1/server`, asked once).
    pub fn server_id(&self) -> ServerId {
        *self.server_id.get_or_init(|| {
            let answer = self.send("GET", "/v1/server", b"", None);
            assert_eq!(answer.status, 200);
            ServerId::from_text(answer.json()["id"].as_str().unwrap()).unwrap()
        })
    }

    /// The `Authorization` header of `method path` with `body` signed by
    /// `signer` for this server, valid for `lifetime` seconds.
    pub fn authorization(
        &self,
        signer: &RequestSigner,
        method: &str,
        path: &str,
        body: &[u8],
        lifetime: u64,
    ) -> String {
        let target = RequestTarget {
            method,
            path_and_query: path,
            body_digest: digest(method, path, body),
            server: self.server_id(),
        };
        signer
            .sign(&target, system_time() + lifetime)
            .unwrap()
            .to_header()
    }

    /// `method path` with `body` and exactly this `Authorization` header
    /// (none if `None`).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => {
                let mut request = self.agent.get(&url);
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                request.call()
            }
            _ => {
                let mut request = match method {
                    "PUT" => self.agent.put(&url),
                    "POST" => self.agent.post(&url),
                    other => panic!("method {other}"),
                };
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                request.send(body)
            }
        };
        Self::answer(response)
    }

    /// `method path` with `body`, signed: by the author of the operation
    /// for an append, by the handle for a card or a listing; otherwise by
    /// each signer in turn until one is not refused with 403. Unsigned if
    /// no signer was given.
    pub fn signed(&self, method: &str, path: &str, body: &[u8]) -> Answer {
        let signers: Vec<Arc<RequestSigner>> = self.signers.lock().unwrap().clone();
        if signers.is_empty() {
            return self.send(method, path, body, None);
        }
        let named = if method == "POST" {
            Operation::from_bytes(body)
                .ok()
                .map(|op| op.author().to_owned())
        } else if method == "PUT" {
            path.strip_prefix("/v1/cards/").map(str::to_owned)
        } else {
            path.strip_prefix("/v1/handles/")
                .and_then(|p| p.strip_suffix("/collections"))
                .map(str::to_owned)
        };
        let of = |s: &RequestSigner, handle: &str| matches!(s.principal(), Principal::Account { handle: h } if h == handle);
        let chosen: Vec<_> = match &named {
            Some(handle) if signers.iter().any(|s| of(s, handle)) => {
                signers.iter().filter(|s| of(s, handle)).cloned().collect()
            }
            _ => signers,
        };
        let mut last = None;
        for signer in chosen {
            let header = self.authorization(&signer, method, path, body, 30);
            let answer = self.send(method, path, body, Some(&header));
            if answer.status != 403 {
                return answer;
            }
            last = Some(answer);
        }
        last.unwrap()
    }

    /// The status of an append signed by the operation's author, or `None`
    /// if the server did not answer (it was killed).
    pub fn try_append(&self, id: &CollectionId, seq: u64, op: &[u8]) -> Option<u16> {
        self.try_signed(
            "POST",
            &format!("/v1/collections/{}/operations?seq={seq}", id.to_text()),
            op,
        )
    }

    /// The status of a signed `PUT path`, or `None` if the server did not
    /// answer.
    pub fn try_put(&self, path: &str, body: &[u8]) -> Option<u16> {
        self.try_signed("PUT", path, body)
    }

    fn try_signed(&self, method: &str, path: &str, body: &[u8]) -> Option<u16> {
        // An append is signed by its operation's author; anything else by
        // the first signer given.
        let author = Operation::from_bytes(body)
            .ok()
            .map(|op| op.author().to_owned());
        let signers = self.signers.lock().unwrap().clone();
        let signer = signers
            .iter()
            .find(|s| {
                matches!(s.principal(), Principal::Account { handle }
                    if Some(handle) == author.as_ref())
            })
            .or_else(|| signers.first())
            .cloned()?;
        let header = self.authorization(&signer, method, path, body, 30);
        let url = format!("{}{path}", self.base);
        let request = match method {
            "POST" => self.agent.post(&url),
            _ => self.agent.put(&url),
        };
        request
            .header("authorization", &header)
            .send(body)
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// `GET path`, signed.
    pub fn get(&self, path: &str) -> Answer {
        self.signed("GET", path, b"")
    }

    /// `PUT path` with `body`, signed.
    pub fn put(&self, path: &str, body: &[u8]) -> Answer {
        self.signed("PUT", path, body)
    }

    /// `POST path` with `body`, signed.
    pub fn post(&self, path: &str, body: &[u8]) -> Answer {
        self.signed("POST", path, body)
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

/// The digest a request's signature covers: a blob's id for its upload,
/// [`sealshare::STREAMED_BODY`] for a streamed one, the body's BLAKE3
/// otherwise.
fn digest(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    if method == "POST" && path.ends_with("/blobs") {
        return sealshare::STREAMED_BODY;
    }
    if method == "PUT"
        && let Some((_, id)) = path.rsplit_once("/blobs/")
        && let Some(id) = parse_hex(id)
    {
        return id;
    }
    body_digest(body)
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path of a blob.
pub fn blob_path(collection: &CollectionId, id: &[u8; 32]) -> String {
    format!("/v1/collections/{}/blobs/{}", collection.to_text(), hex(id))
}
