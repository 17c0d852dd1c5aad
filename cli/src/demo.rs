//! `sealshare demo`: three people play the whole story in a temporary folder,
//! through the same store and profiles as the other commands.

use std::sync::Arc;

use sealshare::{
    Collection, Error, InviteTerms, LinkUrl, PublicLinkTerms, PublicView, Result, Role,
};

use crate::backend::Place;
use crate::commands::say;
use crate::profile::Profile;
use crate::store::Store;

use sealshare::system_time as now;

fn refused<T>(what: &str, r: Result<T>) -> Result<()> {
    match r {
        Ok(_) => Err(Error::InvalidArgument(format!(
            "{what} was accepted: this must not happen"
        ))),
        Err(e) => {
            say!("   {what}: refused ({e})");
            Ok(())
        }
    }
}

/// Runs the demo.
pub(crate) fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(&dir.path().join("store"))?);
    let place = Place::Store(store.clone());
    say!(
        "A temporary store (playing the untrusted server) and three profiles in {}",
        dir.path().display()
    );
    let mut people = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (p, _) = Profile::create(
            &dir.path().join(name),
            &place,
            name,
            &format!("{name}'s passphrase"),
            now(),
            true,
        )?;
        say!(
            "1. {name} creates an account; fingerprint {}",
            p.client.account().identity().fingerprint()
        );
        people.push(p);
    }
    let [mut alice, mut bob, mut carol] = <[Profile; 3]>::try_from(people)
        .map_err(|_| Error::InvalidArgument("three profiles".into()))?;

    say!("2. Alice and Bob compare their safety number in person:");
    let bob_card = store.card("bob")?;
    alice.client.observe(&bob_card)?;
    say!(
        "   {}",
        alice.client.account().identity().safety_number(&bob_card)
    );
    alice
        .client
        .trust_mut()
        .mark_verified("bob", &bob_card.fingerprint(), now())?;

    say!(
        "3. Alice creates \"Team notes\", adds a file and shares it: Bob as viewer, Carol as collaborator."
    );
    let mut notes = Collection::create(&mut alice.client, "Team notes", "the launch")?;
    let plan = notes.add_file(
        &mut alice.client,
        None,
        "plan.md",
        "text/markdown",
        b"# Launch on Friday",
    )?;
    notes.share(&mut alice.client, &bob_card, Role::Viewer)?;
    notes.share(&mut alice.client, &store.card("carol")?, Role::Collaborator)?;

    say!(
        "4. Bob finds it in \"shared with me\", accepts, and reads (log verified, content checked against its signed header)."
    );
    let mut bobs = Collection::open(&mut bob.client, notes.id())?;
    bobs.accept(&mut bob.client)?;
    say!(
        "   plan.md: {:?}",
        String::from_utf8_lossy(&bobs.read(&bob.client, plan)?)
    );
    refused(
        "Bob (viewer) adds a file",
        bobs.add_file(&mut bob.client, None, "bob.md", "text/plain", b"x"),
    )?;

    say!("5. Carol (collaborator) adds a file; she may not trash Alice's.");
    let mut carols = Collection::open(&mut carol.client, notes.id())?;
    carols.accept(&mut carol.client)?;
    carols.add_file(
        &mut carol.client,
        None,
        "carol.md",
        "text/plain",
        b"budget: 0",
    )?;
    refused(
        "Carol trashes Alice's plan.md",
        carols.trash(&mut carol.client, plan),
    )?;

    say!("6. Alice removes Bob: a new key epoch, wrapped only to Alice and Carol.");
    notes.sync(&mut alice.client)?;
    notes.remove(&mut alice.client, "bob")?;
    let secret = notes.add_file(
        &mut alice.client,
        None,
        "after-bob.md",
        "text/plain",
        b"Bob must not read this",
    )?;
    bobs.sync(&mut bob.client)?;
    refused(
        "Bob reads what came after his removal",
        bobs.read(&bob.client, secret),
    )?;

    say!("7. An invite link (one hour, any number of uses): Dave joins and reads at once.");
    let invite = notes.create_invite_link(
        &mut alice.client,
        "https://sealshare.invalid/join",
        InviteTerms::default(),
    )?;
    let (mut dave, _) = Profile::create(
        &dir.path().join("dave"),
        &place,
        "dave",
        "dave's passphrase",
        now(),
        true,
    )?;
    let daves = Collection::join(&mut dave.client, &LinkUrl::parse(&invite.to_url())?)?;
    say!(
        "   Dave reads after-bob.md: {:?}",
        String::from_utf8_lossy(&daves.read(&dave.client, secret)?)
    );

    say!(
        "8. A public link with a password: anyone with the URL and the password reads, with no account."
    );
    let terms = PublicLinkTerms {
        password: Some("open sesame".into()),
        ..Default::default()
    };
    let public =
        notes.create_public_link(&mut alice.client, "https://sealshare.invalid/s", &terms)?;
    let remote: Arc<dyn sealshare::Remote> = store.clone();
    refused(
        "opening it with a wrong password",
        PublicView::open(remote.clone(), &public, Some("guess"), now()),
    )?;
    let view = PublicView::open(remote, &public, Some("open sesame"), now())?;
    let names: Vec<String> = view
        .items()
        .items
        .into_iter()
        .map(|i| i.metadata.name)
        .collect();
    say!("   the link shows: {}", names.join(", "));

    say!("9. The verified history Alice sees:");
    notes.sync(&mut alice.client)?;
    for h in notes.history() {
        say!("   #{:<3} {}", h.seq, h.text);
    }
    for p in [&mut alice, &mut bob, &mut carol, &mut dave] {
        p.save()?;
    }
    alice.save_collection(&notes)?;
    say!(
        "Done: every refusal above came from signatures and rules every client checks, not from the store."
    );
    Ok(())
}
