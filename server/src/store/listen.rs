//! The listener of a PostgreSQL store: how a long poll waiting on this
//! process wakes on an append made through another process on the same
//! database.
//!
//! Each append's transaction sends `NOTIFY` on [`CHANNEL`] with the
//! collection and the log's new length ([`payload`]); PostgreSQL delivers
//! it, only once the transaction commits and in the order of the commits,
//! to every session that listens. Each store runs one [`Listener`]: a
//! connection of its own that `LISTEN`s, on a thread of its own (the
//! synchronous client blocks), which announces each notification it
//! receives to the store's [`Notifier`], as the store announces its own
//! appends (so those are announced twice, which is harmless: an
//! announcement never lowers a length). A payload that does not parse
//! ([`parse`], strictly) is ignored.
//!
//! While its connection is lost, appends through other processes are not
//! heard of. The listener connects again: at once if the lost connection
//! had lasted [`STABLE`], else (and while connecting fails) after a delay
//! that doubles from [`FIRST_RETRY`] up to [`MAX_RETRY`]. Once it listens
//! again it calls [`Notifier::recheck_all`], so every wait then
//! waiting reads its lengths from the database again and goes on waiting
//! if none grew (the reasoning is in `notify.rs`). A lost connection so
//! costs the waits answers up to the time it takes to listen again, and
//! then one read of every waiting request's lengths; no answer is lost.
//! TCP keepalives on the connection (after [`KEEPALIVE_IDLE`] of silence)
//! tell a connection lost without a word from the network.
//!
//! The listener stops, and its thread ends, when the store is dropped, or
//! once the notifier is closed (every wait then answers at once, and none
//! needs announcements): it looks every [`POLL`], and the drop waits for
//! it, up to [`STOP_WAIT`]. Only a thread in the middle of connecting (to
//! a database that does not answer) is left to end on its own, after its
//! connect timeout: it holds nothing of the store but the notifier, and
//! keeps no process alive.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;
use sealshare::CollectionId;

use super::StoreError;
use super::notify::Notifier;
use super::pool::{Endpoint, connect};

/// The channel of the appends' notifications.
pub(super) const CHANNEL: &str = "sealshare_appends";

/// How often the listener looks whether it is to stop, while no
/// notification comes.
const POLL: Duration = Duration::from_millis(100);
/// How long dropping a listener waits for its thread to end.
const STOP_WAIT: Duration = Duration::from_secs(1);
/// The delay before the second attempt to connect again, doubled after
/// each failure.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest delay between two attempts to connect again.
const MAX_RETRY: Duration = Duration::from_secs(10);
/// How long a connection lasts before its loss is met with an attempt to
/// connect again at once, and the delays start over.
const STABLE: Duration = Duration::from_secs(60);
/// The silence on the listener's connection before TCP keepalives probe
/// it (then every 10 s, 3 times), unless the URL asks for less.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// The payload of the notification of an append that made `collection`'s
/// log `len` operations long: `<collection id text> <len>`, the length in
/// decimal.
pub(super) fn payload(collection: &CollectionId, len: u64) -> String {
    format!("{} {len}", collection.to_text())
}

/// The collection and length of a notification's payload, if it is exactly
/// what [`payload`] makes of them (one space, a valid collection id in its
/// one spelling, a length of at least 1 in decimal without a sign or a
/// leading zero); `None` for anything else.
pub(super) fn parse(text: &str) -> Option<(CollectionId, u64)> {
    let (id, len) = text.split_once(' ')?;
    if len.is_empty() || len.len() > 20 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u64 = len.parse().ok()?;
    let id = CollectionId::from_text(id).ok()?;
    (len > 0 && payload(&id, len) == text).then_some((id, len))
}

/// The listener of a store (see the module's documentation); stopped, and
/// its thread joined, when dropped.
pub(super) struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Starts listening on `db` (a connection of its own, with
    /// keepalives) for `notifier`, and answers once the first `LISTEN` is
    /// done, or with its failure.
    pub(super) fn start(db: &Endpoint, notifier: Arc<Notifier>) -> Result<Self, StoreError> {
        let db = listener_config(db);
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, started) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sealshare-server listener".into())
            .spawn({
                let stop = Arc::clone(&stop);
                // Every connection is made and dropped on this thread: a
                // client runs a runtime of its own, which cannot start on a
                // thread that drives the server's.
                move || {
                    let first = listen(&db);
                    let first = match first {
                        Ok(client) => {
                            let _ = ready.send(Ok(()));
                            client
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    run(first, &db, &notifier, &stop);
                }
            })?;
        let listener = Self {
            stop,
            thread: Some(thread),
        };
        match started.recv() {
            Ok(Ok(())) => Ok(listener),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Io(std::io::Error::other(
                "the PostgreSQL listener's thread ended before it listened",
            ))),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let Some(thread) = self.thread.take() else {
            return;
        };
        // It looks every POLL, but not while it connects.
        let until = Instant::now() + STOP_WAIT;
        while !thread.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

/// The store's connection settings, for the listener: its application
/// name ends in ` listener`, and keepalives probe it after at most
/// [`KEEPALIVE_IDLE`] of silence.
fn listener_config(db: &Endpoint) -> Endpoint {
    let mut db = db.clone();
    let config = &mut db.config;
    let name = format!(
        "{} listener",
        config.get_application_name().unwrap_or("sealshare-server")
    );
    config.application_name(&name);
    config.keepalives(true);
    if config.get_keepalives_idle() > KEEPALIVE_IDLE {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(Duration::from_secs(10));
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(3);
    }
    db
}

/// A new connection that listens on [`CHANNEL`].
fn listen(db: &Endpoint) -> Result<Client, StoreError> {
    let mut client = connect(db)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

fn stopping(stop: &AtomicBool, notifier: &Notifier) -> bool {
    stop.load(Ordering::Acquire) || notifier.is_closed()
}

/// Listens on `client`, then on each new connection once it is lost, until
/// told to stop.
fn run(first: Client, db: &Endpoint, notifier: &Notifier, stop: &AtomicBool) {
    let mut client = Some(first);
    let mut retry = Duration::ZERO;
    loop {
        let current = match client.take() {
            Some(current) => current,
            None => {
                if !pause(retry, notifier, stop) {
                    return;
                }
                match listen(db) {
                    Ok(current) => {
                        eprintln!("sealshare-server: the PostgreSQL listener listens again");
                        // Appends committed while it did not listen were
                        // not heard of: every wait reads again.
                        notifier.recheck_all();
                        current
                    }
                    Err(e) => {
                        retry = next_retry(retry);
                        eprintln!(
                            "sealshare-server: the PostgreSQL listener cannot connect ({e}): \
                             trying again in {} ms",
                            retry.as_millis()
                        );
                        continue;
                    }
                }
            }
        };
        let since = Instant::now();
        match receive(current, notifier, stop) {
            Ended::Stopped => return,
            Ended::Lost(why) => {
                eprintln!(
                    "sealshare-server: the PostgreSQL listener's connection is lost ({why}): \
                     connecting again"
                );
                retry = if since.elapsed() >= STABLE {
                    Duration::ZERO
                } else {
                    next_retry(retry)
                };
            }
        }
    }
}

fn next_retry(retry: Duration) -> Duration {
    if retry.is_zero() {
        FIRST_RETRY
    } else {
        retry.saturating_mul(2).min(MAX_RETRY)
    }
}

/// Sleeps `delay`, looking every [`POLL`] whether to stop: false if so.
fn pause(delay: Duration, notifier: &Notifier, stop: &AtomicBool) -> bool {
    let until = Instant::now() + delay;
    loop {
        if stopping(stop, notifier) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(POLL));
    }
}

enum Ended {
    Stopped,
    Lost(String),
}

/// Announces each notification `client` receives, until told to stop or
/// the connection is lost (the client is then dropped, here).
fn receive(mut client: Client, notifier: &Notifier, stop: &AtomicBool) -> Ended {
    loop {
        if stopping(stop, notifier) {
            return Ended::Stopped;
        }
        let next = client.notifications().timeout_iter(POLL).next();
        match next {
            Ok(Some(notification)) => {
                if notification.channel() == CHANNEL
                    && let Some((collection, len)) = parse(notification.payload())
                {
                    notifier.announce(&collection, len);
                }
            }
            // No notification within POLL, or the connection closed.
            Ok(None) => {
                if client.is_closed() {
                    return Ended::Lost("closed".into());
                }
            }
            Err(e) => return Ended::Lost(super::with_causes(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn a_payload_parses_back_and_nothing_else_does() {
        let id = CollectionId([7; 16]);
        for len in [1, 2, 10, 12_345, u64::MAX] {
            assert_eq!(parse(&payload(&id, len)), Some((id, len)), "{len}");
        }
        let text = id.to_text();
        assert_eq!(payload(&id, 3), format!("{text} 3"));
        let other = CollectionId([0xff; 16]).to_text();
        for bad in [
            String::new(),
            " ".into(),
            text.clone(),
            format!("{text} "),
            format!("{text} 0"),
            format!("{text} 03"),
            format!("{text} +3"),
            format!("{text} -3"),
            format!("{text} 3 "),
            format!("{text}  3"),
            format!(" {text} 3"),
            format!("{text} 3 4"),
            format!("{text} 3\n"),
            format!("{text}\t3"),
            format!("{text} 0x3"),
            format!("{text} 3.0"),
            format!("{text} ３"),
            format!("{text} 18446744073709551616"),
            format!("{text} 99999999999999999999999"),
            format!("{text}= 3"),
            format!("{}{} 3", &text[..21], "B"), // not its one spelling
            format!("{} 3", &text[..21]),
            format!("{text}A 3"),
            format!("{text},{other} 3"),
            "not-an-id 3".into(),
            "3".into(),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }
}
