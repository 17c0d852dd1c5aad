//! The canonical encoding of a verified [`LogState`], for checkpoints. A
//! checkpoint is only ever read back by the account that sealed it, but it is
//! still decoded with every bound checked (SPEC.md §Checkpoint).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::identity::MAX_HANDLE_LEN;
use crate::log::link_terms::LinkTerms;
use crate::log::op::{
    CollectionId, ItemHeader, ItemId, ItemKind, LinkId, MAX_LINKS, MAX_MEMBERS, MAX_PREVIOUS_KEYS,
    read_card, read_handle,
};
use crate::log::rules::Role;
use crate::log::state::names::Names;
use crate::log::state::{
    Epoch, Event, EventKind, FolderTree, GROWTH_HEADROOM, Invitation, ItemRecord, ItemVersion,
    LinkRecord, LogState, MAX_ITEMS, Member,
};
use crate::wire::{DecodeError, Reader, Writer};

/// The most operations a checkpoint may summarize.
const MAX_OPS: usize = u32::MAX as usize;

/// The layout of the encoded state, its first byte. Layout 1 (which had no
/// such byte and began with the collection id) did not keep purged item ids, so
/// a state restored from it would let a purged item come back: it is refused,
/// and the log is verified again from the start instead.
pub(crate) const STATE_LAYOUT: u8 = 2;

fn opt_u64(w: &mut Writer, v: Option<u64>) {
    match v {
        None => w.u8(0),
        Some(t) => w.u8(1).u64(t),
    };
}

fn read_opt_u64(r: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(r.u64()?)),
        _ => Err(DecodeError::invalid("checkpoint", "bad option flag")),
    }
}

fn opt_str(w: &mut Writer, v: Option<&str>) {
    match v {
        None => w.u8(0),
        Some(t) => w.u8(1).str(t),
    };
}

fn read_opt_str(r: &mut Reader<'_>) -> Result<Option<String>, DecodeError> {
    Ok(if flag(r)? {
        Some(read_handle(r)?)
    } else {
        None
    })
}

fn flag(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::invalid("checkpoint", "bad flag")),
    }
}

impl LogState {
    /// Writes the state's canonical encoding.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(STATE_LAYOUT)
            .fixed(&self.collection.0)
            .u64(self.next_seq)
            .fixed(&self.head)
            .u64(self.last_time)
            .str(&self.owner)
            .fixed(&self.creator_key)
            .u8(u8::from(self.stale));
        w.u32(self.members.len() as u32);
        for m in self.members.values() {
            w.bytes(&m.card.to_bytes())
                .u8(m.role.to_byte())
                .str(&m.added_by)
                .u64(m.added_at);
            opt_u64(w, m.accepted_at);
            match &m.key {
                None => {
                    w.u8(0);
                }
                Some((epoch, wrap)) => {
                    w.u8(1).u64(*epoch);
                    wrap.write(w);
                }
            }
            match &m.joined_via {
                None => w.u8(0),
                Some(l) => w.u8(1).fixed(&l.0),
            };
            opt_str(w, m.approved_by.as_deref());
        }
        w.u32(self.epochs.len() as u32);
        for e in &self.epochs {
            w.fixed(&e.commitment).u64(e.started_seq);
            w.u32(e.previous_keys.len() as u32);
            for (older, b) in &e.previous_keys {
                w.u64(*older);
                b.write(w);
            }
        }
        match &self.info {
            None => {
                w.u8(0);
            }
            Some((epoch, b)) => {
                w.u8(1).u64(*epoch);
                b.write(w);
            }
        }
        // Items in id order, so equal states encode equally.
        let mut ids: Vec<&ItemId> = self.items.keys().collect();
        ids.sort();
        w.u32(ids.len() as u32);
        for id in ids {
            let Some(rec) = self.items.get(id) else {
                continue;
            };
            w.fixed(&id.0).str(&rec.creator).u32(rec.children);
            match &rec.trashed {
                None => {
                    w.u8(0);
                }
                Some((who, at)) => {
                    w.u8(1).str(who).u64(*at);
                }
            }
            w.u32(rec.older.len() as u32 + 1);
            for v in rec.versions() {
                v.header.write(w);
                w.str(&v.author).u64(v.time).u64(v.seq);
            }
        }
        let mut purged: Vec<&ItemId> = self.purged.iter().collect();
        purged.sort();
        w.u32(purged.len() as u32);
        for id in purged {
            w.fixed(&id.0);
        }
        w.u32(self.history.len() as u32);
        for e in &self.history {
            w.u64(e.seq).u64(e.time).str(&e.author);
            write_event(w, &e.what);
        }
        w.u32(self.links.len() as u32);
        for rec in self.links.values() {
            rec.terms.write(w);
            w.str(&rec.creator).u64(rec.created_at).u64(rec.created_seq);
            match &rec.epoch_key {
                None => {
                    w.u8(0);
                }
                Some((epoch, wrap)) => {
                    w.u8(1).u64(*epoch);
                    wrap.write(w);
                }
            }
            w.u32(rec.joins.len() as u32);
            for (h, t) in &rec.joins {
                w.str(h).u64(*t);
            }
            match &rec.revoked {
                None => {
                    w.u8(0);
                }
                Some((h, t)) => {
                    w.u8(1).str(h).u64(*t);
                }
            }
        }
        w.u32(self.invitations.len() as u32);
        for (h, inv) in &self.invitations {
            w.str(h)
                .u8(inv.role.to_byte())
                .str(&inv.invited_by)
                .u64(inv.invited_at);
        }
    }

    /// Reads a state written by [`LogState::write`] in the current layout
    /// ([`STATE_LAYOUT`]); any other layout is refused as invalid.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.u8()? != STATE_LAYOUT {
            return Err(DecodeError::invalid(
                "checkpoint",
                "written by an older version of the library (state layout 1, which \
                 lost purged item ids) or by an unknown one: delete it to verify the \
                 log again from the start",
            ));
        }
        let collection = CollectionId(r.array()?);
        let next_seq = r.u64()?;
        let head = r.array()?;
        let last_time = r.u64()?;
        let owner = r.str("owner", MAX_HANDLE_LEN)?.to_owned();
        let creator_key = r.array()?;
        let stale = flag(r)?;
        let n = r.count("members", MAX_MEMBERS, 50)?;
        let mut members = BTreeMap::new();
        for _ in 0..n {
            let card = read_card(r)?;
            let role = Role::from_byte(r.u8()?)?;
            let added_by = read_handle(r)?;
            let added_at = r.u64()?;
            let accepted_at = read_opt_u64(r)?;
            let key = if flag(r)? {
                Some((r.u64()?, WrappedSecret::read(r)?))
            } else {
                None
            };
            let joined_via = flag(r)?.then(|| r.array().map(LinkId)).transpose()?;
            let approved_by = read_opt_str(r)?;
            members.insert(
                card.handle().to_owned(),
                Member {
                    card,
                    role,
                    added_by,
                    added_at,
                    accepted_at,
                    key,
                    joined_via,
                    approved_by,
                },
            );
        }
        let n = r.count("epochs", MAX_OPS, 41)?;
        let mut epochs = Vec::with_capacity(n);
        for _ in 0..n {
            let commitment = r.array()?;
            let started_seq = r.u64()?;
            let m = r.count("previous keys", MAX_PREVIOUS_KEYS, 12)?;
            let mut previous_keys = Vec::with_capacity(m);
            for _ in 0..m {
                previous_keys.push((r.u64()?, SealedBox::read(r)?));
            }
            epochs.push(Epoch {
                commitment,
                previous_keys,
                started_seq,
            });
        }
        let info = if flag(r)? {
            Some((r.u64()?, SealedBox::read(r)?))
        } else {
            None
        };
        let n = r.count("items", MAX_ITEMS, 30)?;
        let mut items = HashMap::with_capacity(n + GROWTH_HEADROOM);
        let mut names = Names::default();
        for _ in 0..n {
            let id = ItemId(r.array()?);
            let creator = names.get(&read_handle(r)?);
            let children = r.u32()?;
            let trashed = if flag(r)? {
                Some((read_handle(r)?, r.u64()?))
            } else {
                None
            };
            let nv = r.count("item versions", u32::MAX as usize, 100)?;
            let mut versions = Vec::with_capacity(nv);
            for _ in 0..nv {
                versions.push(ItemVersion {
                    header: ItemHeader::read(r)?,
                    author: names.get(&read_handle(r)?),
                    time: r.u64()?,
                    seq: r.u64()?,
                });
            }
            let latest = versions
                .pop()
                .ok_or(DecodeError::invalid("checkpoint item", "no version"))?;
            items.insert(
                id,
                Box::new(ItemRecord {
                    latest,
                    older: versions,
                    creator,
                    trashed,
                    children,
                }),
            );
        }
        let n = r.count("purged items", MAX_OPS, 16)?;
        let mut purged = HashSet::with_capacity(n);
        for _ in 0..n {
            purged.insert(ItemId(r.array()?));
        }
        let n = r.count("history", MAX_OPS, 21)?;
        let mut history = Vec::with_capacity(n + GROWTH_HEADROOM);
        for _ in 0..n {
            history.push(Event {
                seq: r.u64()?,
                time: r.u64()?,
                author: names.get(&read_handle(r)?),
                what: read_event(r)?,
            });
        }
        // Revoked links stay in the state and do not count toward MAX_LINKS:
        // one per operation at most.
        let n = r.count("links", MAX_OPS, 60)?;
        let mut links = BTreeMap::new();
        for _ in 0..n {
            let terms = LinkTerms::read(r)?;
            let creator = read_handle(r)?;
            let created_at = r.u64()?;
            let created_seq = r.u64()?;
            let epoch_key = if flag(r)? {
                Some((r.u64()?, WrappedSecret::read(r)?))
            } else {
                None
            };
            let nj = r.count("link joins", MAX_MEMBERS, 13)?;
            let mut joins = Vec::with_capacity(nj);
            for _ in 0..nj {
                joins.push((read_handle(r)?, r.u64()?));
            }
            let revoked = if flag(r)? {
                Some((read_handle(r)?, r.u64()?))
            } else {
                None
            };
            links.insert(
                terms.link,
                LinkRecord {
                    terms,
                    creator,
                    created_at,
                    created_seq,
                    epoch_key,
                    joins,
                    revoked,
                },
            );
        }
        let n = r.count("invitations", MAX_MEMBERS, 18)?;
        let mut invitations = BTreeMap::new();
        for _ in 0..n {
            let handle = read_handle(r)?;
            invitations.insert(
                handle,
                Invitation {
                    role: Role::from_byte(r.u8()?)?,
                    invited_by: read_handle(r)?,
                    invited_at: r.u64()?,
                },
            );
        }
        let folders = FolderTree::build(&items)
            .map_err(|reason| DecodeError::invalid("checkpoint items", reason))?;
        let (open_links, key_links) = crate::log::state::link_indexes(&links);
        let holders = members.values().filter(|m| m.key.is_some()).count();
        Ok(Self {
            creator_key,
            links,
            open_links,
            key_links,
            names,
            invitations,
            collection,
            next_seq,
            head,
            last_time,
            owner,
            members,
            holders,
            epochs,
            stale,
            info,
            items,
            purged,
            folders,
            history,
        })
    }
}

fn write_event(w: &mut Writer, e: &EventKind) {
    match e {
        EventKind::Created => {
            w.u8(1);
        }
        EventKind::Renamed => {
            w.u8(2);
        }
        EventKind::Shared(list) => {
            w.u8(3).u32(list.len() as u32);
            for (h, role) in list {
                w.str(h).u8(role.to_byte());
            }
        }
        EventKind::Accepted => {
            w.u8(4);
        }
        EventKind::RoleChanged { member, from, to } => {
            w.u8(5).str(member).u8(from.to_byte()).u8(to.to_byte());
        }
        EventKind::Removed { members, epoch } => {
            w.u8(6).u32(members.len() as u32);
            for m in members {
                w.str(m);
            }
            w.u64(*epoch);
        }
        EventKind::Left => {
            w.u8(7);
        }
        EventKind::Unshared { removed, epoch } => {
            w.u8(8).u32(removed.len() as u32);
            for h in removed {
                w.str(h);
            }
            w.u64(*epoch);
        }
        EventKind::Transferred { to } => {
            w.u8(9).str(to);
        }
        EventKind::Rotated { epoch } => {
            w.u8(10).u64(*epoch);
        }
        EventKind::ItemPut {
            item,
            version,
            kind,
        } => {
            w.u8(11).fixed(&item.0).u32(*version).u8(*kind as u8);
        }
        EventKind::Trashed(item) => {
            w.u8(12).fixed(&item.0);
        }
        EventKind::Restored(item) => {
            w.u8(13).fixed(&item.0);
        }
        EventKind::Purged(item) => {
            w.u8(14).fixed(&item.0);
        }
        EventKind::LinkCreated(link) => {
            w.u8(15).fixed(&link.0);
        }
        EventKind::LinksRevoked { links, epoch } => {
            w.u8(16).u32(links.len() as u32);
            for l in links {
                w.fixed(&l.0);
            }
            opt_u64(w, *epoch);
        }
        EventKind::Joined {
            link,
            role,
            awaiting_approval,
        } => {
            w.u8(17)
                .fixed(&link.0)
                .u8(role.to_byte())
                .u8(u8::from(*awaiting_approval));
        }
        EventKind::Approved(h) => {
            w.u8(18).str(h);
        }
        EventKind::Invited { handle, role } => {
            w.u8(19).str(handle).u8(role.to_byte());
        }
        EventKind::InvitationCompleted(h) => {
            w.u8(20).str(h);
        }
        EventKind::InvitationCancelled(h) => {
            w.u8(21).str(h);
        }
    }
}

fn read_event(r: &mut Reader<'_>) -> Result<EventKind, DecodeError> {
    Ok(match r.u8()? {
        1 => EventKind::Created,
        2 => EventKind::Renamed,
        3 => {
            let n = r.count("shared members", MAX_MEMBERS, 6)?;
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                list.push((read_handle(r)?, Role::from_byte(r.u8()?)?));
            }
            EventKind::Shared(list)
        }
        4 => EventKind::Accepted,
        5 => EventKind::RoleChanged {
            member: read_handle(r)?,
            from: Role::from_byte(r.u8()?)?,
            to: Role::from_byte(r.u8()?)?,
        },
        6 => {
            let n = r.count("removed members", MAX_MEMBERS, 5)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(read_handle(r)?);
            }
            EventKind::Removed {
                members,
                epoch: r.u64()?,
            }
        }
        7 => EventKind::Left,
        8 => {
            let n = r.count("unshared members", MAX_MEMBERS, 5)?;
            let mut removed = Vec::with_capacity(n);
            for _ in 0..n {
                removed.push(read_handle(r)?);
            }
            EventKind::Unshared {
                removed,
                epoch: r.u64()?,
            }
        }
        9 => EventKind::Transferred {
            to: read_handle(r)?,
        },
        10 => EventKind::Rotated { epoch: r.u64()? },
        11 => EventKind::ItemPut {
            item: ItemId(r.array()?),
            version: r.u32()?,
            kind: match r.u8()? {
                0 => ItemKind::Folder,
                1 => ItemKind::File,
                _ => return Err(DecodeError::invalid("checkpoint event", "bad item kind")),
            },
        },
        12 => EventKind::Trashed(ItemId(r.array()?)),
        13 => EventKind::Restored(ItemId(r.array()?)),
        14 => EventKind::Purged(ItemId(r.array()?)),
        15 => EventKind::LinkCreated(LinkId(r.array()?)),
        16 => {
            let n = r.count("revoked links", MAX_LINKS, 16)?;
            let mut links = Vec::with_capacity(n);
            for _ in 0..n {
                links.push(LinkId(r.array()?));
            }
            EventKind::LinksRevoked {
                links,
                epoch: read_opt_u64(r)?,
            }
        }
        17 => EventKind::Joined {
            link: LinkId(r.array()?),
            role: Role::from_byte(r.u8()?)?,
            awaiting_approval: flag(r)?,
        },
        18 => EventKind::Approved(read_handle(r)?),
        19 => EventKind::Invited {
            handle: read_handle(r)?,
            role: Role::from_byte(r.u8()?)?,
        },
        20 => EventKind::InvitationCompleted(read_handle(r)?),
        21 => EventKind::InvitationCancelled(read_handle(r)?),
        _ => return Err(DecodeError::invalid("checkpoint event", "unknown kind")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The purged set survives the round trip; a state in layout 1 (no layout
    /// byte: it began with the collection id) is refused, saying why.
    #[test]
    fn purged_ids_round_trip_and_old_layouts_are_refused() {
        let mut state = LogState::empty(CollectionId([7; 16]));
        state.purged.insert(ItemId([3; 16]));
        let mut w = Writer::raw();
        state.write(&mut w);
        let bytes = w.finish();
        let back = LogState::read(&mut Reader::raw(&bytes, "checkpoint")).unwrap();
        assert_eq!(back.purged, state.purged);
        let old = bytes.get(1..).unwrap_or_default();
        let err = LogState::read(&mut Reader::raw(old, "checkpoint")).unwrap_err();
        assert!(
            matches!(err, DecodeError::Invalid { reason, .. } if reason.contains("older version")),
            "{err:?}"
        );
    }
}
