//! Actors with fixed keys and scripts of operations they sign: the structured
//! input of the log-verifier fuzz target and of the permission-model test.
//!
//! Every body is built well formed from the verifier's state so far (it would
//! decode), with dummy boxes and wraps (the keyless verifier never opens
//! them), so the rules decide. Links have fixed keys too: a join's proof is a
//! real signature by its link's key (or, when the script asks, by another
//! link's key), and the link terms carry the matching public keys.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::SigningKey;
use sealshare::internal::crypto::stream::ContentDigest;
use sealshare::internal::crypto::wrap::WrappedSecret;
use sealshare::internal::crypto::x25519::KemSecretKey;
use sealshare::internal::log::link_terms::{LinkKeys, LinkKind, LinkTerms, PublicScope};
use sealshare::internal::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use sealshare::internal::log::{Body, Grant, ItemHeader, LinkId, Rotation};
use sealshare::internal::wire::{Kind, Writer};
use sealshare::{Account, CollectionId, ItemId, ItemKind, LogState, Operation, Role};

/// The collection every script acts on.
pub const COLLECTION: CollectionId = CollectionId([9; 16]);
/// How many actors there are; actor 0 creates the collection.
pub const ACTORS: usize = 8;
/// How many link ids there are (few, so links get reused).
pub const LINKS: usize = 4;
/// The longest script.
pub const MAX_STEPS: usize = 64;

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

/// The id of link `i` (modulo [`LINKS`]).
pub fn link(i: u8) -> LinkId {
    LinkId([0x40 + i % LINKS as u8; 16])
}

/// Link `i`'s signing key (its join proofs) and KEM public key, fixed by `i`.
pub fn link_keys(i: u8) -> &'static (SigningKey, [u8; 32]) {
    static KEYS: OnceLock<Vec<(SigningKey, [u8; 32])>> = OnceLock::new();
    let all = KEYS.get_or_init(|| {
        (0..LINKS as u8)
            .map(|i| {
                let signing = SigningKey::from_seed(&SecretKey::from_bytes([0xa0 + i; 32]));
                let kem = KemSecretKey::from_secret(&SecretKey::from_bytes([0xb0 + i; 32]));
                (signing, kem.public_key().to_bytes())
            })
            .collect()
    });
    &all[usize::from(i) % LINKS]
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
/// the rules decide. Role bytes are taken modulo 5 (0 viewer .. 4 owner);
/// `all_links` makes a rotation seal its key for every link not revoked that
/// carries epoch keys, dead or not (an honest client seals for the live ones).
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)] // Field names say it: target actor, role byte, item or link id.
pub enum Act {
    /// Found the collection again (only operation 0 may).
    Create,
    /// Share with `target` at role byte `role`.
    Share { target: u8, role: u8 },
    /// Accept a share.
    Accept,
    /// Leave.
    Leave,
    /// Change `target`'s role.
    ChangeRole { target: u8, role: u8 },
    /// Remove `target`; with `wrap_removed`, the rotation also wraps to them.
    Remove {
        target: u8,
        wrap_removed: bool,
        all_links: bool,
    },
    /// Unshare from everyone.
    Unshare { all_links: bool },
    /// Transfer ownership to `target`.
    Transfer { target: u8 },
    /// Rotate the key. `keys` picks the earlier keys it carries: 0 the
    /// previous epoch's (an ordinary rotation), 1 only the one before it, 2
    /// every earlier one (both recoveries once there are two epochs). With
    /// `drop`, that actor's wrap is left out.
    Rotate {
        keys: u8,
        all_links: bool,
        drop: Option<u8>,
    },
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
    /// Save the next version of item `id` under `parent`.
    Move { id: u8, parent: Option<u8> },
    /// Trash item `id`.
    Trash { id: u8 },
    /// Restore item `id`.
    Restore { id: u8 },
    /// Purge item `id`.
    Purge { id: u8 },
    /// Create link `link`: a live public link, or an invite link at role byte
    /// `role`, needing approval or not, allowing `max_uses % 4` joins (0: no
    /// limit), expiring `expires_in` seconds after its creation.
    CreateLink {
        link: u8,
        public: bool,
        role: u8,
        approval: bool,
        max_uses: u8,
        expires_in: i8,
    },
    /// Revoke link `link`, with a rotation if `rotate`.
    Revoke {
        link: u8,
        rotate: bool,
        all_links: bool,
    },
    /// Join through link `link`, claiming role byte `claim` (none: the link's
    /// role), with a proof by another link's key if `bad_proof`, and with a
    /// wrap exactly when the link needs no approval unless `flip_wrap`.
    Join {
        link: u8,
        claim: Option<u8>,
        bad_proof: bool,
        flip_wrap: bool,
    },
    /// Approve `target`'s join.
    Approve { target: u8 },
    /// Invite `target`'s handle at role byte `role`.
    Invite { target: u8, role: u8 },
    /// Complete the invitation of `target` with their card.
    CompleteInvite { target: u8 },
    /// Cancel the invitation of `target`.
    CancelInvite { target: u8 },
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

/// The role of a role byte (modulo 5: 0 viewer .. 4 owner).
pub fn role(b: u8) -> Role {
    Role::from_byte(1 + b % 5).unwrap_or(Role::Viewer)
}

fn target(t: u8) -> usize {
    usize::from(t) % ACTORS
}

/// A rotation from the state at `time`: wraps to the members holding a key
/// that `keep` keeps, carries the earlier keys `keys` picks (see
/// [`Act::Rotate`]), and seals for the live links that carry epoch keys
/// (those whose creator `keep` keeps, minus `revoking`), or with `all_links`
/// for every link not revoked that carries epoch keys.
pub fn rotation(
    state: &LogState,
    time: u64,
    keep: &dyn Fn(&str) -> bool,
    keys: u8,
    all_links: bool,
    revoking: &[LinkId],
) -> Rotation {
    let e = state.epoch();
    let previous_keys = match keys % 3 {
        1 => vec![(e.saturating_sub(1), dummy_box())],
        2 => (0..=e).map(|k| (k, dummy_box())).collect(),
        _ => vec![(e, dummy_box())],
    };
    let links: Vec<LinkId> = if all_links {
        state
            .links()
            .iter()
            .filter(|(_, l)| l.revoked.is_none() && l.terms.carries_epoch_key())
            .map(|(id, _)| *id)
            .collect()
    } else {
        state
            .live_epoch_links(time, keep)
            .filter(|l| !revoking.contains(l))
            .collect()
    };
    Rotation {
        epoch: e + 1,
        commitment: [5; 32],
        previous_keys,
        wraps: state
            .members()
            .values()
            .filter(|m| m.key.is_some() && keep(m.card.handle()))
            .map(|m| (m.card.handle().to_owned(), dummy_wrap()))
            .collect(),
        links: links.into_iter().map(|l| (l, dummy_wrap())).collect(),
    }
}

/// The body `step` asks for, built against `state` for an operation at `time`.
pub fn body(state: &LogState, step: &Step, time: u64) -> Body {
    let epoch = state.epoch();
    let me = usize::from(step.actor) % ACTORS;
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
        Act::Create => Body::Create {
            owner: account(me).identity().clone(),
            commitment: [5; 32],
            wrap: dummy_wrap(),
            info: dummy_box(),
        },
        Act::Share { target: t, role: r } => Body::Share {
            epoch,
            grants: vec![Grant {
                card: account(target(*t)).identity().clone(),
                role: role(*r),
                wrap: dummy_wrap(),
            }],
        },
        Act::Accept => Body::Accept,
        Act::Leave => Body::Leave,
        Act::ChangeRole { target: t, role: r } => Body::ChangeRole {
            member: handle(target(*t)),
            role: role(*r),
        },
        Act::Remove {
            target: t,
            wrap_removed,
            all_links,
        } => {
            let gone = handle(target(*t));
            let mut rotation = rotation(state, time, &|h| h != gone, 0, *all_links, &[]);
            if *wrap_removed && state.member(&gone).is_some_and(|m| m.key.is_some()) {
                rotation.wraps.push((gone.clone(), dummy_wrap()));
            }
            Body::Remove {
                members: vec![gone.clone()],
                rotation,
            }
        }
        Act::Unshare { all_links } => {
            let owner = state.owner().to_owned();
            let every: Vec<LinkId> = state.links().keys().copied().collect();
            Body::Unshare {
                rotation: rotation(state, time, &|h| h == owner, 0, *all_links, &every),
            }
        }
        Act::Transfer { target: t } => Body::Transfer {
            to: handle(target(*t)),
        },
        Act::Rotate {
            keys,
            all_links,
            drop,
        } => {
            let dropped = drop.map(|d| handle(target(d)));
            let keep = |h: &str| dropped.as_deref() != Some(h);
            let mut rotation = rotation(state, time, &|_| true, *keys, *all_links, &[]);
            rotation.wraps.retain(|(h, _)| keep(h));
            Body::Rotate { rotation }
        }
        Act::Rename => Body::Rename {
            epoch,
            info: dummy_box(),
        },
        Act::Add { id, parent, folder } => {
            Body::PutItem(Box::new(header(*id, 1, parent.map(item), *folder)))
        }
        Act::Edit { id } | Act::Move { id, .. } => {
            let (version, parent, folder) = match state.items().get(&item(*id)) {
                Some(r) => (
                    r.latest.header.version + 1,
                    r.latest.header.parent,
                    r.kind() == ItemKind::Folder,
                ),
                None => (2, None, false),
            };
            let parent = match &step.act {
                Act::Move { parent, .. } => parent.map(item),
                _ => parent,
            };
            Body::PutItem(Box::new(header(*id, version, parent, folder)))
        }
        Act::Trash { id } => Body::Trash { item: item(*id) },
        Act::Restore { id } => Body::Restore { item: item(*id) },
        Act::Purge { id } => Body::Purge { item: item(*id) },
        Act::CreateLink {
            link: l,
            public,
            role: r,
            approval,
            max_uses,
            expires_in,
        } => {
            let (kind, carries_key) = if *public {
                let scope = PublicScope::Live;
                let (device_limit, download) = (0, true);
                let kind = LinkKind::Public {
                    scope,
                    device_limit,
                    download,
                };
                (kind, true)
            } else {
                let kind = LinkKind::Invite {
                    role: role(*r),
                    max_uses: u32::from(max_uses % 4),
                    approval: *approval,
                };
                (kind, !approval)
            };
            let (signing, kem_key) = link_keys(*l);
            Body::CreateLink(Box::new(LinkTerms {
                link: link(*l),
                kind,
                expires_at: time.saturating_add_signed(i64::from(*expires_in)),
                password: None,
                verifying_key: signing.verifying_key().to_bytes(),
                kem_key: *kem_key,
                keys: if carries_key {
                    LinkKeys::Epoch {
                        epoch,
                        wrap: dummy_wrap(),
                    }
                } else {
                    LinkKeys::None
                },
            }))
        }
        Act::Revoke {
            link: l,
            rotate,
            all_links,
        } => {
            let id = link(*l);
            Body::RevokeLinks {
                links: vec![id],
                rotation: rotate.then(|| rotation(state, time, &|_| true, 0, *all_links, &[id])),
            }
        }
        Act::Join {
            link: l,
            claim,
            bad_proof,
            flip_wrap,
        } => {
            let id = link(*l);
            let (granted, approval) = match state.links().get(&id).map(|r| &r.terms.kind) {
                Some(LinkKind::Invite { role, approval, .. }) => (*role, *approval),
                _ => (Role::Viewer, false),
            };
            let claimed = claim.map_or(granted, role);
            let card = account(me).identity().clone();
            let signer = &link_keys(if *bad_proof { l.wrapping_add(1) } else { *l }).0;
            let proof = signer.sign(
                JOIN_PROOF_DOMAIN,
                &join_proof_message(&COLLECTION, &id, &card, claimed),
            );
            Body::Join {
                link: id,
                role: claimed,
                card,
                proof,
                wrap: (approval == *flip_wrap).then(dummy_wrap),
            }
        }
        Act::Approve { target: t } => Body::Approve {
            member: handle(target(*t)),
            epoch,
            wrap: dummy_wrap(),
        },
        Act::Invite { target: t, role: r } => Body::Invite {
            handle: handle(target(*t)),
            role: role(*r),
        },
        Act::CompleteInvite { target: t } => Body::CompleteInvite {
            epoch,
            card: account(target(*t)).identity().clone(),
            wrap: dummy_wrap(),
        },
        Act::CancelInvite { target: t } => Body::CancelInvite {
            handle: handle(target(*t)),
        },
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
            body(state, step, time),
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

/// The bytes from which `arbitrary` (1.x, as derived here) decodes `script`:
/// before each step a flag 1 (then 0 after the last), then its fields in
/// order; an enum's variant is a little-endian `u32` that arbitrary scales
/// onto the number of variants, a bool or an option's flag one byte. For the
/// fuzz target's seeds; `tests/model.rs` checks that they decode back.
pub fn encode(script: &Script) -> Vec<u8> {
    const VARIANTS: u64 = 23;
    let b = u8::from;
    let opt = |o: Option<u8>| o.map_or(vec![0], |v| vec![1, v]);
    let mut out = Vec::new();
    for step in &script.steps {
        let (index, fields): (u64, Vec<u8>) = match &step.act {
            Act::Create => (0, vec![]),
            Act::Share { target, role } => (1, vec![*target, *role]),
            Act::Accept => (2, vec![]),
            Act::Leave => (3, vec![]),
            Act::ChangeRole { target, role } => (4, vec![*target, *role]),
            Act::Remove {
                target,
                wrap_removed,
                all_links,
            } => (5, vec![*target, b(*wrap_removed), b(*all_links)]),
            Act::Unshare { all_links } => (6, vec![b(*all_links)]),
            Act::Transfer { target } => (7, vec![*target]),
            Act::Rotate {
                keys,
                all_links,
                drop,
            } => (8, [vec![*keys, b(*all_links)], opt(*drop)].concat()),
            Act::Rename => (9, vec![]),
            Act::Add { id, parent, folder } => {
                (10, [vec![*id], opt(*parent), vec![b(*folder)]].concat())
            }
            Act::Edit { id } => (11, vec![*id]),
            Act::Move { id, parent } => (12, [vec![*id], opt(*parent)].concat()),
            Act::Trash { id } => (13, vec![*id]),
            Act::Restore { id } => (14, vec![*id]),
            Act::Purge { id } => (15, vec![*id]),
            Act::CreateLink {
                link,
                public,
                role,
                approval,
                max_uses,
                expires_in,
            } => (
                16,
                vec![
                    *link,
                    b(*public),
                    *role,
                    b(*approval),
                    *max_uses,
                    expires_in.to_le_bytes()[0],
                ],
            ),
            Act::Revoke {
                link,
                rotate,
                all_links,
            } => (17, vec![*link, b(*rotate), b(*all_links)]),
            Act::Join {
                link,
                claim,
                bad_proof,
                flip_wrap,
            } => (
                18,
                [vec![*link], opt(*claim), vec![b(*bad_proof), b(*flip_wrap)]].concat(),
            ),
            Act::Approve { target } => (19, vec![*target]),
            Act::Invite { target, role } => (20, vec![*target, *role]),
            Act::CompleteInvite { target } => (21, vec![*target]),
            Act::CancelInvite { target } => (22, vec![*target]),
        };
        // The least x with (x * VARIANTS) >> 32 == index.
        let tag = ((index << 32).div_ceil(VARIANTS)) as u32;
        out.extend([1, step.actor, step.delay.to_le_bytes()[0]]);
        out.extend(tag.to_le_bytes());
        out.extend(fields);
    }
    out.push(0);
    out
}
