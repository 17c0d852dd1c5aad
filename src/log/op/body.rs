//! What an operation does: the body kinds, the item header, the rotation and the
//! grant, with their canonical encoding (SPEC.md §Operation).

use crate::crypto::Error as CryptoError;
use crate::crypto::aead::SealedBox;
use crate::crypto::sign::Signature;
use crate::crypto::stream::ContentDigest;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::{Identity, MAX_CARD_LEN, MAX_HANDLE_LEN};
use crate::log::link::LinkTerms;
use crate::log::rules::Role;
use crate::wire::{DecodeError, Reader, Writer};

use super::{ItemId, LinkId, MAX_LINKS, MAX_MEMBERS};

/// Whether an item is a folder or a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A folder (a sub-notebook): holds other items, has no content.
    Folder = 0,
    /// A file or note: has content.
    File = 1,
}

/// The signed public header of one version of an item. The author's signature on
/// the operation carrying it binds every field, with the collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemHeader {
    /// The item.
    pub item: ItemId,
    /// The version, from 1.
    pub version: u32,
    /// Folder or file.
    pub kind: ItemKind,
    /// The parent folder, or `None` at the top of the collection.
    pub parent: Option<ItemId>,
    /// The epoch whose key wraps this version's item key.
    pub epoch: u64,
    /// The item key, sealed under the epoch key.
    pub wrapped_key: SealedBox,
    /// The encrypted metadata (name, media type, size, times).
    pub metadata: SealedBox,
    /// The content's digest (files only).
    pub content: Option<ContentDigest>,
}

/// The most earlier epoch keys one rotation may carry.
pub const MAX_PREVIOUS_KEYS: usize = 65_536;

/// A fresh epoch: its key committed, wrapped to each remaining member, and
/// earlier epoch keys sealed under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// The new epoch number (the current one plus one).
    pub epoch: u64,
    /// The commitment to the new epoch key.
    pub commitment: [u8; 32],
    /// Earlier epoch keys sealed under the new one, by epoch, strictly
    /// ascending and all below `epoch`. An ordinary rotation carries exactly
    /// the previous epoch's key; a recovery (see [`Rotation::is_recovery`])
    /// carries every earlier key its signer holds and passes over the ones it
    /// cannot recover.
    pub previous_keys: Vec<(u64, SealedBox)>,
    /// The new key wrapped to each remaining member, by handle.
    pub wraps: Vec<(String, WrappedSecret)>,
    /// The new key wrapped to each live link that carries an epoch key.
    pub links: Vec<(LinkId, WrappedSecret)>,
}

/// One member added by a share: their card, role, and the current epoch key
/// wrapped to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The new member's card.
    pub card: Identity,
    /// Their role (never Owner).
    pub role: Role,
    /// The current epoch key wrapped to them.
    pub wrap: WrappedSecret,
}

/// What an operation does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
// Operations are transient (the state keeps what it needs), so the size of the
// rare `Create` variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    /// Creates the collection (always and only operation 0).
    Create {
        /// The owner's card (the author).
        owner: Identity,
        /// The commitment to the epoch-0 key.
        commitment: [u8; 32],
        /// The epoch-0 key wrapped to the owner.
        wrap: WrappedSecret,
        /// The encrypted name and description.
        info: SealedBox,
    },
    /// Sets the collection's encrypted name and description.
    Rename {
        /// The epoch whose key seals `info`.
        epoch: u64,
        /// The encrypted name and description.
        info: SealedBox,
    },
    /// Shares the collection with new members.
    Share {
        /// The epoch whose key is wrapped to them.
        epoch: u64,
        /// The new members.
        grants: Vec<Grant>,
    },
    /// The author accepts the share.
    Accept,
    /// Changes a member's role.
    ChangeRole {
        /// The member.
        member: String,
        /// The new role.
        role: Role,
    },
    /// Removes members and rotates the key.
    Remove {
        /// The members removed (at least one).
        members: Vec<String>,
        /// The new epoch.
        rotation: Rotation,
    },
    /// The author leaves (or declines the share).
    Leave,
    /// The owner removes every other member and rotates the key.
    Unshare {
        /// The new epoch, wrapped to the owner alone.
        rotation: Rotation,
    },
    /// The owner makes a member the owner and becomes an admin.
    Transfer {
        /// The new owner.
        to: String,
    },
    /// Starts a new epoch without membership change (after a leave).
    Rotate {
        /// The new epoch.
        rotation: Rotation,
    },
    /// Adds an item or a new version of one.
    PutItem(Box<ItemHeader>),
    /// Moves an item to the trash.
    Trash {
        /// The item.
        item: ItemId,
    },
    /// Restores an item from the trash.
    Restore {
        /// The item.
        item: ItemId,
    },
    /// Deletes a trashed item for good.
    Purge {
        /// The item.
        item: ItemId,
    },
    /// Creates an invite or public link.
    CreateLink(Box<LinkTerms>),
    /// Revokes links; with a rotation when one of them carries an epoch key.
    RevokeLinks {
        /// The links revoked (at least one).
        links: Vec<LinkId>,
        /// The new epoch, if one is needed.
        rotation: Option<Rotation>,
    },
    /// The author joins through an invite link.
    Join {
        /// The link.
        link: LinkId,
        /// The link's role.
        role: Role,
        /// The joiner's card (the author).
        card: Identity,
        /// The link key's signature over [`join_proof_message`].
        proof: Signature,
        /// The current epoch key wrapped to the joiner (none when the link needs approval).
        wrap: Option<WrappedSecret>,
    },
    /// An admin approves a join, wrapping the current epoch key to the joiner.
    Approve {
        /// The joiner.
        member: String,
        /// The current epoch.
        epoch: u64,
        /// The epoch key wrapped to them.
        wrap: WrappedSecret,
    },
    /// Invites someone by handle before they have a card.
    Invite {
        /// Their handle.
        handle: String,
        /// The role they will get.
        role: Role,
    },
    /// Completes an invitation now that the invitee's card is known.
    CompleteInvite {
        /// The current epoch.
        epoch: u64,
        /// The invitee's card.
        card: Identity,
        /// The epoch key wrapped to them.
        wrap: WrappedSecret,
    },
    /// Cancels a pending invitation.
    CancelInvite {
        /// The handle invited.
        handle: String,
    },
}

impl Body {
    /// The operation's name, as used in errors and the history.
    pub fn name(&self) -> &'static str {
        match self {
            Body::Create { .. } => "create",
            Body::Rename { .. } => "rename",
            Body::Share { .. } => "share",
            Body::Accept => "accept",
            Body::ChangeRole { .. } => "change role",
            Body::Remove { .. } => "remove member",
            Body::Leave => "leave",
            Body::Unshare { .. } => "unshare",
            Body::Transfer { .. } => "transfer ownership",
            Body::Rotate { .. } => "rotate key",
            Body::PutItem(h) if h.version == 1 => "add item",
            Body::PutItem(_) => "new item version",
            Body::Trash { .. } => "trash",
            Body::Restore { .. } => "restore",
            Body::Purge { .. } => "purge",
            Body::CreateLink(_) => "create link",
            Body::RevokeLinks { .. } => "revoke links",
            Body::Join { .. } => "join",
            Body::Approve { .. } => "approve join",
            Body::Invite { .. } => "invite",
            Body::CompleteInvite { .. } => "complete invitation",
            Body::CancelInvite { .. } => "cancel invitation",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Body::Create { .. } => 0x01,
            Body::Rename { .. } => 0x02,
            Body::Share { .. } => 0x03,
            Body::Accept => 0x04,
            Body::ChangeRole { .. } => 0x05,
            Body::Remove { .. } => 0x06,
            Body::Leave => 0x07,
            Body::Unshare { .. } => 0x08,
            Body::Transfer { .. } => 0x09,
            Body::Rotate { .. } => 0x0a,
            Body::PutItem(_) => 0x10,
            Body::Trash { .. } => 0x11,
            Body::Restore { .. } => 0x12,
            Body::Purge { .. } => 0x13,
            Body::CreateLink(_) => 0x20,
            Body::RevokeLinks { .. } => 0x21,
            Body::Join { .. } => 0x22,
            Body::Approve { .. } => 0x23,
            Body::Invite { .. } => 0x24,
            Body::CompleteInvite { .. } => 0x25,
            Body::CancelInvite { .. } => 0x26,
        }
    }

    pub(super) fn write(&self, w: &mut Writer) {
        w.u8(self.tag());
        match self {
            Body::Create {
                owner,
                commitment,
                wrap,
                info,
            } => {
                w.bytes(&owner.to_bytes()).fixed(commitment);
                wrap.write(w);
                info.write(w);
            }
            Body::Rename { epoch, info } => {
                w.u64(*epoch);
                info.write(w);
            }
            Body::Share { epoch, grants } => {
                w.u64(*epoch).u32(grants.len() as u32);
                for g in grants {
                    w.bytes(&g.card.to_bytes()).u8(g.role.to_byte());
                    g.wrap.write(w);
                }
            }
            Body::Accept | Body::Leave => {}
            Body::ChangeRole { member, role } => {
                w.str(member).u8(role.to_byte());
            }
            Body::Remove { members, rotation } => {
                w.u32(members.len() as u32);
                for m in members {
                    w.str(m);
                }
                rotation.write(w);
            }
            Body::Unshare { rotation } | Body::Rotate { rotation } => rotation.write(w),
            Body::Transfer { to } => {
                w.str(to);
            }
            Body::PutItem(h) => h.write(w),
            Body::Trash { item } | Body::Restore { item } | Body::Purge { item } => {
                w.fixed(&item.0);
            }
            Body::CreateLink(terms) => terms.write(w),
            Body::RevokeLinks { links, rotation } => {
                w.u32(links.len() as u32);
                for l in links {
                    w.fixed(&l.0);
                }
                match rotation {
                    None => {
                        w.u8(0);
                    }
                    Some(r) => {
                        w.u8(1);
                        r.write(w);
                    }
                }
            }
            Body::Join {
                link,
                role,
                card,
                proof,
                wrap,
            } => {
                w.fixed(&link.0)
                    .u8(role.to_byte())
                    .bytes(&card.to_bytes())
                    .fixed(&proof.to_bytes());
                match wrap {
                    None => {
                        w.u8(0);
                    }
                    Some(wr) => {
                        w.u8(1);
                        wr.write(w);
                    }
                }
            }
            Body::Approve {
                member,
                epoch,
                wrap,
            } => {
                w.str(member).u64(*epoch);
                wrap.write(w);
            }
            Body::Invite { handle, role } => {
                w.str(handle).u8(role.to_byte());
            }
            Body::CompleteInvite { epoch, card, wrap } => {
                w.u64(*epoch).bytes(&card.to_bytes());
                wrap.write(w);
            }
            Body::CancelInvite { handle } => {
                w.str(handle);
            }
        }
    }

    pub(super) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8()?;
        Ok(match tag {
            0x01 => Body::Create {
                owner: read_card(r)?,
                commitment: r.array()?,
                wrap: WrappedSecret::read(r)?,
                info: SealedBox::read(r)?,
            },
            0x02 => Body::Rename {
                epoch: r.u64()?,
                info: SealedBox::read(r)?,
            },
            0x03 => {
                let epoch = r.u64()?;
                let n = r.count("share grants", MAX_MEMBERS, 4 + 1 + 36)?;
                let mut grants = Vec::with_capacity(n);
                for _ in 0..n {
                    grants.push(Grant {
                        card: read_card(r)?,
                        role: Role::from_byte(r.u8()?)?,
                        wrap: WrappedSecret::read(r)?,
                    });
                }
                Body::Share { epoch, grants }
            }
            0x04 => Body::Accept,
            0x05 => Body::ChangeRole {
                member: read_handle(r)?,
                role: Role::from_byte(r.u8()?)?,
            },
            0x06 => {
                let n = r.count("removed members", MAX_MEMBERS, 5)?;
                let mut members = Vec::with_capacity(n);
                for _ in 0..n {
                    members.push(read_handle(r)?);
                }
                Body::Remove {
                    members,
                    rotation: Rotation::read(r)?,
                }
            }
            0x07 => Body::Leave,
            0x08 => Body::Unshare {
                rotation: Rotation::read(r)?,
            },
            0x09 => Body::Transfer {
                to: read_handle(r)?,
            },
            0x0a => Body::Rotate {
                rotation: Rotation::read(r)?,
            },
            0x10 => Body::PutItem(Box::new(ItemHeader::read(r)?)),
            0x11 => Body::Trash {
                item: ItemId(r.array()?),
            },
            0x12 => Body::Restore {
                item: ItemId(r.array()?),
            },
            0x13 => Body::Purge {
                item: ItemId(r.array()?),
            },
            0x20 => Body::CreateLink(Box::new(LinkTerms::read(r)?)),
            0x21 => {
                let n = r.count("revoked links", MAX_LINKS, 16)?;
                let mut links = Vec::with_capacity(n);
                for _ in 0..n {
                    links.push(LinkId(r.array()?));
                }
                let rotation = match r.u8()? {
                    0 => None,
                    1 => Some(Rotation::read(r)?),
                    _ => return Err(DecodeError::invalid("revoke links", "bad flag")),
                };
                Body::RevokeLinks { links, rotation }
            }
            0x22 => Body::Join {
                link: LinkId(r.array()?),
                role: Role::from_byte(r.u8()?)?,
                card: read_card(r)?,
                proof: Signature::from_bytes(r.array()?),
                wrap: match r.u8()? {
                    0 => None,
                    1 => Some(WrappedSecret::read(r)?),
                    _ => return Err(DecodeError::invalid("join", "bad flag")),
                },
            },
            0x23 => Body::Approve {
                member: read_handle(r)?,
                epoch: r.u64()?,
                wrap: WrappedSecret::read(r)?,
            },
            0x24 => Body::Invite {
                handle: read_handle(r)?,
                role: Role::from_byte(r.u8()?)?,
            },
            0x25 => Body::CompleteInvite {
                epoch: r.u64()?,
                card: read_card(r)?,
                wrap: WrappedSecret::read(r)?,
            },
            0x26 => Body::CancelInvite {
                handle: read_handle(r)?,
            },
            _ => return Err(DecodeError::invalid("operation", "unknown operation kind")),
        })
    }
}

pub(crate) fn read_card(r: &mut Reader<'_>) -> Result<Identity, DecodeError> {
    let bytes = r.bytes("identity card", MAX_CARD_LEN)?;
    // A card that does not verify is malformed here: it can never be a member.
    Identity::from_bytes(bytes).map_err(|e| match e {
        CryptoError::WeakKey(why) => DecodeError::invalid("identity card key", why),
        _ => DecodeError::invalid("identity card", "not a valid self-signed card"),
    })
}

pub(crate) fn read_handle(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let h = r.str("handle", MAX_HANDLE_LEN)?;
    crate::identity::check_handle(h)?;
    Ok(h.to_owned())
}

impl Rotation {
    /// Whether this rotation passes over an epoch: it carries something other
    /// than exactly the previous epoch's key. Only an Owner or Admin may sign
    /// one (the authority table's `RecoverKey`).
    pub fn is_recovery(&self) -> bool {
        !matches!(self.previous_keys.as_slice(), [(e, _)] if e.saturating_add(1) == self.epoch)
    }

    fn write(&self, w: &mut Writer) {
        w.u64(self.epoch).fixed(&self.commitment);
        w.u32(self.previous_keys.len() as u32);
        for (epoch, sealed) in &self.previous_keys {
            w.u64(*epoch);
            sealed.write(w);
        }
        w.u32(self.wraps.len() as u32);
        for (handle, wrap) in &self.wraps {
            w.str(handle);
            wrap.write(w);
        }
        w.u32(self.links.len() as u32);
        for (link, wrap) in &self.links {
            w.fixed(&link.0);
            wrap.write(w);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch = r.u64()?;
        let commitment = r.array()?;
        let n = r.count("rotation previous keys", MAX_PREVIOUS_KEYS, 8 + 4)?;
        let mut previous_keys: Vec<(u64, SealedBox)> = Vec::with_capacity(n);
        for _ in 0..n {
            let older = r.u64()?;
            let ascending = previous_keys.last().is_none_or(|(e, _)| *e < older);
            if older >= epoch || !ascending {
                return Err(DecodeError::invalid(
                    "rotation previous keys",
                    "epochs must be strictly ascending and below the new epoch",
                ));
            }
            previous_keys.push((older, SealedBox::read(r)?));
        }
        if previous_keys.is_empty() {
            return Err(DecodeError::invalid(
                "rotation previous keys",
                "a rotation carries at least one earlier key",
            ));
        }
        let n = r.count("rotation wraps", MAX_MEMBERS, 4 + 1 + 36)?;
        let mut wraps = Vec::with_capacity(n);
        for _ in 0..n {
            wraps.push((read_handle(r)?, WrappedSecret::read(r)?));
        }
        let n = r.count("rotation links", MAX_LINKS, 16 + 32 + 4)?;
        let mut links = Vec::with_capacity(n);
        for _ in 0..n {
            links.push((LinkId(r.array()?), WrappedSecret::read(r)?));
        }
        Ok(Self {
            epoch,
            commitment,
            previous_keys,
            wraps,
            links,
        })
    }
}

impl ItemHeader {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.fixed(&self.item.0).u32(self.version).u8(self.kind as u8);
        match &self.parent {
            None => w.u8(0),
            Some(p) => w.u8(1).fixed(&p.0),
        };
        w.u64(self.epoch);
        self.wrapped_key.write(w);
        self.metadata.write(w);
        match &self.content {
            None => {
                w.u8(0);
            }
            Some(d) => {
                w.u8(1)
                    .fixed(&d.ciphertext_hash)
                    .fixed(&d.key_commitment)
                    .u64(d.ciphertext_len);
            }
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let item = ItemId(r.array()?);
        let version = r.u32()?;
        let kind = match r.u8()? {
            0 => ItemKind::Folder,
            1 => ItemKind::File,
            _ => return Err(DecodeError::invalid("item kind", "unknown")),
        };
        let parent = match r.u8()? {
            0 => None,
            1 => Some(ItemId(r.array()?)),
            _ => return Err(DecodeError::invalid("item parent", "bad flag")),
        };
        let epoch = r.u64()?;
        let wrapped_key = SealedBox::read(r)?;
        let metadata = SealedBox::read(r)?;
        let content = match r.u8()? {
            0 => None,
            1 => Some(ContentDigest {
                ciphertext_hash: r.array()?,
                key_commitment: r.array()?,
                ciphertext_len: r.u64()?,
            }),
            _ => return Err(DecodeError::invalid("item content", "bad flag")),
        };
        Ok(Self {
            item,
            version,
            kind,
            parent,
            epoch,
            wrapped_key,
            metadata,
            content,
        })
    }
}
