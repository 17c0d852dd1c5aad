//! The state a log replays to, and the check of each operation against the state
//! just before it. Nothing here needs a secret key.
//!
//! Each kind of operation is checked in the module of its concept: `members`
//! (sharing, roles, invitations, joins' approval), `links`, `epochs` (rotation
//! and the freshness of the key new writes use) and `items`. Each kind's rule
//! is a check that reads the state and returns what it decided (a `Plan`),
//! and an apply that cannot fail and runs only once every check passed: a
//! refused operation leaves the state as it was, and [`LogState::check`] and
//! [`LogState::check_draft`] run the checks alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::crypto::aead::SealedBox;
use crate::crypto::sign::VerifyingKey;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::authority::{Request, Standing, authorize, check_grant};
use crate::log::link::LinkTerms;
use crate::log::op::{
    Body, CollectionId, Grant, ItemHeader, ItemId, LinkId, OpHash, Operation, Rotation,
};
use crate::log::rules::{Action, Role, Violation};

mod epochs;
mod event;
mod items;
mod links;
mod members;
mod records;
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
    pub(crate) items: HashMap<ItemId, ItemRecord>,
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
    /// Every item, trashed ones included (purged ones are gone).
    pub fn items(&self) -> &HashMap<ItemId, ItemRecord> {
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

    /// The signer `author` may ask for `request` at all, at this point of the
    /// log: operation 0 and only it founds the collection, and the authority
    /// table ([`authorize`]) allows their standing to ask. Returns them with
    /// the role they hold now.
    fn admit<'a>(&self, author: &'a str, request: Request) -> Result<Actor<'a>, Violation> {
        if (request == Request::Create) != (self.next_seq == 0) {
            return Err(Violation::Genesis);
        }
        authorize(request, author, self.standing(author))?;
        Ok(Actor {
            name: author,
            role: self.members.get(author).map_or(Role::Viewer, |m| m.role),
        })
    }

    /// Checks `op` against this state, changing nothing, and returns what
    /// applying it does ([`LogState::apply_plan`]). Every check is here, so a
    /// refused operation leaves the state as it was.
    ///
    /// Whether the author may ask at all is decided first, once, by the
    /// authority table ([`LogState::admit`]); the per-kind checks then check
    /// only that the operation is consistent with the state.
    ///
    /// It borrows the state mutably for one query only: whether a folder's
    /// move closes a cycle, which the link-cut tree answers by restructuring
    /// its splay trees, never the folders it represents
    /// ([`FolderTree::contains`]). Every other check reads `&self`.
    fn check_op<'a>(&mut self, op: &Draft<'a>) -> Result<Plan<'a>, Violation> {
        let actor = self.admit(op.author, self.request(op.author, op.body))?;
        Ok(match op.body {
            Body::Create {
                owner,
                commitment,
                wrap,
                info,
            } => {
                self.check_create(op, owner)?;
                Plan::Create {
                    owner,
                    commitment,
                    wrap,
                    info,
                }
            }
            Body::Join {
                link,
                role,
                card,
                proof,
                wrap,
            } => Plan::Join {
                key: self.check_join(op, *link, *role, card, proof, wrap.as_ref())?,
                link: *link,
                role: *role,
                card,
            },
            Body::Accept => Plan::Accept,
            Body::Leave => Plan::Leave,
            Body::Rename { epoch, info } => {
                self.check_fresh_epoch(*epoch, op.time)?;
                Plan::Rename {
                    epoch: *epoch,
                    info,
                }
            }
            Body::Share { epoch, grants } => {
                self.check_share(op, actor, *epoch, grants)?;
                Plan::Share {
                    epoch: *epoch,
                    grants,
                }
            }
            Body::ChangeRole { member, role } => Plan::ChangeRole {
                from: self.check_change_role(actor, member, *role)?,
                member,
                to: *role,
            },
            Body::Remove { members, rotation } => {
                self.check_remove(op, actor, members, rotation)?;
                Plan::Remove { members, rotation }
            }
            Body::Unshare { rotation } => {
                self.check_unshare(op, rotation)?;
                Plan::Unshare { rotation }
            }
            Body::Rotate { rotation } => {
                self.check_rotate(op, rotation)?;
                Plan::Rotate { rotation }
            }
            Body::Transfer { to } => {
                self.check_transfer(to)?;
                Plan::Transfer { to }
            }
            Body::Approve {
                member,
                epoch,
                wrap,
            } => {
                self.check_approve(op, actor, member, *epoch)?;
                Plan::Approve {
                    member,
                    epoch: *epoch,
                    wrap,
                }
            }
            Body::Invite { handle, role } => {
                self.check_invite(actor, handle, *role)?;
                Plan::Invite {
                    handle,
                    role: *role,
                }
            }
            Body::CompleteInvite { epoch, card, wrap } => {
                self.check_complete_invite(op, actor, *epoch, card)?;
                Plan::CompleteInvite {
                    epoch: *epoch,
                    card,
                    wrap,
                }
            }
            Body::CancelInvite { handle } => {
                self.check_cancel_invite(handle)?;
                Plan::CancelInvite { handle }
            }
            Body::PutItem(header) => Plan::PutItem {
                previous: self.check_put_item(op.time, &ItemShape::of(header))?,
                header,
            },
            Body::Trash { item } => {
                self.check_set_trashed(*item, true)?;
                Plan::SetTrashed {
                    item: *item,
                    trash: true,
                }
            }
            Body::Restore { item } => {
                self.check_set_trashed(*item, false)?;
                Plan::SetTrashed {
                    item: *item,
                    trash: false,
                }
            }
            Body::Purge { item } => {
                self.check_purge(*item)?;
                Plan::Purge { item: *item }
            }
            Body::CreateLink(terms) => {
                self.check_link_terms(op, actor.role, terms)?;
                Plan::CreateLink { terms }
            }
            Body::RevokeLinks { links, rotation } => {
                self.check_revoke_links(op, links, rotation.as_ref())?;
                Plan::RevokeLinks {
                    links,
                    rotation: rotation.as_ref(),
                }
            }
        })
    }

    /// Applies what [`LogState::check_op`] decided of `op`: cannot fail, and
    /// runs only after every check passed.
    fn apply_plan(&mut self, op: &Draft<'_>, plan: Plan<'_>) -> EventKind {
        match plan {
            Plan::Create {
                owner,
                commitment,
                wrap,
                info,
            } => self.apply_create(op, owner, commitment, wrap, info),
            Plan::Join {
                link,
                role,
                card,
                key,
            } => self.apply_join(op, link, role, card, key),
            Plan::Accept => self.apply_accept(op),
            Plan::Leave => self.apply_leave(op),
            Plan::Rename { epoch, info } => {
                self.info = Some((epoch, info.clone()));
                EventKind::Renamed
            }
            Plan::Share { epoch, grants } => self.apply_share(op, epoch, grants),
            Plan::ChangeRole { member, from, to } => self.apply_change_role(member, from, to),
            Plan::Remove { members, rotation } => self.apply_remove(op, members, rotation),
            Plan::Unshare { rotation } => self.apply_unshare(op, rotation),
            Plan::Rotate { rotation } => self.apply_rotate(op, rotation),
            Plan::Transfer { to } => self.apply_transfer(op, to),
            Plan::Approve {
                member,
                epoch,
                wrap,
            } => self.apply_approve(op, member, epoch, wrap),
            Plan::Invite { handle, role } => self.apply_invite(op, handle, role),
            Plan::CompleteInvite { epoch, card, wrap } => {
                self.apply_complete_invite(op, epoch, card, wrap)
            }
            Plan::CancelInvite { handle } => self.apply_cancel_invite(handle),
            Plan::PutItem { header, previous } => self.apply_put_item(op, header, previous),
            Plan::SetTrashed { item, trash } => self.apply_set_trashed(op, item, trash),
            Plan::Purge { item } => self.apply_purge(item),
            Plan::CreateLink { terms } => self.apply_create_link(op, terms),
            Plan::RevokeLinks { links, rotation } => self.apply_revoke_links(op, links, rotation),
        }
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

    /// Where `handle` stands just before the next operation.
    pub fn standing(&self, handle: &str) -> Standing {
        match self.members.get(handle) {
            None => Standing::Outsider,
            Some(m) if m.accepted_at.is_none() => Standing::Pending(m.role),
            Some(m) if m.key.is_none() => Standing::AwaitingApproval(m.role),
            Some(m) => Standing::Member(m.role),
        }
    }

    /// Whether `handle` appears in this collection: a member (the owner
    /// included), one added by a share or a completed invitation who has not
    /// accepted yet, one who joined through a link and awaits approval, or
    /// one invited by handle whose invitation is still open. Exactly the
    /// collections a server lists for a handle
    /// ([`crate::Remote::collections_of`]); one removed, who left, or whose
    /// invitation was cancelled does not appear.
    pub fn appears(&self, handle: &str) -> bool {
        self.members.contains_key(handle) || self.invitations.contains_key(handle)
    }

    /// Every handle that [`LogState::appears`] in this collection, each once,
    /// in no particular order (members first, then open invitations: a
    /// handle is never both).
    pub fn appearing(&self) -> impl Iterator<Item = &str> {
        self.members
            .keys()
            .chain(self.invitations.keys())
            .map(String::as_str)
    }

    /// Every handle whose [`LogState::appears`] `op` may change: its author
    /// and every handle its body names; for an unshare, everyone who appears
    /// (it removes every member but the owner and cancels every invitation).
    /// No other handle's standing changes with `op`. Every kind is named, so
    /// a new one must say what it changes.
    pub(crate) fn appearance_candidates(&self, op: &Operation) -> Vec<String> {
        let mut out = vec![op.author.clone()];
        match &op.body {
            Body::Create { owner, .. } => out.push(owner.handle().to_owned()),
            Body::Share { grants, .. } => {
                out.extend(grants.iter().map(|g| g.card.handle().to_owned()));
            }
            Body::Remove { members, .. } => out.extend(members.iter().cloned()),
            Body::Unshare { .. } => out.extend(self.appearing().map(str::to_owned)),
            Body::Join { card, .. } | Body::CompleteInvite { card, .. } => {
                out.push(card.handle().to_owned());
            }
            Body::Invite { handle, .. } | Body::CancelInvite { handle } => {
                out.push(handle.clone());
            }
            // Roles, approvals and transfers change a member's standing,
            // not whether they appear: named anyway, for a lookup each. The
            // rest touch no membership.
            Body::ChangeRole { member, .. } | Body::Approve { member, .. } => {
                out.push(member.clone());
            }
            Body::Transfer { to } => out.push(to.clone()),
            Body::Accept
            | Body::Leave
            | Body::Rename { .. }
            | Body::Rotate { .. }
            | Body::PutItem(_)
            | Body::Trash { .. }
            | Body::Restore { .. }
            | Body::Purge { .. }
            | Body::CreateLink(_)
            | Body::RevokeLinks { .. } => {}
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The authority table's row for `op`: what it asks to do. Item operations
    /// ask for the author's own items or anyone's, by the item's creator.
    pub fn request_of(&self, op: &Operation) -> Request {
        self.request(&op.author, &op.body)
    }

    /// The authority table's row for `body` signed by `author`.
    fn request(&self, author: &str, body: &Body) -> Request {
        let item =
            |id: &ItemId, on_contents| Request::Act(self.item_action(id, author, on_contents));
        match body {
            Body::Create { .. } => Request::Create,
            Body::Join { .. } => Request::Join,
            Body::Accept => Request::Accept,
            Body::Leave => Request::Leave,
            Body::Rename { .. } => Request::Act(Action::Rename),
            Body::Share { .. }
            | Body::ChangeRole { .. }
            | Body::Remove { .. }
            | Body::Approve { .. }
            | Body::Invite { .. }
            | Body::CompleteInvite { .. }
            | Body::CancelInvite { .. } => Request::Act(Action::ManageMembers),
            Body::Unshare { .. } => Request::Act(Action::Unshare),
            Body::Transfer { .. } => Request::Act(Action::TransferOwnership),
            Body::Rotate { rotation } if rotation.is_recovery() => Request::Act(Action::RecoverKey),
            Body::Rotate { .. } => Request::Act(Action::RotateKey),
            Body::PutItem(header) => self.put_request(author, &ItemShape::of(header)),
            Body::Trash { item: id } | Body::Restore { item: id } => item(id, true),
            Body::Purge { .. } => Request::Act(Action::Purge),
            Body::CreateLink(_) | Body::RevokeLinks { .. } => Request::Act(Action::ManageLinks),
        }
    }

    /// The authority table's row for a version of the shape `shape` signed by
    /// `author`: adding an item, or editing one (acting on its contents when
    /// the version moves it).
    fn put_request(&self, author: &str, shape: &ItemShape) -> Request {
        match self.items.get(&shape.item) {
            None => Request::Act(Action::AddItem),
            Some(rec) => {
                let moves = rec.latest.header.parent != shape.parent;
                Request::Act(self.item_action(&shape.item, author, moves))
            }
        }
    }

    /// Editing, trashing or restoring `item` needs [`Action::EditOwnItem`] for
    /// the item's creator and [`Action::EditAnyItem`] for anyone else. (A
    /// missing item asks for the least; the item rules then refuse it.)
    ///
    /// Acting `on_contents` of a folder that holds any item (trashing,
    /// restoring or moving it; purging needs Admin anyway) acts on everything
    /// inside, which may be other members' items: it needs EditAnyItem even
    /// from the folder's creator. Deliberately stricter than the role each item
    /// inside would need: that exact check would need, for every folder, who
    /// created anything below it, an aggregate to keep across moves; this one
    /// is O(1).
    fn item_action(&self, item: &ItemId, author: &str, on_contents: bool) -> Action {
        match self.items.get(item) {
            Some(rec) if rec.creator != author => Action::EditAnyItem,
            Some(rec) if on_contents && rec.children > 0 => Action::EditAnyItem,
            Some(_) | None => Action::EditOwnItem,
        }
    }

    /// Operation 0: the author founds the collection as its owner, holding epoch 0.
    fn check_create(&self, op: &Draft<'_>, owner: &Identity) -> Result<(), Violation> {
        if self.next_seq != 0 || owner.handle() != op.author {
            return Err(Violation::Genesis);
        }
        Ok(())
    }

    /// Applies a checked creation: the author is the owner and holds epoch 0.
    fn apply_create(
        &mut self,
        op: &Draft<'_>,
        owner: &Identity,
        commitment: &[u8; 32],
        wrap: &WrappedSecret,
        info: &SealedBox,
    ) -> EventKind {
        self.owner = op.author.to_owned();
        self.creator_key = owner.signing_key().to_bytes();
        self.insert_member(
            op.author.to_owned(),
            Member {
                card: owner.clone(),
                role: Role::Owner,
                added_by: op.author.to_owned(),
                added_at: op.time,
                accepted_at: Some(op.time),
                key: Some((0, wrap.clone())),
                joined_via: None,
                approved_by: None,
            },
        );
        self.epochs.push(Epoch {
            commitment: *commitment,
            previous_keys: Vec::new(),
            started_seq: op.seq,
        });
        self.info = Some((0, info.clone()));
        EventKind::Created
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

/// What the checks of one operation decided: the parts of its body its
/// apply changes the state with, and what the checks found out on the way.
/// Only [`LogState::check_op`] makes one, after every check passed, and only
/// [`LogState::apply_plan`] takes one: nothing is applied unchecked.
enum Plan<'a> {
    Create {
        owner: &'a Identity,
        commitment: &'a [u8; 32],
        wrap: &'a WrappedSecret,
        info: &'a SealedBox,
    },
    Join {
        link: LinkId,
        role: Role,
        card: &'a Identity,
        /// The key the joiner gets (the current epoch's), or none until an
        /// admin approves.
        key: Option<(u64, &'a WrappedSecret)>,
    },
    Accept,
    Leave,
    Rename {
        epoch: u64,
        info: &'a SealedBox,
    },
    Share {
        epoch: u64,
        grants: &'a [Grant],
    },
    ChangeRole {
        member: &'a str,
        /// The member's role before.
        from: Role,
        to: Role,
    },
    Remove {
        members: &'a [String],
        rotation: &'a Rotation,
    },
    Unshare {
        rotation: &'a Rotation,
    },
    Rotate {
        rotation: &'a Rotation,
    },
    Transfer {
        to: &'a str,
    },
    Approve {
        member: &'a str,
        epoch: u64,
        wrap: &'a WrappedSecret,
    },
    Invite {
        handle: &'a str,
        role: Role,
    },
    CompleteInvite {
        epoch: u64,
        card: &'a Identity,
        wrap: &'a WrappedSecret,
    },
    CancelInvite {
        handle: &'a str,
    },
    PutItem {
        header: &'a ItemHeader,
        /// The parent of the item's latest version, or `None` for a new item.
        previous: Option<Option<ItemId>>,
    },
    SetTrashed {
        item: ItemId,
        trash: bool,
    },
    Purge {
        item: ItemId,
    },
    CreateLink {
        terms: &'a LinkTerms,
    },
    RevokeLinks {
        links: &'a [LinkId],
        rotation: Option<&'a Rotation>,
    },
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
