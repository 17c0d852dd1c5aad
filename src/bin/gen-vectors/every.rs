//! The every-operation vector: one collection whose log holds every body tag
//! of SPEC.md §Operation, and what readers and verifiers derive from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use sealshare::internal::crypto::random::seeded::with_seed;
use sealshare::internal::log::Body;
use sealshare::{
    Account, Client, Collection, CollectionId, InviteTerms, ItemId, LinkUrl, LogState,
    MemoryRemote, Operation, PublicLinkTerms, PublicScope, Remote, Role,
};

use crate::describe::describe_state;
use crate::hand::hand_rotation;
use crate::people::{BASE, CHEAP, LINK_PASSWORD, People, T0, clock_of, copy};
use crate::reads::{carols_checkpoint, read_at_links_open};
use crate::refusals::{Refusals, refusals_of_log};
use crate::{hex, invalid};

/// One collection whose log holds every body tag of SPEC.md §Operation, built
/// through the public API on one rayon thread from one seed (ids, keys, nonces,
/// HPKE ephemeral keys), with the state a reader must derive at two points, what
/// each public link shows, the last member's checkpoint, and operations every
/// verifier must refuse.
pub(crate) fn every_operation(p: &People) -> sealshare::Result<Value> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    pool.install(|| with_seed(b"sealshare v1 vectors: every operation", || build_every(p)))
}

/// What building the every-operation log leaves for the vectors about it: its
/// server, the marked positions, the clock where every link is open and at the
/// end, the links and items later vectors name, the bad epochs alice saw, and
/// carol's collection.
pub(crate) struct Log {
    pub(crate) id: CollectionId,
    remote: Arc<dyn Remote>,
    pub(crate) marks: BTreeMap<&'static str, u64>,
    pub(crate) links_open_time: u64,
    pub(crate) end_time: u64,
    invite: LinkUrl,
    pub(crate) chosen: LinkUrl,
    pub(crate) live: LinkUrl,
    pub(crate) snapshot: LinkUrl,
    pub(crate) guarded: LinkUrl,
    seeds: ItemId,
    beds: ItemId,
    bad_epochs: Vec<Value>,
    bad_after: Vec<u64>,
    pub(crate) carols: Collection,
}

fn build_every(p: &People) -> sealshare::Result<Value> {
    let log = write_log(p)?;
    let (id, end_time) = (log.id, log.end_time);
    let ops = log_of(log.remote.as_ref(), &id)?;
    let blobs = blobs_of(log.remote.as_ref(), &id, &ops)?;
    let kinds = ops
        .iter()
        .map(|o| Ok(Operation::from_bytes(o)?.body().name()))
        .collect::<sealshare::Result<Vec<_>>>()?;

    // The state at the point where every link is open, and what alice reads.
    let (at_links_open, links) = read_at_links_open(p, &log, &ops, &blobs)?;

    // The end: only carol is left, as owner; her checkpoint.
    let final_state = {
        let mut s = LogState::empty(id);
        s.extend_from_bytes(&ops, end_time)?;
        s
    };
    let checkpoint = carols_checkpoint(p, &log, &ops, &blobs)?;

    // Operations every verifier refuses, each at a point of this log.
    let mut r = Refusals {
        id,
        ops: &ops,
        now: end_time,
        out: Vec::new(),
    };
    let m = |name: &str| log.marks.get(name).copied().unwrap_or_default();
    refusals_of_log(&mut r, p, &m, &log.invite, &log.chosen, log.seeds, log.beds)?;

    let Log {
        marks,
        bad_epochs,
        bad_after,
        ..
    } = log;
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

/// The log itself, written through the public API by the people's clients on
/// one server, the clock ticking 10 s per step.
#[allow(clippy::too_many_lines)]
fn write_log(p: &People) -> sealshare::Result<Log> {
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
    let public = |scope, items| PublicLinkTerms {
        scope,
        items,
        valid_for: 86_400,
        ..PublicLinkTerms::default()
    };
    let chosen =
        ca.create_public_link(&mut a, BASE, &public(PublicScope::Items, vec![beds, plans]))?;
    tick();
    ca.trash(&mut a, plans)?;
    tick();
    let live = ca.create_public_link(&mut a, BASE, &public(PublicScope::Live, Vec::new()))?;
    tick();
    // One item not in the trash: the library writes a snapshot's item keys in
    // the order of its item map, which is not reproducible from a seed.
    let snapshot =
        ca.create_public_link(&mut a, BASE, &public(PublicScope::Snapshot, Vec::new()))?;
    tick();
    let guarded = ca.create_public_link(
        &mut a,
        BASE,
        &PublicLinkTerms {
            password: Some(LINK_PASSWORD.into()),
            password_params: CHEAP,
            ..public(PublicScope::Live, Vec::new())
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
    Ok(Log {
        id,
        remote,
        marks,
        links_open_time,
        end_time,
        invite,
        chosen,
        live,
        snapshot,
        guarded,
        seeds,
        beds,
        bad_epochs,
        bad_after,
        carols: cc,
    })
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
