//! The property test of the reference model (`sealshare_fuzz_targets::model`):
//! random scripts by random actors go through both the real verifier and the
//! model, which must agree on every accept and refusal, on the cell of the
//! authority table, on the table's exact refusal, and on the state after
//! every operation; and the scripts reach every kind of operation and every
//! cell of the authority table, with both verdicts where the rules allow both.
//!
//! `SEALSHARE_MODEL_CASES=20000 cargo test -p sealshare-fuzz-targets --release --test model`
//! runs it at a high count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sealshare::internal::log::authority::authorize;
use sealshare::internal::log::{Action, Body, Request, Standing};
use sealshare::{LogState, Role};
use sealshare_fuzz_targets::actors::{self, Act, Script, Step};
use sealshare_fuzz_targets::model::{self, Refusal};
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
/// accepted and refused; by cell of the authority table, the verdicts.
#[derive(Default)]
struct Reached {
    kinds: BTreeMap<&'static str, (usize, usize)>,
    cells: BTreeMap<(String, String), Tally>,
}

/// How many deterministic scripts the coverage tests draw.
const COVERAGE_SCRIPTS: usize = 1500;

/// Scripts drawn deterministically (the same every run), each checked against
/// the verifier and the model (a disagreement fails the test), tallied once
/// for both coverage tests.
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
                let j = &c.judgement;
                let kind = reached.kinds.entry(c.op.body().name()).or_default();
                let cell = (reached.cells)
                    .entry((row(j.request), column(j.standing)))
                    .or_default();
                match &j.verdict {
                    Ok(()) => {
                        kind.0 += 1;
                        cell.accepted += 1;
                    }
                    Err(why) => {
                        kind.1 += 1;
                        match why {
                            Refusal::Table(_) => cell.refused_by_table += 1,
                            Refusal::Rule(_) => cell.refused_by_rule += 1,
                            Refusal::TimeWentBack => {}
                        }
                    }
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

/// Every action an operation can ask for (the table's `Act` rows).
const ACTIONS: [Action; 11] = [
    Action::AddItem,
    Action::EditOwnItem,
    Action::EditAnyItem,
    Action::Rename,
    Action::Purge,
    Action::ManageMembers,
    Action::ManageLinks,
    Action::TransferOwnership,
    Action::Unshare,
    Action::RotateKey,
    Action::RecoverKey,
];

/// The table's columns: a standing, with the role only where the table reads it.
fn column(s: Standing) -> String {
    match s {
        Standing::Outsider => "outsider".into(),
        Standing::Pending(_) => "pending".into(),
        Standing::AwaitingApproval(_) => "awaiting approval".into(),
        Standing::Member(r) => format!("member {r}"),
    }
}

fn row(r: Request) -> String {
    match r {
        Request::Act(a) => format!("{a:?}"),
        r => format!("{r:?}"),
    }
}

/// The cells where the table allows the request but no rule of its kind can
/// refuse it (so only an accepted case is possible): accepting, and leaving.
fn rules_never_refuse(request: Request) -> bool {
    matches!(request, Request::Accept | Request::Leave)
}

#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    refused_by_rule: usize,
    refused_by_table: usize,
}

/// Every cell of the authority table (request kind by signer standing) is
/// reached by the random scripts, with its verdict checked against the
/// verifier: where the table allows the request, an accepted case and one
/// refused by the request's own rules (unless those never refuse); where the
/// table refuses, refusals only, each with the table's exact violation.
#[test]
fn scripts_reach_every_cell_of_the_authority_table() {
    let cells = &reached().cells;
    let requests = [
        Request::Create,
        Request::Join,
        Request::Accept,
        Request::Leave,
    ]
    .into_iter()
    .chain(ACTIONS.map(Request::Act));
    let standings = [
        Standing::Outsider,
        Standing::Pending(Role::Viewer),
        Standing::AwaitingApproval(Role::Viewer),
    ]
    .into_iter()
    .chain(Role::ALL.map(Standing::Member));
    let mut missing = Vec::new();
    let mut reached = BTreeSet::new();
    for request in requests {
        for standing in standings.clone() {
            let key = (row(request), column(standing));
            let t = cells.get(&key);
            let (a, r, tr) = t.map_or((0, 0, 0), |t| {
                (t.accepted, t.refused_by_rule, t.refused_by_table)
            });
            let allowed = authorize(request, "m", standing).is_ok();
            let ok = if allowed {
                a > 0 && tr == 0 && (r > 0 || rules_never_refuse(request))
            } else {
                a == 0 && r == 0 && tr > 0
            };
            println!(
                "{:<18} {:<18} {} accepted {a:>5}, refused by its rules {r:>5}, by the table {tr:>5}",
                key.0,
                key.1,
                if allowed { "allowed" } else { "refused" },
            );
            if ok {
                reached.insert(key);
            } else {
                missing.push(key);
            }
        }
    }
    println!("{} cells reached and checked", reached.len());
    assert!(missing.is_empty(), "cells not covered: {missing:?}");
}

/// A link lapses when its creator is demoted and never lives again, even when
/// they are promoted back, before or after a rotation. (Rare in random
/// scripts; spelled out.)
#[test]
fn a_lapsed_link_stays_dead_whatever_happens_to_its_creator() {
    let step = |actor, act| Step {
        actor,
        delay: 1,
        act,
    };
    let rotate = Act::Rotate {
        keys: 0,
        all_links: false,
        drop: None,
    };
    let join = Act::Join {
        link: 0,
        claim: None,
        bad_proof: false,
        flip_wrap: false,
    };
    let steps = vec![
        step(0, Act::Share { target: 1, role: 3 }),
        step(1, Act::Accept),
        step(
            1,
            Act::CreateLink {
                link: 0,
                public: false,
                role: 0,
                approval: false,
                max_uses: 0,
                expires_in: i8::MAX,
            },
        ),
        step(0, Act::ChangeRole { target: 1, role: 0 }),
        step(0, rotate.clone()),
        step(0, Act::ChangeRole { target: 1, role: 3 }),
        step(5, join.clone()),
        step(0, rotate),
        step(5, join),
    ];
    let run = model::check(&Script { steps }).unwrap_or_else(|why| panic!("{why}"));
    let verdicts: Vec<_> = run.checked.iter().map(|c| &c.judgement.verdict).collect();
    // The demotion ends the link for good: promoted again, its creator does
    // not bring it back, before or after the next rotation.
    assert!(verdicts[..7].iter().all(|v| v.is_ok()), "{verdicts:?}");
    assert!(verdicts[7].is_err(), "{verdicts:?}");
    assert!(verdicts[8].is_ok(), "{verdicts:?}");
    assert!(verdicts[9].is_err(), "{verdicts:?}");
}

/// The fuzz target's seeds are scripts encoded for `arbitrary`: the encoding
/// decodes to the same script.
#[test]
fn encoded_scripts_decode_to_themselves() {
    let mut runner = TestRunner::deterministic();
    let strategy = script_strategy();
    for _ in 0..200 {
        let script = Script {
            steps: strategy.new_tree(&mut runner).unwrap().current(),
        };
        let bytes = actors::encode(&script);
        let decoded: Script = arbitrary::Unstructured::new(&bytes).arbitrary().unwrap();
        assert_eq!(format!("{decoded:?}"), format!("{script:?}"));
    }
}
