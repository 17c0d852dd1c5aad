//! Items: adding and editing files and folders, moving them in the folder tree,
//! the trash, and purging.

use super::{Actor, Draft, EventKind, ItemRecord, ItemVersion, LogState, MAX_ITEMS};
use crate::log::op::{ItemHeader, ItemId, ItemKind};
use crate::log::rules::{NO_SUCH_FOLDER, Violation};

impl LogState {
    /// An item goes into the trash (`trash`) or comes out of it. (Who may:
    /// the authority table, with the folder rule of `LogState::item_action`.)
    pub(super) fn set_trashed(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        item: ItemId,
        trash: bool,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        let rec = self.items.get(&item).ok_or(Violation::NoSuchItem)?;
        match (trash, rec.trashed.is_some()) {
            (true, true) => return Err(Violation::TrashState("already in the trash")),
            (false, false) => return Err(Violation::TrashState("not in the trash")),
            _ => {}
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        if let Some(rec) = self.items.get_mut(&item) {
            rec.trashed = trash.then(|| (actor.name.to_owned(), op.time));
        }
        Ok(if trash {
            EventKind::Trashed(item)
        } else {
            EventKind::Restored(item)
        })
    }

    /// A trashed item (an empty folder, or a file) is gone for good: its id is
    /// kept in the purged set, and no later operation may put it back.
    pub(super) fn purge(&mut self, item: ItemId, dry: bool) -> Result<EventKind, Violation> {
        let rec = self.items.get(&item).ok_or(Violation::NoSuchItem)?;
        if rec.trashed.is_none() {
            return Err(Violation::TrashState("not in the trash"));
        }
        if rec.children > 0 {
            return Err(Violation::FolderNotEmpty);
        }
        if dry {
            return Ok(EventKind::Accepted);
        }
        let parent = rec.latest.header.parent;
        if rec.kind() == ItemKind::Folder {
            self.folders.remove(item);
        }
        self.items.remove(&item);
        self.purged.insert(item);
        if let Some(p) = parent.and_then(|p| self.items.get_mut(&p)) {
            p.children = p.children.saturating_sub(1);
        }
        Ok(EventKind::Purged(item))
    }

    /// A new item, or a new version of one, checked against the author's role,
    /// the version chain, the folder tree and the current key. A purged id is
    /// refused at every version: a purge is final.
    pub(super) fn put_item(
        &mut self,
        op: &Draft<'_>,
        actor: Actor<'_>,
        header: &ItemHeader,
        dry: bool,
    ) -> Result<EventKind, Violation> {
        let author = actor.name;
        match (header.kind, &header.content) {
            (ItemKind::Folder, Some(_)) => {
                return Err(Violation::ItemShape("a folder has no content"));
            }
            (ItemKind::File, None) => return Err(Violation::ItemShape("a file has content")),
            _ => {}
        }
        let old_parent = match self.items.get(&header.item) {
            None if self.purged.contains(&header.item) => return Err(Violation::ItemPurged),
            None => {
                if header.version != 1 {
                    return Err(Violation::WrongVersion {
                        expected: 1,
                        found: header.version,
                    });
                }
                if self.items.len() >= MAX_ITEMS {
                    return Err(Violation::Limit("too many items"));
                }
                None
            }
            Some(rec) => {
                let expected = rec.latest.header.version.saturating_add(1);
                if header.version != expected {
                    return Err(Violation::WrongVersion {
                        expected,
                        found: header.version,
                    });
                }
                if rec.kind() != header.kind {
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
        if let Some(parent) = header.parent {
            self.check_parent(parent)?;
            // Only moving an existing folder can close a cycle: a new item is
            // in no folder's subtree yet, and a file holds nothing. The tree
            // answers in O(log n) amortized, whatever its depth.
            let moves_folder = header.kind == ItemKind::Folder
                && old_parent.is_some_and(|previous| previous != header.parent);
            if moves_folder && self.folders.contains(header.item, parent) {
                return Err(Violation::BadParent("a folder cannot be inside itself"));
            }
        }
        // Last, so a client checking a write before it rotates learns every
        // other reason it would be refused.
        self.check_fresh_epoch(header.epoch, op.time)?;
        if dry {
            return Ok(EventKind::Accepted);
        }
        let version = ItemVersion {
            header: header.clone(),
            author: author.to_owned(),
            time: op.time,
            seq: op.seq,
        };
        match old_parent {
            None => {
                self.items.insert(
                    header.item,
                    ItemRecord {
                        creator: version.author.clone(),
                        latest: version,
                        older: Vec::new(),
                        trashed: None,
                        children: 0,
                    },
                );
                self.adjust_children(header.parent, 1);
                if header.kind == ItemKind::Folder {
                    // Cannot fail: the parent is a live folder (checked above).
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
                        // Cannot fail: checked above, no cycle.
                        self.folders.move_to(header.item, header.parent);
                    }
                }
            }
        }
        Ok(EventKind::ItemPut {
            item: header.item,
            version: header.version,
            kind: header.kind,
        })
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
