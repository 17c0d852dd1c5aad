//! What an operation does: the body kinds and the grant, with their canonical
//! encoding (SPEC.md §Operation). The item header and the rotation a body
//! carries are in `item.rs` and `rotation.rs`.

use rayon::prelude::*;

use crate::crypto::Error as CryptoError;
use crate::crypto::aead::SealedBox;
use crate::crypto::sign::{Signature, verify_batch};
use crate::crypto::wrap::WrappedSecret;
use crate::identity::{Identity, MAX_CARD_LEN, MAX_HANDLE_LEN};
use crate::log::link_terms::LinkTerms;
use crate::log::rules::Role;
use crate::wire::{DecodeError, Reader, Writer};

use super::{ItemHeader, ItemId, LinkId, MAX_LINKS, MAX_MEMBERS, Rotation};

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
        /// The link key's signature over [`crate::log::op::join_proof_message`].
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
                let mut raw = Vec::with_capacity(n);
                for _ in 0..n {
                    let card = r.bytes("identity card", MAX_CARD_LEN)?;
                    raw.push((card, Role::from_byte(r.u8()?)?, WrappedSecret::read(r)?));
                }
                let cards = read_cards(raw.iter().map(|(bytes, _, _)| *bytes).collect())?;
                let grants = raw
                    .into_iter()
                    .zip(cards)
                    .map(|((_, role, wrap), card)| Grant { card, role, wrap })
                    .collect();
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
    card_from_bytes(r.bytes("identity card", MAX_CARD_LEN)?)
}

/// From this many cards in one share, they are checked in a batch.
const BATCH_CARDS: usize = 16;

/// Many cards inside one operation (a share), checked as [`read_card`]
/// checks one. Checking cards is most of the cost of a share to thousands:
/// their keys are checked on all cores and their self-signatures in one
/// batch verification, which accepts exactly what one by one would.
fn read_cards(all: Vec<&[u8]>) -> Result<Vec<Identity>, DecodeError> {
    if all.len() < BATCH_CARDS {
        // One by one: a batch costs more for a few, and draws randomness.
        return all.into_iter().map(card_from_bytes).collect();
    }
    let not_self_signed = || DecodeError::invalid("identity card", "not a valid self-signed card");
    let cards: Vec<_> = all
        .par_iter()
        .map(|bytes| Identity::from_bytes_keys_checked(bytes).map_err(card_error))
        .collect();
    // The first card that fails, in order, is the error.
    let cards = cards.into_iter().collect::<Result<Vec<_>, _>>()?;
    let signed: Vec<Vec<u8>> = cards.par_iter().map(Identity::signed_bytes).collect();
    let items: Vec<_> = cards
        .iter()
        .zip(&signed)
        .map(|(card, signed)| card.self_signature(signed))
        .collect();
    verify_batch(&items).map_err(|_| not_self_signed())?;
    Ok(cards)
}

/// A card inside an operation, checked: one that does not verify is
/// malformed here, as it can never be a member.
fn card_from_bytes(bytes: &[u8]) -> Result<Identity, DecodeError> {
    Identity::from_bytes(bytes).map_err(card_error)
}

/// Why a card inside an operation is refused.
fn card_error(e: CryptoError) -> DecodeError {
    match e {
        CryptoError::WeakKey(why) => DecodeError::invalid("identity card key", why),
        _ => DecodeError::invalid("identity card", "not a valid self-signed card"),
    }
}

pub(crate) fn read_handle(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let h = r.str("handle", MAX_HANDLE_LEN)?;
    crate::identity::check_handle(h)?;
    Ok(h.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::Account;
    use crate::crypto::secret::SecretKey;
    use crate::crypto::wrap::WrapContext;
    use crate::wire::Kind;

    fn encoded(body: &Body) -> Vec<u8> {
        let mut w = Writer::new(Kind::Operation);
        body.write(&mut w);
        w.finish()
    }

    fn decoded(bytes: &[u8]) -> Result<Body, DecodeError> {
        Body::read(&mut Reader::new(bytes, Kind::Operation)?)
    }

    #[test]
    fn a_share_is_refused_if_any_card_in_it_is_not_self_signed() {
        // The cards of a large share are checked in one batch, of a small
        // one one by one: a forged signature anywhere among them is found.
        for n in [3, BATCH_CARDS, 300] {
            forged_card_in_a_share_of(n);
        }
    }

    fn forged_card_in_a_share_of(n: usize) {
        let key = SecretKey::random().unwrap();
        let grants: Vec<Grant> = (0..n)
            .map(|i| {
                let card = Account::create(&format!("m{i}"), 1)
                    .unwrap()
                    .identity()
                    .clone();
                let ctx = WrapContext {
                    purpose: "epoch-key",
                    collection: b"test",
                    epoch: 1,
                    recipient: &[0; 32],
                };
                let wrap = WrappedSecret::wrap_key(card.kem_key(), &ctx, &key).unwrap();
                Grant {
                    card,
                    role: Role::Viewer,
                    wrap,
                }
            })
            .collect();
        let body = Body::Share { epoch: 1, grants };
        let bytes = encoded(&body);
        let Body::Share { grants, .. } = decoded(&bytes).unwrap() else {
            panic!("not a share");
        };
        assert_eq!(grants.len(), n);
        let Body::Share { grants: sent, .. } = &body else {
            panic!("not a share");
        };
        for at in [0, n / 2, n - 1] {
            let card = sent[at].card.to_bytes();
            let start = bytes
                .windows(card.len())
                .position(|w| w == card.as_slice())
                .unwrap();
            for offset in [card.len() - 1, card.len() - 40] {
                let mut forged = bytes.clone();
                // A byte of the signature's S, then of its R.
                forged[start + offset] ^= 1;
                let err = decoded(&forged).unwrap_err();
                assert!(
                    err.to_string().contains("identity card"),
                    "card {at}, byte {offset}: {err}"
                );
            }
        }
    }
}
