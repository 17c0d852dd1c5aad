//! What the replayed state holds about members, links, invitations, epochs and
//! items: plain records, built only from verified operations.

use std::sync::Arc;

use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::Identity;
use crate::log::link_terms::{LinkKind, LinkTerms};
use crate::log::op::{ItemHeader, ItemKind, LinkId};
use crate::log::rules::Role;

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
    /// Whether they hold the collection's key (every member but one waiting
    /// for approval of a join).
    pub fn holds_key(&self) -> bool {
        self.key.is_some()
    }

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
    /// Earlier epoch keys sealed under this one, by epoch (none for epoch 0;
    /// exactly the previous epoch's unless the rotation was a recovery).
    pub previous_keys: Vec<(u64, SealedBox)>,
    /// The operation that started it.
    pub started_seq: u64,
}

/// One version of an item, with who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemVersion {
    /// The signed header.
    pub header: ItemHeader,
    /// The author (verified: the operation's signer).
    pub author: Arc<str>,
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
    pub creator: Arc<str>,
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
