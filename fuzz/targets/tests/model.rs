//! The property test of the reference model (`sealshare_fuzz_targets::model`):
//! random scripts by random actors go through both the real verifier and the
//! model, which must agree on every accept and refusal, on the cell of the
//! authority table, on the table's exact refusal, and on the state after
//! every operation; and the scripts reach every kind of operation, accepted
//! and refused.
//!
//! `SEALSHARE_MODEL_CASES=20000 cargo test -p sealshare-fuzz-targets --release --test model`
//! runs it at a high count.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sealshare::LogState;
use sealshare::log::Body;
use sealshare_fuzz_targets::actors::{self, Script};
use sealshare_fuzz_targets::model;
use strategy::script_strategy;

mod strategy;

fn cases() -> u32 {
    std::env::var("SEALSHARE_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn verifier_agrees_with_the_model(steps in script_strategy()) {
        let run = model::check(&Script { steps });
        prop_assert!(run.is_ok(), "{}", run.err().unwrap_or_default());
        let run = run.unwrap_or_default();
        // After every accepted removal the removed member holds no key of the
        // new epoch (the model already demands the wraps go to exactly the
        // key holders who stay).
        let mut state = LogState::empty(actors::COLLECTION);
        for op in &run.log {
            state.extend(std::slice::from_ref(op), actors::NOW).unwrap();
            if let Body::Remove { members, rotation } = op.body() {
                for gone in members {
                    prop_assert!(state.member(gone).is_none());
                    prop_assert!(rotation.wraps.iter().all(|(h, _)| h != gone),
                        "the removed member got the new key");
                    prop_assert_eq!(rotation.epoch, state.epoch());
                }
            }
        }
    }
}

/// What the deterministic scripts reached: by kind of operation, how often
/// accepted and refused.
#[derive(Default)]
struct Reached {
    kinds: BTreeMap<&'static str, (usize, usize)>,
}

/// How many deterministic scripts the coverage test draws.
const COVERAGE_SCRIPTS: usize = 1500;

/// Scripts drawn deterministically (the same every run), each checked against
/// the verifier and the model (a disagreement fails the test), tallied.
fn reached() -> &'static Reached {
    static REACHED: OnceLock<Reached> = OnceLock::new();
    REACHED.get_or_init(|| {
        let mut runner = TestRunner::deterministic();
        let strategy = script_strategy();
        let mut reached = Reached::default();
        for _ in 0..COVERAGE_SCRIPTS {
            let steps = strategy.new_tree(&mut runner).unwrap().current();
            let run = model::check(&Script { steps }).unwrap_or_else(|why| panic!("{why}"));
            for c in &run.checked {
                let kind = reached.kinds.entry(c.op.body().name()).or_default();
                match c.judgement.verdict {
                    Ok(()) => kind.0 += 1,
                    Err(_) => kind.1 += 1,
                }
            }
        }
        reached
    })
}

/// The random scripts reach every rule: each kind of step is accepted in some
/// case and refused in another, so agreement above is not agreement on trivia.
#[test]
fn scripts_reach_every_kind_of_step() {
    let kinds = &reached().kinds;
    for kind in [
        "create",
        "share",
        "accept",
        "leave",
        "change role",
        "remove member",
        "unshare",
        "transfer ownership",
        "rotate key",
        "rename",
        "add item",
        "new item version",
        "trash",
        "restore",
        "purge",
        "create link",
        "revoke links",
        "join",
        "approve join",
        "invite",
        "complete invitation",
        "cancel invitation",
    ] {
        let (accepted, refused) = kinds.get(kind).copied().unwrap_or_default();
        println!("{kind:<20} accepted {accepted:>6}, refused {refused:>6}");
        assert!(accepted > 0, "{kind} never accepted");
        assert!(refused > 0, "{kind} never refused");
    }
}
