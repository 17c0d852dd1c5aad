//! `sealshare-server --data DIR [--postgres URL [--postgres-roots FILE]]
//! [--blobs s3://BUCKET[/PREFIX]] --listen ADDR [--tls-cert FILE --tls-key FILE | --behind-proxy]`: serves
//! the store in `DIR` (SQLite), or in the PostgreSQL database at `URL`, with
//! the blobs in `DIR` or in an S3-compatible bucket, over plain HTTP or TLS,
//! until SIGINT or SIGTERM.
//!
//! `sealshare-server reset-account --data DIR [--postgres URL
//! [--postgres-roots FILE]] --card FILE HANDLE`: the operator's account reset (docs/server.md, Account reset):
//! `FILE`'s card becomes `HANDLE`'s, the reset is recorded, and the handle's
//! sign-in records and lockers are deleted. Exits 2 on a usage error, 1 on a
//! failure.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sealshare::Identity;
use sealshare_server::store::{BlobStorage, PostgresRoots, StoreError};
use sealshare_server::{Store, app, check_listen, tls};

/// The sealshare reference server. Without a command, serves.
#[derive(Parser)]
#[command(
    name = "sealshare-server",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// How to serve.
    #[command(flatten)]
    serve: Args,
}

/// The operator's commands.
#[derive(Subcommand)]
enum Command {
    /// Resets an account: gives HANDLE the new card in `--card`.
    ///
    /// The card becomes HANDLE's published card (replacing the one there,
    /// if any), the reset is recorded in the card changes, and HANDLE's
    /// sign-in records and lockers (which hold the old keystore) are
    /// deleted, in one transaction. For a user who
    /// lost every device, password and recovery phrase: the operator
    /// vouches that the new card is theirs; everyone who pinned the old card
    /// sees a key change. With SQLite, stop the server first (it holds the
    /// data folder); with PostgreSQL, servers may keep running.
    ResetAccount {
        /// The data folder of the store (as the server is given it).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The PostgreSQL database of the store, if it is not SQLite.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// As for serving: the only roots trusted for TLS to `--postgres`.
        #[arg(long, value_name = "FILE", requires = "postgres")]
        postgres_roots: Option<PathBuf>,
        /// The user's new card: the file `sealshare account card --out FILE`
        /// writes (the card's bytes; its text form is accepted too).
        #[arg(long, value_name = "FILE")]
        card: PathBuf,
        /// The handle whose account is reset; the card must be for it.
        handle: String,
    },
}

/// How to serve.
#[derive(clap::Args)]
struct Args {
    /// The data folder: `sealshare.db`, `nonces.db`, `blobs/`, `tmp/`
    /// (created if missing); only `blobs/` and `tmp/` with `--postgres`.
    #[arg(long, value_name = "DIR", required = true)]
    data: Option<PathBuf>,
    /// Keep the logs, cards, listing and nonces in this PostgreSQL database
    /// instead of SQLite (`postgres://user@host:port/database`). Over TLS
    /// if the URL says `sslmode=require` (the database's certificate is then
    /// checked against the roots and the URL's host); otherwise plain TCP,
    /// with a warning unless the host is this machine. Several servers may
    /// share the database and the data folder.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// For `--postgres` over TLS: a PEM file of the only root certificates
    /// to trust for the database's certificate (by default, the system's).
    #[arg(long, value_name = "FILE", requires = "postgres")]
    postgres_roots: Option<PathBuf>,
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
    #[arg(long, value_name = "ADDR", required = true)]
    listen: Option<SocketAddr>,
    /// Serve plain HTTP beyond loopback, because a proxy in front
    /// terminates TLS (it must pass the path and query unchanged: requests
    /// are signed over them).
    #[arg(long)]
    behind_proxy: bool,
    /// Requests per second each client address may send (bursts of four
    /// times as many); 0 for no limit. Beyond, `429 rate_limited`.
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    rate_limit: f64,
    /// The most each account may store: the operations it authors and the
    /// blobs it uploads, in bytes or with a suffix K, M, G or T (powers of
    /// 1024), for example `10G`. Over it, appends that add content (items,
    /// renames, links, new collections) and blob uploads answer `507
    /// quota_exceeded`; removing members, rotating, leaving and trashing
    /// still work, up to as much again as the quota (at most 16 MiB more).
    /// Unlimited by default.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    quota: Option<u64>,
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
    let cli = Cli::parse();
    match cli.command {
        Some(Command::ResetAccount {
            data,
            postgres,
            postgres_roots,
            card,
            handle,
        }) => match read_roots(postgres_roots.as_deref()) {
            Ok(roots) => reset_account(&data, postgres.as_deref(), &roots, &card, &handle),
            Err(code) => code,
        },
        None => serve_main(cli.serve),
    }
}

/// `sealshare-server reset-account`: see [`Command::ResetAccount`].
fn reset_account(
    data: &Path,
    postgres: Option<&str>,
    roots: &PostgresRoots,
    file: &Path,
    handle: &str,
) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("sealshare-server: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let bytes = card_bytes(bytes);
    let opened = match postgres {
        None => Store::open(data),
        Some(url) => {
            warn_if_plain(url);
            Store::open_postgres_with(data, url, &BlobStorage::Folder, roots)
        }
    };
    let store = match opened {
        Ok(store) => store,
        Err(StoreError::InUse(_)) if postgres.is_none() => {
            eprintln!(
                "sealshare-server: {} is in use by a running server: stop it, then reset the \
                 account (nothing was changed)",
                data.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) if postgres.is_some() => {
            eprintln!("sealshare-server: cannot open the PostgreSQL store: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "sealshare-server: cannot open the store in {}: {e}",
                data.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let now = sealshare::system_time();
    let reset = match store.reset_account(handle, &bytes, now) {
        Ok(reset) => reset,
        Err(e) => {
            eprintln!("sealshare-server: {handle:?} was not reset (nothing was changed): {e}");
            return ExitCode::FAILURE;
        }
    };
    // Decoded by the reset: both cards are valid.
    let fingerprint = |bytes: &[u8]| {
        Identity::from_bytes(bytes)
            .map_or_else(|e| format!("? ({e})"), |c| c.fingerprint().to_string())
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "reset the account {handle:?} at {now}:");
    let _ = match &reset.previous {
        Some(old) => writeln!(out, "  replaced the card {}", fingerprint(old)),
        None => writeln!(out, "  no card was published for it"),
    };
    let _ = writeln!(out, "  published the card {}", fingerprint(&bytes));
    let _ = writeln!(
        out,
        "  deleted {} sign-in record(s) and their lockers; the user registers sign-in again",
        reset.signins_deleted
    );
    let _ = writeln!(
        out,
        "  recorded as a reset in card_changes; whoever pinned the old card sees a key change"
    );
    ExitCode::SUCCESS
}

/// The roots in `file` (`--postgres-roots`), or the system's; exits 2 on a
/// file that cannot be read.
fn read_roots(file: Option<&Path>) -> Result<PostgresRoots, ExitCode> {
    match file {
        None => Ok(PostgresRoots::System),
        Some(path) => match std::fs::read(path) {
            Ok(pem) => Ok(PostgresRoots::Pem(pem)),
            Err(e) => {
                eprintln!("sealshare-server: cannot read {}: {e}", path.display());
                Err(ExitCode::from(2))
            }
        },
    }
}

/// Warns when `url` reaches the database in the clear beyond this machine.
fn warn_if_plain(url: &str) {
    use postgres::config::{Host, SslMode};
    let Ok(config) = url.parse::<postgres::Config>() else {
        return; // Refused, with its reason, when the store opens.
    };
    if config.get_ssl_mode() == SslMode::Require {
        return;
    }
    for host in config.get_hosts() {
        if let Host::Tcp(name) = host {
            let local = name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !local {
                eprintln!(
                    "sealshare-server: warning: the connection to PostgreSQL at {name} is not \
                     encrypted; add sslmode=require to the URL (docs/server.md, PostgreSQL over TLS)"
                );
            }
        }
    }
}

/// `SIZE` of `--quota`: digits, then at most one of K, M, G, T (powers of
/// 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.strip_suffix(['K', 'M', 'G', 'T']) {
        Some(digits) => {
            let shift = match text.chars().last() {
                Some('K') => 10,
                Some('M') => 20,
                Some('G') => 30,
                _ => 40,
            };
            (digits, shift)
        }
        None => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a size: digits, then K, M, G or T"));
    }
    let n: u64 = digits.parse().map_err(|e| format!("{text:?}: {e}"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A card file's bytes: the card's own bytes, or its text form (what
/// `sealshare identity export` prints), decoded back to them. Anything else
/// is left as it is, for the store to refuse.
fn card_bytes(bytes: Vec<u8>) -> Vec<u8> {
    if Identity::from_bytes(&bytes).is_ok() {
        return bytes;
    }
    match std::str::from_utf8(&bytes).map(|text| Identity::from_text(text.trim())) {
        Ok(Ok(card)) => card.to_bytes(),
        _ => bytes,
    }
}

/// Serves, as `args` say.
fn serve_main(args: Args) -> ExitCode {
    // Both are required by clap unless a command is given.
    let (Some(data), Some(listen)) = (args.data.clone(), args.listen) else {
        eprintln!("sealshare-server: --data and --listen are required to serve");
        return ExitCode::from(2);
    };
    let addr = match check_listen(listen, args.tls_cert.is_some(), args.behind_proxy) {
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
        None => Store::open_with_blobs(&data, &storage),
        Some(url) => match read_roots(args.postgres_roots.as_deref()) {
            Ok(roots) => {
                warn_if_plain(url);
                Store::open_postgres_with(&data, url, &storage, &roots)
            }
            Err(code) => return code,
        },
    };
    let store = match opened {
        Ok(mut store) => {
            store.set_quota(args.quota);
            Arc::new(store)
        }
        // The URL is not repeated: it may hold a password.
        Err(e) if args.postgres.is_some() => {
            eprintln!(
                "sealshare-server: cannot open the PostgreSQL store (blobs in {}): {e}",
                data.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "sealshare-server: cannot open the store in {}: {e}",
                data.display()
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
