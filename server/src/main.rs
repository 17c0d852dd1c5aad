//! `sealshare-server --data DIR [--postgres URL] [--blobs s3://BUCKET[/PREFIX]]
//! --listen ADDR [--tls-cert FILE --tls-key FILE | --behind-proxy]`: serves
//! the store in `DIR` (SQLite), or in the PostgreSQL database at `URL`, with
//! the blobs in `DIR` or in an S3-compatible bucket, over plain HTTP or TLS,
//! until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use sealshare_server::store::BlobStorage;
use sealshare_server::{Store, app, check_listen, tls};

/// The sealshare reference server.
#[derive(Parser)]
#[command(name = "sealshare-server", version, about)]
struct Args {
    /// The data folder: `sealshare.db`, `nonces.db`, `blobs/`, `tmp/`
    /// (created if missing); only `blobs/` and `tmp/` with `--postgres`.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Keep the logs, cards, listing and nonces in this PostgreSQL database
    /// instead of SQLite (`postgres://user@host:port/database`, no TLS).
    /// Several servers may share the database and the data folder.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Keep the blobs in this S3-compatible bucket instead of `DIR/blobs/`:
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX`. The endpoint, region and keys
    /// come from the `AWS_*` environment variables (`AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`, ...). Blobs are uploaded under `PREFIX/tmp/` and
    /// copied create-only into place (docs/server.md, Storage); the data
    /// folder still holds the databases and its lock.
    #[arg(long, value_name = "URL")]
    blobs: Option<BlobStorage>,
    /// The address to listen on; port 0 picks a free port. Prints `listening
    /// on ADDR` once ready. Plain HTTP only on a loopback address, unless
    /// `--behind-proxy`.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// Serve plain HTTP beyond loopback, because a proxy in front
    /// terminates TLS (it must pass the path and query unchanged: requests
    /// are signed over them).
    #[arg(long)]
    behind_proxy: bool,
    /// Requests per second each client address may send (bursts of four
    /// times as many); 0 for no limit. Beyond, `429 rate_limited`.
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    rate_limit: f64,
    /// Hold loopback addresses to `--rate-limit` too (by default they are
    /// not: a proxy on the same machine is where to limit then).
    #[arg(long)]
    limit_loopback: bool,
    /// Serve over TLS with this certificate chain: a PEM file, the server's
    /// certificate first, then any intermediates. Requires `--tls-key`.
    /// Without both flags the server speaks plain HTTP. Read once at start:
    /// an unreadable or invalid file exits with status 2 before listening.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert`'s certificate: a PEM file holding a
    /// PKCS#8 (`PRIVATE KEY`), RSA (`RSA PRIVATE KEY`) or EC (`EC PRIVATE
    /// KEY`) key. Requires `--tls-cert`; an unreadable or invalid key, or one
    /// that is not the certificate's, exits with status 2 before listening.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = match check_listen(args.listen, args.tls_cert.is_some(), args.behind_proxy) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("sealshare-server: {e}");
            return ExitCode::from(2);
        }
    };
    // `requires` on both flags: either both are given or neither.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match tls::load(cert, key) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("sealshare-server: TLS: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let storage = args.blobs.clone().unwrap_or_default();
    let opened = match &args.postgres {
        None => Store::open_with_blobs(&args.data, &storage),
        Some(url) => Store::open_postgres_with_blobs(&args.data, url, &storage),
    };
    let store = match opened {
        Ok(store) => Arc::new(store),
        // The URL is not repeated: it may hold a password.
        Err(e) if args.postgres.is_some() => {
            eprintln!(
                "sealshare-server: cannot open the PostgreSQL store (blobs in {}): {e}",
                args.data.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "sealshare-server: cannot open the store in {}: {e}",
                args.data.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sealshare-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let limit = sealshare_server::limits::RateLimit {
        per_second: args.rate_limit.max(0.0),
        burst: args.rate_limit.max(0.0) * 4.0,
        loopback: args.limit_loopback,
    };
    match runtime.block_on(serve(addr, store, tls, limit)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealshare-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    addr: SocketAddr,
    store: Arc<Store>,
    tls: Option<Arc<rustls::ServerConfig>>,
    limit: sealshare_server::limits::RateLimit,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Before the line that says it listens: from then on a SIGTERM is a
    // graceful shutdown, never the default action (killed by the signal).
    let signal = shutdown_signal()?;
    let waits = Arc::clone(&store);
    let shutdown = async move {
        signal.await;
        // Long polls answer now rather than hold the stop for their timeouts.
        waits.notifier().close();
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
    }
    match tls {
        Some(config) => tls::serve(listener, config, app(store, limit), shutdown).await?,
        None => {
            axum::serve(
                listener,
                app(store, limit).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await?;
        }
    }
    eprintln!("sealshare-server: stopped");
    Ok(())
}

/// Installs the handlers of SIGINT (Ctrl-C) and SIGTERM now, and resolves
/// on the first of them to arrive after that.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C (whose handler is installed once the future is first
/// polled).
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
