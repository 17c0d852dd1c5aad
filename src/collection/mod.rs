//! Collections as a member sees them: the verified log state, the epoch keys this
//! account holds, and every action of the roles table, each turned into a signed
//! operation that is appended on the server, rebased when the server reports
//! another head.

mod checkpoint;
pub mod client;
mod history;
pub(crate) mod items;
pub(crate) mod keys;
mod listing;
mod members;
pub mod memory;
pub mod remote;
mod saved;
mod versions;

use rayon::prelude::*;

use crate::crypto::aead::SealedBox;
use crate::crypto::secret::SecretKey;
use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::log::op::hash_op;
use crate::log::state::ItemShape;
use crate::log::{Body, CollectionId, LogState, OpHash, Operation, Role, Rotation, Violation};
use crate::trust::CardTrust;
use crate::wire::{Reader, Writer};

pub use client::{Client, Clock, Introduction, TrustRestored, system_time};
pub use history::HistoryEntry;
pub use items::{Item, ItemListing, ItemMetadata, MAX_ITEM_NAME, UnreadableItem, VersionInfo};
pub use listing::{CollectionList, ListedCollection, PendingCollection, PendingKind};
pub use members::{SignerTrust, Signers};
pub use memory::MemoryRemote;
pub use remote::{Appended, BlobUpload, Remote};

use keys::EpochKeys;

/// How many times an operation is rebased onto a newer head before giving up.
const MAX_REBASES: usize = 32;
/// The longest collection name and description, in bytes.
pub const MAX_NAME_LEN: usize = 4096;

/// A collection (notebook, folder, vault) as this account sees it: its verified
/// state and the keys this account holds.
///
/// Everything read from it comes from operations that verified; every change is
/// checked against the rules before it is signed, so an honest client never
/// signs or sends an operation other clients would refuse, and a refused
/// change is the caller's error ([`Error::NotFound`], [`Error::NotAllowed`],
/// [`Error::InvalidArgument`]), never [`Error::InvalidOperation`].
pub struct Collection {
    state: LogState,
    keys: EpochKeys,
    hashes: Vec<OpHash>,
    /// The creator's signing key, when opened from a link that carries it.
    creator_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("id", &self.state.collection())
            .field("operations", &self.state.len())
            .field("epoch", &self.state.epoch())
            .finish_non_exhaustive()
    }
}

impl Collection {
    /// Creates a collection owned by the client's account, with an encrypted name
    /// and description, and stores its first operation on the server.
    pub fn create(client: &mut Client, name: &str, description: &str) -> Result<Self> {
        let id = CollectionId::random()?;
        let key = SecretKey::random()?;
        let commitment = keys::commitment(&id, 0, &key)?;
        let wrap = keys::wrap_to(client.account.identity(), &id, 0, &key)?;
        let info = seal_info(&id, 0, &key, name, description)?;
        let body = Body::Create {
            owner: client.account.identity().clone(),
            commitment,
            wrap,
            info,
        };
        let op = client
            .account
            .sign_operation(id, 0, [0; 32], client.now(), body)?;
        let mut collection = Self::empty(id);
        match client.remote.append(&id, 0, op.to_bytes())? {
            Appended::Stored => collection.apply_own(client, &op)?,
            Appended::Conflict => {
                return Err(Error::Remote(
                    "a collection with this id already exists".into(),
                ));
            }
        }
        Ok(collection)
    }

    /// Opens a collection from the server: fetches its whole log and verifies it.
    pub fn open(client: &mut Client, id: CollectionId) -> Result<Self> {
        let mut collection = Self::empty(id);
        collection.sync(client)?;
        if collection.state.is_empty() {
            return Err(Error::NotFound(format!("collection {id}")));
        }
        Ok(collection)
    }

    fn empty(id: CollectionId) -> Self {
        Self {
            state: LogState::empty(id),
            keys: EpochKeys::default(),
            hashes: Vec::new(),
            creator_key: None,
        }
    }

    /// Opens a collection whose creator's signing key the caller knows (from a
    /// link): a log whose first operation is signed by anyone else is refused
    /// with [`Error::Fork`] at 0, whatever the server serves.
    pub fn open_with_creator_key(
        client: &mut Client,
        id: CollectionId,
        creator_key: &[u8; 32],
    ) -> Result<Self> {
        let mut collection = Self::empty(id);
        collection.creator_key = Some(*creator_key);
        collection.sync(client)?;
        if collection.state.is_empty() {
            return Err(Error::NotFound(format!("collection {id}")));
        }
        Ok(collection)
    }

    /// The collection's id.
    pub fn id(&self) -> CollectionId {
        self.state.collection()
    }

    /// The verified state of the log (members, epochs, items, history).
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The owner's handle.
    pub fn owner(&self) -> &str {
        self.state.owner()
    }

    /// The role of `handle`, if they are a member.
    pub fn role_of(&self, handle: &str) -> Option<Role> {
        self.state.member(handle).map(|m| m.role)
    }

    /// Fetches what is new on the server and verifies it. Returns how many
    /// operations were added. On error, everything verified before stays, and
    /// the error names the refused operation (or the fork or rollback seen).
    pub fn sync(&mut self, client: &mut Client) -> Result<u64> {
        let id = self.id();
        let known = self.state.len();
        let from = known.saturating_sub(1);
        let served = client.remote.fetch(&id, from)?;
        let new: &[Vec<u8>] = if known == 0 {
            if let Some(key) = &self.creator_key {
                check_creator_key(served.first().map(Vec::as_slice), key)?;
            }
            &served
        } else {
            let Some(first) = served.first() else {
                return Err(Error::RolledBack {
                    verified: known,
                    served: from,
                });
            };
            let expected = self.hashes.last().copied().unwrap_or([0; 32]);
            if hash_op(first) != expected {
                return Err(Error::Fork { seq: from });
            }
            served.get(1..).unwrap_or_default()
        };
        let mut found = Vec::new();
        let outcome = {
            let now = client.now();
            let mut introduced = introductions_into(&mut found, id);
            self.state
                .extend_from_bytes_observing(new, now, &mut introduced)
        };
        self.note_introductions(client, found);
        let added = self.state.len() - known;
        for bytes in new.iter().take(added as usize) {
            self.hashes.push(hash_op(bytes));
        }
        let refreshed = self.keys.refresh(&self.state, &client.account);
        outcome?;
        refreshed?;
        Ok(added)
    }

    /// Applies an operation this client just appended.
    fn apply_own(&mut self, client: &mut Client, op: &Operation) -> Result<()> {
        let now = client.now();
        let mut found = Vec::new();
        {
            let mut introduced = introductions_into(&mut found, self.id());
            // Signed here a moment ago: the rules run, the signature check
            // is the store's and every other reader's.
            let key = *client.account.identity().signing_key();
            self.state.extend_own(op, &key, now, &mut introduced)?;
        }
        self.note_introductions(client, found);
        self.hashes.push(op.hash());
        self.keys.refresh(&self.state, &client.account)
    }

    /// Hands the cards this log introduced to the client, if this account
    /// appears in it (member, pending or invited): a log the server listed
    /// that is not the user's introduces nothing.
    fn note_introductions(&self, client: &mut Client, found: Vec<Introduction>) {
        let me = client.account.handle();
        let appears = self.state.appears(me);
        if appears && !found.is_empty() {
            client.record_introductions(found);
        }
    }

    /// Builds a body with `build` on the current head, checks it as every
    /// client will ([`Collection::check_own`]: a refusal is the caller's error
    /// and nothing is signed), signs it and appends it; when the server
    /// reports another head, syncs and builds again on the new head (a rebase:
    /// content is never re-sealed). With `fresh_key`, first rotates the epoch
    /// key if a member left since it was made. Returns the sequence number the
    /// operation landed at.
    pub(crate) fn commit(
        &mut self,
        client: &mut Client,
        fresh_key: bool,
        build: &mut dyn FnMut(&Self, &mut Client) -> Result<Body>,
    ) -> Result<u64> {
        for _ in 0..MAX_REBASES {
            if fresh_key && self.state.needs_rotation_at(self.next_time(client)) {
                self.rotate(client)?;
            }
            let body = build(self, client)?;
            let time = self.next_time(client);
            self.check_own(client, time, &body)?;
            let op = client.account.sign_operation(
                self.id(),
                self.state.len(),
                self.state.head(),
                time,
                body,
            )?;
            match client.remote.append(&self.id(), op.seq, op.to_bytes())? {
                Appended::Stored => {
                    self.apply_own(client, &op)?;
                    return Ok(op.seq);
                }
                Appended::Conflict => {
                    self.sync(client)?;
                }
            }
        }
        Err(Error::Remote(format!(
            "the log kept moving: gave up after {MAX_REBASES} rebases"
        )))
    }

    /// Checks `body`, by this account at `time`, against the rules on the
    /// head this view knows, without signing or sending anything: the one
    /// check of the caller's own requests. A refusal is the caller's mistake
    /// and comes back as [`Error::from_own_request`] maps it
    /// ([`Error::NotFound`], [`Error::NotAllowed`], [`Error::InvalidArgument`]
    /// or a link's error), never as [`Error::InvalidOperation`].
    fn check_own(&mut self, client: &Client, time: u64, body: &Body) -> Result<()> {
        self.state
            .check_draft(client.account.handle(), time, body)
            .map_err(Error::from_own_request)
    }

    /// Refuses now what the rules would refuse of a version of the shape
    /// `shape` on the head this view knows ([`LogState::check_put`]), sealing,
    /// signing and sending nothing: for writes that upload content first. A
    /// key rotation the write would make first is not a refusal.
    pub(crate) fn preflight(&mut self, client: &Client, shape: &ItemShape) -> Result<()> {
        let time = self.next_time(client);
        match self.state.check_put(client.account.handle(), time, shape) {
            Ok(()) | Err(Violation::RotationRequired | Violation::WrongEpoch { .. }) => Ok(()),
            Err(violation) => Err(Error::from_own_request(violation)),
        }
    }

    /// Starts a new epoch for the current members (what the library does before
    /// its next write after a member left). Any member may.
    pub fn rotate(&mut self, client: &mut Client) -> Result<()> {
        self.commit(client, false, &mut |this, client| {
            Ok(Body::Rotate {
                rotation: this.rotation(client, |_| true, &[])?,
            })
        })?;
        Ok(())
    }

    /// A fresh epoch key, wrapped (on all cores) to each current member `keep`
    /// keeps that holds a key, and to each live link carrying epoch keys except
    /// those `revoking`.
    ///
    /// It carries the current key when this account holds it and no epoch is
    /// bad. Otherwise, if this account may recover (Owner or Admin), it is a
    /// recovery: it carries every earlier key this account holds (each checked
    /// against its commitment) and passes over the bad ones. Anyone else gets
    /// the bad epoch's error.
    pub(crate) fn rotation(
        &self,
        client: &Client,
        keep: impl Fn(&str) -> bool,
        revoking: &[crate::log::LinkId],
    ) -> Result<Rotation> {
        let id = self.id();
        let current = self.state.epoch();
        let epoch = current + 1;
        let key = SecretKey::random()?;
        let may_recover = self
            .role_of(client.account.handle())
            .is_some_and(|r| r.may(crate::log::Action::RecoverKey));
        let healthy =
            self.keys.get(current).is_some() && self.keys.bad(&self.state).next().is_none();
        let previous_keys = if healthy || !may_recover {
            let old = self.current_key()?;
            vec![(
                current,
                EpochKeys::seal_previous(&id, epoch, &key, current, old)?,
            )]
        } else {
            self.keys
                .iter()
                .map(|(e, old)| Ok((*e, EpochKeys::seal_previous(&id, epoch, &key, *e, old)?)))
                .collect::<Result<Vec<_>>>()?
        };
        if previous_keys.is_empty() {
            return Err(Error::NotAllowed(
                "this account holds no epoch key to carry into a new epoch".into(),
            ));
        }
        let cards: Vec<_> = self
            .state
            .rotation_recipients(&keep)
            .map(|m| &m.card)
            .collect();
        // Never wrap in silence to a card that differs from the user's pin:
        // the user accepts the change first, or removes that member.
        for card in &cards {
            if let CardTrust::Changed { pinned } = client.assess(card) {
                return Err(Error::key_changed(&pinned, card));
            }
        }
        let wraps = cards
            .par_iter()
            .map(|card| {
                Ok((
                    card.handle().to_owned(),
                    keys::wrap_to(card, &id, epoch, &key)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let time = self.next_time(client);
        let links = self
            .state
            .live_epoch_links(time, &keep)
            .filter(|l| !revoking.contains(l))
            .filter_map(|l| self.state.links().get(&l).map(|rec| (l, rec.terms.kem_key)))
            .map(|(l, kem)| Ok((l, keys::wrap_to_link(&l, &kem, &id, epoch, &key)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Rotation {
            epoch,
            commitment: keys::commitment(&id, epoch, &key)?,
            previous_keys,
            wraps,
            links,
        })
    }

    /// The epochs this account found bad, with who started each, that no
    /// recovery has passed over yet: until an Owner or Admin rotates past
    /// them ([`Collection::rotate`]), nothing is written under them.
    pub fn bad_epochs(&self) -> Vec<keys::BadEpoch> {
        self.keys.bad(&self.state).cloned().collect()
    }

    /// The time the next operation will claim: the clock, never earlier than
    /// the last operation's.
    pub(crate) fn next_time(&self, client: &Client) -> u64 {
        client.now().max(self.state.last_time())
    }

    /// The key of the current epoch.
    pub(crate) fn current_key(&self) -> Result<&SecretKey> {
        self.key(self.state.epoch())
    }

    /// The key of `epoch`, if this account holds it; a bad epoch's error names
    /// who started it.
    pub(crate) fn key(&self, epoch: u64) -> Result<&SecretKey> {
        if let Some(key) = self.keys.get(epoch) {
            return Ok(key);
        }
        Err(match self.keys.bad_epoch(epoch) {
            Some(bad) => bad.to_error(),
            None => Error::NotAllowed(format!("this account holds no key for epoch {epoch}")),
        })
    }

    /// The collection's name and description.
    pub fn info(&self) -> Result<(String, String)> {
        let (epoch, sealed) = self
            .state
            .info()
            .ok_or_else(|| Error::NotFound("collection info".into()))?;
        open_info(&self.id(), *epoch, self.key(*epoch)?, sealed)
    }

    /// The collection's name.
    pub fn name(&self) -> Result<String> {
        Ok(self.info()?.0)
    }

    /// Renames the collection (Editor and up).
    pub fn rename(&mut self, client: &mut Client, name: &str, description: &str) -> Result<()> {
        check_name(name, description)?;
        self.commit(client, true, &mut |this, _| {
            let epoch = this.state.epoch();
            Ok(Body::Rename {
                epoch,
                info: seal_info(&this.id(), epoch, this.current_key()?, name, description)?,
            })
        })?;
        Ok(())
    }
}

fn check_name(name: &str, description: &str) -> Result<()> {
    if name.len() > MAX_NAME_LEN || description.len() > MAX_NAME_LEN {
        return Err(Error::InvalidArgument(format!(
            "a name or description is at most {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

fn seal_info(
    id: &CollectionId,
    epoch: u64,
    key: &SecretKey,
    name: &str,
    description: &str,
) -> Result<SealedBox> {
    check_name(name, description)?;
    let mut w = Writer::raw();
    w.str(name).str(description);
    Ok(SealedBox::seal(
        key,
        &w.finish(),
        &keys::info_aad(id, epoch),
    )?)
}

pub(crate) fn open_info(
    id: &CollectionId,
    epoch: u64,
    key: &SecretKey,
    sealed: &SealedBox,
) -> Result<(String, String)> {
    let plain = sealed.open(key, &keys::info_aad(id, epoch))?;
    let mut r = Reader::raw(plain.expose(), "collection info");
    let name = r.str("collection name", MAX_NAME_LEN)?.to_owned();
    let description = r.str("collection description", MAX_NAME_LEN)?.to_owned();
    r.finish()?;
    Ok((name, description))
}

/// A sink for the cards a log introduces, collected into `found`.
fn introductions_into(
    found: &mut Vec<Introduction>,
    collection: CollectionId,
) -> impl FnMut(u64, &str, &Identity) + '_ {
    move |seq, by, card| {
        found.push(Introduction {
            card: card.clone(),
            by: by.to_owned(),
            collection,
            seq,
        })
    }
}

/// Checks that the first operation creates the collection with the creator key a link carries.
pub(crate) fn check_creator_key(first: Option<&[u8]>, key: &[u8; 32]) -> Result<()> {
    let op = Operation::from_bytes(first.ok_or(Error::NotFound("the collection's log".into()))?)?;
    match &op.body {
        Body::Create { owner, .. } if owner.signing_key().as_bytes() == key => Ok(()),
        _ => Err(Error::Fork { seq: 0 }),
    }
}
