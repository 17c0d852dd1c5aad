//! Objects made by hand, as a member who ignores the library would: rotations,
//! joins and cards, and the dummy parts of operations a verifier refuses.

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::kdf;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::sign::{Domain, SigningKey};
use sealshare::internal::crypto::stream::ContentDigest;
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::crypto::x25519::KemPublicKey;
use sealshare::internal::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use sealshare::internal::log::{Body, ItemHeader, Rotation};
use sealshare::{Account, CollectionId, ItemId, ItemKind, LinkUrl, LogState, Role};

use crate::invalid;

/// `"sealshare/v1/" || label || 00 || collection || parts` (SPEC.md §Keys).
fn aad(label: &str, id: &CollectionId, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("sealshare/v1/{label}\0").into_bytes();
    out.extend_from_slice(&id.0);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

pub(crate) fn epoch_ctx<'a>(
    id: &'a CollectionId,
    epoch: u64,
    recipient: &'a [u8; 32],
) -> WrapContext<'a> {
    WrapContext {
        purpose: "epoch-key",
        collection: &id.0,
        epoch,
        recipient,
    }
}

/// The epoch key `account` holds as a member, unwrapped from the log.
fn member_key(state: &LogState, account: &Account) -> sealshare::Result<(u64, SecretKey)> {
    let (epoch, wrap) = state
        .member(account.handle())
        .and_then(|m| m.key.clone())
        .ok_or_else(|| invalid("not a key holder"))?;
    let id = state.collection();
    let fp = account.identity().fingerprint().to_bytes();
    Ok((
        epoch,
        account.unwrap_key(&wrap, &epoch_ctx(&id, epoch, &fp))?,
    ))
}

/// An ordinary rotation by `author`, made by hand: a fresh key wrapped to every
/// key holder and live key-carrying link, except that `victim` gets another
/// key than the committed one (so the new epoch is bad for them alone).
pub(crate) fn hand_rotation(
    state: &LogState,
    author: &Account,
    time: u64,
    victim: Option<&str>,
) -> sealshare::Result<Rotation> {
    let id = state.collection();
    let (current, key) = member_key(state, author)?;
    let epoch = current + 1;
    let new = SecretKey::random()?;
    let wrong = SecretKey::random()?;
    let commitment = *kdf::derive_key(
        new.expose(),
        b"",
        "epoch-key-commitment",
        &[&id.0[..], &epoch.to_be_bytes()].concat(),
    )?
    .expose();
    let previous = SealedBox::seal(
        &new,
        key.expose(),
        &aad(
            "previous-epoch-key",
            &id,
            &[&epoch.to_be_bytes(), &current.to_be_bytes()],
        ),
    )?;
    let mut wraps = Vec::new();
    for m in state.members().values().filter(|m| m.key.is_some()) {
        let fp = m.card.fingerprint().to_bytes();
        let given = if Some(m.card.handle()) == victim {
            &wrong
        } else {
            &new
        };
        wraps.push((
            m.card.handle().to_owned(),
            WrappedSecret::wrap_key(m.card.kem_key(), &epoch_ctx(&id, epoch, &fp), given)?,
        ));
    }
    let mut links = Vec::new();
    for l in state.live_epoch_links(time, &|_| true) {
        let kem = state
            .links()
            .get(&l)
            .map(|r| r.terms.kem_key)
            .ok_or_else(|| invalid("no such link"))?;
        let mut recipient = [0u8; 32];
        recipient[..16].copy_from_slice(&l.0);
        links.push((
            l,
            WrappedSecret::wrap_key(
                &KemPublicKey::from_bytes(kem),
                &WrapContext {
                    purpose: "link-epoch-key",
                    collection: &id.0,
                    epoch,
                    recipient: &recipient,
                },
                &new,
            )?,
        ));
    }
    Ok(Rotation {
        epoch,
        commitment,
        previous_keys: vec![(current, previous)],
        wraps,
        links,
    })
}

/// A sealed box that no verifier opens (only its shape matters to one).
pub(crate) fn dummy_box() -> sealshare::Result<SealedBox> {
    Ok(SealedBox::seal(
        &SecretKey::from_bytes([7; 32]),
        b"refused",
        b"",
    )?)
}

/// A rename that no verifier opens.
pub(crate) fn dummy_rename(epoch: u64) -> sealshare::Result<Body> {
    Ok(Body::Rename {
        epoch,
        info: dummy_box()?,
    })
}

pub(crate) fn dummy_header(
    item: ItemId,
    version: u32,
    epoch: u64,
    file: bool,
) -> sealshare::Result<Body> {
    Ok(Body::PutItem(Box::new(ItemHeader {
        item,
        version,
        kind: if file {
            ItemKind::File
        } else {
            ItemKind::Folder
        },
        parent: None,
        epoch,
        wrapped_key: dummy_box()?,
        metadata: dummy_box()?,
        content: file.then_some(ContentDigest {
            ciphertext_hash: [1; 32],
            key_commitment: [2; 32],
            ciphertext_len: 38,
        }),
    })))
}

/// A rotation that no verifier looks inside (refused before its content).
pub(crate) fn dummy_rotation(
    epoch: u64,
    previous: &[u64],
    wraps_to: &[&Account],
) -> sealshare::Result<Rotation> {
    let key = SecretKey::from_bytes([9; 32]);
    let mut wraps = Vec::new();
    for a in wraps_to {
        let fp = a.identity().fingerprint().to_bytes();
        let ctx = WrapContext {
            purpose: "epoch-key",
            collection: b"refused",
            epoch,
            recipient: &fp,
        };
        wraps.push((
            a.handle().to_owned(),
            WrappedSecret::wrap_key(a.identity().kem_key(), &ctx, &key)?,
        ));
    }
    Ok(Rotation {
        epoch,
        commitment: [3; 32],
        previous_keys: previous
            .iter()
            .map(|e| Ok((*e, dummy_box()?)))
            .collect::<sealshare::Result<Vec<_>>>()?,
        wraps,
        links: Vec::new(),
    })
}

/// The 32-byte secret in a link's URL fragment.
fn link_secret(url: &LinkUrl) -> sealshare::Result<[u8; 32]> {
    let text = url.to_url();
    let fragment = text.split_once('#').map(|(_, f)| f).unwrap_or_default();
    let payload = sealshare::internal::wire::from_text(fragment, "link", 98)?;
    payload
        .get(34..66)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| invalid("link payload"))
}

/// A join through `url` signed by `who`, its proof made with the link's key
/// (or, when `forge`, with another key).
pub(crate) fn hand_join(
    id: &CollectionId,
    url: &LinkUrl,
    who: &Account,
    role: Role,
    forge: bool,
) -> sealshare::Result<Body> {
    let secret = link_secret(url)?;
    let ctx = [&id.0[..], &url.link().0[..]].concat();
    let seed = kdf::derive_key(&secret, b"", "link-signing", &ctx)?;
    let signer = if forge {
        SigningKey::from_seed(&SecretKey::from_bytes([5; 32]))
    } else {
        SigningKey::from_seed(&seed)
    };
    let proof = signer.sign(
        JOIN_PROOF_DOMAIN,
        &join_proof_message(id, &url.link(), who.identity(), role),
    );
    let fp = who.identity().fingerprint().to_bytes();
    let wrap = WrappedSecret::wrap_key(
        who.identity().kem_key(),
        &epoch_ctx(id, 0, &fp),
        &SecretKey::from_bytes([4; 32]),
    )?;
    Ok(Body::Join {
        link: url.link(),
        role,
        card: who.identity().clone(),
        proof,
        wrap: Some(wrap),
    })
}

/// An account's signing key, from its secrets' encoding (`01 06 || handle ||
/// created_at || signing_seed || kem_secret`): the generator signs
/// hand-built objects with it, as a member who ignores the library would.
fn signing_key_of(who: &Account) -> SigningKey {
    let secrets = who.to_secret_bytes();
    let at = 2 + 4 + who.handle().len() + 8;
    // The layout is SPEC.md §Account secrets; were it ever to differ, every
    // hand-made card would be signed by a wrong key and `--check` would fail.
    let mut seed = [0u8; 32];
    if let Some(bytes) = secrets.expose().get(at..at + 32) {
        seed.copy_from_slice(bytes);
    }
    SigningKey::from_seed(&SecretKey::from_bytes(seed))
}

/// A self-signed card made by hand, from its parts.
pub(crate) fn hand_card(
    who: &Account,
    signing_pk: &[u8; 32],
    kem_pk: &[u8; 32],
    signature: Option<[u8; 64]>,
) -> Vec<u8> {
    let mut w =
        sealshare::internal::wire::Writer::new(sealshare::internal::wire::Kind::IdentityCard);
    w.str(who.handle())
        .fixed(signing_pk)
        .fixed(kem_pk)
        .u64(who.identity().created_at());
    let signature = signature.unwrap_or_else(|| {
        signing_key_of(who)
            .sign(Domain::IdentityCard, w.as_slice())
            .to_bytes()
    });
    w.fixed(&signature);
    w.finish()
}

/// An X25519 public key of small order (u = 1: every X25519 output with it is zero).
pub(crate) const SMALL_ORDER_KEM: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};
