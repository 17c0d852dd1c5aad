//! A signed-in user's context: their account, their trust store, the server and
//! a clock. Every collection operation runs through one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::account::Account;
use crate::collection::remote::Remote;
use crate::error::Result;
use crate::identity::Identity;
use crate::log::{Body, CollectionId, OpHash, Operation, SignError};
use crate::trust::{CardTrust, TrustStatus, TrustStore};

/// The most distinct introductions kept per handle (in memory only).
const MAX_INTRODUCTIONS: usize = 64;

/// A card a verified log carries, as introduced by the signer of the
/// operation that carries it. Introduced is not pinned: only the user's own
/// acts pin (see [`crate::TrustStore`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introduction {
    /// The card.
    pub card: Identity,
    /// Who signed the operation that carries it.
    pub by: String,
    /// In which collection.
    pub collection: CollectionId,
    /// At which position of its log.
    pub seq: u64,
}

/// The time source: seconds since the Unix epoch.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// What [`Client::restore_trust`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustRestored {
    /// The saved store is the last one saved (or newer): used as it is.
    Current,
    /// The saved store is older than the last one saved: its verified marks
    /// were dropped, and every card is treated as unverified.
    RolledBack {
        /// The generation of the store that was restored.
        saved: u64,
        /// The generation the keystore expects.
        expected: u64,
    },
    /// No store was saved, but the keystore expects one: the store starts
    /// empty.
    Missing {
        /// The generation the keystore expects.
        expected: u64,
    },
}

/// A signed-in user: account, trust store, server, clock.
pub struct Client {
    pub(crate) account: Account,
    pub(crate) trust: TrustStore,
    pub(crate) remote: Arc<dyn Remote>,
    clock: Clock,
    introduced: BTreeMap<String, Vec<Introduction>>,
}

impl Client {
    /// A client for `account` talking to `remote`, with an empty trust store and
    /// the system clock.
    pub fn new(account: Account, remote: Arc<dyn Remote>) -> Self {
        Self::with_clock(account, remote, Box::new(system_time))
    }

    /// As [`Client::new`] with another clock (tests, or a trusted time source).
    pub fn with_clock(account: Account, remote: Arc<dyn Remote>, clock: Clock) -> Self {
        let mut trust = TrustStore::new();
        // A user trusts their own card.
        let _ = trust.observe(account.identity(), 0);
        Self {
            account,
            trust,
            remote,
            clock,
            introduced: BTreeMap::new(),
        }
    }

    /// Replaces the trust store as it is, believing it whole. For a store
    /// restored from storage use [`Client::restore_trust`], which also tells a
    /// rolled-back copy. The account's own card is pinned in it if it was not.
    pub fn set_trust_store(&mut self, trust: TrustStore) {
        self.trust = trust;
        let now = self.now();
        let _ = self.trust.observe(self.account.identity(), now);
    }

    /// Restores the trust store saved by [`Client::save_trust`], checking it
    /// against the generation the account keeps inside its keystore
    /// ([`Account::trust_generation`]). A saved store as new as that, or newer,
    /// is used as it is. A missing one, or one older (rolled back: an old copy
    /// put back in place of the last one saved), is not believed: its pins are
    /// kept but every verified mark is dropped, and the answer says so, for the
    /// app to tell the user. The account's own card is pinned in any case.
    pub fn restore_trust(&mut self, saved: Option<TrustStore>) -> TrustRestored {
        let expected = self.account.trust_generation();
        let (trust, restored) = match saved {
            Some(t) if t.generation() >= expected => (t, TrustRestored::Current),
            Some(t) => {
                let saved = t.generation();
                (
                    t.without_verified_marks(),
                    TrustRestored::RolledBack { saved, expected },
                )
            }
            None if expected == 0 => (TrustStore::new(), TrustRestored::Current),
            None => (TrustStore::new(), TrustRestored::Missing { expected }),
        };
        self.trust = trust;
        self.trust.raise_generation(expected);
        let now = self.now();
        let _ = self.trust.observe(self.account.identity(), now);
        restored
    }

    /// The trust store's encoding, to store sealed (for example under
    /// [`Account::storage_key`]), and raises the account's trust generation
    /// to the store's. Save the returned bytes first, then the keystore
    /// resealed with [`Account::reseal_keystore`]: a crash between the two
    /// leaves a saved store newer than the keystore expects, which is
    /// believed; the other order would read as a rollback.
    pub fn save_trust(&mut self) -> Vec<u8> {
        self.account.raise_trust_generation(self.trust.generation());
        self.trust.to_bytes()
    }

    /// The account.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The trust store, to confirm a changed key or mark a card verified.
    pub fn trust_mut(&mut self) -> &mut TrustStore {
        &mut self.trust
    }

    /// The server.
    pub fn remote(&self) -> &Arc<dyn Remote> {
        &self.remote
    }

    /// The current time from the clock.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Checks a card against the trust store as the user's own act (sharing
    /// with it, showing it), pinning it if its handle is new. Fails with
    /// [`crate::Error::KeyChanged`], changing nothing, if another card is pinned.
    pub fn observe(&mut self, card: &Identity) -> Result<TrustStatus> {
        let now = self.now();
        self.trust.observe(card, now)
    }

    /// Pins each card as the user's own act, after the operation that acted
    /// on them is in the log (see [`TrustStore::observe`]).
    pub(crate) fn pin_all<'a>(
        &mut self,
        cards: impl IntoIterator<Item = &'a Identity>,
    ) -> Result<()> {
        let now = self.now();
        for card in cards {
            self.trust.observe(card, now)?;
        }
        Ok(())
    }

    /// How the trust store judges `card`, changing nothing.
    pub fn assess(&self, card: &Identity) -> CardTrust {
        self.trust.assess(card)
    }

    /// The cards the logs this client verified introduced for `handle`, in
    /// collections where this account is a member, pending or invited, with
    /// who introduced each (distinct card, introducer and collection; in
    /// memory only). When they disagree, all are shown; the pinned card, and a
    /// verified one above all, is what this client uses.
    pub fn introductions(&self, handle: &str) -> &[Introduction] {
        self.introduced.get(handle).map_or(&[], Vec::as_slice)
    }

    /// Records introductions from a collection this account appears in.
    pub(crate) fn record_introductions(&mut self, found: Vec<Introduction>) {
        for intro in found {
            let list = self
                .introduced
                .entry(intro.card.handle().to_owned())
                .or_default();
            let seen = list.iter().any(|i| {
                i.card == intro.card && i.by == intro.by && i.collection == intro.collection
            });
            if !seen && list.len() < MAX_INTRODUCTIONS {
                list.push(intro);
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The system clock in seconds since the Unix epoch (0 if the clock is before it).
pub fn system_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Account {
    /// Signs an operation of a collection's log as this account (the author is
    /// the account's handle), with [`Operation::sign`]. Whether honest clients
    /// accept it is for the log to decide; see [`crate::LogState`].
    /// Defined with the collection layer, which uses both, so that accounts
    /// need nothing of the log and the log nothing of accounts.
    pub fn sign_operation(
        &self,
        collection: CollectionId,
        seq: u64,
        prev: OpHash,
        time: u64,
        body: Body,
    ) -> Result<Operation, SignError> {
        Operation::sign(
            self.signing_key(),
            collection,
            seq,
            prev,
            self.handle(),
            time,
            body,
        )
    }
}
