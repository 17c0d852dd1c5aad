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

/// What a public link shows (a link to chosen items is made with
/// `Collection.create_item_link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PublicScope {
    /// The live collection.
    Live,
    /// The collection as it stands now.
    Snapshot,
}

impl From<PublicScope> for sealshare::PublicScope {
    fn from(s: PublicScope) -> Self {
        match s {
            PublicScope::Live => Self::Live,
            PublicScope::Snapshot => Self::Snapshot,
        }
    }
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
    /// Their card, as this collection's log holds it.
    pub card: IdentityCard,
    /// How this user's trust store judges that card.
    pub trust: CardTrust,
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
    /// Whose key signed the newest version, as this user's trust store
    /// judges it (`None` through a public link, which has no trust store).
    /// Show a version by a changed or an earlier key as not the author's.
    pub last_author_trust: Option<SignerTrust>,
}

/// Whose key signed an operation, for this user.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SignerTrust {
    /// The author's current card in the log, judged so.
    Current {
        /// How the trust store judges it.
        trust: CardTrust,
    },
    /// A key from before the author's current membership (a reinstall, a key
    /// change, an impostor since removed), or someone no longer a member.
    Earlier,
}

impl SignerTrust {
    pub(crate) fn from_core(t: sealshare::SignerTrust) -> Self {
        match t {
            sealshare::SignerTrust::Current(trust) => Self::Current {
                trust: CardTrust::from_core(trust),
            },
            sealshare::SignerTrust::Earlier => Self::Earlier,
        }
    }
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
            last_author_trust: None,
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

impl ItemListing {
    /// A member's listing, each item with whose key signed its newest version.
    pub(crate) fn judged(l: sealshare::ItemListing, signers: &sealshare::Signers<'_>) -> Self {
        let trust: Vec<_> = l
            .items
            .iter()
            .map(|i| {
                i.versions
                    .last()
                    .map(|v| SignerTrust::from_core(signers.judge(&v.author, v.seq)))
            })
            .collect();
        let mut out = Self::from(l);
        for (item, t) in out.items.iter_mut().zip(trust) {
            item.last_author_trust = t;
        }
        out
    }
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

/// Whether a link invites (join at a role) or shows (read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LinkPurpose {
    /// An invite link.
    Invite,
    /// A public link.
    Public,
}

impl From<sealshare::LinkPurpose> for LinkPurpose {
    fn from(p: sealshare::LinkPurpose) -> Self {
        match p {
            sealshare::LinkPurpose::Invite => Self::Invite,
            sealshare::LinkPurpose::Public => Self::Public,
        }
    }
}

/// A link as the log shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkInfo {
    /// Its id.
    pub id: String,
    /// Whether it invites or shows.
    pub kind: LinkPurpose,
    /// Who created it.
    pub creator: String,
    /// When it expires.
    pub expires_at: u64,
    /// Who joined through it (invite links).
    pub joined: Vec<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A collection this user is in (owned, or shared and accepted), in a listing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ListedCollection {
    /// The collection's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// This user's role.
    pub role: Role,
    /// Who added this user (this user for the creator and for a join).
    pub added_by: String,
    /// When.
    pub added_at: u64,
    /// When this user accepted (or joined, or created it).
    pub accepted_at: u64,
}

impl ListedCollection {
    pub(crate) fn from_core(l: &sealshare::ListedCollection) -> Self {
        Self {
            id: l.collection.id().to_text(),
            name: l.name.clone(),
            owner: l.owner.clone(),
            role: l.role.into(),
            added_by: l.added_by.clone(),
            added_at: l.added_at,
            accepted_at: l.accepted_at,
        }
    }
}

/// Why a collection is pending for this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PendingKind {
    /// Shared and not accepted yet: the user may accept or decline.
    Share,
    /// Joined through a link that needs approval: waits for an admin.
    Approval,
    /// Invited by handle: waits for an admin to complete the invitation.
    Invitation,
}

/// A collection this user was shared with, joined or invited to but is not
/// in yet, in a listing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingCollection {
    /// The collection's id.
    pub id: String,
    /// Why it is pending.
    pub kind: PendingKind,
    /// Its name, once this user holds its key (a share); otherwise none.
    pub name: Option<String>,
    /// Its owner.
    pub owner: String,
    /// The role this user has, or gets.
    pub role: Role,
    /// Who shared or invited (for a join awaiting approval: the link's creator).
    pub by: String,
    /// When.
    pub at: u64,
}

impl PendingCollection {
    pub(crate) fn from_core(p: &sealshare::PendingCollection) -> Self {
        Self {
            id: p.collection.id().to_text(),
            kind: match p.kind {
                sealshare::PendingKind::Share => PendingKind::Share,
                sealshare::PendingKind::Approval => PendingKind::Approval,
                sealshare::PendingKind::Invitation => PendingKind::Invitation,
            },
            name: p.name.clone(),
            owner: p.owner.clone(),
            role: p.role.into(),
            by: p.by.clone(),
            at: p.at,
        }
    }
}

/// A collection the server listed for this user that failed: its log did not
/// verify, its name did not open, or it does not show this user at all.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailedCollection {
    /// The collection's id.
    pub id: String,
    /// Why, as a sentence.
    pub reason: String,
}

/// Every collection this user appears in, and every one that failed: nothing
/// the server lists is dropped in silence.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CollectionListing {
    /// Collections this user owns.
    pub mine: Vec<ListedCollection>,
    /// Collections shared with this user, accepted.
    pub shared: Vec<ListedCollection>,
    /// Collections this user is not in yet.
    pub pending: Vec<PendingCollection>,
    /// Collections that failed, with why.
    pub failed: Vec<FailedCollection>,
}

/// How the trust store judges a card.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CardTrust {
    /// No card is pinned for its handle: only as good as who introduced it.
    Unpinned,
    /// The handle's current pinned card, not verified.
    Pinned,
    /// The handle's current pinned card, verified at this time.
    Verified {
        /// When (seconds since the Unix epoch).
        at: u64,
    },
    /// Another card is pinned for its handle: unconfirmed, nothing is wrapped
    /// to it until the user accepts it (`Session.confirm_changed_key`).
    Changed {
        /// The card pinned now.
        pinned: IdentityCard,
    },
}

impl CardTrust {
    pub(crate) fn from_core(t: sealshare::CardTrust) -> Self {
        match t {
            sealshare::CardTrust::Unpinned => Self::Unpinned,
            sealshare::CardTrust::Pinned => Self::Pinned,
            sealshare::CardTrust::Verified { at } => Self::Verified { at },
            sealshare::CardTrust::Changed { pinned } => Self::Changed {
                pinned: IdentityCard::from_core(&pinned),
            },
        }
    }
}

/// Which of the user's own acts pinned a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PinReason {
    /// The first card seen for the handle, used by the user (trust on first use).
    FirstUse,
    /// The user accepted a share from the card's holder, who was unknown.
    AcceptedShare,
    /// The user confirmed a changed key (`Session.confirm_changed_key`).
    ConfirmedChange,
}

impl From<sealshare::PinReason> for PinReason {
    fn from(r: sealshare::PinReason) -> Self {
        match r {
            sealshare::PinReason::FirstUse => Self::FirstUse,
            sealshare::PinReason::AcceptedShare => Self::AcceptedShare,
            sealshare::PinReason::ConfirmedChange => Self::ConfirmedChange,
        }
    }
}

/// One card pinned for a handle, by one of the user's own acts.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PinnedCardInfo {
    /// The card.
    pub card: IdentityCard,
    /// When it was pinned.
    pub pinned_at: u64,
    /// Which act pinned it.
    pub how: PinReason,
    /// When the user marked it verified, if they did.
    pub verified_at: Option<u64>,
}

impl PinnedCardInfo {
    pub(crate) fn from_core(c: &sealshare::PinnedCard) -> Self {
        Self {
            card: IdentityCard::from_core(&c.card),
            pinned_at: c.pinned_at,
            how: c.how.into(),
            verified_at: c.verified_at,
        }
    }
}

/// A card a verified log introduced, and who introduced it (not pinned).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IntroductionInfo {
    /// The card.
    pub card: IdentityCard,
    /// Who signed the operation that carries it.
    pub introduced_by: String,
    /// In which collection.
    pub collection_id: String,
    /// At which position of its log.
    pub seq: u64,
}

/// What `Session.save_state` returns: store `state` first, then `keystore`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SavedState {
    /// The sealed session state (trust store, checkpoints).
    pub state: Vec<u8>,
    /// The keystore resealed with the trust generation `state` must match.
    pub keystore: Option<Vec<u8>>,
}

/// Whether a restored session's trust store is the last one saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TrustRestore {
    /// It is: verified marks are as the user left them.
    Current,
    /// An older state was restored: every verified mark was dropped.
    RolledBack {
        /// The generation restored.
        saved: u64,
        /// The generation the keystore expects.
        expected: u64,
    },
    /// No state was given but the keystore expects one: nothing is pinned.
    Missing {
        /// The generation the keystore expects.
        expected: u64,
    },
}

impl From<sealshare::TrustRestored> for TrustRestore {
    fn from(t: sealshare::TrustRestored) -> Self {
        match t {
            sealshare::TrustRestored::Current => Self::Current,
            sealshare::TrustRestored::RolledBack { saved, expected } => {
                Self::RolledBack { saved, expected }
            }
            sealshare::TrustRestored::Missing { expected } => Self::Missing { expected },
        }
    }
}
