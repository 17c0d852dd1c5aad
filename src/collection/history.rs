//! The collection's history as an audit trail: every verified operation, with its
//! author, time and a readable line.

use crate::collection::Collection;
use crate::log::link_terms::{LinkKind, LinkTerms, PublicScope};
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
                author: e.author.to_string(),
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
            EventKind::Removed { members, epoch } => {
                format!(
                    "{who} removed {} (new key epoch {epoch})",
                    members.join(", ")
                )
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
            EventKind::LinkCreated(link) => match self.state.links().get(link) {
                Some(rec) => format!("{who} created {}", describe_link(&rec.terms)),
                None => format!("{who} created link {link}"),
            },
            EventKind::LinksRevoked { links, epoch } => {
                let rotated = epoch.map_or(String::new(), |e| format!(" (new key epoch {e})"));
                if links.len() == 1 {
                    format!("{who} revoked a link{rotated}")
                } else {
                    format!("{who} revoked {} links{rotated}", links.len())
                }
            }
            EventKind::Joined {
                role,
                awaiting_approval,
                ..
            } => {
                let wait = if *awaiting_approval {
                    ", awaiting approval"
                } else {
                    ""
                };
                format!("{who} joined through an invite link as {role}{wait}")
            }
            EventKind::Approved(member) => format!("{who} approved {member}'s join"),
            EventKind::Invited { handle, role } => format!("{who} invited {handle} as {role}"),
            EventKind::InvitationCompleted(handle) => {
                format!("{who} completed the invitation of {handle}")
            }
            EventKind::InvitationCancelled(handle) => {
                format!("{who} cancelled the invitation of {handle}")
            }
        }
    }
}

fn describe_link(terms: &LinkTerms) -> String {
    match &terms.kind {
        LinkKind::Invite {
            role,
            max_uses,
            approval,
        } => {
            let uses = if *max_uses == 0 {
                String::new()
            } else {
                format!(", {max_uses} uses")
            };
            let approval = if *approval { ", with approval" } else { "" };
            format!("an invite link as {role}{uses}{approval}")
        }
        LinkKind::Public { scope, .. } => {
            let scope = match scope {
                PublicScope::Live => "the live collection",
                PublicScope::Snapshot => "a snapshot",
                PublicScope::Items => "chosen items",
            };
            let password = if terms.password.is_some() {
                ", with a password"
            } else {
                ""
            };
            format!("a public link to {scope}{password}")
        }
    }
}
