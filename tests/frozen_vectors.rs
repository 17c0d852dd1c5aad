//! The frozen vectors in tests/vectors/sealshare_v1.json (made by the seeded
//! generator `src/bin/gen-vectors/`): every version of the library must still
//! read them and get the same results. A second implementation can run the same
//! checks against SPEC.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::secret::SecretKey;
use sealshare::internal::crypto::stream::{self, ContentDigest, ContentKey};
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::{Account, Identity, Keystore, RecoveryPhrase, TrustStatus, TrustStore};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/sealshare_v1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn arr32(v: &Value) -> [u8; 32] {
    hx(v).try_into().unwrap()
}

#[test]
fn identity_card_fingerprint_and_safety_number() {
    let v = &vectors()["identity"];
    let card = Identity::from_bytes(&hx(&v["card"])).unwrap();
    assert_eq!(card.to_bytes(), hx(&v["card"]));
    assert_eq!(
        Identity::from_text(v["card_text"].as_str().unwrap()).unwrap(),
        card
    );
    assert_eq!(
        card.fingerprint().to_bytes().to_vec(),
        hx(&v["fingerprint"])
    );
    assert_eq!(
        card.fingerprint().digits(),
        v["fingerprint_digits"].as_str().unwrap()
    );
    let account = Account::from_secret_bytes(&hx(&v["account_secrets"])).unwrap();
    assert_eq!(
        account.identity(),
        &card,
        "the card is recomputed from the secrets"
    );
    let peer = Identity::from_bytes(&hx(&v["peer_card"])).unwrap();
    let number = card.safety_number(&peer);
    assert_eq!(number.digits(), v["safety_number_digits"].as_str().unwrap());
    assert_eq!(number.to_qr_bytes(), hx(&v["safety_number_qr"]));
}

#[test]
fn keystore_opens_with_password_and_phrase() {
    let v = &vectors()["keystore"];
    let keystore = Keystore::from_bytes(&hx(&v["keystore"])).unwrap();
    assert_eq!(keystore.to_bytes(), hx(&v["keystore"]));
    let payload = hx(&v["payload"]);
    assert_eq!(
        keystore
            .unlock_with_password(v["password"].as_str().unwrap())
            .unwrap()
            .expose(),
        payload
    );
    let phrase = RecoveryPhrase::parse(v["recovery_phrase"].as_str().unwrap()).unwrap();
    assert_eq!(
        keystore.unlock_with_recovery(&phrase).unwrap().expose(),
        payload
    );
}

#[test]
fn content_stream_opens_to_the_plaintext() {
    let v = &vectors()["content"];
    let key = ContentKey::from_bytes(arr32(&v["key"]));
    let digest = ContentDigest {
        ciphertext_hash: arr32(&v["ciphertext_hash"]),
        key_commitment: arr32(&v["key_commitment"]),
        ciphertext_len: v["ciphertext_len"].as_u64().unwrap(),
    };
    let plaintext = stream::open(&key, &hx(&v["ciphertext"]), &digest).unwrap();
    let expected: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(plaintext, expected);
}

#[test]
fn wrapped_secret_and_sealed_box_open() {
    let v = &vectors()["wrap"];
    let bob = Account::from_secret_bytes(&hx(&v["recipient_account_secrets"])).unwrap();
    let collection = hx(&v["collection"]);
    let rid = arr32(&v["recipient_key_id"]);
    let ctx = WrapContext {
        purpose: v["purpose"].as_str().unwrap(),
        collection: &collection,
        epoch: v["epoch"].as_u64().unwrap(),
        recipient: &rid,
    };
    let wrapped = WrappedSecret::from_bytes(&hx(&v["wrapped"])).unwrap();
    assert_eq!(
        bob.unwrap_key(&wrapped, &ctx).unwrap().expose().to_vec(),
        hx(&v["secret"])
    );
    let sealed = SealedBox::from_bytes(&hx(&v["sealed_box"])).unwrap();
    let key = SecretKey::from_bytes(arr32(&v["sealed_box_key"]));
    assert_eq!(
        sealed
            .open(&key, &hx(&v["sealed_box_aad"]))
            .unwrap()
            .expose(),
        hx(&v["sealed_box_plaintext"])
    );
}

#[test]
fn trust_store_decodes() {
    let v = &vectors()["trust_store"];
    let trust = TrustStore::from_bytes(&hx(&v["trust_store"])).unwrap();
    assert_eq!(trust.to_bytes(), hx(&v["trust_store"]));
    assert_eq!(trust.len(), 2);
    let bob = &trust.get("bob@example.com").unwrap().card;
    assert!(matches!(
        trust.check(bob).unwrap(),
        TrustStatus::Verified { .. }
    ));
}

/// The frozen log verifies without keys to the same head, and alice (whose
/// secrets are in the vectors) reads the same names, content and history.
#[test]
fn collection_log_verifies_and_opens() {
    use sealshare::{Client, Collection, CollectionId, LogState, MemoryRemote, Remote};
    use std::sync::Arc;
    let v = vectors();
    let log = &v["collection_log"];
    let id = CollectionId(hx(&log["collection"]).try_into().unwrap());
    let ops: Vec<Vec<u8>> = log["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(hx)
        .collect();
    let mut state = LogState::empty(id);
    state.extend_from_bytes(&ops, u64::MAX).unwrap();
    assert_eq!(state.head().to_vec(), hx(&log["head"]));
    let expect = &log["expect"];
    assert_eq!(
        state.epochs().len() as u64,
        expect["epochs"].as_u64().unwrap()
    );
    let members: Vec<&str> = state.members().keys().map(String::as_str).collect();
    assert_eq!(members, ["alice@example.com"]);

    let remote = Arc::new(MemoryRemote::new());
    for (seq, op) in ops.iter().enumerate() {
        remote.append(&id, seq as u64, op).unwrap();
    }
    let blob_id: [u8; 32] = hx(&log["blob_id"]).try_into().unwrap();
    remote.put_blob(&id, &blob_id, &hx(&log["blob"])).unwrap();
    let alice = Account::from_secret_bytes(&hx(&v["identity"]["account_secrets"])).unwrap();
    let mut client = Client::new(alice, remote);
    let coll = Collection::open(&mut client, id).unwrap();
    let names: Vec<String> = coll
        .items()
        .complete()
        .unwrap()
        .into_iter()
        .map(|i| i.metadata.name)
        .collect();
    assert_eq!(
        names,
        [
            expect["folder"].as_str().unwrap(),
            expect["file"].as_str().unwrap()
        ]
    );
    let file = coll
        .items()
        .complete()
        .unwrap()
        .into_iter()
        .find(|i| i.metadata.name == "leek.md")
        .unwrap();
    assert_eq!(
        coll.read(&client, file.id).unwrap(),
        hx(&expect["file_content"])
    );
    let history: Vec<String> = coll.history().into_iter().map(|h| h.text).collect();
    let expected: Vec<String> = expect["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(history, expected);
}

// ---- The every-operation log, public links, checkpoint and refusals ----

use sealshare::internal::crypto::kdf;
use sealshare::internal::log::Standing;
use sealshare::internal::log::link_terms::{LinkKind, LinkTerms, PublicScope};
use sealshare::{Client, Collection, CollectionId, Error, ItemKind, LogState, MemoryRemote};
use sealshare::{LinkUrl, Operation, PublicView, Remote, Violation};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

fn hexs(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn variant(x: &impl std::fmt::Debug) -> String {
    format!("{x:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The stable kind of an error as the vectors state it (see gen-vectors).
fn kind_of(e: &Error) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("error".into(), json!(e.code()));
    match e {
        Error::Decode(d) => {
            m.insert("decode".into(), json!(variant(d)));
        }
        Error::InvalidOperation { seq, violation, .. } => {
            m.insert("seq".into(), json!(seq));
            m.insert("violation".into(), json!(variant(violation)));
            if let Violation::Malformed(d) = violation {
                m.insert("decode".into(), json!(variant(d)));
            }
        }
        Error::NotYetValid { seq, .. } => {
            m.insert("seq".into(), json!(seq));
        }
        _ => {}
    }
    Value::Object(m)
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

/// What a keyless verifier derives (the generator's `describe_state`).
fn describe_state(state: &LogState, time: u64) -> Value {
    let mut purged: Vec<String> = state.purged().iter().map(|i| hexs(&i.0)).collect();
    purged.sort();
    let standing = |h: &str| match state.standing(h) {
        Standing::Outsider => "outsider",
        Standing::Pending(_) => "pending",
        Standing::AwaitingApproval(_) => "awaiting_approval",
        Standing::Member(_) => "member",
    };
    json!({
        "operations": state.len(),
        "head": hexs(&state.head()),
        "owner": state.owner(),
        "epochs": state.epochs().len(),
        "stale": state.needs_rotation(),
        "members": state.members().values().map(|m| json!({
            "handle": m.card.handle(),
            "role": m.role.name(),
            "standing": standing(m.card.handle()),
            "key_epoch": m.key.as_ref().map(|(e, _)| *e),
            "joined_via": m.joined_via.map(|l| hexs(&l.0)),
        })).collect::<Vec<_>>(),
        "invitations": state.invitations().iter().map(|(h, i)| json!({
            "handle": h, "role": i.role.name(),
        })).collect::<Vec<_>>(),
        "purged": purged,
        "links": state.links().values().map(|l| json!({
            "link": hexs(&l.terms.link.0),
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

fn read_items(coll: &Collection, client: &Client) -> Value {
    Value::Array(
        coll.items()
            .complete()
            .unwrap()
            .into_iter()
            .map(|i| {
                let content = match i.kind {
                    ItemKind::File => Some(hexs(&coll.read(client, i.id).unwrap())),
                    ItemKind::Folder => None,
                };
                json!({
                    "id": hexs(&i.id.0),
                    "kind": match i.kind { ItemKind::Folder => "folder", ItemKind::File => "file" },
                    "parent": i.parent.map(|p| hexs(&p.0)),
                    "name": i.metadata.name,
                    "version": i.version(),
                    "creator": i.creator,
                    "trashed": i.trashed,
                    "content": content,
                })
            })
            .collect(),
    )
}

fn read_view(view: &PublicView) -> Value {
    let items: Vec<Value> = view
        .items()
        .complete()
        .unwrap()
        .into_iter()
        .map(|i| {
            let content = match i.kind {
                ItemKind::File => Some(hexs(&view.read(i.id).unwrap())),
                ItemKind::Folder => None,
            };
            json!({ "id": hexs(&i.id.0), "name": i.metadata.name, "version": i.version(), "content": content })
        })
        .collect();
    json!({ "name": view.name().ok(), "items": items })
}

struct Every {
    v: Value,
    id: CollectionId,
    ops: Vec<Vec<u8>>,
}

impl Every {
    fn load() -> Self {
        let v = vectors()["every_operation"].clone();
        let id = CollectionId(hx(&v["collection"]).try_into().unwrap());
        let ops = v["operations"].as_array().unwrap().iter().map(hx).collect();
        Self { v, id, ops }
    }

    fn account(&self, handle: &str) -> Account {
        Account::from_secret_bytes(&hx(&self.v["accounts"][handle])).unwrap()
    }

    fn mark(&self, name: &str) -> usize {
        self.v["marks"][name].as_u64().unwrap() as usize
    }

    /// A server holding the first `prefix` operations and every blob.
    fn server(&self, prefix: usize, now: u64) -> Arc<dyn Remote> {
        let remote = MemoryRemote::with_clock(Box::new(move || now));
        for (seq, op) in self.ops[..prefix].iter().enumerate() {
            remote.append(&self.id, seq as u64, op).unwrap();
        }
        for (hash, blob) in self.v["blobs"].as_object().unwrap() {
            let hash: [u8; 32] = hex::decode(hash).unwrap().try_into().unwrap();
            remote.put_blob(&self.id, &hash, &hx(blob)).unwrap();
        }
        Arc::new(remote)
    }

    fn state(&self, prefix: usize, now: u64) -> LogState {
        let mut state = LogState::empty(self.id);
        state.extend_from_bytes(&self.ops[..prefix], now).unwrap();
        state
    }

    fn collection(&self, handle: &str, prefix: usize, now: u64) -> (Collection, Client) {
        let mut client = Client::with_clock(
            self.account(handle),
            self.server(prefix, now),
            Box::new(move || now),
        );
        let coll = Collection::open(&mut client, self.id).unwrap();
        (coll, client)
    }
}

/// The log holds every body tag of SPEC.md §Operation, both kinds of rotation,
/// every kind of put item and of link; it verifies without keys to the stated
/// end state.
#[test]
fn every_operation_log_holds_every_tag_and_verifies() {
    let e = Every::load();
    let end = &e.v["end"];
    let time = end["time"].as_u64().unwrap();
    let state = e.state(e.ops.len(), time);
    assert_eq!(describe_state(&state, time), end["state"]);

    let decoded: Vec<Operation> = e
        .ops
        .iter()
        .map(|o| Operation::from_bytes(o).unwrap())
        .collect();
    let names: Vec<&str> = decoded.iter().map(|o| o.body().name()).collect();
    let kinds: Vec<&str> = e.v["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(names, kinds);
    let tags: BTreeSet<u8> = decoded
        .iter()
        .map(|o| o.to_bytes()[2 + 16 + 8 + 32 + 4 + o.author().len() + 8])
        .collect();
    let every_tag: BTreeSet<u8> = (0x01..=0x0a)
        .chain(0x10..=0x13)
        .chain(0x20..=0x26)
        .collect();
    assert_eq!(tags, every_tag);

    use sealshare::internal::log::Body;
    use sealshare::internal::log::link_terms::LinkKeys;
    let rotations: Vec<bool> = decoded
        .iter()
        .filter_map(|o| match o.body() {
            Body::Rotate { rotation } => Some(rotation.is_recovery()),
            _ => None,
        })
        .collect();
    assert!(
        rotations.contains(&false) && rotations.contains(&true),
        "{rotations:?}"
    );
    let mut parents = std::collections::HashMap::new();
    let (mut new, mut version, mut moved) = (0, 0, 0);
    for o in &decoded {
        if let Body::PutItem(h) = o.body() {
            match parents.insert(h.item, h.parent) {
                None => new += 1,
                Some(p) if p == h.parent => version += 1,
                Some(_) => moved += 1,
            }
        }
    }
    assert!(new > 0 && version > 0 && moved > 0);
    let links: BTreeSet<String> = decoded
        .iter()
        .filter_map(|o| match o.body() {
            Body::CreateLink(t) => Some(format!(
                "{} {}",
                link_kind(t),
                matches!(t.keys, LinkKeys::Epoch { .. })
            )),
            _ => None,
        })
        .collect();
    assert_eq!(links.len(), 6, "{links:?}");
}

/// At the mark where every link is open: the keyless state, and what alice reads.
#[test]
fn every_operation_state_and_items_at_links_open() {
    let e = Every::load();
    let at = &e.v["at_links_open"];
    let prefix = at["prefix"].as_u64().unwrap() as usize;
    let time = at["time"].as_u64().unwrap();
    assert_eq!(describe_state(&e.state(prefix, time), time), at["state"]);
    let (coll, client) = e.collection(at["reader"].as_str().unwrap(), prefix, time);
    assert_eq!(read_items(&coll, &client), at["items"]);
    let (name, description) = coll.info().unwrap();
    assert_eq!(name, at["name"].as_str().unwrap());
    assert_eq!(description, at["description"].as_str().unwrap());
}

/// Each public link's URL opens to the names and contents it shows; the
/// password link opens only with its password (its UTF-8 bytes as given).
#[test]
fn every_operation_public_links_open() {
    let e = Every::load();
    for l in e.v["public_links"].as_array().unwrap() {
        let url = LinkUrl::parse(l["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.collection(), e.id);
        assert_eq!(hexs(&url.link().0), l["link"].as_str().unwrap());
        let now = l["now"].as_u64().unwrap();
        let server = e.server(l["prefix"].as_u64().unwrap() as usize, now);
        let password = l["password"].as_str();
        if let Some(pw) = password {
            assert_eq!(hexs(pw.as_bytes()), l["password_utf8"].as_str().unwrap());
            let wrong = PublicView::open(server.clone(), &url, Some("sauce tomate a l'ail"), now);
            assert_eq!(kind_of(&wrong.unwrap_err()), l["wrong_password"]);
            assert_eq!(
                kind_of(&PublicView::open(server.clone(), &url, None, now).unwrap_err()),
                l["wrong_password"]
            );
        }
        let view = PublicView::open(server, &url, password, now).unwrap();
        assert_eq!(read_view(&view), l["shows"], "{}", l["scope"]);
    }
}

/// Bob's hand-made rotation gives alice a key that does not match its
/// commitment: she reports the epoch bad, signed by bob, until her recovery.
#[test]
fn every_operation_bad_epoch_and_recovery() {
    let e = Every::load();
    let now = e.v["end"]["time"].as_u64().unwrap();
    let (coll, _) = e.collection("alice@example.com", e.mark("bad_epoch"), now);
    let bad: Vec<Value> = coll
        .bad_epochs()
        .iter()
        .map(|b| json!({ "epoch": b.epoch, "signer": b.signer, "problem": b.problem }))
        .collect();
    assert_eq!(Value::Array(bad), e.v["bad_epochs_at_bad_epoch"]);
    let (coll, _) = e.collection("alice@example.com", e.mark("recovered"), now);
    let after: Vec<u64> = coll.bad_epochs().iter().map(|b| b.epoch).collect();
    assert_eq!(json!(after), e.v["bad_epochs_after_recovery"]);
}

/// Carol's checkpoint: the storage key from her signing seed and handle, the
/// box opens to the stated plaintext, and it restores to the stated state.
#[test]
fn every_operation_checkpoint_restores() {
    let e = Every::load();
    let c = &e.v["checkpoint"];
    let handle = c["account"].as_str().unwrap();
    let carol = e.account(handle);
    let key = carol.storage_key().unwrap();
    assert_eq!(hexs(key.expose()), c["storage_key"].as_str().unwrap());
    let info = hx(&c["storage_key_info"]);
    assert_eq!(
        info,
        [&b"sealshare/v1/local-storage\0"[..], handle.as_bytes()].concat()
    );
    let mut by_hand = [0u8; 32];
    kdf::hkdf_sha256(b"", &hx(&c["signing_seed"]), &info, &mut by_hand).unwrap();
    assert_eq!(&by_hand, key.expose());

    let bytes = hx(&c["checkpoint"]);
    assert_eq!(bytes[..2], [0x01, 0x11]);
    assert_eq!(bytes[2..18], e.id.0);
    let mut boxed = vec![0x01, 0x02];
    boxed.extend_from_slice(&bytes[18..]);
    let aad = [&b"sealshare/v1/checkpoint\0"[..], &e.id.0[..]].concat();
    let plain = SealedBox::from_bytes(&boxed)
        .unwrap()
        .open(&key, &aad)
        .unwrap();
    assert_eq!(plain.expose(), hx(&c["plaintext"]));
    assert_eq!(plain.expose()[0], 0x02, "layout byte");

    let restored = Collection::from_checkpoint(&carol, &bytes).unwrap();
    let now = e.v["end"]["time"].as_u64().unwrap();
    assert_eq!(describe_state(restored.state(), now), c["restores_to"]);
    let client = Client::with_clock(carol, e.server(e.ops.len(), now), Box::new(move || now));
    assert_eq!(read_items(&restored, &client), c["items"]);
    for k in c["epoch_keys"].as_array().unwrap() {
        let epoch = k["epoch"].as_u64().unwrap();
        let commitment = kdf::derive_key(
            &hx(&k["key"]),
            b"",
            "epoch-key-commitment",
            &[&e.id.0[..], &epoch.to_be_bytes()].concat(),
        )
        .unwrap();
        assert_eq!(
            *commitment.expose(),
            restored.state().epochs()[epoch as usize].commitment
        );
    }
    for r in c["refusals"].as_array().unwrap() {
        let account = e.account(r["account"].as_str().unwrap());
        let err = Collection::from_checkpoint(&account, &hx(&r["checkpoint"])).unwrap_err();
        assert_eq!(kind_of(&err), r["expect"], "{}", r["what"]);
    }
}

/// Each refusal: a verifier that verified the prefix refuses the operation
/// with exactly the stated kind and keeps the prefix.
#[test]
fn every_operation_refusals_are_refused_with_their_kind() {
    let e = Every::load();
    let refusals = e.v["refusals"].as_array().unwrap();
    assert!(refusals.len() >= 20);
    for r in refusals {
        let prefix = r["prefix"].as_u64().unwrap() as usize;
        let now = r["now"].as_u64().unwrap();
        let mut state = e.state(prefix, now);
        let err: Error = state
            .extend_from_bytes(&[hx(&r["operation"])], now)
            .expect_err(r["what"].as_str().unwrap())
            .into();
        assert_eq!(kind_of(&err), r["expect"], "{}", r["what"]);
        assert_eq!(state.len(), prefix as u64, "{}", r["what"]);
    }
}

/// Objects that must not decode, each refused with its first fault in
/// reading order.
#[test]
fn decode_refusals_are_refused_with_their_kind() {
    let v = vectors();
    let content = &v["content"];
    let key = ContentKey::from_bytes(arr32(&content["key"]));
    let digest = ContentDigest {
        ciphertext_hash: arr32(&content["ciphertext_hash"]),
        key_commitment: arr32(&content["key_commitment"]),
        ciphertext_len: content["ciphertext_len"].as_u64().unwrap(),
    };
    for r in v["decode_refusals"].as_array().unwrap() {
        let bytes = hx(&r["bytes"]);
        let err: Error = match r["object"].as_str().unwrap() {
            "identity_card" => Identity::from_bytes(&bytes).unwrap_err().into(),
            "sealed_box" => SealedBox::from_bytes(&bytes).unwrap_err().into(),
            "content_stream" => stream::open(&key, &bytes, &digest).unwrap_err().into(),
            "keystore" => Keystore::from_bytes(&bytes).unwrap_err().into(),
            other => panic!("unknown object {other}"),
        };
        assert_eq!(kind_of(&err), r["expect"], "{}", r["what"]);
    }
}
