//! The state a log replays to, and the check of each operation against the state
//! just before it. Nothing here needs a secret key.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::crypto::aead::SealedBox;
use crate::crypto::sign::VerifyingKey;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::link::{LinkKeys, LinkKind, LinkTerms, PublicScope};
use crate::log::op::{
    Body, CollectionId, ItemHeader, ItemId, ItemKind, JOIN_PROOF_DOMAIN, LinkId, MAX_LINKS, OpHash,
    Operation, Rotation, join_proof_message,
};
use crate::log::rules::{Action, Role, Violation};

/// The most items (and folders) a collection may hold.
pub const MAX_ITEMS: usize = 10_000_000;

/// A member as the log shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Their card, as shared.
    pub card: Identity,
    /// Their role.
    pub role: Role,
    /// Who added them (themselves for the creator).
    pub added_by: String,
    /// When they were added (claimed time of the share).
    pub added_at: u64,
    /// When they accepted, if they did (the creator accepts at creation).
    pub accepted_at: Option<u64>,
    /// The newest epoch key wrapped to them, and its epoch; `None` while a join
    /// through a link that needs approval waits for an admin.
    pub key: Option<(u64, WrappedSecret)>,
    /// The invite link they joined through, if any.
    pub joined_via: Option<LinkId>,
    /// Who approved their join, if the link needed approval and it was approved.
    pub approved_by: Option<String>,
}

impl Member {
    /// Whether they joined through a link that needs approval and wait for it.
    pub fn awaits_approval(&self) -> bool {
        self.key.is_none()
    }
}

/// A link as the log shows it: terms, creator, uses, joins, revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    /// The terms as signed.
    pub terms: LinkTerms,
    /// Who created it.
    pub creator: String,
    /// When.
    pub created_at: u64,
    /// The operation that created it.
    pub created_seq: u64,
    /// The newest epoch key wrapped to it, and its epoch (links carrying epoch keys).
    pub epoch_key: Option<(u64, WrappedSecret)>,
    /// Who joined through it and when.
    pub joins: Vec<(String, u64)>,
    /// Who revoked it and when, if it was revoked.
    pub revoked: Option<(String, u64)>,
}

impl LinkRecord {
    /// Whether the link can still be used at `time`: not revoked, not expired,
    /// not used up.
    pub fn is_live(&self, time: u64) -> bool {
        self.revoked.is_none() && time <= self.terms.expires_at && !self.used_up()
    }

    /// Whether an invite link's use limit is reached.
    pub fn used_up(&self) -> bool {
        match self.terms.kind {
            LinkKind::Invite { max_uses, .. } => {
                max_uses > 0 && self.joins.len() as u64 >= u64::from(max_uses)
            }
            LinkKind::Public { .. } => false,
        }
    }
}

/// An invitation to a handle that has no card yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The role they will get.
    pub role: Role,
    /// Who invited them.
    pub invited_by: String,
    /// When.
    pub invited_at: u64,
}

/// One key epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Epoch {
    /// The commitment to the epoch key.
    pub commitment: [u8; 32],
    /// The previous epoch key sealed under this one (none for epoch 0).
    pub previous_key: Option<SealedBox>,
    /// The operation that started it.
    pub started_seq: u64,
}

/// One version of an item, with who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemVersion {
    /// The signed header.
    pub header: ItemHeader,
    /// The author (verified: the operation's signer).
    pub author: String,
    /// The claimed time of the operation.
    pub time: u64,
    /// The operation's sequence number.
    pub seq: u64,
}

/// An item (or folder) and all its versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRecord {
    /// The newest version.
    pub latest: ItemVersion,
    /// The versions before it, oldest first.
    pub older: Vec<ItemVersion>,
    /// Who created the item (the author of version 1).
    pub creator: String,
    /// Who trashed it and when, if it is in the trash.
    pub trashed: Option<(String, u64)>,
    /// How many items name this one as their parent.
    pub children: u32,
}

impl ItemRecord {
    /// Every version, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &ItemVersion> {
        self.older.iter().chain(std::iter::once(&self.latest))
    }

    /// Folder or file.
    pub fn kind(&self) -> ItemKind {
        self.latest.header.kind
    }
}

/// One verified event of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The operation's sequence number.
    pub seq: u64,
    /// Its claimed time.
    pub time: u64,
    /// Its author.
    pub author: String,
    /// What happened.
    pub what: EventKind,
}

/// What an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The collection was created.
    Created,
    /// The collection was renamed.
    Renamed,
    /// Members were added.
    Shared(Vec<(String, Role)>),
    /// The author accepted the share.
    Accepted,
    /// A member's role changed.
    RoleChanged {
        /// The member.
        member: String,
        /// Their role before.
        from: Role,
        /// Their role after.
        to: Role,
    },
    /// Members were removed; a new epoch began.
    Removed {
        /// The members.
        members: Vec<String>,
        /// The new epoch.
        epoch: u64,
    },
    /// The author left (or declined).
    Left,
    /// Every member but the owner was removed; a new epoch began.
    Unshared {
        /// The members removed.
        removed: Vec<String>,
        /// The new epoch.
        epoch: u64,
    },
    /// Ownership passed to a member.
    Transferred {
        /// The new owner.
        to: String,
    },
    /// The key was rotated.
    Rotated {
        /// The new epoch.
        epoch: u64,
    },
    /// An item was added or got a new version.
    ItemPut {
        /// The item.
        item: ItemId,
        /// Its new version.
        version: u32,
        /// Folder or file.
        kind: ItemKind,
    },
    /// An item was trashed.
    Trashed(ItemId),
    /// An item was restored.
    Restored(ItemId),
    /// An item was purged.
    Purged(ItemId),
    /// A link was created.
    LinkCreated(LinkId),
    /// Links were revoked (with the new epoch if the key rotated).
    LinksRevoked {
        /// The links.
        links: Vec<LinkId>,
        /// The new epoch, if any.
        epoch: Option<u64>,
    },
    /// The author joined through a link.
    Joined {
        /// The link.
        link: LinkId,
        /// The role.
        role: Role,
        /// Whether they wait for approval.
        awaiting_approval: bool,
    },
    /// A join was approved.
    Approved(String),
    /// A handle was invited.
    Invited {
        /// The handle.
        handle: String,
        /// The role.
        role: Role,
    },
    /// An invitation was completed with the invitee's card.
    InvitationCompleted(String),
    /// An invitation was cancelled.
    InvitationCancelled(String),
}

/// A collection's state as its log replays to, verified operation by operation.
///
/// It is built only from operations that passed every check, so everything in it
/// is as the authors signed it and as the roles table allowed.
#[derive(Debug)]
pub struct LogState {
    pub(crate) collection: CollectionId,
    pub(crate) next_seq: u64,
    pub(crate) head: OpHash,
    pub(crate) last_time: u64,
    pub(crate) owner: String,
    pub(crate) founder_key: [u8; 32],
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) epochs: Vec<Epoch>,
    pub(crate) stale: bool,
    pub(crate) info: Option<(u64, SealedBox)>,
    pub(crate) items: HashMap<ItemId, ItemRecord>,
    pub(crate) history: Vec<Event>,
    pub(crate) links: BTreeMap<LinkId, LinkRecord>,
    pub(crate) invitations: BTreeMap<String, Invitation>,
}

/// Room left for growth when a state is copied or restored, so the next
/// operations applied to it never pay for moving the whole history or item map.
pub(crate) const GROWTH_HEADROOM: usize = 4096;

impl Clone for LogState {
    fn clone(&self) -> Self {
        let mut history = Vec::with_capacity(self.history.len() + GROWTH_HEADROOM);
        history.extend_from_slice(&self.history);
        let mut items = HashMap::with_capacity(self.items.len() + GROWTH_HEADROOM);
        items.extend(self.items.iter().map(|(k, v)| (*k, v.clone())));
        Self {
            collection: self.collection,
            next_seq: self.next_seq,
            head: self.head,
            last_time: self.last_time,
            owner: self.owner.clone(),
            founder_key: self.founder_key,
            members: self.members.clone(),
            epochs: self.epochs.clone(),
            stale: self.stale,
            info: self.info.clone(),
            items,
            history,
            links: self.links.clone(),
            invitations: self.invitations.clone(),
        }
    }
}

impl LogState {
    /// The state before operation 0 of `collection`.
    pub fn empty(collection: CollectionId) -> Self {
        Self {
            collection,
            next_seq: 0,
            head: [0; 32],
            last_time: 0,
            owner: String::new(),
            founder_key: [0; 32],
            members: BTreeMap::new(),
            epochs: Vec::new(),
            stale: false,
            info: None,
            items: HashMap::new(),
            history: Vec::new(),
            links: BTreeMap::new(),
            invitations: BTreeMap::new(),
        }
    }

    /// The collection.
    pub fn collection(&self) -> CollectionId {
        self.collection
    }
    /// How many operations were verified (the next sequence number).
    pub fn len(&self) -> u64 {
        self.next_seq
    }
    /// Whether no operation was verified yet.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }
    /// The hash of the last verified operation (all zero before operation 0).
    pub fn head(&self) -> OpHash {
        self.head
    }
    /// The claimed time of the last verified operation.
    pub fn last_time(&self) -> u64 {
        self.last_time
    }
    /// The owner's handle.
    pub fn owner(&self) -> &str {
        &self.owner
    }
    /// The signing key of the collection's creator (what links pin).
    pub fn founder_key(&self) -> [u8; 32] {
        self.founder_key
    }
    /// Every member, the owner included, by handle.
    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }
    /// One member.
    pub fn member(&self, handle: &str) -> Option<&Member> {
        self.members.get(handle)
    }
    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epochs.len().saturating_sub(1) as u64
    }
    /// Every epoch, oldest first.
    pub fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }
    /// Whether a member left since the current epoch began, so the key must rotate
    /// before anything new is encrypted.
    pub fn needs_rotation(&self) -> bool {
        self.stale
    }
    /// The encrypted name and description, and the epoch that seals them.
    pub fn info(&self) -> Option<&(u64, SealedBox)> {
        self.info.as_ref()
    }
    /// Every item, trashed ones included (purged ones are gone).
    pub fn items(&self) -> &HashMap<ItemId, ItemRecord> {
        &self.items
    }
    /// The verified history, oldest first.
    pub fn history(&self) -> &[Event] {
        &self.history
    }
    /// Every link, revoked ones included.
    pub fn links(&self) -> &BTreeMap<LinkId, LinkRecord> {
        &self.links
    }
    /// Pending invitations by handle.
    pub fn invitations(&self) -> &BTreeMap<String, Invitation> {
        &self.invitations
    }

    /// The key that must have signed `op`, if its author may sign at all.
    pub fn signer_of(&self, op: &Operation) -> Option<VerifyingKey> {
        match &op.body {
            Body::Create { owner, .. } => {
                if self.next_seq == 0 && owner.handle() == op.author {
                    return Some(*owner.signing_key());
                }
                return None;
            }
            Body::Join { card, .. }
                if card.handle() == op.author && !self.members.contains_key(&op.author) =>
            {
                return Some(*card.signing_key());
            }
            _ => {}
        }
        self.members.get(&op.author).map(|m| *m.card.signing_key())
    }

    /// Checks `op` against this state as [`LogState::apply`] would, changing
    /// nothing: lets a client refuse to send an operation that honest clients
    /// would reject.
    pub fn check(&mut self, op: &Operation) -> Result<(), Violation> {
        self.check_place(op)?;
        self.check_and_apply(op, true).map(|_| ())
    }

    /// The operation belongs here: this collection, the next position, chained
    /// onto the head, and not earlier than the previous operation.
    fn check_place(&self, op: &Operation) -> Result<(), Violation> {
        if op.collection != self.collection {
            return Err(Violation::WrongCollection);
        }
        if op.seq != self.next_seq {
            return Err(Violation::WrongSequence {
                expected: self.next_seq,
                found: op.seq,
            });
        }
        if op.prev != self.head {
            return Err(Violation::BrokenChain);
        }
        if op.time < self.last_time {
            return Err(Violation::TimeWentBackwards {
                previous: self.last_time,
                claimed: op.time,
            });
        }
        Ok(())
    }

    /// Checks `op` (whose signature the caller verified under
    /// [`LogState::signer_of`]) against this state and applies it. On error the
    /// state is unchanged.
    pub(crate) fn apply(&mut self, op: &Operation) -> Result<(), Violation> {
        self.check_place(op)?;
        let what = self.check_and_apply(op, false)?;
        self.history.push(Event {
            seq: op.seq,
            time: op.time,
            author: op.author.clone(),
            what,
        });
        self.next_seq += 1;
        self.head = op.hash();
        self.last_time = op.time;
        Ok(())
    }

    /// Checks `op`; unless `dry`, applies it. Every check comes before the first
    /// change, so a refused operation leaves the state as it was.
    fn check_and_apply(&mut self, op: &Operation, dry: bool) -> Result<EventKind, Violation> {
        if let Body::Create {
            owner,
            commitment,
            wrap,
            info,
        } = &op.body
        {
            if self.next_seq != 0 || owner.handle() != op.author {
                return Err(Violation::Genesis);
            }
            if dry {
                return Ok(EventKind::Created);
            }
            self.owner = op.author.clone();
            self.founder_key = owner.signing_key().to_bytes();
            self.members.insert(
                op.author.clone(),
                Member {
                    card: owner.clone(),
                    role: Role::Owner,
                    added_by: op.author.clone(),
                    added_at: op.time,
                    accepted_at: Some(op.time),
                    key: Some((0, wrap.clone())),
                    joined_via: None,
                    approved_by: None,
                },
            );
            self.epochs.push(Epoch {
                commitment: *commitment,
                previous_key: None,
                started_seq: op.seq,
            });
            self.info = Some((0, info.clone()));
            return Ok(EventKind::Created);
        }
        if self.next_seq == 0 {
            return Err(Violation::Genesis);
        }
        if let Body::Join {
            link,
            role,
            card,
            proof,
            wrap,
        } = &op.body
        {
            return self.join(op, *link, *role, card, proof, wrap.as_ref(), dry);
        }
        let author = op.author.as_str();
        let me = self
            .members
            .get(author)
            .ok_or_else(|| Violation::NotAMember {
                author: author.to_owned(),
            })?;
        let role = me.role;
        let accepted = me.accepted_at.is_some();
        match &op.body {
            Body::Accept => {
                if accepted {
                    return Err(Violation::AlreadyAccepted(author.to_owned()));
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                if let Some(m) = self.members.get_mut(author) {
                    m.accepted_at = Some(op.time);
                }
                return Ok(EventKind::Accepted);
            }
            Body::Leave => {
                if role == Role::Owner {
                    return Err(Violation::OwnerCannotLeave);
                }
                if dry {
                    return Ok(EventKind::Left);
                }
                self.members.remove(author);
                self.stale = true;
                return Ok(EventKind::Left);
            }
            _ if !accepted => {
                return Err(Violation::NotAccepted {
                    author: author.to_owned(),
                });
            }
            _ => {}
        }
        let need = |action: Action| -> Result<(), Violation> {
            if role.may(action) {
                Ok(())
            } else {
                Err(Violation::RoleTooLow {
                    author: author.to_owned(),
                    role,
                    action,
                })
            }
        };
        match &op.body {
            Body::Create { .. } | Body::Accept | Body::Leave => Err(Violation::Genesis),
            Body::Rename { epoch, info } => {
                need(Action::Rename)?;
                self.check_fresh_epoch(*epoch, op.time)?;
                if dry {
                    return Ok(EventKind::Renamed);
                }
                self.info = Some((*epoch, info.clone()));
                Ok(EventKind::Renamed)
            }
            Body::Share { epoch, grants } => {
                need(Action::ManageMembers)?;
                self.check_fresh_epoch(*epoch, op.time)?;
                if grants.is_empty() {
                    return Err(Violation::RotationRecipients(
                        "a share adds at least one member",
                    ));
                }
                if self.members.len() + grants.len() > crate::log::op::MAX_MEMBERS {
                    return Err(Violation::Limit("too many members"));
                }
                let mut seen = HashSet::with_capacity(grants.len());
                for g in grants {
                    let h = g.card.handle();
                    if self.members.contains_key(h)
                        || self.invitations.contains_key(h)
                        || !seen.insert(h)
                    {
                        return Err(Violation::AlreadyMember(h.to_owned()));
                    }
                    if g.role == Role::Owner {
                        return Err(Violation::OwnerOnlyByTransfer);
                    }
                    if g.role >= role {
                        return Err(Violation::NotBelowOwnRole {
                            author: author.to_owned(),
                            role,
                            target: h.to_owned(),
                            target_role: g.role,
                        });
                    }
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                let mut added = Vec::with_capacity(grants.len());
                for g in grants {
                    added.push((g.card.handle().to_owned(), g.role));
                    self.members.insert(
                        g.card.handle().to_owned(),
                        Member {
                            card: g.card.clone(),
                            role: g.role,
                            added_by: author.to_owned(),
                            added_at: op.time,
                            accepted_at: None,
                            key: Some((*epoch, g.wrap.clone())),
                            joined_via: None,
                            approved_by: None,
                        },
                    );
                }
                Ok(EventKind::Shared(added))
            }
            Body::ChangeRole { member, role: new } => {
                need(Action::ManageMembers)?;
                let current = self.managed_member(author, role, member)?;
                if *new == Role::Owner {
                    return Err(Violation::OwnerOnlyByTransfer);
                }
                if *new >= role {
                    return Err(Violation::NotBelowOwnRole {
                        author: author.to_owned(),
                        role,
                        target: member.clone(),
                        target_role: *new,
                    });
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                if let Some(m) = self.members.get_mut(member) {
                    m.role = *new;
                }
                Ok(EventKind::RoleChanged {
                    member: member.clone(),
                    from: current,
                    to: *new,
                })
            }
            Body::Remove { members, rotation } => {
                need(Action::ManageMembers)?;
                if members.is_empty() {
                    return Err(Violation::NoSuchMember(String::new()));
                }
                let mut seen = HashSet::with_capacity(members.len());
                for member in members {
                    self.managed_member(author, role, member)?;
                    if !seen.insert(member.as_str()) {
                        return Err(Violation::NoSuchMember(member.clone()));
                    }
                }
                self.check_rotation(rotation, |h| !seen.contains(h.as_str()), op.time, &[])?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
                for member in members {
                    self.members.remove(member);
                }
                self.start_epoch(rotation, op.seq);
                Ok(EventKind::Removed {
                    members: members.clone(),
                    epoch: rotation.epoch,
                })
            }
            Body::Unshare { rotation } => {
                need(Action::Unshare)?;
                let owner = self.owner.clone();
                let every_link: Vec<LinkId> = self.links.keys().copied().collect();
                self.check_rotation(rotation, |h| *h == owner, op.time, &every_link)?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
                for rec in self.links.values_mut() {
                    if rec.revoked.is_none() {
                        rec.revoked = Some((author.to_owned(), op.time));
                    }
                }
                self.invitations.clear();
                let removed: Vec<String> = self
                    .members
                    .keys()
                    .filter(|h| **h != owner)
                    .cloned()
                    .collect();
                self.members.retain(|h, _| *h == owner);
                self.start_epoch(rotation, op.seq);
                Ok(EventKind::Unshared {
                    removed,
                    epoch: rotation.epoch,
                })
            }
            Body::Rotate { rotation } => {
                self.check_rotation(rotation, |_| true, op.time, &[])?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
                self.start_epoch(rotation, op.seq);
                Ok(EventKind::Rotated {
                    epoch: rotation.epoch,
                })
            }
            Body::Transfer { to } => {
                need(Action::TransferOwnership)?;
                match self.members.get(to) {
                    None => return Err(Violation::NoSuchMember(to.clone())),
                    Some(m) if m.accepted_at.is_none() => {
                        return Err(Violation::NotAccepted { author: to.clone() });
                    }
                    Some(m) if m.awaits_approval() => {
                        return Err(Violation::AwaitsApproval(to.clone()));
                    }
                    Some(m) if m.role == Role::Owner => {
                        return Err(Violation::AlreadyMember(to.clone()));
                    }
                    Some(_) => {}
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                if let Some(m) = self.members.get_mut(to) {
                    m.role = Role::Owner;
                }
                if let Some(m) = self.members.get_mut(author) {
                    m.role = Role::Admin;
                }
                self.owner = to.clone();
                Ok(EventKind::Transferred { to: to.clone() })
            }
            Body::PutItem(header) => self.put_item(op, role, header, dry),
            Body::Trash { item } | Body::Restore { item } => {
                let rec = self.items.get(item).ok_or(Violation::NoSuchItem)?;
                let action = if rec.creator == author {
                    Action::EditOwnItem
                } else {
                    Action::EditAnyItem
                };
                need(action)?;
                let trash = matches!(op.body, Body::Trash { .. });
                match (trash, rec.trashed.is_some()) {
                    (true, true) => return Err(Violation::TrashState("already in the trash")),
                    (false, false) => return Err(Violation::TrashState("not in the trash")),
                    _ => {}
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                if let Some(rec) = self.items.get_mut(item) {
                    rec.trashed = trash.then(|| (author.to_owned(), op.time));
                }
                Ok(if trash {
                    EventKind::Trashed(*item)
                } else {
                    EventKind::Restored(*item)
                })
            }
            Body::Purge { item } => {
                need(Action::Purge)?;
                let rec = self.items.get(item).ok_or(Violation::NoSuchItem)?;
                if rec.trashed.is_none() {
                    return Err(Violation::TrashState("not in the trash"));
                }
                if rec.children > 0 {
                    return Err(Violation::FolderNotEmpty);
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                let parent = rec.latest.header.parent;
                self.items.remove(item);
                if let Some(p) = parent.and_then(|p| self.items.get_mut(&p)) {
                    p.children = p.children.saturating_sub(1);
                }
                Ok(EventKind::Purged(*item))
            }
            Body::CreateLink(terms) => {
                need(Action::ManageLinks)?;
                self.check_link_terms(op, role, terms)?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
                let epoch_key = match &terms.keys {
                    LinkKeys::Epoch { epoch, wrap } => Some((*epoch, wrap.clone())),
                    _ => None,
                };
                self.links.insert(
                    terms.link,
                    LinkRecord {
                        terms: (**terms).clone(),
                        creator: author.to_owned(),
                        created_at: op.time,
                        created_seq: op.seq,
                        epoch_key,
                        joins: Vec::new(),
                        revoked: None,
                    },
                );
                Ok(EventKind::LinkCreated(terms.link))
            }
            Body::RevokeLinks { links, rotation } => {
                need(Action::ManageLinks)?;
                if links.is_empty() {
                    return Err(Violation::NoSuchLink);
                }
                let mut seen = HashSet::with_capacity(links.len());
                let mut needs_rotation = false;
                for l in links {
                    let rec = self.links.get(l).ok_or(Violation::NoSuchLink)?;
                    if rec.revoked.is_some() || !seen.insert(*l) {
                        return Err(Violation::LinkRevoked);
                    }
                    needs_rotation |= rec.terms.carries_epoch_key();
                }
                match rotation {
                    None if needs_rotation => return Err(Violation::RotationRequired),
                    None => {}
                    Some(r) => self.check_rotation(r, |_| true, op.time, links)?,
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                for l in links {
                    if let Some(rec) = self.links.get_mut(l) {
                        rec.revoked = Some((author.to_owned(), op.time));
                        rec.epoch_key = None;
                    }
                }
                if let Some(r) = rotation {
                    self.start_epoch(r, op.seq);
                }
                Ok(EventKind::LinksRevoked {
                    links: links.clone(),
                    epoch: rotation.as_ref().map(|r| r.epoch),
                })
            }
            Body::Join { .. } => Err(Violation::Genesis),
            Body::Approve {
                member,
                epoch,
                wrap,
            } => {
                need(Action::ManageMembers)?;
                self.managed_member(author, role, member)?;
                self.check_fresh_epoch(*epoch, op.time)?;
                if !self
                    .members
                    .get(member)
                    .is_some_and(Member::awaits_approval)
                {
                    return Err(Violation::NotAwaitingApproval(member.clone()));
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                if let Some(m) = self.members.get_mut(member) {
                    m.key = Some((*epoch, wrap.clone()));
                    m.approved_by = Some(author.to_owned());
                }
                Ok(EventKind::Approved(member.clone()))
            }
            Body::Invite {
                handle,
                role: invited,
            } => {
                need(Action::ManageMembers)?;
                if *invited == Role::Owner {
                    return Err(Violation::OwnerOnlyByTransfer);
                }
                if *invited >= role {
                    return Err(Violation::NotBelowOwnRole {
                        author: author.to_owned(),
                        role,
                        target: handle.clone(),
                        target_role: *invited,
                    });
                }
                if self.members.contains_key(handle) || self.invitations.contains_key(handle) {
                    return Err(Violation::AlreadyMember(handle.clone()));
                }
                if self.members.len() + self.invitations.len() >= crate::log::op::MAX_MEMBERS {
                    return Err(Violation::Limit("too many members"));
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                self.invitations.insert(
                    handle.clone(),
                    Invitation {
                        role: *invited,
                        invited_by: author.to_owned(),
                        invited_at: op.time,
                    },
                );
                Ok(EventKind::Invited {
                    handle: handle.clone(),
                    role: *invited,
                })
            }
            Body::CompleteInvite { epoch, card, wrap } => {
                need(Action::ManageMembers)?;
                self.check_fresh_epoch(*epoch, op.time)?;
                let handle = card.handle();
                let inv = self
                    .invitations
                    .get(handle)
                    .ok_or_else(|| Violation::NoSuchInvitation(handle.to_owned()))?;
                if inv.role >= role {
                    return Err(Violation::NotBelowOwnRole {
                        author: author.to_owned(),
                        role,
                        target: handle.to_owned(),
                        target_role: inv.role,
                    });
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                let Some(inv) = self.invitations.remove(handle) else {
                    return Err(Violation::NoSuchInvitation(handle.to_owned()));
                };
                self.members.insert(
                    handle.to_owned(),
                    Member {
                        card: card.clone(),
                        role: inv.role,
                        added_by: inv.invited_by,
                        added_at: op.time,
                        accepted_at: None,
                        key: Some((*epoch, wrap.clone())),
                        joined_via: None,
                        approved_by: None,
                    },
                );
                Ok(EventKind::InvitationCompleted(handle.to_owned()))
            }
            Body::CancelInvite { handle } => {
                need(Action::ManageMembers)?;
                if !self.invitations.contains_key(handle) {
                    return Err(Violation::NoSuchInvitation(handle.clone()));
                }
                if dry {
                    return Ok(EventKind::Accepted);
                }
                self.invitations.remove(handle);
                Ok(EventKind::InvitationCancelled(handle.clone()))
            }
        }
    }

    fn check_link_terms(
        &self,
        op: &Operation,
        role: Role,
        terms: &LinkTerms,
    ) -> Result<(), Violation> {
        if self.links.contains_key(&terms.link) {
            return Err(Violation::LinkTerms("a link with this id exists"));
        }
        if self.links.len() >= MAX_LINKS {
            return Err(Violation::Limit("too many links"));
        }
        if terms.expires_at < op.time {
            return Err(Violation::LinkTerms("it expires before it is created"));
        }
        if let Some(lock) = &terms.password {
            lock.params
                .check()
                .map_err(|_| Violation::LinkTerms("password-hashing parameters out of bounds"))?;
        }
        VerifyingKey::from_bytes(&terms.verifying_key)
            .map_err(|_| Violation::LinkTerms("the link's public key is unusable"))?;
        if crate::crypto::x25519::is_low_order(&terms.kem_key) {
            // Every later rotation must wrap to it: a low-order key would block them.
            return Err(Violation::LinkTerms("the link's KEM key is of low order"));
        }
        let wants_epoch_key = match terms.kind {
            LinkKind::Invite {
                role: granted,
                approval,
                ..
            } => {
                if granted == Role::Owner {
                    return Err(Violation::OwnerOnlyByTransfer);
                }
                if granted > role {
                    return Err(Violation::NotBelowOwnRole {
                        author: op.author.clone(),
                        role,
                        target: format!("link {}", terms.link),
                        target_role: granted,
                    });
                }
                if terms.password.is_some() {
                    return Err(Violation::LinkTerms("invite links take no password"));
                }
                !approval
            }
            LinkKind::Public { scope, .. } => scope == PublicScope::Live,
        };
        match (&terms.keys, wants_epoch_key, &terms.kind) {
            (LinkKeys::Epoch { epoch, .. }, true, _) => self.check_fresh_epoch(*epoch, op.time),
            (LinkKeys::None, false, LinkKind::Invite { .. }) => Ok(()),
            (LinkKeys::Items { .. }, false, LinkKind::Public { .. }) => Ok(()),
            _ => Err(Violation::LinkTerms(
                "the key material does not match the link's kind",
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        op: &Operation,
        link: LinkId,
        role: Role,
        card: &Identity,
        proof: &crate::crypto::sign::Signature,
        wrap: Option<&WrappedSecret>,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        if card.handle() != op.author {
            return Err(Violation::NotAMember {
                author: op.author.clone(),
            });
        }
        if self.members.contains_key(&op.author) {
            return Err(Violation::AlreadyMember(op.author.clone()));
        }
        let rec = self.links.get(&link).ok_or(Violation::NoSuchLink)?;
        let LinkKind::Invite {
            role: granted,
            approval,
            ..
        } = rec.terms.kind
        else {
            return Err(Violation::LinkTerms("a public link admits no one"));
        };
        if rec.revoked.is_some() {
            return Err(Violation::LinkRevoked);
        }
        if op.time > rec.terms.expires_at {
            return Err(Violation::LinkExpired {
                expired_at: rec.terms.expires_at,
                claimed: op.time,
            });
        }
        if rec.used_up() {
            return Err(Violation::LinkUsedUp);
        }
        if role != granted {
            return Err(Violation::WrongLinkRole {
                link: granted,
                claimed: role,
            });
        }
        let key = VerifyingKey::from_bytes(&rec.terms.verifying_key)
            .map_err(|_| Violation::BadJoinProof)?;
        key.verify(
            JOIN_PROOF_DOMAIN,
            &join_proof_message(&self.collection, &link, card, role),
            proof,
        )
        .map_err(|_| Violation::BadJoinProof)?;
        let key = match (approval, wrap) {
            (true, None) => None,
            (false, Some(w)) => {
                if rec.epoch_key.as_ref().map(|(e, _)| *e) != Some(self.epoch()) {
                    return Err(Violation::LinkTerms(
                        "the link holds no key for the current epoch",
                    ));
                }
                Some((self.epoch(), w.clone()))
            }
            _ => {
                return Err(Violation::LinkTerms(
                    "a join carries a key exactly when the link needs no approval",
                ));
            }
        };
        if self.members.len() >= crate::log::op::MAX_MEMBERS {
            return Err(Violation::Limit("too many members"));
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        self.invitations.remove(&op.author);
        if let Some(rec) = self.links.get_mut(&link) {
            rec.joins.push((op.author.clone(), op.time));
        }
        let awaiting_approval = key.is_none();
        self.members.insert(
            op.author.clone(),
            Member {
                card: card.clone(),
                role,
                added_by: op.author.clone(),
                added_at: op.time,
                accepted_at: Some(op.time),
                key,
                joined_via: Some(link),
                approved_by: None,
            },
        );
        Ok(EventKind::Joined {
            link,
            role,
            awaiting_approval,
        })
    }

    /// The current role of `member`, if `author` (at `role`) may manage them.
    fn managed_member(&self, author: &str, role: Role, member: &str) -> Result<Role, Violation> {
        let target = self
            .members
            .get(member)
            .ok_or_else(|| Violation::NoSuchMember(member.to_owned()))?;
        if target.role >= role {
            return Err(Violation::NotBelowOwnRole {
                author: author.to_owned(),
                role,
                target: member.to_owned(),
                target_role: target.role,
            });
        }
        Ok(target.role)
    }

    /// New encryption must use the current epoch, and the current epoch key must
    /// not be known to anyone who lost access: no one left since it was made, and
    /// no link holding it has expired or been used up.
    fn check_fresh_epoch(&self, epoch: u64, time: u64) -> Result<(), Violation> {
        if epoch != self.epoch() {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: epoch,
            });
        }
        if self.needs_rotation_at(time) {
            return Err(Violation::RotationRequired);
        }
        Ok(())
    }

    /// Whether a link that can no longer be used still holds the current key.
    pub fn dead_link_holds_current_key(&self, time: u64) -> bool {
        let current = self.epoch();
        self.links
            .values()
            .any(|l| l.epoch_key.as_ref().is_some_and(|(e, _)| *e == current) && !l.is_live(time))
    }

    /// Whether new content at `time` needs a rotation first: a member left, or a
    /// link that holds the current key expired or was used up.
    pub fn needs_rotation_at(&self, time: u64) -> bool {
        self.stale || self.dead_link_holds_current_key(time)
    }

    /// A rotation must start the next epoch, wrap to exactly the members that
    /// `keep` keeps (those holding a key), each once, and seal the key for
    /// exactly the links that stay live at `time` and carry epoch keys (minus
    /// `revoking`).
    fn check_rotation(
        &self,
        rotation: &Rotation,
        keep: impl Fn(&String) -> bool,
        time: u64,
        revoking: &[LinkId],
    ) -> Result<(), Violation> {
        let next = self.epoch() + 1;
        if rotation.epoch != next {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: rotation.epoch,
            });
        }
        let holds_key = |h: &String| self.members.get(h).is_some_and(|m| m.key.is_some());
        let expected = self
            .members
            .keys()
            .filter(|h| keep(h) && holds_key(h))
            .count();
        if rotation.wraps.len() != expected {
            return Err(Violation::RotationRecipients("wrong number of wraps"));
        }
        let mut seen = HashSet::with_capacity(expected);
        for (h, _) in &rotation.wraps {
            if !holds_key(h) || !keep(h) {
                return Err(Violation::RotationRecipients("a wrap for a non-member"));
            }
            if !seen.insert(h.as_str()) {
                return Err(Violation::RotationRecipients("two wraps for one member"));
            }
        }
        let live: HashSet<LinkId> = self
            .live_epoch_links(time)
            .filter(|l| !revoking.contains(l))
            .collect();
        let sealed: HashSet<LinkId> = rotation.links.iter().map(|(l, _)| *l).collect();
        if sealed.len() != rotation.links.len() || sealed != live {
            return Err(Violation::RotationRecipients(
                "the key must be sealed for exactly the live links that carry epoch keys",
            ));
        }
        Ok(())
    }

    /// The links that carry epoch keys and can still be used at `time`.
    pub fn live_epoch_links(&self, time: u64) -> impl Iterator<Item = LinkId> + '_ {
        self.links
            .iter()
            .filter(move |(_, l)| l.terms.carries_epoch_key() && l.is_live(time))
            .map(|(id, _)| *id)
    }

    fn start_epoch(&mut self, rotation: &Rotation, seq: u64) {
        for (h, wrap) in &rotation.wraps {
            if let Some(m) = self.members.get_mut(h) {
                m.key = Some((rotation.epoch, wrap.clone()));
            }
        }
        for rec in self.links.values_mut() {
            rec.epoch_key = None;
        }
        for (l, wrap) in &rotation.links {
            if let Some(rec) = self.links.get_mut(l) {
                rec.epoch_key = Some((rotation.epoch, wrap.clone()));
            }
        }
        self.epochs.push(Epoch {
            commitment: rotation.commitment,
            previous_key: Some(rotation.previous_key.clone()),
            started_seq: seq,
        });
        self.stale = false;
    }

    fn put_item(
        &mut self,
        op: &Operation,
        role: Role,
        header: &ItemHeader,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        let author = op.author.as_str();
        let deny = |action| Violation::RoleTooLow {
            author: author.to_owned(),
            role,
            action,
        };
        match (header.kind, &header.content) {
            (ItemKind::Folder, Some(_)) => {
                return Err(Violation::ItemShape("a folder has no content"));
            }
            (ItemKind::File, None) => return Err(Violation::ItemShape("a file has content")),
            _ => {}
        }
        let old_parent = match self.items.get(&header.item) {
            None => {
                if !role.may(Action::AddItem) {
                    return Err(deny(Action::AddItem));
                }
                if header.version != 1 {
                    return Err(Violation::WrongVersion {
                        expected: 1,
                        found: header.version,
                    });
                }
                if self.items.len() >= MAX_ITEMS {
                    return Err(Violation::Limit("too many items"));
                }
                None
            }
            Some(rec) => {
                let action = if rec.creator == author {
                    Action::EditOwnItem
                } else {
                    Action::EditAnyItem
                };
                if !role.may(action) {
                    return Err(deny(action));
                }
                let expected = rec.latest.header.version.saturating_add(1);
                if header.version != expected {
                    return Err(Violation::WrongVersion {
                        expected,
                        found: header.version,
                    });
                }
                if rec.kind() != header.kind {
                    return Err(Violation::ItemShape(
                        "an item cannot change between folder and file",
                    ));
                }
                if rec.trashed.is_some() {
                    return Err(Violation::TrashState("in the trash"));
                }
                Some(rec.latest.header.parent)
            }
        };
        if let Some(parent) = header.parent {
            self.check_parent(header.item, parent)?;
        }
        // Last, so a client checking a write before it rotates learns every
        // other reason it would be refused.
        self.check_fresh_epoch(header.epoch, op.time)?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        let version = ItemVersion {
            header: header.clone(),
            author: author.to_owned(),
            time: op.time,
            seq: op.seq,
        };
        match old_parent {
            None => {
                self.items.insert(
                    header.item,
                    ItemRecord {
                        creator: version.author.clone(),
                        latest: version,
                        older: Vec::new(),
                        trashed: None,
                        children: 0,
                    },
                );
                self.adjust_children(header.parent, 1);
            }
            Some(previous) => {
                if let Some(rec) = self.items.get_mut(&header.item) {
                    let before = std::mem::replace(&mut rec.latest, version);
                    rec.older.push(before);
                }
                if previous != header.parent {
                    self.adjust_children(previous, -1);
                    self.adjust_children(header.parent, 1);
                }
            }
        }
        Ok(EventKind::ItemPut {
            item: header.item,
            version: header.version,
            kind: header.kind,
        })
    }

    /// The parent must be a live folder and not the item itself or inside it.
    fn check_parent(&self, item: ItemId, parent: ItemId) -> Result<(), Violation> {
        let rec = self
            .items
            .get(&parent)
            .ok_or(Violation::BadParent("no such folder"))?;
        if rec.kind() != ItemKind::Folder {
            return Err(Violation::BadParent("not a folder"));
        }
        if rec.trashed.is_some() {
            return Err(Violation::BadParent("the folder is in the trash"));
        }
        let mut cursor = Some(parent);
        let mut steps = 0usize;
        while let Some(id) = cursor {
            if id == item {
                return Err(Violation::BadParent("a folder cannot be inside itself"));
            }
            steps += 1;
            if steps > self.items.len() {
                return Err(Violation::BadParent("the folder tree has a cycle"));
            }
            cursor = self.items.get(&id).and_then(|r| r.latest.header.parent);
        }
        Ok(())
    }

    fn adjust_children(&mut self, parent: Option<ItemId>, delta: i32) {
        if let Some(rec) = parent.and_then(|p| self.items.get_mut(&p)) {
            rec.children = rec.children.saturating_add_signed(delta);
        }
    }
}
