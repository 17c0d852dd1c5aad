//! Generates the frozen test vectors in `tests/vectors/sealshare_v1.json` from a
//! fixed seed, so a second implementation can check itself against them and every
//! future version of this library must still open them.
//!
//! Run: `cargo run --features test-vectors --bin gen-vectors` (writes the file) or
//! with `-- --check` (fails if the committed file differs from what it generates).
//! The `test-vectors` feature makes randomness seeded: never enable it in an app.

mod decode;
mod describe;
mod every;
mod hand;
mod people;
mod reads;
mod refusals;
mod refusals_by_state;

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use sealshare::internal::crypto::aead::SealedBox;
use sealshare::internal::crypto::password::Argon2Params;
use sealshare::internal::crypto::random::seeded::with_seed;
use sealshare::internal::crypto::stream::{self, ContentKey};
use sealshare::internal::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::internal::wire::to_text;

use sealshare::{Account, Client, Collection, Keystore, MemoryRemote, Remote, Role, TrustStore};

use crate::decode::decode_refusals;
use crate::every::every_operation;
use crate::people::People;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/sealshare_v1.json"
);
const NOW: u64 = 1_790_000_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn generate() -> sealshare::Result<Value> {
    let alice = with_seed(b"sealshare v1 vectors: alice", || {
        Account::create("alice@example.com", NOW)
    })?;
    let bob = with_seed(b"sealshare v1 vectors: bob", || {
        Account::create("bob@example.com", NOW + 60)
    })?;
    let card = json!({
        "account_secrets": hex(alice.to_secret_bytes().expose()),
        "card": hex(&alice.identity().to_bytes()),
        "card_text": alice.identity().to_text(),
        "fingerprint": hex(&alice.identity().fingerprint().to_bytes()),
        "fingerprint_digits": alice.identity().fingerprint().digits(),
        "peer_card": hex(&bob.identity().to_bytes()),
        "safety_number_digits": alice.identity().safety_number(bob.identity()).digits(),
        "safety_number_qr": hex(&alice.identity().safety_number(bob.identity()).to_qr_bytes()),
    });

    let params = Argon2Params {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };
    let password = "correct horse battery staple";
    let (keystore, phrase) = with_seed(b"sealshare v1 vectors: keystore", || {
        Keystore::create(alice.to_secret_bytes().expose(), password, params)
    })?;
    let keystore = json!({
        "password": password,
        "recovery_phrase": phrase.words().as_str(),
        "payload": hex(alice.to_secret_bytes().expose()),
        "keystore": hex(&keystore.to_bytes()),
    });

    let plaintext: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let (key, sealed) = with_seed(b"sealshare v1 vectors: content", || {
        let key = ContentKey::random()?;
        let sealed = stream::seal(&key, &plaintext, 4096)?;
        Ok::<_, sealshare::Error>((key, sealed))
    })?;
    let content = json!({
        "key": hex(key.as_secret().expose()),
        "plaintext": "10000 bytes, byte i = i mod 251",
        "chunk_size": 4096,
        "ciphertext": hex(&sealed.ciphertext),
        "ciphertext_hash": hex(&sealed.digest.ciphertext_hash),
        "key_commitment": hex(&sealed.digest.key_commitment),
        "ciphertext_len": sealed.digest.ciphertext_len,
    });

    let rid = bob.identity().fingerprint().to_bytes();
    let ctx = WrapContext {
        purpose: "epoch-key",
        collection: b"vector-collection",
        epoch: 3,
        recipient: &rid,
    };
    let (wrapped, boxed) = with_seed(b"sealshare v1 vectors: wrap", || {
        let w = WrappedSecret::wrap_key(bob.identity().kem_key(), &ctx, key.as_secret())?;
        let b = SealedBox::seal(key.as_secret(), b"notes.txt", b"sealshare vector aad")?;
        Ok::<_, sealshare::Error>((w, b))
    })?;
    let wrap = json!({
        "recipient_account_secrets": hex(bob.to_secret_bytes().expose()),
        "purpose": ctx.purpose,
        "collection": hex(ctx.collection),
        "epoch": ctx.epoch,
        "recipient_key_id": hex(&rid),
        "secret": hex(key.as_secret().expose()),
        "wrapped": hex(&wrapped.to_bytes()),
        "sealed_box_key": hex(key.as_secret().expose()),
        "sealed_box_aad": hex(b"sealshare vector aad"),
        "sealed_box_plaintext": hex(b"notes.txt"),
        "sealed_box": hex(&boxed.to_bytes()),
    });

    let mut trust = TrustStore::new();
    trust.observe(bob.identity(), NOW)?;
    trust.observe(alice.identity(), NOW + 1)?;
    trust.mark_verified("bob@example.com", &bob.identity().fingerprint(), NOW + 2)?;
    let trust =
        json!({ "trust_store": hex(&trust.to_bytes()), "text": to_text(&trust.to_bytes()) });

    let log = collection_log(&alice, &bob)?;
    let people = People::new(&alice, &bob)?;
    let every = every_operation(&people)?;
    let refusals = decode_refusals(&people, &keystore, &content)?;

    Ok(json!({
        "about": "sealshare format v1 frozen vectors; see SPEC.md. All byte strings are hex.",
        "collection_log": log,
        "every_operation": every,
        "decode_refusals": refusals,
        "identity": card,
        "keystore": keystore,
        "content": content,
        "wrap": wrap,
        "trust_store": trust,
    }))
}

/// A small collection's whole log: create, a folder, a file, a share, an accept,
/// a removal with its rotation. Built on one rayon thread so every random draw
/// (ids, nonces, HPKE ephemeral keys) comes from the seed.
fn collection_log(alice: &Account, bob: &Account) -> sealshare::Result<Value> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| sealshare::Error::InvalidArgument(e.to_string()))?;
    pool.install(|| {
        with_seed(b"sealshare v1 vectors: collection log", || {
            let copy = |a: &Account| Account::from_secret_bytes(a.to_secret_bytes().expose());
            let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
            let mut a = Client::with_clock(copy(alice)?, remote.clone(), Box::new(|| NOW + 100));
            let mut b = Client::with_clock(copy(bob)?, remote.clone(), Box::new(|| NOW + 200));
            a.observe(bob.identity())?;
            b.observe(alice.identity())?;
            let mut coll = Collection::create(&mut a, "Recipes", "family recipes")?;
            let folder = coll.add_folder(&mut a, None, "Soups")?;
            let file = coll.add_file(&mut a, Some(folder), "leek.md", "text/markdown", b"leeks, potatoes")?;
            coll.share(&mut a, bob.identity(), Role::Viewer)?;
            let mut bobs = Collection::open(&mut b, coll.id())?;
            bobs.accept(&mut b)?;
            coll.sync(&mut a)?;
            coll.remove(&mut a, "bob@example.com")?;
            let ops = remote.fetch(&coll.id(), 0)?;
            let digest = coll.state().items()[&file].latest.header.content.clone();
            let blob_id = digest.map(|d| d.ciphertext_hash).unwrap_or_default();
            let blob = remote.get_blob(&coll.id(), &blob_id)?;
            Ok(json!({
                "about": "operations 0..6 of one collection; alice's account_secrets are under identity",
                "collection": hex(&coll.id().0),
                "operations": ops.iter().map(|o| hex(o)).collect::<Vec<_>>(),
                "head": hex(&coll.state().head()),
                "blob_id": hex(&blob_id),
                "blob": hex(&blob),
                "expect": {
                    "epochs": coll.state().epochs().len(),
                    "members": ["alice@example.com"],
                    "folder": coll.item(folder)?.metadata.name,
                    "file": coll.item(file)?.metadata.name,
                    "file_content": hex(b"leeks, potatoes"),
                    "history": coll.history().into_iter().map(|h| h.text).collect::<Vec<_>>(),
                },
            }))
        })
    })
}

fn invalid(msg: impl Into<String>) -> sealshare::Error {
    sealshare::Error::InvalidArgument(msg.into())
}

fn unhex(s: &str) -> sealshare::Result<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| invalid("bad hex"))
        })
        .collect()
}

fn main() -> ExitCode {
    // Anything but no argument or `--check` is refused before anything is
    // written: an unknown flag (even `--help`) used to rewrite the file.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            return fail(&format!(
                "unexpected arguments {args:?}: run with none to write {PATH}, or with --check"
            ));
        }
    };
    let text = match generate().map(|v| serde_json::to_string_pretty(&v)) {
        Ok(Ok(t)) => t + "\n",
        Ok(Err(e)) => return fail(&e.to_string()),
        Err(e) => return fail(&e.to_string()),
    };
    if check {
        match std::fs::read_to_string(PATH) {
            Ok(existing) if existing == text => {
                println!("tests/vectors/sealshare_v1.json matches the generator");
                ExitCode::SUCCESS
            }
            Ok(_) => {
                fail("tests/vectors/sealshare_v1.json differs from what the generator produces")
            }
            Err(e) => fail(&format!("cannot read {PATH}: {e}")),
        }
    } else {
        match std::fs::write(PATH, text) {
            Ok(()) => {
                println!("wrote {PATH}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot write {PATH}: {e}")),
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("gen-vectors: {msg}");
    ExitCode::FAILURE
}
