//! The bodies of the fuzz targets. Each takes arbitrary bytes and must never
//! panic, hang or allocate without bound; decoders that accept an input must
//! re-encode it to the same bytes (canonical encoding).

pub mod actors;
pub mod model;

use sealshare::internal::crypto::stream::{self, ContentDigest, ContentKey};
use sealshare::internal::wire::{Kind, Writer};
use sealshare::{
    Collection, Identity, Keystore, LinkUrl, LogState, Operation, RequestAuth, RequestTarget,
    ServerId, body_digest,
};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_card", decode_card),
    ("decode_operation", decode_operation),
    ("decode_log_segment", decode_log_segment),
    ("decode_checkpoint", decode_checkpoint),
    ("decode_keystore", decode_keystore),
    ("open_content", open_content),
    ("decode_link_url", decode_link_url),
    ("verify_adversarial_log", verify_adversarial_log),
    ("decode_request_auth", decode_request_auth),
];

/// Identity cards, binary and text.
pub fn decode_card(data: &[u8]) {
    if let Ok(card) = Identity::from_bytes(data) {
        assert_eq!(card.to_bytes(), data, "a card has one encoding");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Identity::from_text(text);
    }
}

/// One operation (every body kind, item headers, link terms, rotations).
pub fn decode_operation(data: &[u8]) {
    if let Ok(op) = Operation::from_bytes(data) {
        assert_eq!(op.to_bytes(), data, "an operation has one encoding");
    }
}

/// A log segment: operations split by 2-byte lengths, verified from scratch.
pub fn decode_log_segment(data: &[u8]) {
    let mut ops = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        ops.push(&rest[..take]);
        rest = &rest[take..];
    }
    let mut state = LogState::empty(actors::COLLECTION);
    let _ = state.extend_from_bytes(&ops, actors::NOW);
}

/// A checkpoint: the raw bytes, and the bytes as the sealed plaintext (so the
/// state decoder behind the seal is reached).
pub fn decode_checkpoint(data: &[u8]) {
    let account = actors::account(0);
    let _ = Collection::from_checkpoint(account, data);
    if let Ok(key) = account.storage_key() {
        let mut aad = Writer::raw();
        aad.fixed(b"sealshare/v1/checkpoint\0")
            .fixed(&actors::COLLECTION.0);
        if let Ok(sealed) =
            sealshare::internal::crypto::aead::SealedBox::seal(&key, data, &aad.finish())
        {
            let mut w = Writer::new(Kind::Checkpoint);
            w.fixed(&actors::COLLECTION.0);
            let inner = sealed.to_bytes();
            w.fixed(&inner[2..]);
            let _ = Collection::from_checkpoint(account, &w.finish());
        }
    }
}

/// A keystore blob; unlocked when its (bounded) parameters are cheap enough
/// for a fuzzer, so doctored parameters reach Argon2id.
pub fn decode_keystore(data: &[u8]) {
    if let Ok(ks) = Keystore::from_bytes(data) {
        assert_eq!(ks.to_bytes(), data, "a keystore has one encoding");
        let p = ks.params();
        if u64::from(p.memory_kib) * u64::from(p.passes) <= 64 * 1024 {
            let _ = ks.unlock_with_password("password");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Keystore::from_text(text);
    }
}

/// Content opening: the first 72 bytes are the digest, the rest the sealed
/// content, opened whole, in parallel and through the streaming reader.
pub fn open_content(data: &[u8]) {
    if data.len() < 72 {
        return;
    }
    let (head, body) = data.split_at(72);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&head[..32]);
    let mut commit = [0u8; 32];
    commit.copy_from_slice(&head[32..64]);
    let mut len = [0u8; 8];
    len.copy_from_slice(&head[64..72]);
    let key = ContentKey::from_bytes([7; 32]);
    let mut digests = vec![ContentDigest {
        ciphertext_hash: hash,
        key_commitment: commit,
        ciphertext_len: u64::from_be_bytes(len),
    }];
    // Also with the true hash and length, so the chunk layer is reached.
    digests.push(ContentDigest {
        ciphertext_hash: stream::ciphertext_hash(body),
        key_commitment: commit,
        ciphertext_len: body.len() as u64,
    });
    for digest in &digests {
        let _ = stream::open(&key, body, digest);
        let _ = stream::open_parallel(&key, body, digest);
        if let Ok(mut reader) = stream::ContentReader::new(&key, body, digest) {
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        }
    }
}

/// Invite and public link URLs.
pub fn decode_link_url(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(url) = LinkUrl::parse(&text) {
        let again = LinkUrl::parse(&url.to_url());
        assert!(again.is_ok(), "a parsed link re-parses");
    }
}

/// Structure-aware: the bytes choose a sequence of well-formed operations by
/// actors whose keys the target holds, properly signed and chained, so the
/// verifier's rules (not its signature check) decide. The oracle is the
/// reference model ([`model::check`]): the verifier's verdict on every
/// operation, its cell of the authority table and the state after it must be
/// the model's. Then the log of accepted operations, and that log cut at the
/// first refused operation with it appended, verify the same in one batch as
/// one by one. On both, the listing changes a verifying server keeps its index
/// of who appears with ([`LogState::verify_append_listing`]) add up, after every
/// operation, to exactly who appears in the state ([`LogState::appearing`]).
pub fn verify_adversarial_log(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(script) = u.arbitrary::<actors::Script>() else {
        return;
    };
    let run = model::check(&script).unwrap_or_else(|why| panic!("verifier and model: {why}"));
    let mut logs = vec![(run.log.clone(), run.log.len())];
    if let Some(refused) = run.checked.iter().find(|c| c.judgement.verdict.is_err()) {
        let at = refused.op.seq() as usize;
        let mut ops = run.log[..at].to_vec();
        ops.push(refused.op.clone());
        logs.push((ops, at));
    }
    for (ops, accepted) in logs {
        let mut batch = LogState::empty(actors::COLLECTION);
        let _ = batch.extend(&ops, actors::NOW);
        let mut single = LogState::empty(actors::COLLECTION);
        for op in &ops {
            if single
                .extend(std::slice::from_ref(op), actors::NOW)
                .is_err()
            {
                break;
            }
        }
        assert_eq!(batch.len(), single.len(), "batch and one-by-one agree");
        assert_eq!(
            batch.len() as usize,
            accepted,
            "the verdicts of the model hold in a batch"
        );
        check_listing_index(&ops);
    }
}

/// Appends `ops` as a verifying server does, keeping an index of who appears
/// from each append's [`sealshare::internal::log::ListingChange`], up to the first
/// refusal; after each operation the index is exactly who appears.
fn check_listing_index(ops: &[Operation]) {
    let mut state = LogState::empty(actors::COLLECTION);
    let mut index = std::collections::BTreeSet::new();
    for op in ops {
        let Ok(change) = state.verify_append_listing(op.to_bytes(), actors::NOW) else {
            break;
        };
        for handle in change.added {
            assert!(index.insert(handle), "a handle added twice");
        }
        for handle in change.dropped {
            assert!(
                index.remove(&handle),
                "a handle dropped that was not listed"
            );
        }
        let appearing: std::collections::BTreeSet<String> =
            state.appearing().map(str::to_owned).collect();
        assert_eq!(index, appearing, "the listing index after #{}", op.seq());
    }
}

/// A request's `Authorization` header (the first line), checked against the
/// request the rest of the input names: a header that parses has one
/// spelling, and checking it never panics.
pub fn decode_request_auth(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, rest) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(auth) = RequestAuth::parse(header) {
        assert_eq!(
            auth.to_header(),
            header,
            "a signature header has one spelling"
        );
        let (method, path) = rest.split_once(' ').unwrap_or(("GET", rest));
        let target = RequestTarget {
            method,
            path_and_query: path,
            body_digest: body_digest(path.as_bytes()),
            server: ServerId([0; 16]),
        };
        let _ = auth.verify(&target, auth.expires().saturating_sub(30));
    }
}
