//! The refusals judged against the log's state: the authority table (a
//! member's standing and role) and consistency with the state.

use sealshare::internal::crypto::password::Argon2Params;
use sealshare::internal::log::link_terms::{
    LinkKeys, LinkKind, LinkTerms, PasswordLock, PublicScope,
};
use sealshare::internal::log::{Body, LinkId};
use sealshare::{ItemId, LinkUrl, Role};

use crate::hand::{dummy_box, dummy_header, dummy_rename, dummy_rotation, hand_join};
use crate::people::People;
use crate::refusals::{Refusals, refused_op};

/// Operations refused by the authority table: their author's standing and
/// role, decided before anything else.
pub(crate) fn authority_refusals(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
    invite: &LinkUrl,
    beds: ItemId,
) -> sealshare::Result<()> {
    let now = r.now;
    let id = r.id;
    let at = m("shared");
    r.refuse_signed(
        "the owner leaving",
        at,
        &p.alice,
        None,
        Body::Leave,
        now,
        "OwnerCannotLeave",
    )?;
    let at = m("carol_added");
    r.refuse_signed(
        "a collaborator trashing another member's item",
        at,
        &p.carol,
        None,
        Body::Trash { item: beds },
        now,
        "RoleTooLow",
    )?;
    let at = m("carol_viewer");
    let bytes = r.signed(
        at,
        &p.carol,
        None,
        dummy_header(ItemId([0x11; 16]), 1, 0, false)?,
    )?;
    r.refuse(
        "a viewer adding a folder (needs collaborator)",
        at,
        bytes,
        now,
        refused_op(at, "RoleTooLow"),
    )?;
    let at = m("grace_pending");
    r.refuse_signed(
        "a pending member (added, not accepted) renaming",
        at,
        &p.grace,
        None,
        dummy_rename(0)?,
        now,
        "NotAccepted",
    )?;
    let at = m("ivan_waits");
    r.refuse_signed(
        "a rotation by a member awaiting approval",
        at,
        &p.ivan,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1], &[&p.ivan])?,
        },
        now,
        "AwaitsApproval",
    )?;
    let at = m("epoch_1");
    r.refuse_signed(
        "a recovery (its box is not for epoch - 1) by an editor",
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[0], &[&p.alice, &p.bob, &p.carol])?,
        },
        now,
        "RoleTooLow",
    )?;
    let at = m("frank_joined");
    r.refuse_signed(
        "a join by a member",
        at,
        &p.frank,
        None,
        hand_join(&id, invite, &p.frank, Role::Viewer, false)?,
        now,
        "AlreadyMember",
    )?;
    Ok(())
}

/// Operations refused as inconsistent with the state they would extend.
pub(crate) fn consistency_refusals(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
    invite: &LinkUrl,
    chosen: &LinkUrl,
    seeds: ItemId,
) -> sealshare::Result<()> {
    let now = r.now;
    let id = r.id;
    let at = m("purged");
    r.refuse_signed(
        "a put item naming a purged id",
        at,
        &p.alice,
        None,
        dummy_header(seeds, 1, 0, true)?,
        now,
        "ItemPurged",
    )?;
    r.refuse_signed(
        "a change of role to owner",
        at,
        &p.alice,
        None,
        Body::ChangeRole {
            member: "bob@example.com".into(),
            role: Role::Owner,
        },
        now,
        "OwnerOnlyByTransfer",
    )?;
    let at = m("stale");
    r.refuse_signed(
        "a rename after a member left, before a rotation",
        at,
        &p.alice,
        None,
        dummy_rename(0)?,
        now,
        "RotationRequired",
    )?;
    let at = m("epoch_1");
    r.refuse_signed(
        "a rename under the previous epoch",
        at,
        &p.alice,
        None,
        dummy_rename(0)?,
        now,
        "WrongEpoch",
    )?;
    let at = m("frank_joined");
    let state = r.state_at(at)?;
    let expires = state
        .links()
        .get(&invite.link())
        .map(|l| l.terms.expires_at)
        .unwrap_or_default();
    let bytes = r.signed(
        at,
        &p.mallory,
        Some(expires + 1),
        hand_join(&id, invite, &p.mallory, Role::Viewer, false)?,
    )?;
    r.refuse(
        "a join one second after the link expired",
        at,
        bytes,
        expires + 1_000,
        refused_op(at, "LinkExpired"),
    )?;
    r.refuse_signed(
        "a join whose proof is not made with the link's key",
        at,
        &p.mallory,
        None,
        hand_join(&id, invite, &p.mallory, Role::Viewer, true)?,
        now,
        "BadJoinProof",
    )?;
    r.refuse_signed(
        "a join claiming another role than its link grants",
        at,
        &p.mallory,
        None,
        hand_join(&id, invite, &p.mallory, Role::Editor, false)?,
        now,
        "WrongLinkRole",
    )?;
    let at = m("ivan_waits");
    r.refuse_signed(
        "a transfer of ownership to a member awaiting approval",
        at,
        &p.alice,
        None,
        Body::Transfer {
            to: "ivan@example.com".into(),
        },
        now,
        "AwaitsApproval",
    )?;
    let at = m("links_open");
    let state = r.state_at(at)?;
    let terms = LinkTerms {
        link: LinkId([0x22; 16]),
        kind: LinkKind::Public {
            scope: PublicScope::Items,
            device_limit: 0,
            download: true,
        },
        expires_at: state.last_time() + 60,
        password: Some(PasswordLock {
            params: Argon2Params {
                memory_kib: 512 * 1024,
                passes: 2,
                lanes: 1,
            },
            salt: [6; 16],
        }),
        verifying_key: p.alice.identity().signing_key().to_bytes(),
        kem_key: p.alice.identity().kem_key().to_bytes(),
        keys: LinkKeys::Items {
            sealed: dummy_box()?,
        },
    };
    r.refuse_signed(
        "a public link whose password parameters exceed the link ceiling (512 MiB)",
        at,
        &p.alice,
        None,
        Body::CreateLink(Box::new(terms)),
        now,
        "LinkTerms",
    )?;
    let at = m("chosen_revoked");
    r.refuse_signed(
        "revoking a link already revoked",
        at,
        &p.alice,
        None,
        Body::RevokeLinks {
            links: vec![chosen.link()],
            rotation: None,
        },
        now,
        "LinkRevoked",
    )?;
    Ok(())
}
