//! What a database provides to the store ([`Database`]), and the logic
//! every database shares: an append's checks and its verification against
//! the cached verified state, a card's publication or replacement, the
//! cached state behind the access rules, and the paging of a fetch. Only the
//! SQL differs between `sqlite.rs` and `postgres.rs`.

use std::collections::HashMap;

use sealshare::{CollectionId, Identity, LogState, Operation};

use super::{Appended, Page, Put, QUOTA_GRACE, Reset, StoreError};

/// Each collection's verified state, as long as the stored log when it was
/// last used; re-checked against the stored length before every use, since
/// another process may have appended since (PostgreSQL).
pub(super) type States = HashMap<CollectionId, LogState>;

/// A database behind the store. Every method is one unit: it commits all of
/// its writes or none.
pub(super) trait Database:
    super::signin::SigninDb + super::devices::DevicesDb + Send + Sync
{
    /// [`append_in`], in one transaction that no other append to
    /// `collection` (in this process or another) comes into.
    fn append(
        &self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Appended, StoreError>;

    /// [`put_card_in`], in one transaction that no other publication for
    /// `handle` comes into.
    fn put_card(
        &self,
        handle: &str,
        canonical: &[u8],
        signer: &[u8; 32],
        now: u64,
    ) -> Result<Put, StoreError>;

    /// `f` of `collection`'s verified state ([`with_state_in`]); `None` for
    /// an empty log.
    fn with_state(
        &self,
        collection: &CollectionId,
        f: &mut dyn FnMut(&LogState, &mut dyn Reads) -> bool,
    ) -> Result<Option<bool>, StoreError>;

    /// Offers the lengths, then the bytes, of `collection`'s operations from
    /// position `from` on, in order, to `page` until it is full.
    fn fetch(
        &self,
        collection: &CollectionId,
        from: i64,
        page: &mut PageBuilder,
    ) -> Result<(), StoreError>;

    /// How many operations `collection`'s log holds.
    fn log_len(&self, collection: &CollectionId) -> Result<u64, StoreError>;

    /// The raw ids of the collections `handle` is listed in, in byte order.
    fn collections_of(&self, handle: &str) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The card stored for `handle`, if any.
    fn card(&self, handle: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// How many times `handle`'s card was replaced.
    fn card_changes(&self, handle: &str) -> Result<u64, StoreError>;

    /// [`reset_card_in`], in one transaction that no other publication for
    /// `handle` comes into.
    fn reset_card(&self, handle: &str, canonical: &[u8], now: u64) -> Result<Reset, StoreError>;

    /// The time of the last reset of `handle`'s account, if there was one.
    fn last_reset(&self, handle: &str) -> Result<Option<u64>, StoreError>;

    /// Sets the most bytes one account may store ([`WriteTx::charge`]);
    /// `None` for no limit (the default).
    fn set_quota(&mut self, quota: Option<u64>);

    /// The quota set, if any.
    fn quota(&self) -> Option<u64>;

    /// How many bytes `handle` stores: the operations it authored and the
    /// blobs it uploaded since usage was first counted.
    fn usage(&self, handle: &str) -> Result<u64, StoreError>;

    /// Adds `bytes` to what `handle` stores, whatever the quota (a blob
    /// already stored, whose upload began under it).
    fn charge(&self, handle: &str, bytes: u64) -> Result<(), StoreError>;

    /// Records `nonce` of `key`, valid until `expires`: false if it was
    /// recorded before. Sweeps expired nonces now and then.
    fn claim_nonce(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 16],
        expires: u64,
        now: u64,
    ) -> Result<bool, StoreError>;
}

/// What a charge to an account's usage is for: that decides the limit it is
/// held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Charge {
    /// An operation that adds content (`Operation::adds_content`): held to
    /// the quota.
    Content,
    /// Any other operation: held to the quota and as much again, at most
    /// [`QUOTA_GRACE`] more, so that removing a member and rotating the key
    /// still go through over the quota, and what an account stores is
    /// bounded all the same.
    Other,
    /// A blob admitted under the quota and stored since: held to nothing.
    Admitted,
}

impl Charge {
    /// The most the account may store once charged, under `quota`.
    pub(super) fn limit(self, quota: Option<u64>) -> Option<u64> {
        match self {
            Charge::Content => quota,
            Charge::Other => quota.map(|q| q.saturating_add(q.min(QUOTA_GRACE))),
            Charge::Admitted => None,
        }
    }
}

/// The reads the shared logic makes, on a connection or in a transaction.
pub(super) trait Reads {
    /// The length of `collection`'s log: its last position plus one, or 0.
    fn log_len(&mut self, collection: &CollectionId) -> Result<u64, StoreError>;
    /// Every operation of `collection`'s log, in order.
    fn operations(&mut self, collection: &CollectionId) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The card stored for `handle`, if any.
    fn card(&mut self, handle: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// The writes of one transaction; nothing is kept unless it commits.
pub(super) trait WriteTx: Reads {
    /// Inserts the operation at `seq`.
    fn insert_operation(
        &mut self,
        collection: &CollectionId,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    /// Lists `collection` for `handle` (`true`), or no longer (`false`).
    fn set_listed(
        &mut self,
        handle: &str,
        collection: &CollectionId,
        listed: bool,
    ) -> Result<(), StoreError>;
    /// Stores `handle`'s first card.
    fn insert_card(&mut self, handle: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Replaces `handle`'s card `old` with `new`, and records the change
    /// with the time `now` in `card_changes`.
    fn replace_card(
        &mut self,
        handle: &str,
        old: &[u8],
        new: &[u8],
        now: u64,
    ) -> Result<(), StoreError>;
    /// Makes `new` `handle`'s card by an account reset (replacing `old`, or
    /// publishing it if there was none), and records the reset with the
    /// time `now` in `card_changes`.
    fn reset_card(
        &mut self,
        handle: &str,
        old: Option<&[u8]>,
        new: &[u8],
        now: u64,
    ) -> Result<(), StoreError>;
    /// Deletes `handle`'s sign-in records and lockers (every kind) and its
    /// pending logins; how many records and lockers were deleted.
    fn delete_signin(&mut self, handle: &str) -> Result<u64, StoreError>;
    /// Adds `bytes` to what `handle` stores. If that would pass the limit
    /// of `what` ([`Charge::limit`] of the quota), adds nothing and fails
    /// with [`StoreError::QuotaExceeded`].
    fn charge(&mut self, handle: &str, bytes: u64, what: Charge) -> Result<(), StoreError>;
    /// Commits every write of the transaction.
    fn commit(self) -> Result<(), StoreError>;
}

/// Appends `bytes` at `seq` of `collection`'s log in the transaction `tx`
/// (see `Store::append`), with the cache `states`: the position is checked;
/// the verified state is taken from the cache if it is as long as the
/// stored log, else rebuilt from it; the request's signer, then the
/// operation, are checked against it; the operation and the listing rows are
/// written and committed; only then does the state go back into the cache.
pub(super) fn append_in(
    mut tx: impl WriteTx,
    states: &mut States,
    collection: &CollectionId,
    seq: u64,
    bytes: &[u8],
    signer: &[u8; 32],
    now: u64,
) -> Result<Appended, StoreError> {
    let len = tx.log_len(collection)?;
    if len != seq {
        return Ok(Appended::Conflict { head: len });
    }
    // Out of the cache while it is used: put back only if it matches the
    // database at the end, whatever fails in between.
    let mut state = match states.remove(collection) {
        // As long as the stored log: it is the state of that log, since
        // positions once stored never change. Shorter (another process
        // appended) or longer (a commit that failed), rebuilt.
        Some(state) if state.len() == len => state,
        _ => rebuild(&mut tx, collection)?,
    };
    // Signed by the operation's own signer: checked before verifying (a bad
    // operation is refused by the verifier below, with its reason).
    let op = Operation::from_bytes(bytes).ok();
    if let Some(op) = &op
        && state.signer_of(op).map(|k| k.to_bytes()) != Some(*signer)
    {
        states.insert(*collection, state);
        return Err(StoreError::NotSigner);
    }
    // Charged to its author, in this transaction (undone unless the
    // operation is stored); refused over the quota only if it adds content
    // (`Operation::adds_content`). Before verifying, so that a refusal
    // leaves the cached state as it is.
    if let Some(op) = &op {
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let what = if op.adds_content() {
            Charge::Content
        } else {
            Charge::Other
        };
        if let Err(e) = tx.charge(op.author(), len, what) {
            states.insert(*collection, state);
            return Err(e);
        }
    }
    // A refused operation leaves the state unchanged ("a refused operation
    // changes nothing": the rules check before they apply), so it goes back
    // into the cache as it was.
    let change = match state.verify_append_listing(bytes, now) {
        Ok(change) => change,
        Err(e) => {
            states.insert(*collection, state);
            return Err(StoreError::Refused(e));
        }
    };
    tx.insert_operation(collection, seq, bytes)?;
    for handle in &change.added {
        tx.set_listed(handle, collection, true)?;
    }
    for handle in &change.dropped {
        tx.set_listed(handle, collection, false)?;
    }
    // On any error above or here the state, which holds the new operation,
    // is dropped: the next append rebuilds it from storage.
    tx.commit()?;
    states.insert(*collection, state);
    Ok(Appended::Stored)
}

/// Publishes `canonical`, a card that decodes for `handle`, in the
/// transaction `tx` (see `Store::put_card` for the rules).
pub(super) fn put_card_in(
    mut tx: impl WriteTx,
    handle: &str,
    canonical: &[u8],
    signer: &[u8; 32],
    now: u64,
) -> Result<Put, StoreError> {
    match tx.card(handle)? {
        Some(stored) if stored == canonical => Ok(Put::Existing),
        Some(stored) => {
            if key_of(handle, &stored)? != *signer {
                return Err(StoreError::CardExists(handle.to_owned()));
            }
            tx.replace_card(handle, &stored, canonical, now)?;
            tx.commit()?;
            Ok(Put::Created)
        }
        None => {
            if key_of(handle, canonical)? != *signer {
                return Err(StoreError::CardNotSelfPublished);
            }
            tx.insert_card(handle, canonical)?;
            tx.commit()?;
            Ok(Put::Created)
        }
    }
}

/// Resets `handle`'s account to the card `canonical`, which decodes for
/// `handle`, in the transaction `tx` (see `Store::reset_account`): the card
/// replaces the published one (or is published), the reset is recorded, and
/// the handle's sign-in records and lockers are deleted. The card already
/// published is refused ([`StoreError::SameCard`]), changing nothing.
pub(super) fn reset_card_in(
    mut tx: impl WriteTx,
    handle: &str,
    canonical: &[u8],
    now: u64,
) -> Result<Reset, StoreError> {
    let previous = tx.card(handle)?;
    if previous.as_deref() == Some(canonical) {
        return Err(StoreError::SameCard(handle.to_owned()));
    }
    tx.reset_card(handle, previous.as_deref(), canonical, now)?;
    let signins_deleted = tx.delete_signin(handle)?;
    tx.commit()?;
    Ok(Reset {
        previous,
        signins_deleted,
    })
}

/// `f` of `collection`'s verified state: from the cache if it is as long as
/// the stored log, else rebuilt from storage into the cache. `None` for an
/// empty log.
pub(super) fn with_state_in(
    conn: &mut dyn Reads,
    states: &mut States,
    collection: &CollectionId,
    f: &mut dyn FnMut(&LogState, &mut dyn Reads) -> bool,
) -> Result<Option<bool>, StoreError> {
    let len = conn.log_len(collection)?;
    if len == 0 {
        return Ok(None);
    }
    if states.get(collection).is_none_or(|s| s.len() != len) {
        let state = rebuild(conn, collection)?;
        states.insert(*collection, state);
    }
    Ok(states.get(collection).map(|state| f(state, conn)))
}

/// The verified state of the stored log, replayed from its operations. Each
/// was verified when it was stored (with the clock of then, and the link
/// expiry check only an append makes), so no clock applies now.
fn rebuild(
    conn: &mut (impl Reads + ?Sized),
    collection: &CollectionId,
) -> Result<LogState, StoreError> {
    let ops = conn.operations(collection)?;
    let mut state = LogState::empty(*collection);
    state.extend_from_bytes(&ops, u64::MAX).map_err(|e| {
        StoreError::Damaged(format!(
            "the stored log of {} does not verify: {e}",
            collection.to_text()
        ))
    })?;
    Ok(state)
}

/// The signing key of the card `bytes` stored for `handle`.
pub(super) fn key_of(handle: &str, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    Identity::from_bytes(bytes)
        .map(|card| card.signing_key().to_bytes())
        .map_err(|e| StoreError::Damaged(format!("the stored card of {handle:?}: {e}")))
}

/// A page of a fetch, filled in order up to its bounds: at most `max_ops`
/// operations and `max_bytes` bytes, but always the first one.
pub(super) struct PageBuilder {
    page: Page,
    accepted: usize,
    total: usize,
    max_ops: usize,
    max_bytes: usize,
}

impl PageBuilder {
    /// An empty page with these bounds.
    pub(super) fn new(max_ops: usize, max_bytes: usize) -> Self {
        Self {
            page: Page::default(),
            accepted: 0,
            total: 0,
            max_ops,
            max_bytes,
        }
    }

    /// The most rows a database reads to fill the page: one more than it
    /// holds, to know whether there is more.
    pub(super) fn row_limit(&self) -> i64 {
        i64::try_from(self.max_ops.saturating_add(1)).unwrap_or(i64::MAX)
    }

    /// Whether the next operation, of `len` bytes, goes into the page; once
    /// not, the page says there is more, and takes nothing else.
    pub(super) fn fits(&mut self, len: usize) -> bool {
        if self.page.more {
            return false;
        }
        let total = self.total.saturating_add(len);
        if self.accepted >= self.max_ops || (total > self.max_bytes && self.accepted > 0) {
            self.page.more = true;
            return false;
        }
        self.total = total;
        self.accepted += 1;
        true
    }

    /// How many operations [`PageBuilder::fits`] accepted.
    pub(super) fn accepted(&self) -> usize {
        self.accepted
    }

    /// Adds the bytes of an accepted operation.
    pub(super) fn push(&mut self, bytes: Vec<u8>) {
        self.page.operations.push(bytes);
    }

    /// The page.
    pub(super) fn finish(self) -> Page {
        self.page
    }
}
