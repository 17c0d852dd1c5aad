//! `GET /v1/wait?c=<id>:<head>&c=...&timeout=<seconds>`: a long poll that
//! answers once any of the given collections' logs is longer than the head
//! given for it, or when the timeout runs out (docs/server.md, the API).
//!
//! A child of the API module (its errors, state and helpers), in its own
//! file.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use sealshare::{CollectionId, body_digest};
use serde::Serialize;

use super::require_reader;
use crate::Store;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::{Answer, AppState, blocking, collection_id, json};
use crate::store::Wake;

/// The most collections one wait names (`c=` parameters).
pub const MAX_WAIT_COLLECTIONS: usize = 100;
/// The timeout of a wait that names none, in seconds.
pub const DEFAULT_WAIT_SECS: u64 = 30;
/// The longest timeout a wait may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// A wait's parameters, checked.
#[derive(Debug, PartialEq, Eq)]
struct WaitRequest {
    /// Each collection and the length it must pass, in the order given, no
    /// collection twice.
    heads: Vec<(CollectionId, u64)>,
    timeout: Duration,
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
}

/// Checks the query's parameters: one or more `c=<id>:<head>` (at most
/// [`MAX_WAIT_COLLECTIONS`], each collection once), at most one
/// `timeout=<seconds>` (whole seconds, at most [`MAX_WAIT_SECS`]), nothing
/// else.
fn parse(params: Vec<(String, String)>) -> Result<WaitRequest, ApiError> {
    let mut heads: Vec<(CollectionId, u64)> = Vec::new();
    let mut timeout = None;
    for (key, value) in params {
        match key.as_str() {
            "c" => {
                if heads.len() >= MAX_WAIT_COLLECTIONS {
                    return Err(malformed(format!(
                        "a wait names at most {MAX_WAIT_COLLECTIONS} collections"
                    )));
                }
                let (id, head) = value.split_once(':').ok_or_else(|| {
                    malformed(format!(
                        "c={value:?}: expected <collection id>:<head>, the head a log length"
                    ))
                })?;
                let id = collection_id(id)?;
                let head: u64 = head.parse().map_err(|_| {
                    malformed(format!(
                        "c={value:?}: the head {head:?} is not a length (a whole number)"
                    ))
                })?;
                if heads.iter().any(|(seen, _)| *seen == id) {
                    return Err(malformed(format!(
                        "c={value:?}: the collection is named twice"
                    )));
                }
                heads.push((id, head));
            }
            "timeout" => {
                if timeout.is_some() {
                    return Err(malformed("timeout is given twice"));
                }
                let secs: u64 = value
                    .parse()
                    .ok()
                    .filter(|&secs| secs <= MAX_WAIT_SECS)
                    .ok_or_else(|| {
                        malformed(format!(
                            "timeout={value:?}: expected whole seconds from 0 to {MAX_WAIT_SECS}"
                        ))
                    })?;
                timeout = Some(Duration::from_secs(secs));
            }
            other => {
                return Err(malformed(format!(
                    "unknown parameter {other:?}: a wait takes c=<id>:<head> and timeout=<seconds>"
                )));
            }
        }
    }
    if heads.is_empty() {
        return Err(malformed(
            "a wait names at least one collection: c=<collection id>:<head>",
        ));
    }
    Ok(WaitRequest {
        heads,
        timeout: timeout.unwrap_or(Duration::from_secs(DEFAULT_WAIT_SECS)),
    })
}

#[derive(Serialize)]
struct ChangedBody {
    changed: Vec<Changed>,
}

#[derive(Serialize)]
struct Changed {
    collection: String,
    head: u64,
}

/// The collections whose known length passes their head: the larger of the
/// length read and the one announced, both lengths the log had.
fn changed(heads: &[(CollectionId, u64)], read: &[u64], announced: &[u64]) -> Vec<Changed> {
    heads
        .iter()
        .zip(read.iter().zip(announced))
        .filter_map(|(&(id, head), (&read, &announced))| {
            let len = read.max(announced);
            (len > head).then(|| Changed {
                collection: id.to_text(),
                head: len,
            })
        })
        .collect()
}

/// The handler: checks the parameters, takes a place among the waiting
/// requests (503 `busy` if there is none), watches the collections, reads
/// their lengths, and answers at once if one passes its head, else on the
/// first announcement that does, or with no change when the timeout runs
/// out (or the server shuts down). Told to re-check (announcements may
/// have been missed), it reads the lengths again and goes on waiting, to
/// the same deadline, unless one passed its head. The place and the watch
/// are given back however the request ends, its future dropped included.
pub(super) async fn wait(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Answer {
    let Query(params) = query?;
    let request = parse(params)?;
    // Signed, and by a reader of every collection named: a wait tells when
    // a log grows, which only its readers may learn.
    let caller = authenticate(&app, &method, &uri, &headers, body_digest(b"")).await?;
    for (id, _) in &request.heads {
        require_reader(&app, &caller, *id).await?;
    }
    wait_for(app, request).await
}

/// The wait itself, for a caller who may read every collection named.
async fn wait_for(app: AppState, request: WaitRequest) -> Answer {
    let store = &app.store;
    let notifier = app.store.notifier();
    let Some(_slot) = notifier.try_wait_slot() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "{} requests are already waiting, the most this server holds: try again later",
                crate::store::MAX_WAITERS
            ),
        ));
    };
    // Watched before the lengths are read: an append in between is in the
    // lengths or announced to the watch.
    let mut watch = notifier.watch(&request.heads);
    let deadline = tokio::time::Instant::now() + request.timeout;
    let ids: Vec<CollectionId> = request.heads.iter().map(|(id, _)| *id).collect();
    let mut read = read_lengths(store, &ids).await?;
    while changed(&request.heads, &read, &watch.announced()).is_empty() {
        match tokio::time::timeout_at(deadline, watch.changed()).await {
            // Announcements may have been missed (a PostgreSQL listener
            // that lost its connection): the lengths are read again, and
            // the wait goes on unless one passed its head.
            Ok(Wake::Recheck) => read = read_lengths(store, &ids).await?,
            Ok(Wake::Changed | Wake::Closed) => break,
            // Elapsed is the answer with no change.
            Err(_) => break,
        }
    }
    let changed = changed(&request.heads, &read, &watch.announced());
    json(StatusCode::OK, &ChangedBody { changed })
}

/// The lengths of the logs of `ids`, read from the database.
async fn read_lengths(store: &Arc<Store>, ids: &[CollectionId]) -> Result<Vec<u64>, ApiError> {
    let store = Arc::clone(store);
    let ids = ids.to_vec();
    blocking(move || ids.iter().map(|id| store.log_len(id)).collect()).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn params(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn app() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        (
            dir,
            AppState {
                store,
                clock: Arc::new(sealshare::system_time),
            },
        )
    }

    #[test]
    fn the_parameters_are_checked() {
        let a = CollectionId([1; 16]).to_text();
        let b = CollectionId([2; 16]).to_text();
        assert_eq!(
            parse(params(&format!("c={a}:3&timeout=5&c={b}:0"))).unwrap(),
            WaitRequest {
                heads: vec![(CollectionId([1; 16]), 3), (CollectionId([2; 16]), 0)],
                timeout: Duration::from_secs(5),
            }
        );
        assert_eq!(
            parse(params(&format!("c={a}:0"))).unwrap().timeout,
            Duration::from_secs(DEFAULT_WAIT_SECS)
        );
        for bad in [
            String::new(),
            "timeout=5".to_owned(),
            format!("c={a}"),
            format!("c={a}:"),
            format!("c={a}:-1"),
            format!("c={a}:x"),
            format!("c={a}:1:2"),
            "c=notanid:0".to_owned(),
            format!("c={a}:0&c={a}:1"),
            format!("c={a}:0&timeout=61"),
            format!("c={a}:0&timeout=-1"),
            format!("c={a}:0&timeout=1.5"),
            format!("c={a}:0&timeout=1&timeout=2"),
            format!("c={a}:0&since=1"),
        ] {
            let e = parse(params(&bad)).unwrap_err();
            assert_eq!(
                (e.status, e.code),
                (StatusCode::BAD_REQUEST, "malformed"),
                "{bad}"
            );
        }
        let many: Vec<String> = (0..=MAX_WAIT_COLLECTIONS)
            .map(|i| format!("c={}:0", CollectionId([i as u8; 16]).to_text()))
            .collect();
        assert!(parse(params(&many[..MAX_WAIT_COLLECTIONS].join("&"))).is_ok());
        let e = parse(params(&many.join("&"))).unwrap_err();
        assert!(e.message.contains("at most 100"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_wait_dropped_mid_way_gives_back_its_place_and_its_watch() {
        let (_dir, app) = app();
        let id = CollectionId([3; 16]).to_text();
        let request = parse(params(&format!("c={id}:0&timeout=60"))).unwrap();
        let pending = wait_for(app.clone(), request);
        let dropped = tokio::time::timeout(Duration::from_millis(300), pending).await;
        assert!(dropped.is_err(), "an empty log does not pass 0");
        let notifier = app.store.notifier();
        assert_eq!((notifier.waiting(), notifier.watched()), (0, 0));
    }

    #[tokio::test]
    async fn a_recheck_reads_the_lengths_again_and_answers_only_a_change() {
        let (_dir, app) = app();
        let memory = Arc::new(sealshare::MemoryRemote::new());
        let remote: Arc<dyn sealshare::Remote> = memory.clone();
        let account = sealshare::Account::create("alice", sealshare::system_time()).unwrap();
        let mut alice = sealshare::Client::new(account, remote);
        let mut notes = sealshare::Collection::create(&mut alice, "Notes", "").unwrap();
        notes.rename(&mut alice, "Notes again", "").unwrap();
        let id = notes.id();
        let log = sealshare::Remote::fetch(&*memory, &id, 0).unwrap();
        let key = alice.account().identity().signing_key().to_bytes();
        let now = sealshare::system_time();
        app.store.append(&id, 0, &log[0], &key, now).unwrap();

        let request = parse(params(&format!("c={}:1&timeout=30", id.to_text()))).unwrap();
        let mut waiting = tokio::spawn(wait_for(app.clone(), request));
        async fn pending(waiting: &mut tokio::task::JoinHandle<Answer>) -> bool {
            tokio::time::timeout(Duration::from_millis(300), waiting)
                .await
                .is_err()
        }
        assert!(pending(&mut waiting).await);
        // Nothing changed: read again, and still waiting.
        app.store.notifier().recheck_all();
        assert!(pending(&mut waiting).await, "no change, no answer");
        // An append this store does not announce (as through another
        // process while the listener did not listen)...
        app.store
            .append_unannounced(&id, 1, &log[1], &key, now)
            .unwrap();
        assert!(pending(&mut waiting).await, "not announced");
        // ... is found on the next re-check.
        app.store.notifier().recheck_all();
        let answer = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "changed": [{ "collection": id.to_text(), "head": 2 }] })
        );
    }

    #[tokio::test]
    async fn a_wait_over_the_limit_is_busy() {
        let (_dir, app) = app();
        let notifier = app.store.notifier();
        let slots: Vec<_> = std::iter::from_fn(|| notifier.try_wait_slot()).collect();
        assert_eq!(slots.len(), crate::store::MAX_WAITERS);
        let id = CollectionId([3; 16]).to_text();
        let request = parse(params(&format!("c={id}:0&timeout=0"))).unwrap();
        let e = wait_for(app.clone(), request).await.unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::SERVICE_UNAVAILABLE, "busy")
        );
        drop(slots);
        let request = parse(params(&format!("c={id}:0&timeout=0"))).unwrap();
        let answer = wait_for(app.clone(), request).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
}
