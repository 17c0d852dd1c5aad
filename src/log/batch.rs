//! Verifying long runs of encoded operations at the speed of a batch
//! signature check: each run is decoded on all cores, its signers are
//! predicted from membership alone, its signatures are checked in one batch,
//! and it is applied with the full rules while the next run is decoded and
//! checked beside it.
//!
//! A prediction is only a hint: an operation's batch verdict counts only if
//! its predicted key equals [`LogState::signer_of`] on the real state when
//! it is applied. Otherwise (or past a failed batch) its signature is
//! checked on its own, so a wrong prediction costs one check, never a
//! forged operation.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;

use crate::crypto::sign::{BatchItem, VerifyingKey, verify_batch};
use crate::identity::Identity;
use crate::log::error::VerifyError;
use crate::log::op::{Body, OP_DOMAIN, Operation};
use crate::log::rules::Violation;
use crate::log::state::{LogState, signer_rule};

/// Up to this many operations, signatures are checked one by one (a
/// batch draws randomness and saves nothing on so few). Two in the unit
/// tests, so that their short runs are checked in batches.
pub(super) const BATCH_THRESHOLD: usize = if cfg!(test) { 2 } else { 16 };
/// How many operations are decoded, checked and applied at a time: two runs
/// are held decoded at once (a log of a million holds gigabytes decoded),
/// and each is long enough for a batch check on all cores. A few in the
/// unit tests, so that they cross runs.
pub(super) const DECODE_RUN: usize = if cfg!(test) { 4 } else { 4_096 };

/// What is told of every card an applied operation introduced.
pub(super) type Introduced<'a> = dyn FnMut(u64, &str, &Identity) + Send + 'a;

/// A run decoded and batch-checked, waiting to be applied.
pub(super) struct Checked {
    pub(super) ops: Vec<Operation>,
    /// The predicted signer of each of the first operations.
    pub(super) keys: Vec<VerifyingKey>,
    /// How many of the first operations passed the batch under `keys`.
    pub(super) good: usize,
    /// Why the operation after `ops` could not be decoded, if one could not.
    pub(super) unreadable: Option<VerifyError>,
}

/// The signers of operations in turn, following only membership changes,
/// across runs. Stops for good at the first operation whose author would
/// not be a member, and at a run too short to batch.
pub(super) struct Predictor<'a> {
    members: HashMap<Cow<'a, str>, VerifyingKey>,
    owner: Cow<'a, str>,
    genesis: bool,
    stopped: bool,
}

impl<'a> Predictor<'a> {
    /// Predicts nothing (for a run checked one by one).
    pub(super) fn none() -> Self {
        Self {
            members: HashMap::new(),
            owner: Cow::Borrowed(""),
            genesis: false,
            stopped: true,
        }
    }

    /// Predicts from `state` on, borrowing its handles (for one run).
    pub(super) fn borrowing(state: &'a LogState) -> Self {
        Self {
            members: state
                .members
                .iter()
                .map(|(h, m)| (Cow::Borrowed(h.as_str()), *m.card.signing_key()))
                .collect(),
            owner: Cow::Borrowed(&state.owner),
            genesis: state.is_empty(),
            stopped: false,
        }
    }

    /// Predicts from `state` on, holding its own copy (for runs checked
    /// while `state` changes).
    pub(super) fn owning(state: &LogState) -> Predictor<'static> {
        Predictor {
            members: state
                .members
                .iter()
                .map(|(h, m)| (Cow::Owned(h.clone()), *m.card.signing_key()))
                .collect(),
            owner: Cow::Owned(state.owner.clone()),
            genesis: state.is_empty(),
            stopped: false,
        }
    }

    fn predict(&mut self, ops: &[Operation]) -> Vec<VerifyingKey> {
        let mut keys = Vec::with_capacity(ops.len());
        for op in ops {
            if self.stopped {
                break;
            }
            let member = self.members.get(op.author.as_str()).copied();
            let Some(key) = signer_rule(op, self.genesis, member) else {
                self.stopped = true;
                break;
            };
            keys.push(key);
            self.follow(op);
        }
        keys
    }

    fn follow(&mut self, op: &Operation) {
        let mut add = |card: &Identity| {
            self.members
                .insert(Cow::Owned(card.handle().to_owned()), *card.signing_key());
        };
        match &op.body {
            Body::Create { owner: card, .. } => {
                add(card);
                self.owner = Cow::Owned(card.handle().to_owned());
            }
            Body::Share { grants, .. } => grants.iter().for_each(|g| add(&g.card)),
            Body::Join { card, .. } | Body::CompleteInvite { card, .. } => add(card),
            Body::Remove { members: gone, .. } => {
                for m in gone {
                    self.members.remove(m.as_str());
                }
            }
            Body::Leave => {
                self.members.remove(op.author.as_str());
            }
            Body::Unshare { .. } => {
                let owner = &self.owner;
                self.members.retain(|h, _| h == owner);
            }
            Body::Transfer { to } => self.owner = Cow::Owned(to.clone()),
            _ => {}
        }
        self.genesis = false;
    }
}

/// Decodes `run` on all cores (`first` is the log position of its first
/// operation), up to the first that does not decode; predicts the signers;
/// checks their signatures in one batch.
pub(super) fn check_run<B: AsRef<[u8]> + Sync>(
    run: &[B],
    first: u64,
    predictor: &mut Predictor<'_>,
) -> Checked {
    let decode = |b: &B| Operation::from_bytes(b.as_ref());
    // A few are decoded here: handing them to the thread pool costs more.
    let decoded: Vec<_> = if run.len() < 64 {
        run.iter().map(decode).collect()
    } else {
        run.par_iter().with_min_len(64).map(decode).collect()
    };
    let mut ops = Vec::with_capacity(decoded.len());
    let mut unreadable = None;
    for (i, op) in decoded.into_iter().enumerate() {
        match op {
            Ok(op) => ops.push(op),
            Err(e) => {
                unreadable = Some(self::unreadable(first + i as u64, e));
                break;
            }
        }
    }
    let (keys, good) = check_decoded(&ops, predictor);
    Checked {
        ops,
        keys,
        good,
        unreadable,
    }
}

/// The refusal of an operation at `seq` that does not decode.
fn unreadable(seq: u64, e: crate::wire::DecodeError) -> VerifyError {
    VerifyError::InvalidOperation {
        seq,
        op: "unreadable operation",
        violation: Violation::Malformed(e),
    }
}

/// The predicted signers of `ops`, and how many of the first passed one
/// batch check under them (none, in a run too short to batch).
pub(super) fn check_decoded(
    ops: &[Operation],
    predictor: &mut Predictor<'_>,
) -> (Vec<VerifyingKey>, usize) {
    if ops.len() <= BATCH_THRESHOLD {
        // Checked one by one; nothing after this run is predicted.
        predictor.stopped = true;
        return (Vec::new(), 0);
    }
    let keys = predictor.predict(ops);
    let items: Vec<BatchItem<'_>> = keys
        .iter()
        .zip(ops)
        .map(|(key, op)| BatchItem {
            key,
            domain: OP_DOMAIN,
            msg: op.signed_bytes(),
            signature: op.signature(),
        })
        .collect();
    let good = verify_batch(&items).err().map_or(keys.len(), |(i, _)| i);
    (keys, good)
}

impl LogState {
    /// Verifies and applies encoded operations a run at a time, each run
    /// applied while the next is decoded and checked (see the module
    /// documentation). Stops at the first failure, keeping the verified
    /// prefix.
    pub(super) fn extend_in_runs<B: AsRef<[u8]> + Sync>(
        &mut self,
        ops: &[B],
        now: u64,
        introduced: &mut Introduced<'_>,
    ) -> Result<(), VerifyError> {
        let base = self.len();
        if ops.len() <= DECODE_RUN {
            // One run, nothing to overlap. So few that they are checked one
            // by one need no prediction at all.
            let mut predictor = if ops.len() <= BATCH_THRESHOLD {
                Predictor::none()
            } else {
                Predictor::borrowing(self)
            };
            let run = check_run(ops, base, &mut predictor);
            return self.apply_checked(run, now, introduced);
        }
        let mut predictor = Predictor::owning(self);
        let mut runs = ops.chunks(DECODE_RUN);
        let mut pending = match runs.next() {
            Some(run) => check_run(run, base, &mut predictor),
            None => return Ok(()),
        };
        let mut first = base;
        for run in runs {
            first += DECODE_RUN as u64;
            let (applied, next) = rayon::join(
                || self.apply_checked(pending, now, introduced),
                || check_run(run, first, &mut predictor),
            );
            applied?;
            pending = next;
        }
        self.apply_checked(pending, now, introduced)
    }

    /// Applies a checked run with the full rules, deciding on its own the
    /// signature of every operation the batch did not vouch for.
    pub(super) fn apply_checked(
        &mut self,
        run: Checked,
        now: u64,
        introduced: &mut Introduced<'_>,
    ) -> Result<(), VerifyError> {
        self.apply_vouched(&run.ops, &run.keys, run.good, now, introduced)?;
        match run.unreadable {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Applies `ops` in order, where the first `good` passed a batch check
    /// under the signers `keys` predicted.
    pub(super) fn apply_vouched(
        &mut self,
        ops: &[Operation],
        keys: &[VerifyingKey],
        good: usize,
        now: u64,
        introduced: &mut Introduced<'_>,
    ) -> Result<(), VerifyError> {
        for (i, op) in ops.iter().enumerate() {
            let key = self.signer_of(op).ok_or_else(|| self.not_member(op))?;
            let vouched = i < good && keys.get(i).is_some_and(|k| *k == key);
            if !vouched {
                // The prediction stopped or differed here, or the batch
                // failed: decide this one on its own.
                op.verify_signature(&key)
                    .map_err(|_| self.bad_signature(op))?;
            }
            self.apply_observed(op, now, introduced)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Arc;

    use crate::log::rules::Violation;
    use crate::{
        Account, Client, Collection, CollectionId, LogState, MemoryRemote, Operation, Remote, Role,
        VerifyError,
    };

    /// A log of several runs: alice creates and shares with bob, both add
    /// folders, alice removes bob and adds more. Returns the log, its
    /// collection, bob (to sign what he no longer may) and alice.
    fn log_of_several_runs() -> (CollectionId, Vec<Vec<u8>>, Client, Client) {
        let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
        let mut alice = Client::new(Account::create("alice", 1).unwrap(), remote.clone());
        let mut bob = Client::new(Account::create("bob", 1).unwrap(), remote.clone());
        let mut coll = Collection::create(&mut alice, "Runs", "").unwrap();
        coll.share(&mut alice, bob.account().identity(), Role::Collaborator)
            .unwrap();
        let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
        bobs.accept(&mut bob).unwrap();
        for i in 0..6 {
            bobs.add_folder(&mut bob, None, &format!("b{i}")).unwrap();
        }
        coll.sync(&mut alice).unwrap();
        for i in 0..6 {
            coll.add_folder(&mut alice, None, &format!("a{i}")).unwrap();
        }
        coll.remove(&mut alice, "bob").unwrap();
        for i in 0..6 {
            coll.add_folder(&mut alice, None, &format!("c{i}")).unwrap();
        }
        let log = remote.fetch(&coll.id(), 0).unwrap();
        assert!(log.len() > 4 * super::DECODE_RUN, "crosses runs");
        (coll.id(), log, bob, alice)
    }

    fn refusal(err: &VerifyError) -> (u64, &Violation) {
        match err {
            VerifyError::InvalidOperation { seq, violation, .. } => (*seq, violation),
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn a_bad_signature_in_any_run_stops_exactly_there_and_keeps_the_prefix() {
        let (id, log, _, _) = log_of_several_runs();
        let mut whole = LogState::empty(id);
        whole.extend_from_bytes(&log, u64::MAX).unwrap();
        assert_eq!(whole.len(), log.len() as u64);
        for bad in 0..log.len() {
            let mut ops = log.clone();
            // The low byte of `s`: the signature stays canonical, so the
            // batch equation itself must catch it.
            let at = ops[bad].len() - 32;
            ops[bad][at] ^= 1;
            let mut state = LogState::empty(id);
            let err = state.extend_from_bytes(&ops, u64::MAX).unwrap_err();
            let (seq, violation) = refusal(&err);
            assert_eq!(seq, bad as u64, "{err}");
            assert!(matches!(violation, Violation::BadSignature { .. }), "{err}");
            assert_eq!(state.len(), bad as u64, "the verified prefix is kept");
        }
    }

    #[test]
    fn an_operation_by_a_member_removed_in_an_earlier_run_is_refused() {
        let (id, log, bob, _) = log_of_several_runs();
        let last = Operation::from_bytes(log.last().unwrap()).unwrap();
        let bobs = log
            .iter()
            .map(|b| Operation::from_bytes(b).unwrap())
            .find(|op| op.author() == "bob")
            .unwrap();
        let late = bob
            .account()
            .sign_operation(
                id,
                last.seq() + 1,
                last.hash(),
                last.time(),
                bobs.body().clone(),
            )
            .unwrap();
        let mut ops = log.clone();
        ops.push(late.to_bytes().to_vec());
        let mut state = LogState::empty(id);
        let err = state.extend_from_bytes(&ops, u64::MAX).unwrap_err();
        let (seq, violation) = refusal(&err);
        assert_eq!(seq, log.len() as u64, "{err}");
        assert!(matches!(violation, Violation::NotAMember { .. }), "{err}");
        assert_eq!(state.len(), log.len() as u64);
    }

    #[test]
    fn an_operation_from_the_far_future_in_a_later_run_is_held_and_nothing_after_it_applies() {
        let (id, log, _, alice) = log_of_several_runs();
        let decoded: Vec<Operation> = log
            .iter()
            .map(|b| Operation::from_bytes(b).unwrap())
            .collect();
        let now = decoded.last().unwrap().time();
        let late = now + crate::log::MAX_CLOCK_SKEW + 1;
        for bad in [9usize, 16, log.len() - 1] {
            let (op, prev) = (&decoded[bad], &decoded[bad - 1]);
            let ahead = alice
                .account()
                .sign_operation(id, op.seq(), prev.hash(), late, op.body().clone())
                .unwrap();
            let mut ops = log.clone();
            ops[bad] = ahead.to_bytes().to_vec();
            let mut state = LogState::empty(id);
            let err = state.extend_from_bytes(&ops, now).unwrap_err();
            assert!(
                matches!(err, VerifyError::NotYetValid { seq, claimed, .. }
                    if seq == bad as u64 && claimed == late),
                "{err}"
            );
            assert_eq!(state.len(), bad as u64, "nothing from it on is applied");
        }
    }

    #[test]
    fn a_rule_broken_in_one_run_applies_nothing_of_the_next() {
        let (id, log, _, alice) = log_of_several_runs();
        let decoded: Vec<Operation> = log
            .iter()
            .map(|b| Operation::from_bytes(b).unwrap())
            .collect();
        for bad in [9usize, 12, 16, log.len() - 1] {
            let (op, prev) = (&decoded[bad], &decoded[bad - 1]);
            assert_eq!(op.author(), "alice", "op {bad}");
            // Well signed by a member, but claiming a time before the
            // previous operation's.
            let early = alice
                .account()
                .sign_operation(
                    id,
                    op.seq(),
                    prev.hash(),
                    prev.time() - 1,
                    op.body().clone(),
                )
                .unwrap();
            let mut ops = log.clone();
            ops[bad] = early.to_bytes().to_vec();
            let mut state = LogState::empty(id);
            let err = state.extend_from_bytes(&ops, u64::MAX).unwrap_err();
            let (seq, violation) = refusal(&err);
            assert_eq!(seq, bad as u64, "{err}");
            assert!(
                matches!(violation, Violation::TimeWentBackwards { .. }),
                "{err}"
            );
            assert_eq!(state.len(), bad as u64, "nothing after it is applied");
        }
    }

    /// Appends verified together, their signatures in batches across runs,
    /// get the verdict each would get appended alone: a bad signature
    /// anywhere stops exactly there, the prefix verified and kept, and the
    /// listing change names whose standing the prefix changed.
    #[test]
    fn appends_verified_together_stop_where_one_at_a_time_would() {
        let (id, log, _, _) = log_of_several_runs();
        let now = crate::system_time();
        for bad in 0..log.len() {
            let mut ops = log.clone();
            let at = ops[bad].len() - 32;
            ops[bad][at] ^= 1;
            let mut alone = LogState::empty(id);
            let one_err = ops
                .iter()
                .find_map(|op| alone.verify_append_listing(op, now).err())
                .unwrap();
            let mut together = LogState::empty(id);
            let mut change = crate::ListingChange::default();
            let err = together
                .verify_appends_listing(&ops, now, &mut change)
                .unwrap_err();
            assert_eq!(refusal(&err), refusal(&one_err), "{err}");
            assert_eq!(together.len(), bad as u64, "the verified prefix is kept");
            assert_eq!(together.head(), alone.head());
            let mut listed: Vec<String> = together.appearing().map(str::to_owned).collect();
            listed.sort();
            change.added.sort();
            assert_eq!(change.added, listed, "op {bad}");
            assert!(change.dropped.is_empty());
        }
    }

    /// The listing change of a run that removes a member drops them, and one
    /// that only adds folders changes nothing, whatever the run boundaries.
    #[test]
    fn appends_verified_together_report_each_change_of_standing_once() {
        let (id, log, _, _) = log_of_several_runs();
        let now = crate::system_time();
        for split in 1..log.len() {
            let mut state = LogState::empty(id);
            let mut first = crate::ListingChange::default();
            state
                .verify_appends_listing(&log[..split], now, &mut first)
                .unwrap();
            let had: Vec<String> = state.appearing().map(str::to_owned).collect();
            let mut rest = crate::ListingChange::default();
            state
                .verify_appends_listing(&log[split..], now, &mut rest)
                .unwrap();
            let has: Vec<String> = state.appearing().map(str::to_owned).collect();
            for h in &rest.added {
                assert!(!had.contains(h) && has.contains(h), "{h} at {split}");
            }
            for h in &rest.dropped {
                assert!(had.contains(h) && !has.contains(h), "{h} at {split}");
            }
            let changed = had.iter().filter(|h| !has.contains(h)).count()
                + has.iter().filter(|h| !had.contains(h)).count();
            assert_eq!(rest.added.len() + rest.dropped.len(), changed, "at {split}");
        }
    }

    /// An operation this device signed is applied under every rule without
    /// its signature checked again only when the key given is its author's:
    /// any other key, and a forged operation is refused as it would be.
    #[test]
    fn an_own_operation_under_the_wrong_key_is_verified_like_any_other() {
        let (id, log, bob, alice) = log_of_several_runs();
        let mut state = LogState::empty(id);
        state.extend_from_bytes(&log, u64::MAX).unwrap();
        let last = Operation::from_bytes(log.last().unwrap()).unwrap();
        let crate::log::op::Body::Create { info, .. } =
            Operation::from_bytes(&log[0]).unwrap().body().clone()
        else {
            panic!("the log starts with its creation")
        };
        let rename = crate::log::op::Body::Rename {
            epoch: state.epoch(),
            info,
        };
        let op = alice
            .account()
            .sign_operation(id, last.seq() + 1, last.hash(), last.time(), rename)
            .unwrap();
        let mut forged = op.to_bytes().to_vec();
        let at = forged.len() - 32;
        forged[at] ^= 1;
        let forged = Operation::from_bytes(&forged).unwrap();
        let bobs_key = *bob.account().identity().signing_key();
        let err = state
            .extend_own(&forged, &bobs_key, u64::MAX, &mut |_, _, _| {})
            .unwrap_err();
        assert!(
            matches!(refusal(&err).1, Violation::BadSignature { .. }),
            "{err}"
        );
        assert_eq!(state.len(), log.len() as u64, "nothing applied");
        let alices_key = *alice.account().identity().signing_key();
        state
            .extend_own(&op, &alices_key, u64::MAX, &mut |_, _, _| {})
            .unwrap();
        assert_eq!(state.len(), log.len() as u64 + 1);
    }
}
