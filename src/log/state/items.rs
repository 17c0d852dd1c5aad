//! Items: adding and editing files and folders, moving them in the folder tree,
//! the trash, and purging.

use super::{Draft, EventKind, ItemRecord, ItemVersion, LogState, MAX_ITEMS};
use crate::log::op::{ItemHeader, ItemId, ItemKind};
use crate::log::rules::{NO_SUCH_FOLDER, Violation};

/// What the rules read of a version of an item: its header but the sealed
/// item key and metadata, and of its content only whether it has any. Enough
/// to check a write before anything is sealed ([`LogState::check_put`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ItemShape {
    /// The item.
    pub(crate) item: ItemId,
    /// The version, from 1.
    pub(crate) version: u32,
    /// Folder or file.
    pub(crate) kind: ItemKind,
    /// The parent folder, or `None` at the top of the collection.
    pub(crate) parent: Option<ItemId>,
    /// The epoch whose key seals the version.
    pub(crate) epoch: u64,
    /// Whether it carries content (files do, folders do not).
    pub(crate) has_content: bool,
}

impl ItemShape {
    /// What the rules read of `header`.
    pub(crate) fn of(header: &ItemHeader) -> Self {
        Self {
            item: header.item,
            version: header.version,
            kind: header.kind,
            parent: header.parent,
            epoch: header.epoch,
            has_content: header.content.is_some(),
        }
    }
}

impl LogState {
    /// Checks, changing nothing, whether `author` may put a version of the
    /// shape `shape` at `time` as the next operation: the verdict
    /// [`LogState::check_draft`] gives a [`crate::log::Body::PutItem`] of a
    /// header of that shape, whatever its sealed key, metadata and digest.
    /// What a client runs before it seals and uploads a version's content.
    pub(crate) fn check_put(
        &mut self,
        author: &str,
        time: u64,
        shape: &ItemShape,
    ) -> Result<(), Violation> {
        self.check_time(time)?;
        self.admit(author, self.put_request(author, shape))?;
        self.check_put_item(time, shape).map(|_| ())
    }

    /// An item goes into the trash (`trash`) or comes out of it. (Who may:
    /// the authority table, with the folder rule of `LogState::item_action`.)
    pub(super) fn check_set_trashed(&self, item: ItemId, trash: bool) -> Result<(), Violation> {
        let rec = self.items.get(&item).ok_or(Violation::NoSuchItem)?;
        match (trash, rec.trashed.is_some()) {
            (true, true) => Err(Violation::TrashState("already in the trash")),
            (false, false) => Err(Violation::TrashState("not in the trash")),
            _ => Ok(()),
        }
    }

    /// Applies a checked trash or restore.
    pub(super) fn apply_set_trashed(
        &mut self,
        op: &Draft<'_>,
        item: ItemId,
        trash: bool,
    ) -> EventKind {
        if let Some(rec) = self.items.get_mut(&item) {
            rec.trashed = trash.then(|| (op.author.to_owned(), op.time));
        }
        if trash {
            EventKind::Trashed(item)
        } else {
            EventKind::Restored(item)
        }
    }

    /// A trashed item (an empty folder, or a file) is gone for good: its id is
    /// kept in the purged set, and no later operation may put it back.
    pub(super) fn check_purge(&self, item: ItemId) -> Result<(), Violation> {
        let rec = self.items.get(&item).ok_or(Violation::NoSuchItem)?;
        if rec.trashed.is_none() {
            return Err(Violation::TrashState("not in the trash"));
        }
        if rec.children > 0 {
            return Err(Violation::FolderNotEmpty);
        }
        Ok(())
    }

    /// Applies a checked purge: the item is gone and its id kept as purged.
    pub(super) fn apply_purge(&mut self, item: ItemId) -> EventKind {
        if let Some(rec) = self.items.remove(&item) {
            if rec.kind() == ItemKind::Folder {
                self.folders.remove(item);
            }
            if let Some(p) = rec
                .latest
                .header
                .parent
                .and_then(|p| self.items.get_mut(&p))
            {
                p.children = p.children.saturating_sub(1);
            }
        }
        self.purged.insert(item);
        EventKind::Purged(item)
    }

    /// A new item, or a new version of one, checked against the version
    /// chain, the folder tree and the current key. A purged id is refused at
    /// every version: a purge is final. (Who may: the authority table.)
    /// Returns the parent of the item's latest version, or `None` for a new
    /// item. (`&mut` only for the folder tree's cycle query, which changes no
    /// folder: see [`super::FolderTree::contains`].)
    pub(super) fn check_put_item(
        &mut self,
        time: u64,
        shape: &ItemShape,
    ) -> Result<Option<Option<ItemId>>, Violation> {
        match (shape.kind, shape.has_content) {
            (ItemKind::Folder, true) => {
                return Err(Violation::ItemShape("a folder has no content"));
            }
            (ItemKind::File, false) => return Err(Violation::ItemShape("a file has content")),
            _ => {}
        }
        let old_parent = match self.items.get(&shape.item) {
            None if self.purged.contains(&shape.item) => return Err(Violation::ItemPurged),
            None => {
                if shape.version != 1 {
                    return Err(Violation::WrongVersion {
                        expected: 1,
                        found: shape.version,
                    });
                }
                if self.items.len() >= MAX_ITEMS {
                    return Err(Violation::Limit("too many items"));
                }
                None
            }
            Some(rec) => {
                let expected = rec.latest.header.version.saturating_add(1);
                if shape.version != expected {
                    return Err(Violation::WrongVersion {
                        expected,
                        found: shape.version,
                    });
                }
                if rec.kind() != shape.kind {
                    return Err(Violation::ItemShape(
                        "an item cannot change between folder and file",
                    ));
                }
                if rec.trashed.is_some() {
                    return Err(Violation::TrashState("in the trash"));
                }
                Some(rec.latest.header.parent)
            }
        };
        if let Some(parent) = shape.parent {
            self.check_parent(parent)?;
            // Only moving an existing folder can close a cycle: a new item is
            // in no folder's subtree yet, and a file holds nothing. The tree
            // answers in O(log n) amortized, whatever its depth.
            let moves_folder = shape.kind == ItemKind::Folder
                && old_parent.is_some_and(|previous| previous != shape.parent);
            if moves_folder && self.folders.contains(shape.item, parent) {
                return Err(Violation::BadParent("a folder cannot be inside itself"));
            }
        }
        // Last, so a client checking a write before it rotates learns every
        // other reason it would be refused.
        self.check_fresh_epoch(shape.epoch, time)?;
        Ok(old_parent)
    }

    /// Applies a checked version: a new item under its parent, or the item's
    /// next version (moved, if its parent changed; `old_parent` is what
    /// [`LogState::check_put_item`] returned).
    pub(super) fn apply_put_item(
        &mut self,
        op: &Draft<'_>,
        header: &ItemHeader,
        old_parent: Option<Option<ItemId>>,
    ) -> EventKind {
        let version = ItemVersion {
            header: header.clone(),
            author: self.names.get(op.author),
            time: op.time,
            seq: op.seq,
        };
        match old_parent {
            None => {
                self.items.insert(
                    header.item,
                    Box::new(ItemRecord {
                        creator: version.author.clone(),
                        latest: version,
                        older: Vec::new(),
                        trashed: None,
                        children: 0,
                    }),
                );
                self.adjust_children(header.parent, 1);
                if header.kind == ItemKind::Folder {
                    // Cannot fail: the parent is a live folder (checked).
                    self.folders.insert(header.item, header.parent);
                }
            }
            Some(previous) => {
                if let Some(rec) = self.items.get_mut(&header.item) {
                    let before = std::mem::replace(&mut rec.latest, version);
                    rec.older.push(before);
                }
                if previous != header.parent {
                    self.adjust_children(previous, -1);
                    self.adjust_children(header.parent, 1);
                    if header.kind == ItemKind::Folder {
                        // Cannot fail: checked, no cycle.
                        self.folders.move_to(header.item, header.parent);
                    }
                }
            }
        }
        EventKind::ItemPut {
            item: header.item,
            version: header.version,
            kind: header.kind,
        }
    }

    /// The parent must be a live folder (the caller checks cycles), in O(1).
    fn check_parent(&self, parent: ItemId) -> Result<(), Violation> {
        let rec = self
            .items
            .get(&parent)
            .ok_or(Violation::BadParent(NO_SUCH_FOLDER))?;
        if rec.kind() != ItemKind::Folder {
            return Err(Violation::BadParent("not a folder"));
        }
        if rec.trashed.is_some() {
            return Err(Violation::BadParent("the folder is in the trash"));
        }
        Ok(())
    }

    /// Counts a child in (or out of) `parent`.
    fn adjust_children(&mut self, parent: Option<ItemId>, delta: i32) {
        if let Some(rec) = parent.and_then(|p| self.items.get_mut(&p)) {
            rec.children = rec.children.saturating_add_signed(delta);
        }
    }
}
