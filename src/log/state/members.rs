//! Membership: accepting and leaving, sharing, roles, removal, unsharing,
//! ownership, invitations by handle, and approving a join. A member may only
//! grant, change or remove roles below their own; the owner's role passes only
//! by transfer.

use std::collections::HashSet;

use super::{Actor, Draft, EventKind, Invitation, LogState, Member};
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::authority::Standing;
use crate::log::op::{Grant, LinkId, MAX_MEMBERS, Rotation};
use crate::log::rules::{Role, Violation};

impl LogState {
    /// The author accepts the share that added them. (Who may: the authority
    /// table; there is nothing else to check.)
    pub(super) fn apply_accept(&mut self, op: &Draft<'_>) -> EventKind {
        if let Some(m) = self.members.get_mut(op.author) {
            m.accepted_at = Some(op.time);
        }
        EventKind::Accepted
    }

    /// The author leaves (or declines); the key must rotate before new writes.
    /// (Who may: the authority table; there is nothing else to check.)
    pub(super) fn apply_leave(&mut self, op: &Draft<'_>) -> EventKind {
        self.remove_member(op.author);
        self.stale = true;
        EventKind::Left
    }

    /// New members, each with the current key wrapped to them.
    pub(super) fn check_share(
        &self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        epoch: u64,
        grants: &[Grant],
    ) -> Result<(), Violation> {
        self.check_fresh_epoch(epoch, op.time)?;
        if grants.is_empty() {
            return Err(Violation::EmptyList("member to share with"));
        }
        if self.members.len() + grants.len() > MAX_MEMBERS {
            return Err(Violation::Limit("too many members"));
        }
        let mut seen = HashSet::with_capacity(grants.len());
        for g in grants {
            let h = g.card.handle();
            if self.members.contains_key(h) || self.invitations.contains_key(h) || !seen.insert(h) {
                return Err(Violation::AlreadyMember(h.to_owned()));
            }
            actor.may_grant(h, g.role)?;
        }
        Ok(())
    }

    /// Applies a checked share: each new member, not accepted yet, with the key.
    pub(super) fn apply_share(
        &mut self,
        op: &Draft<'_>,
        epoch: u64,
        grants: &[Grant],
    ) -> EventKind {
        let mut added = Vec::with_capacity(grants.len());
        for g in grants {
            added.push((g.card.handle().to_owned(), g.role));
            self.insert_member(
                g.card.handle().to_owned(),
                Member {
                    card: g.card.clone(),
                    role: g.role,
                    added_by: op.author.to_owned(),
                    added_at: op.time,
                    accepted_at: None,
                    key: Some((epoch, g.wrap.clone())),
                    joined_via: None,
                    approved_by: None,
                },
            );
        }
        EventKind::Shared(added)
    }

    /// A member's new role, below the author's and never owner. Returns the
    /// member's current role.
    pub(super) fn check_change_role(
        &self,
        actor: Actor<'_>,
        member: &str,
        new: Role,
    ) -> Result<Role, Violation> {
        let current = self.managed_member(actor, member)?;
        actor.may_grant(member, new)?;
        Ok(current)
    }

    /// Applies a checked change of role, from `from` to `to`.
    pub(super) fn apply_change_role(&mut self, member: &str, from: Role, to: Role) -> EventKind {
        if let Some(m) = self.members.get_mut(member) {
            m.role = to;
        }
        EventKind::RoleChanged {
            member: member.to_owned(),
            from,
            to,
        }
    }

    /// Members removed, and the key rotated to everyone who stays.
    pub(super) fn check_remove(
        &self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        members: &[String],
        rotation: &Rotation,
    ) -> Result<(), Violation> {
        if members.is_empty() {
            return Err(Violation::EmptyList("member to remove"));
        }
        let mut seen = HashSet::with_capacity(members.len());
        for member in members {
            self.managed_member(actor, member)?;
            if !seen.insert(member.as_str()) {
                return Err(Violation::NamedTwice(format!("member {member:?}")));
            }
        }
        self.check_rotation(op, rotation, &|h| !seen.contains(h), &[])
    }

    /// Applies a checked removal: the members go and the next epoch starts.
    pub(super) fn apply_remove(
        &mut self,
        op: &Draft<'_>,
        members: &[String],
        rotation: &Rotation,
    ) -> EventKind {
        for member in members {
            self.remove_member(member);
        }
        self.start_epoch(rotation, op.seq);
        EventKind::Removed {
            members: members.to_vec(),
            epoch: rotation.epoch,
        }
    }

    /// Everyone but the owner removed, every link and invitation ended, and the
    /// key rotated to the owner alone.
    pub(super) fn check_unshare(
        &self,
        op: &Draft<'_>,
        rotation: &Rotation,
    ) -> Result<(), Violation> {
        let owner = self.owner.clone();
        let every_link: Vec<LinkId> = self.open_links.iter().copied().collect();
        self.check_rotation(op, rotation, &|h| h == owner, &every_link)
    }

    /// Applies a checked unshare: only the owner stays, every open link is
    /// revoked by the author, every invitation ends, and the next epoch starts.
    pub(super) fn apply_unshare(&mut self, op: &Draft<'_>, rotation: &Rotation) -> EventKind {
        let owner = self.owner.clone();
        for l in std::mem::take(&mut self.open_links) {
            if let Some(rec) = self.links.get_mut(&l) {
                rec.revoked = Some((op.author.to_owned(), op.time));
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
        self.holders = self.members.values().filter(|m| m.key.is_some()).count();
        self.start_epoch(rotation, op.seq);
        EventKind::Unshared {
            removed,
            epoch: rotation.epoch,
        }
    }

    /// Ownership passes to a member who accepted and holds the key; the old
    /// owner becomes an admin.
    pub(super) fn check_transfer(&self, to: &str) -> Result<(), Violation> {
        // Ownership goes only to an accepted member who holds the key.
        match self.standing(to) {
            Standing::Outsider => Err(Violation::NoSuchMember(to.to_owned())),
            Standing::Pending(_) => Err(Violation::NotAccepted {
                author: to.to_owned(),
            }),
            Standing::AwaitingApproval(_) => Err(Violation::AwaitsApproval(to.to_owned())),
            Standing::Member(Role::Owner) => Err(Violation::AlreadyMember(to.to_owned())),
            Standing::Member(_) => Ok(()),
        }
    }

    /// Applies a checked transfer: `to` is the owner, the author an admin.
    pub(super) fn apply_transfer(&mut self, op: &Draft<'_>, to: &str) -> EventKind {
        if let Some(m) = self.members.get_mut(to) {
            m.role = Role::Owner;
        }
        if let Some(m) = self.members.get_mut(op.author) {
            m.role = Role::Admin;
        }
        self.owner = to.to_owned();
        EventKind::Transferred { to: to.to_owned() }
    }

    /// A member who joined through a link that needs approval gets the key.
    pub(super) fn check_approve(
        &self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        member: &str,
        epoch: u64,
    ) -> Result<(), Violation> {
        self.managed_member(actor, member)?;
        self.check_fresh_epoch(epoch, op.time)?;
        if !self
            .members
            .get(member)
            .is_some_and(Member::awaits_approval)
        {
            return Err(Violation::NotAwaitingApproval(member.to_owned()));
        }
        Ok(())
    }

    /// Applies a checked approval: the member holds the key, approved by the
    /// author.
    pub(super) fn apply_approve(
        &mut self,
        op: &Draft<'_>,
        member: &str,
        epoch: u64,
        wrap: &WrappedSecret,
    ) -> EventKind {
        if let Some(m) = self.members.get_mut(member) {
            self.holders += usize::from(m.key.is_none());
            m.key = Some((epoch, wrap.clone()));
            m.approved_by = Some(op.author.to_owned());
        }
        EventKind::Approved(member.to_owned())
    }

    /// A handle with no card yet is invited at a role below the author's.
    pub(super) fn check_invite(
        &self,
        actor: Actor<'_>,
        handle: &str,
        invited: Role,
    ) -> Result<(), Violation> {
        actor.may_grant(handle, invited)?;
        if self.members.contains_key(handle) || self.invitations.contains_key(handle) {
            return Err(Violation::AlreadyMember(handle.to_owned()));
        }
        if self.members.len() + self.invitations.len() >= MAX_MEMBERS {
            return Err(Violation::Limit("too many members"));
        }
        Ok(())
    }

    /// Applies a checked invitation.
    pub(super) fn apply_invite(
        &mut self,
        op: &Draft<'_>,
        handle: &str,
        invited: Role,
    ) -> EventKind {
        self.invitations.insert(
            handle.to_owned(),
            Invitation {
                role: invited,
                invited_by: op.author.to_owned(),
                invited_at: op.time,
            },
        );
        EventKind::Invited {
            handle: handle.to_owned(),
            role: invited,
        }
    }

    /// An invitation becomes a member once the invitee's card is known, with
    /// the current key wrapped to it.
    pub(super) fn check_complete_invite(
        &self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        epoch: u64,
        card: &Identity,
    ) -> Result<(), Violation> {
        self.check_fresh_epoch(epoch, op.time)?;
        let handle = card.handle();
        let inv = self
            .invitations
            .get(handle)
            .ok_or_else(|| Violation::NoSuchInvitation(handle.to_owned()))?;
        actor.may_grant(handle, inv.role)
    }

    /// Applies a checked completion: the invitation becomes a member, not
    /// accepted yet, at the invited role and added by whoever invited them.
    pub(super) fn apply_complete_invite(
        &mut self,
        op: &Draft<'_>,
        epoch: u64,
        card: &Identity,
        wrap: &WrappedSecret,
    ) -> EventKind {
        let handle = card.handle();
        if let Some(inv) = self.invitations.remove(handle) {
            self.insert_member(
                handle.to_owned(),
                Member {
                    card: card.clone(),
                    role: inv.role,
                    added_by: inv.invited_by,
                    added_at: op.time,
                    accepted_at: None,
                    key: Some((epoch, wrap.clone())),
                    joined_via: None,
                    approved_by: None,
                },
            );
        }
        EventKind::InvitationCompleted(handle.to_owned())
    }

    /// A pending invitation is withdrawn.
    pub(super) fn check_cancel_invite(&self, handle: &str) -> Result<(), Violation> {
        if !self.invitations.contains_key(handle) {
            return Err(Violation::NoSuchInvitation(handle.to_owned()));
        }
        Ok(())
    }

    /// Applies a checked cancellation.
    pub(super) fn apply_cancel_invite(&mut self, handle: &str) -> EventKind {
        self.invitations.remove(handle);
        EventKind::InvitationCancelled(handle.to_owned())
    }

    /// The current role of `member`, if `actor` may manage them.
    pub(super) fn managed_member(&self, actor: Actor<'_>, member: &str) -> Result<Role, Violation> {
        let target = self
            .members
            .get(member)
            .ok_or_else(|| Violation::NoSuchMember(member.to_owned()))?;
        actor.outranks(member, target.role)?;
        Ok(target.role)
    }
}
