//! The random scripts of the model test, shared with the seeds example (which
//! encodes some of them as inputs of the fuzz target).

use proptest::prelude::*;
use sealshare_fuzz_targets::actors::{Act, Step};

/// One step: mostly by the owner and the members of the prefix, a time
/// that seldom goes back, and every kind of act.
pub fn step_strategy() -> impl Strategy<Value = Step> {
    let who = 0u8..8;
    let role = 0u8..5;
    let id = 0u8..4;
    let link = 0u8..4;
    // Invitations and approvals are mostly for outsiders (actors 5 to 7).
    let newcomer = || prop_oneof![3 => 5u8..8, 1 => 0u8..8];
    let act = prop_oneof![
        1 => Just(Act::Create),
        2 => (who.clone(), role.clone()).prop_map(|(target, role)| Act::Share { target, role }),
        2 => Just(Act::Accept),
        1 => Just(Act::Leave),
        2 => (who.clone(), role.clone()).prop_map(|(target, role)| Act::ChangeRole { target, role }),
        1 => (who.clone(), prop::bool::weighted(0.2), prop::bool::weighted(0.2))
            .prop_map(|(target, wrap_removed, all_links)| Act::Remove { target, wrap_removed, all_links }),
        1 => prop::bool::weighted(0.3).prop_map(|all_links| Act::Unshare { all_links }),
        1 => who.clone().prop_map(|target| Act::Transfer { target }),
        3 => (0u8..3, prop::bool::weighted(0.3), prop::option::weighted(0.15, who.clone()))
            .prop_map(|(keys, all_links, drop)| Act::Rotate { keys, all_links, drop }),
        1 => Just(Act::Rename),
        6 => (id.clone(), prop::option::weighted(0.3, id.clone()), any::<bool>())
            .prop_map(|(id, parent, folder)| Act::Add { id, parent, folder }),
        4 => id.clone().prop_map(|id| Act::Edit { id }),
        2 => (id.clone(), prop::option::of(id.clone())).prop_map(|(id, parent)| Act::Move { id, parent }),
        4 => id.clone().prop_map(|id| Act::Trash { id }),
        4 => id.clone().prop_map(|id| Act::Restore { id }),
        3 => id.clone().prop_map(|id| Act::Purge { id }),
        3 => link_strategy(),
        5 => (link.clone(), prop::option::weighted(0.2, role.clone()), prop::bool::weighted(0.2), prop::bool::weighted(0.15))
            .prop_map(|(link, claim, bad_proof, flip_wrap)| Act::Join { link, claim, bad_proof, flip_wrap }),
        2 => newcomer().prop_map(|target| Act::Approve { target }),
        2 => (link.clone(), prop::bool::weighted(0.7), prop::bool::weighted(0.2))
            .prop_map(|(link, rotate, all_links)| Act::Revoke { link, rotate, all_links }),
        1 => (newcomer(), role.clone()).prop_map(|(target, role)| Act::Invite { target, role }),
        2 => newcomer().prop_map(|target| Act::CompleteInvite { target }),
        1 => newcomer().prop_map(|target| Act::CancelInvite { target }),
    ];
    // Mostly the owner and the members of the prefix act.
    let actor = prop_oneof![1 => Just(0u8), 2 => 1u8..5, 1 => 5u8..8];
    (actor, -2i8..20, act).prop_map(|(actor, delay, act)| Step { actor, delay, act })
}

/// A link: mostly invite links (the role, approval and use limit at random),
/// most living long, some expiring within the script or before they are made.
pub fn link_strategy() -> impl Strategy<Value = Act> {
    (
        0u8..4,
        prop::bool::weighted(0.15),
        0u8..5,
        any::<bool>(),
        prop_oneof![2 => Just(0u8), 1 => 1u8..4],
        prop_oneof![3 => Just(i8::MAX), 2 => -3i8..60],
    )
        .prop_map(
            |(link, public, role, approval, max_uses, expires_in)| Act::CreateLink {
                link,
                public,
                role,
                approval,
                max_uses,
                expires_in,
            },
        )
}

/// A script: the owner adds a few items, shares with actors 1 to 4 at random
/// roles (below owner) and most accept; sometimes the owner makes links and
/// outsiders 5 to 7 join through them, or invites actor 7; then random steps
/// by anyone.
pub fn script_strategy() -> impl Strategy<Value = Vec<Step>> {
    (
        prop::collection::vec((0u8..4, prop::bool::weighted(0.8)), 4),
        prop::collection::vec((link_strategy(), any::<bool>()), 0..4),
        prop::collection::vec((0u8..3, any::<bool>()), 0..3),
        prop::option::of(0u8..4),
        prop::collection::vec(step_strategy(), 1..44),
    )
        .prop_map(|(grants, links, items, invite, rest)| {
            let mut steps = Vec::new();
            for (id, folder) in items {
                let parent = None;
                steps.push(Step {
                    actor: 0,
                    delay: 1,
                    act: Act::Add { id, parent, folder },
                });
            }
            for (i, (role, accepts)) in grants.into_iter().enumerate() {
                let target = i as u8 + 1;
                steps.push(Step {
                    actor: 0,
                    delay: 1,
                    act: Act::Share { target, role },
                });
                if accepts {
                    steps.push(Step {
                        actor: target,
                        delay: 1,
                        act: Act::Accept,
                    });
                }
            }
            for (i, (act, joins)) in links.into_iter().enumerate() {
                let Act::CreateLink { link, .. } = act else {
                    continue;
                };
                steps.push(Step {
                    actor: 0,
                    delay: 1,
                    act,
                });
                if joins {
                    steps.push(Step {
                        actor: 5 + (i % 3) as u8,
                        delay: 1,
                        act: Act::Join {
                            link,
                            claim: None,
                            bad_proof: false,
                            flip_wrap: false,
                        },
                    });
                }
            }
            if let Some(role) = invite {
                steps.push(Step {
                    actor: 0,
                    delay: 1,
                    act: Act::Invite { target: 7, role },
                });
            }
            steps.extend(rest);
            steps
        })
}
