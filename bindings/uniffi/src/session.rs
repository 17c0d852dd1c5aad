//! A signed-in user on a server: the entry point for collections and links.

use std::sync::{Arc, Mutex, MutexGuard};

use sealshare::{Client, CollectionId, CollectionList, LinkUrl};

use crate::account::Account;
use crate::collection::Collection;
use crate::error::{Result, wiped};
use crate::records::{
    CollectionListing, FailedCollection, IdentityCard, ListedCollection, PendingCollection,
};
use crate::remote::{ForeignRemote, MemoryServer, RemoteStore};

/// A signed-in user: a copy of their account, their trust store, and the
/// server. Holds secrets: `wipe()` when the app locks.
#[derive(uniffi::Object)]
pub struct Session {
    inner: Mutex<Option<Client>>,
    /// The collections of the last listing, verified, so the next one
    /// verifies only what is new (they hold epoch keys: `wipe()` drops them).
    listed: Mutex<Vec<sealshare::Collection>>,
}

impl Session {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut guard: MutexGuard<'_, Option<Client>> =
            self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let client = guard.as_mut().ok_or_else(|| wiped("session"))?;
        f(client)
    }

    fn start(account: &Account, remote: Arc<dyn sealshare::Remote>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            inner: Mutex::new(Some(Client::new(account.copy()?, remote))),
            listed: Mutex::new(Vec::new()),
        }))
    }
}

#[uniffi::export]
impl Session {
    /// A session on an in-memory server.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>, server: Arc<MemoryServer>) -> Result<Arc<Self>> {
        Self::start(&account, server.inner.clone())
    }

    /// A session on the app's own server transport.
    #[uniffi::constructor]
    pub fn with_remote(account: Arc<Account>, remote: Arc<dyn RemoteStore>) -> Result<Arc<Self>> {
        Self::start(&account, Arc::new(ForeignRemote(remote)))
    }

    /// This user's card.
    pub fn identity(&self) -> Result<IdentityCard> {
        self.with(|c| Ok(IdentityCard::from_core(c.account().identity())))
    }

    /// Shows the trust store a card: pins it if its handle is new; fails with
    /// `KeyChanged` if another card is pinned for the handle.
    pub fn observe(&self, card: IdentityCard) -> Result<()> {
        let card = card.to_core()?;
        self.with(|c| {
            c.observe(&card)?;
            Ok(())
        })
    }

    /// Records that the user compared safety numbers with this card's holder.
    pub fn mark_verified(&self, card: IdentityCard) -> Result<()> {
        let card = card.to_core()?;
        self.with(|c| {
            let now = c.now();
            c.observe(&card)?;
            c.trust_mut()
                .mark_verified(card.handle(), &card.fingerprint(), now)?;
            Ok(())
        })
    }

    /// Accepts a changed card after the user confirmed it.
    pub fn accept_changed_key(&self, card: IdentityCard) -> Result<()> {
        let card = card.to_core()?;
        self.with(|c| {
            let now = c.now();
            c.trust_mut().accept_changed_key(&card, now);
            Ok(())
        })
    }

    /// Creates a collection owned by this user.
    pub fn create_collection(&self, name: String, description: String) -> Result<Arc<Collection>> {
        self.with(|c| {
            Ok(Collection::wrap(sealshare::Collection::create(
                c,
                &name,
                &description,
            )?))
        })
    }

    /// Opens a collection by id (fetches and verifies its whole log).
    pub fn open_collection(&self, id: String) -> Result<Arc<Collection>> {
        let id = CollectionId::from_text(&id)?;
        self.with(|c| Ok(Collection::wrap(sealshare::Collection::open(c, id)?)))
    }

    /// Every collection this user appears in: `mine` (owned), `shared`
    /// (shared with this user and accepted), `pending` (to accept, awaiting
    /// approval, or invited by handle), and `failed`: each collection the
    /// server listed that did not verify, that this user's key does not open,
    /// or whose log does not show this user, with why. Only what the server
    /// lists is fetched; a collection of the session's last listing is
    /// synced (only what is new is verified), even if the server no longer
    /// lists it, so a server cannot hide it.
    pub fn list_collections(&self) -> Result<CollectionListing> {
        self.with(|c| {
            let mut listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
            let known = std::mem::take(&mut *listed);
            let list = CollectionList::fetch_with(c, known)?;
            let out = CollectionListing {
                mine: list.mine.iter().map(ListedCollection::from_core).collect(),
                shared: list
                    .shared
                    .iter()
                    .map(ListedCollection::from_core)
                    .collect(),
                pending: list
                    .pending
                    .iter()
                    .map(PendingCollection::from_core)
                    .collect(),
                failed: list
                    .failed
                    .iter()
                    .map(|(id, e)| FailedCollection {
                        id: id.to_text(),
                        reason: e.to_string(),
                    })
                    .collect(),
            };
            *listed = list.into_collections();
            Ok(out)
        })
    }

    /// Joins a collection through an invite link URL.
    pub fn join(&self, url: String) -> Result<Arc<Collection>> {
        let url = LinkUrl::parse(&url)?;
        self.with(|c| Ok(Collection::wrap(sealshare::Collection::join(c, &url)?)))
    }

    /// Zeroizes the session's keys now.
    pub fn wipe(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
