//! Links as the log records them: invite links, public links, and their terms.
//! The secret of a link never appears here: only a public key derived from it,
//! and key material sealed under a key derived from it.

use crate::crypto::aead::SealedBox;
use crate::crypto::password::{Argon2Params, SALT_LEN};
use crate::crypto::wrap::WrappedSecret;
use crate::log::op::LinkId;
use crate::log::rules::Role;
use crate::wire::{DecodeError, Reader, Writer};

/// What a public link shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicScope {
    /// The live collection: follows every change, re-keyed on every rotation.
    Live,
    /// The collection as it stood when the link was made; later changes are not
    /// readable through it.
    Snapshot,
    /// A chosen set of items, as they stood when the link was made.
    Items,
}

/// Whether a link invites (join at a role) or shows (read-only): the tag of
/// its [`LinkKind`], and the kind byte of its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// An invite link.
    Invite = 1,
    /// A public link.
    Public = 2,
}

/// What kind of link, and its kind-specific terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// An invite link: whoever holds it may join at `role`.
    Invite {
        /// The role a join gets (at most the creator's, never Owner).
        role: Role,
        /// How many joins it allows; 0 for no limit.
        max_uses: u32,
        /// Whether an admin must approve each join before the joiner gets a key.
        approval: bool,
    },
    /// A read-only public link for people without an account.
    Public {
        /// What it shows.
        scope: PublicScope,
        /// How many devices may open it (for the server to enforce); 0 for no limit.
        device_limit: u32,
        /// Whether downloads are allowed (for the server to enforce).
        download: bool,
    },
}

impl LinkKind {
    /// Whether the link invites or shows.
    pub fn purpose(&self) -> LinkPurpose {
        match self {
            LinkKind::Invite { .. } => LinkPurpose::Invite,
            LinkKind::Public { .. } => LinkPurpose::Public,
        }
    }
}

/// How a password, if any, enters the link's key (Argon2id parameters and salt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordLock {
    /// The Argon2id parameters (checked against bounds on every read).
    pub params: Argon2Params,
    /// The salt.
    pub salt: [u8; SALT_LEN],
}

/// The key material a link carries, sealed under the key derived from its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKeys {
    /// None (invite links that need approval: the approver wraps the key).
    None,
    /// The key of `epoch`, wrapped to the link's KEM key; every rotation wraps the
    /// new key to it again while the link lives (any member can: it is public).
    Epoch {
        /// The epoch.
        epoch: u64,
        /// The epoch key wrapped to the link.
        wrap: WrappedSecret,
    },
    /// The keys of chosen item versions (snapshot and item links).
    Items {
        /// `n u32 || n × (item [16] || version u32 || item key [32])`, sealed.
        sealed: SealedBox,
    },
}

/// A link's terms, as signed into the log by its creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTerms {
    /// The link's id.
    pub link: LinkId,
    /// Invite or public, with its terms.
    pub kind: LinkKind,
    /// The last second it may be used (seconds since the Unix epoch).
    pub expires_at: u64,
    /// The password lock, if the link needs a password.
    pub password: Option<PasswordLock>,
    /// The signing key derived from the link secret: joins prove the secret with it.
    pub verifying_key: [u8; 32],
    /// The KEM key derived from the link secret (and password): epoch keys are
    /// wrapped to it.
    pub kem_key: [u8; 32],
    /// The key material it carries.
    pub keys: LinkKeys,
}

impl LinkTerms {
    /// Whether the link carries an epoch key (so revoking it needs a rotation).
    pub fn carries_epoch_key(&self) -> bool {
        matches!(self.keys, LinkKeys::Epoch { .. })
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.fixed(&self.link.0);
        match &self.kind {
            LinkKind::Invite {
                role,
                max_uses,
                approval,
            } => {
                w.u8(1)
                    .u8(role.to_byte())
                    .u32(*max_uses)
                    .u8(u8::from(*approval));
            }
            LinkKind::Public {
                scope,
                device_limit,
                download,
            } => {
                let s = match scope {
                    PublicScope::Live => 0,
                    PublicScope::Snapshot => 1,
                    PublicScope::Items => 2,
                };
                w.u8(2).u8(s).u32(*device_limit).u8(u8::from(*download));
            }
        }
        w.u64(self.expires_at);
        match &self.password {
            None => {
                w.u8(0);
            }
            Some(p) => {
                w.u8(1)
                    .u32(p.params.memory_kib)
                    .u32(p.params.passes)
                    .u32(p.params.lanes)
                    .fixed(&p.salt);
            }
        }
        w.fixed(&self.verifying_key).fixed(&self.kem_key);
        match &self.keys {
            LinkKeys::None => {
                w.u8(0);
            }
            LinkKeys::Epoch { epoch, wrap } => {
                w.u8(1).u64(*epoch);
                wrap.write(w);
            }
            LinkKeys::Items { sealed } => {
                w.u8(2);
                sealed.write(w);
            }
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let link = LinkId(r.array()?);
        let bool_byte = |b: u8| match b {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::invalid("link terms", "bad flag")),
        };
        let kind = match r.u8()? {
            1 => LinkKind::Invite {
                role: Role::from_byte(r.u8()?)?,
                max_uses: r.u32()?,
                approval: bool_byte(r.u8()?)?,
            },
            2 => LinkKind::Public {
                scope: match r.u8()? {
                    0 => PublicScope::Live,
                    1 => PublicScope::Snapshot,
                    2 => PublicScope::Items,
                    _ => return Err(DecodeError::invalid("public link scope", "unknown")),
                },
                device_limit: r.u32()?,
                download: bool_byte(r.u8()?)?,
            },
            _ => return Err(DecodeError::invalid("link kind", "unknown")),
        };
        let expires_at = r.u64()?;
        let password = match r.u8()? {
            0 => None,
            1 => Some(PasswordLock {
                params: Argon2Params {
                    memory_kib: r.u32()?,
                    passes: r.u32()?,
                    lanes: r.u32()?,
                },
                salt: r.array()?,
            }),
            _ => return Err(DecodeError::invalid("link password", "bad flag")),
        };
        let verifying_key = r.array()?;
        let kem_key = r.array()?;
        let keys = match r.u8()? {
            0 => LinkKeys::None,
            1 => LinkKeys::Epoch {
                epoch: r.u64()?,
                wrap: WrappedSecret::read(r)?,
            },
            2 => LinkKeys::Items {
                sealed: SealedBox::read(r)?,
            },
            _ => return Err(DecodeError::invalid("link keys", "bad flag")),
        };
        Ok(Self {
            link,
            kind,
            expires_at,
            password,
            verifying_key,
            kem_key,
            keys,
        })
    }
}
