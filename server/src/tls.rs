//! TLS terminated by the server itself (`--tls-cert`, `--tls-key`): the
//! certificate chain and private key are read from PEM files once, at start,
//! into a rustls configuration (ring as the crypto provider, TLS 1.2 and
//! 1.3, ALPN `http/1.1`), and [`serve`] runs the API over it: every accepted
//! TCP connection gets [`HANDSHAKE_TIMEOUT`] to complete its handshake, then
//! HTTP/1.1 is served on the TLS stream as `axum::serve` serves it on plain
//! TCP, with the same graceful shutdown.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client has, from its TCP connection being accepted, to
/// complete the TLS handshake; then the connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the certificate or key cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// `"certificate"` or `"private key"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The certificate file holds no PEM `CERTIFICATE` section, or one that
    /// does not decode.
    #[error("{} holds no valid PEM certificate: {detail}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The key file holds no PEM private key (PKCS#8 `PRIVATE KEY`, RSA
    /// `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) that decodes.
    #[error("{} holds no valid PEM private key (PKCS#8, RSA or EC): {detail}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// rustls refuses the pair: a key of a kind it cannot sign with, or a
    /// key that is not the certificate's.
    #[error("the certificate {} and the key {} cannot be used together: {source}", cert.display(), key.display())]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Reads the PEM certificate chain at `cert` (the server's certificate
/// first) and the PEM private key at `key`, and builds the server's TLS
/// configuration. Succeeds only if both files read and decode and the key
/// is the certificate's (as far as rustls checks: it compares the public
/// keys), so a server that starts with it can complete handshakes.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_pem = read("certificate", cert)?;
    let key_pem = read("private key", key)?;
    let bad_cert = |detail: String| TlsError::BadCertificate {
        path: cert.to_owned(),
        detail,
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad_cert("no CERTIFICATE section".to_owned()));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::BadKey {
        path: key.to_owned(),
        detail: e.to_string(),
    })?;
    let config_error = |source| TlsError::Config {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(config_error)?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(config_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS with `config` on `listener` until `shutdown`
/// resolves; then stops accepting, lets the requests under way finish
/// (connections still in their handshake get at most
/// [`HANDSHAKE_TIMEOUT`]), and returns. A failed handshake or connection
/// closes that connection only. Fails only if accepting fails for a reason
/// other than one connection's (those are retried after a pause, as
/// `axum::serve` does).
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok((tcp, peer)) => (tcp, peer),
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors, for example: wait for some to
                // close rather than spin.
                eprintln!("sealshare-server: accept failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // The watcher is taken before the handshake, so a shutdown waits
        // for connections still in their handshake too.
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        // The peer's address, for the rate limits, as axum::serve gives it.
        let app = app
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                // A client that does not speak TLS, a refused handshake, or
                // one too slow: nothing to answer, the connection closes.
                Ok(Err(_)) | Err(_) => return,
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
            // An error is one connection's (the client went away, or sent
            // what is not HTTP): it ends that connection only.
            let _ = watcher.watch(connection).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accept error that is one connection's, not the listener's.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
