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
    /// The author accepts the share that added them.
    pub(super) fn accept(&mut self, op: &Draft<'_>, dry: bool) -> Result<EventKind, Violation> {
        if !dry && let Some(m) = self.members.get_mut(op.author) {
            m.accepted_at = Some(op.time);
        }
        Ok(EventKind::Accepted)
    }

    /// The author leaves (or declines); the key must rotate before new writes.
    pub(super) fn leave(&mut self, actor: Actor<'_>, dry: bool) -> Result<EventKind, Violation> {
        if !dry {
            self.remove_member(actor.name);
            self.stale = true;
        }
        Ok(EventKind::Left)
    }

    /// New members, each with the current key wrapped to them.
    pub(super) fn share(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        epoch: u64,
        grants: &[Grant],
        dry: bool,
    ) -> Result<EventKind, Violation> {
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
        if dry {
            return Ok(EventKind::Accepted);
        }
        let mut added = Vec::with_capacity(grants.len());
        for g in grants {
            added.push((g.card.handle().to_owned(), g.role));
            self.insert_member(
                g.card.handle().to_owned(),
                Member {
                    card: g.card.clone(),
                    role: g.role,
                    added_by: actor.name.to_owned(),
                    added_at: op.time,
                    accepted_at: None,
                    key: Some((epoch, g.wrap.clone())),
                    joined_via: None,
                    approved_by: None,
                },
            );
        }
        Ok(EventKind::Shared(added))
    }

    /// A member's new role, below the author's and never owner.
    pub(super) fn change_role(
        &mut self,
        actor: Actor<'_>,
        member: &str,
        new: Role,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        let current = self.managed_member(actor, member)?;
        actor.may_grant(member, new)?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        if let Some(m) = self.members.get_mut(member) {
            m.role = new;
        }
        Ok(EventKind::RoleChanged {
            member: member.to_owned(),
            from: current,
            to: new,
        })
    }

    /// Members removed, and the key rotated to everyone who stays.
    pub(super) fn remove(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        members: &[String],
        rotation: &Rotation,
        dry: bool,
    ) -> Result<EventKind, Violation> {
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
        self.check_rotation(op, rotation, &|h| !seen.contains(h), &[])?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        for member in members {
            self.remove_member(member);
        }
        self.start_epoch(rotation, op.seq);
        Ok(EventKind::Removed {
            members: members.to_vec(),
            epoch: rotation.epoch,
        })
    }

    /// Everyone but the owner removed, every link and invitation ended, and the
    /// key rotated to the owner alone.
    pub(super) fn unshare(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        rotation: &Rotation,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        let owner = self.owner.clone();
        let every_link: Vec<LinkId> = self.open_links.iter().copied().collect();
        self.check_rotation(op, rotation, &|h| h == owner, &every_link)?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        for l in std::mem::take(&mut self.open_links) {
            if let Some(rec) = self.links.get_mut(&l) {
                rec.revoked = Some((actor.name.to_owned(), op.time));
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
        Ok(EventKind::Unshared {
            removed,
            epoch: rotation.epoch,
        })
    }

    /// Ownership passes to a member who accepted and holds the key; the old
    /// owner becomes an admin.
    pub(super) fn transfer(
        &mut self,
        actor: Actor<'_>,
        to: &str,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        // Ownership goes only to an accepted member who holds the key.
        match self.standing(to) {
            Standing::Outsider => return Err(Violation::NoSuchMember(to.to_owned())),
            Standing::Pending(_) => {
                return Err(Violation::NotAccepted {
                    author: to.to_owned(),
                });
            }
            Standing::AwaitingApproval(_) => {
                return Err(Violation::AwaitsApproval(to.to_owned()));
            }
            Standing::Member(Role::Owner) => {
                return Err(Violation::AlreadyMember(to.to_owned()));
            }
            Standing::Member(_) => {}
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        if let Some(m) = self.members.get_mut(to) {
            m.role = Role::Owner;
        }
        if let Some(m) = self.members.get_mut(actor.name) {
            m.role = Role::Admin;
        }
        self.owner = to.to_owned();
        Ok(EventKind::Transferred { to: to.to_owned() })
    }

    /// A member who joined through a link that needs approval gets the key.
    pub(super) fn approve(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        member: &str,
        epoch: u64,
        wrap: &WrappedSecret,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        self.managed_member(actor, member)?;
        self.check_fresh_epoch(epoch, op.time)?;
        if !self
            .members
            .get(member)
            .is_some_and(Member::awaits_approval)
        {
            return Err(Violation::NotAwaitingApproval(member.to_owned()));
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        if let Some(m) = self.members.get_mut(member) {
            self.holders += usize::from(m.key.is_none());
            m.key = Some((epoch, wrap.clone()));
            m.approved_by = Some(actor.name.to_owned());
        }
        Ok(EventKind::Approved(member.to_owned()))
    }

    /// A handle with no card yet is invited at a role below the author's.
    pub(super) fn invite(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        handle: &str,
        invited: Role,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        actor.may_grant(handle, invited)?;
        if self.members.contains_key(handle) || self.invitations.contains_key(handle) {
            return Err(Violation::AlreadyMember(handle.to_owned()));
        }
        if self.members.len() + self.invitations.len() >= MAX_MEMBERS {
            return Err(Violation::Limit("too many members"));
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        self.invitations.insert(
            handle.to_owned(),
            Invitation {
                role: invited,
                invited_by: actor.name.to_owned(),
                invited_at: op.time,
            },
        );
        Ok(EventKind::Invited {
            handle: handle.to_owned(),
            role: invited,
        })
    }

    /// An invitation becomes a member once the invitee's card is known, with
    /// the current key wrapped to it.
    pub(super) fn complete_invite(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        epoch: u64,
        card: &Identity,
        wrap: &WrappedSecret,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        self.check_fresh_epoch(epoch, op.time)?;
        let handle = card.handle();
        let inv = self
            .invitations
            .get(handle)
            .ok_or_else(|| Violation::NoSuchInvitation(handle.to_owned()))?;
        actor.may_grant(handle, inv.role)?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        let Some(inv) = self.invitations.remove(handle) else {
            return Err(Violation::NoSuchInvitation(handle.to_owned()));
        };
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
        Ok(EventKind::InvitationCompleted(handle.to_owned()))
    }

    /// A pending invitation is withdrawn.
    pub(super) fn cancel_invite(
        &mut self,
        handle: &str,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        if !self.invitations.contains_key(handle) {
            return Err(Violation::NoSuchInvitation(handle.to_owned()));
        }
        if !dry {
            self.invitations.remove(handle);
        }
        Ok(EventKind::InvitationCancelled(handle.to_owned()))
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
