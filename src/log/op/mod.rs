//! Operations: the signed, hash-chained entries of a collection's log, and their
//! canonical encoding (SPEC.md §Operation).

use std::fmt;

use crate::crypto::sign::{Domain, Signature, SigningKey, VerifyingKey};
use crate::identity::Identity;
use crate::log::error::SignError;
use crate::log::rules::Role;
use crate::wire::{self, DecodeError, Kind, Reader, Writer};

mod body;
mod item;
mod rotation;

pub use body::{Body, Grant};
pub(crate) use body::{read_card, read_handle};
pub use item::{ItemHeader, ItemKind};
pub use rotation::{MAX_PREVIOUS_KEYS, Rotation};

/// The signature domain of operations.
pub const OP_DOMAIN: Domain = Domain::Operation;
/// The largest encoded operation accepted.
pub const MAX_OP_LEN: usize = 8 << 20;
/// The most members a collection may have (and a share may add at once).
pub const MAX_MEMBERS: usize = 10_000;
/// The most links a collection may have.
pub const MAX_LINKS: usize = 1_000;

/// A collection's id: 16 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionId(pub [u8; 16]);

/// An item's (or folder's) id: 16 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub [u8; 16]);

macro_rules! id_text {
    ($t:ty, $what:literal) => {
        impl $t {
            /// A fresh random id.
            pub fn random() -> Result<Self, crate::crypto::Error> {
                Ok(Self(crate::crypto::random::array()?))
            }
            /// The id's bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
            /// The base64url text form (22 characters).
            pub fn to_text(&self) -> String {
                wire::to_text(&self.0)
            }
            /// Parses the text form.
            pub fn from_text(text: &str) -> Result<Self, DecodeError> {
                let bytes = wire::from_text(text, $what, 16)?;
                let arr: [u8; 16] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| DecodeError::invalid($what, "not 16 bytes"))?;
                Ok(Self(arr))
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_text())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", $what, self.to_text())
            }
        }
    };
}
id_text!(CollectionId, "collection id");
id_text!(ItemId, "item id");

/// A link's id: 16 random bytes chosen by its creator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; 16]);
id_text!(LinkId, "link id");

/// The signature domain of a join's proof that the joiner holds the link secret.
pub const JOIN_PROOF_DOMAIN: Domain = Domain::LinkJoin;

/// The message a join proof signs: `collection [16] || link [16] || joiner's
/// card fingerprint [32] || role u8`, so a proof is good for one joiner, one
/// link, one collection and one role.
pub fn join_proof_message(
    collection: &CollectionId,
    link: &LinkId,
    card: &Identity,
    role: Role,
) -> Vec<u8> {
    let mut w = Writer::raw();
    w.fixed(&collection.0)
        .fixed(&link.0)
        .fixed(&card.fingerprint().to_bytes())
        .u8(role.to_byte());
    w.finish()
}

/// The hash of an operation: the link that chains the log.
pub type OpHash = [u8; 32];

/// One signed entry of a collection's log. It is made only by signing
/// ([`Operation::sign`]) or by decoding ([`Operation::from_bytes`]), and cannot
/// be changed after: what the rules check is what the signature covers.
///
/// Its parts are read through accessors; assigning to them does not compile:
///
/// ```
/// # fn read(op: &mut sealshare::Operation) -> &sealshare::internal::log::Body {
/// op.body()
/// # }
/// ```
///
/// ```compile_fail,E0616
/// # fn swap(op: &mut sealshare::Operation) {
/// op.body = sealshare::internal::log::Body::Accept;
/// # }
/// ```
///
/// Encoding (SPEC.md §Operation): `01 10 || collection[16] || seq u64 || prev[32]
/// || author str || time u64 || body || signature[64]`; the signature covers every
/// byte before it, under the domain `"operation"`.
#[derive(Clone, PartialEq, Eq)]
pub struct Operation {
    pub(crate) collection: CollectionId,
    pub(crate) seq: u64,
    pub(crate) prev: OpHash,
    pub(crate) author: String,
    pub(crate) time: u64,
    pub(crate) body: Body,
    signature: Signature,
    encoded: Vec<u8>,
    hash: OpHash,
}

impl Operation {
    /// Builds and signs an operation. Fails only if the author handle is
    /// invalid or the operation is too long to encode ([`SignError`]).
    pub fn sign(
        signer: &SigningKey,
        collection: CollectionId,
        seq: u64,
        prev: OpHash,
        author: &str,
        time: u64,
        body: Body,
    ) -> Result<Self, SignError> {
        crate::identity::check_handle(author)?;
        let mut w = Writer::new(Kind::Operation);
        w.fixed(&collection.0)
            .u64(seq)
            .fixed(&prev)
            .str(author)
            .u64(time);
        body.write(&mut w);
        let signature = signer.sign(OP_DOMAIN, w.as_slice());
        w.fixed(&signature.to_bytes());
        let encoded = w.finish();
        if encoded.len() > MAX_OP_LEN {
            return Err(SignError::TooLong {
                len: encoded.len(),
                max: MAX_OP_LEN,
            });
        }
        let hash = hash_op(&encoded);
        Ok(Self {
            collection,
            seq,
            prev,
            author: author.to_owned(),
            time,
            body,
            signature,
            encoded,
            hash,
        })
    }

    /// Decodes an operation. The signature is not checked here: that needs the
    /// state (who the author is), see [`crate::log::LogState`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_OP_LEN {
            return Err(DecodeError::TooLong {
                what: "operation",
                len: bytes.len() as u64,
                max: MAX_OP_LEN as u64,
            });
        }
        let mut r = Reader::new(bytes, Kind::Operation)?;
        let collection = CollectionId(r.array()?);
        let seq = r.u64()?;
        let prev = r.array()?;
        let author = read_handle(&mut r)?;
        let time = r.u64()?;
        let body = Body::read(&mut r)?;
        let signature = Signature::from_bytes(r.array()?);
        r.finish()?;
        Ok(Self {
            collection,
            seq,
            prev,
            author,
            time,
            body,
            signature,
            encoded: bytes.to_vec(),
            hash: hash_op(bytes),
        })
    }

    /// The collection.
    pub fn collection(&self) -> CollectionId {
        self.collection
    }

    /// The position in the log, from 0.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The hash of the previous operation (all zero for operation 0).
    pub fn prev(&self) -> &OpHash {
        &self.prev
    }

    /// The author's handle.
    pub fn author(&self) -> &str {
        &self.author
    }

    /// The time the author claims, in seconds since the Unix epoch.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// What the operation does.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Whether the operation adds to what the collection holds (its
    /// creation, a rename, an item or a new version of one, a link) rather
    /// than changing who holds it or where items are (sharing, roles,
    /// removal and rotation, leaving, joining, trash and purge). A server's
    /// storage quota refuses these first: the others may still go a bounded
    /// way past it, so a member at the quota can still remove someone and
    /// rotate the key.
    pub fn adds_content(&self) -> bool {
        matches!(
            self.body,
            Body::Create { .. } | Body::Rename { .. } | Body::PutItem(_) | Body::CreateLink(_)
        )
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> &[u8] {
        &self.encoded
    }

    /// The hash that the next operation chains onto.
    pub fn hash(&self) -> OpHash {
        self.hash
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> &[u8] {
        let end = self.encoded.len().saturating_sub(64);
        self.encoded.get(..end).unwrap_or_default()
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Checks the signature under `key`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<(), crate::crypto::Error> {
        key.verify(OP_DOMAIN, self.signed_bytes(), &self.signature)
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("collection", &self.collection)
            .field("seq", &self.seq)
            .field("author", &self.author)
            .field("time", &self.time)
            .field("body", &self.body.name())
            .finish_non_exhaustive()
    }
}

/// BLAKE3 in derive-key mode over the whole encoded operation, signature included.
pub fn hash_op(encoded: &[u8]) -> OpHash {
    let mut h = blake3::Hasher::new_derive_key(crate::labels::BLAKE3_OPERATION_HASH);
    h.update(encoded);
    *h.finalize().as_bytes()
}
