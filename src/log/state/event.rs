//! The verified history: one event per applied operation.

use std::sync::Arc;

use crate::log::op::{ItemId, ItemKind, LinkId};
use crate::log::rules::Role;

/// One verified event of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The operation's sequence number.
    pub seq: u64,
    /// Its claimed time.
    pub time: u64,
    /// Its author.
    pub author: Arc<str>,
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
