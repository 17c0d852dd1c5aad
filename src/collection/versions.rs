//! Writing items: adding folders and files, new content, moves and renames.
//! A version's content and metadata are sealed once on this device; only its
//! header (version number, parent, epoch, the item key's seal) is built again
//! when a rebase lands it on a newer head.

use std::io::Read;

use crate::collection::items::{ItemMetadata, MAX_ITEM_NAME, PARALLEL_FROM};
use crate::collection::{Client, Collection, keys};
use crate::crypto::aead::SealedBox;
use crate::crypto::secret::SecretKey;
use crate::crypto::stream::{self, ContentDigest, ContentKey, ContentWriter};
use crate::error::{Error, Result};
use crate::log::state::ItemShape;
use crate::log::{Body, ItemHeader, ItemId, ItemKind};

/// Content to seal: in memory, or read as it is sealed.
enum Content<'a> {
    Bytes(&'a [u8]),
    Reader(&'a mut (dyn Read + Send)),
}

/// Where a version goes: a new item into a chosen folder, or a new version of
/// an existing item wherever it is when the version lands (so a rebase keeps a
/// concurrent move).
#[derive(Clone, Copy)]
enum Placement {
    New(Option<ItemId>),
    Keep,
}

impl Placement {
    /// The version number and parent a version of `item` placed so gets on the
    /// head `this` knows.
    fn on(self, this: &Collection, item: ItemId) -> Result<(u32, Option<ItemId>)> {
        Ok(match self {
            Placement::New(parent) => (1, parent),
            Placement::Keep => {
                let latest = &this.record(item)?.latest.header;
                (latest.version.saturating_add(1), latest.parent)
            }
        })
    }
}

/// A version about to be written: its key, sealed metadata and content digest,
/// made once and reused on every rebase.
struct Prepared {
    item: ItemId,
    kind: ItemKind,
    placement: Placement,
    key: SecretKey,
    metadata: SealedBox,
    content: Option<ContentDigest>,
}

impl Prepared {
    /// The operation writing this version onto the head `this` knows: only the
    /// version number, parent, epoch and item-key seal depend on the head.
    fn body(&self, this: &Collection) -> Result<(u32, Body)> {
        let (version, parent) = self.placement.on(this, self.item)?;
        let header = version_header(
            this,
            VersionParts {
                item: self.item,
                version,
                kind: self.kind,
                parent,
                key: &self.key,
                metadata: &self.metadata,
                content: &self.content,
            },
        )?;
        Ok((version, Body::PutItem(Box::new(header))))
    }
}

/// What a new version of an item is made of, besides the head it lands on.
struct VersionParts<'a> {
    item: ItemId,
    version: u32,
    kind: ItemKind,
    parent: Option<ItemId>,
    key: &'a SecretKey,
    metadata: &'a SealedBox,
    content: &'a Option<ContentDigest>,
}

/// The one way a version's header is built on the head `this` knows: the
/// item key sealed under the current epoch for exactly this version.
fn version_header(this: &Collection, parts: VersionParts<'_>) -> Result<ItemHeader> {
    let epoch = this.state.epoch();
    let wrapped_key = SealedBox::seal(
        this.current_key()?,
        parts.key.expose(),
        &keys::item_key_aad(&this.id(), &parts.item, parts.version, epoch),
    )?;
    Ok(ItemHeader {
        item: parts.item,
        version: parts.version,
        kind: parts.kind,
        parent: parts.parent,
        epoch,
        wrapped_key,
        metadata: parts.metadata.clone(),
        content: parts.content.clone(),
    })
}

impl Collection {
    /// Adds a folder (a sub-notebook) under `parent` (or at the top).
    pub fn add_folder(
        &mut self,
        client: &mut Client,
        parent: Option<ItemId>,
        name: &str,
    ) -> Result<ItemId> {
        self.add_new(client, parent, ItemKind::Folder, name, "", None)
    }

    /// Adds a file with its content under `parent` (or at the top). The content is
    /// sealed once on this device and stored under its ciphertext hash.
    pub fn add_file(
        &mut self,
        client: &mut Client,
        parent: Option<ItemId>,
        name: &str,
        media_type: &str,
        content: &[u8],
    ) -> Result<ItemId> {
        self.add_new(
            client,
            parent,
            ItemKind::File,
            name,
            media_type,
            Some(Content::Bytes(content)),
        )
    }

    /// Adds a file whose content is read from `content` as it is sealed, so the
    /// caller never holds the whole plaintext; the sealed blob streams to
    /// [`crate::Remote::upload_blob`].
    pub fn add_file_from_reader(
        &mut self,
        client: &mut Client,
        parent: Option<ItemId>,
        name: &str,
        media_type: &str,
        content: &mut (dyn Read + Send),
    ) -> Result<ItemId> {
        self.add_new(
            client,
            parent,
            ItemKind::File,
            name,
            media_type,
            Some(Content::Reader(content)),
        )
    }

    /// A new item under `parent`, version 1, with a fresh id.
    fn add_new(
        &mut self,
        client: &mut Client,
        parent: Option<ItemId>,
        kind: ItemKind,
        name: &str,
        media_type: &str,
        content: Option<Content<'_>>,
    ) -> Result<ItemId> {
        let item = ItemId::random()?;
        let now = client.now();
        self.put(
            client,
            item,
            kind,
            Placement::New(parent),
            name,
            media_type,
            content,
            now,
        )?;
        Ok(item)
    }

    /// Adds a new version of a file: new content, and optionally a new name.
    /// Returns the new version number.
    pub fn update_file(
        &mut self,
        client: &mut Client,
        item: ItemId,
        name: Option<&str>,
        content: &[u8],
    ) -> Result<u32> {
        let current = self.item(item)?;
        let name = name.unwrap_or(&current.metadata.name).to_owned();
        self.put(
            client,
            item,
            current.kind,
            Placement::Keep,
            &name,
            &current.metadata.media_type.clone(),
            Some(Content::Bytes(content)),
            current.metadata.created,
        )
    }

    /// Moves an item (and, for a folder, everything in it) into `parent` (or to
    /// the top): a new version with the same key, metadata and content; nothing
    /// is re-encrypted or uploaded. Returns the new version number.
    pub fn move_item(
        &mut self,
        client: &mut Client,
        item: ItemId,
        parent: Option<ItemId>,
    ) -> Result<u32> {
        let mut version = 0;
        self.commit(client, true, &mut |this, _| {
            // The newest version on this head, with its own key: a rebase over
            // a concurrent version moves that version, never an older key
            // paired with newer metadata.
            let latest = this.record(item)?.latest.header.clone();
            let key = this.item_key(&latest)?;
            version = latest.version.saturating_add(1);
            let header = version_header(
                this,
                VersionParts {
                    item,
                    version,
                    kind: latest.kind,
                    parent,
                    key: &key,
                    metadata: &latest.metadata,
                    content: &latest.content,
                },
            )?;
            Ok(Body::PutItem(Box::new(header)))
        })?;
        Ok(version)
    }

    /// Renames a folder (a new version with the new name).
    pub fn rename_folder(&mut self, client: &mut Client, item: ItemId, name: &str) -> Result<u32> {
        let current = self.item(item)?;
        if current.kind != ItemKind::Folder {
            return Err(Error::InvalidArgument("not a folder".into()));
        }
        self.put(
            client,
            item,
            ItemKind::Folder,
            Placement::Keep,
            name,
            "",
            None,
            current.metadata.created,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        client: &mut Client,
        item: ItemId,
        kind: ItemKind,
        placement: Placement,
        name: &str,
        media_type: &str,
        content: Option<Content<'_>>,
        created: u64,
    ) -> Result<u32> {
        if name.len() > MAX_ITEM_NAME || media_type.len() > MAX_ITEM_NAME {
            return Err(Error::InvalidArgument(format!(
                "an item name or media type is at most {MAX_ITEM_NAME} bytes"
            )));
        }
        let id = self.id();
        let key = SecretKey::random()?;
        if content.is_some() {
            // Refuse what the rules would refuse on the head known now before
            // sealing or uploading anything, so a refused write leaves no blob.
            let (version, parent) = placement.on(self, item)?;
            self.preflight(
                client,
                &ItemShape {
                    item,
                    version,
                    kind,
                    parent,
                    epoch: self.state.epoch(),
                    has_content: true,
                },
            )?;
        }
        let mut size = 0u64;
        let digest = match content {
            None => None,
            Some(content) => {
                let ckey = ContentKey::from_secret(keys::content_key(&key, &id, &item)?);
                let sealed = match content {
                    Content::Bytes(data) => {
                        size = data.len() as u64;
                        let sealed = if data.len() >= PARALLEL_FROM {
                            stream::seal_parallel(&ckey, data, stream::DEFAULT_CHUNK_SIZE)?
                        } else {
                            stream::seal(&ckey, data, stream::DEFAULT_CHUNK_SIZE)?
                        };
                        client.remote.put_blob(
                            &id,
                            &sealed.digest.ciphertext_hash,
                            &sealed.ciphertext,
                        )?;
                        sealed.digest
                    }
                    Content::Reader(reader) => {
                        // Sealed chunk by chunk straight into the store's upload.
                        let upload = client.remote.upload_blob(&id)?;
                        let mut writer =
                            ContentWriter::new(&ckey, upload, stream::DEFAULT_CHUNK_SIZE)?;
                        size = writer.write_from(reader)?;
                        let (upload, digest) = writer.finish()?;
                        upload.finish(&digest.ciphertext_hash)?;
                        digest
                    }
                };
                Some(sealed)
            }
        };
        let metadata = ItemMetadata {
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            size,
            created,
            modified: client.now(),
        };
        let prepared = Prepared {
            item,
            kind,
            placement,
            metadata: SealedBox::seal(
                &keys::metadata_key(&key, &id, &item)?,
                &metadata.encode(),
                &keys::metadata_aad(&id, &item),
            )?,
            key,
            content: digest,
        };
        let mut version = 0;
        self.commit(client, true, &mut |this, _| {
            let (v, body) = prepared.body(this)?;
            version = v;
            Ok(body)
        })?;
        Ok(version)
    }
}
