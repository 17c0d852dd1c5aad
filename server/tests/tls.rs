#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The server as a real process with `--tls-cert` and `--tls-key`: a
//! certificate for localhost and 127.0.0.1, made at test time, is served and
//! the API answers over TLS to a client that trusts exactly it; plain HTTP
//! to the same port gets no answer; one flag alone, or a file that is
//! missing, not PEM, or not the certificate's key, exits with status 2 and a
//! message before anything is created.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use sealshare::{Account, Client, Collection, CollectionList, Role, system_time};
use sealshare_http::HttpRemote;
use support::server_command;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as
/// PEM files into `dir`: (certificate file, key file, certificate DER).
fn certificate(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_file = dir.join("cert.pem");
    let key_file = dir.join("key.pem");
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, signing_key.serialize_pem()).unwrap();
    (cert_file, key_file, cert.der().to_vec())
}

/// A client that trusts only `cert` (rustls with ring), and takes any
/// status as an answer.
fn agent_trusting(cert: &[u8]) -> ureq::Agent {
    let roots = vec![Certificate::from_der(cert).to_owned()];
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .root_certs(RootCerts::Specific(Arc::new(roots)))
                .unversioned_rustls_crypto_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .build(),
        )
        .build()
        .into()
}

/// A server process, killed when dropped.
struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server with TLS on `127.0.0.1:0`; its address from its first
/// line of output.
fn start_tls(data: &Path, cert: &Path, key: &Path) -> Running {
    let mut child = server_command()
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut err);
            }
            panic!("the server did not start: {other:?}, stderr: {err}");
        }
    };
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    Running { child, addr }
}

#[test]
fn the_api_answers_over_tls_and_plain_http_to_the_tls_port_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let mut server = start_tls(&dir.path().join("data"), &cert, &key);
    let agent = agent_trusting(&der);

    let response = agent
        .get(format!("https://{}/v1/nothing", server.addr))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().read_to_vec().unwrap()).unwrap();
    assert_eq!(body["error"], "not_found", "{body}");

    // Another request on the same agent (and perhaps the same connection).
    let response = agent
        .get(format!("https://{}/v1/server", server.addr))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().read_to_vec().unwrap()).unwrap();
    assert!(body["id"].is_string(), "{body}");
    // A signed route answers its refusal over TLS too.
    let response = agent
        .get(format!(
            "https://{}/v1/handles/nobody/collections",
            server.addr
        ))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    // Plain HTTP to the TLS port: no HTTP answer.
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let answer = plain
        .get(format!("http://{}/v1/nothing", server.addr))
        .call();
    assert!(answer.is_err(), "plain HTTP got an answer: {answer:?}");
    // The same by hand: what comes back is no HTTP status line.
    let mut tcp = std::net::TcpStream::connect(&server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(b"GET /v1/nothing HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    let mut back = Vec::new();
    let _ = tcp.read_to_end(&mut back);
    assert!(!back.starts_with(b"HTTP/"), "{back:?}");

    // A client that does not trust the certificate: refused in the handshake.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let stranger = agent_trusting(other.cert.der());
    let answer = stranger
        .get(format!("https://{}/v1/nothing", server.addr))
        .call();
    assert!(answer.is_err(), "an untrusted certificate was accepted");

    // The server is still serving, and stops cleanly on SIGTERM.
    let response = agent
        .get(format!("https://{}/v1/nothing", server.addr))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = server.child.wait().unwrap();
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(exit.success(), "{exit:?}, stderr: {err}");
    assert!(err.contains("stopped"), "{err}");
}

/// Runs the server with these TLS arguments to its exit: (status code,
/// stderr, stdout, whether the data folder was created).
fn run_with(dir: &Path, tls_args: &[&std::ffi::OsStr]) -> (Option<i32>, String, Vec<u8>, bool) {
    let data = dir.join("data");
    let out = server_command()
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0"])
        .args(tls_args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout,
        data.exists(),
    )
}

#[test]
fn a_bad_key_file_exits_with_status_2_and_a_message_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let (_, other_key, _) = certificate(other_dir.path());
    let missing = dir.path().join("missing.pem");

    let cases: [(&str, &Path, &Path, &[&str]); 5] = [
        (
            "a key file that is no PEM key",
            &cert,
            &garbage,
            &["garbage.pem", "no valid PEM private key"],
        ),
        (
            "a key file that is missing",
            &cert,
            &missing,
            &["cannot read private key", "missing.pem"],
        ),
        (
            "the key of another certificate",
            &cert,
            &other_key,
            &["cannot be used together"],
        ),
        (
            "a certificate file that is no PEM certificate",
            &garbage,
            &key,
            &["garbage.pem", "no valid PEM certificate"],
        ),
        (
            "the key given as the certificate",
            &key,
            &key,
            &["key.pem", "no valid PEM certificate"],
        ),
    ];
    for (what, cert, key, expected) in cases {
        let (code, stderr, stdout, created) = run_with(
            dir.path(),
            &[
                "--tls-cert".as_ref(),
                cert.as_os_str(),
                "--tls-key".as_ref(),
                key.as_os_str(),
            ],
        );
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(
            stderr.starts_with("sealshare-server: TLS: "),
            "{what}: {stderr}"
        );
        for part in expected {
            assert!(stderr.contains(part), "{what}: {part:?} not in {stderr}");
        }
        assert!(stdout.is_empty(), "{what}: it listened");
        assert!(!created, "{what}: the data folder was created");
    }
}

#[test]
fn one_tls_flag_without_the_other_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    for args in [
        ["--tls-cert".as_ref(), cert.as_os_str()],
        ["--tls-key".as_ref(), key.as_os_str()],
    ] {
        let (code, stderr, stdout, created) = run_with(dir.path(), &args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("required"), "{stderr}");
        assert!(stdout.is_empty());
        assert!(!created);
    }
}

#[test]
fn sealshare_http_shares_over_tls_trusting_the_given_root_and_refuses_a_server_it_does_not_trust() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let server = start_tls(&dir.path().join("data"), &cert, &key);
    let url = format!("https://{}", server.addr);
    let pem = std::fs::read(&cert).unwrap();
    let connect = |handle: &str| {
        let account = Account::create(handle, system_time()).unwrap();
        let remote = HttpRemote::builder(&url)
            .account(&account)
            .root_certificates(&pem)
            .build()
            .unwrap();
        assert!(remote.publish_card(account.identity()).unwrap());
        let remote = Arc::new(remote);
        (Client::new(account, remote.clone()), remote)
    };
    let (mut alice, a) = connect("alice");
    let (mut bob, b) = connect("bob");
    alice.observe(&a.card("bob").unwrap().unwrap()).unwrap();
    bob.observe(&b.card("alice").unwrap().unwrap()).unwrap();

    // A collection, an item and its blob, shared and read, all over TLS.
    let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
    let item = notes
        .add_file(&mut alice, None, "a.txt", "text/plain", b"hello over https")
        .unwrap();
    notes
        .share(&mut alice, bob.account().identity(), Role::Viewer)
        .unwrap();
    let list = CollectionList::fetch(&mut bob).unwrap();
    let mut theirs = list.pending.into_iter().next().unwrap().collection;
    theirs.accept(&mut bob).unwrap();
    assert_eq!(theirs.read(&bob, item).unwrap(), b"hello over https");

    // With the bundled roots only, the test's certificate is not trusted:
    // nothing is sent.
    let stranger = HttpRemote::new(&url, alice.account()).unwrap();
    let refused = stranger.card("alice").unwrap_err().to_string();
    assert!(
        refused.contains("certificate") || refused.contains("Certificate"),
        "{refused}"
    );

    // Roots that are not certificates fail at once.
    for bad in [&b"not pem"[..], b"", key_pem(&key).as_slice()] {
        let built = HttpRemote::builder(&url).root_certificates(bad).build();
        assert!(built.is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

/// The PEM of the key file: a private key, no certificate.
fn key_pem(key: &Path) -> Vec<u8> {
    std::fs::read(key).unwrap()
}
