//! `sealshare-server --data DIR [--postgres URL] --listen 127.0.0.1:PORT`:
//! serves the store in `DIR` (SQLite), or in the PostgreSQL database at `URL`
//! with the blobs in `DIR`, on a loopback address until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use sealshare_server::{Store, app, check_listen};

/// The sealshare reference server (no authentication yet: loopback only).
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
    /// The address to listen on; only a loopback address is accepted, port 0
    /// picks a free port. Prints `listening on ADDR` once ready.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let addr = match check_listen(args.listen) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("sealshare-server: {e}");
            return ExitCode::from(2);
        }
    };
    let opened = match &args.postgres {
        None => Store::open(&args.data),
        Some(url) => Store::open_postgres(&args.data, url),
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
    match runtime.block_on(serve(addr, store)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealshare-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr, store: Arc<Store>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Before the line that says the server is ready: from then on, SIGINT
    // and SIGTERM stop it gracefully, however soon they come.
    let shutdown = shutdown_signal()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local}")?;
        out.flush()?;
    }
    axum::serve(listener, app(store))
        .with_graceful_shutdown(shutdown)
        .await?;
    eprintln!("sealshare-server: stopped");
    Ok(())
}

/// Installs the handlers of SIGINT (Ctrl-C) and SIGTERM now, and answers a
/// future that resolves on the first of them.
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

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
