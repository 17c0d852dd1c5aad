//! The canonical encoding of a verified [`LogState`], for checkpoints. A
//! checkpoint is only ever read back by the account that sealed it, but it is
//! still decoded with every bound checked (SPEC.md §Checkpoint).

use std::collections::{BTreeMap, HashMap};

use crate::crypto::aead::SealedBox;
use crate::crypto::wrap::WrappedSecret;
use crate::error::DecodeError;
use crate::identity::MAX_HANDLE_LEN;
use crate::log::op::{
    CollectionId, ItemHeader, ItemId, ItemKind, MAX_MEMBERS, read_card, read_handle,
};
use crate::log::rules::Role;
use crate::log::state::{
    Epoch, Event, EventKind, ItemRecord, ItemVersion, LogState, MAX_ITEMS, Member,
};
use crate::wire::{Reader, Writer};

/// The most operations a checkpoint may summarize.
const MAX_OPS: usize = u32::MAX as usize;

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
        w.fixed(&self.collection.0)
            .u64(self.next_seq)
            .fixed(&self.head)
            .u64(self.last_time)
            .str(&self.owner)
            .u8(u8::from(self.stale));
        w.u32(self.members.len() as u32);
        for m in self.members.values() {
            w.bytes(&m.card.to_bytes())
                .u8(m.role.to_byte())
                .str(&m.added_by)
                .u64(m.added_at);
            opt_u64(w, m.accepted_at);
            w.u64(m.key.0);
            m.key.1.write(w);
        }
        w.u32(self.epochs.len() as u32);
        for e in &self.epochs {
            w.fixed(&e.commitment).u64(e.started_seq);
            match &e.previous_key {
                None => {
                    w.u8(0);
                }
                Some(b) => {
                    w.u8(1);
                    b.write(w);
                }
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
        w.u32(self.history.len() as u32);
        for e in &self.history {
            w.u64(e.seq).u64(e.time).str(&e.author);
            write_event(w, &e.what);
        }
    }

    /// Reads a state written by [`LogState::write`].
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let collection = CollectionId(r.array()?);
        let next_seq = r.u64()?;
        let head = r.array()?;
        let last_time = r.u64()?;
        let owner = r.str("owner", MAX_HANDLE_LEN)?.to_owned();
        let stale = flag(r)?;
        let n = r.count("members", MAX_MEMBERS, 50)?;
        let mut members = BTreeMap::new();
        for _ in 0..n {
            let card = read_card(r)?;
            let role = Role::from_byte(r.u8()?)?;
            let added_by = read_handle(r)?;
            let added_at = r.u64()?;
            let accepted_at = read_opt_u64(r)?;
            let key = (r.u64()?, WrappedSecret::read(r)?);
            members.insert(
                card.handle().to_owned(),
                Member {
                    card,
                    role,
                    added_by,
                    added_at,
                    accepted_at,
                    key,
                },
            );
        }
        let n = r.count("epochs", MAX_OPS, 41)?;
        let mut epochs = Vec::with_capacity(n);
        for _ in 0..n {
            let commitment = r.array()?;
            let started_seq = r.u64()?;
            let previous_key = flag(r)?.then(|| SealedBox::read(r)).transpose()?;
            epochs.push(Epoch {
                commitment,
                previous_key,
                started_seq,
            });
        }
        let info = if flag(r)? {
            Some((r.u64()?, SealedBox::read(r)?))
        } else {
            None
        };
        let n = r.count("items", MAX_ITEMS, 30)?;
        let mut items = HashMap::with_capacity(n);
        for _ in 0..n {
            let id = ItemId(r.array()?);
            let creator = read_handle(r)?;
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
                    author: read_handle(r)?,
                    time: r.u64()?,
                    seq: r.u64()?,
                });
            }
            let latest = versions
                .pop()
                .ok_or(DecodeError::invalid("checkpoint item", "no version"))?;
            items.insert(
                id,
                ItemRecord {
                    latest,
                    older: versions,
                    creator,
                    trashed,
                    children,
                },
            );
        }
        let n = r.count("history", MAX_OPS, 21)?;
        let mut history = Vec::with_capacity(n);
        for _ in 0..n {
            history.push(Event {
                seq: r.u64()?,
                time: r.u64()?,
                author: read_handle(r)?,
                what: read_event(r)?,
            });
        }
        Ok(Self {
            collection,
            next_seq,
            head,
            last_time,
            owner,
            members,
            epochs,
            stale,
            info,
            items,
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
        EventKind::Removed { member, epoch } => {
            w.u8(6).str(member).u64(*epoch);
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
        6 => EventKind::Removed {
            member: read_handle(r)?,
            epoch: r.u64()?,
        },
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
        _ => return Err(DecodeError::invalid("checkpoint event", "unknown kind")),
    })
}
