//! What readers get from the every-operation log: the state, a member's items
//! and what each public link shows where every link is open, and the last
//! member's checkpoint at the end.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::kdf;
use sealshare::{Client, Collection, CollectionId, LogState, MemoryRemote, PublicView, Remote};

use crate::describe::{describe_state, kind_of, read_items, read_view};
use crate::every::Log;
use crate::people::{CHEAP, LINK_PASSWORD, People, copy};
use crate::{hex, invalid, unhex};

/// The state at the point where every link is open, and what alice reads; what
/// each public link shows then.
pub(crate) fn read_at_links_open(
    p: &People,
    log: &Log,
    ops: &[Vec<u8>],
    blobs: &BTreeMap<String, String>,
) -> sealshare::Result<(Value, Vec<Value>)> {
    let (id, marks, links_open_time) = (log.id, &log.marks, log.links_open_time);
    let (live, snapshot, chosen, guarded) = (&log.live, &log.snapshot, &log.chosen, &log.guarded);
    let open_at = marks.get("links_open").copied().unwrap_or_default();
    let prefix = ops.get(..open_at as usize).unwrap_or_default();
    let server = server_with(&id, prefix, blobs, links_open_time)?;
    let mut state = LogState::empty(id);
    state.extend_from_bytes(prefix, links_open_time)?;
    let mut reader = Client::with_clock(
        copy(&p.alice)?,
        server.clone(),
        Box::new(move || links_open_time),
    );
    let alices = Collection::open(&mut reader, id)?;
    let at_links_open = json!({
        "prefix": open_at,
        "time": links_open_time,
        "state": describe_state(&state, links_open_time),
        "reader": "alice@example.com",
        "items": read_items(&alices, &reader)?,
        "name": alices.info()?.0,
        "description": alices.info()?.1,
    });
    let mut links = Vec::new();
    for (what, url, password) in [
        ("live", live, None),
        ("snapshot", snapshot, None),
        ("items", chosen, None),
        ("live with password", guarded, Some(LINK_PASSWORD)),
    ] {
        let view = PublicView::open(server.clone(), url, password, links_open_time)?;
        let mut entry = serde_json::Map::new();
        entry.insert("scope".into(), json!(what));
        entry.insert("url".into(), json!(url.to_url()));
        entry.insert("link".into(), json!(hex(&url.link().0)));
        entry.insert("prefix".into(), json!(open_at));
        entry.insert("now".into(), json!(links_open_time));
        entry.insert("shows".into(), read_view(&view)?);
        if let Some(pw) = password {
            entry.insert("password".into(), json!(pw));
            entry.insert("password_utf8".into(), json!(hex(pw.as_bytes())));
            entry.insert(
                "argon2id".into(),
                json!({
                    "memory_kib": CHEAP.memory_kib, "passes": CHEAP.passes, "lanes": CHEAP.lanes,
                }),
            );
            // The same words with "a" for "à": another password.
            let wrong = PublicView::open(
                server.clone(),
                url,
                Some("sauce tomate a l'ail"),
                links_open_time,
            );
            let wrong = match wrong {
                Ok(_) => return Err(invalid("a wrong link password opened the link")),
                Err(e) => kind_of(&e),
            };
            entry.insert("wrong_password".into(), wrong);
        }
        links.push(Value::Object(entry));
    }
    Ok((at_links_open, links))
}

/// Carol's checkpoint at the end: its keys, its plaintext, what it restores to,
/// and checkpoints that must not restore.
pub(crate) fn carols_checkpoint(
    p: &People,
    log: &Log,
    ops: &[Vec<u8>],
    blobs: &BTreeMap<String, String>,
) -> sealshare::Result<Value> {
    let (id, end_time, cc) = (log.id, log.end_time, &log.carols);
    let checkpoint = cc.to_checkpoint(&p.carol)?;
    let storage_key = p.carol.storage_key()?;
    let plaintext = {
        let body = checkpoint.get(18..).ok_or_else(|| invalid("checkpoint"))?;
        let mut boxed = vec![1u8, 2];
        boxed.extend_from_slice(body);
        SealedBox::from_bytes(&boxed)?
            .open(
                &storage_key,
                &[&b"sealshare/v1/checkpoint\0"[..], &id.0[..]].concat(),
            )?
            .expose()
            .to_vec()
    };
    let server = server_with(&id, ops, blobs, end_time)?;
    let mut reader = Client::with_clock(copy(&p.carol)?, server, Box::new(move || end_time));
    let restored = Collection::from_checkpoint(&p.carol, &checkpoint)?;
    let secrets = p.carol.to_secret_bytes();
    let seed_at = 2 + 4 + p.carol.handle().len() + 8;
    let epoch_keys = checkpoint_keys(&plaintext, restored.state())?;
    let layout_1 = {
        let old = plaintext.get(1..).unwrap_or_default();
        let sealed = SealedBox::seal(
            &storage_key,
            old,
            &[&b"sealshare/v1/checkpoint\0"[..], &id.0[..]].concat(),
        )?
        .to_bytes();
        let mut bytes = vec![1u8, 0x11];
        bytes.extend_from_slice(&id.0);
        bytes.extend_from_slice(sealed.get(2..).unwrap_or_default());
        bytes
    };
    let mut checkpoint_refusals = Vec::new();
    for (what, account, bytes, expect) in [
        (
            "the same state in layout 1 (no layout byte), sealed under the same key",
            &p.carol,
            layout_1,
            json!({ "error": "malformed_input", "decode": "Invalid" }),
        ),
        (
            "carol's checkpoint restored by another account (alice)",
            &p.alice,
            checkpoint.clone(),
            json!({ "error": "decryption_failed" }),
        ),
    ] {
        let got = match Collection::from_checkpoint(account, &bytes) {
            Ok(_) => return Err(invalid(format!("checkpoint refusal {what:?} was accepted"))),
            Err(e) => kind_of(&e),
        };
        if got != expect {
            return Err(invalid(format!(
                "{what:?}: expected {expect}, the library says {got}"
            )));
        }
        checkpoint_refusals.push(json!({
            "what": what, "account": account.handle(), "checkpoint": hex(&bytes), "expect": expect,
        }));
    }
    let checkpoint = json!({
        "account": p.carol.handle(),
        "signing_seed": hex(secrets.expose().get(seed_at..seed_at + 32).unwrap_or_default()),
        "storage_key_info": hex(format!("sealshare/v1/local-storage\0{}", p.carol.handle()).as_bytes()),
        "storage_key": hex(storage_key.expose()),
        "checkpoint": hex(&checkpoint),
        "plaintext": hex(&plaintext),
        "restores_to": describe_state(restored.state(), end_time),
        "epoch_keys": epoch_keys,
        "items": read_items(&restored, &reader)?,
        "refusals": checkpoint_refusals,
    });
    let _ = &mut reader;
    Ok(checkpoint)
}

/// The epoch keys at the end of a checkpoint's plaintext (read from the end:
/// `n u32 || n × (epoch u64 || key) || m u32 || m × hash`), each checked
/// against its commitment in `state`.
fn checkpoint_keys(plaintext: &[u8], state: &LogState) -> sealshare::Result<Vec<Value>> {
    let hashes = 4 + 32 * state.len() as usize;
    let before = plaintext
        .len()
        .checked_sub(hashes)
        .ok_or_else(|| invalid("checkpoint too short"))?;
    // Try each count: the one whose prefix says it, and whose keys match.
    for n in 0..=state.epochs().len() {
        let Some(start) = before.checked_sub(4 + 40 * n) else {
            break;
        };
        let count = plaintext
            .get(start..start + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes);
        if count != Some(n as u32) {
            continue;
        }
        let mut keys = Vec::new();
        for entry in plaintext
            .get(start + 4..before)
            .unwrap_or_default()
            .chunks(40)
        {
            let (e, k) = entry.split_at(8);
            let epoch = u64::from_be_bytes(e.try_into().map_err(|_| invalid("epoch"))?);
            let id = state.collection();
            let commitment = kdf::derive_key(
                k,
                b"",
                "epoch-key-commitment",
                &[&id.0[..], &epoch.to_be_bytes()].concat(),
            )?;
            let expected = state.epochs().get(epoch as usize).map(|x| x.commitment);
            if expected != Some(*commitment.expose()) {
                return Err(invalid("a checkpoint key does not match its commitment"));
            }
            keys.push(json!({ "epoch": epoch, "key": hex(k) }));
        }
        return Ok(keys);
    }
    Err(invalid("no epoch keys found in the checkpoint"))
}

/// A server holding `ops` and `blobs`, verifying appends with clock `now`.
fn server_with(
    id: &CollectionId,
    ops: &[Vec<u8>],
    blobs: &BTreeMap<String, String>,
    now: u64,
) -> sealshare::Result<Arc<dyn Remote>> {
    let remote = MemoryRemote::with_clock(Box::new(move || now));
    for (seq, op) in ops.iter().enumerate() {
        remote.append(id, seq as u64, op)?;
    }
    for (hash, blob) in blobs {
        let hash: [u8; 32] = unhex(hash)?.try_into().map_err(|_| invalid("blob id"))?;
        remote.put_blob(id, &hash, &unhex(blob)?)?;
    }
    Ok(Arc::new(remote))
}
