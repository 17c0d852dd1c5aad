//! The state a log replays to, and the check of each operation against the state
//! just before it. Nothing here needs a secret key.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::crypto::aead::SealedBox;
use crate::crypto::sign::VerifyingKey;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::op::{
    Body, CollectionId, ItemHeader, ItemId, ItemKind, OpHash, Operation, Rotation,
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
    /// The newest epoch key wrapped to them, and its epoch.
    pub key: (u64, WrappedSecret),
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
    /// A member was removed; a new epoch began.
    Removed {
        /// The member.
        member: String,
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
}

/// A collection's state as its log replays to, verified operation by operation.
///
/// It is built only from operations that passed every check, so everything in it
/// is as the authors signed it and as the roles table allowed.
#[derive(Clone, Debug)]
pub struct LogState {
    pub(crate) collection: CollectionId,
    pub(crate) next_seq: u64,
    pub(crate) head: OpHash,
    pub(crate) last_time: u64,
    pub(crate) owner: String,
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) epochs: Vec<Epoch>,
    pub(crate) stale: bool,
    pub(crate) info: Option<(u64, SealedBox)>,
    pub(crate) items: HashMap<ItemId, ItemRecord>,
    pub(crate) history: Vec<Event>,
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
            members: BTreeMap::new(),
            epochs: Vec::new(),
            stale: false,
            info: None,
            items: HashMap::new(),
            history: Vec::new(),
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

    /// The key that must have signed `op`, if its author may sign at all.
    pub fn signer_of(&self, op: &Operation) -> Option<VerifyingKey> {
        if let Body::Create { owner, .. } = &op.body {
            if self.next_seq == 0 && owner.handle() == op.author {
                return Some(*owner.signing_key());
            }
            return None;
        }
        self.members.get(&op.author).map(|m| *m.card.signing_key())
    }

    /// Checks `op` against this state as [`LogState::apply`] would, changing
    /// nothing: lets a client refuse to send an operation that honest clients
    /// would reject.
    pub fn check(&mut self, op: &Operation) -> Result<(), Violation> {
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
        self.check_and_apply(op, true).map(|_| ())
    }

    /// Checks `op` (whose signature the caller verified under
    /// [`LogState::signer_of`]) against this state and applies it. On error the
    /// state is unchanged.
    pub(crate) fn apply(&mut self, op: &Operation) -> Result<(), Violation> {
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
            self.members.insert(
                op.author.clone(),
                Member {
                    card: owner.clone(),
                    role: Role::Owner,
                    added_by: op.author.clone(),
                    added_at: op.time,
                    accepted_at: Some(op.time),
                    key: (0, wrap.clone()),
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
                self.check_fresh_epoch(*epoch)?;
                if dry {
                    return Ok(EventKind::Renamed);
                }
                self.info = Some((*epoch, info.clone()));
                Ok(EventKind::Renamed)
            }
            Body::Share { epoch, grants } => {
                need(Action::ManageMembers)?;
                self.check_fresh_epoch(*epoch)?;
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
                    if self.members.contains_key(h) || !seen.insert(h) {
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
                            key: (*epoch, g.wrap.clone()),
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
            Body::Remove { member, rotation } => {
                need(Action::ManageMembers)?;
                self.managed_member(author, role, member)?;
                self.check_rotation(rotation, |h| h != member)?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
                self.members.remove(member);
                self.start_epoch(rotation, op.seq);
                Ok(EventKind::Removed {
                    member: member.clone(),
                    epoch: rotation.epoch,
                })
            }
            Body::Unshare { rotation } => {
                need(Action::Unshare)?;
                let owner = self.owner.clone();
                self.check_rotation(rotation, |h| *h == owner)?;
                if dry {
                    return Ok(EventKind::Accepted);
                }
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
                self.check_rotation(rotation, |_| true)?;
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
        }
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

    fn check_fresh_epoch(&self, epoch: u64) -> Result<(), Violation> {
        if epoch != self.epoch() {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: epoch,
            });
        }
        if self.stale {
            return Err(Violation::RotationRequired);
        }
        Ok(())
    }

    /// A rotation must start the next epoch and wrap to exactly the members that
    /// `keep` keeps, each once.
    fn check_rotation(
        &self,
        rotation: &Rotation,
        keep: impl Fn(&String) -> bool,
    ) -> Result<(), Violation> {
        let next = self.epoch() + 1;
        if rotation.epoch != next {
            return Err(Violation::WrongEpoch {
                current: self.epoch(),
                found: rotation.epoch,
            });
        }
        let expected = self.members.keys().filter(|h| keep(h)).count();
        if rotation.wraps.len() != expected {
            return Err(Violation::RotationRecipients("wrong number of wraps"));
        }
        let mut seen = HashSet::with_capacity(expected);
        for (h, _) in &rotation.wraps {
            if !self.members.contains_key(h) || !keep(h) {
                return Err(Violation::RotationRecipients("a wrap for a non-member"));
            }
            if !seen.insert(h.as_str()) {
                return Err(Violation::RotationRecipients("two wraps for one member"));
            }
        }
        Ok(())
    }

    fn start_epoch(&mut self, rotation: &Rotation, seq: u64) {
        for (h, wrap) in &rotation.wraps {
            if let Some(m) = self.members.get_mut(h) {
                m.key = (rotation.epoch, wrap.clone());
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
        self.check_fresh_epoch(header.epoch)?;
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
