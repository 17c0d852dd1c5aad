//! Verifying operations onto a state: signatures (in batches for long runs),
//! chain, times and the roles table. Needs no secret key, so a server can run it
//! to refuse a bad append early.

use crate::crypto::sign::VerifyingKey;
use crate::identity::Identity;
use std::collections::BTreeMap;

use crate::log::batch::{
    BATCH_THRESHOLD, DECODE_RUN, Introduced, Predictor, check_decoded, check_run,
};
use crate::log::error::VerifyError;
use crate::log::op::{Body, Operation};
use crate::log::rules::Violation;
use crate::log::state::LogState;

/// The error for `op`, served at position `at` of the log (which is what the
/// error names: a replayed or misplaced operation carries another number).
fn refused(at: u64, op: &Operation, violation: Violation) -> VerifyError {
    VerifyError::InvalidOperation {
        seq: at,
        op: op.body.name(),
        violation,
    }
}

/// Who an appended operation made appear in a collection, or stop appearing
/// (see [`LogState::appears`]): what a server changes in its index of
/// [`crate::Remote::collections_of`]. Each list names each handle once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingChange {
    /// Handles that appear after the operation and did not before.
    pub added: Vec<String>,
    /// Handles that appeared before the operation and no longer do.
    pub dropped: Vec<String>,
}

/// How far ahead of the verifier's clock an operation's claimed time may be,
/// in seconds. An operation further ahead is not yet valid: it is held (see
/// [`VerifyError::NotYetValid`]), never refused, and a verifying server refuses to
/// store it. So one member can push the others' clocks ahead by at most this.
pub const MAX_CLOCK_SKEW: u64 = 300;

impl LogState {
    /// Decodes and verifies encoded operations in order, applying each that
    /// passes, with `now` the verifier's clock (seconds since the Unix epoch).
    /// Stops at the first that fails: the state then holds the verified prefix
    /// and the error names the operation and the rule it broke, or says it is
    /// not yet valid ([`VerifyError::NotYetValid`]: claimed more than
    /// [`MAX_CLOCK_SKEW`] ahead of `now`).
    pub fn extend_from_bytes<B: AsRef<[u8]> + Sync>(
        &mut self,
        ops: &[B],
        now: u64,
    ) -> Result<(), VerifyError> {
        self.extend_from_bytes_observing(ops, now, &mut |_, _, _| {})
    }

    /// As [`LogState::extend_from_bytes`], telling `introduced` of every card an
    /// operation that verified and was applied introduced: its position, its
    /// signer, the card. A refused operation introduces nothing.
    pub fn extend_from_bytes_observing<B: AsRef<[u8]> + Sync>(
        &mut self,
        ops: &[B],
        now: u64,
        introduced: &mut (dyn FnMut(u64, &str, &Identity) + Send),
    ) -> Result<(), VerifyError> {
        self.extend_in_runs(ops, now, introduced)
    }

    /// Verifies decoded operations in order, applying each that passes. Stops at
    /// the first that fails, keeping the verified prefix. An [`Operation`]
    /// cannot be changed once decoded or signed, so the rules always run on
    /// the bytes its signature covers.
    pub fn extend(&mut self, ops: &[Operation], now: u64) -> Result<(), VerifyError> {
        self.extend_observing(ops, now, &mut |_, _, _| {})
    }

    /// What a verifying server runs on an append: the operation verifies as
    /// every client would verify it with the server's clock `now`, a time more
    /// than [`MAX_CLOCK_SKEW`] ahead is refused rather than held, and a join
    /// through a link that expired by `now` is refused whatever time it
    /// claims (so no join can be backdated past its link's expiry).
    pub fn verify_append(&mut self, bytes: &[u8], now: u64) -> Result<(), VerifyError> {
        let op = self.decode_append(bytes)?;
        self.verify_append_op(&op, now)
    }

    /// As [`LogState::verify_append`], and says whose [`LogState::appears`]
    /// the operation changed, so a server keeps an exact index of
    /// [`crate::Remote::collections_of`] as it stores each append: add the
    /// collection for every handle in [`ListingChange::added`], drop it for
    /// every one in [`ListingChange::dropped`]. Costs a few lookups, and for
    /// an unshare one per handle that appeared. A refused operation changes
    /// nothing and reports no change.
    pub fn verify_append_listing(
        &mut self,
        bytes: &[u8],
        now: u64,
    ) -> Result<ListingChange, VerifyError> {
        let mut change = ListingChange::default();
        self.verify_appends_listing(&[bytes], now, &mut change)?;
        Ok(change)
    }

    /// As [`LogState::verify_append_listing`] on each of `ops` in turn, as
    /// appended at the next positions one after another, with their
    /// signatures checked in batches: each gets the verdict appending it
    /// alone would give. Stops at the first refused, keeping the verified
    /// prefix; `change` then says whose standing that prefix changed (each
    /// handle once), so a server can store the prefix and its index change,
    /// or drop this state and store none of the run.
    pub fn verify_appends_listing<B: AsRef<[u8]> + Sync>(
        &mut self,
        ops: &[B],
        now: u64,
        change: &mut ListingChange,
    ) -> Result<(), VerifyError> {
        let mut before = BTreeMap::new();
        let verdict = self.verify_appends(ops, now, &mut before);
        change.added.clear();
        change.dropped.clear();
        for (handle, was) in before {
            match (was, self.appears(&handle)) {
                (false, true) => change.added.push(handle),
                (true, false) => change.dropped.push(handle),
                _ => {}
            }
        }
        verdict
    }

    /// Verifies `ops` as appends a run at a time, noting in `before` whether
    /// each handle an operation may change the standing of appeared before
    /// the first operation that names it (none earlier changed it, so that is
    /// whether it appeared before the run).
    fn verify_appends<B: AsRef<[u8]> + Sync>(
        &mut self,
        ops: &[B],
        now: u64,
        before: &mut BTreeMap<String, bool>,
    ) -> Result<(), VerifyError> {
        for run in ops.chunks(DECODE_RUN) {
            let first = self.len();
            let checked = {
                let mut predictor = if run.len() <= BATCH_THRESHOLD {
                    Predictor::none()
                } else {
                    Predictor::borrowing(self)
                };
                check_run(run, first, &mut predictor)
            };
            for (i, op) in checked.ops.iter().enumerate() {
                for handle in self.appearance_candidates(op) {
                    if let std::collections::btree_map::Entry::Vacant(entry) = before.entry(handle)
                    {
                        let was = self.appears(entry.key());
                        entry.insert(was);
                    }
                }
                self.refuse_expired_join(op, now)?;
                self.apply_vouched(
                    std::slice::from_ref(op),
                    checked.keys.get(i..).unwrap_or_default(),
                    usize::from(i < checked.good),
                    now,
                    &mut |_, _, _| {},
                )?;
            }
            if let Some(unreadable) = checked.unreadable {
                return Err(unreadable);
            }
        }
        Ok(())
    }

    fn decode_append(&self, bytes: &[u8]) -> Result<Operation, VerifyError> {
        Operation::from_bytes(bytes).map_err(|e| VerifyError::InvalidOperation {
            seq: self.len(),
            op: "unreadable operation",
            violation: Violation::Malformed(e),
        })
    }

    /// A verifying server's own rule: a join through a link that expired by
    /// its clock `now` is refused whatever time the join claims.
    fn refuse_expired_join(&self, op: &Operation, now: u64) -> Result<(), VerifyError> {
        if let Body::Join { link, .. } = op.body()
            && let Some(rec) = self.links.get(link)
            && now > rec.terms.expires_at
        {
            return Err(refused(
                self.len(),
                op,
                Violation::LinkExpired {
                    expired_at: rec.terms.expires_at,
                    claimed: now,
                },
            ));
        }
        Ok(())
    }

    fn verify_append_op(&mut self, op: &Operation, now: u64) -> Result<(), VerifyError> {
        self.refuse_expired_join(op, now)?;
        self.extend(std::slice::from_ref(op), now)
    }

    /// As [`LogState::extend`], telling `introduced` of every card an applied
    /// operation introduced (see [`LogState::extend_from_bytes_observing`]).
    pub fn extend_observing(
        &mut self,
        ops: &[Operation],
        now: u64,
        introduced: &mut (dyn FnMut(u64, &str, &Identity) + Send),
    ) -> Result<(), VerifyError> {
        if ops.len() <= BATCH_THRESHOLD {
            return self.apply_vouched(ops, &[], 0, now, introduced);
        }
        // Long runs: find each operation's signer by following membership
        // alone, check all signatures in one batch, then apply with the full
        // rules up to the first failure of either kind.
        let (keys, good) = check_decoded(ops, &mut Predictor::borrowing(self));
        self.apply_vouched(ops, &keys, good, now, introduced)
    }

    /// Applies `op`, which this device has just signed with the key whose
    /// public half is `signed_with`, under every rule as [`LogState::extend`]
    /// would, without checking its signature again: the one check skipped is
    /// of a signature made here a moment ago. `signed_with` must be the key
    /// this state holds for the operation's author (the signer the rules
    /// name), or the operation is verified as any other, so a wrong key here
    /// can make a bad operation refused, never a forged one accepted.
    pub(crate) fn extend_own(
        &mut self,
        op: &Operation,
        signed_with: &VerifyingKey,
        now: u64,
        introduced: &mut (dyn FnMut(u64, &str, &Identity) + Send),
    ) -> Result<(), VerifyError> {
        self.apply_vouched(
            std::slice::from_ref(op),
            std::slice::from_ref(signed_with),
            1,
            now,
            introduced,
        )
    }

    pub(super) fn not_member(&self, op: &Operation) -> VerifyError {
        let violation = if matches!(op.body, Body::Create { .. }) || self.is_empty() {
            Violation::Genesis
        } else {
            Violation::NotAMember {
                author: op.author.clone(),
            }
        };
        refused(self.len(), op, violation)
    }

    pub(super) fn apply_observed(
        &mut self,
        op: &Operation,
        now: u64,
        introduced: &mut Introduced<'_>,
    ) -> Result<(), VerifyError> {
        if op.time > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(VerifyError::NotYetValid {
                seq: self.len(),
                claimed: op.time,
                now,
            });
        }
        let at = self.len();
        self.apply(op).map_err(|v| refused(at, op, v))?;
        // Only now, placed and authorized, do its cards count as introduced.
        match &op.body {
            Body::Create { owner, .. } => introduced(at, &op.author, owner),
            Body::Share { grants, .. } => {
                for g in grants {
                    introduced(at, &op.author, &g.card);
                }
            }
            Body::Join { card, .. } | Body::CompleteInvite { card, .. } => {
                introduced(at, &op.author, card)
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn bad_signature(&self, op: &Operation) -> VerifyError {
        let violation = Violation::BadSignature {
            author: op.author.clone(),
        };
        refused(self.len(), op, violation)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Arc;

    use crate::{Account, Client, Collection, LogState, MemoryRemote, Remote, VerifyError};

    #[test]
    fn an_unreadable_operation_in_a_later_run_keeps_the_verified_prefix_and_says_where() {
        let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
        let mut owner = Client::new(Account::create("owner", 1).unwrap(), remote.clone());
        let mut coll = Collection::create(&mut owner, "Runs", "").unwrap();
        for i in 0..10 {
            coll.add_folder(&mut owner, None, &format!("f{i}")).unwrap();
        }
        let mut ops = remote.fetch(&coll.id(), 0).unwrap();
        let whole = ops.clone();
        for bad in [0usize, 3, 4, 9, 10] {
            ops.clone_from(&whole);
            ops[bad].truncate(10);
            let mut state = LogState::empty(coll.id());
            let err = state.extend_from_bytes(&ops, u64::MAX).unwrap_err();
            assert!(
                matches!(err, VerifyError::InvalidOperation { seq, op: "unreadable operation", .. } if seq == bad as u64),
                "bad {bad}: {err}"
            );
            assert_eq!(state.len(), bad as u64, "the verified prefix is kept");
        }
        let mut state = LogState::empty(coll.id());
        state.extend_from_bytes(&whole, u64::MAX).unwrap();
        assert_eq!(state.len(), whole.len() as u64);
    }
}
