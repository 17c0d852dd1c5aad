//! Signed requests to a server (SPEC.md §Signed requests).
//!
//! A client signs each request it sends with a key the server can check
//! against what it stores: an account's identity key
//! ([`RequestSigner::for_account`]), or a link's key, derived from the secret
//! in the link's URL ([`crate::LinkUrl::request_signer`]). The signature covers the
//! method, the path and query, a digest of the body, the server's id, the
//! signer, a fresh nonce and an expiry at most [`MAX_REQUEST_LIFETIME`]
//! seconds ahead, so a captured request is good for one use, on one server,
//! for one minute; the server keeps the nonces it has seen until they expire.
//!
//! The core only builds and checks the signature ([`RequestAuth`]); sending
//! requests and remembering nonces are the transport's and the server's.

use std::fmt;

use crate::account::Account;
use crate::crypto::random;
use crate::crypto::sign::{Domain, Signature, SigningKey, VerifyingKey};
use crate::error::Result;
use crate::identity::{MAX_HANDLE_LEN, check_handle};
use crate::log::op::{CollectionId, LinkId};
use crate::wire::{self, Writer};

/// The longest a signed request stays valid: its expiry is at most this many
/// seconds after the time it is checked at.
pub const MAX_REQUEST_LIFETIME: u64 = 60;
/// The header's scheme.
const SCHEME: &str = "Sealshare";
/// The version of the header's syntax and of the signed message.
const VERSION: &str = "v1";
/// The longest header accepted, before any parsing: one for a handle of
/// `MAX_HANDLE_LEN` bytes is about 540 characters.
pub const MAX_AUTH_HEADER_LEN: usize = 1024;

/// A server's id: 16 bytes it chooses once and announces. Signing it into
/// each request keeps a request made for one server from being accepted by
/// another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerId(pub [u8; 16]);

impl ServerId {
    /// A fresh random id.
    pub fn generate() -> Result<Self> {
        Ok(Self(random::array()?))
    }

    /// The id as unpadded base64url (22 characters).
    pub fn to_text(&self) -> String {
        wire::to_text(&self.0)
    }

    /// Parses [`ServerId::to_text`]'s form.
    pub fn from_text(text: &str) -> Result<Self> {
        let bytes = wire::from_text(text, "server id", 16)?;
        let id = <[u8; 16]>::try_from(bytes.as_slice())
            .map_err(|_| wire::DecodeError::invalid("server id", "not 16 bytes"))?;
        Ok(Self(id))
    }
}

impl fmt::Debug for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerId({})", self.to_text())
    }
}

/// Who signs a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An account, by its handle: the key is its identity key.
    Account {
        /// The handle.
        handle: String,
    },
    /// The holder of a link's secret: the key is the link's signing key
    /// (`LinkTerms::verifying_key` in the collection's log).
    Link {
        /// The collection the link opens.
        collection: CollectionId,
        /// The link.
        link: LinkId,
    },
}

/// What a request asks: the parts of an HTTP request its signature covers.
#[derive(Clone, Copy, Debug)]
pub struct RequestTarget<'a> {
    /// The method, upper case (`GET`, `PUT`, `POST`).
    pub method: &'a str,
    /// The path and the query string exactly as sent (`/v1/...?...`).
    pub path_and_query: &'a str,
    /// [`body_digest`] of the body; for the upload of a blob, the blob's id
    /// (its ciphertext hash, which the server checks as it stores it).
    pub body_digest: [u8; 32],
    /// The server the request is for.
    pub server: ServerId,
}

/// The digest of a request's body that its signature covers: BLAKE3 of the
/// bytes.
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    *blake3::hash(body).as_bytes()
}

/// The body digest signed for a streamed blob upload (`POST
/// /v1/collections/{id}/blobs`), whose hash is known only once the whole
/// body is sent: 32 zero bytes, which is no body's [`body_digest`] (finding
/// one would break BLAKE3). The server stores such a body under the hash it
/// computes and answers with it, so an altered body is only another blob,
/// named by no item.
pub const STREAMED_BODY: [u8; 32] = [0; 32];

/// A key that signs requests for one principal. Zeroizes its key on drop;
/// `Debug` shows only the principal.
pub struct RequestSigner {
    principal: Principal,
    key: SigningKey,
}

impl RequestSigner {
    /// Signs as `account`, with its identity key.
    pub fn for_account(account: &Account) -> Self {
        Self {
            principal: Principal::Account {
                handle: account.identity().handle().to_owned(),
            },
            key: SigningKey::from_seed(&account.signing_key().seed()),
        }
    }

    /// Signs as `principal` with `key` (the link's signing key, for
    /// `LinkUrl::request_signer`).
    pub(crate) fn new(principal: Principal, key: SigningKey) -> Self {
        Self { principal, key }
    }

    /// Who this signs as.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The public key a server checks the signatures with.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Signs `target` with a fresh nonce, valid until `expires` (seconds since
    /// the Unix epoch, by the server's clock as far as the caller knows it;
    /// a server accepts at most [`MAX_REQUEST_LIFETIME`] ahead of its time).
    pub fn sign(&self, target: &RequestTarget<'_>, expires: u64) -> Result<RequestAuth> {
        let nonce = random::array()?;
        let key = self.key.verifying_key();
        let message = signed_message(target, &self.principal, key.as_bytes(), &nonce, expires);
        Ok(RequestAuth {
            principal: self.principal.clone(),
            key: key.to_bytes(),
            nonce,
            expires,
            signature: self.key.sign(Domain::Request, &message).to_bytes(),
        })
    }

    /// A second signer for the same principal (the key copied, zeroized on
    /// drop as well).
    pub fn duplicate(&self) -> Self {
        Self {
            principal: self.principal.clone(),
            key: SigningKey::from_seed(&self.key.seed()),
        }
    }
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestSigner({:?}, key: ***)", self.principal)
    }
}

/// The signature of one request, as carried in its `Authorization` header:
/// `Sealshare v1.a.<handle>.<key>.<nonce>.<expires>.<signature>` for an
/// account, `Sealshare v1.l.<collection>.<link>.<key>.<nonce>.<expires>.<signature>`
/// for a link, each part unpadded base64url but the expiry (decimal seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestAuth {
    principal: Principal,
    key: [u8; 32],
    nonce: [u8; 16],
    expires: u64,
    signature: [u8; 64],
}

/// Why a request's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header is not a signature of this scheme: it says which part.
    #[error("malformed authorization header: {0}")]
    Malformed(&'static str),
    /// The expiry has passed.
    #[error("the request expired at {expires}, and it is now {now} by the server's clock")]
    Expired {
        /// The request's expiry.
        expires: u64,
        /// The server's time.
        now: u64,
    },
    /// The expiry is more than [`MAX_REQUEST_LIFETIME`] ahead.
    #[error(
        "the request expires at {expires}, more than {MAX_REQUEST_LIFETIME} s after the server's time {now}"
    )]
    TooLong {
        /// The request's expiry.
        expires: u64,
        /// The server's time.
        now: u64,
    },
    /// The key is not a valid Ed25519 key, or the signature does not verify
    /// for this request on this server.
    #[error("the signature does not verify for this request on this server")]
    BadSignature,
}

fn part<'a>(
    parts: &mut std::str::Split<'a, char>,
    what: &'static str,
) -> Result<&'a str, AuthError> {
    parts.next().ok_or(AuthError::Malformed(what))
}

fn fixed<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], AuthError> {
    let bytes = wire::from_text(text, what, N).map_err(|_| AuthError::Malformed(what))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| AuthError::Malformed(what))
}

impl RequestAuth {
    /// Parses an `Authorization` header's value. Bounded before it looks:
    /// anything longer than [`MAX_AUTH_HEADER_LEN`] is refused unread.
    pub fn parse(header: &str) -> Result<Self, AuthError> {
        if header.len() > MAX_AUTH_HEADER_LEN {
            return Err(AuthError::Malformed("longer than any signature"));
        }
        let rest = header
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(AuthError::Malformed("not the Sealshare scheme"))?;
        let mut parts = rest.split('.');
        if part(&mut parts, "version")? != VERSION {
            return Err(AuthError::Malformed("not version v1"));
        }
        let principal = match part(&mut parts, "principal")? {
            "a" => {
                let raw = wire::from_text(part(&mut parts, "handle")?, "handle", MAX_HANDLE_LEN)
                    .map_err(|_| AuthError::Malformed("handle"))?;
                let handle = String::from_utf8(raw).map_err(|_| AuthError::Malformed("handle"))?;
                check_handle(&handle).map_err(|_| AuthError::Malformed("handle"))?;
                Principal::Account { handle }
            }
            "l" => Principal::Link {
                collection: CollectionId(fixed(part(&mut parts, "collection")?, "collection")?),
                link: LinkId(fixed(part(&mut parts, "link")?, "link")?),
            },
            _ => return Err(AuthError::Malformed("principal is neither a nor l")),
        };
        let key = fixed(part(&mut parts, "key")?, "key")?;
        let nonce = fixed(part(&mut parts, "nonce")?, "nonce")?;
        let expires = part(&mut parts, "expires")?;
        // Digits only, without leading zeros, so "+5", " 5" or "05" are not
        // a second spelling of 5.
        if expires.is_empty()
            || expires.len() > 20
            || !expires.bytes().all(|b| b.is_ascii_digit())
            || (expires.len() > 1 && expires.starts_with('0'))
        {
            return Err(AuthError::Malformed("expires"));
        }
        let expires = expires
            .parse()
            .map_err(|_| AuthError::Malformed("expires"))?;
        let signature = fixed(part(&mut parts, "signature")?, "signature")?;
        if parts.next().is_some() {
            return Err(AuthError::Malformed("more parts than a signature has"));
        }
        Ok(Self {
            principal,
            key,
            nonce,
            expires,
            signature,
        })
    }

    /// The header's value ([`RequestAuth::parse`] reads it back).
    pub fn to_header(&self) -> String {
        let principal = match &self.principal {
            Principal::Account { handle } => format!("a.{}", wire::to_text(handle.as_bytes())),
            Principal::Link { collection, link } => {
                format!("l.{}.{}", collection.to_text(), link.to_text())
            }
        };
        format!(
            "{SCHEME} {VERSION}.{principal}.{}.{}.{}.{}",
            wire::to_text(&self.key),
            wire::to_text(&self.nonce),
            self.expires,
            wire::to_text(&self.signature)
        )
    }

    /// Who claims to sign. Nothing is proven until [`RequestAuth::verify`]
    /// succeeds, and even then only that the holder of
    /// [`RequestAuth::public_key`] signed: whether that key belongs to the
    /// principal is the server's to check against what it stores.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The key the request is signed with.
    pub fn public_key(&self) -> [u8; 32] {
        self.key
    }

    /// The nonce: a server accepts each once while it is valid.
    pub fn nonce(&self) -> [u8; 16] {
        self.nonce
    }

    /// The expiry, seconds since the Unix epoch.
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// Checks the expiry against `now` (the server's clock) and the signature
    /// over `target`: cheap checks first, the signature last.
    pub fn verify(&self, target: &RequestTarget<'_>, now: u64) -> Result<(), AuthError> {
        if self.expires < now {
            return Err(AuthError::Expired {
                expires: self.expires,
                now,
            });
        }
        if self.expires - now > MAX_REQUEST_LIFETIME {
            return Err(AuthError::TooLong {
                expires: self.expires,
                now,
            });
        }
        let key = VerifyingKey::from_bytes(&self.key).map_err(|_| AuthError::BadSignature)?;
        let message = signed_message(
            target,
            &self.principal,
            &self.key,
            &self.nonce,
            self.expires,
        );
        key.verify(
            Domain::Request,
            &message,
            &Signature::from_bytes(self.signature),
        )
        .map_err(|_| AuthError::BadSignature)
    }
}

/// The bytes a request's signature covers (after the domain's label):
/// `u8 version (1) || str method || str path_and_query || [32] body digest ||
/// [16] server id || principal || [32] key || [16] nonce || u64 expires`,
/// where the principal is `u8 1 || str handle` or `u8 2 || [16] collection ||
/// [16] link`, and `str` is a `u32` length and the UTF-8 bytes.
fn signed_message(
    target: &RequestTarget<'_>,
    principal: &Principal,
    key: &[u8; 32],
    nonce: &[u8; 16],
    expires: u64,
) -> Vec<u8> {
    let mut w = Writer::raw();
    w.u8(1)
        .str(target.method)
        .str(target.path_and_query)
        .fixed(&target.body_digest)
        .fixed(&target.server.0);
    match principal {
        Principal::Account { handle } => {
            w.u8(1).str(handle);
        }
        Principal::Link { collection, link } => {
            w.u8(2).fixed(&collection.0).fixed(&link.0);
        }
    }
    w.fixed(key).fixed(nonce).u64(expires);
    w.finish()
}

mod device;

pub use device::{DeviceGate, DeviceKey, LinkDevice};

#[cfg(test)]
mod tests;
