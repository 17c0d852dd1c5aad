//! The collection's history as an audit trail: every verified operation, with its
//! author, time and a readable line.

use crate::collection::Collection;
use crate::log::{Event, EventKind, ItemId, ItemKind};

/// One line of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The operation's sequence number.
    pub seq: u64,
    /// Its claimed time (never earlier than the previous entry's).
    pub time: u64,
    /// Its verified author.
    pub author: String,
    /// What it did, as data.
    pub event: EventKind,
    /// What it did, in words (item names decrypted when this account can).
    pub text: String,
}

impl Collection {
    /// Every verified operation, oldest first, as an audit trail.
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.state
            .history()
            .iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                time: e.time,
                author: e.author.clone(),
                event: e.what.clone(),
                text: self.describe(e),
            })
            .collect()
    }

    fn item_label(&self, item: &ItemId) -> String {
        match self.item(*item) {
            Ok(i) => format!("{:?}", i.metadata.name),
            Err(_) => format!("item {item}"),
        }
    }

    fn describe(&self, e: &Event) -> String {
        let who = &e.author;
        match &e.what {
            EventKind::Created => format!("{who} created the collection"),
            EventKind::Renamed => format!("{who} renamed the collection"),
            EventKind::Shared(list) => {
                let people: Vec<String> = list.iter().map(|(h, r)| format!("{h} as {r}")).collect();
                format!("{who} shared with {}", people.join(", "))
            }
            EventKind::Accepted => format!("{who} accepted the share"),
            EventKind::RoleChanged { member, from, to } => {
                format!("{who} changed {member} from {from} to {to}")
            }
            EventKind::Removed { member, epoch } => {
                format!("{who} removed {member} (new key epoch {epoch})")
            }
            EventKind::Left => format!("{who} left"),
            EventKind::Unshared { removed, epoch } => format!(
                "{who} unshared from everyone ({} removed, new key epoch {epoch})",
                removed.len()
            ),
            EventKind::Transferred { to } => format!("{who} made {to} the owner"),
            EventKind::Rotated { epoch } => format!("{who} rotated the key (epoch {epoch})"),
            EventKind::ItemPut {
                item,
                version,
                kind,
            } => {
                let what = match kind {
                    ItemKind::Folder => "folder",
                    ItemKind::File => "file",
                };
                if *version == 1 {
                    format!("{who} added {what} {}", self.item_label(item))
                } else {
                    format!("{who} saved version {version} of {}", self.item_label(item))
                }
            }
            EventKind::Trashed(item) => format!("{who} trashed {}", self.item_label(item)),
            EventKind::Restored(item) => format!("{who} restored {}", self.item_label(item)),
            EventKind::Purged(item) => format!("{who} purged item {item}"),
        }
    }
}
