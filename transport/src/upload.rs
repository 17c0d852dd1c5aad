//! Uploading a blob as it is sealed ([`sealshare::Remote::upload_blob`]).
//!
//! A blob of at most [`BUFFERED`] bytes is sent whole under its id (`PUT
//! .../blobs/{hex}`), retried like every idempotent request. A larger one
//! streams (`POST .../blobs`, docs/server.md): its pieces go to the server
//! as they are written, at most [`IN_FLIGHT`] pieces of [`PIECE`] bytes
//! waiting, so memory stays constant whatever the size. The server stores
//! it under the hash it computes and answers with it; `finish` checks that
//! answer against the id the core computed. A streamed upload is not
//! retried: its bytes are gone once sent, so a failure is the caller's to
//! retry.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sealshare::{BlobUpload, CollectionId, Error, RequestTarget, Result, STREAMED_BODY};

use crate::http::{Method, expect, hex, malformed, read_body, transport_error};
use crate::{HttpRemote, LIFETIME, MAX_BLOB, MAX_ERROR};

/// The largest blob sent whole; past it, the upload streams.
pub(crate) const BUFFERED: usize = 8 * 1024 * 1024;
/// How much is gathered before it is handed to the sending thread.
const PIECE: usize = 1024 * 1024;
/// How many pieces may wait for the sending thread.
const IN_FLIGHT: usize = 4;

/// What the sending thread reads.
enum Piece {
    Data(Vec<u8>),
    /// Everything was written: the body ends here. Without it, a closed
    /// channel is an upload given up, and the request is broken off so the
    /// server stores nothing.
    End,
}

/// The body of a streamed upload, read by ureq on the sending thread.
struct Pieces {
    from: Receiver<Piece>,
    current: Vec<u8>,
    at: usize,
    ended: bool,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let rest = self.current.get(self.at..).unwrap_or_default();
            if !rest.is_empty() {
                let mut rest = rest;
                let n = rest.read(buf)?;
                self.at += n;
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.from.recv() {
                Ok(Piece::Data(data)) => {
                    self.current = data;
                    self.at = 0;
                }
                Ok(Piece::End) => self.ended = true,
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the upload was given up before its end",
                    ));
                }
            }
        }
    }
}

/// An upload to an [`HttpRemote`].
pub(crate) struct Upload<'a> {
    remote: &'a HttpRemote,
    collection: CollectionId,
    state: State,
    /// Bytes written so far.
    written: u64,
}

enum State {
    /// Everything written so far, while it is at most [`BUFFERED`] bytes.
    Buffering(Vec<u8>),
    Streaming(Streaming),
    /// A write failed; the upload can only be dropped.
    Failed,
}

/// A request on its own thread, reading the pieces sent to it.
struct Streaming {
    to: SyncSender<Piece>,
    /// What is gathered for the next piece.
    pending: Vec<u8>,
    request: JoinHandle<Result<[u8; 32]>>,
}

impl<'a> Upload<'a> {
    pub(crate) fn new(remote: &'a HttpRemote, collection: CollectionId) -> Self {
        Upload {
            remote,
            collection,
            state: State::Buffering(Vec::new()),
            written: 0,
        }
    }

    /// Starts the streamed request, its body beginning with `first`.
    fn stream(&self, first: Vec<u8>) -> Result<Streaming> {
        let remote = self.remote;
        let signer = remote.account.clone().ok_or_else(|| {
            Error::Remote("no key to sign with: uploading needs an account".into())
        })?;
        let path = format!("/v1/collections/{}/blobs", self.collection.to_text());
        let signed_path = format!("{}{path}", remote.prefix);
        // The server's id is asked for (and its clock followed) first, so the
        // one signature this request gets is not refused as expired.
        let target = RequestTarget {
            method: "POST",
            path_and_query: &signed_path,
            body_digest: STREAMED_BODY,
            server: remote.server_id()?,
        };
        let header = signer
            .sign(&target, remote.server_now().saturating_add(LIFETIME))?
            .to_header();
        let url = format!("{}{path}", remote.base);
        let agent = remote.agent.clone();
        let (to, from) = sync_channel(IN_FLIGHT);
        // Queued before the thread starts, so it cannot block.
        to.send(Piece::Data(first))
            .map_err(|_| Error::Remote("upload: the channel closed".into()))?;
        let body = Pieces {
            from,
            current: Vec::new(),
            at: 0,
            ended: false,
        };
        let request = std::thread::Builder::new()
            .name("sealshare-upload".into())
            .spawn(move || {
                let sent = agent
                    .post(&url)
                    .header("authorization", &header)
                    .content_type("application/octet-stream")
                    .send(ureq::SendBody::from_owned_reader(body));
                let response = sent.map_err(|e| transport_error(&url, Method::Put, &e))?;
                let answer = read_body(expect(response, &[200, 201])?, MAX_ERROR)?;
                stored_id(&answer)
            })
            .map_err(|e| Error::Remote(format!("upload: no thread to send it: {e}")))?;
        Ok(Streaming {
            to,
            pending: Vec::with_capacity(PIECE),
            request,
        })
    }
}

/// The blob id in a streamed upload's answer.
fn stored_id(answer: &[u8]) -> Result<[u8; 32]> {
    let value: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|e| malformed(format!("upload answer is not JSON: {e}")))?;
    let text = value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| malformed("upload answer without an id".into()))?;
    parse_hex(text).ok_or_else(|| malformed(format!("upload answer's id {text:?} is not hex")))
}

/// 64 lowercase hex digits as 32 bytes.
fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// The error that ended `request`, as the io error a failed write returns
/// (carrying it, for the core to report as it is).
fn ended(request: JoinHandle<Result<[u8; 32]>>) -> io::Error {
    let error = match request.join() {
        Ok(Err(e)) => e,
        Ok(Ok(_)) => malformed("the server answered the upload before its end".into()),
        Err(_) => Error::Remote("upload: the sending thread panicked".into()),
    };
    io::Error::other(error)
}

impl Write for Upload<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.written = self.written.saturating_add(data.len() as u64);
        if self.written > MAX_BLOB {
            self.state = State::Failed;
            return Err(io::Error::other(Error::Remote(
                "blob over the server's limit of 1 GiB".into(),
            )));
        }
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Failed => Err(io::Error::other(Error::Remote(
                "upload: an earlier write failed".into(),
            ))),
            State::Buffering(mut buf) => {
                buf.extend_from_slice(data);
                if buf.len() <= BUFFERED {
                    self.state = State::Buffering(buf);
                } else {
                    self.state = State::Streaming(self.stream(buf).map_err(io::Error::other)?);
                }
                Ok(data.len())
            }
            State::Streaming(mut streaming) => {
                streaming.pending.extend_from_slice(data);
                if streaming.pending.len() >= PIECE {
                    let piece =
                        std::mem::replace(&mut streaming.pending, Vec::with_capacity(PIECE));
                    if streaming.to.send(Piece::Data(piece)).is_err() {
                        // The request ended: it says why.
                        return Err(ended(streaming.request));
                    }
                }
                self.state = State::Streaming(streaming);
                Ok(data.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobUpload for Upload<'_> {
    fn finish(self: Box<Self>, id: &[u8; 32]) -> Result<()> {
        let Upload {
            remote,
            collection,
            state,
            ..
        } = *self;
        let streaming = match state {
            State::Failed => return Err(Error::Remote("upload: an earlier write failed".into())),
            State::Buffering(buf) => {
                return sealshare::Remote::put_blob(remote, &collection, id, &buf);
            }
            State::Streaming(streaming) => streaming,
        };
        let Streaming {
            to,
            pending,
            request,
        } = streaming;
        let sent = (pending.is_empty() || to.send(Piece::Data(pending)).is_ok())
            && to.send(Piece::End).is_ok();
        drop(to);
        let stored = match request.join() {
            Ok(result) => result?,
            Err(_) => return Err(Error::Remote("upload: the sending thread panicked".into())),
        };
        if !sent {
            return Err(malformed(
                "the server answered the upload before its end".into(),
            ));
        }
        if stored != *id {
            return Err(malformed(format!(
                "the server stored the upload as {}, but it is {}",
                hex(&stored),
                hex(id)
            )));
        }
        Ok(())
    }
}
