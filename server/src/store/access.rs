//! Who may read a collection and put its blobs, decided on the collection's
//! verified state, never on the card directory alone:
//!
//! - an account reads while its handle appears in the log ([`LogState::appears`])
//!   **with the key the log holds for it** (its card as shared or joined with);
//!   one invited by handle has no card in the log yet, and reads with the key
//!   of the card the directory holds for that handle;
//! - the holder of a link reads while the log has the link live
//!   ([`LogState::link_refusal`]: not revoked, not expired by the server's
//!   clock, not used up, its creator still allowed to grant it), proven with
//!   the link's signing key (`LinkTerms::verifying_key`);
//! - only an accepted member holding a key, with a role above viewer, puts
//!   blobs (nobody else can write an item that refers to one).
//!
//! An unknown collection is refused as any other: a caller learns nothing
//! about collections it may not read.

use sealshare::{LinkId, LogState, Role, Standing};

/// A caller, as proven by a request's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// An account: its handle and the key that signed.
    Account {
        /// The handle named in the request.
        handle: String,
        /// The key the request is signed with.
        key: [u8; 32],
    },
    /// The holder of a link of this collection, signing with the link's key.
    Link {
        /// The link.
        link: LinkId,
        /// The key the request is signed with.
        key: [u8; 32],
    },
}

/// Whether `who` may read the collection of `state` at `now`.
/// `directory_key` is the signing key of the card the directory holds for
/// the account's handle, asked for only for one invited by handle.
pub fn may_read(
    state: &LogState,
    who: &Who,
    now: u64,
    directory_key: &mut dyn FnMut(&str) -> Option<[u8; 32]>,
) -> bool {
    match who {
        Who::Account { handle, key } => {
            if let Some(member) = state.member(handle) {
                return member.card.signing_key().as_bytes() == key;
            }
            state.invitations().contains_key(handle) && directory_key(handle) == Some(*key)
        }
        Who::Link { link, key } => state.links().get(link).is_some_and(|rec| {
            rec.terms.verifying_key == *key && state.link_refusal(rec, now, &|_| true).is_none()
        }),
    }
}

/// Whether `who` may put a blob into the collection of `state`: an accepted
/// member with a key, signing with the key the log holds for them, whose
/// role may write items.
pub fn may_put_blob(state: &LogState, who: &Who) -> bool {
    let Who::Account { handle, key } = who else {
        return false;
    };
    let Some(member) = state.member(handle) else {
        return false;
    };
    member.card.signing_key().as_bytes() == key
        && matches!(state.standing(handle), Standing::Member(role) if role > Role::Viewer)
}
