//! Public data as records (printing them shows no secret), and enums.

/// A member's role, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// Reads items and names.
    Viewer,
    /// Also adds items, edits and trashes their own.
    Collaborator,
    /// Also edits and trashes anyone's items, renames.
    Editor,
    /// Also purges, manages members below admin and links.
    Admin,
    /// Also transfers ownership and unshares.
    Owner,
}

impl From<Role> for sealshare::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => Self::Viewer,
            Role::Collaborator => Self::Collaborator,
            Role::Editor => Self::Editor,
            Role::Admin => Self::Admin,
            Role::Owner => Self::Owner,
        }
    }
}

impl From<sealshare::Role> for Role {
    fn from(r: sealshare::Role) -> Self {
        match r {
            sealshare::Role::Viewer => Self::Viewer,
            sealshare::Role::Collaborator => Self::Collaborator,
            sealshare::Role::Editor => Self::Editor,
            sealshare::Role::Admin => Self::Admin,
            sealshare::Role::Owner => Self::Owner,
        }
    }
}

/// Folder or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ItemKind {
    /// A folder.
    Folder,
    /// A file.
    File,
}

/// What a public link shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PublicScope {
    /// The live collection.
    Live,
    /// The collection as it stands now.
    Snapshot,
}

/// A public identity card.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IdentityCard {
    /// The handle (the app's user id).
    pub handle: String,
    /// The signed card, to publish and to pass to `share`.
    pub card: Vec<u8>,
    /// The fingerprint as digit groups.
    pub fingerprint: String,
}

impl IdentityCard {
    pub(crate) fn from_core(card: &sealshare::Identity) -> Self {
        Self {
            handle: card.handle().to_owned(),
            card: card.to_bytes(),
            fingerprint: card.fingerprint().digits(),
        }
    }

    pub(crate) fn to_core(&self) -> crate::error::Result<sealshare::Identity> {
        Ok(sealshare::Identity::from_bytes(&self.card)?)
    }
}

/// A member of a collection.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberInfo {
    /// Their handle.
    pub handle: String,
    /// Their role.
    pub role: Role,
    /// Who added them.
    pub added_by: String,
    /// When (seconds since the Unix epoch).
    pub added_at: u64,
    /// When they accepted, if they did.
    pub accepted_at: Option<u64>,
    /// Whether they joined through a link that needs approval and wait for it.
    pub awaits_approval: bool,
    /// Their fingerprint as digit groups.
    pub fingerprint: String,
}

/// An item or folder.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemInfo {
    /// Its id.
    pub id: String,
    /// Folder or file.
    pub kind: ItemKind,
    /// Its parent folder's id.
    pub parent: Option<String>,
    /// Its name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Who created it.
    pub creator: String,
    /// The newest version's author.
    pub last_author: String,
    /// The newest version number.
    pub version: u32,
    /// Whether it is in the trash.
    pub trashed: bool,
}

impl From<sealshare::Item> for ItemInfo {
    fn from(i: sealshare::Item) -> Self {
        Self {
            id: i.id.to_text(),
            kind: match i.kind {
                sealshare::ItemKind::Folder => ItemKind::Folder,
                sealshare::ItemKind::File => ItemKind::File,
            },
            parent: i.parent.map(|p| p.to_text()),
            name: i.metadata.name.clone(),
            media_type: i.metadata.media_type.clone(),
            size: i.metadata.size,
            creator: i.creator.clone(),
            last_author: i
                .versions
                .last()
                .map(|v| v.author.clone())
                .unwrap_or_default(),
            version: i.version(),
            trashed: i.trashed,
        }
    }
}

/// An item of a listing that could not be read (its key box or metadata does
/// not open under the keys this account or link holds), and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UnreadableItem {
    /// Its id.
    pub id: String,
    /// Why it could not be read.
    pub reason: String,
}

/// A listing: every item that could be read, and a report of each that could
/// not, so one bad item never hides the others. Every item the listing covers
/// is in exactly one of the two lists.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemListing {
    /// The items that could be read, sorted by name.
    pub items: Vec<ItemInfo>,
    /// The items that could not, sorted by id.
    pub unreadable: Vec<UnreadableItem>,
}

impl From<sealshare::ItemListing> for ItemListing {
    fn from(l: sealshare::ItemListing) -> Self {
        Self {
            items: l.items.into_iter().map(ItemInfo::from).collect(),
            unreadable: l
                .unreadable
                .into_iter()
                .map(|u| UnreadableItem {
                    id: u.id.to_text(),
                    reason: u.error.to_string(),
                })
                .collect(),
        }
    }
}

/// One line of a collection's verified history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// Position in the log.
    pub seq: u64,
    /// Claimed time.
    pub time: u64,
    /// Verified author.
    pub author: String,
    /// What happened, in words.
    pub text: String,
}

/// A link as the log shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkInfo {
    /// Its id.
    pub id: String,
    /// "invite" or "public".
    pub kind: String,
    /// Who created it.
    pub creator: String,
    /// When it expires.
    pub expires_at: u64,
    /// Who joined through it (invite links).
    pub joined: Vec<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A collection in the "shared with me" list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SharedCollection {
    /// The collection's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// This account's role.
    pub role: Role,
    /// Who added this account.
    pub added_by: String,
    /// When.
    pub added_at: u64,
    /// Whether this account accepted.
    pub accepted: bool,
}
