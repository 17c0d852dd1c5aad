//! The JSON descriptions the vectors state: an error's kind, what a verifier
//! derives from a log, the items a member or a public link reads.

use serde_json::{Value, json};

use sealshare::internal::log::Standing;
use sealshare::internal::log::link_terms::{LinkKind, LinkTerms, PublicScope};
use sealshare::{Client, Collection, ItemKind, LogState, PublicView, Violation};

use crate::hex;

/// A variant's name from its `Debug` form (`RoleTooLow { .. }` → `RoleTooLow`).
fn variant(x: &impl std::fmt::Debug) -> String {
    format!("{x:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The stable kind of an error, as the vectors state it: `Error::code()`, the
/// `Violation` variant of a refused operation and its position, and the
/// `DecodeError` variant of a malformed one.
pub(crate) fn kind_of(e: &sealshare::Error) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("error".into(), json!(e.code()));
    match e {
        sealshare::Error::Decode(d) => {
            m.insert("decode".into(), json!(variant(d)));
        }
        sealshare::Error::InvalidOperation { seq, violation, .. } => {
            m.insert("seq".into(), json!(seq));
            m.insert("violation".into(), json!(variant(violation)));
            if let Violation::Malformed(d) = violation {
                m.insert("decode".into(), json!(variant(d)));
            }
        }
        sealshare::Error::NotYetValid { seq, .. } => {
            m.insert("seq".into(), json!(seq));
        }
        _ => {}
    }
    Value::Object(m)
}

fn standing_name(s: Standing) -> &'static str {
    match s {
        Standing::Outsider => "outsider",
        Standing::Pending(_) => "pending",
        Standing::AwaitingApproval(_) => "awaiting_approval",
        Standing::Member(_) => "member",
    }
}

fn link_kind(terms: &LinkTerms) -> Value {
    match &terms.kind {
        LinkKind::Invite {
            role,
            max_uses,
            approval,
        } => json!({
            "kind": "invite", "role": role.name(), "max_uses": max_uses, "approval": approval,
        }),
        LinkKind::Public { scope, .. } => json!({
            "kind": "public",
            "scope": match scope {
                PublicScope::Live => "live",
                PublicScope::Snapshot => "snapshot",
                PublicScope::Items => "items",
            },
            "password": terms.password.is_some(),
        }),
    }
}

/// What a keyless verifier derives from a log: members with role and
/// standing, epochs, links and their state at `time`, invitations, purged ids.
pub(crate) fn describe_state(state: &LogState, time: u64) -> Value {
    let mut purged: Vec<String> = state.purged().iter().map(|i| hex(&i.0)).collect();
    purged.sort();
    json!({
        "operations": state.len(),
        "head": hex(&state.head()),
        "owner": state.owner(),
        "epochs": state.epochs().len(),
        "stale": state.needs_rotation(),
        "members": state.members().values().map(|m| json!({
            "handle": m.card.handle(),
            "role": m.role.name(),
            "standing": standing_name(state.standing(m.card.handle())),
            "key_epoch": m.key.as_ref().map(|(e, _)| *e),
            "joined_via": m.joined_via.map(|l| hex(&l.0)),
        })).collect::<Vec<_>>(),
        "invitations": state.invitations().iter().map(|(h, i)| json!({
            "handle": h, "role": i.role.name(),
        })).collect::<Vec<_>>(),
        "purged": purged,
        "links": state.links().values().map(|l| json!({
            "link": hex(&l.terms.link.0),
            "terms": link_kind(&l.terms),
            "creator": l.creator,
            "expires_at": l.terms.expires_at,
            "revoked": l.revoked.is_some(),
            "live": state.link_is_live(&l.terms.link, time),
            "joins": l.joins.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>(),
            "epoch_key": l.epoch_key.as_ref().map(|(e, _)| *e),
        })).collect::<Vec<_>>(),
    })
}

/// Every item as a member reads it: names, versions, trash, content.
pub(crate) fn read_items(coll: &Collection, client: &Client) -> sealshare::Result<Value> {
    let mut out = Vec::new();
    for i in coll.items().complete()? {
        let content = match i.kind {
            ItemKind::File => Some(hex(&coll.read(client, i.id)?)),
            ItemKind::Folder => None,
        };
        out.push(json!({
            "id": hex(&i.id.0),
            "kind": match i.kind { ItemKind::Folder => "folder", ItemKind::File => "file" },
            "parent": i.parent.map(|p| hex(&p.0)),
            "name": i.metadata.name,
            "version": i.version(),
            "creator": i.creator,
            "trashed": i.trashed,
            "content": content,
        }));
    }
    Ok(Value::Array(out))
}

/// What a public link shows: the collection's name if it may, and each item
/// with the version it shows and that version's content.
pub(crate) fn read_view(view: &PublicView) -> sealshare::Result<Value> {
    let mut items = Vec::new();
    for i in view.items().complete()? {
        let content = match i.kind {
            ItemKind::File => Some(hex(&view.read(i.id)?)),
            ItemKind::Folder => None,
        };
        items.push(json!({
            "id": hex(&i.id.0),
            "name": i.metadata.name,
            "version": i.version(),
            "content": content,
        }));
    }
    Ok(json!({ "name": view.name().ok(), "items": items }))
}
