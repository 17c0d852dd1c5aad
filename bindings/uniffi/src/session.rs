//! A signed-in user on a server: the entry point for collections and links,
//! and the owner of everything derived from it.
//!
//! A session holds the account copy, the trust store and every collection it
//! opened. `Collection` objects are handles into the session: they carry it,
//! act only as its user, and hold no key of their own. `wipe()` drops (and so
//! zeroizes) all of it at once; every object derived from the session then
//! fails with `Wiped`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use sealshare::{Client, CollectionId, CollectionList, LinkUrl};

use crate::account::Account;
use crate::collection::Collection;
use crate::error::{Result, wiped};
use crate::records::{
    CardTrust, CollectionListing, FailedCollection, IdentityCard, IntroductionInfo,
    ListedCollection, PendingCollection, PinnedCardInfo, SavedState, TrustRestore,
};
use crate::remote::{ForeignRemote, MemoryServer, RemoteStore};

/// What a live session holds; dropped whole by `wipe()`.
pub(crate) struct Live {
    pub(crate) client: Client,
    /// Every collection an object of this session stands for, by slot.
    collections: HashMap<u64, sealshare::Collection>,
    next_slot: u64,
    /// Collections restored from the saved state, until opened.
    saved: BTreeMap<CollectionId, sealshare::Collection>,
    /// The collections of the last listing, verified, so the next one
    /// verifies only what is new.
    listed: Vec<sealshare::Collection>,
}

/// A signed-in user: a copy of their account, their trust store, the server,
/// and every collection opened through it. Holds secrets: `wipe()` when the
/// app locks.
#[derive(uniffi::Object)]
pub struct Session {
    inner: Mutex<Option<Live>>,
    restored: TrustRestore,
    /// The server's directory of cards, for a session on a server.
    pub(crate) directory: Option<Arc<sealshare_http::HttpRemote>>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, Option<Live>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the live session, or fails with `Wiped`.
    pub(crate) fn with_live<T>(&self, f: impl FnOnce(&mut Live) -> Result<T>) -> Result<T> {
        let mut guard = self.lock();
        let live = guard.as_mut().ok_or_else(|| wiped("session"))?;
        f(live)
    }

    /// Fails with `Wiped` once wiped (checked before any argument is parsed).
    pub(crate) fn alive(&self) -> Result<()> {
        self.with_live(|_| Ok(()))
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        self.with_live(|live| f(&mut live.client))
    }

    /// Runs `f` on the collection in `slot` with this session's client.
    pub(crate) fn with_collection<T>(
        &self,
        slot: u64,
        f: impl FnOnce(&mut sealshare::Collection, &mut Client) -> sealshare::Result<T>,
    ) -> Result<T> {
        self.with_live(|live| {
            let Live {
                client,
                collections,
                ..
            } = live;
            let c = collections
                .get_mut(&slot)
                .ok_or_else(|| wiped("collection"))?;
            f(c, client).map_err(Into::into)
        })
    }

    /// Forgets the collection in `slot` (its object was dropped).
    pub(crate) fn release(&self, slot: u64) {
        if let Some(live) = self.lock().as_mut() {
            live.collections.remove(&slot);
        }
    }

    /// Makes an object for `c`, owned by this session.
    fn adopt(self: &Arc<Self>, live: &mut Live, c: sealshare::Collection) -> Arc<Collection> {
        let slot = live.next_slot;
        live.next_slot += 1;
        let id = c.id();
        live.collections.insert(slot, c);
        Collection::new(Arc::clone(self), slot, id)
    }

    pub(crate) fn start(
        account: &Account,
        remote: Arc<dyn sealshare::Remote>,
        state: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        Self::start_with_directory(account, remote, state, None)
    }

    pub(crate) fn start_with_directory(
        account: &Account,
        remote: Arc<dyn sealshare::Remote>,
        state: Option<Vec<u8>>,
        directory: Option<Arc<sealshare_http::HttpRemote>>,
    ) -> Result<Arc<Self>> {
        let mut client = Client::new(account.copy()?, remote);
        let (restored, collections) = client.restore_state(state.as_deref())?;
        let saved = collections.into_iter().map(|c| (c.id(), c)).collect();
        let restored = restored.into();
        Ok(Arc::new(Self {
            inner: Mutex::new(Some(Live {
                client,
                collections: HashMap::new(),
                next_slot: 0,
                saved,
                listed: Vec::new(),
            })),
            restored,
            directory,
        }))
    }
}

#[uniffi::export]
impl Session {
    /// A session on an in-memory server, with a fresh trust store.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>, server: Arc<MemoryServer>) -> Result<Arc<Self>> {
        Self::start(&account, server.inner.clone(), None)
    }

    /// A session on the app's own server transport, with a fresh trust store.
    #[uniffi::constructor]
    pub fn with_remote(account: Arc<Account>, remote: Arc<dyn RemoteStore>) -> Result<Arc<Self>> {
        Self::start(&account, Arc::new(ForeignRemote(remote)), None)
    }

    /// A session restored from what `save_state` returned (or `None` if the app
    /// has nothing saved), on an in-memory server. `trust_restored()` says
    /// whether the saved trust store is the last one saved.
    #[uniffi::constructor]
    pub fn restore(
        account: Arc<Account>,
        server: Arc<MemoryServer>,
        state: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        Self::start(&account, server.inner.clone(), state)
    }

    /// As `restore`, on the app's own server transport.
    #[uniffi::constructor]
    pub fn restore_with_remote(
        account: Arc<Account>,
        remote: Arc<dyn RemoteStore>,
        state: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        Self::start(&account, Arc::new(ForeignRemote(remote)), state)
    }

    /// Whether the trust store this session started from is the last one
    /// saved. If not (rolled back, or missing), every verified mark was
    /// dropped: tell the user to compare safety numbers again.
    pub fn trust_restored(&self) -> TrustRestore {
        self.restored
    }

    /// Everything the app must keep to resume: the trust store with its
    /// verified marks and every open (or restored) collection's checkpoint,
    /// sealed under the account. Pass the account's keystore, if it has one:
    /// it comes back resealed with the trust generation the state must match.
    /// Store `state` first, then `keystore`.
    pub fn save_state(&self, keystore: Option<Vec<u8>>) -> Result<SavedState> {
        self.with_live(|live| {
            let mut newest: BTreeMap<CollectionId, &sealshare::Collection> = BTreeMap::new();
            for c in live.saved.values().chain(live.collections.values()) {
                let keep = newest
                    .get(&c.id())
                    .is_none_or(|k| k.state().len() < c.state().len());
                if keep {
                    newest.insert(c.id(), c);
                }
            }
            let state = live.client.save_state(newest.into_values())?;
            let account = live.client.account();
            let keystore = match keystore {
                Some(bytes) => {
                    let mut ks = sealshare::Keystore::from_bytes(&bytes)?;
                    account.reseal_keystore(&mut ks)?;
                    Some(ks.to_bytes())
                }
                None => None,
            };
            Ok(SavedState { state, keystore })
        })
    }

    /// The ids of the collections restored from the saved state that are not
    /// open yet; `open_collection` opens them from their checkpoint.
    pub fn saved_collections(&self) -> Result<Vec<String>> {
        self.with_live(|live| Ok(live.saved.keys().map(|id| id.to_text()).collect()))
    }

    /// This user's card.
    pub fn identity(&self) -> Result<IdentityCard> {
        self.with(|c| Ok(IdentityCard::from_core(c.account().identity())))
    }

    /// The safety number of this user's card and `card`, as digit groups.
    pub fn safety_number_with(&self, card: IdentityCard) -> Result<String> {
        self.alive()?;
        let card = card.to_core()?;
        self.with(|c| Ok(c.account().identity().safety_number(&card).to_string()))
    }

    /// Shows the trust store a card as the user's own act: pins it if its
    /// handle is new; fails with `KeyChanged` (both cards), changing nothing,
    /// if another card is pinned for the handle.
    pub fn observe(&self, card: IdentityCard) -> Result<()> {
        self.alive()?;
        let card = card.to_core()?;
        self.with(|c| {
            c.observe(&card)?;
            Ok(())
        })
    }

    /// How the trust store judges `card`, changing nothing.
    pub fn trust_of(&self, card: IdentityCard) -> Result<CardTrust> {
        self.alive()?;
        let card = card.to_core()?;
        self.with(|c| Ok(CardTrust::from_core(c.assess(&card))))
    }

    /// The cards accepted for `handle`, oldest first; the last is current
    /// (empty if none).
    pub fn card_history(&self, handle: String) -> Result<Vec<PinnedCardInfo>> {
        self.with(|c| {
            Ok(c.trust()
                .history(&handle)
                .iter()
                .map(PinnedCardInfo::from_core)
                .collect())
        })
    }

    /// The cards the verified logs introduced for `handle`, each with who
    /// introduced it (not pinned).
    pub fn introductions(&self, handle: String) -> Result<Vec<IntroductionInfo>> {
        self.with(|c| {
            Ok(c.introductions(&handle)
                .iter()
                .map(|i| IntroductionInfo {
                    card: IdentityCard::from_core(&i.card),
                    introduced_by: i.by.clone(),
                    collection_id: i.collection.to_text(),
                    seq: i.seq,
                })
                .collect())
        })
    }

    /// Records that the user compared safety numbers with this card's holder
    /// (pinning it if its handle is new; `KeyChanged` if another is pinned).
    pub fn mark_verified(&self, card: IdentityCard) -> Result<()> {
        self.alive()?;
        let card = card.to_core()?;
        self.with(|c| {
            let now = c.now();
            c.observe(&card)?;
            c.trust_mut()
                .mark_verified(card.handle(), &card.fingerprint(), now)?;
            Ok(())
        })
    }

    /// Makes `card` the current card of its handle after the user confirmed
    /// the change (the `presented` card of a `KeyChanged`).
    pub fn confirm_changed_key(&self, card: IdentityCard) -> Result<()> {
        self.alive()?;
        let card = card.to_core()?;
        self.with(|c| {
            let now = c.now();
            c.trust_mut().confirm_changed_key(&card, now);
            Ok(())
        })
    }

    /// Creates a collection owned by this user.
    pub fn create_collection(
        self: Arc<Self>,
        name: String,
        description: String,
    ) -> Result<Arc<Collection>> {
        self.with_live(|live| {
            let c = sealshare::Collection::create(&mut live.client, &name, &description)?;
            Ok(self.adopt(live, c))
        })
    }

    /// Opens a collection by id: from its saved checkpoint if the session was
    /// restored with one (verifying only what is new), else from the server
    /// (fetching and verifying its whole log).
    pub fn open_collection(self: Arc<Self>, id: String) -> Result<Arc<Collection>> {
        self.alive()?;
        let id = CollectionId::from_text(&id)?;
        self.with_live(|live| {
            let c = match live.saved.remove(&id) {
                Some(mut c) => {
                    if let Err(e) = c.sync(&mut live.client) {
                        live.saved.insert(id, c);
                        return Err(e.into());
                    }
                    c
                }
                None => sealshare::Collection::open(&mut live.client, id)?,
            };
            Ok(self.adopt(live, c))
        })
    }

    /// Restores a collection from a checkpoint its `checkpoint()` made.
    pub fn restore_collection(self: Arc<Self>, checkpoint: Vec<u8>) -> Result<Arc<Collection>> {
        self.with_live(|live| {
            let c = sealshare::Collection::from_checkpoint(live.client.account(), &checkpoint)?;
            Ok(self.adopt(live, c))
        })
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
        self.with_live(|live| {
            let known = std::mem::take(&mut live.listed);
            let list = CollectionList::fetch_with(&mut live.client, known)?;
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
            live.listed = list.into_collections();
            Ok(out)
        })
    }

    /// Joins a collection through an invite link URL.
    pub fn join(self: Arc<Self>, url: String) -> Result<Arc<Collection>> {
        self.alive()?;
        let url = LinkUrl::parse(&url)?;
        self.with_live(|live| {
            let c = sealshare::Collection::join(&mut live.client, &url)?;
            Ok(self.adopt(live, c))
        })
    }

    /// Zeroizes the session's keys now, with every collection opened through
    /// it: each of their methods then fails with `Wiped`.
    pub fn wipe(&self) {
        self.lock().take();
    }
}
