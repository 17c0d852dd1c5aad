//! The roles table as code (roles, the actions each may take), and the rules
//! an operation can break. README.md §Roles and SPEC.md §Authority print the
//! same table; `authority.rs` decides who may sign what.
//!
//! Every client checks every operation against these rules with the state just
//! before it; so can a server, since no secret is involved.

use std::fmt;

use crate::wire::DecodeError;

/// A member's role, lowest to highest. The order is the order of rights: each
/// role may do everything the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads items and names.
    Viewer = 1,
    /// Also adds items and folders, and edits, trashes and restores their own.
    Collaborator = 2,
    /// Also edits, trashes and restores anyone's items, and renames the collection.
    Editor = 3,
    /// Also purges from trash, manages members below Admin, and manages links.
    Admin = 4,
    /// Also transfers ownership and unshares from everyone. Exactly one per collection.
    Owner = 5,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Collaborator,
        Role::Editor,
        Role::Admin,
        Role::Owner,
    ];

    /// The role's name as shown to users.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Collaborator => "collaborator",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Parses a role name as produced by [`Role::name`].
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The role's wire byte.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// Decodes a role's wire byte.
    pub fn from_byte(b: u8) -> Result<Role, DecodeError> {
        Role::ALL
            .into_iter()
            .find(|r| *r as u8 == b)
            .ok_or(DecodeError::invalid("role", "unknown role"))
    }

    /// The lowest role allowed to perform `action` (the roles table).
    pub fn required_for(action: Action) -> Role {
        match action {
            Action::Read => Role::Viewer,
            Action::AddItem | Action::EditOwnItem | Action::RotateKey => Role::Collaborator,
            Action::EditAnyItem | Action::Rename => Role::Editor,
            Action::Purge | Action::ManageMembers | Action::ManageLinks | Action::RecoverKey => {
                Role::Admin
            }
            Action::TransferOwnership | Action::Unshare => Role::Owner,
        }
    }

    /// Whether this role may perform `action`.
    pub fn may(self, action: Action) -> bool {
        self >= Role::required_for(action)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An action from the roles table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read items and names.
    Read,
    /// Add items and folders.
    AddItem,
    /// Edit, trash or restore an item one added.
    EditOwnItem,
    /// Edit, trash or restore anyone's item.
    EditAnyItem,
    /// Rename the collection (its name and description).
    Rename,
    /// Purge an item from the trash.
    Purge,
    /// Add, remove or change the role of members below one's own role.
    ManageMembers,
    /// Create and revoke invite and public links.
    ManageLinks,
    /// Make another member the owner.
    TransferOwnership,
    /// Remove every member at once.
    Unshare,
    /// Start a new epoch whose key is wrapped to the same members, sealing the
    /// previous epoch key under it.
    RotateKey,
    /// Start a new epoch that passes over an epoch whose key cannot be
    /// recovered, carrying the older keys the signer holds.
    RecoverKey,
}

impl Action {
    /// The action as worded in the roles table.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read items and names",
            Action::AddItem => "add items and folders",
            Action::EditOwnItem => "edit, trash or restore their own items",
            Action::EditAnyItem => "edit, trash or restore other members' items",
            Action::Rename => "rename the collection",
            Action::Purge => "purge from trash",
            Action::ManageMembers => "manage members",
            Action::ManageLinks => "manage links",
            Action::TransferOwnership => "transfer ownership",
            Action::Unshare => "unshare from everyone",
            Action::RotateKey => "rotate the key",
            Action::RecoverKey => "recover the key past a bad epoch",
        }
    }
}

/// The rule an operation broke. Each names what a reader needs to see why the
/// operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The operation could not be decoded (unknown kind, unsupported version, bad field).
    #[error("malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// A share, removal or revocation that names nothing.
    #[error("it names no {0}: at least one is needed")]
    EmptyList(&'static str),
    /// A removal or revocation that names the same member or link twice.
    #[error("{0} is named twice")]
    NamedTwice(String),
    /// The operation names another collection.
    #[error("it belongs to another collection")]
    WrongCollection,
    /// The sequence number is not the next one.
    #[error("sequence number {found}, expected {expected}")]
    WrongSequence {
        /// The next sequence number.
        expected: u64,
        /// The one the operation carries.
        found: u64,
    },
    /// The operation does not chain onto the previous one (its previous-hash differs).
    #[error("it does not chain onto the previous operation")]
    BrokenChain,
    /// The claimed time is earlier than the previous operation's.
    #[error("its time {claimed} is earlier than the previous operation's {previous}")]
    TimeWentBackwards {
        /// The previous operation's time.
        previous: u64,
        /// The time claimed.
        claimed: u64,
    },
    /// The signature does not verify under the author's key.
    #[error("its signature does not verify under {author:?}'s key")]
    BadSignature {
        /// The claimed author.
        author: String,
    },
    /// The first operation must create the collection, and only the first may.
    #[error("only the first operation creates the collection, and it must")]
    Genesis,
    /// The author is not a member (never was, was removed, or left).
    #[error("{author:?} is not a member")]
    NotAMember {
        /// The author.
        author: String,
    },
    /// The author has not accepted the share yet; they may only accept or decline.
    #[error("{author:?} has not accepted the share yet")]
    NotAccepted {
        /// The author.
        author: String,
    },
    /// The author's role does not allow the action.
    #[error("{author:?} is {role}; to {} needs {}", action.describe(), Role::required_for(*action))]
    RoleTooLow {
        /// The author.
        author: String,
        /// Their role.
        role: Role,
        /// What they tried.
        action: Action,
    },
    /// A member may only grant, change or remove roles strictly below their own.
    #[error(
        "{author:?} is {role} and may only manage members below {role} (target: {target:?} as {target_role})"
    )]
    NotBelowOwnRole {
        /// The author.
        author: String,
        /// Their role.
        role: Role,
        /// The member concerned.
        target: String,
        /// The role involved (current or granted).
        target_role: Role,
    },
    /// Ownership only changes by a transfer.
    #[error("the owner role is only given by a transfer of ownership")]
    OwnerOnlyByTransfer,
    /// The owner cannot leave before transferring ownership.
    #[error("the owner cannot leave before transferring ownership")]
    OwnerCannotLeave,
    /// The handle is already a member.
    #[error("{0:?} is already a member")]
    AlreadyMember(String),
    /// The handle is not a member.
    #[error("{0:?} is not a member")]
    NoSuchMember(String),
    /// The member already accepted.
    #[error("{0:?} already accepted")]
    AlreadyAccepted(String),
    /// The operation uses an epoch other than the current one.
    #[error("it uses epoch {found}, the current epoch is {current}")]
    WrongEpoch {
        /// The collection's current epoch.
        current: u64,
        /// The epoch used.
        found: u64,
    },
    /// A member left and the key was not rotated yet; nothing new may be encrypted
    /// under a key a former member knows.
    #[error("the epoch key must be rotated first: a member left since it was made")]
    RotationRequired,
    /// A rotation must wrap the new key to exactly the remaining members.
    #[error("the new epoch key must be wrapped to exactly the remaining members ({0})")]
    RotationRecipients(&'static str),
    /// The item does not exist (or was purged).
    #[error("no such item")]
    NoSuchItem,
    /// An item with this id already exists.
    #[error("the item already exists")]
    ItemExists,
    /// The item was purged: a purge is final, and its id is never used again.
    #[error("the item was purged; its id cannot be used again")]
    ItemPurged,
    /// The version number is not the next one for the item.
    #[error("item version {found}, expected {expected}")]
    WrongVersion {
        /// The next version.
        expected: u32,
        /// The version carried.
        found: u32,
    },
    /// The item's kind (folder or file) cannot change, and files carry content
    /// while folders do not.
    #[error("{0}")]
    ItemShape(&'static str),
    /// The parent is missing, not a folder, or would make a folder its own ancestor.
    #[error("bad parent folder: {0}")]
    BadParent(&'static str),
    /// The item is in the trash (restore it first) or not in the trash.
    #[error("the item is {0}")]
    TrashState(&'static str),
    /// A folder still holding items cannot be purged.
    #[error("the folder still holds items")]
    FolderNotEmpty,
    /// No link with this id.
    #[error("no such link")]
    NoSuchLink,
    /// The link was revoked.
    #[error("the link was revoked")]
    LinkRevoked,
    /// The link expired before the operation's time.
    #[error("the link expired at {expired_at}; the join claims {claimed}")]
    LinkExpired {
        /// When it expired.
        expired_at: u64,
        /// The time the join claims.
        claimed: u64,
    },
    /// The link's creator no longer may grant what it grants (they left, were
    /// removed or demoted): the link grants nothing and holds no later key.
    #[error("the link's creator {0:?} no longer may grant what it grants")]
    LinkLapsed(String),
    /// The link's use limit is reached.
    #[error("the link's use limit is reached")]
    LinkUsedUp,
    /// A join claims another role than its link grants.
    #[error("the link grants {link}, the join claims {claimed}")]
    WrongLinkRole {
        /// The link's role.
        link: Role,
        /// The role claimed.
        claimed: Role,
    },
    /// A join does not prove knowledge of the link secret.
    #[error("the join does not prove knowledge of the link secret")]
    BadJoinProof,
    /// A link's terms are not acceptable.
    #[error("bad link terms: {0}")]
    LinkTerms(&'static str),
    /// No pending invitation for this handle.
    #[error("no pending invitation for {0:?}")]
    NoSuchInvitation(String),
    /// The member does not wait for approval.
    #[error("{0:?} does not wait for approval")]
    NotAwaitingApproval(String),
    /// The member joined through a link that needs approval and holds no key
    /// yet, so they cannot take on what needs one (such as ownership).
    #[error("{0:?} waits for approval")]
    AwaitsApproval(String),
    /// A limit on the size of the state was reached.
    #[error("limit reached: {0}")]
    Limit(&'static str),
}

/// Why [`Violation::BadParent`] refuses a parent that is not in the collection
/// (a caller naming it gets [`crate::Error::NotFound`]).
pub(crate) const NO_SUCH_FOLDER: &str = "no such folder";

impl Violation {
    /// Whether the author was refused for their role alone: an accepted
    /// member holding the key whose role does not allow the request by the
    /// roles table (too low, managing a member or granting a role not below
    /// their own, the owner leaving). The authority table refuses anyone
    /// else for their standing first, so these reach only members.
    pub fn is_about_role(&self) -> bool {
        matches!(
            self,
            Violation::RoleTooLow { .. }
                | Violation::NotBelowOwnRole { .. }
                | Violation::OwnerCannotLeave
        )
    }
}
