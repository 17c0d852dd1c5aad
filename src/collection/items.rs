//! Items and folders: encrypted metadata, content sealed with the streaming
//! construction and checked against the signed header, versions, trash.

use std::io::Write;

use rayon::prelude::*;

use crate::collection::Remote;
use crate::collection::{Client, Collection, keys};
use crate::crypto::secret::SecretKey;

use crate::crypto::stream::{self, ContentKey, ContentReader};
use crate::error::{Error, Result};
use crate::log::{Body, CollectionId, ItemHeader, ItemId, ItemKind, ItemRecord, ItemVersion};
use crate::wire::{Reader, Writer};

/// The longest item name or media type, in bytes.
pub const MAX_ITEM_NAME: usize = 4096;
/// From this size on, content is sealed and opened on all cores.
pub(super) const PARALLEL_FROM: usize = 4 << 20;

/// An item's metadata: encrypted in the log, readable by members only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemMetadata {
    /// The name shown to users.
    pub name: String,
    /// The media type (empty for folders).
    pub media_type: String,
    /// The plaintext size in bytes (0 for folders).
    pub size: u64,
    /// When the item was created (author's clock, seconds since the Unix epoch).
    pub created: u64,
    /// When this version was made.
    pub modified: u64,
}

impl ItemMetadata {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::raw();
        w.str(&self.name)
            .str(&self.media_type)
            .u64(self.size)
            .u64(self.created)
            .u64(self.modified);
        w.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::raw(bytes, "item metadata");
        let m = Self {
            name: r.str("item name", MAX_ITEM_NAME)?.to_owned(),
            media_type: r.str("media type", MAX_ITEM_NAME)?.to_owned(),
            size: r.u64()?,
            created: r.u64()?,
            modified: r.u64()?,
        };
        r.finish()?;
        Ok(m)
    }
}

/// One version of an item, with its verified author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version number, from 1.
    pub version: u32,
    /// Who wrote it (verified signer of the operation).
    pub author: String,
    /// When (the operation's claimed time).
    pub time: u64,
    /// Where in the log (see [`Collection::signers`] for whose key signed it).
    pub seq: u64,
}

/// An item or folder as a member reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its id.
    pub id: ItemId,
    /// Folder or file.
    pub kind: ItemKind,
    /// The folder holding it, or `None` at the top.
    pub parent: Option<ItemId>,
    /// The newest version's metadata.
    pub metadata: ItemMetadata,
    /// Who created it.
    pub creator: String,
    /// Every version, oldest first, with its author.
    pub versions: Vec<VersionInfo>,
    /// Whether it is in the trash.
    pub trashed: bool,
}

impl Item {
    /// The newest version number.
    pub fn version(&self) -> u32 {
        self.versions.last().map_or(0, |v| v.version)
    }
}

/// A listing of items: every item this account could read, and a report of
/// each it could not, so that one item whose key or metadata does not open
/// (a member may sign a key box sealed under the wrong key: the log cannot
/// check what it cannot open) hides none of the others.
///
/// Every item of the listing's scope is in exactly one of the two lists.
#[derive(Debug, Default)]
pub struct ItemListing {
    /// Every item that decrypted, sorted by name, then id.
    pub items: Vec<Item>,
    /// Every item that did not, sorted by id, each with why.
    pub unreadable: Vec<UnreadableItem>,
}

/// An item of a listing that could not be read, and why.
#[derive(Debug)]
pub struct UnreadableItem {
    /// Its id (from the verified log).
    pub id: ItemId,
    /// Why it could not be read: usually [`Error::DecryptionFailed`] (its key
    /// box or metadata does not open under the key this account or link holds)
    /// or [`Error::NotAllowed`] (no key for its epoch).
    pub error: Error,
}

impl ItemListing {
    /// Splits results item by item into the readable and the unreadable, each
    /// sorted (items by name then id, unreadable by id).
    pub(crate) fn from_results(results: impl IntoIterator<Item = (ItemId, Result<Item>)>) -> Self {
        let mut listing = Self::default();
        for (id, result) in results {
            match result {
                Ok(item) => listing.items.push(item),
                Err(error) => listing.unreadable.push(UnreadableItem { id, error }),
            }
        }
        listing
            .items
            .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name).then(a.id.cmp(&b.id)));
        listing.unreadable.sort_by_key(|u| u.id);
        listing
    }

    /// Whether every item of the listing's scope was read.
    pub fn is_complete(&self) -> bool {
        self.unreadable.is_empty()
    }

    /// Every item, for a caller that wants all or nothing: the error of the
    /// first unreadable item (by id) if any item could not be read.
    pub fn complete(self) -> Result<Vec<Item>> {
        match self.unreadable.into_iter().next() {
            Some(unreadable) => Err(unreadable.error),
            None => Ok(self.items),
        }
    }
}

impl Collection {
    /// Writes the newest content of a file to `out` as it is opened, chunk by
    /// chunk, in constant memory. Every chunk is authenticated before it is
    /// written; the hash of the whole blob and its end are checked last, so on
    /// [`Error::ContentMismatch`] part of the output may have been written:
    /// write to a temporary place and keep it only on success. Returns the
    /// number of bytes written.
    pub fn read_into(
        &self,
        client: &Client,
        item: ItemId,
        out: &mut (dyn Write + Send),
    ) -> Result<u64> {
        let header = &self.record(item)?.latest.header;
        let item_key = self.item_key(header)?;
        open_content_into(client.remote.as_ref(), &self.id(), header, &item_key, out)
    }

    /// Moves an item to the trash (own items from Collaborator, anyone's from Editor).
    pub fn trash(&mut self, client: &mut Client, item: ItemId) -> Result<()> {
        self.commit(client, false, &mut |_, _| Ok(Body::Trash { item }))?;
        Ok(())
    }

    /// Restores an item from the trash.
    pub fn restore(&mut self, client: &mut Client, item: ItemId) -> Result<()> {
        self.commit(client, false, &mut |_, _| Ok(Body::Restore { item }))?;
        Ok(())
    }

    /// Deletes a trashed item for good (Admin and up).
    pub fn purge(&mut self, client: &mut Client, item: ItemId) -> Result<()> {
        self.commit(client, false, &mut |_, _| Ok(Body::Purge { item }))?;
        Ok(())
    }

    pub(super) fn record(&self, item: ItemId) -> Result<&ItemRecord> {
        self.state
            .items()
            .get(&item)
            .map(|rec| &**rec)
            .ok_or_else(|| Error::NotFound(format!("item {item}")))
    }

    fn version_record(&self, item: ItemId, version: u32) -> Result<&ItemVersion> {
        self.record(item)?
            .versions()
            .find(|v| v.header.version == version)
            .ok_or_else(|| Error::NotFound(format!("version {version} of item {item}")))
    }

    /// The key of one item version, unwrapped with its epoch key.
    pub(crate) fn item_key(&self, header: &ItemHeader) -> Result<SecretKey> {
        open_item_key(&self.id(), header, self.key(header.epoch)?)
    }

    fn metadata_of(&self, header: &ItemHeader) -> Result<ItemMetadata> {
        open_metadata(&self.id(), header, &self.item_key(header)?)
    }

    fn to_item(&self, id: ItemId, rec: &ItemRecord) -> Result<Item> {
        Ok(item_view(
            id,
            rec,
            &rec.latest,
            self.metadata_of(&rec.latest.header)?,
        ))
    }

    /// One item, decrypted.
    pub fn item(&self, item: ItemId) -> Result<Item> {
        self.to_item(item, self.record(item)?)
    }

    /// Every item and folder (trashed ones too), decrypted on all cores. Never
    /// fails as a whole: an item that does not decrypt is reported in
    /// [`ItemListing::unreadable`] with its error, and every other is listed.
    pub fn items(&self) -> ItemListing {
        self.listing(|_| true)
    }

    /// The items directly inside `folder` (or at the top), not trashed, as
    /// [`Collection::items`] lists them: those that do not decrypt (placed by
    /// the verified log) are reported, not dropped.
    pub fn children(&self, folder: Option<ItemId>) -> ItemListing {
        self.listing(|rec| rec.latest.header.parent == folder && rec.trashed.is_none())
    }

    /// Every item whose record `keep` keeps, decrypted on all cores.
    fn listing(&self, keep: impl Fn(&ItemRecord) -> bool + Sync) -> ItemListing {
        let records: Vec<_> = self.state.items().iter().filter(|(_, r)| keep(r)).collect();
        let results: Vec<_> = records
            .par_iter()
            .map(|(id, rec)| (**id, self.to_item(**id, rec)))
            .collect();
        ItemListing::from_results(results)
    }

    /// The names of every item, decrypted on all cores.
    pub fn item_names(&self) -> Result<Vec<(ItemId, String)>> {
        let records: Vec<_> = self.state.items().iter().collect();
        records
            .par_iter()
            .map(|(id, rec)| Ok((**id, self.metadata_of(&rec.latest.header)?.name)))
            .collect()
    }

    /// The newest content of a file, fetched from the server and checked against
    /// its signed header before anything is returned.
    pub fn read(&self, client: &Client, item: ItemId) -> Result<Vec<u8>> {
        let version = self.record(item)?.latest.header.version;
        self.read_version(client, item, version)
    }

    /// The content of one version of a file, checked as [`Collection::read`] does.
    pub fn read_version(&self, client: &Client, item: ItemId, version: u32) -> Result<Vec<u8>> {
        let header = &self.version_record(item, version)?.header;
        open_content(
            client.remote.as_ref(),
            &self.id(),
            header,
            &self.item_key(header)?,
        )
    }
}

/// Opens an item version's key with the key of its epoch.
pub(crate) fn open_item_key(
    collection: &CollectionId,
    header: &ItemHeader,
    epoch_key: &SecretKey,
) -> Result<SecretKey> {
    let plain = header.wrapped_key.open(
        epoch_key,
        &keys::item_key_aad(collection, &header.item, header.version, header.epoch),
    )?;
    SecretKey::from_slice(plain.expose()).ok_or(Error::DecryptionFailed)
}

/// Opens an item version's metadata with its item key.
pub(crate) fn open_metadata(
    collection: &CollectionId,
    header: &ItemHeader,
    item_key: &SecretKey,
) -> Result<ItemMetadata> {
    let plain = header.metadata.open(
        &keys::metadata_key(item_key, collection, &header.item)?,
        &keys::metadata_aad(collection, &header.item),
    )?;
    ItemMetadata::decode(plain.expose())
}

/// The item as shown at `shown` (one of its versions), with its metadata.
pub(crate) fn item_view(
    id: ItemId,
    rec: &ItemRecord,
    shown: &ItemVersion,
    metadata: ItemMetadata,
) -> Item {
    Item {
        id,
        kind: rec.kind(),
        parent: shown.header.parent,
        metadata,
        creator: rec.creator.to_string(),
        versions: rec
            .versions()
            .take_while(|v| v.header.version <= shown.header.version)
            .map(|v| VersionInfo {
                version: v.header.version,
                author: v.author.to_string(),
                time: v.time,
                seq: v.seq,
            })
            .collect(),
        trashed: rec.trashed.is_some(),
    }
}

/// Fetches an item version's content and checks it against the signed header
/// before decrypting anything.
pub(crate) fn open_content(
    remote: &dyn Remote,
    collection: &CollectionId,
    header: &ItemHeader,
    item_key: &SecretKey,
) -> Result<Vec<u8>> {
    let digest = header
        .content
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("a folder has no content".into()))?;
    let blob = remote.get_blob(collection, &digest.ciphertext_hash)?;
    if blob.len() as u64 != digest.ciphertext_len
        || stream::ciphertext_hash(&blob) != digest.ciphertext_hash
    {
        return Err(Error::ContentMismatch);
    }
    let key = ContentKey::from_secret(keys::content_key(item_key, collection, &header.item)?);
    Ok(if blob.len() >= PARALLEL_FROM {
        stream::open_parallel(&key, &blob, digest)?
    } else {
        stream::open(&key, &blob, digest)?
    })
}

/// Streams an item version's content into `out` in constant memory, each chunk
/// authenticated before it is written and the whole blob's hash and end checked
/// last (see [`Collection::read_into`]). Returns the number of bytes written.
pub(crate) fn open_content_into(
    remote: &dyn Remote,
    collection: &CollectionId,
    header: &ItemHeader,
    item_key: &SecretKey,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    let digest = header
        .content
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("a folder has no content".into()))?;
    let key = ContentKey::from_secret(keys::content_key(item_key, collection, &header.item)?);
    let blob = remote.download_blob(collection, &digest.ciphertext_hash)?;
    let mismatch = |e: Error| match e {
        Error::DecryptionFailed | Error::Decode(_) => Error::ContentMismatch,
        Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => Error::ContentMismatch,
        other => other,
    };
    let mut reader = ContentReader::new(&key, blob, digest).map_err(|e| mismatch(e.into()))?;
    reader.copy_to(out).map_err(|e| mismatch(Error::Io(e)))
}
