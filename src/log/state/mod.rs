//! The state a log replays to, and the check of each operation against the state
//! just before it. Nothing here needs a secret key.
//!
//! Each kind of operation is checked in the module of its concept: `members`
//! (sharing, roles, invitations, joins' approval), `links`, `epochs` (rotation
//! and the freshness of the key new writes use), `items`, and operation 0 in
//! `genesis`; `standing` says where each signer stands and which row of the
//! authority table an operation asks for. Each kind's rule is a check that
//! reads the state and returns what it decided (a `Plan`, in `plan`), and an
//! apply that cannot fail and runs only once every check passed: a refused
//! operation leaves the state as it was, and [`LogState::check`] and
//! [`LogState::check_draft`] run the checks alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::crypto::aead::SealedBox;
use crate::crypto::sign::VerifyingKey;
use crate::log::authority::check_grant;
use crate::log::op::{Body, CollectionId, ItemId, LinkId, OpHash, Operation};
use crate::log::rules::{Role, Violation};

mod epochs;
mod event;
mod genesis;
mod items;
mod links;
mod members;
pub(crate) mod names;
mod plan;
mod records;
mod standing;
mod tree;

pub use event::{Event, EventKind};
pub(crate) use items::ItemShape;
pub use records::{Epoch, Invitation, ItemRecord, ItemVersion, LinkRecord, Member};
pub(crate) use tree::FolderTree;

/// The most items (and folders) a collection may hold.
pub const MAX_ITEMS: usize = 10_000_000;

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
    pub(crate) creator_key: [u8; 32],
    pub(crate) members: BTreeMap<String, Member>,
    /// How many members hold a key (every rotation wraps to exactly them).
    pub(crate) holders: usize,
    pub(crate) epochs: Vec<Epoch>,
    pub(crate) stale: bool,
    pub(crate) info: Option<(u64, SealedBox)>,
    pub(crate) items: HashMap<ItemId, Box<ItemRecord>>,
    /// Every item id ever purged: never used again (items.rs).
    pub(crate) purged: HashSet<ItemId>,
    /// The folders as a link-cut tree, for O(log n) cycle checks (tree.rs).
    pub(crate) folders: FolderTree,
    pub(crate) history: Vec<Event>,
    pub(crate) links: BTreeMap<LinkId, LinkRecord>,
    /// The links not revoked (at most `MAX_LINKS`), so no rule scans revoked ones.
    pub(crate) open_links: BTreeSet<LinkId>,
    /// The links holding the current epoch key: open ones, and links that
    /// lapsed since the epoch began (they make it stale until it rotates).
    pub(crate) key_links: BTreeSet<LinkId>,
    pub(crate) invitations: BTreeMap<String, Invitation>,
    /// The handles the records above name, each held once.
    pub(crate) names: names::Names,
}

/// The indexes of `links`: those not revoked, and those holding the current
/// epoch key (rebuilt when a state is restored from a checkpoint).
pub(crate) fn link_indexes(
    links: &BTreeMap<LinkId, LinkRecord>,
) -> (BTreeSet<LinkId>, BTreeSet<LinkId>) {
    let open = links
        .iter()
        .filter(|(_, l)| l.revoked.is_none())
        .map(|(id, _)| *id)
        .collect();
    let keyed = links
        .iter()
        .filter(|(_, l)| l.epoch_key.is_some())
        .map(|(id, _)| *id)
        .collect();
    (open, keyed)
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
            creator_key: self.creator_key,
            members: self.members.clone(),
            holders: self.holders,
            epochs: self.epochs.clone(),
            stale: self.stale,
            info: self.info.clone(),
            items,
            purged: self.purged.clone(),
            folders: self.folders.clone(),
            history,
            links: self.links.clone(),
            open_links: self.open_links.clone(),
            key_links: self.key_links.clone(),
            names: self.names.clone(),
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
            creator_key: [0; 32],
            members: BTreeMap::new(),
            holders: 0,
            epochs: Vec::new(),
            stale: false,
            info: None,
            items: HashMap::new(),
            purged: HashSet::new(),
            folders: FolderTree::default(),
            history: Vec::new(),
            links: BTreeMap::new(),
            open_links: BTreeSet::new(),
            key_links: BTreeSet::new(),
            names: names::Names::default(),
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
    /// The signing key of the collection's creator (what links carry, so a reader refuses a log that another key created).
    pub fn creator_key(&self) -> [u8; 32] {
        self.creator_key
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
    /// Every item, trashed ones included (purged ones are gone). Each record
    /// is boxed, so that the map of a large collection stays small as it grows.
    pub fn items(&self) -> &HashMap<ItemId, Box<ItemRecord>> {
        &self.items
    }
    /// Every item id that was purged. A purge is final: no operation can put
    /// an item under one of these ids again, at any version.
    pub fn purged(&self) -> &HashSet<ItemId> {
        &self.purged
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
        let member = self.members.get(&op.author).map(|m| *m.card.signing_key());
        signer_rule(op, self.next_seq == 0, member)
    }

    /// Checks `op` against this state as applying it would, changing
    /// nothing: lets a client refuse to send an operation that honest clients
    /// would reject. (Its signature is not checked here: see
    /// [`LogState::signer_of`].)
    pub fn check(&mut self, op: &Operation) -> Result<(), Violation> {
        self.check_place(op)?;
        self.check_op(&Draft::of(op)).map(|_| ())
    }

    /// Checks, changing nothing and signing nothing, whether `author` may make
    /// `body` the next operation of this log at `time`: every rule
    /// [`LogState::check`] applies to an operation at the next position,
    /// chained onto the head, at that time, gives the same verdict here. What
    /// a client runs on its own request before it signs it, so that a
    /// refusal is the caller's error and nothing was signed or sent.
    pub fn check_draft(&mut self, author: &str, time: u64, body: &Body) -> Result<(), Violation> {
        self.check_time(time)?;
        let draft = Draft {
            seq: self.next_seq,
            author,
            time,
            body,
        };
        self.check_op(&draft).map(|_| ())
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
        self.check_time(op.time)
    }

    /// An operation at `time` is not earlier than the previous operation.
    fn check_time(&self, time: u64) -> Result<(), Violation> {
        if time < self.last_time {
            return Err(Violation::TimeWentBackwards {
                previous: self.last_time,
                claimed: time,
            });
        }
        Ok(())
    }

    /// Checks `op` (whose signature the caller verified under
    /// [`LogState::signer_of`]) against this state and applies it. On error the
    /// state is unchanged.
    pub(crate) fn apply(&mut self, op: &Operation) -> Result<(), Violation> {
        self.check_place(op)?;
        let draft = Draft::of(op);
        let plan = self.check_op(&draft)?;
        let what = self.apply_plan(&draft, plan);
        if matches!(
            op.body,
            Body::ChangeRole { .. } | Body::Remove { .. } | Body::Leave | Body::Transfer { .. }
        ) {
            self.end_lapsed_links(op);
        }
        let author = self.names.get(&op.author);
        self.history.push(Event {
            seq: op.seq,
            time: op.time,
            author,
            what,
        });
        self.next_seq += 1;
        self.head = op.hash();
        self.last_time = op.time;
        Ok(())
    }

    /// Adds (or replaces) a member, keeping the count of key holders.
    pub(crate) fn insert_member(&mut self, handle: String, member: Member) {
        let holds = member.key.is_some();
        if let Some(old) = self.members.insert(handle, member) {
            self.holders -= usize::from(old.key.is_some());
        }
        self.holders += usize::from(holds);
    }

    /// Removes a member, keeping the count of key holders.
    pub(crate) fn remove_member(&mut self, handle: &str) -> Option<Member> {
        let old = self.members.remove(handle)?;
        self.holders -= usize::from(old.key.is_some());
        Some(old)
    }
}

/// What the rules read of an operation: who signs it, at which position and
/// time, and what it does. No rule reads the signature or the previous hash
/// (checked once, by [`LogState::check_place`] and the caller's signature
/// check), so a body not signed yet is checked exactly as the operation it
/// would become ([`LogState::check_draft`]).
#[derive(Clone, Copy)]
pub(crate) struct Draft<'a> {
    pub(crate) seq: u64,
    pub(crate) author: &'a str,
    pub(crate) time: u64,
    pub(crate) body: &'a Body,
}

impl<'a> Draft<'a> {
    /// What the rules read of a signed operation.
    fn of(op: &'a Operation) -> Self {
        Self {
            seq: op.seq,
            author: &op.author,
            time: op.time,
            body: &op.body,
        }
    }
}

/// The author of an operation and the role they hold just before it.
#[derive(Clone, Copy)]
struct Actor<'a> {
    name: &'a str,
    role: Role,
}

impl Actor<'_> {
    /// `target`, who holds `target_role`, ranks strictly below them (to be
    /// managed: removed, approved, given another role).
    fn outranks(self, target: &str, target_role: Role) -> Result<(), Violation> {
        if target_role >= self.role {
            return Err(Violation::NotBelowOwnRole {
                author: self.name.to_owned(),
                role: self.role,
                target: target.to_owned(),
                target_role,
            });
        }
        Ok(())
    }

    /// The ceiling of every grant ([`check_grant`]): they may give `target`
    /// the role `granted`.
    fn may_grant(self, target: &str, granted: Role) -> Result<(), Violation> {
        check_grant(self.name, self.role, target, granted)
    }
}

/// Who must sign `op`, the one rule for [`LogState::signer_of`] and the batch
/// verifier's prediction: the first operation of a log (`genesis`), by the
/// owner it names; a join, by the card it carries, when its author is not a
/// member; anything else by the author's key as a member (`member_key`),
/// and no one if they are not a member.
pub(crate) fn signer_rule(
    op: &Operation,
    genesis: bool,
    member_key: Option<VerifyingKey>,
) -> Option<VerifyingKey> {
    match &op.body {
        Body::Create { owner, .. } => {
            (genesis && owner.handle() == op.author).then(|| *owner.signing_key())
        }
        Body::Join { card, .. } if card.handle() == op.author && member_key.is_none() => {
            Some(*card.signing_key())
        }
        _ => member_key,
    }
}
