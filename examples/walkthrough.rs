//! A walkthrough: two accounts, safety numbers compared, an item sealed for a
//! recipient and opened by them, then a notebook shared, read, and the reader
//! removed.
//!
//! Run: `cargo run --release --example walkthrough`

use sealshare::crypto::aead::SealedBox;
use sealshare::crypto::password::Profile;
use sealshare::crypto::stream::{self, ContentKey, DEFAULT_CHUNK_SIZE};
use sealshare::crypto::wrap::{WrapContext, WrappedSecret};
use std::sync::Arc;

use sealshare::{
    Account, Client, Collection, CollectionList, Error, Identity, Keystore, MemoryRemote, Remote,
    Role, TrustStore,
};

fn main() -> Result<(), Error> {
    let now = 1_790_000_000;

    println!("1. Alice and Bob create accounts (keys sealed under Argon2id of their passwords).");
    let (alice, _alice_store, _alice_phrase) = Account::create_protected(
        "alice@example.com",
        now,
        "alice's long passphrase",
        Profile::Interactive,
    )?;
    let (bob, bob_store, bob_phrase) = Account::create_protected(
        "bob@example.com",
        now,
        "bob's long passphrase",
        Profile::Interactive,
    )?;
    println!(
        "   Bob writes down his recovery phrase ({} words).",
        bob_phrase.words().split(' ').count()
    );

    println!("2. They exchange identity cards through the (untrusted) server and pin them.");
    let bob_card = Identity::from_text(&bob.identity().to_text())?; // signature verified here
    let alice_card = Identity::from_text(&alice.identity().to_text())?;
    let mut alice_trust = TrustStore::new();
    alice_trust.observe(&bob_card, now)?;
    let mut bob_trust = TrustStore::new();
    bob_trust.observe(&alice_card, now)?;

    println!("3. They compare safety numbers in person:");
    let seen_by_alice = alice.identity().safety_number(&bob_card);
    let seen_by_bob = bob.identity().safety_number(&alice_card);
    println!("   Alice sees {seen_by_alice}");
    println!("   Bob   sees {seen_by_bob}");
    assert_eq!(seen_by_alice, seen_by_bob);
    alice_trust.mark_verified(bob_card.handle(), &bob_card.fingerprint(), now)?;
    bob_trust.mark_verified(alice_card.handle(), &alice_card.fingerprint(), now)?;
    println!("   They match: both mark the other verified.");

    println!(
        "4. Alice seals an item for Bob: content in chunks, name in a sealed box, key wrapped to Bob."
    );
    let content = b"Meeting notes: the plan is to ship on Friday.".repeat(1000);
    let key = ContentKey::random()?;
    let sealed = stream::seal(&key, &content, DEFAULT_CHUNK_SIZE)?;
    let name = SealedBox::seal(key.as_secret(), b"notes.txt", b"item-name/demo-item")?;
    let bob_id = bob_card.fingerprint().to_bytes();
    let context = WrapContext {
        purpose: "item-key",
        collection: b"walkthrough",
        epoch: 0,
        recipient: &bob_id,
    };
    let wrapped = WrappedSecret::wrap_key(bob_card.kem_key(), &context, key.as_secret())?;
    println!(
        "   {} plaintext bytes -> {} ciphertext bytes; key commitment and ciphertext hash go into the signed header.",
        content.len(),
        sealed.ciphertext.len()
    );

    println!("5. Bob, on another day, unlocks his account and opens the item.");
    let keystore = Keystore::from_bytes(&bob_store.to_bytes())?;
    match Account::unlock(&keystore, "a guess") {
        Err(Error::WrongPassword) => println!("   A wrong password is refused: wrong password."),
        other => {
            return Err(Error::InvalidArgument(format!(
                "expected a wrong-password refusal, got {other:?}"
            )));
        }
    }
    let bob = Account::unlock(&keystore, "bob's long passphrase")?;
    let key = ContentKey::from_secret(bob.unwrap_key(&wrapped, &context)?);
    let opened = stream::open(&key, &sealed.ciphertext, &sealed.digest)?;
    let name = name.open(key.as_secret(), b"item-name/demo-item")?;
    assert_eq!(opened, content);
    println!(
        "   Opened {:?}: {} bytes, identical to what Alice sealed.",
        String::from_utf8_lossy(name.expose()),
        opened.len()
    );

    println!("6. The server tries to cheat:");
    let mut tampered = sealed.ciphertext.clone();
    if let Some(b) = tampered.get_mut(1000) {
        *b ^= 1;
    }
    println!(
        "   flipped a bit of the content:   {}",
        describe(stream::open(&key, &tampered, &sealed.digest).map_err(Error::from))
    );
    let other = WrapContext {
        collection: b"another collection",
        ..context
    };
    println!(
        "   moved the key to another place: {}",
        describe(bob.unwrap_key(&wrapped, &other))
    );
    let impostor = Account::create("bob@example.com", now)?;
    println!(
        "   swapped Bob's card for another: {}",
        describe(alice_trust.observe(impostor.identity(), now))
    );

    println!("7. Alice shares a notebook with Bob as a viewer, through the (untrusted) server.");
    let server: Arc<dyn Remote> = Arc::new(MemoryRemote::new());
    let mut alice = Client::new(alice, server.clone());
    let mut bob = Client::new(bob, server.clone());
    alice.set_trust_store(alice_trust);
    bob.set_trust_store(bob_trust);
    let mut notebook = Collection::create(&mut alice, "Project notes", "the Friday launch")?;
    let plans = notebook.add_folder(&mut alice, None, "Plans")?;
    let memo = notebook.add_file(&mut alice, Some(plans), "memo.txt", "text/plain", &content)?;
    notebook.share(&mut alice, bob.account().identity(), Role::Viewer)?;
    let mut list = CollectionList::fetch(&mut bob)?;
    for (id, e) in &list.failed {
        println!("   listed but did not verify: {id}: {e}");
    }
    let found = list
        .pending
        .pop()
        .ok_or_else(|| Error::NotFound("the shared notebook".into()))?;
    println!(
        "   Bob's pending collections: {:?} from {} as {}",
        found.name.as_deref().unwrap_or("?"),
        found.owner,
        found.role
    );
    let mut bobs_view = found.collection;
    bobs_view.accept(&mut bob)?;
    println!(
        "   Bob reads memo.txt: {} bytes",
        bobs_view.read(&bob, memo)?.len()
    );
    println!(
        "   Bob tries to trash it:         {}",
        describe(bobs_view.trash(&mut bob, memo))
    );

    println!("8. Alice removes Bob: a new key epoch, one wrap per remaining member.");
    notebook.sync(&mut alice)?;
    notebook.remove(&mut alice, "bob@example.com")?;
    let later = notebook.add_file(
        &mut alice,
        Some(plans),
        "after.txt",
        "text/plain",
        b"secret",
    )?;
    let _ = bobs_view.sync(&mut bob);
    println!(
        "   Bob opens what came after:     {}",
        describe(bobs_view.read(&bob, later))
    );
    println!("   The verified history:");
    for entry in notebook.history() {
        println!("     #{} {}", entry.seq, entry.text);
    }
    println!("Done: every check held.");
    Ok(())
}

fn describe<T>(result: Result<T, Error>) -> String {
    match result {
        Ok(_) => "ACCEPTED (this must not happen)".into(),
        Err(e) => format!("refused ({e})"),
    }
}
