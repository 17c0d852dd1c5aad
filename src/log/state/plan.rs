//! Checking an operation, then applying it: one check per kind of operation
//! returns what it decided (a [`Plan`]), and only then is it applied, which
//! cannot fail.

use super::{Draft, EventKind, ItemShape, LogState};
use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::link_terms::LinkTerms;
use crate::log::op::{Body, Grant, ItemHeader, ItemId, LinkId, Rotation};
use crate::log::rules::{Role, Violation};

impl LogState {
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
    /// ([`super::FolderTree::contains`]). Every other check reads `&self`.
    pub(super) fn check_op<'a>(&mut self, op: &Draft<'a>) -> Result<Plan<'a>, Violation> {
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
    pub(super) fn apply_plan(&mut self, op: &Draft<'_>, plan: Plan<'_>) -> EventKind {
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
}

/// What the checks of one operation decided: the parts of its body its
/// apply changes the state with, and what the checks found out on the way.
/// Only [`LogState::check_op`] makes one, after every check passed, and only
/// [`LogState::apply_plan`] takes one: nothing is applied unchecked.
pub(super) enum Plan<'a> {
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
