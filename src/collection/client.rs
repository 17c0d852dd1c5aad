//! A signed-in user's context: their account, their trust store, the server and
//! a clock. Every collection operation runs through one.

use std::fmt;
use std::sync::Arc;

use crate::account::Account;
use crate::collection::remote::Remote;
use crate::error::Result;
use crate::identity::Identity;
use crate::trust::{TrustStatus, TrustStore};

/// The time source: seconds since the Unix epoch.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// A signed-in user: account, trust store, server, clock.
pub struct Client {
    pub(crate) account: Account,
    pub(crate) trust: TrustStore,
    pub(crate) remote: Arc<dyn Remote>,
    clock: Clock,
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
        }
    }

    /// Replaces the trust store (for example with one restored from storage).
    /// The account's own card is pinned in it if it was not.
    pub fn set_trust_store(&mut self, trust: TrustStore) {
        self.trust = trust;
        let now = self.now();
        let _ = self.trust.observe(self.account.identity(), now);
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

    /// Checks a card against the trust store, pinning it if its handle is new.
    /// Fails with [`crate::Error::KeyChanged`] if another card is pinned.
    pub fn observe(&mut self, card: &Identity) -> Result<TrustStatus> {
        let now = self.now();
        self.trust.observe(card, now)
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
