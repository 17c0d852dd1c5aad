//! A reference model of the log's rules, small enough to check by eye, and
//! [`check`], which drives a script through both the real verifier and the
//! model: they must agree on every accept and refusal, on which cell of the
//! authority table each operation falls in, on the exact refusal of the table
//! where it refuses, and on the state after every operation.
//!
//! The model is a second statement of the rules, written from SPEC.md and the
//! authority table's semantics (`src/log/authority.rs`), not from the
//! verifier's code:
//!
//! - Standing before role. An outsider may only found the collection (as
//!   operation 0) or join through an invite link; a member added by a share or
//!   an invitation who has not accepted may only accept or leave; one who joined
//!   through a link needing approval, and waits, may only leave; an accepted
//!   key-holding member may do what the roles table gives their role. The
//!   owner never leaves.
//! - One ceiling: a grant (share, invitation, its completion, change of role,
//!   an invite link and so each join through it) is strictly below the
//!   granter's role, and never owner. Members are managed (role changed,
//!   removed, approved) only below one's own role.
//! - Rotations: wrap the next epoch's key to exactly the key holders who stay,
//!   the signer among them, and seal it for exactly the live links that carry
//!   epoch keys. A rotation carrying anything but exactly the previous epoch's
//!   key is a recovery and needs an admin.
//! - Links are live while not revoked, not expired, not used up, and their
//!   creator is an accepted key holder who may manage links and (invite links)
//!   ranks strictly above the link's role. A removal's rotation treats the
//!   links of the removed as dead.
//! - New content (rename, share, items, completing an invitation, approving,
//!   a link's epoch key) uses the current epoch, and not while it is stale:
//!   someone left since it began, or a dead link holds its key.
//!
//! Not modelled, because scripts never build them: password links, public
//! links other than live ones, the size limits, handles that differ from the
//! card's.

use std::collections::{BTreeMap, BTreeSet};

use sealshare::internal::crypto::sign::VerifyingKey;
use sealshare::internal::crypto::x25519::is_low_order;
use sealshare::internal::log::link_terms::{LinkKeys, LinkKind, LinkTerms, PublicScope};
use sealshare::internal::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use sealshare::internal::log::{
    Action, Body, ItemHeader, LinkId, Request, Rotation, Standing, VerifyError,
};
use sealshare::{ItemId, ItemKind, LogState, Operation, Role, Violation};

use crate::actors::{self, Script};

/// Why the model refuses an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its time is earlier than the previous operation's (checked after the
    /// signer, before the table).
    TimeWentBack,
    /// The authority table refuses the signer at their standing: the exact
    /// violation the verifier must report.
    Table(Violation),
    /// The table allows it, but a rule of its kind refuses it: why.
    Rule(&'static str),
}

/// The model's verdict on one operation, with the cell of the authority
/// table it falls in.
#[derive(Clone, Debug)]
pub struct Judgement {
    /// What it asks (the table's row).
    pub request: Request,
    /// Where its signer stands just before it (the table's column).
    pub standing: Standing,
    /// Accepted, or why not.
    pub verdict: Result<(), Refusal>,
}

#[derive(Clone, Debug)]
struct Person {
    role: Role,
    accepted: bool,
    holds_key: bool,
}

#[derive(Clone, Debug)]
struct Link {
    creator: String,
    /// The role an invite link grants and whether joins need approval; `None`
    /// for a public link.
    invite: Option<(Role, bool)>,
    max_uses: u32,
    uses: u32,
    expires_at: u64,
    revoked: bool,
    carries_epoch_key: bool,
    /// The epoch whose key it holds now.
    key_of: Option<u64>,
    verifying_key: [u8; 32],
}

#[derive(Clone, Debug)]
struct Item {
    creator: String,
    folder: bool,
    trashed: bool,
    parent: Option<ItemId>,
    version: u32,
}

/// The model's state: who is in at which role, whether they accepted and hold
/// the key; invitations; the epoch and whether someone left since it began;
/// links; items; how many operations were accepted and the last time.
#[derive(Clone, Debug, Default)]
pub struct Model {
    accepted_ops: u64,
    time: u64,
    owner: String,
    members: BTreeMap<String, Person>,
    invitations: BTreeMap<String, Role>,
    epoch: u64,
    someone_left: bool,
    links: BTreeMap<LinkId, Link>,
    items: BTreeMap<ItemId, Item>,
    /// Ids purged: never live again.
    purged: BTreeSet<ItemId>,
}

/// The roles table: the lowest role that may do `action`.
fn lowest_role(action: Action) -> Role {
    match action {
        Action::Read => Role::Viewer,
        Action::AddItem | Action::EditOwnItem | Action::RotateKey => Role::Collaborator,
        Action::EditAnyItem | Action::Rename => Role::Editor,
        Action::Purge | Action::ManageMembers | Action::ManageLinks | Action::RecoverKey => {
            Role::Admin
        }
        Action::TransferOwnership | Action::Unshare => Role::Owner,
    }
}

/// The authority table: whether a signer standing at `standing` may make `request`.
fn table(request: Request, standing: Standing, author: &str) -> Result<(), Violation> {
    let who = author.to_owned();
    let refuse = |v| Err(v);
    match (request, standing) {
        (Request::Create, Standing::Outsider) | (Request::Join, Standing::Outsider) => Ok(()),
        (Request::Create, _) => refuse(Violation::Genesis),
        (Request::Join, _) => refuse(Violation::AlreadyMember(who)),
        (_, Standing::Outsider) => refuse(Violation::NotAMember { author: who }),
        (Request::Accept, Standing::Pending(_)) => Ok(()),
        (Request::Accept, _) => refuse(Violation::AlreadyAccepted(who)),
        (Request::Leave, Standing::Member(Role::Owner)) => refuse(Violation::OwnerCannotLeave),
        (Request::Leave, _) => Ok(()),
        (Request::Act(_), Standing::Pending(_)) => refuse(Violation::NotAccepted { author: who }),
        (Request::Act(_), Standing::AwaitingApproval(_)) => refuse(Violation::AwaitsApproval(who)),
        (Request::Act(action), Standing::Member(role)) if role >= lowest_role(action) => Ok(()),
        (Request::Act(action), Standing::Member(role)) => refuse(Violation::RoleTooLow {
            author: who,
            role,
            action,
        }),
    }
}

fn ensure(ok: bool, why: &'static str) -> Result<(), &'static str> {
    if ok { Ok(()) } else { Err(why) }
}

/// The one ceiling of every grant.
fn grantable(granter: Role, granted: Role) -> Result<(), &'static str> {
    ensure(
        granted != Role::Owner,
        "the owner role passes only by transfer",
    )?;
    ensure(
        granted < granter,
        "a grant is strictly below the granter's role",
    )
}

/// An ordinary rotation carries exactly the key of the epoch before its own.
fn ordinary(r: &Rotation) -> bool {
    matches!(r.previous_keys.as_slice(), [(e, _)] if e + 1 == r.epoch)
}

impl Model {
    /// The model before operation 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `handle` stands.
    pub fn standing(&self, handle: &str) -> Standing {
        match self.members.get(handle) {
            None => Standing::Outsider,
            Some(p) if !p.accepted => Standing::Pending(p.role),
            Some(p) if !p.holds_key => Standing::AwaitingApproval(p.role),
            Some(p) => Standing::Member(p.role),
        }
    }

    /// What `op` asks, as a row of the authority table.
    pub fn request(&self, op: &Operation) -> Request {
        // Acting on a folder that holds items (trash, restore, move) acts on
        // all of them: someone else's item's right, even for its creator.
        let holds_items = |id: &ItemId| self.items.values().any(|i| i.parent == Some(*id));
        let edit = |id: &ItemId, on_contents: bool| match self.items.get(id) {
            Some(item) if item.creator != op.author() => Action::EditAnyItem,
            Some(_) if on_contents && holds_items(id) => Action::EditAnyItem,
            _ => Action::EditOwnItem,
        };
        Request::Act(match op.body() {
            Body::Create { .. } => return Request::Create,
            Body::Join { .. } => return Request::Join,
            Body::Accept => return Request::Accept,
            Body::Leave => return Request::Leave,
            Body::Rename { .. } => Action::Rename,
            Body::Share { .. }
            | Body::ChangeRole { .. }
            | Body::Remove { .. }
            | Body::Approve { .. }
            | Body::Invite { .. }
            | Body::CompleteInvite { .. }
            | Body::CancelInvite { .. } => Action::ManageMembers,
            Body::Unshare { .. } => Action::Unshare,
            Body::Transfer { .. } => Action::TransferOwnership,
            Body::Rotate { rotation } if ordinary(rotation) => Action::RotateKey,
            Body::Rotate { .. } => Action::RecoverKey,
            Body::PutItem(h) if !self.items.contains_key(&h.item) => Action::AddItem,
            Body::PutItem(h) => {
                let moves = self
                    .items
                    .get(&h.item)
                    .is_some_and(|i| i.parent != h.parent);
                edit(&h.item, moves)
            }
            Body::Trash { item } | Body::Restore { item } => edit(item, true),
            Body::Purge { .. } => Action::Purge,
            Body::CreateLink(_) | Body::RevokeLinks { .. } => Action::ManageLinks,
            _ => Action::Read,
        })
    }

    /// Whether `l`'s creator still may grant what it grants.
    fn creator_may_grant(&self, l: &Link) -> bool {
        match self.standing(&l.creator) {
            Standing::Member(r) => {
                r >= lowest_role(Action::ManageLinks)
                    && l.invite.is_none_or(|(granted, _)| granted < r)
            }
            _ => false,
        }
    }

    /// Whether link `id` can be used at `time`, once the members `keep` drops are gone.
    pub fn link_live(&self, id: &LinkId, time: u64, keep: &dyn Fn(&str) -> bool) -> bool {
        let Some(l) = self.links.get(id) else {
            return false;
        };
        let creator_may_grant = keep(&l.creator) && self.creator_may_grant(l);
        !l.revoked
            && time <= l.expires_at
            && (l.max_uses == 0 || l.uses < l.max_uses)
            && creator_may_grant
    }

    /// Whether new content at `time` needs a rotation first.
    pub fn stale(&self, time: u64) -> bool {
        self.someone_left
            || self
                .links
                .iter()
                .any(|(id, l)| l.key_of == Some(self.epoch) && !self.link_live(id, time, &|_| true))
    }

    /// Judges `op` and, if the rules allow it, applies it.
    pub fn judge(&mut self, op: &Operation) -> Judgement {
        let standing = self.standing(op.author());
        let request = self.request(op);
        let verdict = self.decide(op, request, standing).map(|next| *self = next);
        Judgement {
            request,
            standing,
            verdict,
        }
    }

    /// The state after `op`, or why there is none. In SPEC.md's order: the
    /// signer (only operation 0 creates; outsiders sign only joins), the
    /// time, the authority table, then the rules of the operation's kind.
    fn decide(
        &self,
        op: &Operation,
        request: Request,
        standing: Standing,
    ) -> Result<Self, Refusal> {
        let author = op.author();
        if (request == Request::Create) != (self.accepted_ops == 0) {
            return Err(match standing {
                Standing::Outsider => Refusal::Rule("only operation 0 creates, and it must"),
                _ => Refusal::Table(Violation::Genesis),
            });
        }
        if standing == Standing::Outsider && request != Request::Join && request != Request::Create
        {
            return Err(Refusal::Table(Violation::NotAMember {
                author: author.to_owned(),
            }));
        }
        if op.time() < self.time {
            return Err(Refusal::TimeWentBack);
        }
        table(request, standing, author).map_err(Refusal::Table)?;
        let mut next = self.clone();
        next.accepted_ops += 1;
        next.time = op.time();
        next.rules(op).map_err(Refusal::Rule)?;
        if matches!(
            op.body(),
            Body::ChangeRole { .. } | Body::Remove { .. } | Body::Leave | Body::Transfer { .. }
        ) {
            // A link whose creator can no longer grant it ends for good.
            let lapsed: Vec<LinkId> = (next.links.keys())
                .filter(|id| !next.links[*id].revoked && !next.creator_may_grant(&next.links[*id]))
                .copied()
                .collect();
            for id in lapsed {
                if let Some(l) = next.links.get_mut(&id) {
                    l.revoked = true;
                }
            }
        }
        Ok(next)
    }

    fn person(&mut self, handle: &str) -> Result<&mut Person, &'static str> {
        self.members.get_mut(handle).ok_or("no such member")
    }

    /// `handle` is a member strictly below `role` (to be managed).
    fn below(&self, role: Role, handle: &str) -> Result<(), &'static str> {
        let p = self.members.get(handle).ok_or("no such member")?;
        ensure(
            p.role < role,
            "only members below one's own role are managed",
        )
    }

    /// New content must use the current, fresh epoch.
    fn fresh(&self, epoch: u64, time: u64) -> Result<(), &'static str> {
        ensure(epoch == self.epoch, "not the current epoch")?;
        ensure(!self.stale(time), "the epoch is stale: rotate first")
    }

    /// The rules of `op`'s kind, applied to `self` (a copy, dropped on refusal).
    fn rules(&mut self, op: &Operation) -> Result<(), &'static str> {
        let me = op.author().to_owned();
        let time = op.time();
        let my_role = self.members.get(&me).map_or(Role::Viewer, |p| p.role);
        match op.body() {
            Body::Create { .. } => {
                self.owner = me.clone();
                self.members.insert(me, Person::holding(Role::Owner));
            }
            Body::Accept => self.person(&me)?.accepted = true,
            Body::Leave => {
                self.members.remove(&me);
                self.someone_left = true;
            }
            Body::Rename { epoch, .. } => self.fresh(*epoch, time)?,
            Body::Share { epoch, grants } => {
                self.fresh(*epoch, time)?;
                ensure(!grants.is_empty(), "a share adds someone")?;
                for g in grants {
                    let h = g.card.handle();
                    ensure(
                        !self.members.contains_key(h) && !self.invitations.contains_key(h),
                        "already a member or invited",
                    )?;
                    grantable(my_role, g.role)?;
                    self.members.insert(h.to_owned(), Person::pending(g.role));
                }
            }
            Body::ChangeRole { member, role } => {
                self.below(my_role, member)?;
                grantable(my_role, *role)?;
                self.person(member)?.role = *role;
            }
            Body::Remove { members, rotation } => {
                ensure(!members.is_empty(), "a removal names someone")?;
                let mut gone = BTreeSet::new();
                for m in members {
                    self.below(my_role, m)?;
                    ensure(gone.insert(m.as_str()), "a member named twice")?;
                }
                self.check_rotation(op, rotation, &|h| !gone.contains(h), &[])?;
                for m in members {
                    self.members.remove(m);
                }
                self.start_epoch(rotation);
            }
            Body::Unshare { rotation } => {
                let owner = self.owner.clone();
                let every: Vec<LinkId> = self.links.keys().copied().collect();
                self.check_rotation(op, rotation, &|h| h == owner, &every)?;
                for l in self.links.values_mut() {
                    l.revoked = true;
                }
                self.invitations.clear();
                self.members.retain(|h, _| *h == owner);
                self.start_epoch(rotation);
            }
            Body::Transfer { to } => {
                ensure(
                    matches!(self.standing(to), Standing::Member(r) if r != Role::Owner),
                    "ownership goes to another accepted key holder",
                )?;
                self.person(to)?.role = Role::Owner;
                self.person(&me)?.role = Role::Admin;
                self.owner = to.clone();
            }
            Body::Rotate { rotation } => {
                self.check_rotation(op, rotation, &|_| true, &[])?;
                self.start_epoch(rotation);
            }
            Body::Approve { member, epoch, .. } => {
                self.below(my_role, member)?;
                self.fresh(*epoch, time)?;
                let p = self.person(member)?;
                ensure(!p.holds_key, "not awaiting approval")?;
                p.holds_key = true;
            }
            Body::Invite { handle, role } => {
                grantable(my_role, *role)?;
                ensure(
                    !self.members.contains_key(handle) && !self.invitations.contains_key(handle),
                    "already a member or invited",
                )?;
                self.invitations.insert(handle.clone(), *role);
            }
            Body::CompleteInvite { epoch, card, .. } => {
                self.fresh(*epoch, time)?;
                let role = self
                    .invitations
                    .remove(card.handle())
                    .ok_or("no such invitation")?;
                grantable(my_role, role)?;
                self.members
                    .insert(card.handle().to_owned(), Person::pending(role));
            }
            Body::CancelInvite { handle } => {
                self.invitations
                    .remove(handle)
                    .ok_or("no such invitation")?;
            }
            Body::PutItem(header) => self.put_item(&me, header, time)?,
            Body::Trash { item } | Body::Restore { item } => {
                let trash = matches!(op.body(), Body::Trash { .. });
                let it = self.items.get_mut(item).ok_or("no such item")?;
                ensure(it.trashed != trash, "already in (or out of) the trash")?;
                it.trashed = trash;
            }
            Body::Purge { item } => {
                let it = self.items.get(item).ok_or("no such item")?;
                ensure(it.trashed, "purges only from the trash")?;
                ensure(
                    !self.items.values().any(|i| i.parent == Some(*item)),
                    "a folder with items in it",
                )?;
                self.items.remove(item);
                self.purged.insert(*item);
            }
            Body::CreateLink(terms) => self.create_link(me, my_role, terms, time)?,
            Body::RevokeLinks { links, rotation } => {
                ensure(!links.is_empty(), "a revocation names a link")?;
                let mut seen = BTreeSet::new();
                let mut carries_key = false;
                for id in links {
                    let l = self.links.get(id).ok_or("no such link")?;
                    ensure(!l.revoked && seen.insert(*id), "revoked already")?;
                    carries_key |= l.carries_epoch_key;
                }
                match rotation {
                    None => ensure(
                        !carries_key,
                        "a link holding epoch keys is revoked by a rotation",
                    )?,
                    Some(r) => self.check_rotation(op, r, &|_| true, links)?,
                }
                for id in links {
                    if let Some(l) = self.links.get_mut(id) {
                        l.revoked = true;
                        l.key_of = None;
                    }
                }
                if let Some(r) = rotation {
                    self.start_epoch(r);
                }
            }
            Body::Join {
                link,
                role,
                card,
                proof,
                wrap,
            } => {
                let l = self.links.get(link).ok_or("no such link")?;
                let (granted, approval) = l.invite.ok_or("a public link admits no one")?;
                ensure(
                    self.link_live(link, time, &|_| true),
                    "the link is not live",
                )?;
                ensure(*role == granted, "a join claims exactly the link's role")?;
                let message = join_proof_message(&op.collection(), link, card, *role);
                let proven = VerifyingKey::from_bytes(&l.verifying_key)
                    .is_ok_and(|k| k.verify(JOIN_PROOF_DOMAIN, &message, proof).is_ok());
                ensure(proven, "the proof is not by the link's key")?;
                ensure(
                    wrap.is_some() != approval,
                    "a join carries a key exactly when the link needs no approval",
                )?;
                if wrap.is_some() {
                    ensure(
                        l.key_of == Some(self.epoch),
                        "the link holds no key of the current epoch",
                    )?;
                }
                self.invitations.remove(&me);
                if let Some(l) = self.links.get_mut(link) {
                    l.uses += 1;
                }
                let mut p = Person::holding(*role);
                p.holds_key = wrap.is_some();
                self.members.insert(me, p);
            }
            _ => return Err("a kind of operation the model does not know"),
        }
        Ok(())
    }

    /// A rotation starts the next epoch, wraps to exactly the key holders that
    /// `keep` keeps (the signer among them) and seals for exactly the live
    /// links carrying epoch keys (minus `revoking`).
    fn check_rotation(
        &self,
        op: &Operation,
        r: &Rotation,
        keep: &dyn Fn(&str) -> bool,
        revoking: &[LinkId],
    ) -> Result<(), &'static str> {
        ensure(r.epoch == self.epoch + 1, "not the next epoch")?;
        let wrapped: BTreeSet<&str> = r.wraps.iter().map(|(h, _)| h.as_str()).collect();
        let holders: BTreeSet<&str> = (self.members.iter())
            .filter(|(h, p)| p.holds_key && keep(h))
            .map(|(h, _)| h.as_str())
            .collect();
        ensure(
            wrapped.len() == r.wraps.len() && wrapped == holders,
            "wraps to exactly the key holders who stay",
        )?;
        ensure(
            wrapped.contains(op.author()),
            "the signer keeps the key it picks",
        )?;
        let sealed: BTreeSet<LinkId> = r.links.iter().map(|(l, _)| *l).collect();
        let live: BTreeSet<LinkId> = (self.links.iter())
            .filter(|(id, l)| {
                l.carries_epoch_key && !revoking.contains(id) && self.link_live(id, op.time(), keep)
            })
            .map(|(id, _)| *id)
            .collect();
        ensure(
            sealed.len() == r.links.len() && sealed == live,
            "seals for exactly the live links that carry epoch keys",
        )
    }

    fn start_epoch(&mut self, r: &Rotation) {
        self.epoch += 1;
        for (h, _) in &r.wraps {
            if let Some(p) = self.members.get_mut(h) {
                p.holds_key = true;
            }
        }
        for l in self.links.values_mut() {
            l.key_of = None;
        }
        for (id, _) in &r.links {
            if let Some(l) = self.links.get_mut(id) {
                l.key_of = Some(self.epoch);
            }
        }
        self.someone_left = false;
    }

    fn put_item(&mut self, me: &str, h: &ItemHeader, time: u64) -> Result<(), &'static str> {
        let folder = h.kind == ItemKind::Folder;
        ensure(
            h.content.is_some() != folder,
            "files have content, folders none",
        )?;
        ensure(
            !self.purged.contains(&h.item),
            "a purged item never comes back",
        )?;
        let creator = match self.items.get(&h.item) {
            None => {
                ensure(h.version == 1, "a new item starts at version 1")?;
                me.to_owned()
            }
            Some(it) => {
                ensure(h.version == it.version + 1, "not the next version")?;
                ensure(it.folder == folder, "an item keeps its kind")?;
                ensure(!it.trashed, "the item is in the trash")?;
                it.creator.clone()
            }
        };
        if let Some(p) = h.parent {
            let parent = self.items.get(&p).ok_or("no such folder")?;
            ensure(parent.folder && !parent.trashed, "not a live folder")?;
            let mut up = Some(p);
            for _ in 0..=self.items.len() {
                let Some(id) = up else { break };
                ensure(id != h.item, "a folder cannot be inside itself")?;
                up = self.items.get(&id).and_then(|i| i.parent);
            }
        }
        self.fresh(h.epoch, time)?;
        self.items.insert(
            h.item,
            Item {
                creator,
                folder,
                trashed: false,
                parent: h.parent,
                version: h.version,
            },
        );
        Ok(())
    }

    fn create_link(
        &mut self,
        me: String,
        my_role: Role,
        terms: &LinkTerms,
        time: u64,
    ) -> Result<(), &'static str> {
        ensure(
            !self.links.contains_key(&terms.link),
            "a link with this id exists",
        )?;
        ensure(terms.expires_at >= time, "it expires before it is made")?;
        ensure(
            VerifyingKey::from_bytes(&terms.verifying_key).is_ok() && !is_low_order(&terms.kem_key),
            "unusable link keys",
        )?;
        let (invite, max_uses, wants_key) = match terms.kind {
            LinkKind::Invite {
                role,
                max_uses,
                approval,
            } => {
                grantable(my_role, role)?;
                ensure(terms.password.is_none(), "invite links take no password")?;
                (Some((role, approval)), max_uses, !approval)
            }
            LinkKind::Public { scope, .. } => (None, 0, scope == PublicScope::Live),
        };
        let key_of = match (&terms.keys, wants_key) {
            (LinkKeys::Epoch { epoch, .. }, true) => {
                self.fresh(*epoch, time)?;
                Some(*epoch)
            }
            (LinkKeys::None, false) if invite.is_some() => None,
            (LinkKeys::Items { .. }, false) if invite.is_none() => None,
            _ => return Err("the key material does not fit the link"),
        };
        self.links.insert(
            terms.link,
            Link {
                creator: me,
                invite,
                max_uses,
                uses: 0,
                expires_at: terms.expires_at,
                revoked: false,
                carries_epoch_key: key_of.is_some(),
                key_of,
                verifying_key: terms.verifying_key,
            },
        );
        Ok(())
    }

    /// Where the verifier's state differs from the model's, if it does: every
    /// actor's standing, the owner, the epoch, the invitations, every link's
    /// liveness, uses and key, every item, and staleness at the last time.
    pub fn differs_from(&self, state: &LogState) -> Option<String> {
        let t = self.time;
        for i in 0..actors::ACTORS {
            let h = actors::handle(i);
            if self.standing(&h) != state.standing(&h) {
                return Some(format!(
                    "{h} stands {:?} in the model, {:?} in the verifier",
                    self.standing(&h),
                    state.standing(&h)
                ));
            }
        }
        let invitations: BTreeMap<String, Role> = (state.invitations().iter())
            .map(|(h, inv)| (h.clone(), inv.role))
            .collect();
        if self.owner != state.owner()
            || self.epoch != state.epoch()
            || t != state.last_time()
            || invitations != self.invitations
        {
            return Some(format!(
                "owner, epoch, time or invitations: model {:?} {} {} {:?}, verifier {:?} {} {} {invitations:?}",
                self.owner,
                self.epoch,
                t,
                self.invitations,
                state.owner(),
                state.epoch(),
                state.last_time(),
            ));
        }
        for i in 0..actors::LINKS as u8 {
            let id = actors::link(i);
            let model = self.links.get(&id).map(|l| {
                (
                    self.link_live(&id, t, &|_| true),
                    l.uses,
                    l.revoked,
                    l.key_of,
                )
            });
            let real = state.links().get(&id).map(|l| {
                let key_of = l.epoch_key.as_ref().map(|(e, _)| *e);
                (
                    state.link_is_live(&id, t),
                    l.joins.len() as u32,
                    l.revoked.is_some(),
                    key_of,
                )
            });
            if model != real {
                return Some(format!(
                    "link {i} (live, uses, revoked, key of): model {model:?}, verifier {real:?}"
                ));
            }
        }
        let items: BTreeMap<ItemId, _> = (self.items.iter())
            .map(|(id, i)| (*id, (i.creator.clone(), i.version, i.trashed, i.parent)))
            .collect();
        let real: BTreeMap<ItemId, _> = (state.items().iter())
            .map(|(id, r)| {
                let h = &r.latest.header;
                (
                    *id,
                    (
                        r.creator.to_string(),
                        h.version,
                        r.trashed.is_some(),
                        h.parent,
                    ),
                )
            })
            .collect();
        if items != real {
            return Some("the items differ".to_owned());
        }
        if self.purged.iter().collect::<BTreeSet<_>>() != state.purged().iter().collect() {
            return Some("the purged ids differ".to_owned());
        }
        if self.stale(t) != state.needs_rotation_at(t) {
            return Some(format!(
                "stale at {t}: model {}, verifier {}",
                self.stale(t),
                state.needs_rotation_at(t)
            ));
        }
        None
    }
}

impl Person {
    fn pending(role: Role) -> Self {
        Self {
            role,
            accepted: false,
            holds_key: true,
        }
    }
    fn holding(role: Role) -> Self {
        Self {
            role,
            accepted: true,
            holds_key: true,
        }
    }
}

/// One operation of a checked script, with the cell of the authority table
/// and the verdict the verifier and the model agreed on.
#[derive(Debug)]
pub struct Checked {
    /// The operation (operation 0 included).
    pub op: Operation,
    /// The model's judgement (its request and standing are the verifier's too).
    pub judgement: Judgement,
}

/// A script as checked: every operation tried, and the log of those accepted.
#[derive(Debug, Default)]
pub struct Run {
    /// Every operation built, in order, each on the accepted ones before it.
    pub checked: Vec<Checked>,
    /// The accepted operations: a valid log.
    pub log: Vec<Operation>,
}

/// Builds `script`'s operations (after the genesis; each on the verifier's
/// state so far, refused ones left out of it) and checks each against the
/// verifier and the model: the same verdict, the same cell of the authority
/// table, the table's exact violation where it refuses (and the time's where
/// the time went back), a body that decodes to itself, and the same state
/// after. Says how they disagree, if they do.
pub fn check(script: &Script) -> Result<Run, String> {
    let mut state = LogState::empty(actors::COLLECTION);
    let mut model = Model::new();
    let mut run = Run::default();
    let steps = script.steps.iter().take(actors::MAX_STEPS);
    for (i, step) in std::iter::once(None).chain(steps.map(Some)).enumerate() {
        let op = match step {
            None => actors::genesis(),
            Some(step) => actors::sign(&state, step),
        };
        let fail = |what: String| {
            format!(
                "step {i} ({step:?}, by {}, at {}): {what}\nscript: {:?}",
                op.author(),
                op.time(),
                script.steps
            )
        };
        if Operation::from_bytes(op.to_bytes()).as_ref() != Ok(&op) {
            return Err(fail("the body is not well formed".into()));
        }
        let (request, standing) = (state.request_of(&op), state.standing(op.author()));
        let drafted = state.check_draft(op.author(), op.time(), op.body());
        let mut trial = state.clone();
        let real = trial.extend(std::slice::from_ref(&op), actors::NOW);
        // A client's check of its own request before signing it gives the
        // verifier's verdict on everything the signature and the position do
        // not decide.
        // (A time earlier than the head's is refused first there, the
        // verifier looks up the signer first.)
        let draft_agrees = match &real {
            _ if op.time() < state.last_time() => {
                matches!(drafted, Err(Violation::TimeWentBackwards { .. }))
            }
            Ok(()) => drafted.is_ok(),
            Err(VerifyError::InvalidOperation { violation, .. }) => match violation {
                Violation::BadSignature { .. }
                | Violation::WrongSequence { .. }
                | Violation::BrokenChain
                | Violation::WrongCollection
                | Violation::Malformed(_) => true,
                rule => drafted.as_ref().err() == Some(rule),
            },
            Err(_) => true,
        };
        if !draft_agrees {
            return Err(fail(format!(
                "verifier says {real:?}, the check before signing {drafted:?}"
            )));
        }
        let judgement = model.judge(&op);
        if (request, standing) != (judgement.request, judgement.standing) {
            return Err(fail(format!(
                "cell: verifier {request:?} by {standing:?}, model {:?} by {:?}",
                judgement.request, judgement.standing
            )));
        }
        let agree = match (&real, &judgement.verdict) {
            (Ok(()), Ok(())) => true,
            (Err(VerifyError::InvalidOperation { violation, .. }), Err(Refusal::Table(v))) => {
                violation == v
            }
            (Err(VerifyError::InvalidOperation { violation, .. }), Err(Refusal::TimeWentBack)) => {
                matches!(violation, Violation::TimeWentBackwards { .. })
            }
            (Err(_), Err(Refusal::Rule(_))) => true,
            _ => false,
        };
        if !agree {
            return Err(fail(format!(
                "verifier says {real:?}, model says {:?}",
                judgement.verdict
            )));
        }
        if real.is_ok() {
            state = trial;
            run.log.push(op.clone());
        }
        if let Some(why) = model.differs_from(&state) {
            return Err(fail(format!("after it, {why}")));
        }
        run.checked.push(Checked { op, judgement });
    }
    Ok(run)
}
