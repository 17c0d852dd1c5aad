//! An item version's signed public header and the kind of item, with their
//! canonical encoding (SPEC.md §Operation).

use crate::crypto::aead::SealedBox;
use crate::crypto::stream::ContentDigest;
use crate::wire::{DecodeError, Reader, Writer};

use super::ItemId;

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
