//! What the transport tests' fake servers share: reading a request's head,
//! and answering `GET /v1/server`.
#![allow(dead_code)]

use std::io::BufRead;
use std::net::{SocketAddr, TcpListener, TcpStream};

use sealshare::system_time;

/// The head of the next request on `reader`: its first line and its header
/// lines (each without its line end); `None` once the connection is closed.
pub(crate) fn request_head(reader: &mut impl BufRead) -> Option<(String, Vec<String>)> {
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            return Some((first, headers));
        }
        headers.push(line.trim_end().to_owned());
    }
}

/// The first line of the next request's head on `reader`, the rest of the
/// head read and dropped; `None` once the connection is closed.
pub(crate) fn request_line(reader: &mut impl BufRead) -> Option<String> {
    request_head(reader).map(|(first, _)| first)
}

/// The answer to `GET /v1/server` of a fake server, with `extra` headers.
pub(crate) fn server_info_answer(extra: &str) -> String {
    let body = format!(
        "{{\"id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"time\":{}}}",
        system_time()
    );
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A server on a free loopback port that runs `connection` on each
/// connection, on a thread of its own.
pub(crate) fn serve(connection: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connection = std::sync::Arc::new(connection);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let connection = connection.clone();
            std::thread::spawn(move || connection(stream));
        }
    });
    addr
}
