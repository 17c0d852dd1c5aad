//! A reference model of the roles table and the membership rules, small enough
//! to check by eye, and a property test that drives random operations by random
//! actors through both the real verifier and the model: they must agree on
//! every accept and every refusal, and after every accepted removal the removed
//! member holds no key of the current epoch.
//!
//! `SEALSHARE_MODEL_CASES=50000 cargo test -p sealshare-fuzz-targets --release --test model`
//! runs it at a high count.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use sealshare::LogState;
use sealshare::log::Body;
use sealshare_fuzz_targets::actors::{self, Act, Script, Step};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum R {
    Viewer = 1,
    Collaborator,
    Editor,
    Admin,
    Owner,
}

fn r(b: u8) -> R {
    [R::Viewer, R::Collaborator, R::Editor, R::Admin, R::Owner][usize::from(b % 5)]
}

#[derive(Clone)]
struct Item {
    creator: usize,
    folder: bool,
    trashed: bool,
    parent: Option<u8>,
}

/// The model: members (role, accepted), whether a leave left the key stale,
/// items, the ids ever purged (never used again), and the last time.
#[derive(Clone)]
struct Model {
    members: HashMap<usize, (R, bool)>,
    stale: bool,
    items: HashMap<u8, Item>,
    purged: HashSet<u8>,
    time: u64,
}

impl Model {
    fn new() -> Self {
        Self {
            members: HashMap::from([(0, (R::Owner, true))]),
            stale: false,
            items: HashMap::new(),
            purged: HashSet::new(),
            time: 1000,
        }
    }

    /// Whether folder `id` holds any item (trashed ones included).
    fn holds_items(&self, id: u8) -> bool {
        self.items.values().any(|i| i.parent == Some(id))
    }

    /// Whether `target` is `folder` or inside it.
    fn within(&self, target: u8, folder: u8) -> bool {
        let mut cursor = Some(target);
        while let Some(c) = cursor {
            if c == folder {
                return true;
            }
            cursor = self.items.get(&c).and_then(|i| i.parent);
        }
        false
    }

    /// Applies `step` by `a` at `time` if the rules allow it; says whether they did.
    fn step(&mut self, a: usize, time: u64, act: &Act) -> bool {
        let before = self.clone();
        let ok = self.try_step(a, time, act);
        if !ok {
            *self = before;
        }
        ok
    }

    fn try_step(&mut self, a: usize, time: u64, act: &Act) -> bool {
        if time < self.time {
            return false;
        }
        self.time = time;
        let Some(&(role, accepted)) = self.members.get(&a) else {
            return false; // outsiders and removed members may do nothing
        };
        match act {
            Act::Accept => return !accepted && self.members.insert(a, (role, true)).is_some(),
            Act::Leave => {
                if role == R::Owner {
                    return false;
                }
                self.members.remove(&a);
                self.stale = true;
                return true;
            }
            _ if !accepted => return false,
            _ => {}
        }
        let t = |x: &u8| usize::from(*x) % actors::ACTORS;
        match act {
            Act::Accept | Act::Leave => false,
            Act::Share { target, role: nr } => {
                let (t, nr) = (t(target), r(*nr));
                role >= R::Admin
                    && !self.stale
                    && !self.members.contains_key(&t)
                    && nr != R::Owner
                    && nr < role
                    && self.members.insert(t, (nr, false)).is_none()
            }
            Act::ChangeRole { target, role: nr } => {
                let (t, nr) = (t(target), r(*nr));
                match self.members.get(&t) {
                    Some(&(cur, acc))
                        if role >= R::Admin && cur < role && nr < role && nr != R::Owner =>
                    {
                        self.members.insert(t, (nr, acc));
                        true
                    }
                    _ => false,
                }
            }
            Act::Remove {
                target,
                wrap_removed,
            } => {
                let t = t(target);
                match self.members.get(&t) {
                    Some(&(cur, _)) if role >= R::Admin && cur < role && !wrap_removed => {
                        self.members.remove(&t);
                        self.stale = false;
                        true
                    }
                    _ => false,
                }
            }
            Act::Unshare => {
                if role != R::Owner {
                    return false;
                }
                self.members.retain(|m, _| *m == a);
                self.stale = false;
                true
            }
            Act::Transfer { target } => {
                let t = t(target);
                match self.members.get(&t) {
                    Some(&(cur, true)) if role == R::Owner && cur != R::Owner => {
                        self.members.insert(t, (R::Owner, true));
                        self.members.insert(a, (R::Admin, true));
                        true
                    }
                    _ => false,
                }
            }
            // Only a collaborator or above picks the next key.
            Act::Rotate => {
                if role < R::Collaborator {
                    return false;
                }
                self.stale = false;
                true
            }
            Act::Rename => role >= R::Editor && !self.stale,
            Act::Add { id, parent, folder } => {
                let id = id % 8;
                if role < R::Collaborator
                    || self.stale
                    || self.items.contains_key(&id)
                    || self.purged.contains(&id)
                {
                    return false;
                }
                if let Some(p) = parent.map(|p| p % 8) {
                    match self.items.get(&p) {
                        Some(pi) if pi.folder && !pi.trashed && p != id => {}
                        _ => return false,
                    }
                }
                self.items.insert(
                    id,
                    Item {
                        creator: a,
                        folder: *folder,
                        trashed: false,
                        parent: parent.map(|p| p % 8),
                    },
                );
                true
            }
            Act::Edit { id } => match self.items.get(&(id % 8)) {
                Some(i) => {
                    let mine = i.creator == a;
                    !self.stale
                        && !i.trashed
                        && (role >= R::Editor || (mine && role >= R::Collaborator))
                        && i.parent
                            .is_none_or(|p| self.items.get(&p).is_some_and(|pi| !pi.trashed))
                }
                None => false,
            },
            // Acting on a folder that holds items needs Editor, even from
            // its creator (trash, restore, move; purge needs Admin anyway).
            Act::Trash { id } | Act::Restore { id } => {
                let trash = matches!(act, Act::Trash { .. });
                let full = self.holds_items(id % 8);
                match self.items.get_mut(&(id % 8)) {
                    Some(i)
                        if i.trashed != trash
                            && (role >= R::Editor
                                || (i.creator == a && role >= R::Collaborator && !full)) =>
                    {
                        i.trashed = trash;
                        true
                    }
                    _ => false,
                }
            }
            Act::Purge { id } => {
                let id = id % 8;
                let has_children = self.holds_items(id);
                match self.items.get(&id) {
                    Some(i) if role >= R::Admin && i.trashed && !has_children => {
                        self.items.remove(&id);
                        self.purged.insert(id);
                        true
                    }
                    _ => false,
                }
            }
            Act::Move { id, parent } => {
                let (id, parent) = (id % 8, parent.map(|p| p % 8));
                let Some(i) = self.items.get(&id) else {
                    return false;
                };
                let moving = i.parent != parent;
                let allowed = role >= R::Editor
                    || (i.creator == a
                        && role >= R::Collaborator
                        && !(moving && self.holds_items(id)));
                let parent_ok = parent.is_none_or(|p| {
                    self.items
                        .get(&p)
                        .is_some_and(|pi| pi.folder && !pi.trashed)
                        && !(i.folder && self.within(p, id))
                });
                if self.stale || i.trashed || !allowed || !parent_ok {
                    return false;
                }
                if let Some(i) = self.items.get_mut(&id) {
                    i.parent = parent;
                }
                true
            }
        }
    }
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let small = 0u8..8;
    let act = prop_oneof![
        2 => (small.clone(), 0u8..5).prop_map(|(target, role)| Act::Share { target, role }),
        1 => Just(Act::Accept),
        1 => Just(Act::Leave),
        2 => (small.clone(), 0u8..5).prop_map(|(target, role)| Act::ChangeRole { target, role }),
        1 => (small.clone(), prop::bool::weighted(0.2))
            .prop_map(|(target, wrap_removed)| Act::Remove { target, wrap_removed }),
        1 => Just(Act::Unshare),
        1 => small.clone().prop_map(|target| Act::Transfer { target }),
        1 => Just(Act::Rotate),
        1 => Just(Act::Rename),
        6 => (0u8..4, prop::option::of(0u8..4), any::<bool>())
            .prop_map(|(id, parent, folder)| Act::Add { id, parent, folder }),
        4 => (0u8..4).prop_map(|id| Act::Edit { id }),
        4 => (0u8..4).prop_map(|id| Act::Trash { id }),
        4 => (0u8..4).prop_map(|id| Act::Restore { id }),
        3 => (0u8..4).prop_map(|id| Act::Purge { id }),
        4 => (0u8..4, prop::option::of(0u8..4)).prop_map(|(id, parent)| Act::Move { id, parent }),
    ];
    (0u8..6, -2i8..20, act).prop_map(|(actor, delay, act)| Step { actor, delay, act })
}

/// A script: the owner shares with actors 1 to 4 at random roles (below owner)
/// and most accept; actor 5 stays an outsider; then random steps by anyone.
fn script_strategy() -> impl Strategy<Value = Vec<Step>> {
    (
        prop::collection::vec((0u8..4, prop::bool::weighted(0.8)), 4),
        prop::collection::vec(step_strategy(), 1..40),
    )
        .prop_map(|(grants, rest)| {
            let mut steps = Vec::new();
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
            steps.extend(rest);
            steps
        })
}

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
        let mut state = LogState::empty(actors::COLLECTION);
        state.extend(&[actors::genesis()], actors::NOW).unwrap();
        let mut model = Model::new();
        for step in &steps {
            let op = actors::sign(&state, step);
            let actor = usize::from(step.actor) % actors::ACTORS;
            let mut trial = state.clone();
            let real = trial.extend(std::slice::from_ref(&op), actors::NOW);
            let expected = model.step(actor, op.time(), &step.act);
            prop_assert_eq!(
                real.is_ok(), expected,
                "step {:?} by actor{}: verifier says {:?}", step.act, actor, real.err()
            );
            if real.is_ok() {
                state = trial;
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
        let _ = Script { steps };
    }
}

/// The random scripts reach every rule: each kind of step is accepted in some
/// case and refused in another, so agreement above is not agreement on trivia.
#[test]
fn scripts_reach_every_kind_of_step() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = script_strategy();
    let mut accepted: HashMap<&'static str, usize> = HashMap::new();
    let mut refused: HashMap<&'static str, usize> = HashMap::new();
    for _ in 0..1000 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let mut state = LogState::empty(actors::COLLECTION);
        state.extend(&[actors::genesis()], actors::NOW).unwrap();
        for step in &steps {
            let op = actors::sign(&state, step);
            let name = op.body().name();
            if state.extend(std::slice::from_ref(&op), actors::NOW).is_ok() {
                *accepted.entry(name).or_default() += 1;
            } else {
                *refused.entry(name).or_default() += 1;
            }
        }
    }
    for kind in [
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
    ] {
        assert!(
            accepted.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never accepted: {accepted:?}"
        );
        assert!(
            refused.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never refused"
        );
    }
}
