//! Ways into a collection beyond adding a known user: invite links (join at a
//! role), invitations by handle before the invitee has a card, and public links
//! (read-only, no account).
//!
//! A link's secret lives only in the URL fragment, which browsers never send to
//! servers; nothing the library hands the server contains it. The log records
//! only keys derived from it (a signing key joins must prove, a KEM key epoch
//! keys are wrapped to) and the link's terms, signed by its creator.

mod invite;
mod public;

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::kdf;
use crate::crypto::password::{self, Argon2Budget, Argon2Params};
use crate::crypto::secret::SecretKey;
use crate::crypto::sign::SigningKey;
use crate::crypto::x25519::KemSecretKey;
use crate::error::{Error, Result};
use crate::labels;
pub use crate::log::link_terms::LinkPurpose;
use crate::log::link_terms::PasswordLock;
use crate::log::{CollectionId, LinkId};
use crate::request::{Principal, RequestSigner};
use crate::wire;

pub use invite::InviteTerms;
pub use public::{MAX_LINK_ITEMS, PublicLinkTerms, PublicView};

/// The format byte that starts every link payload.
const LINK_FORMAT: u8 = 1;
/// Payload: format, kind, collection, link, secret, creator key.
const PAYLOAD_LEN: usize = 1 + 1 + 16 + 16 + 32 + 32;

/// A link as a URL: where the app serves it, and in the fragment everything a
/// holder needs (collection, link id, secret, and the collection creator's
/// signing key, which pins the log). Zeroized on drop; `Debug` hides the secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkUrl {
    #[zeroize(skip)]
    purpose: LinkPurpose,
    #[zeroize(skip)]
    collection: CollectionId,
    #[zeroize(skip)]
    link: LinkId,
    secret: [u8; 32],
    #[zeroize(skip)]
    creator_key: [u8; 32],
    base: String,
}

impl LinkUrl {
    pub(crate) fn new(
        purpose: LinkPurpose,
        collection: CollectionId,
        link: LinkId,
        secret: [u8; 32],
        creator_key: [u8; 32],
        base: &str,
    ) -> Self {
        Self {
            purpose,
            collection,
            link,
            secret,
            creator_key,
            base: base.split('#').next().unwrap_or_default().to_owned(),
        }
    }

    /// The full URL: `base#<payload>` with the payload in unpadded base64url.
    /// Share it only with the people the link is for.
    pub fn to_url(&self) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.push(LINK_FORMAT);
        payload.push(self.purpose as u8);
        payload.extend_from_slice(&self.collection.0);
        payload.extend_from_slice(&self.link.0);
        payload.extend_from_slice(&self.secret);
        payload.extend_from_slice(&self.creator_key);
        let text = Zeroizing::new(wire::to_text(&payload));
        payload.zeroize();
        format!("{}#{}", self.base, text.as_str())
    }

    /// Parses a URL made by [`LinkUrl::to_url`] (any base).
    pub fn parse(url: &str) -> Result<Self> {
        let (base, fragment) = url.split_once('#').ok_or(Error::BadLink("no fragment"))?;
        let mut bytes = wire::from_text(fragment, "link", PAYLOAD_LEN)
            .map_err(|_| Error::BadLink("the fragment is not base64url"))?;
        let parsed = Self::from_payload(&bytes, base);
        bytes.zeroize();
        parsed
    }

    fn from_payload(b: &[u8], base: &str) -> Result<Self> {
        if b.len() != PAYLOAD_LEN {
            return Err(Error::BadLink("wrong length"));
        }
        let (head, rest) = b.split_at(2);
        if head.first() != Some(&LINK_FORMAT) {
            return Err(Error::BadLink("unknown link format"));
        }
        let purpose = match head.get(1) {
            Some(1) => LinkPurpose::Invite,
            Some(2) => LinkPurpose::Public,
            _ => return Err(Error::BadLink("unknown link kind")),
        };
        let (collection, rest) = rest.split_at(16);
        let (link, rest) = rest.split_at(16);
        let (secret, creator_key) = rest.split_at(32);
        let arr16 = |s: &[u8]| -> Result<[u8; 16]> {
            s.try_into().map_err(|_| Error::BadLink("wrong length"))
        };
        let arr32 = |s: &[u8]| -> Result<[u8; 32]> {
            s.try_into().map_err(|_| Error::BadLink("wrong length"))
        };
        Ok(Self {
            purpose,
            collection: CollectionId(arr16(collection)?),
            link: LinkId(arr16(link)?),
            secret: arr32(secret)?,
            creator_key: arr32(creator_key)?,
            base: base.to_owned(),
        })
    }

    /// Invite or public.
    pub fn purpose(&self) -> LinkPurpose {
        self.purpose
    }
    /// The collection it opens.
    pub fn collection(&self) -> CollectionId {
        self.collection
    }
    /// The link's id (as the log and the member list show it).
    pub fn link(&self) -> LinkId {
        self.link
    }
    /// The collection creator's signing key the link pins.
    pub fn creator_key(&self) -> &[u8; 32] {
        &self.creator_key
    }

    /// Signs requests as a holder of this link's secret, with the link's
    /// signing key: what a server lets read the collection while the link is
    /// live, before (or without) joining. Needs no password: the link's
    /// signing key is derived from the secret alone.
    pub fn request_signer(&self) -> Result<RequestSigner> {
        let secrets = self.secrets(None)?;
        Ok(RequestSigner::new(
            Principal::Link {
                collection: self.collection(),
                link: self.link(),
            },
            secrets.signing,
        ))
    }

    pub(crate) fn secrets(&self, password_key: Option<&SecretKey>) -> Result<LinkSecrets> {
        LinkSecrets::derive(&self.secret, &self.collection, &self.link, password_key)
    }
}

impl fmt::Debug for LinkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkUrl")
            .field("purpose", &self.purpose)
            .field("collection", &self.collection)
            .field("link", &self.link)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The keys derived from a link secret (and its password, if any).
pub(crate) struct LinkSecrets {
    /// Signs join proofs.
    pub(crate) signing: SigningKey,
    /// Receives epoch keys.
    pub(crate) kem: KemSecretKey,
    /// Seals item-key bundles.
    pub(crate) items: SecretKey,
}

impl LinkSecrets {
    /// `signing = HKDF(secret, labels::KDF_LINK_SIGNING, collection || link)`;
    /// `kem = HKDF(secret, salt = password key or empty, labels::KDF_LINK_KEM, ...)`;
    /// `items = HKDF(secret, salt = password key or empty, labels::KDF_LINK_ITEMS, ...)`.
    pub(crate) fn derive(
        secret: &[u8; 32],
        collection: &CollectionId,
        link: &LinkId,
        password_key: Option<&SecretKey>,
    ) -> Result<Self> {
        let ctx = [collection.0, link.0].concat();
        let salt: &[u8] = password_key.map_or(&[], |k| k.expose());
        Ok(Self {
            signing: SigningKey::from_seed(&kdf::derive_key(
                secret,
                b"",
                labels::KDF_LINK_SIGNING,
                &ctx,
            )?),
            kem: KemSecretKey::from_secret(&kdf::derive_key(
                secret,
                salt,
                labels::KDF_LINK_KEM,
                &ctx,
            )?),
            items: kdf::derive_key(secret, salt, labels::KDF_LINK_ITEMS, &ctx)?,
        })
    }
}

/// The key a link password contributes: Argon2id over the password with the
/// link's stored parameters and salt, once the parameters are checked against
/// the bounds and `budget` (before any allocation or hashing).
pub(crate) fn password_key(
    lock: &PasswordLock,
    password: &str,
    budget: &Argon2Budget,
) -> Result<SecretKey> {
    Ok(password::derive_within(
        password.as_bytes(),
        &lock.salt,
        lock.params,
        budget,
    )?)
}

/// A fresh password lock with the given parameters.
pub(crate) fn new_password_lock(params: Argon2Params) -> Result<PasswordLock> {
    Ok(PasswordLock {
        params,
        salt: crate::crypto::random::array()?,
    })
}
