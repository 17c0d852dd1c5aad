//! Actors with fixed keys and scripts of operations they sign: the structured
//! input of the log-verifier fuzz target and of the permission-model test.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use sealshare::crypto::aead::SealedBox;
use sealshare::crypto::stream::ContentDigest;
use sealshare::crypto::wrap::WrappedSecret;
use sealshare::log::{Body, Grant, ItemHeader, Rotation};
use sealshare::wire::{Kind, Writer};
use sealshare::{Account, CollectionId, ItemId, ItemKind, LogState, Operation, Role};

/// The collection every script acts on.
pub const COLLECTION: CollectionId = CollectionId([9; 16]);
/// How many actors there are; actor 0 creates the collection.
pub const ACTORS: usize = 6;
/// The longest script.
pub const MAX_STEPS: usize = 48;

/// The handle of actor `i`.
pub fn handle(i: usize) -> String {
    format!("actor{i}")
}

/// Actor `i`'s account, with keys fixed by `i`.
pub fn account(i: usize) -> &'static Account {
    static ACCOUNTS: OnceLock<Vec<Account>> = OnceLock::new();
    let all = ACCOUNTS.get_or_init(|| {
        (0..ACTORS)
            .map(|i| {
                let mut w = Writer::new(Kind::AccountSecrets);
                w.str(&handle(i))
                    .u64(0)
                    .fixed(&[i as u8 + 1; 32])
                    .fixed(&[i as u8 + 101; 32]);
                Account::from_secret_bytes(&w.finish()).expect("fixed account secrets decode")
            })
            .collect()
    });
    &all[i % ACTORS]
}

/// One step of a script.
#[derive(Arbitrary, Debug, Clone)]
pub struct Step {
    /// Who acts (modulo [`ACTORS`]).
    pub actor: u8,
    /// Seconds after the previous operation (negative: a time that goes back).
    pub delay: i8,
    /// What they try.
    pub act: Act,
}

/// What an actor tries. Bodies are built well formed from the state so far, so
/// the rules decide.
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)] // Field names say it: target actor, role byte, item id.
pub enum Act {
    /// Share with `target` at role byte `role` (1 viewer .. 5 owner).
    Share { target: u8, role: u8 },
    /// Accept a share.
    Accept,
    /// Leave.
    Leave,
    /// Change `target`'s role.
    ChangeRole { target: u8, role: u8 },
    /// Remove `target`; with `wrap_removed`, the rotation also wraps to them.
    Remove { target: u8, wrap_removed: bool },
    /// Unshare from everyone.
    Unshare,
    /// Transfer ownership to `target`.
    Transfer { target: u8 },
    /// Rotate the key.
    Rotate,
    /// Rename the collection.
    Rename,
    /// Add item `id` (a folder or a file) under `parent`.
    Add {
        id: u8,
        parent: Option<u8>,
        folder: bool,
    },
    /// Save the next version of item `id`.
    Edit { id: u8 },
    /// Trash item `id`.
    Trash { id: u8 },
    /// Restore item `id`.
    Restore { id: u8 },
    /// Purge item `id`.
    Purge { id: u8 },
    /// Move item `id` under `parent` (a next version naming another parent).
    Move { id: u8, parent: Option<u8> },
}

/// A script: steps after the creation of the collection by actor 0.
#[derive(Arbitrary, Debug, Clone)]
pub struct Script {
    /// The steps (at most [`MAX_STEPS`] are used).
    pub steps: Vec<Step>,
}

/// The id of item `i` (few ids, so items get reused).
pub fn item(i: u8) -> ItemId {
    ItemId([i % 8; 16])
}

fn dummy_box() -> SealedBox {
    SealedBox::from_bytes(&{
        let mut w = Writer::new(Kind::SealedBox);
        w.fixed(&[1; 24]).bytes(&[2; 16]);
        w.finish()
    })
    .expect("a well-formed box")
}

fn dummy_wrap() -> WrappedSecret {
    let mut w = Writer::new(Kind::WrappedSecret);
    w.fixed(&[3; 32]).bytes(&[4; 48]);
    WrappedSecret::from_bytes(&w.finish()).expect("a well-formed wrap")
}

fn role(b: u8) -> Role {
    Role::from_byte(1 + b % 5).unwrap_or(Role::Viewer)
}

/// A rotation from the state: wraps to the members holding a key that `keep` keeps.
pub fn rotation(state: &LogState, keep: impl Fn(&str) -> bool) -> Rotation {
    Rotation {
        epoch: state.epoch() + 1,
        commitment: [5; 32],
        previous_keys: vec![(state.epoch(), dummy_box())],
        wraps: state
            .members()
            .values()
            .filter(|m| m.key.is_some() && keep(m.card.handle()))
            .map(|m| (m.card.handle().to_owned(), dummy_wrap()))
            .collect(),
        links: Vec::new(),
    }
}

/// The body `step` asks for, built against `state`.
pub fn body(state: &LogState, step: &Step) -> Body {
    let epoch = state.epoch();
    let header = |id: u8, version: u32, parent: Option<ItemId>, folder: bool| ItemHeader {
        item: item(id),
        version,
        kind: if folder {
            ItemKind::Folder
        } else {
            ItemKind::File
        },
        parent,
        epoch,
        wrapped_key: dummy_box(),
        metadata: dummy_box(),
        content: (!folder).then_some(ContentDigest {
            ciphertext_hash: [6; 32],
            key_commitment: [7; 32],
            ciphertext_len: 100,
        }),
    };
    match &step.act {
        Act::Share { target, role: r } => Body::Share {
            epoch,
            grants: vec![Grant {
                card: account(usize::from(*target)).identity().clone(),
                role: role(*r),
                wrap: dummy_wrap(),
            }],
        },
        Act::Accept => Body::Accept,
        Act::Leave => Body::Leave,
        Act::ChangeRole { target, role: r } => Body::ChangeRole {
            member: handle(usize::from(*target) % ACTORS),
            role: role(*r),
        },
        Act::Remove {
            target,
            wrap_removed,
        } => {
            let gone = handle(usize::from(*target) % ACTORS);
            Body::Remove {
                members: vec![gone.clone()],
                rotation: rotation(state, |h| *wrap_removed || h != gone),
            }
        }
        Act::Unshare => {
            let owner = state.owner().to_owned();
            Body::Unshare {
                rotation: rotation(state, |h| h == owner),
            }
        }
        Act::Transfer { target } => Body::Transfer {
            to: handle(usize::from(*target) % ACTORS),
        },
        Act::Rotate => Body::Rotate {
            rotation: rotation(state, |_| true),
        },
        Act::Rename => Body::Rename {
            epoch,
            info: dummy_box(),
        },
        Act::Add { id, parent, folder } => {
            Body::PutItem(Box::new(header(*id, 1, parent.map(item), *folder)))
        }
        Act::Edit { id } => {
            let (version, parent, folder) = match state.items().get(&item(*id)) {
                Some(r) => (
                    r.latest.header.version + 1,
                    r.latest.header.parent,
                    r.kind() == ItemKind::Folder,
                ),
                None => (2, None, false),
            };
            Body::PutItem(Box::new(header(*id, version, parent, folder)))
        }
        Act::Trash { id } => Body::Trash { item: item(*id) },
        Act::Restore { id } => Body::Restore { item: item(*id) },
        Act::Purge { id } => Body::Purge { item: item(*id) },
        Act::Move { id, parent } => {
            let (version, folder) = match state.items().get(&item(*id)) {
                Some(r) => (r.latest.header.version + 1, r.kind() == ItemKind::Folder),
                None => (2, false),
            };
            Body::PutItem(Box::new(header(*id, version, parent.map(item), folder)))
        }
    }
}

/// The operation `step` makes on top of `state`, signed by its actor.
pub fn sign(state: &LogState, step: &Step) -> Operation {
    let actor = usize::from(step.actor) % ACTORS;
    let time = state
        .last_time()
        .saturating_add_signed(i64::from(step.delay));
    account(actor)
        .sign_operation(
            COLLECTION,
            state.len(),
            state.head(),
            time,
            body(state, step),
        )
        .expect("actor handles are valid")
}

/// The verifier's clock in scripts: far past every time a script reaches.
pub const NOW: u64 = 1_000_000_000;

/// The operation that creates the collection (actor 0, time 1000).
pub fn genesis() -> Operation {
    let owner = account(0);
    let body = Body::Create {
        owner: owner.identity().clone(),
        commitment: [5; 32],
        wrap: dummy_wrap(),
        info: dummy_box(),
    };
    owner
        .sign_operation(COLLECTION, 0, [0; 32], 1000, body)
        .expect("a valid genesis")
}

/// The operations of a script: each built on the state as verified so far;
/// operations the rules refuse are kept out of the state but still emitted
/// (the verifier must stop at the first of them).
pub fn build(script: &Script) -> Vec<Operation> {
    let mut state = LogState::empty(COLLECTION);
    let first = genesis();
    let _ = state.extend(std::slice::from_ref(&first), NOW);
    let mut ops = vec![first];
    for step in script.steps.iter().take(MAX_STEPS) {
        let op = sign(&state, step);
        let accepted = state.extend(std::slice::from_ref(&op), NOW).is_ok();
        ops.push(op);
        if !accepted {
            break;
        }
    }
    ops
}
