#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Malicious clients against the real server process: requests that are
//! unsigned, replayed, expired, signed for another request or another
//! server, and callers the collection's verified log does not hold (a
//! stranger, a removed member, a link that expired or was revoked, a key the
//! directory holds but the log does not). Each is refused and changes
//! nothing (SECURITY.md §The reference server names these tests).

mod support;

use std::sync::Arc;

use sealshare::{
    Account, Client, Collection, CollectionId, InviteTerms, MemoryRemote, PublicLinkTerms, Remote,
    RequestSigner, Role, ServerId, ciphertext_hash, system_time,
};
use support::{Server, blob_path};

const BASE: &str = "https://share.example/l";

/// A collection made on an in-memory store and stored on the real server,
/// each operation appended by its own signer.
struct World {
    memory: Arc<MemoryRemote>,
    server: Server,
    alice: Client,
    bob: Client,
    notes: Collection,
    /// How many operations are on the server.
    pushed: usize,
    _data: tempfile::TempDir,
}

impl World {
    /// alice's collection, shared with bob as an editor (accepted); both
    /// registered with the server.
    fn new() -> Self {
        Self::with_clock(0)
    }

    /// As [`World::new`], with alice's clock `behind` seconds behind.
    fn with_clock(behind: u64) -> Self {
        let memory = Arc::new(MemoryRemote::new());
        let remote: Arc<dyn Remote> = memory.clone();
        let now = system_time();
        let mut alice = Client::with_clock(
            Account::create("alice", now - behind).unwrap(),
            remote.clone(),
            Box::new(move || system_time() - behind),
        );
        let mut bob = Client::new(Account::create("bob", now).unwrap(), remote);
        alice.observe(bob.account().identity()).unwrap();
        bob.observe(alice.account().identity()).unwrap();
        let mut notes = Collection::create(&mut alice, "Notes", "").unwrap();
        notes
            .add_file(&mut alice, None, "a.txt", "text/plain", b"hello")
            .unwrap();
        notes
            .share(&mut alice, bob.account().identity(), Role::Editor)
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let server = Server::start(data.path());
        server.register(alice.account());
        server.register(bob.account());
        let mut world = Self {
            memory,
            server,
            alice,
            bob,
            notes,
            pushed: 0,
            _data: data,
        };
        world.push();
        world
    }

    /// Appends to the server what the in-memory store has beyond it.
    fn push(&mut self) {
        let id = self.notes.id();
        let log = self.memory.fetch(&id, 0).unwrap();
        for (seq, op) in log.iter().enumerate().skip(self.pushed) {
            let answer = self.server.append(&id, seq as u64, op);
            assert_eq!(answer.status, 200, "#{seq}: {}", answer.message());
        }
        self.pushed = log.len();
    }

    fn log_path(&self) -> String {
        format!(
            "/v1/collections/{}/operations?from=0",
            self.notes.id().to_text()
        )
    }

    /// The stored log, as alice reads it.
    fn stored(&self) -> Vec<Vec<u8>> {
        self.server.fetch(&self.notes.id(), 0)
    }

    /// `GET path` signed by `signer`.
    fn get_as(&self, signer: &RequestSigner, path: &str) -> support::Answer {
        let header = self.server.authorization(signer, "GET", path, b"", 30);
        self.server.send("GET", path, b"", Some(&header))
    }
}

fn signer(client: &Client) -> RequestSigner {
    RequestSigner::for_account(client.account())
}

#[test]
fn unsigned_replayed_expired_and_wrongly_addressed_requests_are_refused() {
    let w = World::new();
    let path = w.log_path();
    let alice = signer(&w.alice);

    // Unsigned; a header of another scheme; garbage in the scheme.
    w.server
        .send("GET", &path, b"", None)
        .assert_error(401, "unauthenticated");
    for header in ["Bearer abc", "Sealshare v1.a.x", "Sealshare "] {
        w.server
            .send("GET", &path, b"", Some(header))
            .assert_error(401, "unauthenticated");
    }
    // Signed: accepted once; the same request again is a replay.
    let header = w.server.authorization(&alice, "GET", &path, b"", 30);
    assert_eq!(w.server.send("GET", &path, b"", Some(&header)).status, 200);
    let replay = w.server.send("GET", &path, b"", Some(&header));
    replay.assert_error(401, "replayed");
    assert!(replay.json()["time"].as_u64().is_some());

    // Expired, and valid for longer than a minute: the answer has the
    // server's time.
    let target = |server| sealshare::RequestTarget {
        method: "GET",
        path_and_query: &path,
        body_digest: sealshare::body_digest(b""),
        server,
    };
    let id = w.server.server_id();
    let expired = alice
        .sign(&target(id), system_time() - 5)
        .unwrap()
        .to_header();
    let answer = w.server.send("GET", &path, b"", Some(&expired));
    answer.assert_error(401, "expired");
    let time = answer.json()["time"].as_u64().unwrap();
    assert!(time.abs_diff(system_time()) < 5);
    let long = alice
        .sign(&target(id), system_time() + 3600)
        .unwrap()
        .to_header();
    w.server
        .send("GET", &path, b"", Some(&long))
        .assert_error(401, "expired");

    // Signed for another server, another path, another method.
    let elsewhere = alice
        .sign(&target(ServerId([9; 16])), system_time() + 30)
        .unwrap()
        .to_header();
    w.server
        .send("GET", &path, b"", Some(&elsewhere))
        .assert_error(401, "bad_signature");
    let other_path = format!(
        "/v1/collections/{}/operations?from=1",
        w.notes.id().to_text()
    );
    let header = w.server.authorization(&alice, "GET", &other_path, b"", 30);
    w.server
        .send("GET", &path, b"", Some(&header))
        .assert_error(401, "bad_signature");

    // An append whose body is not the one signed stores nothing.
    let before = w.stored();
    let mut alice_client = w.alice;
    let mut notes = w.notes;
    notes.rename(&mut alice_client, "Renamed", "").unwrap();
    let next = w.memory.fetch(&notes.id(), before.len() as u64).unwrap();
    let append = format!(
        "/v1/collections/{}/operations?seq={}",
        notes.id().to_text(),
        before.len()
    );
    let header = w
        .server
        .authorization(&alice, "POST", &append, b"another body", 30);
    w.server
        .send("POST", &append, &next[0], Some(&header))
        .assert_error(401, "bad_signature");
    let header = w.server.authorization(&alice, "GET", &append, &next[0], 30);
    w.server
        .send("POST", &append, &next[0], Some(&header))
        .assert_error(401, "bad_signature");
    assert_eq!(w.server.fetch(&notes.id(), 0), before, "nothing stored");
}

#[test]
fn only_readers_the_log_holds_fetch_a_log_or_a_blob() {
    let mut w = World::new();
    let id = w.notes.id();
    let path = w.log_path();
    let blob = b"sealed".to_vec();
    let hash = ciphertext_hash(&blob);
    assert_eq!(w.server.put(&blob_path(&id, &hash), &blob).status, 201);

    // A stranger with a published card reads neither log nor blobs, and
    // puts no blob.
    let mallory = Account::create("mallory", system_time()).unwrap();
    w.server.register(&mallory);
    let m = RequestSigner::for_account(&mallory);
    w.get_as(&m, &path).assert_error(403, "forbidden");
    w.get_as(&m, &blob_path(&id, &hash))
        .assert_error(403, "forbidden");
    let header = w
        .server
        .authorization(&m, "PUT", &blob_path(&id, &hash), &blob, 30);
    w.server
        .send("PUT", &blob_path(&id, &hash), &blob, Some(&header))
        .assert_error(403, "forbidden");
    // Mallory's account named bob (her key under his handle): the log
    // holds bob's key, not hers.
    let as_bob = Account::create("bob", system_time()).unwrap();
    w.get_as(&RequestSigner::for_account(&as_bob), &path)
        .assert_error(403, "forbidden");

    // Bob, a member, reads both; once removed, neither.
    let b = signer(&w.bob);
    assert_eq!(w.get_as(&b, &path).status, 200);
    assert_eq!(w.get_as(&b, &blob_path(&id, &hash)).body, blob);
    w.notes.remove(&mut w.alice, "bob").unwrap();
    w.push();
    w.get_as(&b, &path).assert_error(403, "forbidden");
    w.get_as(&b, &blob_path(&id, &hash))
        .assert_error(403, "forbidden");
    // Nor may he list alice's collections, or anyone's but his own.
    w.get_as(&b, "/v1/handles/alice/collections")
        .assert_error(403, "forbidden");
    assert_eq!(
        w.get_as(&b, "/v1/handles/bob/collections").json(),
        serde_json::json!([])
    );
}

#[test]
fn a_key_under_another_handle_is_not_that_handle() {
    let w = World::new();
    let path = w.log_path();
    let mallory = Account::create("mallory", system_time()).unwrap();
    w.server.register(&mallory);
    let m = RequestSigner::for_account(&mallory);
    // Mallory signs as herself, then rewrites the handle to bob's: the
    // signature covers the handle, so it no longer verifies.
    let header = w.server.authorization(&m, "GET", &path, b"", 30);
    let forged = header.replacen(
        &format!("v1.a.{}.", text(b"mallory")),
        &format!("v1.a.{}.", text(b"bob")),
        1,
    );
    assert_ne!(forged, header);
    w.server
        .send("GET", &path, b"", Some(&forged))
        .assert_error(401, "bad_signature");
}

fn text(bytes: &[u8]) -> String {
    sealshare::internal::wire::to_text(bytes)
}

#[test]
fn access_follows_the_key_in_the_log_not_the_card_directory() {
    let w = World::new();
    let path = w.log_path();
    // Bob replaces his card in the directory (signed by his published key).
    let new_bob = Account::create("bob", system_time()).unwrap();
    let card = new_bob.identity().to_bytes();
    let header = w
        .server
        .authorization(&signer(&w.bob), "PUT", "/v1/cards/bob", &card, 30);
    assert_eq!(
        w.server
            .send("PUT", "/v1/cards/bob", &card, Some(&header))
            .status,
        201
    );
    // The log still holds bob's old key: that one reads, the new one not
    // (until an admin shares again with the new card).
    assert_eq!(w.get_as(&signer(&w.bob), &path).status, 200);
    w.get_as(&RequestSigner::for_account(&new_bob), &path)
        .assert_error(403, "forbidden");
}

#[test]
fn an_invitee_by_handle_reads_with_the_published_key_only() {
    let mut w = World::new();
    let path = w.log_path();
    w.notes.invite(&mut w.alice, "carol", Role::Viewer).unwrap();
    w.push();
    let carol = Account::create("carol", system_time()).unwrap();
    let c = RequestSigner::for_account(&carol);
    // Before her card is published: no key to check against.
    w.get_as(&c, &path).assert_error(403, "forbidden");
    w.server.register(&carol);
    assert_eq!(w.get_as(&c, &path).status, 200);
    // Another key claiming carol's handle is not hers.
    let impostor = Account::create("carol", system_time()).unwrap();
    w.get_as(&RequestSigner::for_account(&impostor), &path)
        .assert_error(403, "forbidden");
}

#[test]
fn a_link_reads_its_collection_only_while_live_and_never_another() {
    let mut w = World::new();
    let id = w.notes.id();
    let path = w.log_path();
    let public = w
        .notes
        .create_public_link(&mut w.alice, BASE, &PublicLinkTerms::default())
        .unwrap();
    let invite = w
        .notes
        .create_invite_link(&mut w.alice, BASE, InviteTerms::default())
        .unwrap();
    w.push();
    let p = public.request_signer().unwrap();
    let i = invite.request_signer().unwrap();
    assert_eq!(w.get_as(&p, &path).status, 200);
    assert_eq!(w.get_as(&i, &path).status, 200);
    // A link's key reads nothing but its own collection.
    let other = format!(
        "/v1/collections/{}/operations?from=0",
        CollectionId([4; 16]).to_text()
    );
    w.get_as(&p, &other).assert_error(403, "forbidden");
    // ... and asks nothing an account asks.
    w.get_as(&p, "/v1/cards/alice")
        .assert_error(403, "forbidden");
    // Revoked: refused from the next request on.
    w.notes.revoke_link(&mut w.alice, public.link()).unwrap();
    w.push();
    w.get_as(&p, &path).assert_error(403, "forbidden");
    assert_eq!(w.get_as(&i, &path).status, 200);
    // Its blobs too, and only while live.
    let blob = b"sealed".to_vec();
    let hash = ciphertext_hash(&blob);
    assert_eq!(w.server.put(&blob_path(&id, &hash), &blob).status, 201);
    assert_eq!(w.get_as(&i, &blob_path(&id, &hash)).body, blob);
    w.get_as(&p, &blob_path(&id, &hash))
        .assert_error(403, "forbidden");
}

#[test]
fn a_link_expired_by_the_servers_clock_reads_nothing() {
    // Alice's clock runs an hour behind: her link, valid for ten minutes by
    // her clock, expired fifty minutes ago by the server's.
    let mut w = World::with_clock(3600);
    let path = w.log_path();
    let link = w
        .notes
        .create_public_link(
            &mut w.alice,
            BASE,
            &PublicLinkTerms {
                valid_for: 600,
                ..Default::default()
            },
        )
        .unwrap();
    w.push();
    w.get_as(&link.request_signer().unwrap(), &path)
        .assert_error(403, "forbidden");
}

#[test]
fn an_operation_is_appended_only_by_its_own_signer() {
    let mut w = World::new();
    let id = w.notes.id();
    let before = w.stored();
    w.notes.rename(&mut w.alice, "By alice", "").unwrap();
    let next = w.memory.fetch(&id, before.len() as u64).unwrap();
    let path = format!(
        "/v1/collections/{}/operations?seq={}",
        id.to_text(),
        before.len()
    );
    // Bob, a member, uploads alice's operation: refused, nothing stored.
    let header = w
        .server
        .authorization(&signer(&w.bob), "POST", &path, &next[0], 30);
    w.server
        .send("POST", &path, &next[0], Some(&header))
        .assert_error(403, "not_signer");
    // A link's key appends nothing.
    let link = w
        .notes
        .create_invite_link(&mut w.alice, BASE, InviteTerms::default())
        .unwrap();
    let header =
        w.server
            .authorization(&link.request_signer().unwrap(), "POST", &path, &next[0], 30);
    w.server
        .send("POST", &path, &next[0], Some(&header))
        .assert_error(403, "forbidden");
    assert_eq!(w.stored(), before);
    // Alice's own request stores it.
    w.push();
    assert_eq!(w.stored().len(), before.len() + 2);
}

#[test]
fn a_keystore_is_released_only_after_a_proof_and_registered_only_by_its_account() {
    let w = World::new();
    let start = "/v1/accounts/alice/signin/password/register/start";
    // Unsigned, or signed by another account: refused.
    w.server
        .send("POST", start, b"x", None)
        .assert_error(401, "unauthenticated");
    let header = w
        .server
        .authorization(&signer(&w.bob), "POST", start, b"x", 30);
    w.server
        .send("POST", start, b"x", Some(&header))
        .assert_error(403, "forbidden");
    // A login finish without a login started, or with garbage: no locker.
    let finish = "/v1/accounts/alice/signin/password/login/finish";
    w.server
        .send("POST", finish, &[0u8; 16], None)
        .assert_error(400, "malformed");
    w.server
        .send("POST", finish, b"short", None)
        .assert_error(400, "malformed");
    // A login started, then finished with a made-up proof: no locker; and
    // a login is finished at most once.
    let begin = sealshare_server::signin::login_request("a guess");
    let answer = w.server.send(
        "POST",
        "/v1/accounts/alice/signin/password/login/start",
        &begin,
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.message());
    let mut forged = answer.body[..16].to_vec();
    forged.extend_from_slice(&[7u8; 64]);
    w.server
        .send("POST", finish, &forged, None)
        .assert_error(401, "wrong_secret");
    w.server
        .send("POST", finish, &forged, None)
        .assert_error(401, "wrong_secret");
    // Only two kinds of secret.
    w.server
        .send(
            "POST",
            "/v1/accounts/alice/signin/pin/login/start",
            b"x",
            None,
        )
        .assert_error(404, "not_found");
}

#[test]
fn a_device_limit_holds_against_the_url_alone_and_forged_proofs() {
    let mut w = World::new();
    let id = w.notes.id();
    let blob = b"sealed".to_vec();
    let hash = ciphertext_hash(&blob);
    assert_eq!(w.server.put(&blob_path(&id, &hash), &blob).status, 201);
    let link = w
        .notes
        .create_public_link(
            &mut w.alice,
            BASE,
            &PublicLinkTerms {
                device_limit: 1,
                ..Default::default()
            },
        )
        .unwrap();
    w.push();
    let key = link.request_signer().unwrap();
    // The link's own key reads the log, not the content of a limited link.
    assert_eq!(w.get_as(&key, &w.log_path()).status, 200);
    w.get_as(&key, &blob_path(&id, &hash))
        .assert_error(403, "device_not_registered");
    // A device that cannot show the link's KEM secret is not registered.
    let path = format!(
        "/v1/collections/{}/links/{}/devices",
        id.to_text(),
        link.link().to_text()
    );
    let forged = [7u8; 32];
    let header = w.server.authorization(&key, "POST", &path, &forged, 30);
    w.server
        .send("POST", &path, &forged, Some(&header))
        .assert_error(403, "bad_device_proof");
    // An account is not a link's device.
    let header = w
        .server
        .authorization(&signer(&w.bob), "POST", &path, &forged, 30);
    w.server
        .send("POST", &path, &forged, Some(&header))
        .assert_error(403, "forbidden");
    w.get_as(&key, &blob_path(&id, &hash))
        .assert_error(403, "device_not_registered");
}

#[test]
fn a_member_without_a_key_or_demoted_loses_what_the_log_no_longer_grants() {
    let mut w = World::new();
    let id = w.notes.id();
    let blob = b"sealed".to_vec();
    let hash = ciphertext_hash(&blob);
    let put_as = |w: &World, signer: &RequestSigner| {
        let path = blob_path(&id, &hash);
        let header = w.server.authorization(signer, "PUT", &path, &blob, 30);
        w.server.send("PUT", &path, &blob, Some(&header))
    };
    let b = signer(&w.bob);
    // Bob was shared with but has not accepted: he reads the log, but
    // holds no key and writes no blob.
    assert_eq!(w.get_as(&b, &w.log_path()).status, 200);
    put_as(&w, &b).assert_error(403, "forbidden");
    // Accepted as an admin, he writes, and makes a public link.
    let mut bobs = Collection::open(&mut w.bob, id).unwrap();
    bobs.accept(&mut w.bob).unwrap();
    w.notes.sync(&mut w.alice).unwrap();
    w.notes
        .change_role(&mut w.alice, "bob", Role::Admin)
        .unwrap();
    bobs.sync(&mut w.bob).unwrap();
    let link = bobs
        .create_public_link(&mut w.bob, BASE, &PublicLinkTerms::default())
        .unwrap();
    w.push();
    assert_eq!(put_as(&w, &b).status, 201);
    let l = link.request_signer().unwrap();
    assert_eq!(w.get_as(&l, &w.log_path()).status, 200);
    // Demoted to viewer: no more blobs, and the link he made lapses.
    w.notes.sync(&mut w.alice).unwrap();
    w.notes
        .change_role(&mut w.alice, "bob", Role::Viewer)
        .unwrap();
    w.push();
    let other = b"another".to_vec();
    let other_hash = ciphertext_hash(&other);
    let path = blob_path(&id, &other_hash);
    let header = w.server.authorization(&b, "PUT", &path, &other, 30);
    w.server
        .send("PUT", &path, &other, Some(&header))
        .assert_error(403, "forbidden");
    w.get_as(&l, &w.log_path()).assert_error(403, "forbidden");
}
