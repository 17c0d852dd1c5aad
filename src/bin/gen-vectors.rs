//! Generates the frozen test vectors in `tests/vectors/sealshare_v1.json` from a
//! fixed seed, so a second implementation can check itself against them and every
//! future version of this library must still open them.
//!
//! Run: `cargo run --features test-vectors --bin gen-vectors` (writes the file) or
//! with `-- --check` (fails if the committed file differs from what it generates).
//! The `test-vectors` feature makes randomness seeded: never enable it in an app.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use sealshare::collection::Clock;
use sealshare::crypto::aead::SealedBox;
use sealshare::crypto::kdf;
use sealshare::crypto::password::Argon2Params;
use sealshare::crypto::random::seeded::with_seed;
use sealshare::crypto::secret::SecretKey;
use sealshare::crypto::sign::{Domain, SigningKey};
use sealshare::crypto::stream::{self, ContentDigest, ContentKey};
use sealshare::crypto::wrap::{WrapContext, WrappedSecret};
use sealshare::crypto::x25519::KemPublicKey;
use sealshare::log::link::{LinkKeys, LinkKind, LinkTerms, PasswordLock, PublicScope};
use sealshare::log::op::{JOIN_PROOF_DOMAIN, join_proof_message};
use sealshare::log::{Body, ItemHeader, LinkId, Rotation, Standing};
use sealshare::wire::to_text;

use sealshare::{
    Account, Client, Collection, CollectionId, Identity, InviteTerms, ItemId, ItemKind, Keystore,
    LinkUrl, LogState, MemoryRemote, Operation, PublicLinkTerms, PublicScopeChoice, PublicView,
    Remote, Role, TrustStore, Violation,
};

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

/// Where the links of the vectors point (any base works: the fragment is the link).
const BASE: &str = "https://share.example/l";
/// The clock of the every-operation log starts here and ticks 10 s per step.
const T0: u64 = NOW + 1_000;
/// Argon2id parameters for the link password: the smallest the bounds admit,
/// far within the link-password ceiling (the Moderate profile).
const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 19 * 1024,
    passes: 2,
    lanes: 1,
};
/// The link password: a precomposed "à" (U+00E0), hashed as its UTF-8 bytes.
const LINK_PASSWORD: &str = "sauce tomate \u{e0} l'ail";

/// The accounts of the every-operation log, each made from its own seed.
struct People {
    alice: Account,
    bob: Account,
    carol: Account,
    frank: Account,
    grace: Account,
    ivan: Account,
    mallory: Account,
}

fn person(name: &str, created_at: u64) -> sealshare::Result<Account> {
    with_seed(format!("sealshare v1 vectors: {name}").as_bytes(), || {
        Account::create(&format!("{name}@example.com"), created_at)
    })
}

fn copy(a: &Account) -> sealshare::Result<Account> {
    Account::from_secret_bytes(a.to_secret_bytes().expose())
}

impl People {
    fn new(alice: &Account, bob: &Account) -> sealshare::Result<Self> {
        Ok(Self {
            alice: copy(alice)?,
            bob: copy(bob)?,
            carol: person("carol", NOW + 120)?,
            frank: person("frank", NOW + 180)?,
            grace: person("grace", NOW + 240)?,
            ivan: person("ivan", NOW + 300)?,
            mallory: person("mallory", NOW + 360)?,
        })
    }

    fn all(&self) -> [&Account; 7] {
        [
            &self.alice,
            &self.bob,
            &self.carol,
            &self.frank,
            &self.grace,
            &self.ivan,
            &self.mallory,
        ]
    }
}

fn clock_of(clock: &Arc<AtomicU64>) -> Clock {
    let clock = clock.clone();
    Box::new(move || clock.load(Ordering::SeqCst))
}

fn invalid(msg: impl Into<String>) -> sealshare::Error {
    sealshare::Error::InvalidArgument(msg.into())
}

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
fn kind_of(e: &sealshare::Error) -> Value {
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
fn describe_state(state: &LogState, time: u64) -> Value {
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
fn read_items(coll: &Collection, client: &Client) -> sealshare::Result<Value> {
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
fn read_view(view: &PublicView) -> sealshare::Result<Value> {
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

/// `"sealshare/v1/" || label || 00 || collection || parts` (SPEC.md §Keys).
fn aad(label: &str, id: &CollectionId, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("sealshare/v1/{label}\0").into_bytes();
    out.extend_from_slice(&id.0);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

fn epoch_ctx<'a>(id: &'a CollectionId, epoch: u64, recipient: &'a [u8; 32]) -> WrapContext<'a> {
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
fn hand_rotation(
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

/// The operations of a collection, fetched from its server.
fn log_of(remote: &dyn Remote, id: &CollectionId) -> sealshare::Result<Vec<Vec<u8>>> {
    remote.fetch(id, 0)
}

/// Every content blob the log's items name, by ciphertext hash.
fn blobs_of(
    remote: &dyn Remote,
    id: &CollectionId,
    ops: &[Vec<u8>],
) -> sealshare::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for bytes in ops {
        if let Body::PutItem(h) = Operation::from_bytes(bytes)?.body()
            && let Some(d) = &h.content
        {
            out.insert(
                hex(&d.ciphertext_hash),
                hex(&remote.get_blob(id, &d.ciphertext_hash)?),
            );
        }
    }
    Ok(out)
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

/// One refused operation: signed for position `prefix` of the log (or given as
/// bytes), refused with exactly `expect` by a verifier that verified the
/// first `prefix` operations, with clock `now`. Checked here, so the generator
/// fails rather than write a refusal the library does not make.
struct Refusals<'a> {
    id: CollectionId,
    ops: &'a [Vec<u8>],
    now: u64,
    out: Vec<Value>,
}

impl Refusals<'_> {
    fn state_at(&self, prefix: u64) -> sealshare::Result<LogState> {
        let mut state = LogState::empty(self.id);
        let ops = self
            .ops
            .get(..prefix as usize)
            .ok_or_else(|| invalid("prefix beyond the log"))?;
        state.extend_from_bytes(ops, self.now)?;
        Ok(state)
    }

    /// `body` signed by `who` at the next position after `prefix`, at `time`
    /// (the previous operation's time when `None`).
    fn signed(
        &self,
        prefix: u64,
        who: &Account,
        time: Option<u64>,
        body: Body,
    ) -> sealshare::Result<Vec<u8>> {
        let state = self.state_at(prefix)?;
        let time = time.unwrap_or(state.last_time());
        Ok(who
            .sign_operation(self.id, prefix, state.head(), time, body)?
            .to_bytes()
            .to_vec())
    }

    /// [`Refusals::refuse`] of `body` signed by `who` at `prefix`, which the
    /// rules refuse with `violation`.
    #[allow(clippy::too_many_arguments)]
    fn refuse_signed(
        &mut self,
        what: &str,
        prefix: u64,
        who: &Account,
        time: Option<u64>,
        body: Body,
        now: u64,
        violation: &str,
    ) -> sealshare::Result<()> {
        let bytes = self.signed(prefix, who, time, body)?;
        self.refuse(what, prefix, bytes, now, refused_op(prefix, violation))
    }

    fn refuse(
        &mut self,
        what: &str,
        prefix: u64,
        bytes: Vec<u8>,
        now: u64,
        expect: Value,
    ) -> sealshare::Result<()> {
        let mut state = self.state_at(prefix)?;
        let got = match state.extend_from_bytes(&[&bytes], now) {
            Ok(()) => return Err(invalid(format!("refusal {what:?} was accepted"))),
            Err(e) => kind_of(&e.into()),
        };
        if got != expect || state.len() != prefix {
            return Err(invalid(format!(
                "refusal {what:?}: expected {expect}, the library says {got}"
            )));
        }
        self.out.push(json!({
            "what": what,
            "prefix": prefix,
            "operation": hex(&bytes),
            "now": now,
            "expect": expect,
        }));
        Ok(())
    }
}

fn refused_op(seq: u64, violation: &str) -> Value {
    json!({ "error": "invalid_operation", "seq": seq, "violation": violation })
}

fn malformed_op(seq: u64, decode: &str) -> Value {
    json!({ "error": "invalid_operation", "seq": seq, "violation": "Malformed", "decode": decode })
}

/// A sealed box that no verifier opens (only its shape matters to one).
fn dummy_box() -> sealshare::Result<SealedBox> {
    Ok(SealedBox::seal(
        &SecretKey::from_bytes([7; 32]),
        b"refused",
        b"",
    )?)
}

fn dummy_header(item: ItemId, version: u32, epoch: u64, file: bool) -> sealshare::Result<Body> {
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
fn dummy_rotation(
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
    let payload = sealshare::wire::from_text(fragment, "link", 98)?;
    payload
        .get(34..66)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| invalid("link payload"))
}

/// A join through `url` signed by `who`, its proof made with the link's key
/// (or, when `forge`, with another key).
fn hand_join(
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
fn hand_card(
    who: &Account,
    signing_pk: &[u8; 32],
    kem_pk: &[u8; 32],
    signature: Option<[u8; 64]>,
) -> Vec<u8> {
    let mut w = sealshare::wire::Writer::new(sealshare::wire::Kind::IdentityCard);
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
const SMALL_ORDER_KEM: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 1;
    k
};

/// One collection whose log holds every body tag of SPEC.md §Operation, built
/// through the public API on one rayon thread from one seed (ids, keys, nonces,
/// HPKE ephemeral keys), with the state a reader must derive at two points, what
/// each public link shows, the last member's checkpoint, and operations every
/// verifier must refuse.
fn every_operation(p: &People) -> sealshare::Result<Value> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    pool.install(|| with_seed(b"sealshare v1 vectors: every operation", || build_every(p)))
}

#[allow(clippy::too_many_lines)]
fn build_every(p: &People) -> sealshare::Result<Value> {
    let clock = Arc::new(AtomicU64::new(T0));
    let remote: Arc<dyn Remote> = Arc::new(MemoryRemote::with_clock(clock_of(&clock)));
    let client = |a: &Account| -> sealshare::Result<Client> {
        Ok(Client::with_clock(
            copy(a)?,
            remote.clone(),
            clock_of(&clock),
        ))
    };
    let tick = || clock.fetch_add(10, Ordering::SeqCst);
    let (mut a, mut b, mut c) = (client(&p.alice)?, client(&p.bob)?, client(&p.carol)?);
    let (mut f, mut g, mut i) = (client(&p.frank)?, client(&p.grace)?, client(&p.ivan)?);
    let mut marks: BTreeMap<&str, u64> = BTreeMap::new();

    let mut ca = Collection::create(&mut a, "Garden", "vegetables and plans")?;
    let id = ca.id();
    let at = |ca: &Collection| ca.state().len();
    tick();
    let plans = ca.add_folder(&mut a, None, "Plans")?;
    tick();
    let beds = ca.add_file(
        &mut a,
        Some(plans),
        "beds.txt",
        "text/plain",
        b"beds: 4 x 1.2 m",
    )?;
    tick();
    ca.share_many(
        &mut a,
        &[
            (p.bob.identity().clone(), Role::Editor),
            (p.carol.identity().clone(), Role::Collaborator),
        ],
    )?;
    marks.insert("shared", at(&ca));
    tick();
    let mut cb = Collection::open(&mut b, id)?;
    cb.accept(&mut b)?;
    tick();
    let mut cc = Collection::open(&mut c, id)?;
    cc.accept(&mut c)?;
    marks.insert("accepted", at(&cc));
    tick();
    ca.sync(&mut a)?;
    ca.rename(&mut a, "Garden 2026", "vegetables, plans and seeds")?;
    tick();
    cb.sync(&mut b)?;
    cb.update_file(&mut b, beds, None, b"beds: 5 x 1.2 m")?;
    tick();
    cc.sync(&mut c)?;
    let seeds = cc.add_file(
        &mut c,
        None,
        "seeds.txt",
        "text/plain",
        b"leek, kale, chard",
    )?;
    marks.insert("carol_added", at(&cc));
    tick();
    ca.sync(&mut a)?;
    ca.move_item(&mut a, beds, None)?;
    tick();
    cc.sync(&mut c)?;
    cc.trash(&mut c, seeds)?;
    tick();
    cc.restore(&mut c, seeds)?;
    tick();
    ca.sync(&mut a)?;
    ca.trash(&mut a, seeds)?;
    tick();
    ca.purge(&mut a, seeds)?;
    marks.insert("purged", at(&ca));
    tick();
    ca.change_role(&mut a, "carol@example.com", Role::Viewer)?;
    marks.insert("carol_viewer", at(&ca));
    tick();
    ca.invite(&mut a, "grace@example.com", Role::Viewer)?;
    tick();
    ca.complete_invitation(&mut a, p.grace.identity())?;
    marks.insert("grace_pending", at(&ca));
    tick();
    ca.change_role(&mut a, "grace@example.com", Role::Collaborator)?;
    tick();
    let mut cg = Collection::open(&mut g, id)?;
    cg.leave(&mut g)?;
    marks.insert("stale", at(&cg));
    tick();
    cb.sync(&mut b)?;
    cb.rotate(&mut b)?;
    marks.insert("epoch_1", at(&cb));
    tick();
    ca.sync(&mut a)?;
    ca.invite(&mut a, "heidi@example.com", Role::Viewer)?;
    tick();
    ca.cancel_invitation(&mut a, "heidi@example.com")?;
    tick();
    let invite = ca.create_invite_link(
        &mut a,
        BASE,
        InviteTerms {
            role: Role::Viewer,
            valid_for: 86_400,
            max_uses: 5,
            approval: false,
        },
    )?;
    tick();
    let cf = Collection::join(&mut f, &invite)?;
    marks.insert("frank_joined", at(&cf));
    tick();
    ca.sync(&mut a)?;
    let approval = ca.create_invite_link(
        &mut a,
        BASE,
        InviteTerms {
            role: Role::Collaborator,
            valid_for: 86_400,
            max_uses: 0,
            approval: true,
        },
    )?;
    tick();
    let ci = Collection::join(&mut i, &approval)?;
    marks.insert("ivan_waits", at(&ci));
    tick();
    ca.sync(&mut a)?;
    ca.approve(&mut a, "ivan@example.com")?;
    tick();
    let public = |scope| PublicLinkTerms {
        scope,
        valid_for: 86_400,
        ..PublicLinkTerms::default()
    };
    let chosen = ca.create_public_link(
        &mut a,
        BASE,
        &public(PublicScopeChoice::Items(vec![beds, plans])),
    )?;
    tick();
    ca.trash(&mut a, plans)?;
    tick();
    let live = ca.create_public_link(&mut a, BASE, &public(PublicScopeChoice::Live))?;
    tick();
    // One item not in the trash: the library writes a snapshot's item keys in
    // the order of its item map, which is not reproducible from a seed.
    let snapshot = ca.create_public_link(&mut a, BASE, &public(PublicScopeChoice::Snapshot))?;
    tick();
    let guarded = ca.create_public_link(
        &mut a,
        BASE,
        &PublicLinkTerms {
            password: Some(LINK_PASSWORD.into()),
            password_params: CHEAP,
            ..public(PublicScopeChoice::Live)
        },
    )?;
    tick();
    cb.sync(&mut b)?;
    cb.update_file(
        &mut b,
        beds,
        Some("beds-2026.txt"),
        b"beds: 6 x 1.2 m, paths 60 cm",
    )?;
    marks.insert("links_open", at(&cb));
    let links_open_time = clock.load(Ordering::SeqCst);
    tick();
    ca.sync(&mut a)?;
    ca.revoke_link(&mut a, chosen.link())?;
    marks.insert("chosen_revoked", at(&ca));
    tick();
    ca.revoke_link(&mut a, live.link())?;
    tick();
    cb.sync(&mut b)?;
    let time = clock.load(Ordering::SeqCst).max(cb.state().last_time());
    let rotation = hand_rotation(cb.state(), &p.bob, time, Some("alice@example.com"))?;
    let op = p.bob.sign_operation(
        id,
        cb.state().len(),
        cb.state().head(),
        time,
        Body::Rotate { rotation },
    )?;
    remote.append(&id, op.seq(), op.to_bytes())?;
    ca.sync(&mut a)?;
    marks.insert("bad_epoch", at(&ca));
    let bad_epochs: Vec<Value> = ca
        .bad_epochs()
        .iter()
        .map(|e| json!({ "epoch": e.epoch, "signer": e.signer, "problem": e.problem }))
        .collect();
    tick();
    ca.rotate(&mut a)?;
    marks.insert("recovered", at(&ca));
    let bad_after: Vec<u64> = ca.bad_epochs().iter().map(|e| e.epoch).collect();
    tick();
    ca.remove(&mut a, "bob@example.com")?;
    tick();
    ca.transfer_ownership(&mut a, "carol@example.com")?;
    tick();
    cc.sync(&mut c)?;
    cc.unshare(&mut c)?;
    let end_time = clock.load(Ordering::SeqCst);

    let ops = log_of(remote.as_ref(), &id)?;
    let blobs = blobs_of(remote.as_ref(), &id, &ops)?;
    let kinds = ops
        .iter()
        .map(|o| Ok(Operation::from_bytes(o)?.body().name()))
        .collect::<sealshare::Result<Vec<_>>>()?;

    // The state at the point where every link is open, and what alice reads.
    let open_at = marks.get("links_open").copied().unwrap_or_default();
    let prefix = ops.get(..open_at as usize).unwrap_or_default();
    let server = server_with(&id, prefix, &blobs, links_open_time)?;
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
        ("live", &live, None),
        ("snapshot", &snapshot, None),
        ("items", &chosen, None),
        ("live with password", &guarded, Some(LINK_PASSWORD)),
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

    // The end: only carol is left, as owner; her checkpoint.
    let final_state = {
        let mut s = LogState::empty(id);
        s.extend_from_bytes(&ops, end_time)?;
        s
    };
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
    let server = server_with(&id, &ops, &blobs, end_time)?;
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

    // Operations every verifier refuses, each at a point of this log.
    let mut r = Refusals {
        id,
        ops: &ops,
        now: end_time,
        out: Vec::new(),
    };
    let m = |name: &str| marks.get(name).copied().unwrap_or_default();
    refusals_of_log(&mut r, p, &m, &invite, &chosen, seeds, beds)?;

    Ok(json!({
        "about": "one collection whose log holds every body tag of SPEC.md's Operation table, \
                  built through the public API from seeds; every account's secrets are under \
                  accounts; blobs are the content streams by ciphertext hash; marks name \
                  positions (a prefix length) of the log; refusals are operations a verifier \
                  that verified the first `prefix` operations with clock `now` must refuse with \
                  exactly `expect` (Error::code(), the Violation variant, the DecodeError variant)",
        "collection": hex(&id.0),
        "accounts": p.all().iter().map(|a| (a.handle().to_owned(), json!(hex(a.to_secret_bytes().expose())))).collect::<serde_json::Map<_, _>>(),
        "operations": ops.iter().map(|o| hex(o)).collect::<Vec<_>>(),
        "kinds": kinds,
        "blobs": blobs,
        "marks": marks,
        "at_links_open": at_links_open,
        "public_links": links,
        "bad_epochs_at_bad_epoch": bad_epochs,
        "bad_epochs_after_recovery": bad_after,
        "end": json!({
            "time": end_time,
            "state": describe_state(&final_state, end_time),
        }),
        "checkpoint": checkpoint,
        "refusals": r.out,
    }))
}

/// The refusals at points of the every-operation log (see [`Refusals`]).
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn refusals_of_log(
    r: &mut Refusals<'_>,
    p: &People,
    m: &dyn Fn(&str) -> u64,
    invite: &LinkUrl,
    chosen: &LinkUrl,
    seeds: ItemId,
    beds: ItemId,
) -> sealshare::Result<()> {
    let now = r.now;
    let id = r.id;
    let op_at = |seq: u64| -> sealshare::Result<Vec<u8>> {
        r.ops
            .get(seq as usize)
            .cloned()
            .ok_or_else(|| invalid("no such operation"))
    };

    // Decoding, in reading order.
    let at = m("accepted") - 1;
    let mut bytes = op_at(at)?;
    bytes.push(0);
    r.refuse(
        "an operation with one trailing byte",
        at,
        bytes,
        now,
        malformed_op(at, "TrailingBytes"),
    )?;
    let at = m("shared");
    let mut bytes = op_at(at)?;
    // Bob's accept: its body tag follows the header, the author and the time.
    let tag_at = 2 + 16 + 8 + 32 + 4 + p.bob.handle().len() + 8;
    if let Some(b) = bytes.get_mut(tag_at) {
        *b = 0x7f;
    }
    bytes.push(0);
    r.refuse(
        "an unknown body tag and a trailing byte: the tag comes first",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;
    let at = m("epoch_1");
    let bytes = r.signed(
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1, 0], &[&p.alice, &p.bob, &p.carol])?,
        },
    )?;
    r.refuse(
        "a rotation whose previous-key epochs are not ascending",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;
    r.refuse_signed(
        "a rotation that leaves a key-holding member (carol) out",
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1], &[&p.alice, &p.bob])?,
        },
        now,
        "RotationRecipients",
    )?;
    let weak = hand_card(
        &p.mallory,
        &p.mallory.identity().signing_key().to_bytes(),
        &SMALL_ORDER_KEM,
        None,
    );
    let card = Identity::from_bytes(&hand_card(
        &p.mallory,
        &p.mallory.identity().signing_key().to_bytes(),
        &p.mallory.identity().kem_key().to_bytes(),
        None,
    ))?;
    // A share naming the weak card: swap the honest card's bytes for it.
    let at = m("accepted");
    let honest = r.signed(
        at,
        &p.alice,
        None,
        Body::Share {
            epoch: 0,
            grants: vec![sealshare::log::Grant {
                card: card.clone(),
                role: Role::Viewer,
                wrap: WrappedSecret::wrap_key(
                    card.kem_key(),
                    &epoch_ctx(&id, 0, &card.fingerprint().to_bytes()),
                    &SecretKey::from_bytes([4; 32]),
                )?,
            }],
        },
    )?;
    let card_bytes = card.to_bytes();
    let pos = honest
        .windows(card_bytes.len())
        .position(|w| w == card_bytes.as_slice())
        .ok_or_else(|| invalid("card not found in the share"))?;
    let mut bytes = honest;
    bytes.splice(pos..pos + card_bytes.len(), weak.iter().copied());
    r.refuse(
        "a share whose card has a KEM key of small order",
        at,
        bytes,
        now,
        malformed_op(at, "Invalid"),
    )?;

    // Signer, chain, time.
    let at = m("accepted") + 1;
    let mut bytes = op_at(at)?;
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    r.refuse(
        "an operation whose signature has one bit flipped",
        at,
        bytes,
        now,
        refused_op(at, "BadSignature"),
    )?;
    let rename = |epoch| -> sealshare::Result<Body> {
        Ok(Body::Rename {
            epoch,
            info: dummy_box()?,
        })
    };
    let state = r.state_at(at)?;
    let bytes = p
        .alice
        .sign_operation(id, at, [0; 32], state.last_time(), rename(0)?)?
        .to_bytes()
        .to_vec();
    r.refuse(
        "an operation that does not chain onto the previous one",
        at,
        bytes,
        now,
        refused_op(at, "BrokenChain"),
    )?;
    let bytes = r.signed(
        at,
        &p.alice,
        Some(state.last_time() + 1_000_000),
        rename(0)?,
    )?;
    r.refuse(
        "an operation claiming a time more than 300 s after the verifier's clock",
        at,
        bytes,
        state.last_time() + 1_000,
        json!({ "error": "not_yet_valid", "seq": at }),
    )?;
    r.refuse_signed(
        "an accept signed by someone never added",
        at,
        &p.mallory,
        None,
        Body::Accept,
        now,
        "NotAMember",
    )?;

    // Standing and role (the authority table), decided before anything else.
    let at = m("shared");
    r.refuse_signed(
        "the owner leaving",
        at,
        &p.alice,
        None,
        Body::Leave,
        now,
        "OwnerCannotLeave",
    )?;
    let at = m("carol_added");
    r.refuse_signed(
        "a collaborator trashing another member's item",
        at,
        &p.carol,
        None,
        Body::Trash { item: beds },
        now,
        "RoleTooLow",
    )?;
    let at = m("carol_viewer");
    let bytes = r.signed(
        at,
        &p.carol,
        None,
        dummy_header(ItemId([0x11; 16]), 1, 0, false)?,
    )?;
    r.refuse(
        "a viewer adding a folder (needs collaborator)",
        at,
        bytes,
        now,
        refused_op(at, "RoleTooLow"),
    )?;
    let at = m("grace_pending");
    r.refuse_signed(
        "a pending member (added, not accepted) renaming",
        at,
        &p.grace,
        None,
        rename(0)?,
        now,
        "NotAccepted",
    )?;
    let at = m("ivan_waits");
    r.refuse_signed(
        "a rotation by a member awaiting approval",
        at,
        &p.ivan,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[1], &[&p.ivan])?,
        },
        now,
        "AwaitsApproval",
    )?;
    let at = m("epoch_1");
    r.refuse_signed(
        "a recovery (its box is not for epoch - 1) by an editor",
        at,
        &p.bob,
        None,
        Body::Rotate {
            rotation: dummy_rotation(2, &[0], &[&p.alice, &p.bob, &p.carol])?,
        },
        now,
        "RoleTooLow",
    )?;
    let at = m("frank_joined");
    r.refuse_signed(
        "a join by a member",
        at,
        &p.frank,
        None,
        hand_join(&id, invite, &p.frank, Role::Viewer, false)?,
        now,
        "AlreadyMember",
    )?;

    // Consistency with the state.
    let at = m("purged");
    r.refuse_signed(
        "a put item naming a purged id",
        at,
        &p.alice,
        None,
        dummy_header(seeds, 1, 0, true)?,
        now,
        "ItemPurged",
    )?;
    r.refuse_signed(
        "a change of role to owner",
        at,
        &p.alice,
        None,
        Body::ChangeRole {
            member: "bob@example.com".into(),
            role: Role::Owner,
        },
        now,
        "OwnerOnlyByTransfer",
    )?;
    let at = m("stale");
    r.refuse_signed(
        "a rename after a member left, before a rotation",
        at,
        &p.alice,
        None,
        rename(0)?,
        now,
        "RotationRequired",
    )?;
    let at = m("epoch_1");
    r.refuse_signed(
        "a rename under the previous epoch",
        at,
        &p.alice,
        None,
        rename(0)?,
        now,
        "WrongEpoch",
    )?;
    let at = m("frank_joined");
    let state = r.state_at(at)?;
    let expires = state
        .links()
        .get(&invite.link())
        .map(|l| l.terms.expires_at)
        .unwrap_or_default();
    let bytes = r.signed(
        at,
        &p.mallory,
        Some(expires + 1),
        hand_join(&id, invite, &p.mallory, Role::Viewer, false)?,
    )?;
    r.refuse(
        "a join one second after the link expired",
        at,
        bytes,
        expires + 1_000,
        refused_op(at, "LinkExpired"),
    )?;
    r.refuse_signed(
        "a join whose proof is not made with the link's key",
        at,
        &p.mallory,
        None,
        hand_join(&id, invite, &p.mallory, Role::Viewer, true)?,
        now,
        "BadJoinProof",
    )?;
    r.refuse_signed(
        "a join claiming another role than its link grants",
        at,
        &p.mallory,
        None,
        hand_join(&id, invite, &p.mallory, Role::Editor, false)?,
        now,
        "WrongLinkRole",
    )?;
    let at = m("ivan_waits");
    r.refuse_signed(
        "a transfer of ownership to a member awaiting approval",
        at,
        &p.alice,
        None,
        Body::Transfer {
            to: "ivan@example.com".into(),
        },
        now,
        "AwaitsApproval",
    )?;
    let at = m("links_open");
    let state = r.state_at(at)?;
    let terms = LinkTerms {
        link: LinkId([0x22; 16]),
        kind: LinkKind::Public {
            scope: PublicScope::Items,
            device_limit: 0,
            download: true,
        },
        expires_at: state.last_time() + 60,
        password: Some(PasswordLock {
            params: Argon2Params {
                memory_kib: 512 * 1024,
                passes: 2,
                lanes: 1,
            },
            salt: [6; 16],
        }),
        verifying_key: p.alice.identity().signing_key().to_bytes(),
        kem_key: p.alice.identity().kem_key().to_bytes(),
        keys: LinkKeys::Items {
            sealed: dummy_box()?,
        },
    };
    r.refuse_signed(
        "a public link whose password parameters exceed the link ceiling (512 MiB)",
        at,
        &p.alice,
        None,
        Body::CreateLink(Box::new(terms)),
        now,
        "LinkTerms",
    )?;
    let at = m("chosen_revoked");
    r.refuse_signed(
        "revoking a link already revoked",
        at,
        &p.alice,
        None,
        Body::RevokeLinks {
            links: vec![chosen.link()],
            rotation: None,
        },
        now,
        "LinkRevoked",
    )?;
    Ok(())
}

/// Objects that must not decode, each with the error a decoder gives: the first
/// fault in reading order.
fn decode_refusals(p: &People, keystore: &Value, content: &Value) -> sealshare::Result<Value> {
    with_seed(b"sealshare v1 vectors: decode refusals", || {
        let mut out = Vec::new();
        let mut add =
            |object: &str, what: &str, bytes: Vec<u8>, got: sealshare::Error, expect: Value| {
                let got = kind_of(&got);
                if got != expect {
                    return Err(invalid(format!(
                        "{what:?}: expected {expect}, the library says {got}"
                    )));
                }
                out.push(
                json!({ "object": object, "what": what, "bytes": hex(&bytes), "expect": expect }),
            );
                Ok(())
            };
        let card_err = |bytes: &[u8]| match Identity::from_bytes(bytes) {
            Ok(_) => invalid("card accepted"),
            Err(e) => e.into(),
        };
        let weak = json!({ "error": "weak_key" });
        let bad_sig = json!({ "error": "bad_signature" });
        let malformed = |d: &str| json!({ "error": "malformed_input", "decode": d });
        let who = &p.mallory;
        let pk = who.identity().signing_key().to_bytes();
        let kem = who.identity().kem_key().to_bytes();

        let card = hand_card(who, &pk, &SMALL_ORDER_KEM, None);
        add(
            "identity_card",
            "a KEM key of small order",
            card.clone(),
            card_err(&card),
            weak.clone(),
        )?;
        let mut long = card.clone();
        long.push(0);
        add(
            "identity_card",
            "a KEM key of small order and a trailing byte: the key is read first",
            long.clone(),
            card_err(&long),
            weak.clone(),
        )?;
        // y = p + 1: a non-canonical encoding (of a point of small order).
        let mut noncanonical = [0xffu8; 32];
        noncanonical[0] = 0xee;
        noncanonical[31] = 0x7f;
        let card = hand_card(who, &noncanonical, &kem, None);
        add(
            "identity_card",
            "a non-canonical signing key",
            card.clone(),
            card_err(&card),
            weak.clone(),
        )?;
        let torsion = curve25519_dalek::edwards::CompressedEdwardsY(pk)
            .decompress()
            .zip(curve25519_dalek::constants::EIGHT_TORSION.get(1))
            .map(|(a, t)| (a + t).compress().to_bytes())
            .ok_or_else(|| invalid("torsion point"))?;
        let card = hand_card(who, &torsion, &kem, None);
        add(
            "identity_card",
            "a signing key with a torsion component (the honest key plus a point of order 8)",
            card.clone(),
            card_err(&card),
            weak.clone(),
        )?;
        let mut identity_r = [0u8; 64];
        identity_r[0] = 1;
        let card = hand_card(who, &pk, &kem, Some(identity_r));
        add(
            "identity_card",
            "a self-signature whose R is of small order (the identity) and s = 0",
            card.clone(),
            card_err(&card),
            bad_sig.clone(),
        )?;
        // s + ℓ: the same signature with a non-canonical s.
        let honest = hand_card(who, &pk, &kem, None);
        let mut sig: [u8; 64] = honest
            .get(honest.len() - 64..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| invalid("signature"))?;
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let ell: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, l) in sig.iter_mut().skip(32).zip(ell) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        let card = hand_card(who, &pk, &kem, Some(sig));
        add(
            "identity_card",
            "a self-signature with s + l in place of s (not canonical)",
            card.clone(),
            card_err(&card),
            bad_sig.clone(),
        )?;
        let mut card = honest.clone();
        card.push(0);
        add(
            "identity_card",
            "a trailing byte",
            card.clone(),
            card_err(&card),
            malformed("TrailingBytes"),
        )?;
        let mut card = honest.clone();
        card.extend_from_slice(&[0; 300]);
        add(
            "identity_card",
            "longer than 398 bytes: the whole card's bound comes first",
            card.clone(),
            card_err(&card),
            malformed("TooLong"),
        )?;

        let sealed = SealedBox::seal(&SecretKey::from_bytes([8; 32]), b"x", b"")?.to_bytes();
        let box_err = |bytes: &[u8]| match SealedBox::from_bytes(bytes) {
            Ok(_) => invalid("box accepted"),
            Err(e) => e.into(),
        };
        let mut short = sealed.get(..26).unwrap_or_default().to_vec();
        short.extend_from_slice(&15u32.to_be_bytes());
        short.extend_from_slice(&[0; 15]);
        add(
            "sealed_box",
            "a ciphertext of 15 bytes, below the 16-byte tag",
            short.clone(),
            box_err(&short),
            malformed("Truncated"),
        )?;
        let mut huge = sealed.get(..26).unwrap_or_default().to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 3]);
        add(
            "sealed_box",
            "a length over the bound in an input that also ends early: too long first",
            huge.clone(),
            box_err(&huge),
            malformed("TooLong"),
        )?;

        let key = ContentKey::from_bytes(
            unhex(content["key"].as_str().unwrap_or_default())?
                .try_into()
                .map_err(|_| invalid("content key"))?,
        );
        let stream_bytes = unhex(content["ciphertext"].as_str().unwrap_or_default())?;
        let digest = ContentDigest {
            ciphertext_hash: unhex(content["ciphertext_hash"].as_str().unwrap_or_default())?
                .try_into()
                .map_err(|_| invalid("hash"))?,
            key_commitment: unhex(content["key_commitment"].as_str().unwrap_or_default())?
                .try_into()
                .map_err(|_| invalid("commitment"))?,
            ciphertext_len: content["ciphertext_len"].as_u64().unwrap_or_default(),
        };
        let open_err = |bytes: &[u8]| match stream::open(&key, bytes, &digest) {
            Ok(_) => invalid("stream accepted"),
            Err(e) => e.into(),
        };
        let mut bad = stream_bytes.clone();
        if let Some(size) = bad.get_mut(2..6) {
            size.copy_from_slice(&4095u32.to_be_bytes());
        }
        add(
            "content_stream",
            "the content vector with chunk size 4095 (below 4096), opened with its key and digest",
            bad.clone(),
            open_err(&bad),
            malformed("Invalid"),
        )?;
        let short = bad.get(..10).unwrap_or_default().to_vec();
        add(
            "content_stream",
            "its first 10 bytes: the header is read whole before the chunk size is judged",
            short.clone(),
            open_err(&short),
            malformed("Truncated"),
        )?;

        let ks = unhex(keystore["keystore"].as_str().unwrap_or_default())?;
        let ks_err = |bytes: &[u8]| match Keystore::from_bytes(bytes) {
            Ok(_) => invalid("keystore accepted"),
            Err(e) => e.into(),
        };
        for (len, what, expect) in [
            (
                47u32,
                "the master-by-password box's length 47 (it must be 48)",
                "Invalid",
            ),
            (
                49,
                "the master-by-password box's length 49 (it must be 48)",
                "TooLong",
            ),
        ] {
            let mut bytes = ks.clone();
            if let Some(field) = bytes.get_mut(54..58) {
                field.copy_from_slice(&len.to_be_bytes());
            }
            add(
                "keystore",
                what,
                bytes.clone(),
                ks_err(&bytes),
                malformed(expect),
            )?;
        }
        Ok(Value::Array(out))
    })
}

fn main() -> ExitCode {
    let text = match generate().map(|v| serde_json::to_string_pretty(&v)) {
        Ok(Ok(t)) => t + "\n",
        Ok(Err(e)) => return fail(&e.to_string()),
        Err(e) => return fail(&e.to_string()),
    };
    if std::env::args().any(|a| a == "--check") {
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
