//! Wake-ups for long polls (`GET /v1/wait`): [`Store::append`] announces
//! each collection's new length after its commit, and a [`Watch`] resolves
//! once a collection it watches is announced longer than the head it was
//! given.
//!
//! The design: a map from collection to a `tokio::sync::watch` channel of
//! the latest length announced, with an entry only while some [`Watch`]
//! holds a receiver of it (created by the first, removed by the drop of the
//! last, whichever way its request ends: answered, timed out, or its future
//! dropped when the client went away). So the map is bounded by the
//! collections waited on, an append wakes only the waits on its own
//! collection, and an append nobody waits for costs one map lookup. A
//! single server-wide generation counter that every wait re-checks would be
//! smaller still, but every append would then wake every wait, each to
//! re-read up to 100 lengths from the database.
//!
//! On PostgreSQL, appends through other server processes are announced too:
//! each append's transaction sends a `NOTIFY` with the committed length,
//! and the store's listener (`listen.rs`, a connection of its own that
//! `LISTEN`s) announces each one it receives here, as if the append had
//! been made through this process.
//!
//! No wake-up is lost: a wait subscribes first and reads the lengths from
//! the database after. An append committed before that read is in it; one
//! committed after it announces after its commit, so to the entry the wait
//! already holds: through this process directly, or through the listener,
//! which hears of every append committed while it listens (PostgreSQL
//! delivers a notification to every session listening when the transaction
//! that sent it commits). While the listener is not listening (its
//! connection broke, and it has not connected again), appends through other
//! processes are not announced; so once it listens again it calls
//! [`Notifier::recheck_all`], and every wait made before that (the only ones
//! whose read may have missed an append) reads its lengths from the
//! database again ([`Wake::Recheck`]), and goes on waiting if none passed
//! its head. A wait made after reads lengths that hold every append
//! committed before the listener listened again. An announced length is
//! always a length the log had (the entry keeps the largest; the listener's
//! come from the appends' own transactions), so a wait never answers a
//! change that did not happen.
//!
//! [`Store::append`]: super::Store::append

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;

use sealshare::CollectionId;
use tokio::sync::{Semaphore, SemaphorePermit, watch};

/// The most requests waiting at once, server-wide; one more is refused
/// (503 `busy`) rather than queued.
pub const MAX_WAITERS: usize = 1_000;

/// The waits of one store (see the module's documentation).
pub struct Notifier {
    /// The collections some [`Watch`] holds, each with the largest length
    /// announced since its entry was made (0 before any).
    entries: Mutex<HashMap<CollectionId, watch::Sender<u64>>>,
    /// One permit per waiting request.
    waiters: Semaphore,
    limit: usize,
    /// Set once the server shuts down: every wait ends at once.
    closing: watch::Sender<bool>,
    /// Counts the calls of [`Notifier::recheck_all`]: every watch made
    /// before one resolves with [`Wake::Recheck`].
    rechecks: watch::Sender<u64>,
}

/// Why [`Watch::changed`] resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A watched collection was announced longer than its head.
    Changed,
    /// Announcements may have been missed since the watch was made (or
    /// last resolved so): the wait reads its lengths from the database
    /// again, and goes on waiting if none passed its head.
    Recheck,
    /// The notifier is closed: the wait answers now.
    Closed,
}

/// A place among the [`MAX_WAITERS`] waiting requests, given back when
/// dropped.
#[derive(Debug)]
pub struct WaitSlot<'a> {
    _permit: SemaphorePermit<'a>,
}

/// Some collections watched for a length beyond a head each: made by
/// [`Notifier::watch`]. Dropping it stops watching (and removes the entries
/// no other watch holds).
pub struct Watch<'a> {
    notifier: &'a Notifier,
    /// Each collection's receiver and the head it must pass.
    watched: Vec<(CollectionId, u64, watch::Receiver<u64>)>,
    /// The count of re-checks this watch has seen.
    rechecks: watch::Receiver<u64>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::with_limit(MAX_WAITERS)
    }
}

impl Notifier {
    /// A notifier that lets at most `limit` requests wait at once.
    pub(crate) fn with_limit(limit: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            waiters: Semaphore::new(limit),
            limit,
            closing: watch::Sender::new(false),
            rechecks: watch::Sender::new(0),
        }
    }

    // Nothing runs under the lock that can leave the map half-changed, so a
    // poisoned lock is taken over.
    fn entries(&self) -> MutexGuard<'_, HashMap<CollectionId, watch::Sender<u64>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Says `collection`'s log now holds `len` operations: every watch of it
    /// for a head below `len` resolves. Called once the append is
    /// committed; does nothing if no one watches the collection, and never
    /// lowers a length announced before.
    pub fn announce(&self, collection: &CollectionId, len: u64) {
        if let Some(sender) = self.entries().get(collection) {
            sender.send_if_modified(|latest| {
                let grows = len > *latest;
                if grows {
                    *latest = len;
                }
                grows
            });
        }
    }

    /// A place among the waiting requests, or `None` if [`MAX_WAITERS`]
    /// already wait.
    pub fn try_wait_slot(&self) -> Option<WaitSlot<'_>> {
        self.waiters
            .try_acquire()
            .ok()
            .map(|permit| WaitSlot { _permit: permit })
    }

    /// How many requests hold a [`WaitSlot`] now.
    pub fn waiting(&self) -> usize {
        self.limit.saturating_sub(self.waiters.available_permits())
    }

    /// How many collections some [`Watch`] holds now.
    pub fn watched(&self) -> usize {
        self.entries().len()
    }

    /// Watches each collection of `heads` for a length beyond its head. Made
    /// before the lengths are read from the database, so no append in
    /// between is missed (see the module's documentation).
    pub fn watch(&self, heads: &[(CollectionId, u64)]) -> Watch<'_> {
        let mut entries = self.entries();
        let watched = heads
            .iter()
            .map(|&(id, head)| {
                let receiver = entries
                    .entry(id)
                    .or_insert_with(|| watch::Sender::new(0))
                    .subscribe();
                (id, head, receiver)
            })
            .collect();
        Watch {
            notifier: self,
            watched,
            rechecks: self.rechecks.subscribe(),
        }
    }

    /// Wakes every watch made before this call with [`Wake::Recheck`], so
    /// its wait reads its lengths from the database again: announcements
    /// may have been missed (on PostgreSQL, while the listener's connection
    /// was lost; see the module's documentation).
    pub fn recheck_all(&self) {
        self.rechecks
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Whether [`Notifier::close`] was called.
    pub fn is_closed(&self) -> bool {
        *self.closing.borrow()
    }

    /// Ends every wait, now and from now on ([`Watch::changed`] resolves at
    /// once): a server shutting down answers its waits rather than hold
    /// its graceful stop for their timeouts.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

impl Watch<'_> {
    /// Resolves once some watched collection is announced longer than its
    /// head (at once if one already is), with [`Wake::Changed`]; on a
    /// [`Notifier::recheck_all`] since the watch was made or last resolved
    /// so, with [`Wake::Recheck`]; or once the notifier is closed, with
    /// [`Wake::Closed`]. Safe to drop before it resolves.
    pub async fn changed(&mut self) -> Wake {
        let mut closing = self.notifier.closing.subscribe();
        let mut waits: Vec<Pin<Box<dyn Future<Output = Wake> + Send + '_>>> =
            Vec::with_capacity(self.watched.len().saturating_add(2));
        waits.push(Box::pin(async move {
            // The sender lives as long as the notifier, which outlives this.
            let _ = closing.wait_for(|&closed| closed).await;
            Wake::Closed
        }));
        let rechecks = &mut self.rechecks;
        waits.push(Box::pin(async move {
            // Marks the count seen: the next resolves on a later re-check
            // only. The sender lives as long as the notifier.
            if rechecks.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            Wake::Recheck
        }));
        for (_, head, receiver) in &mut self.watched {
            let head = *head;
            waits.push(Box::pin(async move {
                // The sender stays in the map while this receiver exists.
                if receiver.wait_for(|&len| len > head).await.is_err() {
                    std::future::pending::<()>().await;
                }
                Wake::Changed
            }));
        }
        // Resolves when any of them does; each is polled again on every
        // wake-up of this task, which is at most a hundred or so checks.
        std::future::poll_fn(|cx| {
            for wait in &mut waits {
                if let Poll::Ready(wake) = wait.as_mut().poll(cx) {
                    return Poll::Ready(wake);
                }
            }
            Poll::Pending
        })
        .await
    }

    /// The largest length announced for each watched collection since this
    /// watch was made (or its entry, if older), in the order given to
    /// [`Notifier::watch`]; 0 where none was announced. Each is a length the
    /// log had: a lower bound of its length now.
    pub fn announced(&self) -> Vec<u64> {
        self.watched
            .iter()
            .map(|(_, _, receiver)| *receiver.borrow())
            .collect()
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let ids: Vec<CollectionId> = self.watched.iter().map(|(id, _, _)| *id).collect();
        // The receivers go first, so the entries that no other watch holds
        // have none left; new receivers are only made under the lock.
        self.watched.clear();
        let mut entries = self.notifier.entries();
        for id in ids {
            if entries
                .get(&id)
                .is_some_and(|sender| sender.receiver_count() == 0)
            {
                entries.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    const A: CollectionId = CollectionId([1; 16]);
    const B: CollectionId = CollectionId([2; 16]);

    async fn resolves(watch: &mut Watch<'_>) -> bool {
        tokio::time::timeout(Duration::from_millis(50), watch.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_watch_resolves_on_an_announcement_beyond_its_head_only() {
        let notifier = Notifier::default();
        notifier.announce(&A, 9); // nobody watches: forgotten
        assert_eq!(notifier.watched(), 0);
        let mut watch = notifier.watch(&[(A, 3), (B, 0)]);
        assert_eq!(notifier.watched(), 2);
        assert!(!resolves(&mut watch).await);
        notifier.announce(&A, 3);
        assert!(!resolves(&mut watch).await, "not beyond the head");
        notifier.announce(&A, 5);
        assert!(resolves(&mut watch).await);
        notifier.announce(&A, 4);
        assert_eq!(watch.announced(), [5, 0], "never lowered");
        drop(watch);
        assert_eq!(notifier.watched(), 0, "entries go with their last watch");
    }

    #[tokio::test]
    async fn an_entry_stays_while_another_watch_holds_it() {
        let notifier = Notifier::default();
        let first = notifier.watch(&[(A, 0)]);
        let mut second = notifier.watch(&[(A, 0), (B, 0)]);
        drop(first);
        assert_eq!(notifier.watched(), 2);
        notifier.announce(&B, 1);
        assert!(resolves(&mut second).await);
        assert_eq!(second.announced(), [0, 1]);
        drop(second);
        assert_eq!(notifier.watched(), 0);
    }

    #[tokio::test]
    async fn a_wake_up_reaches_a_waiting_task_and_close_ends_every_wait() {
        let notifier = std::sync::Arc::new(Notifier::default());
        let waiting = {
            let notifier = notifier.clone();
            tokio::spawn(async move {
                let mut watch = notifier.watch(&[(A, 0)]);
                watch.changed().await;
                watch.announced()
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        notifier.announce(&A, 1);
        assert_eq!(waiting.await.unwrap(), [1]);

        let mut watch = notifier.watch(&[(B, 0)]);
        notifier.close();
        assert!(resolves(&mut watch).await);
        let mut later = notifier.watch(&[(B, 7)]);
        assert!(resolves(&mut later).await, "closed for good");
    }

    #[tokio::test]
    async fn a_recheck_wakes_the_watches_made_before_it_once() {
        let notifier = Notifier::default();
        let mut before = notifier.watch(&[(A, 0)]);
        notifier.recheck_all();
        let mut after = notifier.watch(&[(A, 0)]);
        let wake = tokio::time::timeout(Duration::from_millis(50), before.changed()).await;
        assert_eq!(wake.ok(), Some(Wake::Recheck));
        assert!(!resolves(&mut before).await, "once per re-check");
        assert!(!resolves(&mut after).await, "made after the re-check");
        notifier.recheck_all();
        notifier.recheck_all();
        assert_eq!(after.changed().await, Wake::Recheck);
        assert!(!resolves(&mut after).await, "two re-checks seen at once");
        notifier.announce(&A, 1);
        assert_eq!(before.changed().await, Wake::Recheck);
        assert_eq!(before.changed().await, Wake::Changed);
        assert!(!notifier.is_closed());
        notifier.close();
        assert!(notifier.is_closed());
        assert_eq!(after.changed().await, Wake::Closed);
    }

    #[tokio::test]
    async fn a_dropped_wait_gives_back_its_slot_and_its_entries() {
        let notifier = Notifier::with_limit(2);
        let one = notifier.try_wait_slot().unwrap();
        let two = notifier.try_wait_slot().unwrap();
        assert_eq!(notifier.waiting(), 2);
        assert!(notifier.try_wait_slot().is_none(), "over the limit");
        drop(one);
        assert_eq!(notifier.waiting(), 1);
        // A wait cancelled mid-way (as when its client goes away).
        let pending = async {
            let _slot = notifier.try_wait_slot().unwrap();
            let mut watch = notifier.watch(&[(A, 0)]);
            watch.changed().await;
        };
        assert!(
            tokio::time::timeout(Duration::from_millis(50), pending)
                .await
                .is_err()
        );
        assert_eq!((notifier.waiting(), notifier.watched()), (1, 0));
        drop(two);
        assert_eq!(notifier.waiting(), 0);
    }
}
