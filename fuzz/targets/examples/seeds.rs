//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/`:
//! real objects made through the public API (a card, every kind of operation
//! from a collection with links, a log segment, a checkpoint's plaintext, a
//! keystore with cheap parameters, a sealed content with its digest, link URLs;
//! for the adversarial log, inputs whose scripts reach many cells of the
//! authority table).
//!
//! Run: `cargo run -p sealshare-fuzz-targets --example seeds`

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sealshare::internal::crypto::password::Argon2Params;
use sealshare::internal::crypto::stream::{self, ContentKey};
use sealshare::internal::log::Standing;
use sealshare::{
    Account, Client, Collection, InviteTerms, Keystore, MemoryRemote, PublicLinkTerms, Remote, Role,
};
use sealshare_fuzz_targets::actors::{self, Script};
use sealshare_fuzz_targets::model::{self, Refusal};

#[path = "../tests/strategy/mod.rs"]
mod strategy;

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let mut owner = Client::new(Account::create("owner", 1).unwrap(), remote.clone());
    let mut bob = Client::new(Account::create("bob", 1).unwrap(), remote.clone());
    request_seeds(owner.account());
    put(
        "decode_card",
        "card",
        &owner.account().identity().to_bytes(),
    );
    put(
        "decode_card",
        "card-text",
        owner.account().identity().to_text().as_bytes(),
    );

    let mut coll = Collection::create(&mut owner, "Seeds", "every operation").unwrap();
    let folder = coll.add_folder(&mut owner, None, "folder").unwrap();
    let file = coll
        .add_file(&mut owner, Some(folder), "f", "text/plain", b"content")
        .unwrap();
    coll.update_file(&mut owner, file, None, b"v2").unwrap();
    coll.share(&mut owner, bob.account().identity(), Role::Editor)
        .unwrap();
    let mut bobs = Collection::open(&mut bob, coll.id()).unwrap();
    bobs.accept(&mut bob).unwrap();
    coll.sync(&mut owner).unwrap();
    coll.change_role(&mut owner, "bob", Role::Viewer).unwrap();
    coll.trash(&mut owner, file).unwrap();
    coll.restore(&mut owner, file).unwrap();
    coll.rename(&mut owner, "Seeds 2", "").unwrap();
    let invite = coll
        .create_invite_link(&mut owner, "https://x.example/j", InviteTerms::default())
        .unwrap();
    let approval = coll
        .create_invite_link(
            &mut owner,
            "https://x.example/j",
            InviteTerms {
                approval: true,
                ..Default::default()
            },
        )
        .unwrap();
    let public = coll
        .create_public_link(
            &mut owner,
            "https://x.example/s",
            &PublicLinkTerms::default(),
        )
        .unwrap();
    let mut carol = Client::new(Account::create("carol", 1).unwrap(), remote.clone());
    Collection::join(&mut carol, &invite).unwrap();
    let mut dan = Client::new(Account::create("dan", 1).unwrap(), remote.clone());
    Collection::join(&mut dan, &approval).unwrap();
    coll.sync(&mut owner).unwrap();
    coll.approve(&mut owner, "dan").unwrap();
    coll.invite(&mut owner, "erin", Role::Viewer).unwrap();
    coll.cancel_invitation(&mut owner, "erin").unwrap();
    coll.remove(&mut owner, "bob").unwrap();
    coll.revoke_all_links(&mut owner).unwrap();
    coll.trash(&mut owner, file).unwrap();
    coll.purge(&mut owner, file).unwrap();
    coll.unshare(&mut owner).unwrap();

    let log = remote.fetch(&coll.id(), 0).unwrap();
    let mut segment = Vec::new();
    for (i, op) in log.iter().enumerate() {
        put("decode_operation", &format!("op-{i:02}"), op);
        if op.len() <= usize::from(u16::MAX) {
            segment.extend_from_slice(&(op.len() as u16).to_be_bytes());
            segment.extend_from_slice(op);
        }
    }
    put("decode_log_segment", "whole-log", &segment);
    put(
        "decode_checkpoint",
        "checkpoint",
        &coll.to_checkpoint(owner.account()).unwrap(),
    );

    let cheap = Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    let (ks, _) = Keystore::create(b"payload", "password", cheap).unwrap();
    put("decode_keystore", "keystore", &ks.to_bytes());
    put("decode_keystore", "keystore-text", ks.to_text().as_bytes());

    let key = ContentKey::from_bytes([7; 32]);
    for (name, len) in [("empty", 0usize), ("small", 100), ("two-chunks", 70_000)] {
        let sealed = stream::seal(&key, &vec![1u8; len], 4096).unwrap();
        let mut input = Vec::new();
        input.extend_from_slice(&sealed.digest.ciphertext_hash);
        input.extend_from_slice(&sealed.digest.key_commitment);
        input.extend_from_slice(&sealed.digest.ciphertext_len.to_be_bytes());
        input.extend_from_slice(&sealed.ciphertext);
        put("open_content", name, &input);
    }

    put("decode_link_url", "invite", invite.to_url().as_bytes());
    put("decode_link_url", "public", public.to_url().as_bytes());
    let fixed = [
        vec![0u8; 64],
        (0..=255).collect::<Vec<u8>>(),
        vec![7u8; 200],
    ];
    for (i, seed) in fixed.into_iter().chain(script_seeds()).enumerate() {
        put("verify_adversarial_log", &format!("script-{i}"), &seed);
    }
    println!("seeds written to fuzz/corpus/");
}

/// Inputs for `verify_adversarial_log`: scripts of the model test's strategy
/// (drawn deterministically), encoded for `arbitrary`, picked greedily so
/// that together they reach every cell of the authority table with every
/// verdict (accepted, refused by the table, refused by the rules) that 400
/// such scripts reach, each pick reaching the most not reached yet.
fn script_seeds() -> Vec<Vec<u8>> {
    let mut runner = TestRunner::deterministic();
    let strategy = strategy::script_strategy();
    let mut pool: Vec<(Script, BTreeSet<String>)> = (0..400)
        .map(|_| {
            let script = Script {
                steps: strategy.new_tree(&mut runner).unwrap().current(),
            };
            let run = model::check(&script).unwrap_or_else(|why| panic!("{why}"));
            let cells = (run.checked.iter())
                .map(|c| {
                    let j = &c.judgement;
                    let standing = match j.standing {
                        Standing::Member(role) => format!("member {role}"),
                        Standing::Pending(_) => "pending".into(),
                        Standing::AwaitingApproval(_) => "awaiting approval".into(),
                        Standing::Outsider => "outsider".into(),
                    };
                    let verdict = match &j.verdict {
                        Ok(()) => "accepted",
                        Err(Refusal::Table(_)) => "refused by the table",
                        Err(_) => "refused by its rules",
                    };
                    format!("{:?} by {standing}: {verdict}", j.request)
                })
                .collect();
            (script, cells)
        })
        .collect();
    let mut reached = BTreeSet::new();
    let mut seeds = Vec::new();
    loop {
        let new = |cells: &BTreeSet<String>| cells.difference(&reached).count();
        let Some(best) = (0..pool.len()).max_by_key(|&i| new(&pool[i].1)) else {
            break;
        };
        if new(&pool[best].1) == 0 {
            break;
        }
        let (script, cells) = pool.swap_remove(best);
        reached.extend(cells);
        seeds.push(actors::encode(&script));
    }
    println!(
        "{} adversarial-log seeds reach {} (cell, verdict) pairs",
        seeds.len(),
        reached.len()
    );
    seeds
}

/// Signed request headers: an account's and a link's, each followed by the
/// request it signs.
fn request_seeds(account: &Account) {
    use sealshare::{RequestSigner, RequestTarget, ServerId, body_digest};
    let path = "/v1/collections/AAAAAAAAAAAAAAAAAAAAAA/operations?from=0";
    let target = RequestTarget {
        method: "GET",
        path_and_query: path,
        body_digest: body_digest(path.as_bytes()),
        server: ServerId([0; 16]),
    };
    let auth = RequestSigner::for_account(account)
        .sign(&target, 1_800_000_000)
        .unwrap();
    put(
        "decode_request_auth",
        "account",
        format!("{}\nGET {path}", auth.to_header()).as_bytes(),
    );
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let mut owner = Client::new(account.duplicate().unwrap(), remote);
    let mut coll = Collection::create(&mut owner, "Requests", "").unwrap();
    let url = coll
        .create_invite_link(&mut owner, "https://x.example/j", InviteTerms::default())
        .unwrap();
    let auth = url.request_signer().unwrap().sign(&target, 60).unwrap();
    put(
        "decode_request_auth",
        "link",
        format!("{}\nGET {path}", auth.to_header()).as_bytes(),
    );
}
