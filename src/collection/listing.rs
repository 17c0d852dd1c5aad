//! The list of every collection an account appears in: its own, those shared
//! with it, those it is pending in, and those that did not verify.
//!
//! The server says which collections to look at ([`Remote::collections_of`]);
//! the list says what each one is from its verified log alone, so a server
//! that lists a collection the account is not in, or serves a log that does
//! not verify, shows up in [`CollectionList::failed`] and never in silence.
//!
//! [`Remote::collections_of`]: crate::Remote::collections_of

use std::collections::{BTreeMap, BTreeSet};

use crate::collection::{Client, Collection};
use crate::error::{Error, Result};
use crate::log::{CollectionId, Role, Standing};

/// A collection this account is in (its own, or shared with it and
/// accepted), as the list shows it. Everything here comes from the verified
/// log and the keys this account holds.
#[derive(Debug)]
pub struct ListedCollection {
    /// The collection, verified and ready to use; pass it back to
    /// [`CollectionList::fetch_with`] to list again incrementally.
    pub collection: Collection,
    /// Its name, decrypted with this account's key.
    pub name: String,
    /// The owner's handle.
    pub owner: String,
    /// This account's role.
    pub role: Role,
    /// Who added this account (this account itself for the creator and for a
    /// join through a link).
    pub added_by: String,
    /// When (the claimed time of that operation).
    pub added_at: u64,
    /// When this account accepted (or joined, or created the collection).
    pub accepted_at: u64,
}

/// Why a collection is pending for this account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingKind {
    /// Added by a share (or a completed invitation) and not accepted yet: this
    /// account holds the key and reads the name; it may accept
    /// ([`Collection::accept`]) or decline.
    Share,
    /// Joined through an invite link that needs approval: this account holds
    /// no key until an admin approves; it may only leave.
    Approval,
    /// Invited by handle, the invitation still open: an admin completes it
    /// ([`Collection::complete_invitation`]) once this account's card is
    /// known, and then it is a [`PendingKind::Share`].
    Invitation,
}

/// A collection this account was shared with, joined or invited to but is
/// not in yet, as the list shows it.
#[derive(Debug)]
pub struct PendingCollection {
    /// The collection, verified.
    pub collection: Collection,
    /// Why it is pending.
    pub kind: PendingKind,
    /// Its name: present for [`PendingKind::Share`] (this account holds the
    /// key), absent where this account holds no key yet.
    pub name: Option<String>,
    /// The owner's handle.
    pub owner: String,
    /// The role this account has, or gets once the invitation completes.
    pub role: Role,
    /// Who shared or invited; for a join awaiting approval, who created the
    /// link it went through.
    pub by: String,
    /// When (the claimed time of the share, invitation or join).
    pub at: u64,
}

/// Every collection this account appears in, each verified, and those that
/// did not verify: nothing the server lists is dropped in silence.
#[derive(Debug, Default)]
pub struct CollectionList {
    /// Collections this account owns.
    pub mine: Vec<ListedCollection>,
    /// Collections others shared with this account and it accepted (or it
    /// joined through a link, approved if the link needed it).
    pub shared: Vec<ListedCollection>,
    /// Collections this account was added to, joined or invited to and is
    /// not in yet.
    pub pending: Vec<PendingCollection>,
    /// Collections that failed, with why: the log did not verify, this
    /// account's name for it does not open, or the server listed a collection
    /// whose verified log does not show this account ([`Error::WrongListing`]).
    pub failed: Vec<(CollectionId, Error)>,
}

impl CollectionList {
    /// Lists every collection the server lists for this account
    /// ([`crate::Remote::collections_of`]), each opened and verified: one
    /// fetch of its whole log and one verification of it, and nothing is
    /// fetched for a collection the server did not list. Each list is in the
    /// order of collection ids.
    ///
    /// Fails only if the server's list cannot be had; a collection that does
    /// not verify is in [`CollectionList::failed`].
    pub fn fetch(client: &mut Client) -> Result<Self> {
        Self::fetch_with(client, Vec::new())
    }

    /// As [`CollectionList::fetch`], reusing collections this device already
    /// verified (from an earlier list, or restored from checkpoints): each is
    /// brought up to date by [`Collection::sync`], which fetches and verifies
    /// only what is new since, and only collections not among them are
    /// opened from scratch.
    ///
    /// A collection passed in is synced and listed by what its verified log
    /// says whether or not the server lists it, so a server cannot hide a
    /// collection this device knows; one whose log no longer shows this
    /// account (removed, left, invitation cancelled) is left out. Of several
    /// passed in with one id, the last is used.
    pub fn fetch_with(
        client: &mut Client,
        known: impl IntoIterator<Item = Collection>,
    ) -> Result<Self> {
        let me = client.account().handle().to_owned();
        let listed: BTreeSet<CollectionId> =
            client.remote().collections_of(&me)?.into_iter().collect();
        let mut known: BTreeMap<CollectionId, Collection> =
            known.into_iter().map(|c| (c.id(), c)).collect();
        let ids: BTreeSet<CollectionId> = listed.iter().chain(known.keys()).copied().collect();
        let mut out = Self::default();
        for id in ids {
            let opened = match known.remove(&id) {
                Some(mut c) => c.sync(client).map(|_| c),
                None => Collection::open(client, id),
            };
            match opened {
                Ok(c) => out.place(c, &me, listed.contains(&id)),
                Err(e) => out.failed.push((id, e)),
            }
        }
        Ok(out)
    }

    /// Lists again, syncing every collection of this list incrementally (as
    /// [`CollectionList::fetch_with`] does with
    /// [`CollectionList::into_collections`]); those that failed are opened
    /// again from scratch if the server still lists them.
    pub fn refresh(self, client: &mut Client) -> Result<Self> {
        Self::fetch_with(client, self.into_collections())
    }

    /// Every verified collection of the list: mine, shared and pending.
    pub fn into_collections(self) -> Vec<Collection> {
        let Self {
            mine,
            shared,
            pending,
            ..
        } = self;
        mine.into_iter()
            .chain(shared)
            .map(|l| l.collection)
            .chain(pending.into_iter().map(|p| p.collection))
            .collect()
    }

    /// Sorts a verified collection by where `me` stands in it.
    fn place(&mut self, collection: Collection, me: &str, listed: bool) {
        let id = collection.id();
        let state = collection.state();
        let owner = state.owner().to_owned();
        let standing = state.standing(me);
        let member = state.member(me);
        match (standing, member) {
            (Standing::Member(role), Some(m)) => {
                let (added_by, added_at) = (m.added_by.clone(), m.added_at);
                let accepted_at = m.accepted_at.unwrap_or(m.added_at);
                match collection.name() {
                    Ok(name) => {
                        let entry = ListedCollection {
                            collection,
                            name,
                            owner,
                            role,
                            added_by,
                            added_at,
                            accepted_at,
                        };
                        if role == Role::Owner {
                            self.mine.push(entry);
                        } else {
                            self.shared.push(entry);
                        }
                    }
                    Err(e) => self.failed.push((id, e)),
                }
            }
            (Standing::Pending(role), Some(m)) => {
                let (by, at) = (m.added_by.clone(), m.added_at);
                match collection.name() {
                    Ok(name) => self.pending.push(PendingCollection {
                        collection,
                        kind: PendingKind::Share,
                        name: Some(name),
                        owner,
                        role,
                        by,
                        at,
                    }),
                    Err(e) => self.failed.push((id, e)),
                }
            }
            (Standing::AwaitingApproval(role), Some(m)) => {
                let by = m
                    .joined_via
                    .and_then(|link| state.links().get(&link))
                    .map_or_else(|| m.added_by.clone(), |l| l.creator.clone());
                let at = m.added_at;
                self.pending.push(PendingCollection {
                    collection,
                    kind: PendingKind::Approval,
                    name: None,
                    owner,
                    role,
                    by,
                    at,
                });
            }
            _ => match state.invitations().get(me) {
                Some(inv) => {
                    let (role, by, at) = (inv.role, inv.invited_by.clone(), inv.invited_at);
                    self.pending.push(PendingCollection {
                        collection,
                        kind: PendingKind::Invitation,
                        name: None,
                        owner,
                        role,
                        by,
                        at,
                    });
                }
                // Listed where this account appears nowhere: the server's
                // list is wrong. Known here but no longer in it: left out.
                None if listed => self.failed.push((
                    id,
                    Error::WrongListing {
                        collection: id,
                        handle: me.to_owned(),
                    },
                )),
                None => {}
            },
        }
    }
}
